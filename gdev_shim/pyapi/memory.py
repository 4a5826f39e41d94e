"""Device memory: an allocation on one card, filled from and read into numpy arrays."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..driver import memory as drv_mem, stream as drv_stream
from .calls import api

if TYPE_CHECKING:
    from .device import Device
    from .stream import Stream


def _stream(stream: "Stream | None") -> drv_stream.Stream | None:
    return None if stream is None else stream._live()


class DeviceMemory:
    """`size` bytes of device memory at device address `addr` (owned: freed by free()/exit)."""

    def __init__(self, device: "Device", addr: int, size: int, owned: bool = True) -> None:
        self.device = device
        self.addr = addr
        self.size = size
        self._owned = owned
        self._freed = False

    def __repr__(self) -> str:
        return f"<DeviceMemory {self.size} bytes at {self.addr:#x} on card {self.device.index}>"

    def __int__(self) -> int:
        return self.addr

    def __len__(self) -> int:
        return self.size

    def _range(self, offset: int, nbytes: int) -> int:
        if self._freed:
            raise ValueError("device memory was freed")
        if offset < 0 or nbytes < 0 or offset + nbytes > self.size:
            raise ValueError(f"{nbytes} bytes at offset {offset} do not fit {self.size} bytes")
        return self.addr + offset

    @api
    def copy_from(self, source: Any, offset: int = 0, stream: "Stream | None" = None) -> None:
        """Copy a numpy array (or bytes) to the device; with a stream, ordered on it.

        The host data may be changed as soon as this returns."""
        host = np.ascontiguousarray(source if not isinstance(source, (bytes, bytearray)) else
                                    np.frombuffer(source, np.uint8))
        dst = self._range(offset, host.nbytes)
        drv_stream.copy_htod(_stream(stream), dst, int(host.ctypes.data), host.nbytes, sync=stream is None)

    @api
    def to_numpy(self, dtype: Any = np.uint8, shape: int | tuple[int, ...] | None = None, offset: int = 0,
                 stream: "Stream | None" = None) -> np.ndarray:
        """The memory's bytes as a new numpy array (the whole rest from offset unless shape says)."""
        dtype = np.dtype(dtype)
        if shape is None:
            shape = ((self.size - offset) // dtype.itemsize,)
        out = np.empty(shape, dtype)
        src = self._range(offset, out.nbytes)
        drv_stream.copy_dtoh(_stream(stream), int(out.ctypes.data), src, out.nbytes, sync=True)
        return out

    @api
    def copy_to(self, other: "DeviceMemory", nbytes: int | None = None, stream: "Stream | None" = None) -> None:
        """Device-to-device copy of nbytes (default: all of this memory) into `other`."""
        n = self.size if nbytes is None else nbytes
        src = self._range(0, n)
        dst = other._range(0, n)
        drv_stream.copy_dtod(_stream(stream), dst, src, n, sync=stream is None)

    @api
    def fill(self, byte: int, stream: "Stream | None" = None) -> None:
        """Set every byte to `byte`."""
        dst = self._range(0, self.size)
        drv_stream.memset(_stream(stream), dst, byte, 1, self.size, sync=stream is None)

    @api
    def free(self) -> None:
        if self._freed or not self._owned:
            return
        self._freed = True
        drv_mem.free(self.device.context, self.addr)

    def __enter__(self) -> "DeviceMemory":
        return self

    def __exit__(self, *exc: object) -> None:
        self.free()
