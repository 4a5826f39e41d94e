"""The clean corpus under the sanitizer: every tool, both engines, nothing reported.

Every kernel of tests/kernels and tests/jit_kernels runs on a valid launch (random
buffers, every byte written; per-kernel shapes and scalars where the generic ones are
not valid) with memcheck, initcheck and racecheck together, on the interpreter and on
the JIT.  Neither may report anything, and the sanitizer must not change a result: the
checked interpreter's buffers equal the plain interpreter's, the checked JIT's equal the
checked interpreter's.  The tools run together so each kernel is compiled once with the
checks in (memcheck needs no code of its own); the build lands in the JIT's disk cache,
so a later run only loads it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

pytest.importorskip("llvmlite")

from gdev_shim import jit  # noqa: E402
from gdev_shim.card.card import Card  # noqa: E402
from gdev_shim.common.findings import REPORT  # noqa: E402
from gdev_shim.ptx import Module, execute as interp_execute, parse_module  # noqa: E402
from gdev_shim.settings import settings  # noqa: E402
from helpers import GENERIC_N, KERNELS, TESTS, generic_arguments, global_kernels  # noqa: E402

SOURCES = sorted(KERNELS.glob("*.cu")) + [TESTS / "jit_kernels" / "isa.cu"]
# corpus_fault is left out by design: its kernels exist to fault (an out-of-bounds store,
# a stack overflow); tests/test_sanitizer.py covers faults under the sanitizer.
EXCLUDED = {"corpus_fault"}
TOOLS = frozenset({"memcheck", "initcheck", "racecheck"})


@dataclass(frozen=True)
class Launch:
    grid: tuple[int, int, int] = (3, 2, 1)
    block: tuple[int, int, int] = (64, 1, 1)      # two warps: racecheck sees hazards between them
    shared: int = 0
    scalars: dict[int, int] = field(default_factory=dict)
    values: int = 64                              # buffers hold random ints below this
    repeatable: bool = True                       # the same results on every run and engine


# Launches the generic one does not fit.  A kernel that indexes its output by blockIdx.x
# alone gets a one-row grid (blocks differing in blockIdx.y would race on global memory).
LAUNCHES = {
    ("corpus_grid", "saxpy_stride"): Launch((3, 1, 1), scalars={0: 0x3FC00000, 3: GENERIC_N}),
    ("corpus_grid", "stencil2d"): Launch((2, 3, 1), (16, 8, 1), scalars={2: 100, 3: 50}),
    ("corpus_reduce", "scan_fixup"): Launch((3, 1, 1)),
    ("corpus_reduce", "scan_block"): Launch((5, 1, 1), shared=4 * 64),
    ("corpus_linalg", "bitonic_sort"): Launch((5, 1, 1), shared=4 * 64),
    ("corpus_linalg", "matmul_tiled"): Launch((3, 3, 1), (16, 16, 1), scalars={3: 40, 4: 37, 5: 45}),
    ("corpus_linalg", "transpose_padded"): Launch((3, 2, 1), (32, 8, 1), scalars={2: 70, 3: 45}),
    # fib(k) of every input: small k, or the recursion runs for ages
    ("corpus_calls", "recursion"): Launch(values=12),
    # traps on an input of 42
    ("misc", "trapper"): Launch(values=40),
    # zeroed counters: thread t spins until thread t - 1 has counted (one row of blocks); the
    # tickets it hands out follow the order the engine runs threads in
    ("isa", "atomic_contention"): Launch((3, 1, 1), values=1, repeatable=False),
    # lanes of one block update shared and global words in lane order: one block, so that
    # the global words' old values do not depend on the order blocks run in
    ("isa", "atomic_shared"): Launch((1, 1, 1)),
    # offsets of aligned words: all zero
    ("isa", "atomic_at"): Launch(values=1),
    # one warp (it holds 64 words), offsets all zero: every lane adds to word 0 in lane order
    ("isa", "atomic_shared_at"): Launch((1, 1, 1), (32, 1, 1), values=1),
    # indices into a 16-entry parameter table
    ("isa", "param_through_register"): Launch(values=16),
    # writes the clock registers' values
    ("isa", "clocks"): Launch(repeatable=False),
}


def _cases() -> list[tuple[str, str]]:
    return [(src.stem, name) for src in SOURCES if src.stem not in EXCLUDED for name in global_kernels(src)]


@pytest.fixture(scope="module")
def modules(compile_ptx) -> dict[str, Module]:
    return {src.stem: parse_module(text) for src, text in compile_ptx(SOURCES).items()}


def _run(engine, module: Module, kernel: str, launch: Launch, tools: frozenset[str]) -> tuple[list, list]:
    """The kernel on a fresh card with `tools`: (its buffers' bytes, what the sanitizer found)."""
    with settings.override(memcheck=tools):
        card = Card(0, vram_size=64 << 20)
    params, bufs, gaddr = generic_arguments(card, module, kernel, np.random.default_rng(7),
                                            scalars=launch.scalars, values=launch.values)
    checks = card.compute.sanitizer.kernel(kernel) if tools else None   # type: ignore[attr-defined]
    seen = len(REPORT.findings)
    engine(module, kernel, card.memory, launch.grid, launch.block, params, launch.shared, gaddr,
           printf=lambda _line: None, checks=checks)
    if checks is not None:
        checks.finish()                     # hazards are reported when the launch ends
    found = [f.text() for f in REPORT.findings[seen:]]
    return [card.memory.read(bo.addr, bo.size) for bo in bufs], found


@pytest.mark.parametrize("module_name,kernel", _cases())
def test_clean_kernel_reports_nothing_on_either_engine(modules, module_name: str, kernel: str) -> None:
    module = modules[module_name]
    launch = LAUNCHES.get((module_name, kernel), Launch())
    plain, _ = _run(interp_execute, module, kernel, launch, frozenset())
    checked, found = _run(interp_execute, module, kernel, launch, TOOLS)
    assert found == [], "interpreter:\n" + "\n".join(found)
    assert checked == plain or not launch.repeatable, "the interpreter's results change under the sanitizer"
    try:
        native, found = _run(jit.execute, module, kernel, launch, TOOLS)
    except jit.JitUnsupported as exc:
        pytest.skip(f"interpreter only: {exc.reason}")   # corpus_calls: recursion, calls through pointers
    assert found == [], "JIT:\n" + "\n".join(found)
    assert native == checked or not launch.repeatable, "the checked JIT's results differ from the interpreter's"


def test_every_launch_override_names_a_corpus_kernel() -> None:
    assert set(LAUNCHES) <= set(_cases())
