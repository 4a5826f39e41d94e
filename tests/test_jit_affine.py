"""The JIT's address analysis (jit/affine.py): which address forms it finds contiguous along a
block's rows, and kernels whose accesses take the tiers it orders, against the interpreter
bit for bit: row-contiguous accesses in several block widths, an address that looks
contiguous but is not, and registers a resuming warp restarts (codegen.forget_dead_registers)."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("llvmlite")

from gdev_shim.jit.affine import access_strides, register_strides  # noqa: E402
from gdev_shim.jit.layout import flatten  # noqa: E402
from gdev_shim.ptx import Module, parse_module  # noqa: E402
from helpers import assert_jit_matches_interp  # noqa: E402

pytestmark = pytest.mark.usefixtures("fresh_jit_cache")

REGS = ("    .reg .pred %p<4>;\n    .reg .b16 %rs<4>;\n    .reg .b32 %r<20>;\n"
        "    .reg .b64 %rd<20>;\n    .reg .f32 %f<4>;\n")


def _kernel(body: str, params: str = ".param .u64 k_in, .param .u64 k_out, .param .u32 k_w") -> Module:
    text = (".version 8.0\n.target sm_80\n.address_size 64\n"
            f".visible .entry k({params})\n{{\n" + REGS
            + "    .shared .align 4 .b8 tile[1296];\n" + body + "}\n")
    return parse_module(text)


def _strides(mod: Module) -> tuple:
    return _strides_of(mod, "k")


def _strides_of(mod: Module, kernel: str) -> tuple:
    from gdev_shim.jit.codegen import KernelCompiler
    flat = flatten(mod, kernel)
    probe = KernelCompiler(flat, 32, "probe", classes={})
    probe.compile()
    signed = {n: s - (1 << 64) if s >> 63 else s for n, s in register_strides(flat, probe.trace).items()}
    return flat, signed, access_strides(flat, probe.trace)


FORMS = """
    ld.param.u64 %rd1, [k_in];
    ld.param.u32 %r1, [k_w];
    mov.u32 %r2, %tid.x;
    mov.u32 %r3, %tid.y;
    mov.u32 %r4, %ctaid.x;
    shl.b32 %r5, %r4, 4;
    add.s32 %r6, %r5, %r2;
    mul.wide.s32 %rd2, %r1, %r3;
    cvt.s64.s32 %rd3, %r6;
    add.s64 %rd4, %rd2, %rd3;
    shl.b64 %rd5, %rd4, 2;
    cvta.to.global.u64 %rd6, %rd1;
    add.s64 %rd7, %rd6, %rd5;
    ld.global.f32 %f1, [%rd7+-4];
    mov.u32 %r7, tile;
    mad.lo.s32 %r8, %r3, 72, %r7;
    shl.b32 %r9, %r2, 2;
    add.s32 %r10, %r8, %r9;
    st.shared.f32 [%r10+76], %f1;
    ld.shared.f32 %f2, [%r8+4];
    mul.lo.s32 %r11, %r2, %r1;
    and.b32 %r12, %r2, 15;
    sub.s32 %r13, %r5, %r2;
    mad.lo.s32 %r14, %r2, 3, %r9;
    mov.u32 %r15, %r2;
    add.s32 %r15, %r15, 1;
    neg.s32 %r16, %r9;
    ld.shared.f32 %f3, [tile+8];
    ret;
