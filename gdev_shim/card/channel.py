"""A channel: push buffer, register page and fence page, plus the waits built on them.

The command processor (processor.py) consumes the push buffer; this module holds
the state it shares with the host side (doorbell, fences, fault status).  The pages
are shared memory a host in another process maps too, so the two sides meet on
futexes: the processor sleeps on REG_PB_PUT until the host rings the doorbell, and
host waiters sleep on REG_WAKE, which the card bumps after every fence and status
change.  Waiters inside the card's process also use the condition variable.
"""
from __future__ import annotations

import errno
import threading
import time

import numpy as np

from ..common import futex
from ..common.contract import C, ffi
from .buffers import BufferObject
from .condition import QuietCondition
from .vram import PAGE, SharedPages

PB_BYTES = C.AIDEV_PB_WORDS * 8
IDLE_RECHECK_S = 0.5           # the bound on the wake race left (see wait_published)
# A processor whose ring ran dry spins this long before it sleeps: a host that launches
# and waits publishes its next command within microseconds of the fence it waited for, and
# then neither side pays a futex call or a context switch.
CP_SPIN_NS = 20_000
# A processor that finds its host waiting on its own CPU moves to another at most this often.
LEAVE_INTERVAL_NS = 100_000_000
# Waits that sleep at once after a spin in vain, on either side.
SPIN_BACKOFF = 8
FENCE_BYTES = ffi.sizeof("struct aidev_fence_page")
_U32 = 0xFFFF_FFFF


