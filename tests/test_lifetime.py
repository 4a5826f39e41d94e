"""How programs end and fork: c_tests/fuzz/lifetime.c, built here against the real libraries.

Programs that never free, that return with work in flight, that fork after
using the library (the child gets documented errors, the parent keeps working)
or before it (both work), and that call from threads created before first use.
"""
from __future__ import annotations

import subprocess
import time

import pytest

from helpers import ENV, ROOT, needs_build

SOURCE = ROOT / "c_tests" / "fuzz" / "lifetime.c"
KERNELS = ROOT / "build" / "kernels"


@pytest.fixture(scope="module")
def program(tmp_path_factory) -> str:
    exe = tmp_path_factory.mktemp("lifetime") / "lifetime"
    lib = ROOT / "build" / "lib"
    subprocess.run(["gcc", "-O2", "-Wall", "-Wextra", "-Werror", f"-I{ROOT / 'include'}",
                    f"-I{ROOT / 'c_tests' / 'common'}", "-pthread",
                    str(SOURCE), "-o", str(exe), f"-L{lib}", "-lusdaa", "-lgdev", f"-Wl,-rpath,{lib}"],
                   check=True)
    return str(exe)


def run(program: str, mode: str) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    proc = subprocess.run([program, mode, str(KERNELS / "add_test.cubin"), str(KERNELS / "busy.cubin")],
                          env={**ENV, "GDEV_LOG": "error"}, capture_output=True, text=True, timeout=120)
    return proc, time.monotonic() - start


@needs_build
@pytest.mark.parametrize("mode,passes", [
    ("leak", 1), ("inflight", 1), ("fork-used", 2), ("fork-busy", 2), ("fork-fresh", 2), ("threads", 1),
])
def test_program_ends_cleanly(program, mode, passes):
    proc, took = run(program, mode)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    assert proc.stdout.count("Test passed") == passes      # the child's verdict too, for the forks
    assert "Test failed" not in proc.stdout
    assert took < 60
    assert "internal error" not in proc.stderr


@pytest.mark.skipif(not (ROOT / "build" / "kernels" / "busy.cubin").exists(), reason="needs make all")
def test_exit_with_work_in_flight_does_not_wait_for_the_sync_timeout(program):
    # GDEV_SYNC_TIMEOUT_MS is 10 minutes by default: an exit that waited for the card's
    # threads or fences would show here as a long run
    proc, took = run(program, "inflight")
    assert proc.returncode == 0 and took < 30
