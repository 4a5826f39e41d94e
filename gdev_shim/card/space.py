"""Per-client address spaces: what a client's kernels and copies can reach of a card.

One card is one device address space, but a client reaches only the buffers it holds
(buffer objects it made, host memory it registered, shared segments it got by gshm or
gref): an `AddressSpace` is a view of the card's memory (memory.py: `MemoryView`)
with only the regions of the buffers its client claimed.  The card's memory keeps it
up to date as those buffers come, go, are swapped out and back in, so a kernel
reading another client's buffer by its raw device address finds no region there and
faults exactly as an access to unallocated memory does, and the engines' lookups
(the interpreter's region search, the JIT's page table per space) cost what they
always did: the table is per space, not a check per access.

A client is a process: every open a process makes of a card (its contexts, the CUDA
runtime's and driver's primary contexts) shares one space, as the contexts of one
process share one virtual address space on a GPU with unified addressing.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Hashable

from .memory import CardMemory, MemoryView, Region, _Table

if TYPE_CHECKING:
    from .sanitizer import CardSanitizer


class AddressSpace(MemoryView):
    """The regions of the buffers one client holds, as a view the engines run against.

    Its bookkeeping runs under the card memory's lock (memory.py: claim, unclaim and the
    updates of add, remove and swap_regions); readers take the published table."""

    def __init__(self, card: CardMemory, label: str = "") -> None:
        self.card = card
        self.label = label
        self._table = _Table([])
        self._counts: dict[int, int] = {}      # buffer address -> claims (handles) on it
        self._regions: dict[int, Region] = {}  # region start -> the claimed buffers' regions

    @property
    def observer(self) -> CardSanitizer | None:   # the card's sanitizer, which sees every client
        return self.card.observer

    @observer.setter
    def observer(self, value: CardSanitizer | None) -> None:
        raise AttributeError("an address space reports to its card's sanitizer")

    @property
    def preferred_span(self) -> tuple[int, int] | None:   # the VRAM, the JIT's dense table
        return self.card.preferred_span

    @preferred_span.setter
    def preferred_span(self, value: tuple[int, int] | None) -> None:
        raise AttributeError("an address space prefers its card's span")

    def holds(self, key: int) -> bool:
        """The client has claimed the buffer at `key`."""
        return key in self._counts

    # ---- under the card memory's lock ----
    def hold(self, key: int) -> bool:
        """One more claim on the buffer at `key`; True for the first."""
        count = self._counts.get(key, 0)
        self._counts[key] = count + 1
        return count == 0

    def let_go(self, key: int) -> bool:
        """One claim fewer; True when it was the last (a buffer never claimed: False)."""
        count = self._counts.get(key, 0)
        if count > 1:
            self._counts[key] = count - 1
            return False
        return self._counts.pop(key, None) is not None

    def forget(self, key: int) -> None:
        """The buffer at `key` is freed: every claim on it, and its regions, are gone."""
        self._counts.pop(key, None)
        self.publish(drop=[start for start, r in self._regions.items() if r.key == key])

    def publish(self, put: list[Region] | None = None, drop: list[int] | None = None) -> None:
        if not put and not drop:
            return
        for start in drop or ():
            self._regions.pop(start, None)
        for region in put or ():
            self._regions[region.start] = region
        self._table = _Table(list(self._regions.values()))


class AddressSpaces:
    """The address spaces of one card's clients, by client, alive while one of its opens is."""

    def __init__(self, memory: CardMemory) -> None:
        self.memory = memory
        self._lock = threading.Lock()
        self._spaces: dict[Hashable, tuple[AddressSpace, int]] = {}

    def join(self, client: Hashable, label: str = "") -> AddressSpace:
        """The space of `client`, made by its first open."""
        with self._lock:
            space, opens = self._spaces.get(client, (None, 0))
            if space is None:
                space = AddressSpace(self.memory, label)
            self._spaces[client] = (space, opens + 1)
            return space

    def leave(self, client: Hashable) -> None:
        """One open of `client` closed (having let go of its buffers)."""
        with self._lock:
            space, opens = self._spaces.get(client, (None, 0))
            if space is None:
                return
            if opens > 1:
                self._spaces[client] = (space, opens - 1)
            else:
                del self._spaces[client]

    def count(self) -> int:
        with self._lock:
            return len(self._spaces)
