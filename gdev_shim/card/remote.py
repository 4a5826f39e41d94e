"""Copies between the card's memory (mapped in this process) and another process's memory.

process_vm_readv/process_vm_writev move the bytes in one copy, as a driver's
copy_from_user does: the kernel checks the other process's addresses, so a bad
one is an error (EFAULT), never a fault in this process.
"""
from __future__ import annotations

import ctypes
import errno
import os
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from .. import log
from .errors import CardError
from .memory import memory_fault
from .sched import EngineAbandoned
from .swap import Cancelled

if TYPE_CHECKING:
    from .card import Card
    from .sched import VirtualGpu
    from .space import AddressSpace
    from .swap import SwapClient

_log = log.get("gdev.card")

# process_vm_* move at most this much per call (the kernel caps one call near 2 GiB)
_STEP = 1 << 30


class _Iovec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


_libc = ctypes.CDLL(None, use_errno=True)
_CALLS = {False: getattr(_libc, "process_vm_readv", None), True: getattr(_libc, "process_vm_writev", None)}
for _fn in _CALLS.values():
    if _fn is not None:
        _fn.argtypes = [ctypes.c_int, ctypes.POINTER(_Iovec), ctypes.c_ulong,
                        ctypes.POINTER(_Iovec), ctypes.c_ulong, ctypes.c_ulong]
        _fn.restype = ctypes.c_ssize_t

# Tests set this to behave as a system that refuses process_vm_* (seccomp, Yama).
REFUSE_ENV = "GDEV_CARDD_NO_REMOTE_COPY"


def transfer(pid: int, local: np.ndarray, remote_addr: int, to_remote: bool) -> None:
    """Copy all of `local` (a contiguous uint8 view) from (or, `to_remote`, to) process
    `pid` at `remote_addr`.  Raises OSError: EFAULT for a range not wholly that process's
    memory (a short copy), EPERM/ESRCH/ENOSYS where the system refuses."""
    call = _CALLS[to_remote]
    if call is None or os.environ.get(REFUSE_ENV):
        raise OSError(errno.ENOSYS, "process_vm_readv/writev unavailable")
    base, size, done = int(local.ctypes.data), local.nbytes, 0
    while done < size:
        n = min(_STEP, size - done)
        here, there = _Iovec(base + done, n), _Iovec(remote_addr + done, n)
        got = call(pid, ctypes.byref(here), 1, ctypes.byref(there), 1, 0)
        if got < 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))
        if got == 0:                    # a short count: the rest is not that process's memory
            raise OSError(errno.EFAULT, f"{size - done} bytes at {remote_addr + done:#x} unreachable")
        done += got


def copy_with_client(card: Card, space: AddressSpace, swap: SwapClient, vgpu: VirtualGpu, pid: int,
                     arg: Any, stopped: Callable[[], bool]) -> None:
    """HOST_COPY of one open (`arg` a struct aidev_host_copy *): the client's buffers resident
    and the copy engine held, as for a MEMCPY command.  CardError on any failure."""
    to_host = bool(arg.flags & 1)
    try:
        with card.buffers.residency.hold(swap, stopped), card.dma.hold(vgpu, stopped):
            target = space.span(arg.addr, arg.size)
            transfer(pid, target, arg.host_addr, to_host)
            if not to_host and space.observer is not None:
                space.observer.on_write(arg.addr, arg.size)
    except (Cancelled, EngineAbandoned) as exc:
        raise CardError(errno.ECANCELED, "HOST_COPY: the open is closing") from exc
    except memory_fault() as exc:
        raise CardError(errno.EINVAL, f"HOST_COPY: device range {arg.addr:#x}+{arg.size:#x}: {exc}") from exc
    except OSError as exc:
        code = exc.errno or errno.EIO
        _log.debug("aicard%d HOST_COPY with pid %d at %#x+%#x: %s", card.index, pid, arg.host_addr,
                   arg.size, exc)
        raise CardError(code, f"HOST_COPY with pid {pid}: {exc}") from exc
