"""Barrier kernels on the warp-at-a-time JIT: every block shape against the interpreter,
bit for bit, and the region splitter's liveness."""
from __future__ import annotations

import struct

import numpy as np
import pytest

pytest.importorskip("llvmlite")

from gdev_shim import jit  # noqa: E402
from gdev_shim.card.card import Card  # noqa: E402
from gdev_shim.common.contract import C  # noqa: E402
from gdev_shim.jit.layout import flatten  # noqa: E402
from gdev_shim.jit.liveness import (live_across_barriers, live_in, resume_points,  # noqa: E402
                                    written_since_resume)
from gdev_shim.jit.regclass import Trace  # noqa: E402
from gdev_shim.ptx import KernelFault, Module, execute as interp_execute, parse_module  # noqa: E402
from helpers import KERNELS, ROOT  # noqa: E402

SOURCE = KERNELS / "barriers.cu"
KERNELS = ["bar_bitonic", "bar_scan", "bar_reduce", "bar_early_exit", "bar_divergent",
           "bar_counted", "bar_named", "bar_votes", "bar_transpose"]
BLOCKS = [(32, 1, 1), (256, 1, 1), (1024, 1, 1), (100, 1, 1), (16, 16, 1), (8, 4, 4),
          (5, 3, 2)]


# each test gets its own JIT disk cache
pytestmark = pytest.mark.usefixtures("fresh_jit_cache")


@pytest.fixture(scope="module")
def module(compile_ptx) -> Module:
    return parse_module(compile_ptx([SOURCE])[SOURCE])


def _launch(engine, module: Module, kernel: str, block: tuple[int, int, int],
            grid: tuple[int, int, int] = (2, 2, 1)) -> bytes:
    card = Card(0, vram_size=64 << 20)
    n = int(np.prod(block)) * int(np.prod(grid))
    data = np.random.default_rng(3).integers(0, 64, n, dtype=np.int32)
    src = card.gem_new(n * 4, C.AIDEV_GEM_DOMAIN_VRAM)
    dst = card.gem_new(n * 4, C.AIDEV_GEM_DOMAIN_VRAM)
    card.memory.write(src.addr, data.tobytes())
    engine(module, kernel, card.memory, grid, block, struct.pack("<QQ", src.addr, dst.addr), 0, 0)
    return card.memory.read(dst.addr, n * 4)


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: "x".join(map(str, b)))
@pytest.mark.parametrize("kernel", KERNELS)
def test_barrier_kernel_matches_interpreter(module: Module, kernel: str, block, jit_tier: str) -> None:
    got = _launch(jit.execute, module, kernel, block)
    want = _launch(interp_execute, module, kernel, block)
    if got != want:
        g, w = np.frombuffer(got, np.int32), np.frombuffer(want, np.int32)
        bad = np.flatnonzero(g != w)
        pytest.fail(f"{bad.size} elements differ, first at {bad[0]}: jit {g[bad[0]]} interp {w[bad[0]]}")


def test_bitonic_1024_sorts_each_block(module: Module) -> None:
    card = Card(0, vram_size=64 << 20)
    n = 3 * 1024
    data = np.random.default_rng(9).integers(-1000, 1000, n, dtype=np.int32)
    src = card.gem_new(n * 4, C.AIDEV_GEM_DOMAIN_VRAM)
    dst = card.gem_new(n * 4, C.AIDEV_GEM_DOMAIN_VRAM)
    card.memory.write(src.addr, data.tobytes())
    jit.execute(module, "bar_bitonic", card.memory, (3, 1, 1), (1024, 1, 1),
                struct.pack("<QQ", src.addr, dst.addr), 0, 0)
    out = np.frombuffer(card.memory.read(dst.addr, n * 4), np.int32).reshape(3, 1024)
    assert np.array_equal(out, np.sort(data.reshape(3, 1024), axis=1))


def test_frame_size_does_not_grow_with_the_block(module: Module) -> None:
    """The compiled code is per warp: one compilation serves 64- and 1024-thread blocks."""
    from gdev_shim.jit.engine import WARP, compile_kernel
    from gdev_shim.settings import settings
    with settings.override(jit_tier="opt"):        # no optimised tier swapped in meanwhile
        compiled = compile_kernel(module, "bar_scan", WARP)
        assert 0 < compiled.frame_bytes <= 4096
        for block in ((64, 1, 1), (1024, 1, 1)):
            assert _launch(jit.execute, module, "bar_scan", block) == \
                _launch(interp_execute, module, "bar_scan", block)
        assert compile_kernel(module, "bar_scan", WARP) is compiled


