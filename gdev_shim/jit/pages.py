"""Device address -> host address translation tables for generated code.

Page-aligned regions go into a dense table of per-4KiB-page deltas (host - device, 0 for
an unbacked page) spanning the largest cluster of regions; any other region is listed
in a short (start, end, delta) array that the slow path scans.
"""
from __future__ import annotations

import functools
import threading
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import abi
from .abi import PAGE_SHIFT
from .errors import JitUnsupported

PAGE = 1 << PAGE_SHIFT
MAX_TABLE_PAGES = 1 << 22          # 32 MiB of table at most (16 GiB of device span)


@dataclass
class PageMap:
    base: int                      # device address of table[0]
    table: np.ndarray              # int64 deltas, at least one entry
    extras: np.ndarray             # int64 triples (start, end, delta)
    keep: list                     # the backing arrays, alive while the map is used

    @functools.cached_property
    def env_slots(self) -> tuple[tuple[int, int], ...]:
        """(slot, value) of the launch environment that hand the map to compiled code."""
        base = int(np.uint64(self.base).view(np.int64)) if self.base >= 1 << 63 else self.base
        table = self.table.ctypes.data
        extras = self.extras.ctypes.data if len(self.extras) else table
        return ((abi.PAGES, table), (abi.PAGE_BASE, base), (abi.NPAGES, len(self.table)),
                (abi.EXTRAS, extras), (abi.NEXTRAS, len(self.extras) // 3))


def _host_regions(memory: Any, precise: bool) -> list[tuple[int, int, int, Any]]:
    """(start, length, host address, backing) per buffer.  `precise`: only the bytes the
    allocation asked for (the sanitizer's bound), as a page-aligned part and a tail."""
    regions = getattr(memory, "regions", None)
    if regions is None:
        raise JitUnsupported("device memory does not expose host regions")
    out = []
    for r in regions():
        backing = r.backing
        host = backing.ctypes.data + (r.start - r.backing_base)
        length = int((r.requested or r.length) if precise else r.length)
        whole = length // PAGE * PAGE if precise and r.start % PAGE == 0 else length
        out.append((int(r.start), whole, int(host), backing))
        if whole < length:
            out.append((int(r.start) + whole, length - whole, int(host) + whole, backing))
    return out


def _densest(aligned: list[tuple[int, int, int, Any]]) -> list[tuple[int, int, int, Any]]:
    """The sorted regions' cluster holding the most bytes within MAX_TABLE_PAGES pages."""
    best, best_bytes, lo = (0, 0), -1, 0
    total = 0
    for hi in range(len(aligned)):
        total += aligned[hi][1]
        while aligned[hi][0] + aligned[hi][1] - aligned[lo][0] > MAX_TABLE_PAGES * PAGE:
            total -= aligned[lo][1]
            lo += 1
        if total > best_bytes:
            best, best_bytes = (lo, hi), total
    return aligned[best[0]:best[1] + 1]


def build(regions: list[tuple[int, int, int, Any]], prefer: tuple[int, int] | None = None) -> PageMap:
    """The map of `regions`; the dense table covers the densest cluster of those inside
    `prefer` (start, length: the card's VRAM) if any lies there.  Host buffers mapped
    for the card (the driver's copy staging among them) are rarely what kernels read,
    and a table spent on them would send every VRAM access to the slow path."""
    aligned = [r for r in regions if r[0] % PAGE == 0 and r[1] % PAGE == 0 and r[1] > 0]
    others = [r for r in regions if r not in aligned and r[1] > 0]
    base = 0
    table = np.zeros(1, np.int64)
    if aligned:
        aligned.sort()
        inside = [] if prefer is None else [r for r in aligned if prefer[0] <= r[0]
                                             and r[0] + r[1] <= prefer[0] + prefer[1]]
        chosen = _densest(inside or aligned)
        others += [r for r in aligned if r not in chosen]
        base = chosen[0][0]
        end = chosen[-1][0] + chosen[-1][1]
        table = np.zeros(max(1, (end - base) >> PAGE_SHIFT), np.int64)
        for start, length, host, _ in chosen:
            p0 = (start - base) >> PAGE_SHIFT
            table[p0:p0 + (length >> PAGE_SHIFT)] = host - start
    mask = (1 << 64) - 1
    extras = np.array([v & mask for s, n, h, _ in others for v in (s, s + n, h - s)] or [0, 0, 0],
                      dtype=np.uint64).view(np.int64)
    return PageMap(base, table, extras if others else extras[:0], [r[3] for r in regions])


_cache_lock = threading.Lock()
# each thread's last answer (a channel's processor thread launches on its client's memory)
_recent = threading.local()
# per memory (a card's, or one client's address space: each has a table of its own, which
# goes with it), per precision: (the regions' version, its map)
_cache: weakref.WeakKeyDictionary[Any, dict[bool, tuple[Any, PageMap]]] = weakref.WeakKeyDictionary()


def page_map(memory: Any, precise: bool = False) -> PageMap:
    """The translation table for the memory's current buffers (rebuilt when they change);
    `precise` bounds each buffer by its requested size rather than its pages."""
    snapshot = getattr(memory, "regions_version", None)
    token = snapshot() if snapshot is not None else None
    last = getattr(_recent, "last", None)     # this thread's last answer: a relaunch asks again
    if last is not None and last[0] is memory and last[1] is token and last[2] is precise and token is not None:
        return last[3]
    with _cache_lock:
        maps = _cache.get(memory) if token is not None else None
        hit = maps.get(precise) if maps is not None else None
    if hit is not None and hit[0] is token:
        _recent.last = (memory, token, precise, hit[1])
        return hit[1]
    pm = build(_host_regions(memory, precise), getattr(memory, "preferred_span", None))
    if token is not None:
        with _cache_lock:
            _cache.setdefault(memory, {})[precise] = (token, pm)
        _recent.last = (memory, token, precise, pm)
    return pm
