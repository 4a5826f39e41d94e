"""The simulated card below L1: buffer objects, the VRAM allocator, device memory, ioctl plumbing."""
from __future__ import annotations

import errno
import random

import numpy as np
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from gdev_shim.card import Card, CardError, CardFile, vram_base
from gdev_shim.card.allocator import RangeAllocator
from gdev_shim.card.card import GART_OFFSET, MAX_CHANNELS
from gdev_shim.common.contract import C, ffi, ioctl_request
from gdev_shim.ptx.memory import MemoryFault
from helpers import HOST, ioctl, MiB, VRAM


@pytest.fixture
def card() -> Card:
    return Card(1, vram_size=64 * MiB)


def gem_new(f: CardFile, size: int, domain: int = VRAM):
    return ioctl(f, C.AIDEV_NR_GEM_NEW, "aidev_gem_new", size=size, domain=domain)


def gem_free(f: CardFile, handle: int):
    return ioctl(f, C.AIDEV_NR_GEM_FREE, "aidev_gem_free", handle=handle)


# ---- allocator ----

def test_allocator_first_fit_and_coalescing() -> None:
    a = RangeAllocator(64 * 4096)
    x, y, z = a.alloc(4096), a.alloc(5000), a.alloc(4096)
    assert (x, y, z) == (0, 4096, 3 * 4096)
    assert a.used == 4 * 4096
    assert a.free(y) == 2 * 4096
    assert a.alloc(4096) == 4096            # first fit reuses the hole
    a.free(4096)
    a.free(x)
    assert a.alloc(3 * 4096) == 0           # x and y's hole merged into one range
    a.free(0)
    a.free(z)
    assert a.free_ranges() == [(0, 64 * 4096)] and a.used == 0
    assert a.alloc(65 * 4096) is None
    with pytest.raises(KeyError):
        a.free(12345)


