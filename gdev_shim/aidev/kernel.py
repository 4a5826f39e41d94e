"""KernelTransport: the real card through /dev/aicardN and its kernel driver."""
from __future__ import annotations

import errno
import fcntl
import glob
import mmap
import os
import re
import struct
from typing import Any

from ..common.contract import C, ffi

DEVICE_GLOB = "/dev/aicard*"
_REG = struct.Struct("<I")


def device_minors() -> list[int]:
    minors = []
    for path in glob.glob(DEVICE_GLOB):
        match = re.fullmatch(r"/dev/aicard(\d+)", path)
        if match:
            minors.append(int(match.group(1)))
    return sorted(minors)


class KernelMmio:
    """A mapped register page; the card sees each 32-bit store (PB_PUT is the doorbell)."""

    def __init__(self, page: mmap.mmap) -> None:
        self._page = page

    def read32(self, reg: int) -> int:
        return _REG.unpack_from(self._page, reg * 4)[0]

    def write32(self, reg: int, value: int) -> None:
        _REG.pack_into(self._page, reg * 4, value & 0xFFFF_FFFF)


class KernelTransport:
    def count(self) -> int:
        minors = device_minors()
        return minors[-1] + 1 if minors else 0

    def open(self, minor: int) -> int:
        return os.open(f"/dev/aicard{minor}", os.O_RDWR | os.O_CLOEXEC)

    def close(self, fd: int) -> None:
        os.close(fd)

    def ioctl(self, fd: int, request: int, arg: Any) -> int:
        # the struct's own bytes are the buffer, so the driver's output lands in `arg`
        try:
            fcntl.ioctl(fd, request, ffi.buffer(arg), True)
        except OSError as exc:
            return -(exc.errno or errno.EIO)
        return 0

    def mmap(self, fd: int, offset: int, length: int) -> memoryview:
        return memoryview(mmap.mmap(fd, length, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE,
                                    offset=offset))

    def mmio(self, fd: int, offset: int) -> KernelMmio:
        page = mmap.mmap(fd, C.AIDEV_REG_COUNT * 4, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE,
                         offset=offset)
        return KernelMmio(page)
