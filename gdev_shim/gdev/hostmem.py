"""numpy views of host memory given by address (what the C caller passed)."""
from __future__ import annotations

import numpy as np

from ..common.contract import ffi


def view(addr: int, size: int) -> np.ndarray:
    """A writable uint8 view of `size` bytes at host address `addr` (no copy)."""
    if size == 0:
        return np.empty(0, np.uint8)
    return np.frombuffer(ffi.buffer(ffi.cast("uint8_t *", addr), size), dtype=np.uint8)


def cstring(addr: int, limit: int = 1 << 30) -> bytes:
    """The NUL-terminated bytes at addr (without the NUL)."""
    return ffi.string(ffi.cast("char *", addr), limit)