def test_deadlock_faults_instead_of_hanging(compile_ptx, tmp_path) -> None:
    src = tmp_path / "deadlock.cu"
    src.write_text('extern "C" __global__ void stuck(int *o)\n{\n'
                   '    if (threadIdx.x < 32) asm volatile("bar.sync 1, 128;");\n'
                   '    o[threadIdx.x] = 1;\n}\n')
    mod = parse_module(compile_ptx([src])[src])
    card = Card(0, vram_size=1 << 20)
    bo = card.gem_new(4096, C.AIDEV_GEM_DOMAIN_VRAM)
    with pytest.raises(KernelFault) as info:
        jit.execute(mod, "stuck", card.memory, (1, 1, 1), (64, 1, 1), struct.pack("<Q", bo.addr), 0, 0)
    assert "deadlock" in info.value.reason
    assert "bar.sync" in info.value.instruction


# ---------------------------------------------------------------- the region splitter

def _ptx_kernel(body: str, regs: str) -> Module:
    text = (".version 8.0\n.target sm_80\n.address_size 64\n"
            ".visible .entry k(.param .u64 k_p)\n{\n" + regs + body + "}\n")
    return parse_module(text)


def _traced(mod: Module) -> tuple:
    from gdev_shim.jit.codegen import KernelCompiler
    flat = flatten(mod, "k")
    probe = KernelCompiler(flat, 32, "probe", classes={})
    probe.compile()
    return flat, probe.trace


def test_only_values_used_after_the_barrier_are_kept() -> None:
    mod = _ptx_kernel("""
    ld.param.u64 %rd1, [k_p];
    mov.u32 %r1, %tid.x;
    add.u32 %r2, %r1, 1;
    mul.lo.u32 %r3, %r1, 3;
    st.global.u32 [%rd1], %r3;
    bar.sync 0;
    add.u32 %r4, %r2, %r2;
    st.global.u32 [%rd1], %r4;
    ret;
""", "    .reg .b32 %r<5>;\n    .reg .b64 %rd<2>;\n")
    flat, trace = _traced(mod)
    live = live_across_barriers(flat, trace)
    assert "%r2" in live and "%rd1" in live
    assert "%r3" not in live and "%r1" not in live and "%r4" not in live


def test_barrier_in_a_loop_keeps_the_loop_carried_values() -> None:
    mod = _ptx_kernel("""
    ld.param.u64 %rd1, [k_p];
    mov.u32 %r1, 0;
    mov.u32 %r2, 7;
$L_loop:
    add.u32 %r1, %r1, %r2;
    bar.sync 0;
    setp.lt.u32 %p1, %r1, 100;
    @%p1 bra $L_loop;
    st.global.u32 [%rd1], %r1;
    ret;
""", "    .reg .pred %p<2>;\n    .reg .b32 %r<3>;\n    .reg .b64 %rd<2>;\n")
    flat, trace = _traced(mod)
    live = live_across_barriers(flat, trace)
    assert {"%r1", "%r2", "%rd1"} <= live
    assert "%p1" not in live


def test_a_parked_warp_saves_only_what_its_loop_changed() -> None:
    """Values set before a barrier loop are saved at the warp's first yield only; each
    barrier then saves what was written since the warp last resumed."""
    mod = _ptx_kernel("""
    ld.param.u64 %rd1, [k_p];
    mov.u32 %r1, 0;
    mov.u32 %r2, 7;
$L_loop:
    add.u32 %r1, %r1, %r2;
    bar.sync 0;
    add.u32 %r3, %r1, %r2;
    bar.sync 0;
    setp.lt.u32 %p1, %r1, 100;
    @%p1 bra $L_loop;
    st.global.u32 [%rd1], %r3;
    ret;
""", "    .reg .pred %p<2>;\n    .reg .b32 %r<4>;\n    .reg .b64 %rd<2>;\n")
    flat, trace = _traced(mod)
    first, second = sorted(written_since_resume(flat, trace).items())
    assert first[1] == {"%r1", "%p1"}
    assert second[1] == {"%r3"}


def test_barrier_after_divergent_code_that_reconverges() -> None:
    """A value written on one side of a branch and read after the barrier is kept; a value
    dead after the join is not; a predicated write does not end the old value's life."""
    mod = _ptx_kernel("""
    ld.param.u64 %rd1, [k_p];
    mov.u32 %r1, %tid.x;
    mov.u32 %r2, 5;
    and.b32 %r3, %r1, 1;
    setp.eq.u32 %p1, %r3, 0;
    @%p1 bra $L_else;
    add.u32 %r2, %r1, 9;
    mov.u32 %r4, 1;
    bra.uni $L_join;
$L_else:
    mov.u32 %r4, 2;
$L_join:
    setp.gt.u32 %p2, %r1, 3;
    @%p2 mov.u32 %r2, 11;
    st.global.u32 [%rd1], %r4;
    bar.sync 0;
    st.global.u32 [%rd1], %r2;
    ret;
""", "    .reg .pred %p<3>;\n    .reg .b32 %r<5>;\n    .reg .b64 %rd<2>;\n")
    flat, trace = _traced(mod)
    live = live_across_barriers(flat, trace)
    assert {"%r2", "%rd1"} <= live
    assert not live & {"%r1", "%r3", "%r4", "%p1", "%p2"}
    # before the guarded write, %r2 is still live (lanes with a false guard keep it)
    guarded = next(pc for pc, it in enumerate(flat.code)
                   if it.ins is not None and it.ins.guard is not None and it.ins.opcode == "mov.u32")
    assert "%r2" in live_in(flat, trace)[guarded]
    assert len(resume_points(flat)) == 1


