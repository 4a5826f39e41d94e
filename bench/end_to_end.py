"""End to end: the seed program `user_test -d3 -s0xf000000`, run in build/kernels.

Figures: its printed launch_sync time against the seed article's published
130.6 ms (a constant, not re-measured) and against the same c = a + b as a C -O2
loop timed here; its whole wall time (process start to exit: interpreter start,
allocations, copies, the launch, the check) against that C loop too.
"""
from __future__ import annotations

import ctypes
import re
import statistics
import time

import numpy as np

from common import BenchError, Results, median_time
from images import KernelImage
import programs

FAMILY = "e2e"
SIZE = 0xF000000
ARTICLE_MS = 130.6
_LAUNCH = re.compile(r"launch_sync time:\s*([0-9.]+)")


def c_loop_ms(repeats: int) -> float:
    lib = ctypes.CDLL(str(programs.build("add_loop", shared=True)))
    lib.add_loop.argtypes = [ctypes.c_void_p] * 3 + [ctypes.c_size_t]
    n = SIZE // 4
    a = np.arange(n, dtype=np.int32)
    b = 2 * a
    c = np.empty_like(a)
    ms = median_time(lambda: lib.add_loop(a.ctypes.data, b.ctypes.data, c.ctypes.data, n), repeats) * 1e3
    if not np.array_equal(c, a + b):
        raise BenchError("the C reference loop computed a wrong sum")
    return ms


def run(results: Results, images: dict[str, KernelImage], quick: bool) -> None:
    del images
    exe = programs.ROOT / "build" / "bin" / "user_test"
    if not exe.is_file():
        raise BenchError(f"{exe} is missing: run `make all` first")
    repeats = 1 if quick else 5
    walls, launches = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        proc = programs.run_raw([str(exe), "-d3", f"-s{SIZE:#x}"], programs.environment(),
                                cwd=programs.KERNEL_DIR)
        walls.append((time.perf_counter() - t) * 1e3)
        found = _LAUNCH.search(proc.stdout)
        if "Test passed" not in proc.stdout or found is None:
            raise BenchError(f"user_test did not pass: {proc.stdout.strip().splitlines()[-1:]}")
        launches.append(float(found.group(1)))
    wall, launch = statistics.median(walls), statistics.median(launches)
    loop = c_loop_ms(3 if quick else 5)
    name = f"user_test -d3 -s{SIZE:#x}"
    note = f"median of {repeats}"
    results.add(FAMILY, f"{name} launch_sync", launch, "ms", "seed article (published, not re-measured)",
                ARTICLE_MS, notes=note)
    results.add(FAMILY, f"{name} launch_sync vs C loop", launch, "ms", "C -O2 loop c=a+b, same size",
                loop, notes=note)
    results.add(FAMILY, f"{name} wall time", wall, "ms", "C -O2 loop c=a+b, same size", loop, notes=note)
