"""Layout checks and page-table lookups made where their register is defined
(jit/layouts.py: LayoutChecks.plan, define, pages, entry_dominators): which code such a
check dominates, that the accesses there reuse it, and that the results are the
interpreter's."""
from __future__ import annotations

import pytest

pytest.importorskip("llvmlite")

from gdev_shim.jit import memops  # noqa: E402
from gdev_shim.jit.codegen import KernelCompiler  # noqa: E402
from gdev_shim.jit.layout import flatten  # noqa: E402
from gdev_shim.jit.layouts import LayoutChecks, entry_dominators  # noqa: E402
from gdev_shim.jit.liveness import resume_points  # noqa: E402
from gdev_shim.ptx import Module, parse_module  # noqa: E402
from helpers import GRID_XY, assert_jit_matches_interp  # noqa: E402

pytestmark = pytest.mark.usefixtures("fresh_jit_cache")

# A row's cell and its two neighbours, each load behind a branch of its own (the cell
# where x < w, the left one in a row's first thread, the right one in its last), all
# three through %rd4, defined once before them; rows are w + 2 words apart.
NEIGHBOURS = """.version 8.0
.target sm_80
.address_size 64
.visible .entry k(.param .u64 k_in, .param .u64 k_out, .param .u32 k_w)
{
    .reg .pred %p<8>;
    .reg .b32 %r<40>;
    .reg .b64 %rd<12>;
""" + GRID_XY + """    setp.ge.s32 %p1, %r6, %r1;
    add.s32 %r10, %r1, 2;
    mad.lo.s32 %r11, %r9, %r10, %r6;
    mul.wide.s32 %rd3, %r11, 4;
    add.s64 %rd4, %rd1, %rd3;
    mov.u32 %r12, 0;
    @%p1 bra $L_main;
    ld.global.u32 %r12, [%rd4+4];
$L_main:
    mov.u32 %r13, 0;
    setp.ne.s32 %p2, %r2, 0;
    @%p2 bra $L_left;
    ld.global.u32 %r13, [%rd4];
$L_left:
    mov.u32 %r14, 0;
    add.s32 %r15, %r5, -1;
    setp.ne.s32 %p3, %r2, %r15;
    @%p3 bra $L_right;
    ld.global.u32 %r14, [%rd4+8];
$L_right:
    mul.lo.s32 %r16, %r13, 3;
    add.s32 %r17, %r16, %r12;
    mul.lo.s32 %r18, %r14, 7;
    add.s32 %r19, %r17, %r18;
    mad.lo.s32 %r20, %r9, %r1, %r6;
    mul.wide.s32 %rd5, %r20, 4;
    add.s64 %rd6, %rd2, %rd5;
    @%p1 bra $L_end;
    st.global.u32 [%rd6], %r19;
$L_end:
    ret;
}
"""

# %rd4 written a second time between the loads: no check at a definition
TWICE = NEIGHBOURS.replace("$L_left:\n", "$L_left:\n    add.s64 %rd4, %rd4, 0;\n")

# a barrier between %rd4's definition and the neighbours' loads
BARRED = NEIGHBOURS.replace("$L_main:\n", "$L_main:\n    bar.sync 0;\n")


def _pc(flat, text: str) -> int:
    return next(pc for pc, it in enumerate(flat.code) if it.ins is not None and it.ins.text.endswith(": " + text))


def _vector_checks(mod: Module, plan: bool) -> int:
    kc = KernelCompiler(flatten(mod, "k"), 32, "k")
    if not plan:
        kc.layouts.plan = lambda *args: None      # type: ignore[method-assign]
    return str(kc.compile()).count("icmp eq <32 x i64>")


def test_the_definition_dominates_the_code_after_each_branch() -> None:
    kc = KernelCompiler(flatten(parse_module(NEIGHBOURS), "k"), 32, "k")
    kc.compile()
    flat = kc.flat
    dom = entry_dominators(kc, {0})
    define = _pc(flat, "add.s64 %rd4, %rd1, %rd3;")
    branches = [pc for pc, it in enumerate(flat.code) if it.ins is not None and it.ins.guard is not None
                and it.ins.opcode == "bra"]
    assert len(branches) == 4
    assert all(dom[pc] >> define & 1 for pc in branches)
    # a load inside a region dominates nothing after its region: the region's code runs
    # from its branch, not from the load's own block
    left = _pc(flat, "ld.global.u32 %r13, [%rd4];")
    assert not dom[branches[2]] >> left & 1
    assert not dom[_pc(flat, "mul.lo.s32 %r16, %r13, 3;")] >> left & 1


