"""Device memory overcommit: Gdev's kernel-mode swap on the simulated card.

A VRAM buffer keeps its device address for life, but its bytes need not be resident.
The card's device address space is larger than its VRAM (buffers.py); what counts
against the VRAM size is the bytes of resident buffers.  When a client (one open of
the card, a `SwapClient`) is about to run a command, every VRAM buffer it owns is
made resident first (`Residency.hold`); if VRAM is short, buffers of clients that
are not running are evicted: their bytes are copied to host memory, their pages are
handed back to the kernel (MADV_DONTNEED on the VRAM's private memory) and their region leaves
the card's memory map, so a stray access faults instead of reading zeros.  Restoring
copies the bytes back into the same range and publishes the region again.

Which client is running: one with a command executing (`active`), or one brought in
less than its time slice ago (`QUANTUM_S`, or `SLICE_PER_SWAP` times what the swap
that brought it in took, if longer): without the slice, two clients that each need
most of VRAM would swap at every command, since every copy chunk and launch is a
command.  Eviction takes clients with nothing queued on their channels
first, then the least recently used.  Clients waiting for room are served first in,
first out; a client whose slice has ended queues behind them even when its own
buffers are still resident, so none starves.

Pinned buffers never move: a buffer mapped through the card's aperture (the client
holds its pages, perhaps in another process, and the card cannot revoke them), one
with an alias (GEM_ALIAS), and one nobody owns (made by the card itself).  A shared
segment (gshmget, gref) is owned by every open that got or attached it (`share`,
`unshare`): it is brought in for whichever of them runs and evicted only while none
does; one that no open holds any more stays where it is until one does again.

An allocation fails with ENOMEM only when its client's buffers together with every
pinned buffer of others could never be resident at once (swapping cannot help).
Transfers run outside the lock, one at a time (`_moving`); clients whose buffers
stay put take and release holds meanwhile.
"""
from __future__ import annotations

import errno
import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator

import numpy as np

from .condition import QuietCondition
from .errors import CardError

if TYPE_CHECKING:
    from .buffers import BufferObject
    from .memory import CardMemory, Region
    from .vram import Vram

QUANTUM_S = 0.1          # a client brought in keeps its buffers at least this long
# ... and at least this many times as long as bringing it in took, so that swapping takes
# a bounded share of the card's time however large the buffers are
SLICE_PER_SWAP = 4
WAIT_TICK_S = 0.05       # a waiter looks at its cancellation this often


class Cancelled(Exception):
    """The command waiting for VRAM belongs to a channel that is being freed."""


@dataclass(eq=False)
class Placement:
    """Where one VRAM buffer's bytes are: resident in VRAM, or in host memory (`store`)."""
    bo: BufferObject
    region: Region
    owners: set[SwapClient]
    resident: bool = False
    pinned: bool = False
    store: np.ndarray | None = None  # the bytes while evicted; None: all zero
    moving: bool = False             # being copied out or in, outside the lock

    @property
    def size(self) -> int:
        return self.bo.size



@dataclass
class SwapStats:
    out_bytes: int = 0
    in_bytes: int = 0
    out_count: int = 0
    in_count: int = 0
    out_ns: int = 0
    in_ns: int = 0


class SwapClient:
    """One open of the card as the swap sees it: the VRAM buffers it owns, whether it runs."""

    def __init__(self, name: str = "") -> None:
        self.name = name
        self.placements: set[Placement] = set()
        self.missing = 0                     # of them, how many are not resident (kept by Residency._mark)
        self.active = 0                      # its commands executing now
        self.granted_at = -1e18              # monotonic time it was last brought in
        self.slice_s = QUANTUM_S             # how long it keeps VRAM from then on
        self.last_used = 0.0
        self.busy: Callable[[], bool] = lambda: False   # commands queued on its channels
        self.stats = SwapStats()

    def protected(self, now: float) -> bool:
        return now - self.granted_at < self.slice_s

    def running(self, now: float) -> bool:
        return self.active > 0 or self.protected(now)

    def total(self) -> int:
        return sum(p.size for p in self.placements)

    def swapped(self) -> int:
        """Bytes of its buffers that are not resident now."""
        return sum(p.size for p in self.placements if not p.resident)


