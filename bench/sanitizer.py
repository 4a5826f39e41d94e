"""Sanitizer overhead: the same kernels with GDEV_MEMCHECK=all and without it.

Two comparisons per kernel, each pair run in separate processes (settings are
read at import): memcheck on the interpreter vs the plain interpreter
(GDEV_ENGINE=interp both), and memcheck under the default engine vs the default
engine without it (the sanitizer runs kernels on the interpreter, so this one
also carries the JIT's advantage).  Goal: <= 3x.
"""
from __future__ import annotations

from common import BenchError, Results, Target
from images import KernelImage
import kernels

FAMILY = "sanitizer"
TARGET = Target("ratio", "<=", 3.0)
FULL = [("reduce", 1 << 20), ("matmul", 128), ("add_cuda", 0x1000000)]
QUICK = [("reduce", 1 << 16), ("matmul", 64), ("add_cuda", 0x100000)]


def run(results: Results, images: dict[str, KernelImage], quick: bool) -> None:
    repeats = 3
    for key, size in QUICK if quick else FULL:
        case = kernels.CASES[key]
        label = f"{case.kernel} {kernels.size_text(case, size)}"
        for engine, engine_env in (("interp", {"GDEV_ENGINE": "interp"}), ("default engine", {})):
            try:
                plain = kernels.measure(key, size, repeats, images, **engine_env)
                checked = kernels.measure(key, size, repeats, images, GDEV_MEMCHECK="all", **engine_env)
            except BenchError as exc:
                results.fail(FAMILY, str(exc))
                continue
            results.add(FAMILY, f"GDEV_MEMCHECK=all {label} [{engine}]", checked["kernel_ms"], "ms",
                        f"no sanitizer [{engine}]", plain["kernel_ms"], target=TARGET,
                        notes=f"median launch+sync of {repeats}")
