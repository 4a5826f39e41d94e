"""Start-up: a C program whose only work is its first API call, timed as a process.

The figures are wall times of whole runs (exec to exit, medians of repeats) of
bench/c/startup.c against bench/c/empty.c, a program that only starts and exits:
one sdaaGetDeviceCount (libusdaa.so), one gdevice_count (libgdev.so), and the
same program calling nothing (what loading the libraries, with their embedded
interpreter, costs before any call).  Target: the first call returns within 150 ms.
"""
from __future__ import annotations

import statistics
import subprocess
import time
from pathlib import Path

from common import BenchError, Results, Target
from images import KernelImage
import programs

FAMILY = "startup"
EMPTY = "empty C program, exec to exit"
FIGURES = [
    ("runtime", "start-up: process whose one call is sdaaGetDeviceCount", Target("value", "<=", 150.0)),
    ("gdev", "start-up: process whose one call is gdevice_count", Target("value", "<=", 150.0)),
    ("none", "start-up: process linked to the libraries, no call", None),
]


def wall_ms(cmd: list[str], env: dict[str, str], repeats: int) -> float:
    """Median wall milliseconds of running cmd to completion (after one untimed run)."""
    times = []
    for i in range(repeats + 1):
        t = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        elapsed = time.perf_counter() - t
        if proc.returncode != 0 or "RESULT cards" not in proc.stdout:
            raise BenchError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.strip()[-300:]}")
        if i:
            times.append(elapsed * 1e3)
    return statistics.median(times)


def run(results: Results, images: dict[str, KernelImage], quick: bool) -> None:
    repeats = 5 if quick else 15
    env = programs.environment()
    empty: Path = programs.build("empty", libs=())
    startup: Path = programs.build("startup", libs=("usdaa", "gdev"))
    empty_ms = wall_ms([str(empty)], env, repeats)
    for arg, name, target in FIGURES:
        results.add(FAMILY, name, wall_ms([str(startup), arg], env, repeats), "ms", EMPTY, empty_ms,
                    target=target)
