"""Ring programs written by hand against the simulated card's command processor."""
from __future__ import annotations

import errno
import logging
import threading
import time

import numpy as np
import pytest

from gdev_shim.card import Card, CardFile
from gdev_shim.common.contract import C, header_word
from helpers import HOST, MiB, Ring, gem, ioctl


@pytest.fixture
def card() -> Card:
    return Card(0, vram_size=64 * MiB)


def test_memset_memcpy_fence(file: CardFile) -> None:
    vram = gem(file, 16384)
    host = gem(file, 16384, HOST)
    host_view = np.frombuffer(file.mmap(host.map_offset, 16384), dtype=np.uint8)
    host_view[:] = np.arange(16384) % 251
    ring = Ring(file)
    t0 = time.monotonic_ns()
    ring.emit(C.AIDEV_OP_MEMCPY, vram.addr, host.addr, 16384)                 # H2D
    ring.emit(C.AIDEV_OP_MEMSET, vram.addr + 4096, 0x11223344, 256, fn=4)
    ring.emit(C.AIDEV_OP_MEMSET, vram.addr + 8192, 0xBEEF, 3, fn=2)
    ring.emit(C.AIDEV_OP_MEMSET, vram.addr + 8200, 0x1FF, 5, fn=1)            # value truncated to a byte
    ring.emit(C.AIDEV_OP_NOP, 1, 2, 3)
    ring.emit(C.AIDEV_OP_MEMBAR)
    ring.emit(C.AIDEV_OP_MEMCPY, host.addr, vram.addr, 16384)                 # D2H
    ring.emit(C.AIDEV_OP_FENCE, 3, 42)
    ring.emit(C.AIDEV_OP_NOTIFY, 3)
    ring.fire()
    assert ring.wait(3, 42) == (0, C.AIDEV_STATUS_OK)
    expect = (np.arange(16384) % 251).astype(np.uint8)
    expect[4096:5120] = np.frombuffer(np.full(256, 0x11223344, dtype="<u4").tobytes(), dtype=np.uint8)
    expect[8192:8198] = [0xEF, 0xBE] * 3
    expect[8200:8205] = 0xFF
    assert (host_view == expect).all()
    assert int(ring.fence_seq[3]) == 42
    assert t0 <= int(ring.fence_time[3]) <= time.monotonic_ns()
    deadline = time.monotonic() + 2
    while ring.regs[C.AIDEV_REG_PB_GET] != ring.put and time.monotonic() < deadline:
        time.sleep(0.001)
    assert ring.regs[C.AIDEV_REG_PB_GET] == ring.put


def test_fence_wait_timeout_and_poll(file: CardFile) -> None:
    ring = Ring(file)
    start = time.monotonic()
    assert ring.wait(0, 1, timeout_ms=80) == (-errno.ETIMEDOUT, C.AIDEV_STATUS_OK)
    assert 0.07 <= time.monotonic() - start < 2
    assert ring.wait(0, 1, timeout_ms=0)[0] == -errno.ETIMEDOUT
    assert ring.wait(0, 0, timeout_ms=0)[0] == 0            # seq 0 is already reached
    rc, _ = ioctl(file, C.AIDEV_NR_FENCE_WAIT, "aidev_fence_wait", channel=ring.id,
                  slot=C.AIDEV_FENCE_SLOTS, seq=1, timeout_ms=0)
    assert rc == -errno.EINVAL
    rc, _ = ioctl(file, C.AIDEV_NR_FENCE_WAIT, "aidev_fence_wait", channel=99, slot=0, seq=1, timeout_ms=0)
    assert rc == -errno.ENOENT


def test_fence_wait_wakes_when_the_fence_arrives(file: CardFile) -> None:
    ring = Ring(file)
    ring.emit(C.AIDEV_OP_FENCE, 1, 5)
    timer = threading.Timer(0.05, ring.fire)
    timer.start()
    start = time.monotonic()
    assert ring.wait(1, 5, timeout_ms=5000) == (0, C.AIDEV_STATUS_OK)
    assert time.monotonic() - start < 1.0
    timer.join()


