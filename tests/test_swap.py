"""Device memory overcommit on the card objects: eviction choice, restore before use,
addresses that never change, and ENOMEM only when swapping cannot help (card/swap.py)."""
from __future__ import annotations

import errno
import threading
import time

import numpy as np
import pytest

from gdev_shim.card import Card, CardError, CardFile
from gdev_shim.card.swap import QUANTUM_S
from gdev_shim.common.contract import C
from helpers import HOST, MiB, Ring, gem, ioctl

VRAM_SIZE = 16 * MiB


@pytest.fixture
def card() -> Card:
    return Card(3, vram_size=VRAM_SIZE)


@pytest.fixture
def files(card: Card):
    opened: list[CardFile] = []

    def open_() -> CardFile:
        opened.append(CardFile(card))
        return opened[-1]
    yield open_
    for f in opened:
        f.close()


def _fill(f: CardFile, ring: Ring, addr: int, size: int, value: int, seq: int) -> None:
    """MEMSET a buffer to a 32-bit value and wait until the card has done it."""
    ring.emit(C.AIDEV_OP_MEMSET, addr, value, size // 4, fn=4)
    ring.emit(C.AIDEV_OP_FENCE, 0, seq)
    ring.fire()
    assert ring.wait(0, seq) == (0, C.AIDEV_STATUS_OK)


def _read(f: CardFile, ring: Ring, host, src: int, n: int, seq: int) -> np.ndarray:
    """MEMCPY device bytes into a host buffer (its first n bytes) and return them as uint32."""
    ring.emit(C.AIDEV_OP_MEMCPY, host.addr, src, n)
    ring.emit(C.AIDEV_OP_FENCE, 0, seq)
    ring.fire()
    assert ring.wait(0, seq) == (0, C.AIDEV_STATUS_OK)
    return np.frombuffer(f.mmap(host.map_offset, host.size), dtype=np.uint32)[:n // 4].copy()


def test_allocations_beyond_vram_get_addresses_of_their_own(card: Card, files) -> None:
    owners = [files() for _ in range(3)]
    bos = [gem(f, 10 * MiB) for f in owners]
    starts = sorted(bo.addr for bo in bos)
    assert all(b - a >= 10 * MiB for a, b in zip(starts, starts[1:]))   # no two overlap
    assert starts[-1] + 10 * MiB > card.vram_base + VRAM_SIZE            # beyond VRAM's size
    # only what fits is resident; the rest waits, as zeros, for its owner's next command
    assert card.buffers.vram_used == 10 * MiB
    assert [f.usage()["swapped"] for f in owners] == [0, 10 * MiB, 10 * MiB]
    rc, info = ioctl(owners[0], C.AIDEV_NR_GET_INFO, "aidev_device_info")
    assert rc == 0 and info.vram_used == 10 * MiB and info.vram_size == VRAM_SIZE


def test_restore_before_use_keeps_bytes_and_addresses(card: Card, files) -> None:
    a, b = files(), files()
    buf_a, buf_b = gem(a, 10 * MiB), gem(b, 10 * MiB)
    host_a, host_b = gem(a, 8192, HOST), gem(b, 8192, HOST)
    ring_a, ring_b = Ring(a), Ring(b)
    _fill(a, ring_a, buf_a.addr, 10 * MiB, 0xA0A0_0001, 1)
    assert b.usage()["swapped"] == 10 * MiB
    _fill(b, ring_b, buf_b.addr, 10 * MiB, 0xB0B0_0002, 1)      # brings b in: a must leave
    assert a.usage()["swapped"] == 10 * MiB and b.usage()["swapped"] == 0
    assert card.memory.region_at(buf_a.addr) is None             # a stray access faults, reads no zeros
    assert card.buffers.residency.stats.out_bytes == 10 * MiB
    # a's next command brings its bytes back at the same address, once b's time slice ends
    got = _read(a, ring_a, host_a, buf_a.addr + 10 * MiB - 8192, 8192, 2)
    assert (got == 0xA0A0_0001).all()
    assert b.swap.slice_s >= QUANTUM_S and a.swap.granted_at >= b.swap.granted_at + b.swap.slice_s
    rc, info = ioctl(a, C.AIDEV_NR_GEM_INFO, "aidev_gem_info", handle=buf_a.handle)
    assert rc == 0 and info.addr == buf_a.addr
    assert b.usage()["swapped"] == 10 * MiB and a.usage()["swapped"] == 0
    assert (_read(b, ring_b, host_b, buf_b.addr, 4096, 2) == 0xB0B0_0002).all()
    stats = card.buffers.residency.stats
    assert stats.out_bytes == 30 * MiB and stats.in_bytes == 30 * MiB     # b in (zeros), a in, b in
    assert card.buffers.vram_used <= VRAM_SIZE


def test_eviction_takes_idle_clients_first_then_the_least_recently_used(card: Card, files) -> None:
    a, b, c = files(), files(), files()
    bufs = {f: gem(f, 6 * MiB) for f in (a, b)}
    rings = {f: Ring(f) for f in (a, b, c)}
    _fill(b, rings[b], bufs[b].addr, 4096, 1, 1)
    _fill(a, rings[a], bufs[a].addr, 4096, 2, 1)                 # a used last: b is the LRU
    buf_c = gem(c, 6 * MiB)                                       # no room: not resident yet
    _fill(c, rings[c], buf_c.addr, 4096, 3, 1)
    assert b.usage()["swapped"] == 6 * MiB and a.usage()["swapped"] == 0

    # now b runs again, a is idle and c has work queued (an ACQUIRE of a host word that is
    # not there yet): a, idle, goes before c, although c was used more recently than a
    time.sleep(c.swap.slice_s)                                    # c's slice is over
    flag = gem(c, 4096, HOST)
    rings[c].emit(C.AIDEV_OP_ACQUIRE, flag.addr, 1)
    rings[c].emit(C.AIDEV_OP_FENCE, 0, 2)
    rings[c].fire()
    _fill(b, rings[b], bufs[b].addr, 4096, 4, 2)
    assert a.usage()["swapped"] == 6 * MiB and c.usage()["swapped"] == 0
    np.frombuffer(c.mmap(flag.map_offset, 4096), dtype=np.uint64)[0] = 1
    assert rings[c].wait(0, 2) == (0, C.AIDEV_STATUS_OK)


def test_out_of_memory_only_when_swapping_cannot_help(card: Card, files) -> None:
    a, b = files(), files()
    gem(a, 10 * MiB)
    rc, _ = ioctl(a, C.AIDEV_NR_GEM_NEW, "aidev_gem_new", size=7 * MiB, domain=C.AIDEV_GEM_DOMAIN_VRAM)
    assert rc == -errno.ENOMEM                              # a's own buffers exceed VRAM
    buf_b = gem(b, 10 * MiB)                                # another client's: swapping helps
    # a mapped buffer is pinned; pinning b's 10 MiB would leave a's 10 MiB no room ever
    with pytest.raises(CardError) as exc:
        b.mmap(buf_b.map_offset, 4096)
    assert exc.value.errno == errno.ENOMEM
    small = gem(b, 4 * MiB)
    view = np.frombuffer(b.mmap(small.map_offset, 4 * MiB), dtype=np.uint8)
    view[:3] = [7, 8, 9]
    # a's 10 MiB + b's pinned 4 MiB fit; 3 MiB more for a do not
    rc, _ = ioctl(a, C.AIDEV_NR_GEM_NEW, "aidev_gem_new", size=3 * MiB, domain=C.AIDEV_GEM_DOMAIN_VRAM)
    assert rc == -errno.ENOMEM
    assert ioctl(a, C.AIDEV_NR_GEM_NEW, "aidev_gem_new", size=2 * MiB, domain=C.AIDEV_GEM_DOMAIN_VRAM)[0] == 0
    # the pinned buffer never moves, however the others swap
    ring_a = Ring(a)
    for seq in range(1, 4):
        _fill(a, ring_a, a._buffers[1].addr, 4096, seq, seq)
        _fill(b, Ring(b), buf_b.addr, 4096, seq, 1)
    assert card.buffers.residency.is_resident(small) and view[:3].tolist() == [7, 8, 9]


def test_a_command_whose_buffers_can_never_fit_faults_its_channel(card: Card, files) -> None:
    a, b = files(), files()
    gem(b, 10 * MiB)
    buf_a = gem(a, 10 * MiB)                                      # not resident: no room
    # a buffer of the card's own is pinned: one that would starve a client is refused
    with pytest.raises(CardError) as exc:
        card.gem_new(8 * MiB, C.AIDEV_GEM_DOMAIN_VRAM)
    assert exc.value.errno == errno.ENOMEM
    # a card that loses VRAM under its clients (an injected limit) faults the command
    card.buffers.vram_limit = 8 * MiB
    ring = Ring(a)
    ring.emit(C.AIDEV_OP_MEMSET, buf_a.addr, 1, 16, fn=4)
    ring.emit(C.AIDEV_OP_FENCE, 0, 1)
    ring.fire()
    assert ring.wait(0, 1) == (-errno.EIO, C.AIDEV_STATUS_DMA_FAULT)
    assert "out of VRAM" in ring.channel.fault_text


def test_swapping_under_concurrent_work_keeps_every_client_correct(card: Card, files) -> None:
    clients = [files() for _ in range(3)]
    rounds = 12
    errors: list[str] = []

    def work(f: CardFile, tag: int) -> None:
        buf = gem(f, 7 * MiB)
        host = gem(f, 4 * rounds, HOST)
        ring = Ring(f)
        for i in range(rounds):
            value = tag << 16 | i
            ring.emit(C.AIDEV_OP_MEMSET, buf.addr, value, 7 * MiB // 4, fn=4)
            # the last word of the buffer into slot i: correct only if the whole fill landed
            ring.emit(C.AIDEV_OP_MEMCPY, host.addr + 4 * i, buf.addr + 7 * MiB - 4, 4)
            ring.emit(C.AIDEV_OP_FENCE, 0, i + 1)
            ring.fire()
            if i % 3 == 2 and ring.wait(0, i + 1, timeout_ms=60_000)[0] != 0:
                errors.append(f"client {tag} round {i}: {ring.channel.fault_text}")
                return
        got = np.frombuffer(f.mmap(host.map_offset, 4 * rounds), dtype=np.uint32)
        if got.tolist() != [tag << 16 | i for i in range(rounds)]:
            errors.append(f"client {tag}: {got.tolist()}")

    threads = [threading.Thread(target=work, args=(f, n + 1)) for n, f in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert card.buffers.residency.stats.out_count > 0       # they did not fit together
    assert card.buffers.vram_used <= VRAM_SIZE


def test_closing_a_client_mid_wait_frees_everything(card: Card, files) -> None:
    a, b = files(), files()
    buf_a, buf_b = gem(a, 10 * MiB), gem(b, 10 * MiB)
    ring_a, ring_b = Ring(a), Ring(b)
    _fill(a, ring_a, buf_a.addr, 4096, 1, 1)
    _fill(b, ring_b, buf_b.addr, 4096, 2, 1)                 # a is out, b's slice runs
    ring_a.emit(C.AIDEV_OP_MEMSET, buf_a.addr, 3, 16, fn=4)  # a waits for b's slice to end
    ring_a.fire()
    a.close()
    b.close()
    assert card.buffers.vram_used == 0 and card.buffers.residency.swapped() == 0


def test_a_shared_segment_moves_with_the_opens_that_hold_it(card: Card, files) -> None:
    a, b, c, d = files(), files(), files(), files()
    seg = card.segments.get(a, 1234, 8 * MiB, C.AIDEV_SHM_CREATE)    # a got it: a's, for the swap
    ring_a = Ring(a)
    _fill(a, ring_a, seg.bo.addr, 8 * MiB, 0x5E65_0001, 1)
    buf_d = gem(d, 12 * MiB)
    _fill(d, Ring(d), buf_d.addr, 4096, 2, 1)                      # a is not running: its segment goes
    assert not card.buffers.residency.is_resident(seg.bo) and card.memory.region_at(seg.bo.addr) is None
    assert a.swap.swapped() == 8 * MiB
    # b attaches it: b's next command brings it back with what a wrote, at its address
    assert ioctl(b, C.AIDEV_NR_SHM_ATTACH, "aidev_shm_attach", id=seg.id)[0] == 0
    host_b = gem(b, 8192, HOST)
    got = _read(b, Ring(b), host_b, seg.bo.addr + 8 * MiB - 8192, 8192, 1)
    assert (got == 0x5E65_0001).all() and card.buffers.residency.is_resident(seg.bo)
    # an open whose buffers and the segment could never be resident together cannot attach it
    gem(c, 10 * MiB)
    assert ioctl(c, C.AIDEV_NR_SHM_ATTACH, "aidev_shm_attach", id=seg.id)[0] == -errno.ENOMEM
    # a closes: the segment is b's alone; b closes too: nobody holds it, and it is freed
    a.close()
    assert card.buffers.residency.owned_by(seg.bo, b.swap) and not card.buffers.residency.owned_by(seg.bo, a.swap)
    b.close()
    assert card.segments.count() == 0 and a.swap.placements == set() == b.swap.placements
