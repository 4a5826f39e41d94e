"""The optimised tier's reuse of lane-layout checks (jit/layouts.py), its whole-register
writes where a warp's lanes never part (KernelCompiler.writes_whole) and its one-lane
stores of half a warp's vector (memops._lane_stores): each against the interpreter."""
from __future__ import annotations

import pytest

pytest.importorskip("llvmlite")

from gdev_shim.jit.codegen import KernelCompiler  # noqa: E402
from gdev_shim.jit.layout import flatten  # noqa: E402
from gdev_shim.jit.layouts import LayoutChecks, address_register  # noqa: E402
from gdev_shim.ptx import Module, parse_module  # noqa: E402
from helpers import GRID_XY, assert_jit_matches_interp  # noqa: E402

pytestmark = pytest.mark.usefixtures("fresh_jit_cache")

REGS = ("    .reg .pred %p<8>;\n    .reg .b32 %r<40>;\n    .reg .b64 %rd<12>;\n")


def _kernel(body: str) -> Module:
    text = (".version 8.0\n.target sm_80\n.address_size 64\n"
            ".visible .entry k(.param .u64 k_in, .param .u64 k_out, .param .u32 k_w)\n{\n" + REGS
            + "    .shared .align 4 .b8 tile[1296];\n" + body + "}\n")
    return parse_module(text)


def _same(mod: Module, grid: tuple, block: tuple, n_in: int, n_out: int, w: int) -> None:
    assert_jit_matches_interp(mod, grid, block, n_in, n_out, w, seed=7)


# A row of the block staged in a shared tile with a column on each side (written by the
# row's first and last thread: two lanes of a 16-wide block's warp, at addresses the same
# along the row), then three reads of the tile through one register at three offsets,
# and a register read under a guard after being set whole.
HALO = "\n" + GRID_XY + """    setp.lt.s32 %p1, %r6, %r1;
    mad.lo.s32 %r10, %r9, %r1, %r6;
    mul.wide.s32 %rd3, %r10, 4;
    add.s64 %rd4, %rd1, %rd3;
    mov.u32 %r11, 7;
    @%p1 ld.global.u32 %r11, [%rd4];
    add.s32 %r12, %r5, 2;
    mad.lo.s32 %r14, %r3, %r12, %r2;
    shl.b32 %r15, %r14, 2;
    mov.u32 %r16, tile;
    add.s32 %r17, %r16, %r15;
    st.shared.u32 [%r17+4], %r11;
    mul.lo.s32 %r18, %r3, %r12;
    shl.b32 %r19, %r18, 2;
    add.s32 %r20, %r16, %r19;
    setp.ne.s32 %p2, %r2, 0;
    @%p2 bra $L_left;
    add.s32 %r21, %r6, 1000;
    st.shared.u32 [%r20], %r21;
$L_left:
    add.s32 %r22, %r5, -1;
    setp.ne.s32 %p3, %r2, %r22;
    @%p3 bra $L_right;
    shl.b32 %r23, %r5, 2;
    add.s32 %r24, %r20, %r23;
    add.s32 %r25, %r6, 2000;
    st.shared.u32 [%r24+4], %r25;
$L_right:
    bar.sync 0;
    ld.shared.u32 %r30, [%r17+4];
    ld.shared.u32 %r31, [%r17];
    ld.shared.u32 %r32, [%r17+8];
    shl.b32 %r33, %r30, 2;
    sub.s32 %r34, %r33, %r31;
    mul.lo.s32 %r35, %r32, 3;
    sub.s32 %r36, %r34, %r35;
    add.s64 %rd5, %rd2, %rd3;
    @%p1 st.global.u32 [%rd5], %r36;
    ret;
"""


@pytest.mark.parametrize("block", [(16, 16, 1), (16, 2, 1), (8, 4, 1), (32, 2, 1), (10, 3, 1), (24, 4, 1)],
                         ids=lambda b: "x".join(map(str, b)))
def test_halo_tile_matches_the_interpreter(block: tuple, jit_tier: str) -> None:
    """Rows of 16 lanes (two per warp: the column writers are lanes 0 and 16, 15 and 31),
    of 8, whole warps, a width that is no power of two, and a grid whose last block is
    partly outside the rows (w = 3 blocks - 3), so some warps are partial."""
    bx, by, _ = block
    w = 3 * bx - 3
    _same(_kernel(HALO), (3, 2, 1), block, w * 2 * by, w * 2 * by, w)