def test_empty_trace_has_nothing_live() -> None:
    mod = _ptx_kernel("    ret;\n", "")
    flat = flatten(mod, "k")
    assert live_across_barriers(flat, Trace()) == frozenset()


# VmHWM, not getrusage's ru_maxrss: Linux carries the parent's peak (here the whole pytest
# process) into a child's ru_maxrss across fork and exec.
_RSS_SCRIPT = r"""
import struct, sys
import numpy as np

def peak_kb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))

from gdev_shim import jit
from gdev_shim.card.card import Card
from gdev_shim.common.contract import C
from gdev_shim.ptx import parse_module
mod = parse_module(open(sys.argv[1]).read())
card = Card(0, vram_size=16 << 20)
n = 4 * 1024
src = card.gem_new(n * 4, C.AIDEV_GEM_DOMAIN_VRAM)
dst = card.gem_new(n * 4, C.AIDEV_GEM_DOMAIN_VRAM)
card.memory.write(src.addr, np.arange(n, 0, -1, dtype=np.int32).tobytes())
before = peak_kb()
for kernel in ("bar_bitonic", "bar_scan", "bar_divergent"):
    jit.execute(mod, kernel, card.memory, (4, 1, 1), (1024, 1, 1), struct.pack("<QQ", src.addr, dst.addr), 0, 0)
out = np.frombuffer(card.memory.read(dst.addr, n * 4), np.int32)
print(before, peak_kb(), int(out[0]))
"""


def test_peak_memory_of_1024_thread_barrier_kernels_is_bounded(compile_ptx, tmp_path) -> None:
    """Compiling and running 1024-thread barrier kernels grows the process by well under
    the 500 MB budget (block-wide vectors once took gigabytes)."""
    import subprocess
    import sys
    ptx = tmp_path / "barriers.ptx"
    ptx.write_text(compile_ptx([SOURCE])[SOURCE])
    env = {"GDEV_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", _RSS_SCRIPT, str(ptx)], capture_output=True,
                          text=True, timeout=300, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    before_kb, peak_kb, _first = (int(v) for v in proc.stdout.split())
    assert peak_kb - before_kb < 200 * 1024, f"grew by {(peak_kb - before_kb) // 1024} MB"
    assert peak_kb < 500 * 1024


# ---------------------------------------------------------------- divergence without the dispatcher

def _compiled(mod: Module):
    from gdev_shim.jit.codegen import KernelCompiler
    kc = KernelCompiler(flatten(mod, "k"), 32, "k")
    kc.compile()
    return kc


def test_forward_if_else_runs_as_lane_masks() -> None:
    """An if/else (forward branches only) needs no dispatch: the only route is the start."""
    mod = _ptx_kernel("""
    ld.param.u64 %rd1, [k_p];
    mov.u32 %r1, %tid.x;
    and.b32 %r2, %r1, 1;
    setp.eq.u32 %p1, %r2, 0;
    @%p1 bra $L_else;
    add.u32 %r3, %r1, 7;
    bra.uni $L_join;
$L_else:
    mul.lo.u32 %r3, %r1, 3;
$L_join:
    st.global.u32 [%rd1], %r3;
    ret;
""", "    .reg .pred %p<2>;\n    .reg .b32 %r<4>;\n    .reg .b64 %rd<2>;\n")
    from gdev_shim.jit.ifconvert import region_end
    kc = _compiled(mod)
    assert kc.routes == {0}
    branch = next(pc for pc, it in enumerate(kc.flat.code)
                  if it.ins is not None and it.ins.guard is not None)
    join = kc.flat.labels[("k", "$L_join")]
    assert region_end(kc, branch, kc.flat.labels[("k", "$L_else")]) == join


def test_divergent_loop_keeps_the_dispatcher() -> None:
    """A backward branch some lanes take and others not: lanes part, every leader routes."""
    mod = _ptx_kernel("""
    ld.param.u64 %rd1, [k_p];
    mov.u32 %r1, %tid.x;
    mov.u32 %r2, 0;
$L_loop:
    add.u32 %r2, %r2, 1;
    setp.lt.u32 %p1, %r2, %r1;
    @%p1 bra $L_loop;
    st.global.u32 [%rd1], %r2;
    ret;
""", "    .reg .pred %p<2>;\n    .reg .b32 %r<3>;\n    .reg .b64 %rd<2>;\n")
    assert _compiled(mod).routes is None