class Residency:
    """The resident set of one card's VRAM."""

    def __init__(self, memory: CardMemory, vram: Vram, vram_base: int, capacity: int) -> None:
        self.memory = memory
        self.vram = vram
        self.vram_base = vram_base
        self.capacity = capacity              # bytes of VRAM (an injected limit may lower it)
        self.resident = 0                     # bytes of resident buffers
        self.stats = SwapStats()
        self._lock = threading.RLock()     # the condition's, taken directly per command
        self._cond = QuietCondition(self._lock)
        self._placements: dict[int, Placement] = {}   # buffer address -> placement
        self._queue: deque[object] = deque()          # tickets of waiters, first come first served
        self._moving = False

    # ---- buffers ----
    def place(self, bo: BufferObject, region: Region, owner: SwapClient | None) -> None:
        """A new buffer: resident at once when VRAM has room, else zero until its owner runs.

        ENOMEM when its owner's buffers could never all be resident (a buffer nobody owns
        is pinned, so it must fit now).
        """
        p = Placement(bo, region, {owner} if owner is not None else set())
        with self._cond:
            if owner is None:
                self._check_pin(p)
            else:
                self._check_fits(owner, bo.size)
            self._placements[bo.addr] = p
            if owner is not None:
                owner.placements.add(p)
                owner.missing += 1
            if self.capacity - self.resident >= bo.size:
                self._mark(p, True)
                self.resident += bo.size
                self.memory.add(region)
                commit = True
            else:
                commit = False
        if commit:
            self.vram.commit(bo.addr - self.vram_base, bo.size)
        if owner is None:
            self.pin(bo)

    def drop(self, bo: BufferObject) -> Placement | None:
        """Forget a freed buffer: its placement (`resident` says whether its pages are
        still in VRAM, for the caller to zero), None if the buffer was never placed."""
        with self._cond:
            p = self._placements.get(bo.addr)
            if p is None:
                return None
            while p.moving:
                self._cond.wait()
            del self._placements[bo.addr]
            for owner in p.owners:
                owner.placements.discard(p)
                owner.missing -= not p.resident
            p.store = None
            if p.resident:
                self.resident -= p.size
            self._cond.notify_all()
            return p

    def share(self, bo: BufferObject, client: SwapClient) -> None:
        """`client` uses the buffer too (a shared segment): it is brought in for either owner
        and evicted only while neither runs.  Sharing it again changes nothing."""
        with self._cond:
            p = self._placements[bo.addr]
            if client in p.owners:
                return
            self._check_fits(client, p.size)
            p.owners.add(client)
            client.placements.add(p)
            client.missing += not p.resident

    def unshare(self, bo: BufferObject, client: SwapClient) -> None:
        """`client` no longer uses the buffer (it let go of the segment, or closed)."""
        with self._cond:
            p = self._placements.get(bo.addr)
            if p is None or client not in p.owners:
                return
            p.owners.discard(client)
            client.placements.discard(p)
            client.missing -= not p.resident
            self._cond.notify_all()

    def owned_by(self, bo: BufferObject, client: SwapClient) -> bool:
        with self._cond:
            p = self._placements.get(bo.addr)
            return p is not None and client in p.owners

    def pin(self, bo: BufferObject) -> None:
        """Make a buffer resident for the rest of its life (it is mapped or aliased)."""
        p = self._placements.get(bo.addr)
        if p is None or p.pinned:
            return
        with self._cond:
            self._check_pin(p)
        self._bring_in(None, [p], lambda: False, pin=True)

    def is_resident(self, bo: BufferObject) -> bool:
        p = self._placements.get(bo.addr)
        return p is None or p.resident

    # ---- commands ----
    def acquire(self, client: SwapClient, cancelled: Callable[[], bool] = lambda: False) -> None:
        """Before a command of `client`: its buffers are resident, and stay so until release.

        Raises CardError(ENOMEM) when they could never be resident together, Cancelled
        when `cancelled()` turns true while waiting for room.
        """
        with self._lock:
            if client.missing == 0 and not self._queue:
                # resident, and nobody waits for room: what _bring_in decides, without
                # listing the client's buffers at every command
                self._grant(client, [], False, time.monotonic(), fresh=False)
                return
        self._bring_in(client, None, cancelled)

    def release(self, client: SwapClient) -> None:
        """After the command: the client's buffers may be evicted again."""
        with self._lock:
            client.active -= 1
            client.last_used = time.monotonic()
            self._cond.notify_all()

    @contextmanager
    def hold(self, client: SwapClient | None, cancelled: Callable[[], bool] = lambda: False) -> Iterator[None]:
        """acquire ... release around a block (nothing for a client-less command)."""
        if client is None:
            yield
            return
        self.acquire(client, cancelled)
        try:
            yield
        finally:
            self.release(client)

    def wake(self) -> None:
        """Let waiters look at their cancellation now (a channel is being freed)."""
        with self._cond:
            self._cond.notify_all()

    # ---- the core ----
    def _bring_in(self, client: SwapClient | None, want: list[Placement] | None,
                  cancelled: Callable[[], bool], pin: bool = False) -> None:
        """Make `want` (default: every buffer of `client`) resident, evicting buffers of
        clients that are not running; on return the client counts as active (if given)."""
        with self._cond:
            ticket: object | None = None
            try:
                while True:
                    now = time.monotonic()
                    if want is not None:
                        # a buffer freed meanwhile is nothing to bring in any more
                        wanted = [p for p in want if self._placements.get(p.bo.addr) is p]
                        ready = all(p.resident and not p.moving for p in wanted)
                    elif client is not None:
                        # per command: the counter spares a walk over every buffer of the client
                        wanted, ready = list(client.placements), client.missing == 0
                    else:
                        wanted, ready = [], True
                    first = ticket is not None and self._queue and self._queue[0] is ticket
                    if ready and (first or not self._queue or self._may_pass(client, wanted, now)):
                        self._grant(client, wanted, pin, now, fresh=ticket is not None)
                        return
                    if ticket is None:
                        ticket = object()
                        self._queue.append(ticket)
                        continue
                    if first and not self._moving:
                        victims = self._plan(client, wanted, now)
                        if victims is not None:
                            if client is not None:
                                client.active += 1     # nobody evicts what is being brought in
                            took = 0.0
                            try:
                                took = self._transfer(victims, [p for p in wanted if not p.resident])
                            finally:
                                if client is not None:
                                    client.active -= 1
                                    client.slice_s = max(QUANTUM_S, SLICE_PER_SWAP * took)
                            continue                   # ready now, unless it was freed meanwhile
                    if cancelled():
                        raise Cancelled()
                    self._cond.wait(self._wait_time(now))
            finally:
                if ticket is not None and ticket in self._queue:
                    self._queue.remove(ticket)
                    self._cond.notify_all()

    @staticmethod
    def _may_pass(client: SwapClient | None, wanted: list[Placement], now: float) -> bool:
        """Whether a client whose buffers are resident may run before the clients waiting
        for room: within its time slice, or when it holds nothing they could take."""
        if client is None or client.protected(now):
            return True
        return all(p.pinned for p in wanted)

    def _grant(self, client: SwapClient | None, wanted: list[Placement], pin: bool, now: float,
               fresh: bool) -> None:
        if pin:
            for p in wanted:
                p.pinned = True
        if client is not None:
            client.active += 1
            if fresh:
                client.granted_at = now            # it waited its turn: a new time slice
            client.last_used = now

    def _wait_time(self, now: float) -> float:
        """Until the next time slice ends (a client may become evictable), at most a tick."""
        ends = [c.granted_at + c.slice_s - now for c in self._clients() if c.protected(now)]
        return max(0.001, min([WAIT_TICK_S, *ends]))

    def _clients(self) -> set[SwapClient]:
        return {o for p in self._placements.values() for o in p.owners}

    def _plan(self, client: SwapClient | None, wanted: list[Placement], now: float) -> list[Placement] | None:
        """Buffers to evict so that `wanted` fits, None if not possible now."""
        self._check_fits(client, 0, wanted if client is None else None)
        need = sum(p.size for p in wanted if not p.resident)
        free = self.capacity - self.resident
        if need <= free:
            return []
        chosen = set(wanted)
        candidates = [p for p in self._placements.values()
                      if p.resident and not p.pinned and not p.moving and p not in chosen and p.owners
                      and not any(o.running(now) for o in p.owners)]
        # clients with nothing queued first, then the least recently used, big buffers first
        candidates.sort(key=lambda p: (any(o.busy() for o in p.owners),
                                       max(o.last_used for o in p.owners), -p.size))
        victims = []
        for p in candidates:
            if free >= need:
                break
            victims.append(p)
            free += p.size
        return victims if free >= need else None

    def _check_fits(self, client: SwapClient | None, extra: int, wanted: list[Placement] | None = None) -> None:
        """ENOMEM unless the client's buffers (plus `extra` bytes) and every pinned buffer of
        others fit in VRAM together, now or once others stop running."""
        mine = set(wanted) if wanted is not None else client.placements if client is not None else set()
        pinned = sum(p.size for p in self._placements.values()
                     if (p.pinned or not p.owners) and p not in mine)
        need = sum(p.size for p in mine) + extra
        if need + pinned > self.capacity:
            raise CardError(errno.ENOMEM, f"{need} bytes of VRAM buffers cannot be resident together with "
                                          f"{pinned} pinned bytes: the card has {self.capacity}")

    def _check_pin(self, p: Placement) -> None:
        """ENOMEM when pinning `p` would leave some client's buffers no room ever."""
        pinned = sum(q.size for q in self._placements.values() if (q.pinned or not q.owners) and q is not p)
        if pinned + p.size > self.capacity:
            raise CardError(errno.ENOMEM, f"cannot pin {p.size} more bytes of VRAM: {pinned} of "
                                          f"{self.capacity} are pinned already")
        for c in self._clients() - p.owners:
            if c.total() + pinned + p.size - sum(q.size for q in c.placements if q.pinned) > self.capacity:
                raise CardError(errno.ENOMEM, f"pinning {p.size} bytes would leave a client's "
                                              f"{c.total()} bytes of buffers no room")

    def _transfer(self, victims: list[Placement], incoming: list[Placement]) -> float:
        """Evict `victims`, then restore `incoming`; the copies run without the lock.
        Returns the seconds it took."""
        for p in victims:
            p.moving = True
            self._mark(p, False)
        for p in incoming:
            p.moving = True
        self.resident += sum(p.size for p in incoming) - sum(p.size for p in victims)
        self._moving = True
        # stray accesses to evicted buffers fault from now on
        self.memory.swap_regions([p.region.start for p in victims], [])
        self._cond.release()
        try:
            out_ns = in_ns = 0
            t0 = time.monotonic_ns()
            for p in victims:
                p.store = self._copy_out(p)
            t1 = time.monotonic_ns()
            for p in incoming:
                self._copy_in(p)
            t2 = time.monotonic_ns()
            out_ns, in_ns = t1 - t0, t2 - t1
        finally:
            self._cond.acquire()
            self._moving = False
            for p in victims:
                p.moving = False
            for p in incoming:
                p.moving = False
                self._mark(p, True)
            self.memory.swap_regions([], [p.region for p in incoming])
            self._account(victims, incoming, out_ns, in_ns)
            self._cond.notify_all()
        return (out_ns + in_ns) / 1e9

    @staticmethod
    def _mark(p: Placement, resident: bool) -> None:
        if p.resident != resident:
            p.resident = resident
            for owner in p.owners:
                owner.missing += -1 if resident else 1

    def _copy_out(self, p: Placement) -> np.ndarray:
        store = np.empty(p.size, np.uint8)
        np.copyto(store, p.region.window(p.region.start, p.size))
        self.vram.discard(p.bo.addr - self.vram_base, p.size)
        return store

    def _copy_in(self, p: Placement) -> None:
        if p.store is None:
            self.vram.commit(p.bo.addr - self.vram_base, p.size)    # zeros: only pages to back them
        else:
            np.copyto(p.region.window(p.region.start, p.size), p.store)   # the copy commits the pages
            p.store = None

    def _account(self, victims: list[Placement], incoming: list[Placement], out_ns: int, in_ns: int) -> None:
        for group, outgoing in ((victims, True), (incoming, False)):
            for p in group:
                for s in [self.stats, *(o.stats for o in p.owners)]:
                    if outgoing:
                        s.out_bytes += p.size
                        s.out_count += 1
                    else:
                        s.in_bytes += p.size
                        s.in_count += 1
        self.stats.out_ns += out_ns
        self.stats.in_ns += in_ns

    # ---- reporting ----
    def swapped(self) -> int:
        """Bytes of VRAM buffers not resident now."""
        with self._cond:
            return sum(p.size for p in self._placements.values() if not p.resident)
