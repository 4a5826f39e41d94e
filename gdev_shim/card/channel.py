"""A channel: push buffer, register page and fence page, plus the waits built on them.

The command processor (processor.py) consumes the push buffer; this module holds
the state it shares with the host side (doorbell, fences, fault status) behind
one condition variable, so every wait here sleeps until something changes.
"""
from __future__ import annotations

import errno
import mmap
import threading
import time

import numpy as np

from ..common.contract import C, ffi
from .buffers import BufferObject
from .vram import PAGE

PB_BYTES = C.AIDEV_PB_WORDS * 8
FENCE_BYTES = ffi.sizeof("struct aidev_fence_page")
_U32 = 0xFFFF_FFFF


class Channel:
    def __init__(self, card_index: int, channel_id: int, fence: BufferObject,
                 pb_offset: int, regs_offset: int, fence_offset: int) -> None:
        self.card_index = card_index
        self.id = channel_id
        self.pb_words = C.AIDEV_PB_WORDS
        self.pb_offset, self.regs_offset, self.fence_offset = pb_offset, regs_offset, fence_offset
        self.pb_map = mmap.mmap(-1, PB_BYTES, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)
        self.pb = np.frombuffer(self.pb_map, dtype=np.uint64)
        self.regs_map = mmap.mmap(-1, PAGE, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)
        self.regs = np.frombuffer(self.regs_map, dtype=np.uint32, count=C.AIDEV_REG_COUNT)
        self.fence = fence                       # a host buffer, so the card can also read it by address
        self.fence_addr = fence.addr
        if fence.pages is None:
            raise ValueError("a fence page must be a host buffer")
        half = C.AIDEV_FENCE_SLOTS * 8
        self.fence_seq = np.frombuffer(fence.pages, dtype=np.uint64, count=C.AIDEV_FENCE_SLOTS)
        self.fence_time = np.frombuffer(fence.pages, dtype=np.uint64, count=C.AIDEV_FENCE_SLOTS, offset=half)
        self.cond = threading.Condition()
        self.stopped = False
        self.outstanding = 0                     # commands handed to an engine and not yet finished

    # ---- host side ----
    def doorbell(self, put: int) -> None:
        with self.cond:
            self.regs[C.AIDEV_REG_PB_PUT] = put & _U32
            self.cond.notify_all()

    def write_reg(self, reg: int, value: int) -> None:
        if reg == C.AIDEV_REG_PB_PUT:
            self.doorbell(value)
        else:
            with self.cond:
                self.regs[reg] = value & _U32

    def status(self) -> int:
        return int(self.regs[C.AIDEV_REG_STATUS])

    def wait_fence(self, slot: int, seq: int, timeout_ms: int) -> int:
        """0 once fence[slot] >= seq, -EIO if the channel faulted (or is gone), -ETIMEDOUT after timeout."""
        deadline = time.monotonic() + timeout_ms / 1000.0
        with self.cond:
            while True:
                if int(self.fence_seq[slot]) >= seq:
                    return 0
                if self.status() != C.AIDEV_STATUS_OK or self.stopped:
                    return -errno.EIO
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return -errno.ETIMEDOUT
                self.cond.wait(remaining)

    # ---- card side ----
    def pending(self) -> int:
        """Words published by the host and not yet consumed."""
        return (int(self.regs[C.AIDEV_REG_PB_PUT]) - int(self.regs[C.AIDEV_REG_PB_GET])) & _U32

    def consumed(self, get: int) -> None:
        with self.cond:
            self.regs[C.AIDEV_REG_PB_GET] = get & _U32
            self.cond.notify_all()

    def signal_fence(self, slot: int, seq: int) -> None:
        with self.cond:
            # time first: a host that sees the new sequence number must also see its timestamp
            self.fence_time[slot] = time.monotonic_ns()
            self.fence_seq[slot] = seq
            self.cond.notify_all()

    def notify(self) -> None:
        with self.cond:
            self.cond.notify_all()

    def set_fault(self, status: int, op: int) -> None:
        with self.cond:
            self.regs[C.AIDEV_REG_FAULT_OP] = op & _U32
            self.regs[C.AIDEV_REG_STATUS] = status
            self.cond.notify_all()

    def begin(self) -> None:
        with self.cond:
            self.outstanding += 1

    def end(self) -> None:
        with self.cond:
            self.outstanding -= 1
            self.cond.notify_all()

    def drain(self) -> None:
        """Block until every command handed to an engine has finished (MEMBAR)."""
        with self.cond:
            while self.outstanding and not self.stopped:
                self.cond.wait()

    def stop(self) -> None:
        with self.cond:
            self.stopped = True
            self.cond.notify_all()
