"""Values a warp recomputes after a barrier instead of keeping them in its frame
(jit/remat.py): which qualify, that they leave the frame, and that the results hold."""
from __future__ import annotations

import struct

import numpy as np
import pytest

pytest.importorskip("llvmlite")

from gdev_shim import jit  # noqa: E402
from gdev_shim.card.card import Card  # noqa: E402
from gdev_shim.common.contract import C  # noqa: E402
from gdev_shim.jit.codegen import KernelCompiler  # noqa: E402
from gdev_shim.jit.layout import flatten  # noqa: E402
from gdev_shim.jit.liveness import live_across_barriers, resume_points  # noqa: E402
from gdev_shim.jit.remat import recomputable, resumes_after  # noqa: E402
from gdev_shim.ptx import Module, execute as interp_execute, parse_module  # noqa: E402

pytestmark = pytest.mark.usefixtures("fresh_jit_cache")

# out[i] = tile[(t + 1) % n] + in[i] (+1000 in each block's thread 0): the thread index,
# the tile's base, the flag and the output offset are recomputable; the loaded value is not
NEIGHBOUR = """.version 8.0
.target sm_80
.address_size 64
.visible .entry k(.param .u64 k_src, .param .u64 k_dst)
{
    .reg .pred %p<2>;
    .reg .b32 %r<20>;
    .reg .b64 %rd<6>;
    .shared .align 4 .b8 tile[4096];
    ld.param.u64 %rd1, [k_src];
    ld.param.u64 %rd2, [k_dst];
    mov.u32 %r1, %tid.x;
    mov.u32 %r2, %ntid.x;
    mov.u32 %r3, %tid.y;
    mad.lo.u32 %r4, %r3, %r2, %r1;
    mov.u32 %r5, %ctaid.x;
    mov.u32 %r6, %ntid.y;
    mul.lo.u32 %r7, %r2, %r6;
    mad.lo.u32 %r8, %r5, %r7, %r4;
    mul.wide.u32 %rd3, %r8, 4;
    add.s64 %rd4, %rd1, %rd3;
    ld.global.u32 %r9, [%rd4];
    shl.b32 %r10, %r4, 2;
    mov.u32 %r11, tile;
    add.u32 %r12, %r11, %r10;
    st.shared.u32 [%r12], %r9;
    setp.eq.u32 %p1, %r4, 0;
    bar.sync 0;
    add.u32 %r13, %r4, 1;
    rem.u32 %r14, %r13, %r7;
    shl.b32 %r15, %r14, 2;
    add.u32 %r16, %r11, %r15;
    ld.shared.u32 %r17, [%r16];
    selp.u32 %r18, 1000, 0, %p1;
    add.u32 %r19, %r17, %r18;
    add.u32 %r19, %r19, %r9;
    add.s64 %rd5, %rd2, %rd3;
    st.global.u32 [%rd5], %r19;
    ret;
}
"""


def _traced(mod: Module) -> tuple:
    flat = flatten(mod, "k")
    probe = KernelCompiler(flat, 32, "probe", classes={})
    probe.compile()
    return flat, probe.trace


def _written(flat, trace, pcs: list[int]) -> set[str]:
    return {r for pc in pcs for r in trace.writes.get(pc, ())}


def test_coordinate_values_are_recomputed_and_loaded_ones_kept() -> None:
    flat, trace = _traced(parse_module(NEIGHBOUR))
    live = live_across_barriers(flat, trace)
    assert {"%r4", "%r9", "%p1", "%rd3"} <= live
    again = _written(flat, trace, recomputable(flat, trace, live, set()))
    assert {"%r4", "%r7", "%r11", "%p1", "%rd3"} <= again
    assert "%r9" not in again                      # a load: not recomputable


def test_recomputed_values_leave_the_frame() -> None:
    kc = KernelCompiler(flatten(parse_module(NEIGHBOUR), "k"), 32, "k")
    kc.compile()
    kept = {alloca.name for alloca, _ in kc.frame.fields}
    assert "r_k_%r9" in kept
    assert not {"r_k_%r4", "r_k_%p1", "r_k_%rd3"} & kept


def test_a_value_defined_on_one_side_of_a_branch_is_kept() -> None:
    text = NEIGHBOUR.replace("    setp.eq.u32 %p1, %r4, 0;\n",
                             "    setp.eq.u32 %p1, %r4, 0;\n    @%p1 bra $L_skip;\n"
                             "    add.u32 %r13, %r4, 5;\n$L_skip:\n")
    text = text.replace("    add.u32 %r13, %r4, 1;\n", "")
    flat, trace = _traced(parse_module(text))
    live = live_across_barriers(flat, trace)
    assert "%r13" in live
    assert "%r13" not in _written(flat, trace, recomputable(flat, trace, live, set()))


