"""numpy views of host memory given by address (what the C caller passed)."""
from __future__ import annotations

import mmap
import os
from typing import TYPE_CHECKING

from ..common.contract import ffi

if TYPE_CHECKING:
    import numpy as np

PAGE = mmap.PAGESIZE


def view(addr: int, size: int) -> np.ndarray:
    """A writable uint8 view of `size` bytes at host address `addr` (no copy)."""
    import numpy as np                 # with the first copy, not at import
    if size == 0:
        return np.empty(0, np.uint8)
    return np.frombuffer(ffi.buffer(ffi.cast("uint8_t *", addr), size), dtype=np.uint8)


def cstring(addr: int, limit: int = 1 << 30) -> bytes:
    """The NUL-terminated bytes at addr (without the NUL)."""
    return ffi.string(ffi.cast("char *", addr), limit)


def read_checked(addr: int, size: int) -> bytes | None:
    """A copy of `size` bytes at `addr`, or None if any of them is not readable.

    Reads through /proc/self/mem, where an unmapped address is an error
    instead of a fault, for data whose length the caller only claims (a code
    object sized by its own header).  Opened per call: a descriptor kept from
    before a fork would read the parent's memory.
    """
    if size == 0:
        return b""
    if addr <= 0 or addr + size > 1 << 63:
        return None
    try:
        fd = os.open("/proc/self/mem", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return bytes(view(addr, size))           # no procfs: trust the caller as C would
    try:
        chunks, done = [], 0
        while done < size:
            chunk = os.pread(fd, min(size - done, 1 << 26), addr + done)
            if not chunk:
                return None
            chunks.append(chunk)
            done += len(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def cstring_checked(addr: int, limit: int = 1 << 30) -> bytes | None:
    """The NUL-terminated bytes at addr (without the NUL), or None if memory ends first."""
    out = bytearray()
    while len(out) < limit:
        # page by page, so a read never reaches past the page holding the terminator
        step = PAGE - (addr + len(out)) % PAGE
        chunk = read_checked(addr + len(out), step)
        if chunk is None:
            return None
        nul = chunk.find(b"\0")
        if nul >= 0:
            return bytes(out + chunk[:nul])
        out += chunk
    return None
