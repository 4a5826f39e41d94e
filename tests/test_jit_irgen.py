"""What IR generation keeps so as not to repeat itself: the if-converted regions found per
branch (ifconvert.region_end), and splat constants printed once (lanes.VectorConstant)."""
from __future__ import annotations

import pytest

pytest.importorskip("llvmlite")

from llvmlite import ir  # noqa: E402

from gdev_shim.jit import ifconvert  # noqa: E402
from gdev_shim.jit.codegen import KernelCompiler  # noqa: E402
from gdev_shim.jit.lanes import I32, VectorConstant  # noqa: E402
from gdev_shim.jit.layout import flatten  # noqa: E402
from gdev_shim.ptx import parse_module  # noqa: E402

_BRANCHY = """.version 8.0
.target sm_80
.address_size 64
.visible .entry k(.param .u64 k_out)
{
    .reg .pred %p<4>;
    .reg .b32 %r<8>;
    .reg .b64 %rd<4>;
    ld.param.u64 %rd1, [k_out];
    mov.u32 %r1, %tid.x;
    setp.lt.u32 %p1, %r1, 7;
    mov.u32 %r2, 1;
    @%p1 bra SKIP;
    add.u32 %r2, %r2, %r1;
    setp.lt.u32 %p2, %r1, 20;
    @%p2 bra SKIP;
    mul.lo.u32 %r2, %r2, 3;
SKIP:
    mul.wide.u32 %rd2, %r1, 4;
    add.u64 %rd3, %rd1, %rd2;
    st.global.u32 [%rd3], %r2;
    ret;
}
"""


def test_each_branchs_region_is_scanned_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Finding the dispatch targets and emitting the branches both ask for each forward
    branch's region: it is scanned once per compiler, with the same answer."""
    scans: list[tuple[int, int]] = []
    scan = ifconvert._region_end

    def counted(kc, pc: int, target: int) -> int | None:
        scans.append((pc, target))
        return scan(kc, pc, target)
    monkeypatch.setattr(ifconvert, "_region_end", counted)
    flat = flatten(parse_module(_BRANCHY), "k")
    kc = KernelCompiler(flat, 32, "k", compact=True)
    text = str(kc.compile())
    assert len(scans) == 2 and len(set(scans)) == 2     # the two guarded branches, once each
    assert all(ifconvert.region_end(kc, pc, to) is not None for pc, to in scans)
    assert len(scans) == 2
    assert 'define i32 @"kernel"' in text


def test_a_splat_prints_as_one_lane_however_it_was_made() -> None:
    vt = ir.VectorType(I32, 32)
    one = ir.Constant(I32, 5)
    assert VectorConstant(vt, [one] * 32).get_reference() == "splat (i32 5)"
    assert VectorConstant(vt, [ir.Constant(I32, 5) for _ in range(32)]).get_reference() == "splat (i32 5)"
    mixed = VectorConstant(vt, [ir.Constant(I32, i % 2) for i in range(32)]).get_reference()
    assert mixed.startswith("<i32 0, i32 1, i32 0") and mixed.count("i32") == 32