"""


def test_forms_found_along_a_row() -> None:
    flat, regs, accesses = _strides(_kernel(FORMS))
    assert regs["%r2"] == 1 and regs["%r6"] == 1                  # ctaid.x * 16 + tid.x
    assert regs["%r3"] == 0 and regs["%r5"] == 0 and regs["%rd2"] == 0   # tid.y, launch values
    assert regs["%rd5"] == 4 and regs["%rd7"] == 4                # in[y * w + x], widened
    assert regs["%r10"] == 4 and regs["%r8"] == 0                 # tile[ty][tx], tile[ty]
    assert regs["%r13"] == -1 and regs["%r14"] == 7 and regs["%r16"] == -4
    # tid.x times a run-time value, a mask of it, a register written twice: not known
    assert "%r11" not in regs and "%r12" not in regs and "%r15" not in regs
    by_text = {flat.code[pc].ins.opcode + str(flat.code[pc].ins.operands): s for pc, s in accesses.items()}
    assert sorted(accesses.values()) == [0, 0, 4, 4]              # [tile+8], [%r8+4]; the rest contiguous
    assert any("ld.global" in t and s == 4 for t, s in by_text.items())


def test_a_guarded_definition_is_not_followed() -> None:
    _flat, regs, _acc = _strides(_kernel("""
    mov.u32 %r2, %tid.x;
    setp.eq.u32 %p1, %r2, 0;
    @%p1 shl.b32 %r3, %r2, 2;
    ret;
"""))
    assert regs["%r2"] == 1 and "%r3" not in regs


def _same(mod: Module, grid: tuple, block: tuple, n_in: int, n_out: int, w: int) -> None:
    assert_jit_matches_interp(mod, grid, block, n_in, n_out, w, seed=5)


# out[y][x] = in[y][x] + the block's first row's in[.][x], through a shared tile
ROWS = """
    ld.param.u64 %rd1, [k_in];
    ld.param.u64 %rd2, [k_out];
    ld.param.u32 %r1, [k_w];
    mov.u32 %r2, %tid.x;
    mov.u32 %r3, %tid.y;
    mov.u32 %r4, %ctaid.x;
    mov.u32 %r5, %ntid.x;
    mad.lo.s32 %r6, %r4, %r5, %r2;
    mov.u32 %r7, %ctaid.y;
    mov.u32 %r8, %ntid.y;
    mad.lo.s32 %r9, %r7, %r8, %r3;
    setp.ge.s32 %p1, %r6, %r1;
    @%p1 bra $L_end;
    mul.wide.s32 %rd3, %r9, %r1;
    cvt.s64.s32 %rd4, %r6;
    add.s64 %rd5, %rd3, %rd4;
    shl.b64 %rd6, %rd5, 2;
    add.s64 %rd7, %rd1, %rd6;
    ld.global.u32 %r10, [%rd7];
    mov.u32 %r11, tile;
    mul.lo.s32 %r12, %r3, %r5;
    add.s32 %r13, %r12, %r2;
    shl.b32 %r14, %r13, 2;
    add.s32 %r15, %r11, %r14;
    st.shared.u32 [%r15], %r10;
    bar.sync 0;
    shl.b32 %r18, %r2, 2;
    add.s32 %r19, %r11, %r18;
    ld.shared.u32 %r16, [%r19];
    add.s32 %r17, %r16, %r10;
    add.s64 %rd8, %rd2, %rd6;
    st.global.u32 [%rd8], %r17;
$L_end:
    ret;
"""


@pytest.mark.parametrize("block", [(16, 2, 1), (48, 2, 1), (8, 4, 1), (64, 2, 1), (24, 4, 1), (10, 3, 1)],
                         ids=lambda b: "x".join(map(str, b)))
def test_row_contiguous_accesses_match_the_interpreter(block, jit_tier: str) -> None:
    """Rows of 16 lanes, of 8, whole warps, rows of 24 (that straddle warps) and a width
    that leaves the grid's last block partly outside (w = 3 blocks - 5)."""
    mod = _kernel(ROWS)
    _flat, _regs, accesses = _strides(mod)
    assert sorted(accesses.values()) == [4, 4, 4, 4]
    bx, by, _ = block
    w = 3 * bx - 5
    _same(mod, (3, 2, 1), block, w * 2 * by, w * 2 * by, w)


