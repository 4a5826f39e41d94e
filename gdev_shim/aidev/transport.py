"""L1's transport: the few system calls the stack makes on a card device file.

Two implementations: KernelTransport (/dev/aicardN through the kernel driver)
and SimTransport (the simulated cards in this process).  Conventions follow the
system calls: open and mmap raise OSError, ioctl returns 0 or -errno.
"""
from __future__ import annotations

from typing import Any, Protocol


class Mmio(Protocol):
    """A channel's register page (32-bit registers indexed by AIDEV_REG_*)."""

    def read32(self, reg: int) -> int: ...

    def write32(self, reg: int, value: int) -> None: ...


class Transport(Protocol):
    def count(self) -> int:
        """Number of cards (minors 0..count-1)."""
        ...

    def open(self, minor: int) -> int:
        """File descriptor of card `minor`; OSError if it cannot be opened."""
        ...

    def close(self, fd: int) -> None: ...

    def ioctl(self, fd: int, request: int, arg: Any) -> int:
        """Issue `request` with `arg`, a cffi `struct aidev_* *` read and filled in place; 0 or -errno."""
        ...

    def mmap(self, fd: int, offset: int, length: int) -> memoryview:
        """Writable host view of `length` bytes at mmap `offset`; OSError if nothing maps there."""
        ...

    def mmio(self, fd: int, offset: int) -> Mmio:
        """The register page at mmap `offset` (a write to REG_PB_PUT rings the channel's doorbell)."""
        ...
