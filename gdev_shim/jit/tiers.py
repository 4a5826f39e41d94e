"""The optimised tier's background thread, and what keeps it out of the way of process exit.

A kernel's first code is the quick tier (compiled on the loading thread, `engine.py`);
its optimised code is built here, one kernel at a time, on one daemon thread, and swapped
in by the job itself.  The thread spends most of a job inside LLVM with the interpreter
lock released, so it runs alongside the program's launches.

Exit.  LLVM's static destructors run from the C library's exit handlers, and the
interpreter is never finalized in a C program (its Python exit handlers run from a C exit
handler registered before llvmlite was loaded, so they run *after* LLVM's destructors).
A job still inside LLVM at that point would use freed globals.  So every job runs holding
`_ExitGuard`'s mutex, and a C exit handler that locks it (and never unlocks it) is
registered with `__cxa_atexit` after LLVM has started - again before and after each job
and after each compilation on a loading thread (`follow_llvm`), so it also follows
whatever LLVM registered lazily since: exit waits for a job in flight
(at most one kernel's optimisation) and no job starts after it.  The handler is
`pthread_mutex_lock` itself, with the mutex as its argument: it calls no Python, so it is
safe in a Python host whose interpreter is already finalized.  The mutex is robust (a
daemon thread that a finalizing interpreter ends while holding it does not block exit)
and error-checking (the second and later registrations of the handler return at once).
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
import ctypes
import errno
import os
import threading
import time
from collections.abc import Callable

from .. import log

_log = log.get("gdev.jit")

_MUTEX_BYTES = 64        # >= sizeof(pthread_mutex_t) (40 on x86-64 glibc)
_ATTR_BYTES = 16         # >= sizeof(pthread_mutexattr_t)
_PTHREAD_MUTEX_ERRORCHECK = 2
_PTHREAD_MUTEX_ROBUST = 1


class _ExitGuard:
    """A process-lifetime pthread mutex that C exit handlers lock and never unlock."""

    def __init__(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        self._libc = libc
        libc.calloc.restype = ctypes.c_void_p
        libc.calloc.argtypes = [ctypes.c_size_t, ctypes.c_size_t]
        for name in ("pthread_mutex_lock", "pthread_mutex_unlock", "pthread_mutex_consistent"):
            getattr(libc, name).argtypes = [ctypes.c_void_p]
        # (getattr: a dunder name written in a class body would be name-mangled)
        self._cxa_atexit = getattr(libc, "__cxa_atexit")
        self._cxa_atexit.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        # malloc'd and never freed: the exit handler uses it after Python's objects are gone
        self.mutex = libc.calloc(1, _MUTEX_BYTES)
        self._handler = ctypes.cast(libc.pthread_mutex_lock, ctypes.c_void_p).value
        self._init()
        os.register_at_fork(after_in_child=self._init)

    def _init(self) -> None:
        """(Re)initialise the mutex: at start, and in a forked child, where it may be
        held by a thread that does not exist there."""
        libc = self._libc
        attr = ctypes.create_string_buffer(_ATTR_BYTES)
        libc.pthread_mutexattr_init(attr)
        libc.pthread_mutexattr_settype(attr, _PTHREAD_MUTEX_ERRORCHECK)
        libc.pthread_mutexattr_setrobust(attr, _PTHREAD_MUTEX_ROBUST)
        ctypes.memset(self.mutex, 0, _MUTEX_BYTES)
        libc.pthread_mutex_init(ctypes.c_void_p(self.mutex), attr)
        libc.pthread_mutexattr_destroy(attr)

    def register(self) -> None:
        """Add the exit handler (again): it runs before every exit handler registered earlier."""
        if self._cxa_atexit(self._handler, self.mutex, None) != 0:
            _log.debug("cannot register the JIT's exit handler")

    def __enter__(self) -> None:
        rc = self.hold()
        if rc != 0:
            raise OSError(rc, "pthread_mutex_lock")

    def hold(self) -> int:
        """Lock (ctypes releases the GIL meanwhile); 0, or the error (EDEADLK: this thread
        holds it already, as the C exit handler's thread does)."""
        rc = self._libc.pthread_mutex_lock(self.mutex)
        if rc == errno.EOWNERDEAD:
            self._libc.pthread_mutex_consistent(self.mutex)
            rc = 0
        return rc

    def __exit__(self, *_exc: object) -> None:
        self._libc.pthread_mutex_unlock(self.mutex)


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
        self._guard: _ExitGuard | None = None
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
                    self._guard = _ExitGuard()
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
