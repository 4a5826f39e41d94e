"""The process's exit guard: a pthread mutex that background LLVM work holds and exit locks.

LLVM's static destructors run from the C library's exit handlers; a thread still inside
LLVM when they run uses freed globals.  So the JIT's background thread works holding this
mutex (`jit/tiers.py`), and exit locks it and never unlocks it: exit waits for the job in
flight, and no job starts after it.  Exit locks it from two kinds of handler:

- a C exit handler, `pthread_mutex_lock` itself with the mutex as its argument
  (`register`, with `__cxa_atexit`): exit handlers run newest first, so it must be
  registered after LLVM's own, and again after any LLVM registers lazily (the first use of
  a function-local static: measured, a process's first code generation registers about a
  dozen, starting LLVM none);
- a destructor of the main thread's thread-local storage (`hold_at_main_thread_exit`, with
  `__cxa_thread_atexit_impl`): `exit` runs those before every exit handler, whenever they
  were registered, so it covers LLVM work started before the program could exit at all
  (the compiler's warm-up, `card/warmup.py`, builds code while the program goes on).  Only
  the main thread's: another thread's would run when that thread ends, locking the mutex
  for good while the process goes on.

Both call no Python, so they are safe in a Python host whose interpreter is already
finalized.  The mutex is robust (a daemon thread that a finalizing interpreter ends while
holding it does not block exit) and error-checking (the second and later locks by the
exiting thread return at once).  This module is not the JIT's: a card registers the
main thread's destructor when it starts the warm-up, before anything of `jit/` is imported.
"""
from __future__ import annotations

import ctypes
import errno
import os
import threading

from .. import log

_log = log.get("gdev.jit")

_MUTEX_BYTES = 64        # >= sizeof(pthread_mutex_t) (40 on x86-64 glibc)
_ATTR_BYTES = 16         # >= sizeof(pthread_mutexattr_t)
_PTHREAD_MUTEX_ERRORCHECK = 2
_PTHREAD_MUTEX_ROBUST = 1


class ExitGuard:
    """A process-lifetime pthread mutex that exit handlers lock and never unlock."""

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
        self._thread_atexit = getattr(libc, "__cxa_thread_atexit_impl", None)
        if self._thread_atexit is not None:
            self._thread_atexit.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        self._main_held = False
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

    def hold_at_main_thread_exit(self) -> bool:
        """On the process's main thread (once): have its exit lock the mutex before any exit
        handler runs.  Whether that is in place (False on another thread, or without the
        C library's thread-local destructors)."""
        if self._main_held:
            return True
        if threading.get_native_id() != os.getpid() or self._thread_atexit is None:
            return False
        # the third argument names the object whose unloading the destructor pins: the C
        # library's, which owns the handler (with NULL glibc dereferences no object)
        if self._thread_atexit(self._handler, self.mutex, self._handler) != 0:
            _log.debug("cannot register the JIT's thread exit handler")
            return False
        self._main_held = True
        return True

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


_lock = threading.Lock()
_guard: ExitGuard | None = None


def guard() -> ExitGuard:
    """The process's exit guard, made on first use."""
    global _guard
    with _lock:
        if _guard is None:
            _guard = ExitGuard()
        return _guard