def test_a_register_written_twice_is_kept() -> None:
    text = NEIGHBOUR.replace("    setp.eq.u32 %p1, %r4, 0;\n",
                             "    setp.eq.u32 %p1, %r4, 0;\n    add.u32 %r4, %r4, 0;\n")
    flat, trace = _traced(parse_module(text))
    live = live_across_barriers(flat, trace)
    assert "%r4" not in _written(flat, trace, recomputable(flat, trace, live, set()))


def _launch(engine, mod: Module, block: tuple[int, int, int], blocks: int) -> bytes:
    card = Card(0, vram_size=64 << 20)
    n = int(np.prod(block)) * blocks
    data = np.random.default_rng(5).integers(0, 1 << 20, n, dtype=np.int32)
    src = card.gem_new(n * 4, C.AIDEV_GEM_DOMAIN_VRAM)
    dst = card.gem_new(n * 4, C.AIDEV_GEM_DOMAIN_VRAM)
    card.memory.write(src.addr, data.tobytes())
    engine(mod, "k", card.memory, (blocks, 1, 1), block, struct.pack("<QQ", src.addr, dst.addr), 0, 0)
    return card.memory.read(dst.addr, n * 4)


@pytest.mark.parametrize("block", [(16, 16, 1), (100, 1, 1), (5, 3, 1), (32, 1, 1)],
                         ids=lambda b: "x".join(map(str, b)))
def test_recomputed_values_give_the_interpreters_results(block, jit_tier: str) -> None:
    mod = parse_module(NEIGHBOUR)
    got = _launch(jit.execute, mod, block, 3)
    assert got == _launch(interp_execute, mod, block, 3)
    g = np.frombuffer(got, np.int32).reshape(3, -1)
    assert (g[:, 0] >= 1000).all()                 # the flag came back in each block


# Odd and even threads wait at barrier 0 at two places: a warp then yields with its lanes
# at two barriers and, released, resumes through the dispatcher, which sends each group
# on at its own resume point.
UNEVEN = NEIGHBOUR.replace("    bar.sync 0;\n", """    and.b32 %r20, %r1, 1;
    setp.eq.u32 %p2, %r20, 0;
    @%p2 bra $L_even;
    bar.sync 0;
    bra.uni $L_join;
$L_even:
    bar.sync 0;
$L_join:
""").replace(".reg .pred %p<2>;", ".reg .pred %p<3>;").replace(".reg .b32 %r<20>;", ".reg .b32 %r<21>;")


def _remat_pcs(mod: Module) -> tuple:
    flat, trace = _traced(mod)
    return flat, recomputable(flat, trace, live_across_barriers(flat, trace), set())


def test_the_resume_point_the_definitions_dominate_is_listed() -> None:
    flat, pcs = _remat_pcs(parse_module(NEIGHBOUR))
    assert pcs
    assert resumes_after(flat, pcs) == frozenset(resume_points(flat))


def test_a_resume_point_reached_around_the_definitions_is_not() -> None:
    # a jump from before the definitions to the instruction after the barrier: lanes may
    # reach it without having run them
    text = NEIGHBOUR.replace("    mov.u32 %r1, %tid.x;\n",
                             "    setp.eq.u64 %p1, %rd1, 0;\n    @%p1 bra $L_after;\n    mov.u32 %r1, %tid.x;\n")
    text = text.replace("    bar.sync 0;\n", "    bar.sync 0;\n$L_after:\n")
    flat, pcs = _remat_pcs(parse_module(text))
    assert pcs
    assert resume_points(flat) and not resumes_after(flat, pcs)
    assert resumes_after(flat, []) == frozenset()


def test_the_dispatcher_reaches_the_resume_point_through_the_recomputation() -> None:
    kc = KernelCompiler(flatten(parse_module(UNEVEN), "k"), 32, "k")
    text = str(kc.compile())
    resumes = resume_points(kc.flat)
    assert len(resumes) == 2 and kc.remat_resumes == set(resumes)
    assert all(f"remat_at{pc}:" in text for pc in resumes)


@pytest.mark.parametrize("block", [(16, 16, 1), (100, 1, 1), (5, 3, 1)], ids=lambda b: "x".join(map(str, b)))
def test_lanes_resumed_through_the_dispatcher_give_the_interpreters_results(block, jit_tier: str) -> None:
    mod = parse_module(UNEVEN)
    got = _launch(jit.execute, mod, block, 3)
    assert got == _launch(interp_execute, mod, block, 3)
    g = np.frombuffer(got, np.int32).reshape(3, -1)
    assert (g[:, 0] >= 1000).all()
