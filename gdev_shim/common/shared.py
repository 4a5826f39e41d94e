"""Turning private pages of this process into shared ones, in place.

Another process (the card daemon) can map a memfd but not this process's anonymous
memory.  To share memory the program already uses (cudaHostRegister), its pages are
copied into a memfd which is then mapped over the very same addresses: the program's
pointers and data stay as they were, and the pages are now shareable.
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import mmap
import os

_libc = ctypes.CDLL(None, use_errno=True)
_mmap = _libc.mmap
_mmap.restype = ctypes.c_void_p
_mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
MAP_FIXED = 0x10


def replace_with_memfd(start: int, length: int) -> int:
    """A memfd now mapped at [start, start + length) with the bytes that were there.

    `start` and `length` are page-aligned.  OSError (EFAULT) when part of the range is
    not mapped memory; the range is then left as it was.
    """
    if start % mmap.PAGESIZE or length <= 0 or length % mmap.PAGESIZE:
        raise OSError(errno.EINVAL, f"{start:#x}+{length:#x} is not a page-aligned range")
    with open("/proc/self/mem", "rb", buffering=0) as memory:
        try:
            contents = os.pread(memory.fileno(), length, start)   # fails, not faults, on holes
        except OSError as exc:
            raise OSError(errno.EFAULT, f"{start:#x}+{length:#x} is not mapped memory") from exc
    if len(contents) != length:
        raise OSError(errno.EFAULT, f"{start:#x}+{length:#x} is not all mapped memory")
    fd = os.memfd_create("aicard-userptr", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    try:
        os.pwrite(fd, contents, 0)
        # the card daemon maps only memfds that cannot shrink under it (see its PAGES)
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK)
        placed = _mmap(start, length, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED | MAP_FIXED, fd, 0)
        if placed != start:
            raise OSError(ctypes.get_errno() or errno.ENOMEM, f"cannot map shared pages at {start:#x}")
    except OSError:
        os.close(fd)
        raise
    return fd