# looks like in[base + tid.x] with a 16-bit index, which wraps inside the warp: lanes
# 0..7 read near the 64 Ki-word mark, the others from word 0 on
WRAPS = """
    ld.param.u64 %rd1, [k_in];
    ld.param.u64 %rd2, [k_out];
    ld.param.u32 %r1, [k_w];
    mov.u32 %r2, %tid.x;
    cvt.u16.u32 %rs1, %r2;
    cvt.u16.u32 %rs2, %r1;
    add.s16 %rs3, %rs2, %rs1;
    cvt.u64.u16 %rd3, %rs3;
    shl.b64 %rd4, %rd3, 2;
    add.s64 %rd5, %rd1, %rd4;
    ld.global.u32 %r3, [%rd5];
    mul.wide.u32 %rd6, %r2, 4;
    add.s64 %rd7, %rd2, %rd6;
    st.global.u32 [%rd7], %r3;
    ret;
"""


def test_an_address_that_looks_contiguous_but_wraps(jit_tier: str) -> None:
    mod = _kernel(WRAPS)
    flat, _regs, accesses = _strides(mod)
    load = next(pc for pc, it in enumerate(flat.code) if it.ins is not None and it.ins.opcode == "ld.global.u32")
    assert accesses[load] == 4                      # predicted contiguous: the check must catch it
    _same(mod, (1, 1, 1), (32, 1, 1), 1 << 16, 32, 0xFFF8)
    _same(mod, (1, 1, 1), (16, 2, 1), 1 << 16, 32, 0xFFF8)


# a value dead at the barrier reuses its register after it; a predicated write after the
# barrier keeps the old value in the lanes whose guard is false, so that one stays live;
# lanes past 40 leave early, and the others go on through the dispatcher with their values
RESTART = """
    ld.param.u64 %rd1, [k_in];
    ld.param.u64 %rd2, [k_out];
    mov.u32 %r1, %tid.x;
    mov.u32 %r2, %tid.y;
    mov.u32 %r3, %ntid.x;
    mad.lo.s32 %r4, %r2, %r3, %r1;
    mul.wide.u32 %rd3, %r4, 4;
    add.s64 %rd4, %rd1, %rd3;
    ld.global.u32 %r5, [%rd4];
    mul.lo.s32 %r6, %r5, 3;
    and.b32 %r7, %r4, 1;
    setp.eq.u32 %p1, %r7, 0;
    setp.gt.u32 %p2, %r4, 40;
    @%p2 ret;
    mov.u32 %r8, tile;
    shl.b32 %r9, %r4, 2;
    add.s32 %r10, %r8, %r9;
    st.shared.u32 [%r10], %r6;
    bar.sync 0;
    @%p1 add.s32 %r6, %r5, 7;
    mov.u32 %r5, 11;
    ld.shared.u32 %r11, [%r8];
    add.s32 %r12, %r6, %r11;
    add.s32 %r12, %r12, %r5;
    add.s64 %rd5, %rd2, %rd3;
    st.global.u32 [%rd5], %r12;
    ret;
"""


@pytest.mark.parametrize("block", [(16, 16, 1), (32, 2, 1), (100, 1, 1)], ids=lambda b: "x".join(map(str, b)))
def test_registers_a_resuming_warp_restarts(block, jit_tier: str) -> None:
    mod = _kernel(RESTART)
    n = int(np.prod(block))
    _same(mod, (2, 1, 1), block, n, n, 0)


# a halo column: only the lanes with tid.x == 15 (one per row of a 16-wide block) copy
# in[y][x - 15] to out[y][x] through a shared word of their row.  The first row's
# lane 0 would read before the input buffer: a row checked whole from its first lane's
# address fails there, and the lanes still read their own words
COLUMN = """
    ld.param.u64 %rd1, [k_in];
    ld.param.u64 %rd2, [k_out];
    ld.param.u32 %r1, [k_w];
    mov.u32 %r2, %tid.x;
    mov.u32 %r3, %tid.y;
    setp.ne.u32 %p1, %r2, 15;
    @%p1 bra $L_end;
    mov.u32 %r4, %ctaid.x;
    mov.u32 %r5, %ntid.x;
    mad.lo.s32 %r6, %r4, %r5, %r2;
    mov.u32 %r7, %ctaid.y;
    mov.u32 %r8, %ntid.y;
    mad.lo.s32 %r9, %r7, %r8, %r3;
    mul.wide.s32 %rd3, %r9, %r1;
    cvt.s64.s32 %rd4, %r6;
    add.s64 %rd5, %rd3, %rd4;
    shl.b64 %rd6, %rd5, 2;
    add.s64 %rd7, %rd1, %rd6;
    ld.global.u32 %r10, [%rd7+-60];
    mov.u32 %r11, tile;
    mad.lo.s32 %r12, %r3, 72, %r11;
    st.shared.u32 [%r12+68], %r10;
    ld.shared.u32 %r13, [%r12+68];
    add.s32 %r14, %r13, %r10;
    add.s64 %rd8, %rd2, %rd6;
    st.global.u32 [%rd8], %r14;
$L_end:
    ret;
"""


