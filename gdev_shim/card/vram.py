"""Card memory backing: one lazily committed anonymous mapping per card, and host pages."""
from __future__ import annotations

import mmap

import numpy as np

MAP_NORESERVE = 0x4000          # Linux value; Python's mmap module does not export it
MADV_POPULATE_WRITE = 23        # Linux 5.14+; not exported by Python 3.11's mmap module
PAGE = mmap.PAGESIZE
# Frees at least this large hand their pages back to the kernel so resident memory falls;
# smaller ones are likely reused soon and the madvise call would cost more than it saves.
RELEASE_THRESHOLD = 64 << 10


class Vram:
    """`size` bytes of card memory; pages are committed only when first touched."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._map = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | MAP_NORESERVE)
        self.array = np.frombuffer(self._map, dtype=np.uint8)

    def commit(self, offset: int, length: int) -> None:
        """Back a newly allocated range with memory now, as a real card's VRAM is, so the
        first kernel writing it does not pay the host's page faults (best effort)."""
        start = offset // PAGE * PAGE
        try:
            self._map.madvise(MADV_POPULATE_WRITE, start, -(-(offset + length - start) // PAGE) * PAGE)
        except (OSError, ValueError):
            pass                # older kernels: pages are committed on first touch instead

    def release(self, offset: int, length: int) -> None:
        """Drop the pages of a freed range (they read as zero when touched again)."""
        start = -(-offset // PAGE) * PAGE
        stop = (offset + length) // PAGE * PAGE
        if stop - start >= RELEASE_THRESHOLD:
            self._map.madvise(mmap.MADV_DONTNEED, start, stop - start)


def host_pages(size: int) -> mmap.mmap:
    """Anonymous shared pages for a HOST-domain buffer (the host maps the same pages)."""
    return mmap.mmap(-1, size, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)
