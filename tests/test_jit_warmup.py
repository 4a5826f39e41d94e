"""The compiler's warm-up: the exit guard's main-thread hold (common/exitguard.py), the
access library's order of builds (jit/accesslib.py) and the simulated transport starting
the warm-up before any card exists (card/warmup.py)."""
from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

pytest.importorskip("llvmlite")

from gdev_shim.common import exitguard  # noqa: E402
from gdev_shim.jit import accesslib  # noqa: E402
from helpers import ROOT  # noqa: E402

_EXIT = """
import ctypes, os, sys, threading
from gdev_shim.common import exitguard
guard = exitguard.guard()
if sys.argv[1] == "held":
    assert guard.hold_at_main_thread_exit()
libc = ctypes.CDLL(None)
holding = threading.Event()

def job():
    guard.hold()
    holding.set()
    libc.usleep(300000)             # inside the guard, as a background LLVM job is
    os.write(1, b"job done\\n")
    guard.__exit__()

threading.Thread(target=job, daemon=True).start()
holding.wait()
os.write(1, b"exiting\\n")
libc.exit(0)                        # as a C program's main returns: no Python exit handlers
"""


@pytest.mark.parametrize("mode, want", [("held", "exiting\njob done\n"), ("not held", "exiting\n")])
def test_the_main_threads_exit_waits_for_the_job_holding_the_guard(mode: str, want: str) -> None:
    """With the main thread's hold in place, exit() waits for a job inside the guard before
    any exit handler runs (so before LLVM's, whenever they were registered); without it the
    process ends under the job."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GDEV_")}
    proc = subprocess.run([sys.executable, "-c", _EXIT, mode], env=env, capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout == want


def test_only_the_main_thread_holds_the_guard_at_its_exit() -> None:
    """Another thread's destructor would lock the guard when that thread ends, for good."""
    got: list[bool] = []
    guard = exitguard.ExitGuard()
    thread = threading.Thread(target=lambda: got.append(guard.hold_at_main_thread_exit()))
    thread.start()
    thread.join()
    assert got == [False]
    assert guard.hold() == 0            # no exit handler took it
    guard.__exit__()


@pytest.fixture
def library(monkeypatch: pytest.MonkeyPatch) -> None:
    """An access library with nothing built or asked for."""
    monkeypatch.setattr(accesslib, "_builds", {})
    monkeypatch.setattr(accesslib, "_queue", [])
    monkeypatch.setattr(accesslib, "_wanted", set())
    monkeypatch.setattr(accesslib, "_loading", 0)
    monkeypatch.setattr(accesslib, "_runner", None)


def _symbol(shape: accesslib.Shape) -> str:
    return accesslib._symbol_of(shape)


@pytest.mark.usefixtures("library")
def test_a_compilations_shapes_go_first_and_the_warm_ups_wait_for_it() -> None:
    """The warm-up's shapes are built one per job step while nothing compiles; a quick
    compilation's go ahead of them, and the rest wait until it has ended and they are
    handed on (to the queue that waits for first launches)."""
    jobs: list = []
    later: list = []
    built: list[list[accesslib.Shape]] = []
    warm = [shape for group in accesslib.COMMON for shape in sorted(group)]
    for group in accesslib.COMMON:
        accesslib.request(set(group), jobs.append, built.append, warm=True)
    assert len(warm) == 8 and [s for s, _ in accesslib._queue] == warm
    rows = sorted(accesslib.COMMON[1])[:2]
    with accesslib.compiling():
        accesslib.request(set(rows), jobs.append, built.append)
        assert accesslib.symbol(_symbol(rows[0])[len(accesslib.PREFIX):]) == _symbol(rows[0])
        jobs[0]()                       # the warm-up's first job, run now: the compilation's only
        assert built == [rows]
        for job in jobs[1:]:
            job()
        assert built == [rows]
        accesslib.resume(later.append)  # not while it compiles
        assert later == []
    accesslib.resume(later.append)
    assert len(later) == 1
    later[0]()
    assert built == [rows] + [[s] for s in warm if s not in rows]
    assert all(accesslib._builds[_symbol(s)].result() for s in warm)


@pytest.mark.usefixtures("library")
def test_waiting_for_a_warm_up_shape_builds_it_now() -> None:
    """IR may call a warm-up shape its compilation did not ask for: waiting for it
    (`available`) moves it ahead, even while the compilation holds the rest back."""
    built: list[list[accesslib.Shape]] = []
    accesslib.request(set(accesslib.COMMON[0]), lambda job: None, built.append, warm=True)
    shape = sorted(accesslib.COMMON[0])[-1]
    with accesslib.compiling():
        accesslib.request(set(), lambda job: job(), built.append)
        assert accesslib.available({_symbol(shape)})
    assert built == [[shape]]


@pytest.mark.usefixtures("library")
def test_a_failed_build_fails_only_its_shapes() -> None:
    built: list[list[accesslib.Shape]] = []

    def builder(shapes: list[accesslib.Shape]) -> None:
        if shapes[0][1] == accesslib.abi.SHARED_SP:
            raise RuntimeError("no code")
        built.append(shapes)
    accesslib.request(set(accesslib.COMMON[0]), lambda job: job(), builder, warm=True)
    done = {shape: accesslib._builds[_symbol(shape)].result() for shape in accesslib.COMMON[0]}
    assert done == {shape: shape[1] == accesslib.abi.GLOBAL for shape in accesslib.COMMON[0]}
    assert accesslib.symbol(_symbol(accesslib.COMMON[0][2])[len(accesslib.PREFIX):]) is None


_TRANSPORT = """
import sys
from gdev_shim.aidev.sim import SimTransport
from gdev_shim.card import warmup
SimTransport()
warmup.wait()
print("gdev_shim.card.card" in sys.modules, "gdev_shim.jit.codegen" in sys.modules)
"""


@pytest.mark.parametrize("engine_setting, want", [("auto", "False True"), ("interp", "False False")])
def test_the_simulated_transport_starts_the_compiler_before_any_card(engine_setting: str, want: str) -> None:
    """The in-process transport starts the warm-up when it is made (at the first device
    count), before a card (and its package) exists; not for the interpreter engine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GDEV_")}
    proc = subprocess.run([sys.executable, "-c", _TRANSPORT], env={**env, "GDEV_ENGINE": engine_setting},
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == want


def test_the_warm_up_starts_llvm_under_the_exit_guard(monkeypatch) -> None:
    """LLVM's start registers passes in tables the program's exit destroys: the warm-up
    holds the exit guard meanwhile, so an exit waits for it (a forked program once
    aborted at exit in LLVM's pass registry while the warm-up started LLVM)."""
    import errno

    from gdev_shim.card import warmup
    from gdev_shim.jit import engine
    seen: list[int] = []

    def record(build: bool) -> None:
        rc = exitguard.guard().hold()       # this thread's second lock: EDEADLK if it holds it
        seen.append(rc)
        if rc == 0:
            exitguard.guard().__exit__()

    monkeypatch.setattr(engine, "warm_up", record)
    warmup._warm_up(False)
    assert seen == [errno.EDEADLK]
    assert exitguard.guard().hold() == 0    # and released after it
    exitguard.guard().__exit__()
