"""Sanitizer overhead: the same kernels with the sanitizer on and off.

Per kernel, each run in its own process (settings are read at import):
- GDEV_MEMCHECK=memcheck, =initcheck and =racecheck under the default engine (every tool
  runs on the JIT) against the default engine without it; goals <= 2x for memcheck,
  <= 3x for the others;
- GDEV_MEMCHECK=all (every tool, compiled into the kernel on the JIT) on the interpreter
  against the plain interpreter, and under the default engine against the default engine
  without it; goal <= 3x.
"""
from __future__ import annotations

from common import BenchError, Results, Target
from images import KernelImage
import kernels

FAMILY = "sanitizer"
TARGET = Target("ratio", "<=", 3.0)
MEMCHECK_TARGET = Target("ratio", "<=", 2.0)
FULL = [("reduce", 1 << 20), ("matmul", 128), ("add_cuda", 0x1000000)]
QUICK = [("reduce", 1 << 16), ("matmul", 64), ("add_cuda", 0x100000)]


def run(results: Results, images: dict[str, KernelImage], quick: bool) -> None:
    repeats = 3
    for key, size in QUICK if quick else FULL:
        case = kernels.CASES[key]
        label = f"{case.kernel} {kernels.size_text(case, size)}"
        plain: dict[str, dict] = {}
        for tools, engine, engine_env, target in (
                ("memcheck", "default engine", {}, MEMCHECK_TARGET),
                ("initcheck", "default engine", {}, TARGET),
                ("racecheck", "default engine", {}, TARGET),
                ("all", "interp", {"GDEV_ENGINE": "interp"}, TARGET),
                ("all", "default engine", {}, TARGET)):
            try:
                if engine not in plain:
                    plain[engine] = kernels.measure(key, size, repeats, images, **engine_env)
                checked = kernels.measure(key, size, repeats, images, GDEV_MEMCHECK=tools, **engine_env)
            except BenchError as exc:
                results.fail(FAMILY, str(exc))
                continue
            results.add(FAMILY, f"GDEV_MEMCHECK={tools} {label} [{engine}]", checked["kernel_ms"], "ms",
                        f"no sanitizer [{engine}]", plain[engine]["kernel_ms"], target=target,
                        notes=f"median launch+sync of {repeats}")