def test_dma_fault_stops_the_channel(file: CardFile, card_log: pytest.LogCaptureFixture) -> None:
    vram = gem(file, 4096)
    ring = Ring(file)
    ring.emit(C.AIDEV_OP_FENCE, 0, 1)
    ring.emit(C.AIDEV_OP_MEMSET, vram.addr, 0x5A, 4096, fn=1)
    ring.emit(C.AIDEV_OP_MEMCPY, vram.addr + 4096, vram.addr, 16)          # destination unbacked
    ring.emit(C.AIDEV_OP_MEMSET, vram.addr, 0, 4096, fn=1)                 # must not run
    ring.emit(C.AIDEV_OP_FENCE, 0, 2)
    ring.fire()
    assert ring.wait(0, 2) == (-errno.EIO, C.AIDEV_STATUS_DMA_FAULT)
    assert ring.regs[C.AIDEV_REG_STATUS] == C.AIDEV_STATUS_DMA_FAULT
    assert ring.regs[C.AIDEV_REG_FAULT_OP] == C.AIDEV_OP_MEMCPY
    assert ring.regs[C.AIDEV_REG_PB_GET] == 3 + 4                          # stopped at the faulting command
    assert int(ring.fence_seq[0]) == 1
    assert ring.wait(0, 1) == (0, C.AIDEV_STATUS_DMA_FAULT)                # reached fences still count
    host = file.card.memory.read(vram.addr, 4096)
    assert host == b"\x5a" * 4096
    records = [r for r in card_log.records if r.name == "gdev.card"]
    assert len(records) == 1 and records[0].levelno == logging.WARNING
    assert f"{vram.addr + 4096:#x}" in records[0].getMessage()
    # later doorbells do not restart a faulted channel
    ring.emit(C.AIDEV_OP_FENCE, 0, 3)
    ring.fire()
    assert ring.wait(0, 3, timeout_ms=50) == (-errno.EIO, C.AIDEV_STATUS_DMA_FAULT)


@pytest.mark.parametrize("words, op", [
    ([header_word(99, 0, 0, 0)], 99),
    ([header_word(C.AIDEV_OP_MEMSET, 3, 0, 3), 0, 0, 1], C.AIDEV_OP_MEMSET),
    ([header_word(C.AIDEV_OP_MEMCPY, 0, 0, 2), 0, 0], C.AIDEV_OP_MEMCPY),
    ([header_word(C.AIDEV_OP_FENCE, 0, 0, 2), C.AIDEV_FENCE_SLOTS, 1], C.AIDEV_OP_FENCE),
    ([header_word(C.AIDEV_OP_COMPUTE, 0, 0, 2), 0, 0], C.AIDEV_OP_COMPUTE),
    ([header_word(C.AIDEV_OP_NOP, 0, 0, 0) | (1 << 60)], C.AIDEV_OP_NOP),
])
def test_malformed_commands(file: CardFile, card_log: pytest.LogCaptureFixture, words: list[int],
                            op: int) -> None:
    ring = Ring(file)
    for w in words:
        ring.pb[ring.put] = w
        ring.put += 1
    ring.emit(C.AIDEV_OP_FENCE, 0, 1)
    ring.fire()
    assert ring.wait(0, 1) == (-errno.EIO, C.AIDEV_STATUS_BAD_COMMAND)
    assert ring.regs[C.AIDEV_REG_FAULT_OP] == op
    assert "bad command" in card_log.records[-1].getMessage()


def test_partial_command_waits_for_the_rest(file: CardFile) -> None:
    ring = Ring(file)
    ring.emit(C.AIDEV_OP_FENCE, 7, 9)
    ring.channel.write_reg(C.AIDEV_REG_PB_PUT, 2)          # header and one of two argument words
    assert ring.wait(7, 9, timeout_ms=50)[0] == -errno.ETIMEDOUT
    assert ring.regs[C.AIDEV_REG_PB_GET] == 0
    ring.fire()
    assert ring.wait(7, 9)[0] == 0


