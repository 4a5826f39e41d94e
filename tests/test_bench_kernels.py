"""The kernels2 benchmark's kernels (bench/cuda) and its capped runs.

bench/c/kernels2.c runs every class at its small test size and checks the card's
result against its C twin; here the result's digest is also checked against numpy,
computed from the inputs the program documents, so a twin sharing a kernel's bug
cannot hide it.  Once on the interpreter (the reference semantics), once under the
default engine, each run capped in time and memory like the benchmark's.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from helpers import ROOT

sys.path.insert(0, str(ROOT / "bench"))

import images  # noqa: E402
import kernels2  # noqa: E402
import programs  # noqa: E402

TIMEOUT_S = 60.0
REPEATS = 1            # the histogram's bins then hold two launches' counts


def mix(n: int) -> np.ndarray:
    """kernels2.c's mix(i) for i < n: i * 2654435761 mod 2^32."""
    return (np.arange(n, dtype=np.uint64) * 2654435761 & 0xFFFFFFFF).astype(np.uint32)


def saxpy(n: int) -> np.ndarray:
    i = np.arange(n)
    return (3 * (i % 2001 - 1000) + i % 17).astype(np.float32)


def reduce_tree(n: int) -> np.ndarray:
    return (np.arange(n) % 13 - 6).reshape(-1, 1024).sum(axis=1).astype(np.float32)


def reduce_shfl(n: int) -> np.ndarray:
    return ((mix(n) >> 20).astype(np.int64) - 2048).reshape(-1, 256).sum(axis=1).astype(np.int32)


def histogram(n: int) -> np.ndarray:
    i = np.arange(n)
    data = np.where(i % 8 == 0, 7, mix(n) >> 24)
    return (np.bincount(data, minlength=256) * (REPEATS + 1)).astype(np.uint32)


def bitonic(blocks: int) -> np.ndarray:
    keys = (mix(blocks * 1024) >> 22).astype(np.int32) - 512
    return np.sort(keys.reshape(blocks, 1024), axis=1)


def scan(blocks: int) -> np.ndarray:
    return np.cumsum((np.arange(blocks * 1024) % 7 - 3).reshape(blocks, 1024), axis=1).astype(np.int32)


def stencil(side: int) -> np.ndarray:
    y, x = np.mgrid[0:side, 0:side]
    padded = np.pad((x * 7 + y * 13) % 19 - 9, 1)            # cells outside read as 0
    c = padded[1:-1, 1:-1]
    up, down, left, right = padded[:-2, 1:-1], padded[2:, 1:-1], padded[1:-1, :-2], padded[1:-1, 2:]
    return (4 * c - up - down - left - right).astype(np.float32)


def matmul(n: int) -> np.ndarray:
    i = np.arange(n * n)
    a, b = (i % 7 - 3).reshape(n, n), (i % 5 - 2).reshape(n, n)
    return (a @ b).astype(np.float32)


EXPECTED: dict[str, Callable[[int], np.ndarray]] = {
    "saxpy": saxpy, "reduce_tree": reduce_tree, "reduce_shfl": reduce_shfl, "histogram": histogram,
    "bitonic": bitonic, "scan": scan, "stencil": stencil, "matmul": matmul,
}


def digest(result: np.ndarray) -> int:
    """kernels2.c's digest: sum of the 32-bit words w[i] * (2i + 1), mod 2^32."""
    words = np.ascontiguousarray(result).view(np.uint32).ravel().astype(np.uint64)
    weights = 2 * np.arange(words.size, dtype=np.uint64) + 1
    return int((words * weights).sum(dtype=np.uint64) & 0xFFFFFFFF)


@pytest.fixture(scope="module")
def cubins() -> dict[str, Path]:
    return {kernel: image.cubin for kernel, image in images.build_all().items()}


def run_all_classes(cubins: dict[str, Path], **env: str) -> programs.Limited:
    args = [str(REPEATS)]
    for cls in kernels2.CLASSES:
        args += [cls.key, str(cls.test), str(cubins[cls.kernel])]
    return programs.run_limited([str(programs.build("kernels2")), *args], programs.environment(**env),
                                TIMEOUT_S, kernels2.SIM_VRAM + kernels2.MEMORY_CAP)


def check_against_numpy(ended: programs.Limited) -> None:
    unfinished = [c.key for c in kernels2.CLASSES if ended.results.get(f"{c.key}.checked") != 1]
    assert ended.status == "ok" and not unfinished, f"{ended.why}; not checked: {unfinished}"
    for cls in kernels2.CLASSES:
        expected = digest(EXPECTED[cls.key](cls.test))
        assert ended.results[f"{cls.key}.digest"] == expected, f"{cls.key}: digest differs from numpy's"


def test_numpy_references_are_not_trivial() -> None:
    # a digest over all-equal or all-zero words would let a wrong kernel pass
    for cls in kernels2.CLASSES:
        result = EXPECTED[cls.key](cls.test)
        assert np.unique(result).size > 4, cls.key


def test_interpreter_matches_numpy(cubins: dict[str, Path]) -> None:
    check_against_numpy(run_all_classes(cubins, GDEV_ENGINE="interp", GDEV_SIM_VRAM=str(kernels2.SIM_VRAM)))


def test_default_engine_matches_numpy(cubins: dict[str, Path]) -> None:
    check_against_numpy(run_all_classes(cubins, GDEV_SIM_VRAM=str(kernels2.SIM_VRAM)))


# -- the capped runs: a hang or a runaway allocation becomes a status, not a stuck suite --

def test_timeout_keeps_what_was_printed() -> None:
    code = "import time; print('RESULT early 1.5', flush=True); time.sleep(60)"
    ended = programs.run_limited([sys.executable, "-c", code], programs.environment(), 1.0, 4 << 30)
    assert (ended.status, ended.results) == ("timed out", {"early": 1.5})
    assert ended.seconds < 30


def test_address_space_cap_reports_over_memory() -> None:
    ended = programs.run_limited([sys.executable, "-c", "bytearray(3 << 30)"], programs.environment(),
                                 30.0, 1 << 30)
    assert ended.status == "over memory", ended.why


def test_other_failures_keep_exit_status_and_output() -> None:
    code = "print('RESULT partial 2', flush=True); raise SystemExit('broken: 7')"
    ended = programs.run_limited([sys.executable, "-c", code], programs.environment(), 30.0, 4 << 30)
    assert (ended.status, ended.returncode, ended.results) == ("failed", 1, {"partial": 2.0})
    assert "broken: 7" in ended.why


def test_peak_rss_seen_while_running() -> None:
    code = "import time; b = bytearray(200 << 20); time.sleep(0.5)"    # 200 MiB touched (zeroed)
    ended = programs.run_limited([sys.executable, "-c", code], programs.environment(), 30.0, 4 << 30)
    assert ended.status == "ok" and ended.peak_rss_kb >= 200 << 10


@pytest.mark.parametrize("log,status,engine", [
    ("[DEBUG] gdev.card: kernel histogram256 runs on the interpreter: instruction atom.shared.add.u32\n",
     "ok", "interp"),
    ("[DEBUG] gdev.jit: jit compiled histogram256 width 32 (built)\n", "ok", "jit"),
    ("[DEBUG] gdev.jit: jit compiled other width 32 (built)\n", "timed out", "jit"),
    ("", "failed", "unknown"),
])
def test_engine_read_from_the_debug_log(log: str, status: str, engine: str) -> None:
    assert kernels2.engine_from_log("histogram256", log, status).name == engine
