"""The JIT's two code tiers (GDEV_JIT_TIER): quick code first, optimised code swapped in by a
background thread and stored in the disk cache, and a C program that exits while that
thread is still inside LLVM."""
from __future__ import annotations

import os
import re
import struct
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("llvmlite")

from gdev_shim import jit  # noqa: E402
from gdev_shim.card.card import Card  # noqa: E402
from gdev_shim.common.contract import C  # noqa: E402
from gdev_shim.jit import engine, retire  # noqa: E402
from gdev_shim.ptx import Module, execute as interp_execute, parse_module  # noqa: E402
from gdev_shim.settings import settings  # noqa: E402
from helpers import KERNELS, LIB_DIR, ROOT  # noqa: E402

SOURCE = KERNELS / "barriers.cu"
KERNEL = "bar_scan"

pytestmark = pytest.mark.usefixtures("fresh_jit_cache")


@pytest.fixture(scope="module")
def module(compile_ptx) -> Module:
    return parse_module(compile_ptx([SOURCE])[SOURCE])


@pytest.fixture
def forget(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process has compiled nothing yet (the disk cache is the test's own)."""
    engine.wait_for_optimised()
    monkeypatch.setattr(engine, "_compiled", {})


def _scan(engine_fn, module: Module) -> bytes:
    card = Card(0, vram_size=16 << 20)
    n = 2 * 256
    data = np.random.default_rng(5).integers(0, 64, n, dtype=np.int32)
    src = card.gem_new(n * 4, C.AIDEV_GEM_DOMAIN_VRAM)
    dst = card.gem_new(n * 4, C.AIDEV_GEM_DOMAIN_VRAM)
    card.memory.write(src.addr, data.tobytes())
    engine_fn(module, KERNEL, card.memory, (2, 1, 1), (256, 1, 1),
              struct.pack("<QQ", src.addr, dst.addr), 0, 0)
    return card.memory.read(dst.addr, n * 4)


def _cached(module: Module) -> bool:
    """Whether the disk cache holds the kernel's object.  (Not a count of the directory:
    card threads of earlier tests may still compile into the test's cache directory.)"""
    return (settings.cache_dir / "jit" / f"{engine.kernel_key(module, KERNEL, engine.WARP)}.o").is_file()


def test_tiered_runs_quick_code_then_the_optimised_code(module: Module, forget: None) -> None:
    want = _scan(interp_execute, module)
    with settings.override(jit_tier="tiered"):
        quick = engine.compile_kernel(module, KERNEL)
        assert not quick.optimised
        assert _scan(jit.execute, module) == want
        assert engine.wait_for_optimised(timeout=120)
        best = engine.compile_kernel(module, KERNEL)
        assert best.optimised and best is not quick
        assert best.frame_bytes == quick.frame_bytes
        assert _scan(jit.execute, module) == want
    # only the optimised object is stored; a later process loads it and never builds again
    assert _cached(module)
    engine._compiled.clear()
    with settings.override(jit_tier="tiered"):
        again = engine.compile_kernel(module, KERNEL)
        assert again.optimised
        assert engine.wait_for_optimised(timeout=1)


def test_fast_tier_is_never_optimised_nor_cached(module: Module, forget: None) -> None:
    with settings.override(jit_tier="fast"):
        quick = engine.compile_kernel(module, KERNEL)
        assert engine.wait_for_optimised(timeout=120)
        assert engine.compile_kernel(module, KERNEL) is quick
        assert not quick.optimised
    assert not _cached(module)


def test_opt_tier_compiles_the_optimised_code_at_once(module: Module, forget: None) -> None:
    with settings.override(jit_tier="opt"):
        compiled = engine.compile_kernel(module, KERNEL)
        assert compiled.optimised
        assert _cached(module)


def test_a_replaced_quick_tier_frees_nothing_still_in_use(module: Module, forget: None) -> None:
    """Each execution engine owns its target machine: dropping the quick tier's engine must
    leave every other engine (and later compilations) working."""
    want = _scan(interp_execute, module)
    with settings.override(jit_tier="tiered"):
        engine.compile_kernel(module, KERNEL)
        assert engine.wait_for_optimised(timeout=120)
    import gc
    gc.collect()                        # the quick tier's engine is retired here, not disposed
    assert retire.retired() >= 1
    assert retire.bury(engine._codegen_lock) >= 1 and retire.retired() == 0
    with settings.override(jit_tier="fast"):
        assert _scan(jit.execute, module) == want
    with settings.override(jit_tier="opt"):
        assert _scan(jit.execute, module) == want


def test_quick_tier_calls_one_function_per_access_shape(module: Module) -> None:
    """The quick tier's IR: every scalar shared or global access is a call of one function
    per shape (load or store, space, width); the optimised tier's inlines them all."""
    from gdev_shim.jit.layout import flatten
    from gdev_shim.ptx.form import form_of
    flat = flatten(module, KERNEL)
    quick, _ = engine._generate_ir(flat, engine.WARP, "quick", frozenset(), compact=True)
    full, _ = engine._generate_ir(flat, engine.WARP, "full", frozenset(), compact=False)
    forms = {pc: form_of(item.ins) for pc, item in enumerate(flat.code) if item.ins is not None}
    shapes = {pc: (f.base, f.space, f.types[-1]) for pc, f in forms.items()
              if f.base in ("ld", "st") and f.space in ("shared", "global") and f.vec == 1}
    assert len(shapes) >= 4
    # (a region of if-converted code may be emitted twice: count program counters)
    # (the function of a shape is the module's own, or the process's prebuilt one)
    # (through its wrapper, which takes the lane mask as an integer: quickcall.py)
    called = {int(pc) for pc in re.findall(
        r'call i32 @"(?:gdev_quick_)?call_mem_access_\w+"\(.*, i32 %[^,]+, i64 (\d+)\)', quick)}
    assert called == set(shapes)
    assert (quick.count('define internal i32 @"call_mem_access_')
            + quick.count('declare i32 @"gdev_quick_call_mem_access_') == len(set(shapes.values())))
    assert "mem_access_" not in full and full.count("mem_fast") >= len(shapes)
    assert len(quick) < len(full)


_WARM_UP = """
import sys
from gdev_shim.card.card import Card
from gdev_shim.card import warmup
Card(0, vram_size=1 << 20)
warmup.wait()
print(sorted(m for m in ("gdev_shim.jit.codegen", "gdev_shim.ptx.parser", "llvmlite.binding")
             if m in sys.modules))
"""


@pytest.mark.parametrize("engine_setting, want", [
    ("auto", "['gdev_shim.jit.codegen', 'gdev_shim.ptx.parser', 'llvmlite.binding']"),
    ("interp", "[]"),
])
def test_a_card_imports_the_compiler_in_the_background(engine_setting: str, want: str) -> None:
    """Creating a card imports the PTX front end and the code generator on another thread,
    so the first module load does not (under the interpreter engine, nothing is imported)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GDEV_")}
    proc = subprocess.run([sys.executable, "-c", _WARM_UP], env={**env, "GDEV_ENGINE": engine_setting},
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == want


_LIBRARY = """
import struct, sys
import numpy as np
from gdev_shim import jit
from gdev_shim.card.card import Card
from gdev_shim.card import warmup
from gdev_shim.common.contract import C
from gdev_shim.jit import accesslib, engine
from gdev_shim.jit.layout import flatten
from gdev_shim.ptx import execute as interp_execute, parse_module
from gdev_shim.settings import settings
card = Card(0, vram_size=16 << 20)
warmup.wait()
module = parse_module(sys.stdin.read())
n = 2 * 256
data = np.random.default_rng(5).integers(0, 64, n, dtype=np.int32)
outs = []
for run in (interp_execute, jit.execute):
    src = card.gem_new(n * 4, C.AIDEV_GEM_DOMAIN_VRAM)
    dst = card.gem_new(n * 4, C.AIDEV_GEM_DOMAIN_VRAM)
    card.memory.write(src.addr, data.tobytes())
    with settings.override(jit_tier="fast"):
        run(module, "bar_scan", card.memory, (2, 1, 1), (256, 1, 1), struct.pack("<QQ", src.addr, dst.addr), 0, 0)
    outs.append(card.memory.read(dst.addr, n * 4))
with settings.override(jit_tier="fast"):
    assert not engine.compile_kernel(module, "bar_scan").optimised
text, _ = engine._generate_ir(flatten(module, "bar_scan"), engine.WARP, "q", frozenset(), compact=True)
print(sorted(n for n, built in accesslib._builds.items() if built.result() and f'declare i32 @"{n}"' in text))
print("mem_access_" in text.replace("gdev_quick_call_mem_access_", ""))
print(outs[0] == outs[1])
"""


def test_the_quick_tier_calls_the_prebuilt_access_functions(compile_ptx) -> None:
    """A process's quick-tier kernels call its optimised 32-bit shared and global access
    functions (jit/accesslib.py, built when it first compiles one) instead of carrying
    copies, with the interpreter's results."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GDEV_")}
    proc = subprocess.run([sys.executable, "-c", _LIBRARY], input=compile_ptx([SOURCE])[SOURCE],
                          env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split("\n")[:3] == [
        "['gdev_quick_call_mem_access_ld_0_32_rows', 'gdev_quick_call_mem_access_ld_1_32_rows', "  # %tid.y
        "'gdev_quick_call_mem_access_st_0_32_rows', 'gdev_quick_call_mem_access_st_1_32_rows']", "False",
        "True"]


def test_a_quick_tier_whose_library_failed_keeps_copies_of_its_own(module: Module, forget: None,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """IR generated while the access functions it calls were being built calls them; if
    their build then fails, the kernel is generated again with copies of its own, and runs."""
    import threading
    from gdev_shim.jit import accesslib
    monkeypatch.setattr(accesslib, "_builds", {})          # nothing built in this process yet
    generated = threading.Event()

    def failing_build(shapes: list) -> None:
        generated.wait(60)
        raise RuntimeError("no library")
    monkeypatch.setattr(engine, "_build_library", failing_build)
    calls: list[bool] = []
    generate = engine._generate_ir

    def spy(*args, **kwargs):
        text, meta = generate(*args, **kwargs)
        calls.append(bool(meta["library"]))
        generated.set()
        return text, meta
    monkeypatch.setattr(engine, "_generate_ir", spy)
    want = _scan(interp_execute, module)
    with settings.override(jit_tier="fast"):
        assert _scan(jit.execute, module) == want
    assert calls == [True, False]


def test_a_small_kernels_quick_code_is_unoptimised_in_an_optimised_module(module: Module) -> None:
    """Small kernels' quick tier: the kernel function is marked optnone (the optimising code
    generator selects it at level 0), its helpers are optimised; large ones get the quick
    code generator throughout."""
    from gdev_shim.jit.layout import flatten
    flat = flatten(module, KERNEL)
    assert len(flat.code) <= engine.QUICK_PLAIN_MAX
    plain, _ = engine._generate_ir(flat, engine.WARP, "p", frozenset(), compact=True, plain_kernel=True)
    quick, _ = engine._generate_ir(flat, engine.WARP, "q", frozenset(), compact=True)
    head = [line for line in plain.splitlines() if line.startswith('define i32 @"kernel"')]
    assert len(head) == 1 and "optnone" in head[0] and "noinline" in head[0]
    assert "optnone" not in quick


@pytest.mark.skipif(not (LIB_DIR / "libusdaa.so").exists(), reason="needs `make all`")
def test_c_program_exits_cleanly_while_the_optimiser_runs(compile_ptx, tmp_path) -> None:
    """A C program that runs a large kernel once and exits: its optimised tier (over a
    second of LLVM) is still being built at exit.  Exit waits for the background thread to
    leave LLVM before LLVM's static destructors run: no crash, no hang, status 0."""
    sys.path.insert(0, str(ROOT / "bench"))
    import programs
    from gdev_shim.common.image import build_image
    src = ROOT / "bench" / "cuda" / "bitonic.cu"
    cubin = tmp_path / "bitonic.cubin"
    cubin.write_bytes(build_image(compile_ptx([src])[src]))
    exe = programs.build("kernels2")
    for run in range(3):
        env = programs.environment(GDEV_CACHE_DIR=str(tmp_path / f"cache{run}"), GDEV_LOG="debug",
                                   GDEV_SIM_VRAM=str(256 << 20), GDEV_JIT_TIER="tiered",
                                   **programs.CARD_IN_PROCESS)    # the JIT in this program
        proc = subprocess.run([str(exe), "1", "bitonic", "1", str(cubin)], env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "RESULT bitonic.checked 1" in proc.stdout
        assert "bitonic_sort1024 width 32 (built, quick tier)" in proc.stderr


@pytest.mark.skipif(not (LIB_DIR / "libusdaa.so").exists(), reason="needs `make all`")
def test_c_program_exits_with_its_status_while_quick_tiers_are_replaced(compile_ptx, tmp_path) -> None:
    """A C program loads a module of many kernels (each quick tier compiled at load, each
    optimised tier queued) and exits at once with a failure: the optimiser thread replaces
    quick tiers while exit destroys LLVM's globals.  The replaced engines are disposed of
    only inside the optimiser's exit guard, so the program ends with its own status."""
    sys.path.insert(0, str(ROOT / "bench"))
    import programs
    from gdev_shim.common.image import build_image
    src = KERNELS / "corpus_linalg.cu"
    cubin = tmp_path / "linalg.cubin"
    cubin.write_bytes(build_image(compile_ptx([src])[src]))
    exe = programs.build("kernels")
    for run in range(4):
        env = programs.environment(GDEV_CACHE_DIR=str(tmp_path / f"cache{run}"), GDEV_JIT_TIER="tiered",
                                   **programs.CARD_IN_PROCESS)
        # the module has no reduce_sum: the program fails right after loading it
        proc = subprocess.run([str(exe), "reduce", "4096", "1", str(cubin)], env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 1, proc.stderr[-2000:]
        assert "no kernel named 'reduce_sum'" in proc.stderr


@pytest.mark.skipif(not (LIB_DIR / "libusdaa.so").exists(), reason="needs `make all`")
def test_a_short_program_exits_cleanly_while_the_compiler_warms_up(tmp_path) -> None:
    """The card starts the compiler in the background when it is created (card/warmup.py);
    a program whose kernel is in the disk cache runs it and exits at once, while that
    start-up may still be in flight.  LLVM's own exit handlers must not run under it:
    every run ends with status 0 (the first run fills the cache)."""
    env = {**os.environ, "GDEV_CACHE_DIR": str(tmp_path / "cache"), "GDEV_TRANSPORT": "sim"}
    for _ in range(8):
        proc = subprocess.run([str(ROOT / "build" / "bin" / "user_test"), "-d1", "-s0x1000",
                               f"-f{ROOT / 'build' / 'kernels' / 'add_test.cubin'}"], env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout[-500:] + proc.stderr[-2000:]
        assert "Test passed" in proc.stdout


class _FakeCode:
    """A stand-in for a Compiled: records the block ranges it is run on."""

    def __init__(self, name: str, calls: list, upgrade=None, fail_at: int = -1) -> None:
        self.name, self.calls, self.upgrade, self.fail_at = name, calls, upgrade, fail_at
        self.frame_bytes = 64

    def fn(self, env: int, lo: int, hi: int) -> int:
        self.calls.append((self.name, lo, hi))
        if self.upgrade is not None and len(self.calls) == 2:
            self.upgrade.set_result(self.optimised)      # built while the second chunk ran
        return 1 if lo <= self.fail_at < hi else 0


def test_a_launch_moves_to_the_optimised_code_between_chunks() -> None:
    from concurrent.futures import Future
    from gdev_shim.jit.launch import QUICK_CHUNKS, run_blocks
    calls: list = []
    quick = _FakeCode("quick", calls, Future())
    quick.optimised = _FakeCode("opt", calls)
    n = 10 * QUICK_CHUNKS
    assert run_blocks(quick, 0, 0, n) == 0
    assert calls == [("quick", 0, 10), ("quick", 10, 20), ("opt", 20, n)]


def test_a_quick_launch_stops_at_the_first_faulting_chunk() -> None:
    from concurrent.futures import Future
    from gdev_shim.jit.launch import QUICK_CHUNKS, run_blocks
    calls: list = []
    quick = _FakeCode("quick", calls, Future(), fail_at=5)
    assert run_blocks(quick, 0, 0, 10 * QUICK_CHUNKS) == 1
    assert calls == [("quick", 0, 10)]


def test_a_failed_optimised_build_leaves_the_launch_on_the_quick_code() -> None:
    from concurrent.futures import Future
    from gdev_shim.jit.launch import QUICK_CHUNKS, run_blocks
    calls: list = []
    quick = _FakeCode("quick", calls, Future())
    quick.optimised = None                              # what a failed build hands over
    n = 10 * QUICK_CHUNKS
    assert run_blocks(quick, 0, 0, n) == 0
    assert calls == [("quick", 0, 10), ("quick", 10, 20), ("quick", 20, n)]


def _gated_optimiser(monkeypatch: pytest.MonkeyPatch, hold_s: float):
    from gdev_shim.jit import tiers
    monkeypatch.setattr(tiers, "HOLD_S", hold_s)
    return tiers.Optimiser()


def test_an_optimisation_waits_for_its_kernels_first_launch(monkeypatch: pytest.MonkeyPatch) -> None:
    """A gated job starts only once the first launch it watches has ended; a job without a
    gate (the access library, which a loading thread waits for) runs before it meanwhile."""
    import threading
    opt = _gated_optimiser(monkeypatch, hold_s=60.0)
    ran: list[str] = []
    done = threading.Event()
    gate = opt.gate()
    opt.submit(lambda: ran.append("optimised"), gate)
    opt.submit(lambda: (ran.append("library"), done.set()))
    assert done.wait(30)
    assert gate.watch() and not gate.watch()         # one launch reports; a concurrent one does not
    assert not opt.wait_idle(timeout=0) and ran == ["library"]
    gate.ended()
    assert opt.wait_idle(timeout=30) and ran == ["library", "optimised"]
    assert not opt.gate().open and gate.open and not gate.watch()


def test_an_optimisation_starts_without_a_launch_or_a_launch_that_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past HOLD_S with no launch, or HOLD_S into a launch still running, the gate opens by itself."""
    import time
    opt = _gated_optimiser(monkeypatch, hold_s=0.2)
    started: list[float] = []
    never_launched, long_launch = opt.gate(), opt.gate()
    t0 = time.monotonic()
    opt.submit(lambda: started.append(time.monotonic() - t0), never_launched)
    time.sleep(0.1)
    assert long_launch.watch()                        # its hold now counts from here
    opt.submit(lambda: started.append(time.monotonic() - t0), long_launch)
    deadline = time.monotonic() + 30
    while len(started) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(started) == 2
    assert 0.2 <= started[0] and 0.3 <= started[1]


def test_waiting_for_the_optimiser_opens_every_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    opt = _gated_optimiser(monkeypatch, hold_s=60.0)
    ran: list[int] = []
    opt.submit(lambda: ran.append(1), opt.gate())
    assert opt.wait_idle(timeout=30) and ran == [1]


def test_a_quick_tiers_first_launch_opens_its_gate(module: Module, forget: None) -> None:
    """Under `tiered` the quick code's first launch is watched, and its end lets the
    optimisation start."""
    want = _scan(interp_execute, module)
    with settings.override(jit_tier="tiered"):
        quick = engine.compile_kernel(module, KERNEL)
        gate = quick.first_launch
        assert gate is not None and not gate.open
        assert _scan(jit.execute, module) == want
        assert gate.open
        assert engine.wait_for_optimised(timeout=120)
        assert engine.compile_kernel(module, KERNEL).first_launch is None
