"""bmsk (bit-field masks, which CUB's radix sort uses) on both engines against the PTX ISA's
definition worked out here."""
from __future__ import annotations

import struct

import numpy as np
import pytest

pytest.importorskip("llvmlite")

from gdev_shim import jit  # noqa: E402
from gdev_shim.card.card import Card  # noqa: E402
from gdev_shim.common.contract import C  # noqa: E402
from gdev_shim.ptx import execute as interp_execute, parse_module  # noqa: E402

pytestmark = pytest.mark.usefixtures("fresh_jit_cache")

PTX = """.version 8.0
.target sm_80
.address_size 64
.visible .entry masks(.param .u64 pa, .param .u64 pb, .param .u64 pout)
{
    .reg .b32 %r<6>; .reg .b64 %d<8>;
    mov.u32 %r1, %tid.x;
    mul.wide.u32 %d1, %r1, 4;
    ld.param.u64 %d2, [pa]; add.u64 %d2, %d2, %d1; ld.global.u32 %r2, [%d2];
    ld.param.u64 %d3, [pb]; add.u64 %d3, %d3, %d1; ld.global.u32 %r3, [%d3];
    bmsk.clamp.b32 %r4, %r2, %r3;
    bmsk.wrap.b32 %r5, %r2, %r3;
    ld.param.u64 %d4, [pout]; mul.wide.u32 %d5, %r1, 8; add.u64 %d4, %d4, %d5;
    st.global.v2.u32 [%d4], {%r4, %r5};
    ret;
}
"""


def reference(a: int, b: int, clamp: bool) -> int:
    """The ISA's semantics, step by step, in Python integers."""
    a1, b1 = a & 31, b & 31
    mask0 = (0xFFFFFFFF << a1) & 0xFFFFFFFF
    total = a1 + b1
    mask1 = (0xFFFFFFFF << total) & 0xFFFFFFFF
    overflow = total >= 32
    if clamp and a >= 32:
        mask0, overflow = 0, True
    if clamp and b >= 32:
        overflow = True
    if overflow:
        mask1 = 0
    elif b1 == 0:
        mask1 = 0xFFFFFFFF
    return mask0 & ~mask1 & 0xFFFFFFFF


def _run(engine, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    card = Card(0, vram_size=1 << 20)
    bufs = [card.gem_new(4096, C.AIDEV_GEM_DOMAIN_VRAM) for _ in range(3)]
    card.memory.write(bufs[0].addr, a.astype(np.uint32).tobytes())
    card.memory.write(bufs[1].addr, b.astype(np.uint32).tobytes())
    engine(parse_module(PTX), "masks", card.memory, (1, 1, 1), (len(a), 1, 1),
           struct.pack("<QQQ", *(bo.addr for bo in bufs)), 0, 0)
    return np.frombuffer(card.memory.read(bufs[2].addr, 8 * len(a)), np.uint32).reshape(-1, 2)


def test_bmsk_matches_the_isa_on_both_engines() -> None:
    pairs = [(1, 2), (0, 0), (0, 31), (0, 32), (4, 28), (4, 29), (31, 1), (31, 5), (32, 3),
             (33, 2), (40, 40), (7, 100), (0xFFFFFFFF, 3), (3, 0xFFFFFFFF), (16, 16), (5, 0)]
    a = np.array([p[0] for p in pairs], np.uint64)
    b = np.array([p[1] for p in pairs], np.uint64)
    want = np.array([[reference(int(x), int(y), True), reference(int(x), int(y), False)]
                     for x, y in pairs], np.uint32)
    assert want[0, 1] == 0x6                    # the ISA's own example: bmsk.wrap 1, 2
    for engine in (interp_execute, jit.execute):
        np.testing.assert_array_equal(_run(engine, a, b), want)
