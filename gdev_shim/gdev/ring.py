"""The push buffer as the host sees it: out_ring, begin, fire.

Words are written at PUT and published by writing REG_PB_PUT (the doorbell);
the card consumes them and advances REG_PB_GET.  When the ring is full the
writer waits for the card through the fence it last emitted (a blocking ioctl)
instead of polling GET.
"""
from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Callable

from ..common.contract import C, header_word
from ..trace import recorder as trace

if TYPE_CHECKING:
    import numpy as np


class Ring:
    def __init__(self, pb: np.ndarray, regs, wait_fence: Callable[[int], None]) -> None:
        self.pb = pb
        self.words = len(pb)
        self.regs = regs
        self.put = int(regs.read32(C.AIDEV_REG_PB_PUT))
        self._wait_fence = wait_fence
        self._fences: deque[tuple[int, int]] = deque()   # (ring position after it, seq)
        self._seen_consumed = self.put   # the card consumed at least this far (GET only grows)
        self.trace_key: tuple[int, int] | None = None    # (card, channel): links commands to calls in a trace

    def _consumed(self) -> int:
        # GET counts words since creation; the 32-bit register wraps, PUT bounds it.
        get = int(self.regs.read32(C.AIDEV_REG_PB_GET))
        self._seen_consumed = self.put - ((self.put - get) & 0xFFFFFFFF)
        return self._seen_consumed

    def reserve(self, count: int) -> None:
        """Make room for `count` words, waiting for the card if the ring is full.

        GET is read only when what the card was last seen to have consumed leaves too
        little room: most commands fit without looking at the card at all."""
        if count > self.words // 2:
            raise ValueError(f"command of {count} words does not fit a ring of {self.words}")
        if self.put + count - self._seen_consumed <= self.words:
            return
        while self.put + count - self._consumed() > self.words:
            if not self._fences:
                raise RuntimeError("ring full and no fence to wait on")
            _, seq = self._fences.popleft()
            self._wait_fence(seq)
        consumed = self._seen_consumed
        while self._fences and self._fences[0][0] <= consumed:
            self._fences.popleft()

    def idle(self) -> bool:
        """The card has consumed (executed) every word written so far."""
        return self.put == self._seen_consumed or self._consumed() == self.put

    def last_fence(self) -> int | None:
        """The sequence of the context fence that is the last command written, if it is."""
        fences = self._fences
        if fences and fences[-1][0] == self.put:
            return fences[-1][1]
        return None

    def out(self, word: int) -> None:
        self.pb[self.put % self.words] = word
        self.put += 1

    def out_many(self, words: np.ndarray) -> None:
        start = self.put % self.words
        end = start + len(words)
        if end <= self.words:
            self.pb[start:end] = words
        else:
            split = self.words - start
            self.pb[start:] = words[:split]
            self.pb[: end - self.words] = words[split:]
        self.put += len(words)

    def begin(self, op: int, fn: int, sid: int, n: int) -> None:
        self.reserve(n + 1)
        if trace.on and self.trace_key is not None:
            trace.submitted(*self.trace_key, self.put, op)
        self.out(header_word(op, fn, sid, n))

    def note_fence(self, seq: int) -> None:
        self._fences.append((self.put, seq))

    def fire(self) -> None:
        self.regs.write32(C.AIDEV_REG_PB_PUT, self.put & 0xFFFFFFFF)
