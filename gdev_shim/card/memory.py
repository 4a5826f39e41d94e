"""The card's view of device memory: live buffer objects, reached by device address.

Implements the PTX engine's DeviceMemory protocol (vectorised load/store of one
item per lane) plus the byte operations of the DMA engine.  An access must lie
wholly inside one live region and be aligned to its item size, else MemoryFault.

Regions are published as an immutable snapshot that is replaced on every
change, so the engines read it without taking the allocation lock.  A client's
kernels and copies see only its own buffers: an `AddressSpace` (space.py) is a
view of the same kind holding the regions of the buffers its client claimed, kept
up to date here as buffers come, go and move (swap), so that a foreign address
faults as an unallocated one does, at no cost per access.
"""
from __future__ import annotations

import threading
from bisect import bisect_right
from dataclasses import dataclass

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..ptx.memory import MemoryFault
    from .sanitizer import CardSanitizer
    from .space import AddressSpace


def memory_fault() -> type[MemoryFault]:
    """The kernel engines' MemoryFault (ptx/memory.py), which the card raises and catches too.

    Imported when first needed, as the engines themselves are: a card that has not
    run a kernel has no reason to load them.
    """
    from ..ptx.memory import MemoryFault
    return MemoryFault


def _fault(address: int, reason: str) -> MemoryFault:
    return memory_fault()(address, reason)


@dataclass(frozen=True)
class Region:
    start: int               # device address of the first byte
    length: int
    backing: np.ndarray      # uint8 array holding the region (VRAM regions share the VRAM array)
    backing_base: int        # device address of backing[0]
    requested: int = 0       # bytes the allocation asked for (0: all of length); the sanitizer's bound
    buffer: int = 0          # device address of the buffer an alias shows (0: the region's own start)

    @property
    def key(self) -> int:
        """The buffer this region belongs to: what an address space claims."""
        return self.buffer or self.start

    @property
    def end(self) -> int:
        return self.start + self.length

    def window(self, addr: int, n: int) -> np.ndarray:
        offset = addr - self.backing_base
        return self.backing[offset:offset + n]


class _Table:
    """Sorted, immutable set of regions with numpy arrays for vectorised lookup."""

    def __init__(self, regions: list[Region]) -> None:
        self.regions = sorted(regions, key=lambda r: r.start)
        self.starts = np.array([r.start for r in self.regions], dtype=np.uint64)
        self._start_list = [r.start for r in self.regions]     # for find: bisect beats numpy for one address
        self.lengths = np.array([r.length for r in self.regions], dtype=np.uint64)
        backings: dict[int, int] = {}
        self.backing_ids = np.array([backings.setdefault(id(r.backing), len(backings))
                                     for r in self.regions], dtype=np.intp)

    def find(self, addr: int) -> int:
        """Index of the region holding addr, or -1."""
        if not self.regions or addr < 0 or addr >= 1 << 64:
            return -1
        i = bisect_right(self._start_list, addr) - 1
        if i >= 0 and addr - self.regions[i].start < self.regions[i].length:
            return i
        return -1


def _first(addrs: np.ndarray, bad: np.ndarray) -> int:
    return int(addrs.reshape(-1)[int(np.argmax(bad.reshape(-1)))])


