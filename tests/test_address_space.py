"""Per-client address spaces (card/space.py): a client's kernels and copies reach the buffers
it holds and shared segments it got or attached, nothing else of the card; the tables follow
allocation, free, attach, detach, the swap and the client's close."""
from __future__ import annotations

import errno
import struct

import numpy as np
import pytest

from gdev_shim.card import Card, CardFile
from gdev_shim.common.contract import C
from gdev_shim.common.image import build_image
from gdev_shim.settings import settings
from helpers import ADD_PTX, HOST, MiB, Ring, gem, ioctl
from test_card_compute import emit_compute

VRAM_SIZE = 16 * MiB


@pytest.fixture
def card() -> Card:
    return Card(2, vram_size=VRAM_SIZE)


@pytest.fixture
def opens(card: Card):
    """open_(client): an open of the card by the process `client` names."""
    made: list[CardFile] = []

    def open_(client: str) -> CardFile:
        made.append(CardFile(card, client=client))
        return made[-1]
    yield open_
    for f in made:
        f.close()


def reaches(f: CardFile, addr: int) -> bool:
    return f.space.region_at(addr) is not None


def free(f: CardFile, handle: int) -> None:
    assert ioctl(f, C.AIDEV_NR_GEM_FREE, "aidev_gem_free", handle=handle)[0] == 0


def test_a_client_reaches_its_own_buffers_only(card: Card, opens) -> None:
    a, b = opens("a"), opens("b")
    mine, host = gem(a, 8192), gem(a, 4096, HOST)
    theirs = gem(b, 8192)
    assert reaches(a, mine.addr) and reaches(a, host.addr) and reaches(a, mine.addr + 8191)
    assert not reaches(a, theirs.addr) and not reaches(b, mine.addr) and not reaches(b, host.addr)
    assert {r.start for r in a.space.regions()} == {mine.addr, host.addr}
    # the card's own pages (the channels' fence pages) are no client's
    ring = Ring(a)
    assert not reaches(a, ring.channel.fence_addr) and card.memory.region_at(ring.channel.fence_addr)


def test_opens_of_one_process_share_its_space(card: Card, opens) -> None:
    first, second, other = opens("p"), opens("p"), opens("q")
    assert first.space is second.space is not other.space
    buf = gem(first, 4096)
    assert reaches(second, buf.addr)
    first.close()                                  # its buffer goes with it; the space stays
    assert not reaches(second, buf.addr) and card.spaces.count() == 2
    second.close()
    assert card.spaces.count() == 1


def test_a_freed_address_given_to_another_client_is_that_clients_alone(card: Card, opens) -> None:
    a, b = opens("a"), opens("b")
    old = gem(a, 64 * 1024)
    free(a, old.handle)
    assert not reaches(a, old.addr) and not a.space.holds(old.addr)
    new = gem(b, 64 * 1024)
    assert new.addr == old.addr                    # the allocator hands the range out again
    assert reaches(b, new.addr) and not reaches(a, new.addr)


def test_segments_are_reached_by_who_got_or_attached_them(card: Card, opens) -> None:
    a, b, c = opens("a"), opens("b"), opens("c")
    rc, got = ioctl(a, C.AIDEV_NR_SHM_GET, "aidev_shm_get", key=77, size=8192, flags=C.AIDEV_SHM_CREATE)
    assert rc == 0
    seg = card.segments._segment(got.id)
    assert reaches(a, seg.bo.addr) and not reaches(b, seg.bo.addr)      # the getter reaches it
    rc, at = ioctl(b, C.AIDEV_NR_SHM_ATTACH, "aidev_shm_attach", id=got.id)
    assert rc == 0 and reaches(b, seg.bo.addr) and not reaches(c, seg.bo.addr)
    rc, at2 = ioctl(b, C.AIDEV_NR_SHM_ATTACH, "aidev_shm_attach", id=got.id)
    free(b, at.handle)                             # one of two attachments: still reached
    assert reaches(b, seg.bo.addr)
    free(b, at2.handle)
    assert not reaches(b, seg.bo.addr) and reaches(a, seg.bo.addr)
    a.close()                                      # nobody holds it: freed, reached by none
    assert card.segments.count() == 0 and not reaches(b, seg.bo.addr)


