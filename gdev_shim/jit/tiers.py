"""The optimised tier's background thread, and what keeps it out of the way of process exit.

A kernel's first code is the quick tier (compiled on the loading thread, `engine.py`);
its optimised code is built here, one kernel at a time, on one daemon thread, and swapped
in by the job itself.  The thread spends most of a job inside LLVM with the interpreter
lock released, so it runs alongside the program's launches.

Exit.  LLVM's static destructors run from the C library's exit handlers, and the
interpreter is never finalized in a C program (its Python exit handlers run from a C exit
handler registered before llvmlite was loaded, so they run *after* LLVM's destructors).
A job still inside LLVM at that point would use freed globals.  So every job runs holding
the process's exit guard (`common/exitguard.py`), whose mutex exit locks and never
unlocks: from a C exit handler registered after LLVM has started - again before and after
each job and after each compilation on a loading thread (`follow_llvm`), so it also
follows whatever LLVM registered lazily since - and, where a card started the compiler's
warm-up on the main thread, from that thread's exit, before any exit handler.  Exit waits
for a job in flight (at most one kernel's optimisation) and no job starts after it.
In a Python program the interpreter is finalized first, and a daemon thread that wants
the interpreter lock back from then on is ended by unwinding its stack, which crashed
(in libgcc's unwinder) when it was the optimiser's, back from LLVM.  So a Python exit
handler (`atexit`) takes the mutex too, waiting for the job in flight, and the thread
then parks on the mutex, outside Python, for good.

First launches.  A kernel's optimisation waits (`Gate`) until its first launch has ended:
on two cores, the optimiser's work beside a first launch of quick code took a core from
it (a 16x16 tiled matmul's first launch: 57 ms alone, 90-180 ms beside the optimiser).  A
first launch that runs longer than HOLD_S, or no launch within HOLD_S of the quick code
being ready, opens the gate too, so a long launch still moves to the optimised code
midway and a kernel loaded long before its launch is optimised meanwhile.  Jobs without a
gate (the quick tier's access library, which a loading thread waits for) go first.
"""
from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Callable

from .. import log
from ..common.exitguard import ExitGuard, guard

_log = log.get("gdev.jit")

Job = Callable[[], None]
# How long a kernel's optimisation waits for its first launch to start, and then to end.
HOLD_S = 0.25
# How long Python's exit waits for the thread to park once the job in flight has ended.
PARK_WAIT_S = 5.0


class Gate:
    """When a kernel's optimisation may start: once its first launch has ended, HOLD_S into
    that launch, or HOLD_S after the gate was made (its quick code ready) if no launch came."""

    def __init__(self, poke: Callable[[], None]) -> None:
        self.open = False
        self._since = time.monotonic()
        self._watched = False
        self._poke = poke

    def watch(self) -> bool:
        """A launch of the kernel starts: True for the one launch to report its end
        (`ended`), the first while the gate is shut."""
        if self.open or self._watched:
            return False
        self._watched = True
        self._since = time.monotonic()
        self._poke()
        return True

    def ended(self) -> None:
        self.open = True
        self._poke()

    def left(self, now: float) -> float:
        """Seconds until the gate opens by itself (0 or less: open)."""
        return 0.0 if self.open else self._since + HOLD_S - now


class Optimiser:
    """One daemon thread running optimisation jobs, each under the exit guard: jobs without
    a gate in order, then those whose gate has opened, in order."""

    def __init__(self) -> None:
        self._jobs: list[tuple[Job, Gate | None]] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._guard: ExitGuard | None = None
        self._pending = 0
        self._hurry = 0
        self._idle = threading.Condition(self._lock)
        self._closing = False
        self._parked = threading.Event()

    def gate(self) -> Gate:
        """A gate for a job to submit: its kernel's quick code is ready now."""
        return Gate(self._poke)

    def submit(self, job: Job, gate: Gate | None = None) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                if self._guard is None:
                    self._guard = guard()
                    atexit.register(self._close)
                self._guard.register()
                self._thread = threading.Thread(target=self._run, name="gdev-jit-optimiser", daemon=True)
                self._thread.start()
            self._pending += 1
            self._jobs.append((job, gate))
            self._changed.notify_all()

    def _poke(self) -> None:
        with self._lock:
            self._changed.notify_all()

    def _next(self) -> Job | None:
        """The next job to run, waiting for one to be submitted or for a gate to open;
        None once the process exits."""
        with self._lock:
            while True:
                if self._closing:
                    return None
                now, wait = time.monotonic(), None
                for gated in (False, True):
                    for i, (job, gate) in enumerate(self._jobs):
                        if (gate is not None) != gated:
                            continue
                        left = 0.0 if gate is None or self._hurry else gate.left(now)
                        if left <= 0:
                            del self._jobs[i]
                            return job
                        wait = left if wait is None else min(wait, left)
                self._changed.wait(wait)

    def follow_llvm(self) -> None:
        """Register the exit handler again after a compilation on another thread: LLVM
        registers exit handlers of its own the first time its code reaches them (function-
        local statics), and exit must wait for a job before those run."""
        with self._lock:
            guard = self._guard
        if guard is not None:
            guard.register()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until every submitted job has finished (tests, and `GDEV_JIT_TIER` changes);
        the jobs waiting for a gate meanwhile run as soon as they can."""
        with self._idle:
            self._hurry += 1
            self._changed.notify_all()
            try:
                return self._idle.wait_for(lambda: self._pending == 0, timeout)
            finally:
                self._hurry -= 1

    def _close(self) -> None:
        """Python's exit: wait for the job in flight and for the thread to park."""
        with self._lock:
            self._closing = True
            self._changed.notify_all()
            thread, guard = self._thread, self._guard
        if thread is None or guard is None or not thread.is_alive():
            return
        guard.hold()
        self._parked.wait(PARK_WAIT_S)

    def _run(self) -> None:
        assert self._guard is not None
        while True:
            job = self._next()
            if job is None:
                self._parked.set()
                self._guard.hold()      # held by the exiting thread for good: never returns
                return
            # again before the job: code generation on other threads since the last job
            # may have registered exit handlers of LLVM's (function-local statics)
            self._guard.register()
            try:
                with self._guard:
                    try:
                        job()
                    finally:
                        del job         # what it held (a replaced quick tier) goes now, in the guard
            except Exception as exc:    # the quick tier stays: it is correct, only slower
                _log.debug("optimised tier not built: %s", exc)
            self._guard.register()
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()
