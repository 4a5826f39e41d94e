"""A handle's virtual address space: the buffer objects it allocated, found by address.

Lookups by an interior address (a pointer into the middle of an allocation)
are what memcpy range checks and the driver's pointer validation need.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


@dataclass
class DeviceMem:
    addr: int
    size: int
    gem: int                      # buffer-object handle on the card
    domain: int                   # AIDEV_GEM_DOMAIN_*
    host: np.ndarray | None = None  # host view (HOST domain buffers)
    shared: int = 0               # the host address the card also answers for it (0: none)
    map_offset: int = 0           # mmap offset of its pages (0: not known here; ask the card)
    slab: Any = None              # the suballoc.Slab a small allocation is a piece of (None: its own buffer)

    @property
    def end(self) -> int:
        return self.addr + self.size

    @property
    def host_addr(self) -> int:
        return 0 if self.host is None else int(self.host.ctypes.data)


class Vas:
    def __init__(self) -> None:
        self._starts: list[int] = []
        self._mems: dict[int, DeviceMem] = {}

    def add(self, mem: DeviceMem) -> None:
        bisect.insort(self._starts, mem.addr)
        self._mems[mem.addr] = mem

    def remove(self, addr: int) -> DeviceMem | None:
        mem = self._mems.pop(addr, None)
        if mem is not None:
            self._starts.pop(bisect.bisect_left(self._starts, addr))
        return mem

    def get(self, addr: int) -> DeviceMem | None:
        """The allocation starting exactly at addr."""
        return self._mems.get(addr)

    def find(self, addr: int) -> DeviceMem | None:
        """The allocation containing addr (interior pointers included)."""
        i = bisect.bisect_right(self._starts, addr) - 1
        if i < 0:
            return None
        mem = self._mems[self._starts[i]]
        return mem if addr < mem.end else None

    def __iter__(self):
        return iter(list(self._mems.values()))

    def __len__(self) -> int:
        return len(self._mems)