def test_gref_memory_is_reached_by_the_slave_after_the_master_frees_it(card: Card, opens) -> None:
    master, slave = opens("m"), opens("s")
    buf = gem(master, 4096)
    rc, exp = ioctl(master, C.AIDEV_NR_SHM_GET, "aidev_shm_get", handle=buf.handle, flags=C.AIDEV_SHM_EXPORT)
    assert rc == 0
    assert ioctl(slave, C.AIDEV_NR_SHM_ATTACH, "aidev_shm_attach", id=exp.id)[0] == 0
    free(master, buf.handle)
    assert reaches(slave, buf.addr)
    master.close()
    assert reaches(slave, buf.addr) and not master.space.holds(buf.addr)


def test_an_alias_is_reached_by_the_buffers_client(card: Card, opens) -> None:
    a, b = opens("a"), opens("b")
    buf = gem(a, 8192)
    at = 0x7F00_0000_0000
    assert ioctl(a, C.AIDEV_NR_GEM_ALIAS, "aidev_gem_alias", handle=buf.handle, host_addr=at)[0] == 0
    assert reaches(a, at) and not reaches(b, at)
    free(a, buf.handle)
    assert not reaches(a, at) and card.memory.region_at(at) is None


def _memset(ring: Ring, addr: int, value: int, words: int, seq: int) -> tuple[int, int]:
    ring.emit(C.AIDEV_OP_MEMSET, addr, value, words, fn=4)
    ring.emit(C.AIDEV_OP_FENCE, 0, seq)
    ring.fire()
    return ring.wait(0, seq)


def test_a_swapped_buffer_leaves_its_space_and_comes_back(card: Card, opens) -> None:
    a, b = opens("a"), opens("b")
    buf_a = gem(a, 10 * MiB)
    ring_a = Ring(a)
    assert _memset(ring_a, buf_a.addr, 0xA, 16, 1) == (0, C.AIDEV_STATUS_OK)
    buf_b = gem(b, 10 * MiB)                       # VRAM is 16 MiB: b's command evicts a's buffer
    assert _memset(Ring(b), buf_b.addr, 0xB, 16, 1) == (0, C.AIDEV_STATUS_OK)
    assert not card.buffers.residency.is_resident(buf_a)
    assert not reaches(a, buf_a.addr) and a.space.holds(buf_a.addr) and reaches(b, buf_b.addr)
    assert _memset(ring_a, buf_a.addr + 64, 0xA, 16, 2) == (0, C.AIDEV_STATUS_OK)   # brought back in
    assert reaches(a, buf_a.addr) and not reaches(a, buf_b.addr)
    assert (a.space.load(buf_a.addr + 4 * np.arange(32, dtype=np.uint64), np.uint32) == 0xA).all()


def test_copies_to_or_from_another_clients_buffer_fault(card: Card, opens, card_log) -> None:
    a, b = opens("a"), opens("b")
    victim = gem(a, 4096)
    card.memory.write(victim.addr, b"\x5a" * 4096)
    own, host = gem(b, 4096), gem(b, 4096, HOST)
    ring = Ring(b)
    assert _memset(ring, victim.addr, 0, 1024, 1) == (-errno.EIO, C.AIDEV_STATUS_DMA_FAULT)
    assert "address not backed by a buffer object" in card_log.records[-1].getMessage()
    ring2 = Ring(b)
    ring2.emit(C.AIDEV_OP_MEMCPY, host.addr, victim.addr, 4096)
    ring2.emit(C.AIDEV_OP_FENCE, 0, 1)
    ring2.fire()
    assert ring2.wait(0, 1) == (-errno.EIO, C.AIDEV_STATUS_DMA_FAULT)
    assert card.memory.read(victim.addr, 4096) == b"\x5a" * 4096
    assert _memset(Ring(b), own.addr, 7, 1024, 1) == (0, C.AIDEV_STATUS_OK)     # b's own still work
    assert _memset(Ring(a), victim.addr, 9, 1, 1) == (0, C.AIDEV_STATUS_OK)     # a goes on


