"""Eight kernel classes (bench/cuda/*.cu) under the default engine, each against a C twin.

Every class runs in a fresh process of bench/c/kernels2.c with GDEV_ENGINE unset,
the card in that process (GDEV_TRANSPORT=sim, so its compile time and memory are
the process's to measure) and an empty cache (GDEV_CACHE_DIR: a new temporary
directory), so its first launch pays for parsing and compiling the kernel.  Three figures per class:

- steady state: the median launch+sync, against the C twin (the same algorithm run
  sequentially, gcc -O2) timed in the same process, the two timed alternately so that
  a change in the machine's load (other processes on its cores) weighs on both; the
  card's result must equal the twin's;
- first-launch overhead: the module load (where kernels compile) plus the first
  launch+sync, minus that steady-state time, against the steady-state time;
- settling: the JIT first runs a kernel's quick code while a background thread builds
  the optimised code (docs/architecture.md, "Kernels"), so the launches after the first
  keep going for SETTLE_MS before the steady state is timed; what they took beyond the
  steady state is reported (no target: the price of the quick tier, paid after the first
  launch);
- peak resident memory of the process (ru_maxrss), against that of the runtime
  alone (the same program initialised with a context, running nothing); the data
  the case holds (host arrays and device buffers, the simulated card's memory
  being this process's) is in the notes.

A run is capped at TIMEOUT seconds and an address space of the simulated VRAM plus
MEMORY_CAP, so a kernel that hangs or runs away ends as a failed figure ("timed
out", "over memory") instead of stopping the suite.  Which engine ran a kernel is
read from a second, small run of it (same block shape) with GDEV_LOG=debug: the
card logs "runs on the interpreter" when the JIT refuses a kernel, the JIT logs
"jit compiled" when it built one.  The measured run itself logs nothing.
"""
from __future__ import annotations

import math
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from common import BenchError, Results, Target
from images import KernelImage
import programs

FAMILY = "kernels2"
TIMEOUT_S = {"full": 120.0, "quick": 60.0}
PROBE_TIMEOUT_S = 60.0
# The simulated card reserves its whole VRAM as address space up front (committed only
# when touched), so the cap is that reservation plus what the process may really use.
SIM_VRAM = 1 << 30
MEMORY_CAP = 2 << 30
FIRST_LAUNCH_TARGET = Target("value", "<=", 300.0)
# Long enough for the background thread to build the largest class's optimised code while
# the launches compete with it for the two cores: the bitonic sort's arrives after 4.5 to
# 7 s of back-to-back launches (its IR is generated again for that tier, in Python, since
# the quick tier's calls the shared access library; measured, 6 s left it on quick code in
# two runs of four).
SETTLE_MS = 10000
RSS_TARGET = Target("value", "<=", 500.0)


@dataclass(frozen=True)
class KernelClass:
    key: str            # case name understood by bench/c/kernels2.c
    kernel: str
    label: str
    size_format: str    # how a figure names the size: str.format with `size`
    full: int
    quick: int
    test: int           # the engine probe's size and the unit test's
    ratio_bound: float  # steady-state target: at most this many times the C twin

    def size_text(self, size: int) -> str:
        return self.size_format.format(size=size)


CLASSES = [
    # 8 Mi elements: the case's own data (inputs, output and the twin's, on the host and on the
    # card, whose memory is this process's) is 224 MiB, so its peak RSS measures the engine
    KernelClass("saxpy", "saxpy_stride", "saxpy grid-stride", "n={size}", 1 << 23, 1 << 20, 100_000, 1.5),
    KernelClass("reduce_tree", "reduce_tree512", "reduce shared tree 512-thread", "n={size}",
                1 << 22, 1 << 18, 1 << 16, 3.0),
    KernelClass("reduce_shfl", "reduce_shfl", "reduce shfl_down 256-thread", "n={size}",
                1 << 22, 1 << 18, 1 << 16, 3.0),
    KernelClass("histogram", "histogram256", "histogram shared atomics", "{size} bytes",
                1 << 24, 1 << 20, 100_000, 3.0),
    KernelClass("bitonic", "bitonic_sort1024", "bitonic sort 1024-thread", "{size}x1024 ints", 64, 3, 2, 3.0),
    KernelClass("scan", "scan_hillis_steele1024", "scan Hillis-Steele 1024-thread", "{size}x1024 ints",
                256, 16, 2, 3.0),
    KernelClass("stencil", "stencil5", "stencil 5-point 16x16 halo", "{size}x{size}", 2048, 512, 50, 1.5),
    KernelClass("matmul", "matmul16", "matmul 16x16 tiles", "n={size}", 512, 128, 64, 2.0),
]


@dataclass(frozen=True)
class Engine:
    name: str           # "jit", "interp" or "unknown"
    why: str            # how it was told


def run_capped(args: list[str], timeout: float, **env: str) -> programs.Limited:
    """One capped run of bench/c/kernels2.c in a fresh process with an empty cache directory."""
    with tempfile.TemporaryDirectory(prefix="gdev-bench-cache-") as cache:
        return programs.run_limited(
            [str(programs.build("kernels2")), *args],
            programs.environment(GDEV_CACHE_DIR=cache, GDEV_SIM_VRAM=str(SIM_VRAM),
                                 **{**programs.CARD_IN_PROCESS, **env}),
            timeout, SIM_VRAM + MEMORY_CAP)


