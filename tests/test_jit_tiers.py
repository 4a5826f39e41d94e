"""The JIT's two code tiers (GDEV_JIT_TIER): quick code first, optimised code swapped in by a
background thread and stored in the disk cache, and a C program that exits while that
thread is still inside LLVM."""
from __future__ import annotations

import struct
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("llvmlite")

from gdev_shim import jit  # noqa: E402
from gdev_shim.card.card import Card  # noqa: E402
from gdev_shim.common.contract import C  # noqa: E402
from gdev_shim.jit import engine  # noqa: E402
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


def _cached_objects() -> list[str]:
    return sorted(p.name for p in (settings.cache_dir / "jit").glob("*.o"))


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
    assert len(_cached_objects()) == 1
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
    assert _cached_objects() == []


def test_opt_tier_compiles_the_optimised_code_at_once(module: Module, forget: None) -> None:
    with settings.override(jit_tier="opt"):
        compiled = engine.compile_kernel(module, KERNEL)
        assert compiled.optimised
        assert len(_cached_objects()) == 1


def test_a_replaced_quick_tier_frees_nothing_still_in_use(module: Module, forget: None) -> None:
    """Each execution engine owns its target machine: dropping the quick tier's engine must
    leave every other engine (and later compilations) working."""
    want = _scan(interp_execute, module)
    with settings.override(jit_tier="tiered"):
        engine.compile_kernel(module, KERNEL)
        assert engine.wait_for_optimised(timeout=120)
    import gc
    gc.collect()                        # the quick tier's engine is disposed here
    with settings.override(jit_tier="fast"):
        assert _scan(jit.execute, module) == want
    with settings.override(jit_tier="opt"):
        assert _scan(jit.execute, module) == want


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
                                   GDEV_SIM_VRAM=str(256 << 20), GDEV_JIT_TIER="tiered")
        proc = subprocess.run([str(exe), "1", "bitonic", "1", str(cubin)], env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "RESULT bitonic.checked 1" in proc.stdout
        assert "bitonic_sort1024 width 32 (built, quick tier)" in proc.stderr