class MemoryView:
    """Loads, stores and byte ranges over a table of regions: the whole card's memory
    (CardMemory) or one client's address space (space.py), which the engines use alike."""

    _table: _Table
    observer: CardSanitizer | None
    preferred_span: tuple[int, int] | None

    def regions(self) -> list[Region]:
        """The live regions (an immutable snapshot; do not modify)."""
        return self._table.regions

    def regions_version(self) -> _Table:
        """A token that changes identity whenever a region is added or removed."""
        return self._table

    def region_at(self, addr: int) -> Region | None:
        table = self._table
        i = table.find(addr)
        return table.regions[i] if i >= 0 else None

    # ---- lane lookup ----
    def _locate(self, addrs: np.ndarray, size: int) -> tuple[_Table, Region | None, np.ndarray | None]:
        """Check every lane; returns (table, the one region, None) or (table, None, region index per lane)."""
        table = self._table
        if size & (size - 1) == 0:
            misaligned = (addrs & np.uint64(size - 1)) != 0 if size > 1 else None
        else:
            misaligned = (addrs % np.uint64(size)) != 0
        if misaligned is not None and misaligned.any():
            raise _fault(_first(addrs, misaligned), f"misaligned {size}-byte access")
        lo, hi = int(addrs.min()), int(addrs.max())
        i = table.find(lo)
        if i >= 0 and hi + size <= table.regions[i].end:
            return table, table.regions[i], None
        # lanes spread over several buffers (or some unbacked): per-lane search
        idx = np.searchsorted(table.starts, addrs, side="right").astype(np.intp) - 1
        if not table.regions:
            raise _fault(lo, "no memory is allocated")
        safe = np.maximum(idx, 0)
        offset = addrs - table.starts[safe]
        ok = (idx >= 0) & (addrs >= table.starts[safe]) & (offset <= table.lengths[safe] - np.uint64(size))
        if not ok.all():
            raise _fault(_first(addrs, ~ok), "address not backed by a buffer object")
        return table, None, idx

    def load(self, addrs: np.ndarray, dtype: np.dtype | type) -> np.ndarray:
        dt = np.dtype(dtype)
        addrs = np.asarray(addrs, dtype=np.uint64)
        if addrs.size == 0:
            return np.empty(addrs.shape, dt)
        size = dt.itemsize
        table, region, idx = self._locate(addrs, size)
        if region is not None:
            return region.backing.view(dt)[((addrs - np.uint64(region.backing_base)) // np.uint64(size))
                                           .astype(np.intp)]
        assert idx is not None            # _locate gives a region or the lanes' region indices
        out = np.empty(addrs.shape, dt)
        lane_backing = table.backing_ids[idx]
        for bid in np.unique(lane_backing):
            mask = lane_backing == bid
            r = table.regions[int(idx[mask][0])]
            out[mask] = r.backing.view(dt)[((addrs[mask] - np.uint64(r.backing_base)) // np.uint64(size))
                                           .astype(np.intp)]
        return out

    def store(self, addrs: np.ndarray, values: np.ndarray) -> None:
        addrs = np.asarray(addrs, dtype=np.uint64)
        values = np.asarray(values)
        if addrs.size == 0:
            return
        values = np.broadcast_to(values, addrs.shape)
        dt = values.dtype
        size = dt.itemsize
        table, region, idx = self._locate(addrs, size)
        if region is not None:
            index = ((addrs - np.uint64(region.backing_base)) // np.uint64(size)).astype(np.intp)
            region.backing.view(dt)[index] = values
            return
        assert idx is not None
        lane_backing = table.backing_ids[idx]
        for bid in np.unique(lane_backing):
            mask = lane_backing == bid
            r = table.regions[int(idx[mask][0])]
            index = ((addrs[mask] - np.uint64(r.backing_base)) // np.uint64(size)).astype(np.intp)
            r.backing.view(dt)[index] = values[mask]

    # ---- byte ranges (DMA engine, command processor) ----
    def span(self, addr: int, n: int, align: int = 1) -> np.ndarray:
        """Writable uint8 view of [addr, addr+n), which must lie inside one region."""
        if align > 1 and addr % align:
            raise _fault(addr, f"misaligned {align}-byte access")
        region = self.region_at(addr)
        if region is None:
            raise _fault(addr, "address not backed by a buffer object")
        if n > region.end - addr:
            raise _fault(region.end, f"{n}-byte range at {addr:#x} runs past its buffer object")
        return region.window(addr, n)

    def copy(self, dst: int, src: int, n: int) -> None:
        if n == 0:
            return
        source = self.span(src, n)
        target = self.span(dst, n)
        np.copyto(target, source)     # numpy handles overlapping ranges as memmove does
        if self.observer is not None:
            self.observer.on_write(dst, n)

    def fill(self, dst: int, value: int, elem_size: int, count: int) -> None:
        if elem_size not in (1, 2, 4, 8):
            raise ValueError(f"fill element size {elem_size}")
        if count == 0:
            return
        target = self.span(dst, elem_size * count, elem_size).view(f"<u{elem_size}")
        target.fill(value & ((1 << (8 * elem_size)) - 1))
        if self.observer is not None:
            self.observer.on_write(dst, elem_size * count)

    def read(self, addr: int, n: int) -> bytes:
        return self.span(addr, n).tobytes() if n else b""

    def write(self, addr: int, data: bytes) -> None:
        if data:
            self.span(addr, len(data))[:] = np.frombuffer(data, dtype=np.uint8)
            if self.observer is not None:
                self.observer.on_write(addr, len(data))


class CardMemory(MemoryView):
    """Device memory of one card (VRAM buffers, host buffers in the GART window, fence pages),
    and the address spaces of its clients, whose tables it updates with its own."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._table = _Table([])
        self.observer = None        # the sanitizer (GDEV_MEMCHECK): told of frees and DMA writes
        # (start, length) of the VRAM: the span whose buffers the JIT's fast paths cover first
        self.preferred_span = None
        self._claims: dict[int, set[AddressSpace]] = {}     # buffer address -> spaces claiming it

    # ---- region bookkeeping (called by the buffer manager) ----
    def add(self, region: Region) -> None:
        with self._lock:
            self._table = _Table(self._table.regions + [region])
            self._update([], [region])

    def remove(self, start: int) -> None:
        with self._lock:
            gone = [r for r in self._table.regions if r.start == start]
            self._table = _Table([r for r in self._table.regions if r.start != start])
            self._update(gone, [])
            for region in gone:
                if region.start == region.key:      # the buffer itself is freed: so are its claims
                    self._purge(region.key)
        if self.observer is not None:
            for region in gone:
                self.observer.on_remove(region)

    def forget(self, region: Region) -> None:
        """A buffer whose region is withdrawn (swapped out) was freed: its claims go, and the
        sanitizer is told."""
        with self._lock:
            self._purge(region.key)
        if self.observer is not None:
            self.observer.on_remove(region)

    def swap_regions(self, gone: list[int], back: list[Region]) -> None:
        """Withdraw the regions starting at `gone` and publish `back`, in one step; the
        buffers live on (swapped out or in), so the sanitizer is told nothing."""
        if not gone and not back:
            return
        with self._lock:
            drop = set(gone)
            withdrawn = [r for r in self._table.regions if r.start in drop]
            self._table = _Table([r for r in self._table.regions if r.start not in drop] + back)
            self._update(withdrawn, back)

    # ---- address spaces (space.py) ----
    def claim(self, space: AddressSpace, key: int) -> None:
        """`space` reaches the buffer at `key` (and its alias), resident or not, from now on."""
        with self._lock:
            if space.hold(key):
                self._claims.setdefault(key, set()).add(space)
                space.publish(put=[r for r in self._table.regions if r.key == key])

    def unclaim(self, space: AddressSpace, key: int) -> None:
        """One claim of `space` on the buffer at `key` is gone; the last takes its regions away."""
        with self._lock:
            if space.let_go(key):
                self._unlist(space, key)
                space.publish(drop=[r.start for r in self._table.regions if r.key == key])

    def _unlist(self, space: AddressSpace, key: int) -> None:
        holders = self._claims.get(key)
        if holders is not None:
            holders.discard(space)
            if not holders:
                del self._claims[key]

    def _purge(self, key: int) -> None:
        """Under the lock: a freed buffer's claims, so that its address, given to a new
        buffer, is reachable by the new owner only."""
        for space in self._claims.pop(key, set()):
            space.forget(key)

    def _update(self, gone: list[Region], back: list[Region]) -> None:
        """Under the lock: the spaces claiming the buffers of regions that left or came."""
        touched: dict[AddressSpace, tuple[list[int], list[Region]]] = {}
        for region in gone:
            for space in self._claims.get(region.key, ()):
                touched.setdefault(space, ([], []))[0].append(region.start)
        for region in back:
            for space in self._claims.get(region.key, ()):
                touched.setdefault(space, ([], []))[1].append(region)
        for space, (drop, put) in touched.items():
            space.publish(put=put, drop=drop)