@pytest.mark.parametrize("block", [(16, 2, 1), (16, 16, 1)], ids=lambda b: "x".join(map(str, b)))
def test_a_halo_column_matches_the_interpreter(block, jit_tier: str) -> None:
    mod = _kernel(COLUMN)
    _flat, _regs, accesses = _strides(mod)
    assert sorted(accesses.values()) == [0, 0, 4, 4]
    bx, by, _ = block
    w = 3 * bx
    _same(mod, (3, 2, 1), block, w * 2 * by, w * 2 * by, w)


# a 16-wide block reads tile[ty][0..1] and tile[0..1][tx] each round of a loop whose
# counters are the registers %tid.x and %tid.y were read into (as nvcc writes a tiled
# matmul): the loads' bases, computed before the loop from the first values, are followed
# to those definitions; the global load in the loop, whose address register the loop also
# steps, is not (a label lies between it and its definitions)
REUSED = """
    ld.param.u64 %rd1, [k_in];
    ld.param.u64 %rd2, [k_out];
    ld.param.u32 %r1, [k_w];
    mov.u32 %r2, %tid.x;
    mov.u32 %r3, %tid.y;
    shl.b32 %r4, %r3, 4;
    add.s32 %r5, %r4, %r2;
    mov.u32 %r6, 0;
    setp.lt.s32 %p1, %r1, 1;
    @%p1 bra $L_store;
    mov.u32 %r7, tile;
    shl.b32 %r8, %r3, 6;
    add.s32 %r9, %r7, %r8;
    shl.b32 %r10, %r2, 2;
    add.s32 %r11, %r9, %r10;
    add.s32 %r12, %r7, %r10;
    mul.wide.u32 %rd3, %r5, 4;
    add.s64 %rd4, %rd1, %rd3;
    mov.u32 %r13, 0;
$L_loop:
    ld.global.u32 %r14, [%rd4];
    st.shared.u32 [%r11], %r14;
    bar.sync 0;
    ld.shared.u32 %r15, [%r9];
    ld.shared.u32 %r16, [%r12];
    ld.shared.u32 %r17, [%r9+4];
    ld.shared.u32 %r18, [%r12+64];
    mad.lo.s32 %r6, %r6, 3, %r15;
    xor.b32 %r6, %r6, %r16;
    mad.lo.s32 %r6, %r6, 5, %r17;
    add.s32 %r6, %r6, %r18;
    bar.sync 0;
    add.s64 %rd4, %rd4, 1024;
    add.s32 %r2, %r2, 16;
    add.s32 %r3, %r3, 1;
    add.s32 %r13, %r13, 1;
    setp.lt.s32 %p2, %r13, %r1;
    @%p2 bra $L_loop;
$L_store:
    mul.wide.u32 %rd5, %r5, 4;
    add.s64 %rd6, %rd2, %rd5;
    st.global.u32 [%rd6], %r6;
    ret;
"""


def _access_texts(flat, accesses: dict[int, int]) -> dict[str, int]:
    """'<opcode> <address operand>' -> its step (signed), per access the analysis knows."""
    out = {}
    for pc, s in accesses.items():
        ins = flat.code[pc].ins
        addr = ins.operands[1 if ins.opcode.startswith("ld") else 0]
        out[f"{ins.opcode} {addr}"] = s - (1 << 64) if s >> 63 else s
    return out


