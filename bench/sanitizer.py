"""Sanitizer overhead: the same kernels with the sanitizer on and off.

Per kernel, each run in its own process (settings are read at import):
- GDEV_MEMCHECK=memcheck, =initcheck and =racecheck under the default engine (every tool
  runs on the JIT) against the default engine without it; goals <= 2x for memcheck,
  <= 3x for the others;
- GDEV_MEMCHECK=all (every tool, compiled into the kernel on the JIT) on the interpreter
  against the plain interpreter, and under the default engine against the default engine
  without it; goal <= 3x.
  Every setting gets the same start: a JIT cache of its own, empty, for this run.  A first
  process compiles (its first launch, compile included, is in the figure's notes) and a
  second one, finding the optimised code in that cache, gives the steady state.  Without
  this a setting whose code some earlier run left in the user's cache would be timed on its
  optimised code and another on the quick tier, with its compiler still running.  Each
  setting, the references included, is timed in both of two passes over all of them and
  keeps the faster of its two medians of 7 launches (3 were one busy moment from a ratio
  twice the kernel's), and the notes give the CPU time per launch of both.
Then the eight kernel classes of the kernels2 family (bench/cuda: saxpy, tree and
shuffle reductions, histogram, bitonic sort, scan, stencil, matmul), each tool and all of
them against the uninstrumented JIT: one process per setting runs every class, each
compiled to its optimised code at its first launch (GDEV_JIT_TIER=opt; one JIT cache
directory for all of them, so only the first run of a kernel compiles it), and
each checked run's report must hold no finding: the classes are clean kernels.
"""
from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

from common import BenchError, Results, Target
from images import KernelImage
import kernels
import kernels2
import programs

FAMILY = "sanitizer"
TARGET = Target("ratio", "<=", 3.0)
MEMCHECK_TARGET = Target("ratio", "<=", 2.0)
FULL = [("reduce", 1 << 20), ("matmul", 128), ("add_cuda", 0x1000000)]
QUICK = [("reduce", 1 << 16), ("matmul", 64), ("add_cuda", 0x100000)]
# kernels2 classes: each tool alone and all of them, against no sanitizer
CLASS_TOOLS = [("memcheck", MEMCHECK_TARGET), ("initcheck", TARGET), ("racecheck", TARGET),
               ("all", TARGET)]
CLASS_TIMEOUT_S = 600.0
PASSES = 2


def run(results: Results, images: dict[str, KernelImage], quick: bool, only: list[str] | None = None) -> None:
    """The bench kernels, then every kernels2 class or those whose keys `only` names."""
    run_bench_kernels(results, images, quick)
    run_classes(results, images, quick, only)


# (tools or "" for none, engine label, its environment, target)
_BENCH_SETTINGS = [
    ("memcheck", "default engine", {}, MEMCHECK_TARGET),
    ("initcheck", "default engine", {}, TARGET),
    ("racecheck", "default engine", {}, TARGET),
    ("all", "interp", {"GDEV_ENGINE": "interp"}, TARGET),
    ("all", "default engine", {}, TARGET),
]
_ENGINE_ENV = {"default engine": {}, "interp": {"GDEV_ENGINE": "interp"}}


def run_bench_kernels(results: Results, images: dict[str, KernelImage], quick: bool) -> None:
    """Each bench kernel under each tool against the same engine without the sanitizer.
    Every setting runs in both of two passes over all of them (each figure, and its
    reference, the faster of its two medians: a busy moment of the machine slows one run,
    not a figure), and the notes give the CPU time per launch too (all the process's
    threads: the work the checks add, whatever else the machine runs)."""
    for key, size in QUICK if quick else FULL:
        case = kernels.CASES[key]
        label = f"{case.kernel} {kernels.size_text(case, size)}"
        names = [("", engine) for engine in _ENGINE_ENV] + [(tools, engine) for tools, engine, _, _ in _BENCH_SETTINGS]
        best: dict[tuple[str, str], dict[str, float]] = {}
        with tempfile.TemporaryDirectory(prefix="gdev-bench-sanitizer-") as tmp:
            for _ in range(PASSES):
                for tools, engine in names:
                    env = {**_ENGINE_ENV[engine], **({"GDEV_MEMCHECK": tools} if tools else {})}
                    cache = Path(tmp) / f"{tools or 'none'}-{engine.replace(' ', '-')}"
                    try:
                        got = _steady(key, size, _repeats(engine), images, env, cache)
                    except BenchError as exc:
                        results.fail(FAMILY, str(exc))
                        continue
                    best[(tools, engine)] = _faster(best.get((tools, engine)), got)
        for tools, engine, _env, target in _BENCH_SETTINGS:
            checked, plain = best.get((tools, engine)), best.get(("", engine))
            if checked is None or plain is None:
                continue
            results.add(FAMILY, f"GDEV_MEMCHECK={tools} {label} [{engine}]", checked["kernel_ms"], "ms",
                        f"no sanitizer [{engine}]", plain["kernel_ms"], target=target,
                        notes=_notes(checked, plain, _repeats(engine)))


def _repeats(engine: str) -> int:
    return 3 if engine == "interp" else 7


def _faster(old: dict[str, float] | None, new: dict[str, float]) -> dict[str, float]:
    """The faster median launch+sync and the lower median CPU time of two runs; the cold
    first launch is the first run's (the second found the optimised code in its cache)."""
    if old is None:
        return dict(new)
    out = dict(old)
    for k in ("kernel_ms", "kernel_cpu_ms"):
        if k in new:
            out[k] = min(new[k], old.get(k, math.inf))
    return out