def test_reads_through_one_register_share_their_layout_check() -> None:
    mod = _kernel(HALO)
    flat = flatten(mod, "k")
    kc = KernelCompiler(flat, 32, "k")
    text = str(kc.compile())
    reads = [it for it in flat.code if it.ins is not None and it.ins.opcode == "ld.shared.u32"]
    assert {address_register(it, False) for it in reads} == {("k", "%r17")}
    # one check of %r17's rows for the three reads after the barrier (and one for its
    # store before it), where each read made its own before
    fresh = KernelCompiler(flatten(mod, "k"), 32, "k")
    fresh.layouts.check = lambda kc, reg, addrs, run, step: LayoutChecks().check(kc, None, addrs, run, step)
    assert text.count("icmp eq <32 x i64>") < str(fresh.compile()).count("icmp eq <32 x i64>")


def test_a_written_register_forgets_its_checks() -> None:
    checks = LayoutChecks()

    class Stub:
        W = 32

    stub = Stub()
    seen: list[tuple] = []
    import gdev_shim.jit.layouts as layouts
    real = layouts.layout_ok
    layouts.layout_ok = lambda kc, addrs, run, step: seen.append((run, step)) or object()
    try:
        first = checks.check(stub, ("k", "%r1"), None, 16, 4)
        assert checks.check(stub, ("k", "%r1"), None, 16, 4) is first
        assert checks.check(stub, ("k", "%r1"), None, 16, 0) is not first
        checks.forget(("k", "%r1"))
        assert checks.check(stub, ("k", "%r1"), None, 16, 4) is not first
        assert checks.check(stub, None, None, 16, 4) is not checks.check(stub, None, None, 16, 4)
    finally:
        layouts.layout_ok = real
    assert seen == [(16, 4), (16, 0), (16, 4), (16, 4), (16, 4)]


# Lanes 20 and up exit; the others add 100 to a register a shuffle then reads from lane
# 25, which exited: it must still hold what it held then (3 * 25), so the add may not
# set the register whole even though it runs under every live lane.
EXITED = """
    ld.param.u64 %rd2, [k_out];
    mov.u32 %r2, %tid.x;
    mul.lo.s32 %r3, %r2, 3;
    setp.ge.u32 %p1, %r2, 20;
    @%p1 exit;
    add.s32 %r3, %r3, 100;
    shfl.sync.idx.b32 %r4, %r3, 25, 31, 1048575;
    add.s32 %r5, %r3, %r4;
    mul.wide.u32 %rd3, %r2, 4;
    add.s64 %rd4, %rd2, %rd3;
    st.global.u32 [%rd4], %r5;
    ret;
"""


def test_a_register_a_shuffle_reads_keeps_exited_lanes(jit_tier: str) -> None:
    _same(_kernel(EXITED), (1, 1, 1), (32, 1, 1), 32, 32, 0)


# Each thread's cell plus, for a row's last thread, the cell after it (a tile's right
# halo column: one lane in each 16-lane run of a 16-wide block's warp), read from global
# memory through the register of the whole row's read.
RIGHT_HALO = "\n" + GRID_XY + """    mad.lo.s32 %r10, %r9, %r1, %r6;
    mul.wide.s32 %rd3, %r10, 4;
    add.s64 %rd4, %rd1, %rd3;
    ld.global.u32 %r11, [%rd4];
    mov.u32 %r12, 0;
    setp.ne.s32 %p1, %r2, 15;
    @%p1 bra $L_in;
    ld.global.u32 %r12, [%rd4+4];
$L_in:
    add.s32 %r13, %r11, %r12;
    add.s64 %rd5, %rd2, %rd3;
    st.global.u32 [%rd5], %r13;
    ret;
"""