@pytest.mark.parametrize("engine", ["interp", "jit"])
def test_kernels_reading_or_writing_another_clients_buffer_fault(card: Card, opens, card_log,
                                                                  engine: str) -> None:
    a, b = opens("a"), opens("b")
    n = 256
    victim = gem(a, 4 * n)
    card.memory.write(victim.addr, np.full(n, 123, np.int32).tobytes())
    image = build_image(ADD_PTX)
    code = gem(b, len(image))
    card.memory.write(code.addr, image)
    x, y = gem(b, 4 * n), gem(b, 4 * n)
    card.memory.write(x.addr, np.arange(n, dtype=np.int32).tobytes())
    with settings.override(engine=engine):
        for args, seq in (((victim.addr, x.addr, y.addr), 1),       # reads a's buffer
                          ((x.addr, x.addr, victim.addr), 1)):      # writes it
            ring = Ring(b)
            emit_compute(ring, (code.addr, len(image)), 0, (1, 1, 1), (n, 1, 1), struct.pack("<QQQi", *args, n))
            ring.emit(C.AIDEV_OP_FENCE, 0, seq)
            ring.fire()
            assert ring.wait(0, seq, timeout_ms=60_000) == (-errno.EIO, C.AIDEV_STATUS_COMPUTE_FAULT)
            assert f"{victim.addr:#x}" in card_log.records[-1].getMessage()
        assert (np.frombuffer(card.memory.read(victim.addr, 4 * n), np.int32) == 123).all()
        # the same kernel over b's own buffers runs
        ring = Ring(b)
        emit_compute(ring, (code.addr, len(image)), 0, (1, 1, 1), (n, 1, 1),
                     struct.pack("<QQQi", x.addr, x.addr, y.addr, n))
        ring.emit(C.AIDEV_OP_FENCE, 0, 1)
        ring.fire()
        assert ring.wait(0, 1, timeout_ms=60_000) == (0, C.AIDEV_STATUS_OK)
    assert (np.frombuffer(card.memory.read(y.addr, 4 * n), np.int32) == 2 * np.arange(n)).all()


def test_a_closed_clients_space_is_gone(card: Card, opens) -> None:
    a = opens("a")
    buf = gem(a, 4096)
    space = a.space
    a.close()
    assert card.spaces.count() == 0 and space.regions() == [] and not space.holds(buf.addr)
    assert card.memory._claims == {}


def test_the_sanitizer_names_only_the_faulting_clients_allocations(card: Card, opens) -> None:
    from gdev_shim.card.card import CARD_SPACE
    from gdev_shim.card.sanitizer import CardSanitizer
    sanitizer = CardSanitizer(card.index, card.memory, card.vram_base, card.buffers.address_span, CARD_SPACE,
                              frozenset({"memcheck"}))
    a, b = opens("a"), opens("b")
    theirs, mine = gem(a, 4096), gem(b, 4096)
    stray = theirs.addr + 16
    assert f"{theirs.addr:#x}" in sanitizer.nearest(stray)              # the card sees every buffer
    kind, text = sanitizer.describe(stray, b.space)
    assert kind == "out-of-bounds access" and f"{mine.addr:#x}" in text and f"{theirs.addr:#x}" not in text
    starts, ends = sanitizer.kernel("k", b.space).card.bounds(b.space)
    assert starts.tolist() == [mine.addr] and ends.tolist() == [mine.addr + 4096]