def _notes(checked: dict[str, float], plain: dict[str, float], repeats: int) -> str:
    notes = f"faster of two medians of {repeats} launch+sync"
    if "kernel_cpu_ms" in checked and "kernel_cpu_ms" in plain:
        cpu, ref = checked["kernel_cpu_ms"], plain["kernel_cpu_ms"]
        notes += f"; CPU per launch {cpu:.2f} ms against {ref:.2f} ms ({cpu / ref:.2f}x)"
    if "cold_first_ms" in checked:
        notes += f"; first launch with an empty cache {checked['cold_first_ms']:.0f} ms"
    return notes


def _steady(key: str, size: int, repeats: int, images: dict[str, KernelImage],
            env: dict[str, str], cache: Path) -> dict[str, float]:
    """A steady-state run of bench/c/kernels.c under `env` with the JIT cache `cache`: while
    that is still empty, a first process compiles (its first launch is cold_first_ms) and
    then a second one times the optimised code it left.  The interpreter compiles nothing:
    one process."""
    if env.get("GDEV_ENGINE") == "interp":
        return kernels.measure(key, size, repeats, images, **env)
    cold = None
    if not cache.exists():
        cache.mkdir(parents=True)
        cold = kernels.measure(key, size, 1, images, GDEV_CACHE_DIR=str(cache), **env)
    steady = kernels.measure(key, size, repeats, images, GDEV_CACHE_DIR=str(cache), **env)
    return {**steady, "cold_first_ms": cold["first_ms"]} if cold is not None else steady


def run_classes(results: Results, images: dict[str, KernelImage], quick: bool,
                only: list[str] | None = None) -> None:
    """Every kernels2 class (or those `only` names) under each tool against the same class
    without the sanitizer.  Every setting runs twice, in two passes over all of them, and
    each figure takes the faster of its two medians: a busy moment of the machine slows
    one run, not a figure."""
    repeats = 5 if quick else 7
    classes = [cls for cls in kernels2.CLASSES if not only or cls.key in only]
    sizes = {cls.key: cls.quick if quick else cls.full for cls in classes}
    settings = [""] + [tools for tools, _ in CLASS_TOOLS]
    best: dict[str, dict[str, float]] = {}
    findings: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="gdev-bench-sanitizer-") as tmp:
        for _ in range(PASSES):
            for tools in settings:
                try:
                    got, found = _classes(images, classes, sizes, repeats, Path(tmp), tools)
                except BenchError as exc:
                    results.fail(FAMILY, str(exc))
                    continue
                findings.setdefault(tools, []).extend(found)
                mine = best.setdefault(tools, {})
                for cls in classes:
                    ms = got.get(f"{cls.key}.kernel_ms", math.inf)
                    mine[cls.key] = min(ms, mine.get(cls.key, math.inf))
    plain = best.get("", {})
    for tools, target in CLASS_TOOLS:
        for cls in classes:
            found = [f for f in findings.get(tools, []) if f.get("kernel") == cls.kernel]
            results.add(FAMILY, f"GDEV_MEMCHECK={tools} {cls.label} {cls.size_text(sizes[cls.key])} [jit]",
                        best.get(tools, {}).get(cls.key, math.nan), "ms", "no sanitizer [jit]",
                        plain.get(cls.key, math.nan), target=target,
                        notes=f"faster of two medians of {repeats} launch+sync; {len(found)} findings",
                        failed=f"{len(found)} findings on a clean kernel: {found[0]['kind']}" if found else "")


def _classes(images: dict[str, KernelImage], classes: list[kernels2.KernelClass], sizes: dict[str, int],
             repeats: int, tmp: Path, tools: str) -> tuple[dict[str, float], list[dict]]:
    """One process of bench/c/kernels2.c running these classes: its RESULT lines and, under
    GDEV_MEMCHECK=tools, the sanitizer's findings (leaks aside: the program's own)."""
    args = [str(programs.build("kernels2")), str(repeats)]
    for cls in classes:
        args += [cls.key, str(sizes[cls.key]), str(images[cls.kernel].cubin)]
    report = tmp / f"report-{tools or 'none'}.json"
    # the card in the process with and without the sanitizer (which keeps private cards);
    # the optimised code at the first launch: under the tiered default, a process whose
    # last class's optimisation was still queued at exit ran it on quick code in both passes
    env = {"GDEV_CACHE_DIR": str(tmp / "cache"), "GDEV_SIM_VRAM": str(kernels2.SIM_VRAM),
           "GDEV_ENGINE": "jit", "GDEV_JIT_TIER": "opt", **programs.CARD_IN_PROCESS}
    if tools:
        env.update(GDEV_MEMCHECK=tools, GDEV_MEMCHECK_REPORT=str(report))
    got = programs.run(args, programs.environment(**env), timeout=CLASS_TIMEOUT_S)
    missing = [cls.key for cls in classes if got.get(f"{cls.key}.checked") != 1]
    if missing:
        raise BenchError(f"kernels2 GDEV_MEMCHECK={tools or 'off'}: results not checked for {missing}")
    findings = json.loads(report.read_text())["findings"] if report.exists() else []
    return got, [f for f in findings if f["tool"] != "leakcheck"]
