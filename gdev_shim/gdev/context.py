"""A Gdev context: one card channel (a queue of work), its ring, fences and bounce buffers.

A handle has one context of its own; streams get further contexts on the same
card, each with its own channel, so the card runs them independently.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from ..aidev.device import AidevDevice
from ..common.contract import C
from .errors import ChannelFault
from .ring import Ring

if TYPE_CHECKING:
    from .compute import ComputeTable

# Slot 0 of the fence page carries the context's own sequence; markers (events)
# take slots from 1 on.
CTX_FENCE_SLOT = 0


class SlotAllocator:
    """Fence slots 1.. of a channel, handed to markers (slot 0 is the context's)."""

    def __init__(self, slots: int) -> None:
        self.free = list(range(slots - 1, 0, -1))

    def take(self) -> int:
        if not self.free:
            raise RuntimeError("no free fence slot")
        return self.free.pop()

    def give(self, slot: int) -> None:
        self.free.append(slot)


class GdevCtx:
    def __init__(self, dev: AidevDevice, compute: "ComputeTable", sid: int = 0) -> None:
        self.dev = dev
        self.compute = compute
        self.channel = dev.channel_alloc()
        self.sid = sid
        self.seq = 0                       # last sequence handed out on CTX_FENCE_SLOT
        self.lock = threading.RLock()      # ring writes from several host threads
        self.copy_lock = threading.Lock()  # one bounce-buffer pipeline at a time
        self.ring = Ring(self.channel.pb, self.channel.regs, self._wait_for_ring)
        self.ring.trace_key = (dev.minor, self.channel.id)
        self.slots = SlotAllocator(C.AIDEV_FENCE_SLOTS)
        self.bounce: list[list] = []       # [DeviceMem, seq that last used it]
        compute.init(self)

    def _wait_for_ring(self, seq: int) -> None:
        self.compute.fence_wait(self, CTX_FENCE_SLOT, seq, -1)

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def fence(self) -> int:
        """Emit a fence after everything queued so far and publish the ring."""
        with self.lock:
            seq = self.next_seq()
            self.compute.fence_write(self, CTX_FENCE_SLOT, seq)
            self.compute.fire(self)
        return seq

    def wait(self, seq: int, timeout_ms: int = -1) -> None:
        self.compute.fence_wait(self, CTX_FENCE_SLOT, seq, timeout_ms)

    def done(self, seq: int) -> bool:
        """Has the card passed `seq`?  Raises ChannelFault if the channel stopped."""
        if self.compute.fence_read(self, CTX_FENCE_SLOT) >= seq:
            return True
        status = int(self.channel.regs.read32(C.AIDEV_REG_STATUS))
        if status != C.AIDEV_STATUS_OK:
            raise ChannelFault(status, f"card {self.dev.minor} channel {self.channel.id} "
                                       f"faulted (status {status})")
        return False

    def idle(self) -> bool:
        """Has the card executed every command written to this context's ring (fenced or
        not: a wait for another channel is a command too)?  A stopped channel never is.
        When the last command is a fence the card has reached, everything before it ran:
        the card writes a fence that follows a kernel as the kernel ends, before it
        advances PB_GET past them."""
        if self.ring.idle():
            return True
        seq = self.ring.last_fence()
        return seq is not None and self.done(seq)

    @property
    def fence_addr(self) -> int:
        """Device address of this channel's sequence (what ACQUIRE of another channel reads)."""
        return self.channel.fence_addr + 8 * CTX_FENCE_SLOT

    def close(self) -> None:
        self.dev.channel_free(self.channel)
