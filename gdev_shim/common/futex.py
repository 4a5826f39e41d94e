"""Futex waits and wakes on 32-bit words of shared memory (Linux).

The card and its host side meet in shared pages: the host rings a channel's doorbell
by writing a register, the card bumps a wake counter when a fence lands.  A futex
lets either side sleep on such a word until the other changes it, across threads or
processes, with no polling and no lost wake-up: the kernel compares the word with
the value the sleeper last saw before it sleeps.  The words are in MAP_SHARED pages,
so the operations are the process-shared (non-private) ones.
"""
from __future__ import annotations

import ctypes
import errno
import os
import platform
from typing import Any

_SYS_FUTEX = {"x86_64": 202, "aarch64": 98, "ppc64le": 221, "s390x": 238}.get(platform.machine())
FUTEX_WAIT, FUTEX_WAKE = 0, 1
WAKE_ALL = 0x7FFF_FFFF


def _compiled() -> Any:
    """The compiled calls (gdev_shim._futex, built with the header modules), or None where
    they are not built: ctypes then, microseconds slower per call."""
    try:
        from .._futex import lib
    except ImportError:
        return None
    return lib


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


_libc = ctypes.CDLL(None, use_errno=True)
# A second handle on syscall(2) with fixed argument types: ctypes converts plain ints at C
# speed then, and a doorbell is rung for every command a host submits.
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long
_syscall.argtypes = [ctypes.c_long, ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32,
                     ctypes.POINTER(_Timespec), ctypes.c_void_p, ctypes.c_int]


def _call(address: int, op: int, value: int, timeout: _Timespec | None) -> int:
    if _SYS_FUTEX is None:
        raise OSError(errno.ENOSYS, f"futex on {platform.machine()}")
    return int(_syscall(_SYS_FUTEX, address, op, value & 0xFFFF_FFFF, timeout, None, 0))


def _ctypes_wait(address: int, expected: int, timeout_s: float | None = None) -> bool:
    timeout = None
    if timeout_s is not None:
        timeout_s = max(timeout_s, 0.0)
        timeout = _Timespec(int(timeout_s), int((timeout_s % 1) * 1e9))
    if _call(address, FUTEX_WAIT, expected, timeout) == 0:
        return True
    return ctypes.get_errno() != errno.ETIMEDOUT


def _ctypes_wake(address: int, count: int = WAKE_ALL) -> None:
    _call(address, FUTEX_WAKE, count, None)


_lib = _compiled()
_ETIMEDOUT = -errno.ETIMEDOUT


def wait(address: int, expected: int, timeout_s: float | None = None) -> bool:
    """Sleep while the u32 at `address` holds `expected`: False only when the timeout passed.

    Returns True at once when the word already differs, on a wake, and on a signal
    (callers re-check their condition in a loop either way).
    """
    if _lib is None:
        return _ctypes_wait(address, expected, timeout_s)
    timeout_ns = -1 if timeout_s is None else int(max(timeout_s, 0.0) * 1e9)
    return bool(_lib.gdev_futex_wait(address, expected & 0xFFFF_FFFF, timeout_ns) != _ETIMEDOUT)


def wake(address: int, count: int = WAKE_ALL) -> None:
    """Wake up to `count` sleepers on the u32 at `address`."""
    if _lib is None:
        _ctypes_wake(address, count)
    else:
        _lib.gdev_futex_wake(address, count)


# The spins' compiled calls; None also where the module was built before they existed (a
# checkout updated without a rebuild): such a process sleeps at once, as before.
_spin_lib = _lib if _lib is not None and hasattr(_lib, "gdev_spin_u64_reached") else None
# Spinning helps only while the other side runs on another CPU.
SPIN = _spin_lib is not None and len(os.sched_getaffinity(0)) > 1
# spin_reached and spin_changed: what the spin saw
REACHED, TIMED_OUT, SHARED_CPU = 1, 0, -1


def spin_reached(address: int, target: int, spin_ns: int, mine: int, theirs: int) -> int:
    """Spin at most `spin_ns` (holding the CPU, not the interpreter lock) until the u64 at
    `address` is at least `target`: REACHED or TIMED_OUT.  1 + this thread's CPU is
    stored first in the u32 at `mine`; when the u32 at `theirs` (the other side's) holds
    the same, SHARED_CPU at once: spinning would only delay the other side.  TIMED_OUT
    at once where the compiled module is missing (a spin in Python would hold the
    interpreter lock)."""
    if _spin_lib is None:
        return TIMED_OUT
    return int(_spin_lib.gdev_spin_u64_reached(address, target, spin_ns, mine, theirs))


def spin_changed(address: int, expected: int, spin_ns: int, mine: int, theirs: int) -> int:
    """Spin at most `spin_ns` while the u32 at `address` holds `expected`: REACHED once it
    differs, TIMED_OUT, or SHARED_CPU (as spin_reached)."""
    if _spin_lib is None:
        return TIMED_OUT
    return int(_spin_lib.gdev_spin_u32_changed(address, expected & 0xFFFF_FFFF, spin_ns, mine, theirs))


def cpu() -> int:
    """The CPU the calling thread runs on (-1 where unknown)."""
    return -1 if _spin_lib is None else int(_spin_lib.sched_getcpu())


def leave_cpu() -> bool:
    """Move the calling thread off the CPU it runs on onto another it may run on, leaving
    its affinity as it was (the scheduler may bring it back later): whether it could."""
    if _spin_lib is None:
        return False
    here = cpu()
    allowed = os.sched_getaffinity(0)
    others = allowed - {here}
    if not others or here not in allowed:
        return False
    os.sched_setaffinity(0, others)       # 0: this thread; it migrates at once
    os.sched_setaffinity(0, allowed)
    return True
