"""Building the C benchmark programs (bench/c/*.c) and running them.

They link against build/lib (made by `make all`) and are written to build/bench/.
A program reports `RESULT <key> <value>` lines; run() returns them as a dict.
Each run gets a clean environment: settings are read once per process, so an
engine or sanitizer choice is made here, never inherited by accident.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from common import ROOT, BenchError

SRC_DIR = ROOT / "bench" / "c"
OUT_DIR = ROOT / "build" / "bench"
LIB_DIR = ROOT / "build" / "lib"
KERNEL_DIR = ROOT / "build" / "kernels"
CFLAGS = ["-O2", "-Wall", "-Wextra", "-Werror", f"-I{ROOT / 'include'}", f"-I{SRC_DIR}"]

# Variables that would change what a figure measures unless a run asks for them.
_STEERING = ("GDEV_ENGINE", "GDEV_MEMCHECK", "GDEV_MEMCHECK_REPORT", "GDEV_TRACE", "GDEV_LOG",
             "GDEV_SIM_FAULT", "PYTHONPATH", "PYTHONHOME")


def build(name: str, shared: bool = False) -> Path:
    """Compile bench/c/<name>.c (if newer than its output); returns the binary."""
    src = SRC_DIR / f"{name}.c"
    out = OUT_DIR / (f"lib{name}.so" if shared else name)
    if not (LIB_DIR / "libusdaa.so").is_file():
        raise BenchError(f"{LIB_DIR / 'libusdaa.so'} is missing: run `make all` first")
    deps = [src, SRC_DIR / "bench.h", LIB_DIR / "libusdaa.so"]
    if out.is_file() and all(out.stat().st_mtime >= d.stat().st_mtime for d in deps):
        return out
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    if shared:
        cmd = ["gcc", *CFLAGS, "-shared", "-fPIC", str(src), "-o", str(out)]
    else:
        cmd = ["gcc", *CFLAGS, str(src), "-o", str(out), f"-L{LIB_DIR}", "-lusdaa",
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


def run(cmd: list[str], env: dict[str, str], cwd: Path | None = None,
        timeout: float = 300) -> dict[str, float]:
    """Run a benchmark program; its RESULT lines as {key: value}."""
    proc = run_raw(cmd, env, cwd, timeout)
    results: dict[str, float] = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "RESULT":
            try:
                results[parts[1]] = float(parts[2])
            except ValueError as exc:
                raise BenchError(f"{cmd[0]}: bad result line {line!r}") from exc
    if not results:
        raise BenchError(f"{' '.join(cmd)} printed no results")
    return results
