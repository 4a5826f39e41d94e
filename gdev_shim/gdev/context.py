"""A Gdev context: one card channel, its ring and its fence sequence."""
from __future__ import annotations

import threading

from ..aidev.device import AidevDevice
from ..common.contract import C
from .ring import Ring

# Slot 0 of the fence page carries the context's own sequence; events and
# streams take slots from 1 on.
CTX_FENCE_SLOT = 0


class GdevCtx:
    def __init__(self, dev: AidevDevice, sid: int = 0) -> None:
        self.dev = dev
        self.channel = dev.channel_alloc()
        self.sid = sid
        self.seq = 0                       # last sequence handed out on CTX_FENCE_SLOT
        self.lock = threading.RLock()      # ring writes from several host threads
        self.ring = Ring(self.channel.pb, self.channel.regs, self._wait_for_ring)
        self.compute = None                # set by gopen from the backend
        self.slots = SlotAllocator(C.AIDEV_FENCE_SLOTS)

    def _wait_for_ring(self, seq: int) -> None:
        self.compute.fence_wait(self, CTX_FENCE_SLOT, seq, -1)

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def close(self) -> None:
        self.dev.channel_free(self.channel)


class SlotAllocator:
    """Fence slots 1.. of a channel, handed to events (slot 0 is the context's)."""

    def __init__(self, slots: int) -> None:
        self.free = list(range(slots - 1, 0, -1))

    def take(self) -> int:
        if not self.free:
            raise RuntimeError("no free fence slot")
        return self.free.pop()

    def give(self, slot: int) -> None:
        self.free.append(slot)