def run_class(cls: KernelClass, size: int, repeats: int, cubin: Path, timeout: float,
              **env: str) -> programs.Limited:
    return run_capped([str(repeats), cls.key, str(size), str(cubin)], timeout, **env)


def runtime_rss_mb() -> float:
    """Peak resident memory of the program running no kernel: the runtime's own."""
    ended = run_capped(["1"], PROBE_TIMEOUT_S)
    if ended.status != "ok" or "maxrss_kb" not in ended.results:
        raise BenchError(f"kernels2 with no case: {ended.why or 'no maxrss_kb'}")
    return _mb(ended.results["maxrss_kb"])


def engine_from_log(kernel: str, log: str, status: str) -> Engine:
    """The engine the default setting chose for `kernel`, from a GDEV_LOG=debug run."""
    refused = re.search(rf"kernel {re.escape(kernel)} runs on the interpreter: (.*)", log)
    if refused:
        return Engine("interp", f"the JIT refused it: {refused.group(1).strip()}")
    if re.search(rf"jit compiled {re.escape(kernel)} ", log):
        return Engine("jit", "compiled by the JIT")
    if status in ("timed out", "over memory"):
        # the default engine tries the JIT first and logs before falling back
        return Engine("jit", f"no fallback logged before the probe {status}: still in the JIT")
    return Engine("unknown", f"neither a JIT build nor a fallback logged (probe {status})")


def probe_engine(cls: KernelClass, cubin: Path) -> Engine:
    ended = run_class(cls, cls.test, 1, cubin, PROBE_TIMEOUT_S, GDEV_LOG="debug")
    return engine_from_log(cls.kernel, ended.stderr, ended.status)


def _mb(kb: float) -> float:
    return kb / 1024


def report(results: Results, cls: KernelClass, size: int, engine: Engine, ended: programs.Limited,
           repeats: int, runtime_rss: float) -> None:
    """The class's three figures; a run that did not finish fails each of them."""
    got = {k.split(".", 1)[-1]: v for k, v in ended.results.items() if k.startswith(cls.key + ".")}
    nan = math.nan
    failed = ended.why if ended.status != "ok" else ("" if got.get("checked") == 1 else "result not checked")
    label = f"{cls.label} {cls.size_text(size)} [auto: {engine.name}]"
    note = (f"engine: {engine.why}; {int(got.get('threads', 0))} threads; medians of {repeats} "
            f"launches and twin runs, alternating (the twin alone, before: "
            f"{got.get('ref_alone_ms', nan):.3g} ms)")
    steady, first = got.get("kernel_ms", nan), got.get("first_ms", nan)
    load = got.get("load_ms", nan)
    results.add(FAMILY, label, steady, "ms", "C twin -O2, same process", got.get("ref_ms", nan),
                target=Target("ratio", "<=", cls.ratio_bound), notes=note, failed=failed)
    results.add(FAMILY, f"{label} first launch", load + first - steady, "ms",
                "steady-state launch+sync, same process", steady, target=FIRST_LAUNCH_TARGET,
                notes=f"overhead: module load ({load:.1f} ms, kernels compile there) plus first "
                      f"launch+sync ({first:.1f} ms) minus the steady state; fresh process, "
                      "empty JIT cache", failed=failed)
    settled = int(got.get("settle_launches", 0))
    results.add(FAMILY, f"{label} settling", got.get("settle_excess_ms", nan), "ms",
                "first-launch overhead", load + first - steady,
                notes=f"{settled} launches in the {SETTLE_MS} ms after the first, before the steady "
                      "state is timed: their time beyond the steady state (quick code while the "
                      "optimised code is built, and that build's competition for the cores)",
                failed=failed)
    if "maxrss_kb" in ended.results:
        rss, seen = _mb(ended.results["maxrss_kb"]), "ru_maxrss at exit"
    else:
        rss, seen = _mb(ended.peak_rss_kb), "VmHWM when it stopped"
    results.add(FAMILY, f"{label} peak RSS", rss, "MB", "runtime alone: context, no kernel", runtime_rss,
                target=RSS_TARGET, notes=f"{seen}; the case's data {_mb(got.get('data_kb', nan)):.1f} MB",
                failed=f"{failed}; {rss:.0f} MB resident when it stopped" if failed else "")


def run(results: Results, images: dict[str, KernelImage], quick: bool, only: list[str] | None = None) -> None:
    """Every class, or those whose keys `only` names."""
    mode = "quick" if quick else "full"
    repeats = 3 if quick else 9
    runtime_rss = runtime_rss_mb()
    for cls in CLASSES:
        if only and cls.key not in only:
            continue
        size = cls.quick if quick else cls.full
        cubin = images[cls.kernel].cubin
        engine = probe_engine(cls, cubin)
        print(f"{cls.key}: the default engine runs it on {engine.name} ({engine.why})", flush=True)
        ended = run_class(cls, size, repeats, cubin, TIMEOUT_S[mode], KERNELS2_SETTLE_MS=str(SETTLE_MS))
        report(results, cls, size, engine, ended, repeats, runtime_rss)