def test_a_resume_point_is_dominated_by_nothing_before_it() -> None:
    kc = KernelCompiler(flatten(parse_module(BARRED), "k"), 32, "k")
    kc.compile()
    (resume,) = resume_points(kc.flat)
    dom = entry_dominators(kc, {0, resume})
    assert dom[resume] == 1 << resume
    assert not dom[resume + 3] >> _pc(kc.flat, "add.s64 %rd4, %rd1, %rd3;") & 1


def test_the_loads_reuse_the_check_made_at_the_definition() -> None:
    mod = parse_module(NEIGHBOURS)
    # the cell's and both neighbours' checks of %rd4 are one, made where it is defined
    assert _vector_checks(mod, plan=False) - _vector_checks(mod, plan=True) == 2
    kc = KernelCompiler(flatten(mod, "k"), 32, "k")
    kc.compile()
    assert kc.layouts._defs == {("k", "%rd4"): _pc(kc.flat, "add.s64 %rd4, %rd1, %rd3;"),
                                ("k", "%rd6"): _pc(kc.flat, "add.s64 %rd6, %rd2, %rd5;")}


def _page_lookups(mod: Module, early: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """(lookups at definitions, lookups of both ends of a run at an access) made compiling `mod`."""
    seen = {"early": 0, "late": 0}
    entry, fast = memops.page_entry, memops._fast_global

    def counted_entry(kc, a):
        seen["early"] += 1
        return entry(kc, a)

    def counted_fast(kc, a0, span):
        seen["late"] += 1
        return fast(kc, a0, span)
    monkeypatch.setattr(memops, "page_entry", counted_entry)
    monkeypatch.setattr(memops, "_fast_global", counted_fast)
    kc = KernelCompiler(flatten(mod, "k"), 32, "k")
    if not early:
        kc.layouts.pages = lambda *args: None      # type: ignore[method-assign]
    kc.compile()
    monkeypatch.undo()
    return seen["early"], seen["late"]


def test_the_accesses_use_the_page_lookups_made_at_the_definition(monkeypatch: pytest.MonkeyPatch) -> None:
    mod = parse_module(NEIGHBOURS)
    # %rd4 (the three loads) and %rd6 (the store): one lookup per run of 16 lanes each
    early, late = _page_lookups(mod, True, monkeypatch)
    _, before = _page_lookups(mod, False, monkeypatch)
    assert early == 4
    # the tiers of runs of 16 lanes of each of the four accesses (whole rows, masked
    # rows, a few lanes: two runs each; the halo shapes: two columns and two rows, two
    # runs each) look nothing up any more; the whole-warp tier and the rows of 8 lanes
    # still do
    assert before - late == 4 * (3 + 4) * 2


def test_a_register_written_twice_is_checked_at_its_accesses() -> None:
    mod = parse_module(TWICE)
    assert _vector_checks(mod, plan=False) == _vector_checks(mod, plan=True)
    kc = KernelCompiler(flatten(mod, "k"), 32, "k")
    kc.compile()
    assert ("k", "%rd4") not in kc.layouts._defs


def test_the_quick_tier_plans_nothing() -> None:
    kc = KernelCompiler(flatten(parse_module(NEIGHBOURS), "k"), 32, "k", compact=True)
    kc.compile()
    assert kc.layouts._defs == {} and kc.layouts._at_def == {}


@pytest.mark.parametrize("text", [NEIGHBOURS, TWICE, BARRED], ids=["once", "twice", "barrier"])
@pytest.mark.parametrize("block", [(16, 16, 1), (16, 2, 1), (8, 4, 1), (32, 2, 1), (10, 3, 1), (24, 4, 1)],
                         ids=lambda b: "x".join(map(str, b)))
def test_neighbours_match_the_interpreter(text: str, block: tuple, jit_tier: str) -> None:
    """Rows of 16 lanes, of 8, whole warps, widths that are no power of two, and a last
    block partly outside the rows (w = 3 blocks - 3)."""
    bx, by, _ = block
    w = 3 * bx - 3
    rows = 2 * by
    assert_jit_matches_interp(parse_module(text), (3, 2, 1), block, rows * (w + 2) + 64, rows * w, w)


def test_a_fresh_checks_object_plans_nothing_without_routes() -> None:
    class Divergent:
        routes = None
    checks = LayoutChecks()
    checks.plan(Divergent(), {("k", "%rd4"): {(16, 4)}}, {3: {"%rd4"}})
    assert checks._defs == {} and checks._dom == []
