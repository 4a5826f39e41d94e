"""Calls and computed branches on the JIT against the interpreter: recursion (frames that
move, register saves, return addresses in memory), calls through pointers, predicated calls,
brx.idx, and the faults each can raise."""
from __future__ import annotations

import struct

import numpy as np
import pytest

pytest.importorskip("llvmlite")

from gdev_shim import jit  # noqa: E402
from gdev_shim.card.card import Card  # noqa: E402
from gdev_shim.common.contract import C  # noqa: E402
from gdev_shim.jit.layout import flatten  # noqa: E402
from gdev_shim.ptx import KernelFault, Module, execute as interp_execute, parse_module  # noqa: E402
from helpers import KERNELS  # noqa: E402

HEADER = ".version 8.0\n.target sm_80\n.address_size 64\n"

pytestmark = pytest.mark.usefixtures("fresh_jit_cache")

# out[tid] = f(in[tid]): a guarded recursive call (countdown sums n + (n-1) + ... while n > 0),
# a call through a pointer chosen per lane, and brx.idx over three targets.
PTX = HEADER + """
.func (.param .b32 r) down(.param .b32 n)
{
    .reg .b32 %a<4>; .reg .pred %p;
    ld.param.u32 %a1, [n];
    mov.u32 %a3, %a1;
    setp.gt.u32 %p, %a1, 0;
    sub.u32 %a2, %a1, 1;
    {
    .param .b32 q; .param .b32 rv;
    st.param.b32 [q], %a2;
    @%p call (rv), down, (q);
    @%p ld.param.b32 %a2, [rv];
    @%p add.u32 %a3, %a3, %a2;
    }
    st.param.b32 [r], %a3;
    ret;
}
.func (.param .b32 r) twice(.param .b32 x)
{ .reg .b32 %t; ld.param.u32 %t, [x]; shl.b32 %t, %t, 1; st.param.b32 [r], %t; ret; }
.func (.param .b32 r) square(.param .b32 x)
{ .reg .b32 %t; ld.param.u32 %t, [x]; mul.lo.u32 %t, %t, %t; st.param.b32 [r], %t; ret; }
.global .u64 fns[2] = {twice, square};

.visible .entry calls(.param .u64 pin, .param .u64 pout, .param .u64 pptr, .param .u64 pbrx)
{
    .reg .b32 %r<8>; .reg .b64 %d<8>;
    ld.param.u64 %d1, [pin];
    mov.u32 %r1, %tid.x;
    mul.wide.u32 %d2, %r1, 4;
    add.u64 %d3, %d1, %d2;
    ld.global.u32 %r2, [%d3];
    {
    .param .b32 a; .param .b32 rv;
    st.param.b32 [a], %r2;
    call (rv), down, (a);
    ld.param.b32 %r3, [rv];
    }
    ld.param.u64 %d4, [pout];
    add.u64 %d5, %d4, %d2;
    st.global.u32 [%d5], %r3;
    and.b32 %r4, %r1, 1;
    mul.wide.u32 %d6, %r4, 8;
    mov.u64 %d7, fns;
    add.u64 %d7, %d7, %d6;
    ld.global.u64 %d7, [%d7];
    {
    .param .b32 a; .param .b32 rv;
    st.param.b32 [a], %r2;
    proto: .callprototype (.param .b32 _) _ (.param .b32 _);
    call (rv), %d7, (a), proto;
    ld.param.b32 %r5, [rv];
    }
    ld.param.u64 %d4, [pptr];
    add.u64 %d5, %d4, %d2;
    st.global.u32 [%d5], %r5;
    rem.u32 %r6, %r2, 3;
    ts: .branchtargets L0, L1, L2;
    brx.idx %r6, ts;
L0: mov.u32 %r7, 100; bra.uni Ld;
L1: mov.u32 %r7, 200; bra.uni Ld;
L2: mov.u32 %r7, 300;
Ld:
    ld.param.u64 %d4, [pbrx];
    add.u64 %d5, %d4, %d2;
    st.global.u32 [%d5], %r7;
    ret;
}
"""


