"""First-fit range allocator with coalescing, used for VRAM and the GART window."""
from __future__ import annotations

import bisect


class RangeAllocator:
    """Hands out [offset, offset+size) ranges of a span, `granule`-aligned and -rounded.

    Free ranges are kept sorted by offset; freeing merges a range with its free
    neighbours so fragmentation does not outlive the allocations that caused it.
    """

    def __init__(self, size: int, granule: int = 4096) -> None:
        if size <= 0 or granule <= 0 or granule & (granule - 1):
            raise ValueError(f"bad allocator span {size} / granule {granule}")
        self.granule = granule
        self.size = size - size % granule
        self._free_starts: list[int] = [0]
        self._free_sizes: list[int] = [self.size]
        self._used: dict[int, int] = {}      # offset -> size
        self.used = 0

    def round(self, size: int) -> int:
        return -(-size // self.granule) * self.granule

    def alloc(self, size: int) -> int | None:
        """Offset of a new range of at least `size` bytes, or None when nothing fits."""
        need = self.round(size)
        if need <= 0:
            return None
        for i, (start, free) in enumerate(zip(self._free_starts, self._free_sizes)):
            if free >= need:
                if free == need:
                    del self._free_starts[i], self._free_sizes[i]
                else:
                    self._free_starts[i] = start + need
                    self._free_sizes[i] = free - need
                self._used[start] = need
                self.used += need
                return start
        return None

    def size_of(self, offset: int) -> int:
        """Bytes of the range allocated at `offset` (KeyError if none is)."""
        return self._used[offset]

    def free(self, offset: int) -> int:
        """Release the range starting at `offset`; returns its size (KeyError if not allocated)."""
        released = size = self._used.pop(offset)
        self.used -= released
        i = bisect.bisect_left(self._free_starts, offset)
        # merge with the following free range, then the preceding one
        if i < len(self._free_starts) and self._free_starts[i] == offset + size:
            size += self._free_sizes[i]
            del self._free_starts[i], self._free_sizes[i]
        if i > 0 and self._free_starts[i - 1] + self._free_sizes[i - 1] == offset:
            self._free_sizes[i - 1] += size
        else:
            self._free_starts.insert(i, offset)
            self._free_sizes.insert(i, size)
        return released

    def free_ranges(self) -> list[tuple[int, int]]:
        return list(zip(self._free_starts, self._free_sizes))


class ChunkedAllocator:
    """`chunks` RangeAllocators of `size` bytes each, `stride` bytes apart: a range never
    straddles two chunks, and the lower chunks are used first."""

    def __init__(self, size: int, stride: int, chunks: int, granule: int = 4096) -> None:
        self.stride = stride
        self._chunks = [RangeAllocator(size, granule) for _ in range(chunks)]
        self.size = sum(c.size for c in self._chunks)

    @property
    def used(self) -> int:
        return sum(c.used for c in self._chunks)

    def round(self, size: int) -> int:
        return self._chunks[0].round(size)

    def alloc(self, size: int) -> int | None:
        for i, chunk in enumerate(self._chunks):
            offset = chunk.alloc(size)
            if offset is not None:
                return i * self.stride + offset
        return None

    def size_of(self, offset: int) -> int:
        index, local = divmod(offset, self.stride)
        return self._chunks[index].size_of(local)

    def free(self, offset: int) -> int:
        index, local = divmod(offset, self.stride)
        return self._chunks[index].free(local)