def test_decoded_trace_agrees_with_a_tracing_pass(module: Module) -> None:
    """Register classes and barrier liveness from the interpreter's decoding (no second
    code generation pass) match what a tracing code generation pass records."""
    from gdev_shim.jit.codegen import KernelCompiler
    from gdev_shim.jit.regclass import classify, decoded_trace
    for kernel in KERNELS:
        flat = flatten(module, kernel)
        probe = KernelCompiler(flat, 32, "probe", classes={})
        probe.compile()
        decoded = decoded_trace(flat)
        assert decoded is not None
        leaders = probe.find_leaders()
        traced, syntactic = classify(flat, leaders, probe.trace), classify(flat, leaders, decoded)
        # bar.red's result is written where the released lanes resume: decoding also
        # names it at the barrier, which can only make a register less specialised
        differ = {r for r in set(traced) | set(syntactic) if traced.get(r) != syntactic.get(r)}
        assert all(syntactic.get(r) is None for r in differ), (kernel, differ)
        assert live_across_barriers(flat, probe.trace) == live_across_barriers(flat, decoded)
        # a partial frame save trusts the decoding to name every register written
        traced_dirty, decoded_dirty = (written_since_resume(flat, t) for t in (probe.trace, decoded))
        assert all(traced_dirty[pc] <= decoded_dirty[pc] for pc in traced_dirty), kernel


# ---------------------------------------------------------------- the quick tier's shared wait

_NUMBERED = """
    ld.param.u64 %rd1, [k_p];
    mov.u32 %r1, %tid.x;
    ld.param.u32 %r2, [k_n];
    bar.sync 0;
    add.u32 %r3, %r1, 1;
    bar.sync %r2;
    st.global.u32 [%rd1], %r3;
    ret;
"""


def _numbered_kernel() -> Module:
    text = (".version 8.0\n.target sm_80\n.address_size 64\n"
            ".visible .entry k(.param .u64 k_p, .param .u32 k_n)\n{\n"
            "    .reg .b32 %r<4>;\n    .reg .b64 %rd<2>;\n" + _NUMBERED + "}\n")
    return parse_module(text)


def _run_numbered(engine, number: int) -> tuple:
    card = Card(0, vram_size=1 << 20)
    bo = card.gem_new(4096, C.AIDEV_GEM_DOMAIN_VRAM)
    try:
        engine(_numbered_kernel(), "k", card.memory, (1, 1, 1), (64, 1, 1),
               struct.pack("<QI", bo.addr, number), 0, 0)
    except KernelFault as fault:
        return fault.reason, fault.instruction, fault.thread
    return "", "", int(np.frombuffer(card.memory.read(bo.addr, 4), np.int32)[0])


def test_barrier_number_from_a_register_on_both_tiers(jit_tier: str) -> None:
    """A barrier whose number a register holds waits on that barrier, on each tier as on
    the interpreter; out of range it faults at that instruction (the quick tier's shared
    wait reports the barrier it came from)."""
    assert _run_numbered(jit.execute, 3) == _run_numbered(interp_execute, 3) == ("", "", 64)
    for engine in (jit.execute, interp_execute):   # the interpreter's whole block arrives together
        reason, instruction, thread = _run_numbered(engine, 17)
        assert "barrier number" in reason and "out of range" in reason, (engine, reason)
        assert instruction.endswith("bar.sync %r2;") and thread == (0, 0, 0), (engine, instruction, thread)


def test_quick_tier_waits_share_one_copy_of_the_barrier_code() -> None:
    """Each plain barrier of the quick tier branches to one shared wait: the IR grows by a
    few lines per barrier, not by a copy of the park, count and fault code."""
    from gdev_shim.jit.codegen import KernelCompiler

    def ir_lines(barriers: int, compact: bool) -> int:
        body = "    ld.param.u64 %rd1, [k_p];\n    mov.u32 %r1, %tid.x;\n"
        body += "    add.u32 %r1, %r1, 1;\n    bar.sync 0;\n" * barriers
        body += "    st.global.u32 [%rd1], %r1;\n    ret;\n"
        mod = _ptx_kernel(body, "    .reg .b32 %r<2>;\n    .reg .b64 %rd<2>;\n")
        text = str(KernelCompiler(flatten(mod, "k"), 32, "k", compact=compact).compile())
        assert text.count("wait_park:") == (1 if compact else 0)
        return text.count("\n")

    per_barrier_quick = (ir_lines(12, True) - ir_lines(2, True)) / 10
    per_barrier_full = (ir_lines(12, False) - ir_lines(2, False)) / 10
    assert per_barrier_quick < per_barrier_full / 3, (per_barrier_quick, per_barrier_full)
