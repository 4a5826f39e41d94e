"""A buffer's second device address (AIDEV_IOCTL_GEM_ALIAS) and buffers of the caller's host
memory (AIDEV_IOCTL_GEM_USERPTR): what managed and registered memory stand on."""
from __future__ import annotations

import errno

import numpy as np
import pytest

from gdev_shim.card import Card, CardFile
from gdev_shim.common.contract import C
from gdev_shim.ptx.memory import MemoryFault
from helpers import HOST, ioctl, MiB, VRAM


@pytest.fixture
def card() -> Card:
    return Card(1, vram_size=64 * MiB)


def gem_new(f: CardFile, size: int, domain: int):
    rc, arg = ioctl(f, C.AIDEV_NR_GEM_NEW, "aidev_gem_new", size=size, domain=domain)
    assert rc == 0
    return arg


def alias(f: CardFile, handle: int, host_addr: int):
    return ioctl(f, C.AIDEV_NR_GEM_ALIAS, "aidev_gem_alias", handle=handle, host_addr=host_addr)


def u32(card: Card, addr: int) -> int:
    return int(card.memory.load(np.array([addr], np.uint64), np.uint32)[0])


@pytest.mark.parametrize("domain", [HOST, VRAM])
def test_an_alias_reaches_the_buffers_bytes_until_it_is_freed(file, card, domain):
    bo = gem_new(file, 8192, domain)
    view = np.frombuffer(file.mmap(bo.map_offset, 8192), np.uint32)
    host = view.ctypes.data
    rc, arg = alias(file, bo.handle, host)
    assert rc == 0 and arg.size == 8192
    view[5] = 0xC0FFEE                                  # the host writes, the card reads at the host address
    assert u32(card, host + 20) == 0xC0FFEE == u32(card, bo.addr + 20)
    card.memory.store(np.array([host + 8188], np.uint64), np.array([9], np.uint32))
    assert view[-1] == 9
    assert alias(file, bo.handle, host)[0] == -errno.EBUSY        # one alias per buffer
    rc, _ = ioctl(file, C.AIDEV_NR_GEM_FREE, "aidev_gem_free", handle=bo.handle)
    assert rc == 0
    with pytest.raises(MemoryFault):
        u32(card, host)


def test_bad_aliases_are_refused(file, card):
    a, b = gem_new(file, 4096, HOST), gem_new(file, 4096, HOST)
    host = np.frombuffer(file.mmap(a.map_offset, 4096), np.uint8).ctypes.data
    assert alias(file, a.handle, host + 8)[0] == -errno.EINVAL             # not page-aligned
    assert alias(file, a.handle, b.addr)[0] == -errno.EINVAL               # a device address
    assert alias(file, a.handle, 0)[0] == -errno.EINVAL
    assert alias(file, 99, host)[0] == -errno.ENOENT
    assert alias(file, a.handle, host)[0] == 0
    assert alias(file, b.handle, host)[0] == -errno.EEXIST                 # overlaps the first


def test_userptr_buffers_are_the_callers_memory_at_its_address(file, card):
    data = np.arange(1000, dtype=np.uint32)             # not page-aligned, not a page multiple
    addr = data.ctypes.data
    rc, arg = ioctl(file, C.AIDEV_NR_GEM_USERPTR, "aidev_gem_userptr", host_addr=addr, size=data.nbytes)
    assert rc == 0 and arg.addr == addr
    assert u32(card, addr + 4 * 999) == 999
    card.memory.store(np.array([addr + 8], np.uint64), np.array([77], np.uint32))
    assert data[2] == 77
    with pytest.raises(MemoryFault):
        u32(card, addr + data.nbytes)                   # bounded by the size given
    again = ioctl(file, C.AIDEV_NR_GEM_USERPTR, "aidev_gem_userptr", host_addr=addr + 4, size=8)
    assert again[0] == -errno.EEXIST
    assert alias(file, arg.handle, addr & ~4095)[0] == -errno.EINVAL
    assert ioctl(file, C.AIDEV_NR_GEM_USERPTR, "aidev_gem_userptr", host_addr=0, size=8)[0] == -errno.EINVAL
    rc, freed = ioctl(file, C.AIDEV_NR_GEM_FREE, "aidev_gem_free", handle=arg.handle)
    assert rc == 0 and freed.size == data.nbytes and data[2] == 77          # forgotten, not freed
    with pytest.raises(MemoryFault):
        u32(card, addr)
