"""Card memory backing: memfd-backed shared pages, so another process can map them.

The card's VRAM is one sparse memfd; every host (GART) buffer and every channel
page has a memfd of its own.  A process that hosts the card hands a client the
descriptor and an offset (the card daemon does), and both map the same pages.
"""
from __future__ import annotations

import mmap
import os

import numpy as np

MAP_NORESERVE = 0x4000          # Linux value; Python's mmap module does not export it
MADV_POPULATE_WRITE = 23        # Linux 5.14+; not exported by Python 3.11's mmap module
MADV_REMOVE = 9                 # frees the backing store of a shared mapping's range
PAGE = mmap.PAGESIZE
# Frees at least this large hand their pages back to the kernel so resident memory falls;
# smaller ones are zeroed instead, cheaper than the system call (and a later owner of the
# range, perhaps another process, must not read what was there).
RELEASE_THRESHOLD = 64 << 10


class SharedPages:
    """`size` bytes of zeroed shared memory behind a memfd (pages committed on first touch)."""

    def __init__(self, size: int, name: str) -> None:
        self.size = size
        self.fd = os.memfd_create(f"aicard-{name}", os.MFD_CLOEXEC)
        try:
            os.ftruncate(self.fd, size)
            self.map = mmap.mmap(self.fd, size, flags=mmap.MAP_SHARED)
        except OSError:
            os.close(self.fd)
            raise

    def close(self) -> None:
        """Drop the descriptor; the pages live on while a mapping (here or elsewhere) holds them."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class Vram:
    """The backing of the card's VRAM address space: `size` bytes of a sparse memfd, of
    which only resident buffers hold pages (swap.py keeps them within the card's VRAM)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.pages = SharedPages(size, "vram")
        self._map = self.pages.map
        self.array = np.frombuffer(self._map, dtype=np.uint8)

    @property
    def fd(self) -> int:
        return self.pages.fd

    def commit(self, offset: int, length: int) -> None:
        """Back a newly allocated range with memory now, as a real card's VRAM is, so the
        first kernel writing it does not pay the host's page faults (best effort)."""
        start = offset // PAGE * PAGE
        try:
            self._map.madvise(MADV_POPULATE_WRITE, start, -(-(offset + length - start) // PAGE) * PAGE)
        except (OSError, ValueError):
            pass                # older kernels: pages are committed on first touch instead

    def discard(self, offset: int, length: int) -> None:
        """Give the pages of a page-aligned range back to the kernel (it reads as zero after)."""
        self._map.madvise(MADV_REMOVE, offset, length)

    def release(self, offset: int, length: int) -> None:
        """Return a freed range to zero: large ones give their pages back to the kernel."""
        if length >= RELEASE_THRESHOLD:
            start = -(-offset // PAGE) * PAGE
            stop = (offset + length) // PAGE * PAGE
            self._map.madvise(MADV_REMOVE, start, stop - start)
            self.array[offset:start] = 0
            self.array[stop:offset + length] = 0
        else:
            self.array[offset:offset + length] = 0


def host_pages(size: int) -> SharedPages:
    """Shared pages for a HOST-domain buffer (the host maps the same pages)."""
    return SharedPages(size, "host")