class Channel:
    def __init__(self, card_index: int, channel_id: int, fence: BufferObject,
                 pb_offset: int, regs_offset: int, fence_offset: int, remote_hosts: bool = False) -> None:
        self.card_index = card_index
        # A host in another process wakes the processor only when it says it sleeps
        # (REG_CP_IDLE, below); a host in this process always does, so the processor's
        # sleep needs no timeout, and an idle processor never wakes while the process exits.
        self.remote_hosts = remote_hosts
        self.id = channel_id
        self.pb_words = C.AIDEV_PB_WORDS
        self.pb_offset, self.regs_offset, self.fence_offset = pb_offset, regs_offset, fence_offset
        self.pb_pages = SharedPages(PB_BYTES, f"ch{channel_id}-pb")
        self.pb_map = self.pb_pages.map
        self.pb = np.frombuffer(self.pb_map, dtype=np.uint64)
        self.regs_pages = SharedPages(PAGE, f"ch{channel_id}-regs")
        self.regs_map = self.regs_pages.map
        self.regs = np.frombuffer(self.regs_map, dtype=np.uint32, count=C.AIDEV_REG_COUNT)
        self._put_word = self.regs.ctypes.data + 4 * C.AIDEV_REG_PB_PUT
        base = self.regs.ctypes.data
        self._cpu_words = (base + 4 * C.AIDEV_REG_CARD_CPU, base + 4 * C.AIDEV_REG_HOST_CPU)
        self._spin_skip = 0               # waits left that sleep without spinning (_spin)
        self._leave_at = 0                # when _spin may move this thread again
        self._wake_word = self.regs.ctypes.data + 4 * C.AIDEV_REG_WAKE
        self.fence = fence                       # a host buffer, so the card can also read it by address
        self.fence_addr = fence.addr
        if fence.pages is None:
            raise ValueError("a fence page must be a host buffer")
        half = C.AIDEV_FENCE_SLOTS * 8
        self.fence_seq = np.frombuffer(fence.pages.map, dtype=np.uint64, count=C.AIDEV_FENCE_SLOTS)
        self.fence_time = np.frombuffer(fence.pages.map, dtype=np.uint64, count=C.AIDEV_FENCE_SLOTS,
                                        offset=half)
        # The condition's lock, taken directly on the per-command paths (a `with` on the
        # condition itself is two more Python calls)
        self._lock = threading.RLock()
        self.cond = QuietCondition(self._lock)
        self.stopped = False
        self.outstanding = 0                     # commands handed to an engine and not yet finished
        self.fault_text = ""                     # why the channel stopped, once it faulted

    # ---- host side ----
    def doorbell(self, put: int) -> None:
        self.regs[C.AIDEV_REG_PB_PUT] = put & _U32
        if not self.remote_hosts or self.regs[C.AIDEV_REG_CP_IDLE]:
            futex.wake(self._put_word)

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
    def wait_published(self, need: int) -> bool:
        """Sleep until `need` words are published on a channel in good standing (True) or
        the channel stops (False).  A host in any process wakes it by writing PB_PUT."""
        while True:
            put = int(self.regs[C.AIDEV_REG_PB_PUT])
            if self.stopped:
                return False
            if self.status() == C.AIDEV_STATUS_OK and self.pending() >= need:
                return True
            if not self.remote_hosts:
                futex.wait(self._put_word, put)
                continue
            if futex.SPIN and self._spin(put):
                continue                 # published while this processor spun
            # Remote hosts skip the wake while this processor is busy (REG_CP_IDLE 0).  Raised here,
            # then PB_PUT read again: a host that published before seeing the flag is seen
            # now.  The bounded sleep covers a store of either side still in flight when the
            # other reads (no memory fence is to be had from Python); it never fires otherwise.
            self.regs[C.AIDEV_REG_CP_IDLE] = 1
            if int(self.regs[C.AIDEV_REG_PB_PUT]) == put and not self.stopped:
                futex.wait(self._put_word, put, IDLE_RECHECK_S)
            self.regs[C.AIDEV_REG_CP_IDLE] = 0

    def _spin(self, put: int) -> bool:
        """Spin a little for the host's next command (CP_SPIN_NS): whether it came.  After a
        spin in vain the next few waits sleep at once (a host that does not come back
        quickly, or a loaded machine); with the host on this very CPU it does not spin."""
        if self._spin_skip:
            self._spin_skip -= 1
            return False
        seen = futex.spin_changed(self._put_word, put, CP_SPIN_NS, self._cpu_words[0], self._cpu_words[1])
        if seen == futex.SHARED_CPU:
            self._leave_host_cpu()
        elif seen == futex.TIMED_OUT:
            self._spin_skip = SPIN_BACKOFF
        return seen == futex.REACHED

    def _leave_host_cpu(self) -> None:
        """A host that waits on this processor's CPU makes every spin a delay for both, and
        the pair stays together (the scheduler keeps threads that ran a moment ago where
        they are, and a futex wake pulls the woken thread to the waker's CPU): this thread
        moves to another CPU, at most every LEAVE_INTERVAL_NS, and says where it went."""
        host = int(self.regs[C.AIDEV_REG_HOST_CPU])
        if not host or host - 1 != futex.cpu():
            return
        now = time.monotonic_ns()
        if now < self._leave_at:
            return
        self._leave_at = now + LEAVE_INTERVAL_NS
        if futex.leave_cpu():
            self.regs[C.AIDEV_REG_CARD_CPU] = futex.cpu() + 1

    def _wake_hosts(self) -> None:
        """Bump REG_WAKE and wake its sleepers (host waiters of this channel in any process),
        with the system call only when a host said it sleeps (REG_HOST_WAITING)."""
        self.regs[C.AIDEV_REG_WAKE] = (int(self.regs[C.AIDEV_REG_WAKE]) + 1) & _U32
        if self.regs[C.AIDEV_REG_HOST_WAITING]:
            self.regs[C.AIDEV_REG_HOST_WAITING] = 0
            futex.wake(self._wake_word)
            if futex.SPIN and self.remote_hosts:
                # a host that sleeps rather than spins may be sleeping on this CPU; a
                # processor that never runs dry meets it only here
                self._leave_host_cpu()

    def pending(self) -> int:
        """Words published by the host and not yet consumed."""
        return (int(self.regs[C.AIDEV_REG_PB_PUT]) - int(self.regs[C.AIDEV_REG_PB_GET])) & _U32

    def consumed(self, get: int) -> None:
        with self._lock:
            self.regs[C.AIDEV_REG_PB_GET] = get & _U32
            self.cond.notify_all()

    def signal_fence(self, slot: int, seq: int) -> None:
        with self._lock:
            # time first: a host that sees the new sequence number must also see its timestamp
            self.fence_time[slot] = time.monotonic_ns()
            self.fence_seq[slot] = seq
            self._wake_hosts()
            self.cond.notify_all()

    def notify(self) -> None:
        with self.cond:
            self._wake_hosts()
            self.cond.notify_all()

    def set_fault(self, status: int, op: int, text: str = "") -> None:
        with self.cond:
            self.fault_text = text
            self.regs[C.AIDEV_REG_FAULT_OP] = op & _U32
            self.regs[C.AIDEV_REG_STATUS] = status
            self._wake_hosts()
            self.cond.notify_all()

    def begin(self) -> None:
        with self._lock:
            self.outstanding += 1

    def end(self) -> None:
        with self._lock:
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
            # The processor may have read PB_PUT just before `stopped` was set and be about to
            # sleep on that value: changing the word makes its futex wait return at once.  No
            # host writes this channel's ring any more.
            self.regs[C.AIDEV_REG_PB_PUT] = (int(self.regs[C.AIDEV_REG_PB_PUT]) + 1) & _U32
            futex.wake(self._put_word)
            self._wake_hosts()
            self.cond.notify_all()

    def release_pages(self) -> None:
        """Drop the descriptors of the ring and register pages (mappings keep them alive)."""
        self.pb_pages.close()
        self.regs_pages.close()
