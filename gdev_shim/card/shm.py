"""Shared segments of a card: buffer objects every open of the card can attach (gshm*, gref).

A driver keeps them, not a process: an open that attaches a segment holds it, and
closing the open (the process exiting or killed) lets go of it, as a driver's file
release does.  See struct aidev_shm_get in aidev_drm.h for the rules.  For the swap
(swap.py), a segment's buffer belongs to every open that got or attached it.
"""
from __future__ import annotations

import errno
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..common.contract import C
from .buffers import BufferObject
from .errors import CardError

if TYPE_CHECKING:
    from .card import Card
    from .swap import SwapClient

MAX_SEGMENTS = 4096              # segments of one card; more get -ENOSPC
KEYS = C.AIDEV_SHM_CREATE | C.AIDEV_SHM_EXCL


@dataclass(eq=False)
class Segment:
    id: int
    key: int                      # 0: no key finds it (private or exported)
    size: int                     # bytes asked for (the buffer may be larger: page-rounded)
    bo: BufferObject
    removed: bool = False
    attached: dict[object, int] = field(default_factory=dict)   # open -> its attachments
    getters: set[object] = field(default_factory=set)           # opens that got or exported it

    def attachments(self) -> int:
        return sum(self.attached.values())


class Segments:
    def __init__(self, card: Card) -> None:
        self.card = card
        self._lock = threading.Lock()
        self._by_id: dict[int, Segment] = {}
        self._next_id = 1

    def get(self, opener: object, key: int, size: int, flags: int) -> Segment:
        """The segment of `key`, or (AIDEV_SHM_CREATE) a new one of `size` VRAM bytes."""
        if flags & ~KEYS:
            raise CardError(errno.EINVAL, f"shm flags {flags:#x}")
        with self._lock:
            found = None if key == 0 else next(
                (s for s in self._by_id.values() if s.key == key and not s.removed), None)
            if found is not None:
                if flags & C.AIDEV_SHM_CREATE and flags & C.AIDEV_SHM_EXCL:
                    raise CardError(errno.EEXIST, f"shm key {key} exists")
                if size > found.size:
                    raise CardError(errno.EINVAL, f"shm key {key}: {size} bytes > segment {found.size}")
                self._hold(found, opener)
                found.getters.add(opener)
                return found
            if not flags & C.AIDEV_SHM_CREATE:
                raise CardError(errno.ENOENT, f"shm key {key} does not exist")
            if size <= 0:
                raise CardError(errno.EINVAL, f"shm segment of {size} bytes")
            self._check_room()
            # the lock stays held: two creators of one key must not both create
            bo = self.card.gem_new(size, C.AIDEV_GEM_DOMAIN_VRAM, owner=_swap_client(opener))
            _claim(opener, bo)
            return self._add(opener, key, size, bo)

    def export(self, opener: object, bo: BufferObject) -> Segment:
        """A keyless segment of an open's buffer (gref); the caller makes its handle an attachment."""
        with self._lock:
            self._check_room()
            seg = self._add(opener, 0, bo.size, bo)
            seg.attached[opener] = 1
            _claim(opener, bo)             # beside the claim of the exporter's own handle
            return seg

    def _check_room(self) -> None:
        if len(self._by_id) >= MAX_SEGMENTS:
            raise CardError(errno.ENOSPC, f"{MAX_SEGMENTS} shared segments exist on card {self.card.index}")

    def _add(self, opener: object, key: int, size: int, bo: BufferObject) -> Segment:
        seg = Segment(self._next_id, key, size, bo, getters={opener})
        self._next_id += 1
        self._by_id[seg.id] = seg
        return seg

    def attach(self, opener: object, shm_id: int) -> Segment:
        with self._lock:
            seg = self._segment(shm_id)
            self._hold(seg, opener)
            seg.attached[opener] = seg.attached.get(opener, 0) + 1
            return seg

    def detach(self, opener: object, seg: Segment) -> None:
        with self._lock:
            left = seg.attached.get(opener, 0) - 1
            if left > 0:
                seg.attached[opener] = left
            else:
                seg.attached.pop(opener, None)
            self._let_go(seg, opener)
            freed = self._reap(seg)
        self._free(freed)

    def control(self, shm_id: int, cmd: int) -> tuple[int, int]:
        """(size, attachments) after AIDEV_SHM_RMID or AIDEV_SHM_STAT."""
        with self._lock:
            seg = self._segment(shm_id)
            if cmd not in (C.AIDEV_SHM_RMID, C.AIDEV_SHM_STAT):
                raise CardError(errno.EINVAL, f"shm command {cmd}")
            if cmd == C.AIDEV_SHM_RMID:
                seg.removed = True
            result = seg.size, seg.attachments()
            freed = self._reap(seg)
        self._free(freed)
        return result

    def forget(self, opener: object) -> None:
        """An open closed: whatever it still attached or got is no longer held by it."""
        with self._lock:
            freed = []
            for seg in list(self._by_id.values()):
                held = opener in seg.attached or opener in seg.getters
                seg.attached.pop(opener, None)
                seg.getters.discard(opener)
                if held:
                    self._let_go(seg, opener)
                freed += self._reap(seg)
        self._free(freed)

    def count(self) -> int:
        with self._lock:
            return len(self._by_id)

    def _segment(self, shm_id: int) -> Segment:
        seg = self._by_id.get(shm_id)
        if seg is None:
            raise CardError(errno.ENOENT, f"no shared segment {shm_id} on card {self.card.index}")
        return seg

    def _hold(self, seg: Segment, opener: object) -> None:
        """The opener's commands may use the segment: its buffer is theirs too for the swap
        (ENOMEM when the opener's buffers and it could never be resident together), and in
        their address space."""
        client = _swap_client(opener)
        if client is not None:
            self.card.buffers.residency.share(seg.bo, client)
        if opener not in seg.attached and opener not in seg.getters:
            _claim(opener, seg.bo)

    def _let_go(self, seg: Segment, opener: object) -> None:
        """Unless the opener still got or attached the segment, it no longer owns its buffer
        (nor reaches it).  Called once when the opener stops holding it."""
        if opener in seg.attached or opener in seg.getters:
            return
        client = _swap_client(opener)
        if client is not None:
            self.card.buffers.residency.unshare(seg.bo, client)
        _unclaim(opener, seg.bo)

    def _reap(self, seg: Segment) -> list[BufferObject]:
        """Under the lock: drop a segment nobody holds; returns its buffer to free."""
        if seg.attachments() or (seg.getters and not seg.removed) or seg.id not in self._by_id:
            return []
        del self._by_id[seg.id]
        return [seg.bo]

    def _free(self, buffers: list[BufferObject]) -> None:
        for bo in buffers:
            self.card.gem_free(bo)


def _claim(opener: object, bo: BufferObject) -> None:
    """The opener's address space (space.py) reaches the segment's buffer."""
    space = getattr(opener, "space", None)
    if space is not None:
        space.card.claim(space, bo.addr)


def _unclaim(opener: object, bo: BufferObject) -> None:
    space = getattr(opener, "space", None)
    if space is not None:
        space.card.unclaim(space, bo.addr)


def _swap_client(opener: object) -> SwapClient | None:
    """The swap's view of an open (a CardFile); None for a caller that is no open."""
    return getattr(opener, "swap", None)