def test_a_register_written_again_is_followed_to_the_definition_a_use_sees() -> None:
    flat, regs, accesses = _strides(_kernel(REUSED))
    assert "%r2" not in regs and "%r3" not in regs            # written twice: not one value
    assert regs["%r9"] == 0 and regs["%r10"] == 4 and regs["%r11"] == 4 and regs["%r12"] == 4
    assert regs["%r5"] == 1 and "%rd4" not in regs
    by_base = {text.split(" ", 1)[1]: s for text, s in _access_texts(flat, accesses).items()}
    assert by_base == {"('addr', ('reg', '%r11'), 0)": 4, "('addr', ('reg', '%r9'), 0)": 0,
                       "('addr', ('reg', '%r12'), 0)": 4, "('addr', ('reg', '%r9'), 4)": 0,
                       "('addr', ('reg', '%r12'), 64)": 4, "('addr', ('reg', '%rd6'), 0)": 4}


@pytest.mark.parametrize("between", [
    "    @%p1 mov.u32 %r2, 0;\n",                  # a guarded definition: not followed
    "$L_join:\n",                                   # paths may join here: not followed
    "    call.uni next, ();\n",                     # a call: not followed
])
def test_what_stops_the_walk_to_a_definition(between: str) -> None:
    body = ("    mov.u32 %r2, %tid.x;\n    setp.eq.u32 %p1, %r2, 0;\n" + between
            + "    shl.b32 %r3, %r2, 2;\n    mov.u32 %r4, tile;\n    add.s32 %r5, %r4, %r3;\n"
            "    ld.shared.u32 %r6, [%r5];\n    add.s32 %r2, %r2, 1;\n    ret;\n")
    callee = ".func next()\n{\n    ret;\n}\n" if "call" in between else ""
    mod = parse_module(".version 8.0\n.target sm_80\n.address_size 64\n" + callee
                       + ".visible .entry k(.param .u64 k_in, .param .u64 k_out, .param .u32 k_w)\n{\n"
                       + REGS + "    .shared .align 4 .b8 tile[1296];\n" + body + "}\n")
    _flat, _regs, accesses = _strides(mod)
    assert accesses == {}


def test_the_walk_passes_a_branch_and_a_barrier() -> None:
    body = ("    mov.u32 %r2, %tid.x;\n    setp.eq.u32 %p1, %r2, 0;\n    @%p1 bra $L_end;\n    bar.sync 0;\n"
            "    shl.b32 %r3, %r2, 2;\n    mov.u32 %r4, tile;\n    add.s32 %r5, %r4, %r3;\n"
            "    ld.shared.u32 %r6, [%r5];\n    add.s32 %r2, %r2, 1;\n$L_end:\n    ret;\n")
    _flat, _regs, accesses = _strides(_kernel(body))
    assert list(accesses.values()) == [4]


@pytest.mark.parametrize("block", [(16, 4, 1), (16, 16, 1)], ids=lambda b: "x".join(map(str, b)))
def test_a_loop_over_reused_registers_matches_the_interpreter(block, jit_tier: str) -> None:
    _same(_kernel(REUSED), (2, 1, 1), block, 256 * 3, 256, 3)


def test_the_corpus_tiled_matmul_has_every_shared_access_known(compile_ptx) -> None:
    """tests/kernels/corpus_linalg.cu's matmul_tiled as nvcc writes it (its loop steps the
    registers %tid.x and %tid.y were read into): each of its 32 shared loads and 2 stores
    has its step along a row, so racecheck can check the inner loop at once (racebatch)."""
    from pathlib import Path
    src = Path(__file__).parent / "kernels" / "corpus_linalg.cu"
    flat, _regs, accesses = _strides_of(parse_module(compile_ptx([src])[src]), "matmul_tiled")
    shared = {text: s for text, s in _access_texts(flat, accesses).items() if ".shared." in text}
    steps = [s for pc, s in accesses.items() if ".shared." in flat.code[pc].ins.opcode]
    n_shared = sum(1 for it in flat.code if it.ins is not None and ".shared." in it.ins.opcode)
    assert n_shared == 34 and len(steps) == 34, shared
    assert sorted(set(steps)) == [0, 4]