def _run(engine, module: Module, kernel: str, inputs: np.ndarray, nout: int, block: int = 32,
         globals_size: int = 0, scalar: bytes = b""):
    card = Card(0, vram_size=16 << 20)
    inb = card.gem_new(4096, C.AIDEV_GEM_DOMAIN_VRAM)
    card.memory.write(inb.addr, inputs.astype(np.uint32).tobytes())
    outs = [card.gem_new(4096, C.AIDEV_GEM_DOMAIN_VRAM) for _ in range(nout)]
    gaddr = 0
    layout = module.global_layout()
    if layout.size:
        g = card.gem_new(layout.size, C.AIDEV_GEM_DOMAIN_VRAM)
        card.memory.write(g.addr, layout.image(g.addr))
        gaddr = g.addr
    params = scalar + struct.pack(f"<{1 + nout}Q", inb.addr, *(o.addr for o in outs))
    fault = None
    try:
        engine(module, kernel, card.memory, (1, 1, 1), (block, 1, 1), params, 0, gaddr)
    except KernelFault as exc:
        fault = (exc.block, exc.thread, exc.instruction, exc.address, exc.reason)
    got = [np.frombuffer(card.memory.read(o.addr, 4 * block), np.uint32).copy()
           for o in [*outs, inb]]
    return got, fault


def _both(module: Module, kernel: str, inputs: np.ndarray, nout: int, **kw):
    got = _run(jit.execute, module, kernel, inputs, nout, **kw)
    want = _run(interp_execute, module, kernel, inputs, nout, **kw)
    assert got[1] == want[1]
    for g, w in zip(got[0], want[0]):
        np.testing.assert_array_equal(g, w)
    return got


@pytest.fixture(scope="module")
def calls_module() -> Module:
    return parse_module(PTX)


def test_recursion_pointers_and_brx_match_the_interpreter(calls_module) -> None:
    x = np.arange(32) % 9
    (down, ptr, brx, _), fault = _both(calls_module, "calls", x, 3)
    assert fault is None
    assert down.tolist() == [n * (n + 1) // 2 for n in x]          # lanes recurse to different depths
    assert ptr.tolist() == [n * 2 if i % 2 == 0 else n * n for i, n in enumerate(x)]
    assert brx.tolist() == [(100, 200, 300)[n % 3] for n in x]
    flat = flatten(calls_module, "calls")
    assert flat.prog.recursive and flat.indirect


def test_a_bad_function_pointer_faults_as_in_the_interpreter(calls_module) -> None:
    text = PTX.replace("{twice, square}", "{twice, 12345}")
    _, fault = _both(parse_module(text), "calls", np.arange(32) % 9, 3)
    # lanes 0, 9, 18, 27 (x = 0) return from the recursion first; 9 is the odd one
    assert fault is not None and fault[1] == (9, 0, 0) and fault[3] == 12345
    assert "no callable function" in fault[4]


def test_brx_index_out_of_range_faults_as_in_the_interpreter(calls_module) -> None:
    text = PTX.replace("rem.u32 %r6, %r2, 3;", "mov.u32 %r6, %r2;")
    x = np.array([0, 1, 2] * 10 + [7, 2])
    _, fault = _both(parse_module(text), "calls", x, 3)
    assert fault is not None and fault[1] == (30, 0, 0)
    assert fault[4] == "brx.idx index 7 out of range (3 targets)"


@pytest.fixture(scope="module")
def fault_module(compile_ptx) -> Module:
    src = KERNELS / "corpus_fault.cu"
    return parse_module(compile_ptx([src])[src])


def test_deep_recursion_overflows_the_stack_on_both_engines(fault_module) -> None:
    """The frames move through each thread's local memory; a recursion too deep for it
    faults at the same call with the same message."""
    (out,), fault = _both(fault_module, "deep_recursion", np.zeros(1), 0,
                          scalar=struct.pack("<i4x", 6))
    assert fault is None and len(set(out.tolist())) == 1 and out[0] != 0
    _, fault = _both(fault_module, "deep_recursion", np.zeros(1), 0,
                     scalar=struct.pack("<i4x", 100_000))
    assert fault is not None and fault[4].startswith("stack overflow calling")
