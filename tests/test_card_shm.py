"""Shared segments on the card (AIDEV_IOCTL_SHM_*): keyed, attached by any open, held by opens."""
from __future__ import annotations

import errno

import pytest

from gdev_shim.card import Card, CardFile
from gdev_shim.common.contract import C, ffi, ioctl_request
from helpers import VRAM, MiB

CREATE, EXCL, EXPORT = C.AIDEV_SHM_CREATE, C.AIDEV_SHM_EXCL, C.AIDEV_SHM_EXPORT


@pytest.fixture
def card() -> Card:
    return Card(2, vram_size=64 * MiB)


def ioctl(f: CardFile, nr: int, name: str, **fields: int):
    arg = ffi.new(f"struct {name} *", fields)
    return f.ioctl(ioctl_request(nr, f"struct {name}"), arg), arg


def shm_get(f: CardFile, key: int, size: int, flags: int = 0, handle: int = 0):
    return ioctl(f, C.AIDEV_NR_SHM_GET, "aidev_shm_get", key=key, size=size, flags=flags, handle=handle)


def attach(f: CardFile, shm_id: int):
    return ioctl(f, C.AIDEV_NR_SHM_ATTACH, "aidev_shm_attach", id=shm_id)


def ctl(f: CardFile, shm_id: int, cmd: int):
    return ioctl(f, C.AIDEV_NR_SHM_CTL, "aidev_shm_ctl", id=shm_id, cmd=cmd)


def free(f: CardFile, handle: int) -> int:
    return ioctl(f, C.AIDEV_NR_GEM_FREE, "aidev_gem_free", handle=handle)[0]


def test_a_key_finds_one_segment_that_both_opens_see_at_one_address(card):
    a, b = CardFile(card), CardFile(card)
    rc, got = shm_get(a, 77, 3 * 4096, CREATE)
    assert rc == 0 and got.seg_size == 3 * 4096
    assert shm_get(b, 77, 4096)[1].id == got.id
    assert shm_get(b, 77, 4096, CREATE | EXCL)[0] == -errno.EEXIST
    assert shm_get(b, 77, 4 * 4096)[0] == -errno.EINVAL        # larger than the segment
    assert shm_get(b, 78, 4096)[0] == -errno.ENOENT
    (rc1, x), (rc2, y) = attach(a, got.id), attach(b, got.id)
    assert rc1 == rc2 == 0 and x.addr == y.addr and x.size == 3 * 4096
    view_a = memoryview(a.mmap(x.map_offset, 4096)).cast("B")
    view_a[:4] = b"gdev"
    assert bytes(b.mmap(y.map_offset, 4096)[:4]) == b"gdev"
    used = card.buffers.vram_used
    assert ctl(a, got.id, C.AIDEV_SHM_STAT)[1].attached == 2
    assert free(a, x.handle) == 0 and free(a, x.handle) == -errno.ENOENT
    assert ctl(b, got.id, C.AIDEV_SHM_RMID)[0] == 0
    assert shm_get(a, 77, 4096)[0] == -errno.ENOENT            # the key is gone ...
    assert card.buffers.vram_used == used                       # ... the memory not yet: b attaches
    assert free(b, y.handle) == 0
    assert card.buffers.vram_used == used - 3 * 4096
    assert card.segments.count() == 0
    a.close()
    b.close()


def test_closing_the_last_holder_frees_a_segment(card):
    a, b = CardFile(card), CardFile(card)
    shm_id = shm_get(a, 5, 4096, CREATE)[1].id
    attach(b, shm_id)
    a.close()                                       # b attaches: it lives
    assert card.segments.count() == 1 and card.buffers.vram_used == 4096
    b.close()                                       # b was killed, say
    assert card.segments.count() == 0 and card.buffers.vram_used == 0


def test_private_keys_make_new_segments_and_bad_requests_fail(card):
    f = CardFile(card)
    assert shm_get(f, 0, 4096, CREATE)[1].id != shm_get(f, 0, 4096, CREATE)[1].id
    assert shm_get(f, 9, 0, CREATE)[0] == -errno.EINVAL
    assert shm_get(f, 9, 4096, 0x80)[0] == -errno.EINVAL
    assert shm_get(f, 9, 1 << 62, CREATE)[0] == -errno.ENOMEM
    assert attach(f, 12345)[0] == -errno.ENOENT
    assert ctl(f, 12345, C.AIDEV_SHM_STAT)[0] == -errno.ENOENT
    assert ctl(f, shm_get(f, 9, 4096, CREATE)[1].id, 7)[0] == -errno.EINVAL
    f.close()
    assert card.segments.count() == 0 and card.buffers.vram_used == 0


def test_an_exported_buffer_outlives_its_owner_while_another_open_holds_it(card):
    master, slave = CardFile(card), CardFile(card)
    rc, bo = ioctl(master, C.AIDEV_NR_GEM_NEW, "aidev_gem_new", size=4096, domain=VRAM)
    rc, seg = shm_get(master, 0, 0, EXPORT, handle=bo.handle)
    assert rc == 0
    assert shm_get(master, 0, 0, EXPORT, handle=bo.handle)[1].id == seg.id       # once per buffer
    assert shm_get(slave, 0, 0, EXPORT, handle=bo.handle)[0] == -errno.ENOENT   # not the slave's
    rc, ref = attach(slave, seg.id)
    assert ref.addr == bo.addr
    assert free(master, bo.handle) == 0
    master.close()
    assert card.buffers.vram_used == 4096
    assert free(slave, ref.handle) == 0
    assert card.buffers.vram_used == 0
    slave.close()
