"""Ring-buffer encoding and flow control (L2), with a register page double."""
import numpy as np
import pytest

from gdev_shim.common.contract import C, header_word, split_header
from gdev_shim.gdev.ring import Ring


class Regs:
    def __init__(self):
        self.values = {C.AIDEV_REG_PB_PUT: 0, C.AIDEV_REG_PB_GET: 0}
        self.writes = []

    def read32(self, reg):
        return self.values[reg]

    def write32(self, reg, value):
        self.values[reg] = value
        self.writes.append((reg, value))


def test_header_word_layout_matches_the_contract():
    word = header_word(C.AIDEV_OP_COMPUTE, 2, 0x1234, 9)
    assert word == (3 << 40) | (2 << 32) | (0x1234 << 8) | 9
    assert split_header(word) == (C.AIDEV_OP_COMPUTE, 2, 0x1234, 9)


def test_begin_out_and_fire_publish_words_at_put():
    pb = np.zeros(16, np.uint64)
    regs = Regs()
    ring = Ring(pb, regs, wait_fence=lambda seq: None)
    ring.begin(C.AIDEV_OP_MEMCPY, 0, 0, 3)
    for w in (0xA, 0xB, 0xC):
        ring.out(w)
    assert regs.writes == []                     # nothing visible before fire
    ring.fire()
    assert regs.writes == [(C.AIDEV_REG_PB_PUT, 4)]
    assert list(pb[:4]) == [header_word(C.AIDEV_OP_MEMCPY, 0, 0, 3), 0xA, 0xB, 0xC]


def test_words_wrap_around_the_ring():
    pb = np.zeros(8, np.uint64)
    regs = Regs()
    ring = Ring(pb, regs, wait_fence=lambda seq: None)
    ring.put = regs.values[C.AIDEV_REG_PB_GET] = 6
    ring.out_many(np.arange(1, 5, dtype=np.uint64))
    assert list(pb) == [3, 4, 0, 0, 0, 0, 1, 2]
    assert ring.put == 10


def test_full_ring_waits_on_the_oldest_fence():
    pb = np.zeros(16, np.uint64)
    regs = Regs()
    waited = []

    def wait(seq):
        waited.append(seq)
        regs.values[C.AIDEV_REG_PB_GET] = ring.put   # the card caught up

    ring = Ring(pb, regs, wait_fence=wait)
    ring.begin(C.AIDEV_OP_FENCE, 0, 0, 2)
    ring.out(0)
    ring.out(1)
    ring.note_fence(1)
    ring.begin(C.AIDEV_OP_NOP, 0, 0, 6)
    ring.put += 6
    assert waited == []                        # 10 of 16 words used
    ring.begin(C.AIDEV_OP_NOP, 0, 0, 6)        # 10 + 7 > 16: the card must catch up
    assert waited == [1]


def test_oversized_command_is_refused():
    ring = Ring(np.zeros(8, np.uint64), Regs(), wait_fence=lambda seq: None)
    with pytest.raises(ValueError):
        ring.begin(C.AIDEV_OP_COMPUTE, 0, 0, 7)