@hsettings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(1, 40_000)), max_size=60))
def test_allocator_random_ops_keep_invariants(ops: list[tuple[bool, int]]) -> None:
    a = RangeAllocator(1 << 20)
    live: dict[int, int] = {}
    rng = random.Random(len(ops))
    for do_free, size in ops:
        if do_free and live:
            off = rng.choice(sorted(live))
            assert a.free(off) == live.pop(off)
        else:
            off = a.alloc(size)
            if off is not None:
                assert off % 4096 == 0
                live[off] = -(-size // 4096) * 4096
    spans = sorted(live.items()) + a.free_ranges()
    spans.sort()
    pos = 0
    for off, size in spans:                 # used and free ranges tile the span exactly
        assert off == pos
        pos += size
    assert pos == 1 << 20 and a.used == sum(live.values())
    for i in range(len(a.free_ranges()) - 1):   # no two free ranges touch (they would have merged)
        s0, n0 = a.free_ranges()[i]
        assert s0 + n0 < a.free_ranges()[i + 1][0]


# ---- GEM ----

def test_gem_new_free_info(file: CardFile, card: Card) -> None:
    rc, a = gem_new(file, 10_000)
    assert rc == 0 and a.handle > 0
    assert a.addr == vram_base(1) and a.map_offset != 0
    rc, b = gem_new(file, 1)
    assert rc == 0 and b.handle != a.handle and b.addr == a.addr + 3 * 4096
    rc, info = ioctl(file, C.AIDEV_NR_GEM_INFO, "aidev_gem_info", handle=a.handle)
    assert rc == 0 and (info.domain, info.size, info.addr) == (VRAM, 3 * 4096, a.addr)
    rc, dev = ioctl(file, C.AIDEV_NR_GET_INFO, "aidev_device_info")
    assert dev.vram_used == 4 * 4096
    rc, freed = gem_free(file, a.handle)
    assert rc == 0 and freed.size == 3 * 4096
    assert gem_free(file, a.handle)[0] == -errno.ENOENT
    assert ioctl(file, C.AIDEV_NR_GEM_INFO, "aidev_gem_info", handle=a.handle)[0] == -errno.ENOENT
    assert card.buffers.vram_used == 4096


def test_gem_limits(file: CardFile) -> None:
    assert gem_new(file, 0)[0] == -errno.EINVAL
    assert gem_new(file, 4096, domain=7)[0] == -errno.EINVAL
    assert ioctl(file, C.AIDEV_NR_GEM_NEW, "aidev_gem_new", size=4096, domain=VRAM, flags=1)[0] == -errno.EINVAL
    assert gem_new(file, 64 * MiB + 1)[0] == -errno.ENOMEM
    assert gem_new(file, (1 << 64) - 1)[0] == -errno.ENOMEM
    assert gem_new(file, (1 << 64) - 1, HOST)[0] == -errno.ENOMEM
    rc, whole = gem_new(file, 64 * MiB)
    assert rc == 0
    assert gem_new(file, 4096)[0] == -errno.ENOMEM
    assert gem_free(file, whole.handle)[0] == 0
    assert gem_new(file, 4096)[0] == 0


def test_host_buffer_is_shared_with_the_card(file: CardFile, card: Card) -> None:
    rc, h = gem_new(file, 8192, HOST)
    assert rc == 0 and h.addr == vram_base(1) + GART_OFFSET and h.map_offset != 0
    view = np.frombuffer(file.mmap(h.map_offset, 8192), dtype=np.uint32)
    view[:4] = [1, 2, 3, 4]
    got = card.memory.load(np.array([h.addr + 4, h.addr + 12], dtype=np.uint64), np.uint32)
    assert got.tolist() == [2, 4]
    card.memory.store(np.array([h.addr + 8192 - 8], dtype=np.uint64), np.array([7], dtype=np.uint64))
    assert int(view.view(np.uint64)[-1]) == 7
    with pytest.raises(CardError, match="exceeds 8192"):
        file.mmap(h.map_offset, 8193)
    with pytest.raises(CardError, match="nothing to map"):
        file.mmap(h.map_offset + 4096, 10)


def test_handles_belong_to_their_open(card: Card) -> None:
    f1, f2 = CardFile(card), CardFile(card)
    rc, a = gem_new(f1, 4096)
    assert gem_free(f2, a.handle)[0] == -errno.ENOENT
    f1.close()                                   # closing frees what the open held
    assert card.buffers.vram_used == 0
    assert gem_new(f1, 4096)[0] == -errno.EBADF
    f2.close()


def test_ioctl_rejects_unknown_requests(file: CardFile) -> None:
    arg = ffi.new("struct aidev_gem_new *", {"size": 4096, "domain": VRAM})
    assert file.ioctl(0x1234, arg) == -errno.ENOTTY
    wrong = ffi.new("struct aidev_gem_free *")
    assert file.ioctl(ioctl_request(C.AIDEV_NR_GEM_NEW, "struct aidev_gem_new"), wrong) == -errno.EFAULT
    assert file.ioctl(ioctl_request(C.AIDEV_NR_GEM_NEW, "struct aidev_gem_new"), None) == -errno.EFAULT


def test_device_info(file: CardFile) -> None:
    rc, info = ioctl(file, C.AIDEV_NR_GET_INFO, "aidev_device_info")
    assert rc == 0
    assert ffi.string(info.name) == b"aicard-sim"
    assert info.card_index == 1 and info.pci_bus == 1
    assert info.vram_base == 0x0011_0000_0000_0000 and info.vram_size == 64 * MiB
    assert info.gart_base == info.vram_base + 0x0000_8000_0000_0000
    assert (info.spe_arrays, info.spes_per_array, info.warp_size) == (4, 32, 32)
    assert info.max_threads_per_block == 1024 and info.shared_mem_per_block == 48 << 10
    assert (info.compute_major, info.compute_minor) == (8, 0)
    assert info.max_channels == MAX_CHANNELS and info.channels_in_use == 0


# ---- device memory ----

def test_memory_load_store_fast_and_slow_paths(file: CardFile, card: Card) -> None:
    _, a = gem_new(file, 4096)
    _, h = gem_new(file, 4096, HOST)
    _, b = gem_new(file, 4096)
    mem = card.memory
    addrs = np.array([a.addr + 4 * i for i in range(8)], dtype=np.uint64)
    mem.store(addrs, np.arange(8, dtype=np.int32) * 3)
    assert mem.load(addrs, np.int32).tolist() == [0, 3, 6, 9, 12, 15, 18, 21]
    # lanes spread over two VRAM buffers and one host buffer
    mixed = np.array([b.addr, h.addr + 8, a.addr + 8, h.addr], dtype=np.uint64).reshape(2, 2)
    mem.store(mixed, np.array([[1.5, 2.5], [3.5, 4.5]], dtype=np.float64))
    assert mem.load(mixed, np.float64).tolist() == [[1.5, 2.5], [3.5, 4.5]]
    assert mem.load(np.array([a.addr + 8], dtype=np.uint64), np.float64)[0] == 3.5
    assert mem.load(np.array([], dtype=np.uint64), np.float32).shape == (0,)


def test_memory_faults(file: CardFile, card: Card) -> None:
    _, a = gem_new(file, 4096)
    mem = card.memory
    with pytest.raises(MemoryFault) as info:
        mem.load(np.array([a.addr, a.addr + 4096, a.addr + 8], dtype=np.uint64), np.uint32)
    assert info.value.address == a.addr + 4096
    with pytest.raises(MemoryFault, match="misaligned") as info:
        mem.load(np.array([a.addr, a.addr + 6], dtype=np.uint64), np.uint32)
    assert info.value.address == a.addr + 6
    with pytest.raises(MemoryFault):                 # the last item would straddle the end
        mem.load(np.array([a.addr + 4092], dtype=np.uint64), np.uint64)
    with pytest.raises(MemoryFault):
        mem.store(np.array([0, 8], dtype=np.uint64), np.array([1, 2], dtype=np.uint64))
    with pytest.raises(MemoryFault):
        mem.load(np.array([(1 << 64) - 8], dtype=np.uint64), np.uint64)
    gem_free(file, a.handle)
    with pytest.raises(MemoryFault):                 # a freed buffer is no longer backed
        mem.load(np.array([a.addr], dtype=np.uint64), np.uint8)


def test_dma_copy_fill_bounds(file: CardFile, card: Card) -> None:
    _, a = gem_new(file, 8192)
    _, h = gem_new(file, 8192, HOST)
    mem = card.memory
    mem.fill(a.addr, 0xABCD, 2, 4096)
    mem.copy(h.addr, a.addr, 8192)
    host = np.frombuffer(file.mmap(h.map_offset, 8192), dtype=np.uint16)
    assert (host == 0xABCD).all()
    mem.copy(a.addr + 1, a.addr, 100)                # overlapping copy behaves as memmove
    with pytest.raises(MemoryFault):
        mem.copy(h.addr, a.addr, 8193)
    with pytest.raises(MemoryFault):
        mem.fill(a.addr + 2, 0, 4, 1)
    mem.copy(a.addr + 8192, a.addr, 0)               # empty copies touch nothing


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def test_freeing_vram_releases_resident_memory() -> None:
    card = Card(2, vram_size=512 * MiB)
    f = CardFile(card)
    size = 128 * MiB
    before = _rss()
    rc, a = gem_new(f, size)
    assert rc == 0
    card.memory.fill(a.addr, 0x01010101, 4, size // 4)
    touched = _rss()
    assert touched - before > size * 0.9           # committed (at allocation, or by the fill)
    gem_free(f, a.handle)
    assert touched - _rss() > size * 0.9
    # a new buffer over the same range reads as zero
    rc, b = gem_new(f, size)
    assert b.addr == a.addr
    assert card.memory.load(np.array([b.addr + 4096], dtype=np.uint64), np.uint32)[0] == 0
    f.close()


def test_channel_limit(file: CardFile, card: Card) -> None:
    ids = []
    for _ in range(MAX_CHANNELS):
        rc, ch = ioctl(file, C.AIDEV_NR_CHANNEL_ALLOC, "aidev_channel_alloc")
        assert rc == 0
        ids.append(ch.channel)
    assert sorted(ids) == list(range(MAX_CHANNELS))
    assert ioctl(file, C.AIDEV_NR_CHANNEL_ALLOC, "aidev_channel_alloc")[0] == -errno.EBUSY
    assert ioctl(file, C.AIDEV_NR_CHANNEL_FREE, "aidev_channel_free", channel=5)[0] == 0
    assert ioctl(file, C.AIDEV_NR_CHANNEL_FREE, "aidev_channel_free", channel=5)[0] == -errno.ENOENT
    rc, again = ioctl(file, C.AIDEV_NR_CHANNEL_ALLOC, "aidev_channel_alloc")
    assert rc == 0 and again.channel == 5
    file.close()
    assert card.channels_in_use() == 0