def test_ring_wraps_around(file: CardFile) -> None:
    vram = gem(file, 4096)
    ring = Ring(file)
    words = len(ring.pb)
    while ring.put + 256 <= words - 5:                     # fill with 256-word NOPs
        ring.emit(C.AIDEV_OP_NOP, *([0] * 255))
    while ring.put < words - 5:
        ring.emit(C.AIDEV_OP_NOP)
    ring.emit(C.AIDEV_OP_FENCE, 0, 1)
    ring.fire()
    assert ring.wait(0, 1)[0] == 0                        # the card has consumed (almost) the whole ring
    assert ring.put == words - 2
    ring.emit(C.AIDEV_OP_MEMSET, vram.addr, 0xC3, 64, fn=1)   # straddles the end of the ring
    ring.emit(C.AIDEV_OP_FENCE, 0, 2)
    ring.fire()
    assert ring.wait(0, 2)[0] == 0
    assert file.card.memory.read(vram.addr, 64) == b"\xc3" * 64
    assert ring.put > words


def test_runaway_put_is_a_bad_command(file: CardFile) -> None:
    ring = Ring(file)
    ring.channel.write_reg(C.AIDEV_REG_PB_PUT, len(ring.pb) + 5)
    assert ring.wait(0, 1)[0] == -errno.EIO
    assert ring.regs[C.AIDEV_REG_STATUS] == C.AIDEV_STATUS_BAD_COMMAND


def test_acquire_waits_for_another_channel(file: CardFile) -> None:
    vram = gem(file, 4096)
    waiter, signaller = Ring(file), Ring(file)
    waiter.emit(C.AIDEV_OP_ACQUIRE, signaller.alloc.fence_addr + 8 * 2, 3)   # signaller's slot 2 >= 3
    waiter.emit(C.AIDEV_OP_MEMSET, vram.addr, 0x77, 16, fn=1)
    waiter.emit(C.AIDEV_OP_FENCE, 0, 1)
    waiter.fire()
    assert waiter.wait(0, 1, timeout_ms=100)[0] == -errno.ETIMEDOUT
    assert file.card.memory.read(vram.addr, 16) == bytes(16)
    signaller.emit(C.AIDEV_OP_FENCE, 2, 3)
    signaller.fire()
    assert waiter.wait(0, 1)[0] == 0
    assert file.card.memory.read(vram.addr, 16) == b"\x77" * 16


def test_acquire_on_host_memory_and_bad_address(file: CardFile) -> None:
    host = gem(file, 4096, HOST)
    view = np.frombuffer(file.mmap(host.map_offset, 4096), dtype=np.uint64)
    ring = Ring(file)
    ring.emit(C.AIDEV_OP_ACQUIRE, host.addr + 16, 1)
    ring.emit(C.AIDEV_OP_FENCE, 0, 1)
    ring.fire()
    assert ring.wait(0, 1, timeout_ms=50)[0] == -errno.ETIMEDOUT
    view[2] = 1                                           # a host store, seen by the card
    assert ring.wait(0, 1)[0] == 0
    ring.emit(C.AIDEV_OP_ACQUIRE, host.addr - 8, 1)         # below the GART window: unbacked
    ring.fire()
    assert ring.wait(0, 2) == (-errno.EIO, C.AIDEV_STATUS_DMA_FAULT)


def test_free_channel_while_acquire_waits(file: CardFile, card: Card) -> None:
    host = gem(file, 4096, HOST)
    ring = Ring(file)
    ring.emit(C.AIDEV_OP_ACQUIRE, host.addr, 1)
    ring.fire()
    time.sleep(0.02)
    start = time.monotonic()
    assert ioctl(file, C.AIDEV_NR_CHANNEL_FREE, "aidev_channel_free", channel=ring.id)[0] == 0
    assert time.monotonic() - start < 1
    assert card.channels_in_use() == 0


def test_channels_run_concurrently(file: CardFile) -> None:
    vram = gem(file, 8 * MiB)
    rings = [Ring(file) for _ in range(4)]
    for i, ring in enumerate(rings):
        for j in range(16):
            ring.emit(C.AIDEV_OP_MEMSET, vram.addr + i * 2 * MiB + j * 4096, i * 16 + j, 1024, fn=4)
        ring.emit(C.AIDEV_OP_FENCE, 0, 1)
    for ring in rings:
        ring.fire()
    for ring in rings:
        assert ring.wait(0, 1)[0] == 0
    words = np.frombuffer(file.card.memory.read(vram.addr, 8 * MiB), dtype=np.uint32)
    for i in range(4):
        for j in range(16):
            start = (i * 2 * MiB + j * 4096) // 4
            assert (words[start:start + 1024] == i * 16 + j).all()
