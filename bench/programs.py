"""Building the C benchmark programs (bench/c/*.c) and running them.

They link against build/lib (made by `make all`) and are written to build/bench/.
A program reports `RESULT <key> <value>` lines; run() returns them as a dict.
Each run gets a clean environment: settings are read once per process, so an
engine or sanitizer choice is made here, never inherited by accident.
run_limited() also caps the program's address space and time and tells a
timeout or an exhausted cap apart from other failures, keeping what it printed.
"""
from __future__ import annotations

import os
import resource
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from common import ROOT, BenchError

SRC_DIR = ROOT / "bench" / "c"
OUT_DIR = ROOT / "build" / "bench"
LIB_DIR = ROOT / "build" / "lib"
KERNEL_DIR = ROOT / "build" / "kernels"
CFLAGS = ["-O2", "-Wall", "-Wextra", "-Werror", f"-I{ROOT / 'include'}", f"-I{SRC_DIR}"]

# Variables that would change what a figure measures unless a run asks for them.
_STEERING = ("GDEV_ENGINE", "GDEV_JIT_TIER", "GDEV_MEMCHECK", "GDEV_MEMCHECK_REPORT", "GDEV_TRACE", "GDEV_LOG",
             "GDEV_SIM_FAULT", "GDEV_TRANSPORT", "PYTHONPATH", "PYTHONHOME")
# The kernel-engine families measure the engine's compile time and memory, so the card
# runs in the measured process; by default a card daemon would do both in its own.
CARD_IN_PROCESS = {"GDEV_TRANSPORT": "sim"}


def build(name: str, shared: bool = False, libs: tuple[str, ...] = ("usdaa",)) -> Path:
    """Compile bench/c/<name>.c (if newer than its output), linked against `libs` from
    build/lib; returns the binary."""
    src = SRC_DIR / f"{name}.c"
    out = OUT_DIR / (f"lib{name}.so" if shared else name)
    if not (LIB_DIR / "libusdaa.so").is_file():
        raise BenchError(f"{LIB_DIR / 'libusdaa.so'} is missing: run `make all` first")
    deps = [src, SRC_DIR / "bench.h", *(LIB_DIR / f"lib{lib}.so" for lib in libs)]
    if out.is_file() and all(out.stat().st_mtime >= d.stat().st_mtime for d in deps):
        return out
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    if shared:
        cmd = ["gcc", *CFLAGS, "-shared", "-fPIC", str(src), "-o", str(out)]
    else:
        cmd = ["gcc", *CFLAGS, str(src), "-o", str(out), f"-L{LIB_DIR}", *(f"-l{lib}" for lib in libs),
               f"-Wl,-rpath,{LIB_DIR}"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BenchError(f"gcc {src.name} failed:\n{proc.stderr.strip()}")
    return out


def environment(**overrides: str) -> dict[str, str]:
    """This process's environment without steering variables, plus `overrides`."""
    env = {k: v for k, v in os.environ.items() if k not in _STEERING}
    env.update(overrides)
    return env


def run_raw(cmd: list[str], env: dict[str, str], cwd: Path | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"{' '.join(cmd)} ran past {timeout:.0f} s") from exc
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
        raise BenchError(f"{' '.join(cmd)} exited {proc.returncode}: " + " | ".join(tail))
    return proc


def parse_results(cmd: list[str], stdout: str) -> dict[str, float]:
    """The RESULT lines of a program's output as {key: value}."""
    results: dict[str, float] = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "RESULT":
            try:
                results[parts[1]] = float(parts[2])
            except ValueError as exc:
                raise BenchError(f"{cmd[0]}: bad result line {line!r}") from exc
    return results


def run(cmd: list[str], env: dict[str, str], cwd: Path | None = None,
        timeout: float = 300) -> dict[str, float]:
    """Run a benchmark program; its RESULT lines as {key: value}."""
    proc = run_raw(cmd, env, cwd, timeout)
    results = parse_results(cmd, proc.stdout)
    if not results:
        raise BenchError(f"{' '.join(cmd)} printed no results")
    return results


# What a process prints when an allocation fails: Python, numpy, LLVM, libstdc++, libc.
_OUT_OF_MEMORY = ("MemoryError", "Unable to allocate", "LLVM ERROR: out of memory",
                  "std::bad_alloc", "Cannot allocate memory")


@dataclass
class Limited:
    """How a capped run ended, with whatever it printed before."""
    status: Literal["ok", "timed out", "over memory", "failed"]
    results: dict[str, float]
    stdout: str
    stderr: str
    seconds: float
    peak_rss_kb: int            # VmHWM as last seen in /proc while it ran (0 if never seen)
    returncode: int | None = None
    why: str = field(default="")

    def tail(self, lines: int = 2, width: int = 160) -> str:
        """The last lines it printed, each cut to `width` characters: enough to name a failure."""
        return " | ".join(line[:width] for line in (self.stdout + self.stderr).strip().splitlines()[-lines:])


class _MemoryWatch(threading.Thread):
    """Reads the high-water marks of a process's resident set and address space until
    told to stop: what remains known when the process is killed before it can report."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.path = Path(f"/proc/{pid}/status")
        self.peak_kb = {"VmHWM": 0, "VmPeak": 0}
        self.done = threading.Event()

    def sample(self) -> None:
        try:
            for line in self.path.read_text().splitlines():
                key = line.split(":", 1)[0]
                if key in self.peak_kb:
                    self.peak_kb[key] = max(self.peak_kb[key], int(line.split()[1]))
        except (OSError, ValueError, IndexError):
            pass                # gone, or a zombie without memory lines

    def run(self) -> None:
        while not self.done.wait(0.05):
            self.sample()


def run_limited(cmd: list[str], env: dict[str, str], timeout: float, address_space: int,
                cwd: Path | None = None) -> Limited:
    """Run a program with RLIMIT_AS = address_space bytes, killed after `timeout` seconds.

    Never raises for the program's own failures: a hung or runaway run becomes a
    status a figure can report, next to the RESULT lines it printed before.
    """
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=cwd, preexec_fn=cap)
    watch = _MemoryWatch(proc.pid)
    watch.start()
    timed_out = False
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        watch.sample()          # the last look before the kill
        proc.kill()
        out, err = proc.communicate()
    finally:
        watch.done.set()
        watch.join()
    seconds = time.perf_counter() - t0
    results = parse_results(cmd, out)
    ended = Limited("ok", results, out, err, seconds, watch.peak_kb["VmHWM"], proc.returncode)
    # a failed mapping (a shared library, an arena) may not say so; its size is unknown,
    # so an address space seen within a tenth of the cap counts as having reached it
    near_cap = watch.peak_kb["VmPeak"] * 1024 >= 0.9 * address_space
    if timed_out:
        ended.status, ended.why = "timed out", f"timed out after {timeout:.0f} s"
    elif proc.returncode != 0 and (near_cap or any(m in out + err for m in _OUT_OF_MEMORY)):
        ended.status = "over memory"
        ended.why = f"over memory (address space capped at {address_space >> 20} MiB)"
    elif proc.returncode != 0:
        ended.status, ended.why = "failed", f"exited {proc.returncode}: {ended.tail()}"
    return ended