def test_a_right_halo_column_prefetches_the_next_blocks(jit_tier: str) -> None:
    """The column's cell lies on the line after its row's; the load asks for the line
    after that (the next block's column), two runs of 16 lanes ahead, and reads what the
    interpreter reads."""
    mod = _kernel(RIGHT_HALO)
    text = str(KernelCompiler(flatten(mod, "k"), 32, "k").compile())
    block = text[text.index("\nmem_runs_masked:") + 1:].splitlines()[1:]
    block = block[:next(i for i, line in enumerate(block) if not line.startswith(" "))]
    ahead = [line for line in block if line.endswith(", 128")]
    assert len(ahead) == 2 and sum("llvm.prefetch" in line for line in block) == 2
    w = 64
    _same(mod, (w // 16, 2, 1), (16, 16, 1), w * 32 + 64, w * 32, w)


# A tile's top and bottom rows (threads with tid.y 0 and 15 of a 16x16 block: one whole
# 16-lane run of a warp each), read from global memory, the row below, and stored to
# shared memory, then each thread adds its row's staged cell to its own; threads past
# the grid's width (w) do neither.
HALO_ROWS = "\n" + GRID_XY + """    mad.lo.s32 %r10, %r9, %r1, %r6;
    mul.wide.s32 %rd3, %r10, 4;
    add.s64 %rd4, %rd1, %rd3;
    mul.wide.s32 %rd6, %r1, 4;
    add.s64 %rd7, %rd4, %rd6;
    shl.b32 %r15, %r2, 2;
    mov.u32 %r16, tile;
    add.s32 %r17, %r16, %r15;
    setp.lt.s32 %p1, %r6, %r1;
    mov.u32 %r11, 0;
    @%p1 ld.global.u32 %r11, [%rd4];
    setp.ne.s32 %p2, %r3, 0;
    @%p2 bra $L_bottom;
    setp.ge.s32 %p3, %r6, %r1;
    @%p3 bra $L_bottom;
    ld.global.u32 %r12, [%rd7];
    st.shared.u32 [%r17+64], %r12;
$L_bottom:
    setp.ne.s32 %p4, %r3, 15;
    @%p4 bra $L_staged;
    setp.ge.s32 %p5, %r6, %r1;
    @%p5 bra $L_staged;
    ld.global.u32 %r13, [%rd7];
    st.shared.u32 [%r17], %r13;
$L_staged:
    bar.sync 0;
    shl.b32 %r18, %r3, 6;
    and.b32 %r18, %r18, 64;
    add.s32 %r19, %r17, %r18;
    ld.shared.u32 %r20, [%r19];
    add.s32 %r21, %r20, %r11;
    add.s64 %rd5, %rd2, %rd3;
    @%p1 st.global.u32 [%rd5], %r21;
    ret;
"""


def _to_fail(kc, *args, **kwargs) -> None:
    """A tier that sends every access it gets to the kernel's failure exit."""
    kc.b.branch(kc.fail_bb)


@pytest.mark.parametrize("kernel", [RIGHT_HALO, HALO, HALO_ROWS], ids=["global_column", "shared_columns", "rows"])
def test_a_halo_column_takes_the_shaped_tier(kernel: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lanes 15 and 31 (or 0 and 16, or one whole run of 16) of a 16-wide block's warp
    take the halo-shape tier:
    with every other partial-warp tier sending its accesses to the failure exit, the
    optimised code still reads and writes what the interpreter does, for a global column
    (scalar loads, the right halo), for shared columns (scalar stores at addresses the
    same along a row) and for a tile's top and bottom rows (one vector per access)."""
    import gdev_shim.jit.memops as memops
    from gdev_shim.jit import engine
    from gdev_shim.settings import settings
    assert memops.halo_shapes(0, 4) == {0x00010001: (0, 16), 0x80008000: (15, 31)}
    assert set(memops.halo_shapes(4, 4)) == {0x00010001, 0x80008000, 0x0000FFFF, 0xFFFF0000}
    for name in ("_runs_masked", "_pair_access", "_masked_run", "_lanes_last"):
        monkeypatch.setattr(memops, name, _to_fail)
    engine.wait_for_optimised()
    monkeypatch.setattr(engine, "_compiled", {})    # nothing compiled before the patches
    # the kernel's text made its own, so no later test finds this code in memory
    mod = _kernel(kernel.replace("ret;", "add.s32 %r39, %r39, 1;\n    ret;"))
    # one block: every run of its buffers on one page, so no access needs another tier
    w = 16
    with settings.override(jit_tier="opt"):
        _same(mod, (1, 1, 1), (16, 16, 1), w * 17, w * 16, w)
    engine.wait_for_optimised()


def test_a_halo_row_matches_the_interpreter(jit_tier: str) -> None:
    """A tile's top and bottom rows (one whole run of a warp: 16 lanes of a 16x16 block),
    read from global and stored to shared, and the grid's edge, where the row's mask is
    not a whole run."""
    w = 40
    _same(_kernel(HALO_ROWS), (3, 2, 1), (16, 16, 1), w * 33, w * 32, w)
