"""Small allocations as pieces of slabs (gdev/suballoc.py): one buffer object of the card
holds many of them, handed out, reused and given back without a round trip."""
import errno

import numpy as np
import pytest

from gdev_shim.gdev import api as g
from gdev_shim.gdev.errors import GdevError
from gdev_shim.gdev.suballoc import MAX_PIECE, MIN_PIECE, slab_size

CARD = 3


@pytest.fixture
def h():
    handle = g.gopen(CARD)
    yield handle
    g.gclose(handle)


def used() -> int:
    return g.gdevice_info(CARD)["vram_used"]      # gives back this process's empty slabs first


def test_small_allocations_are_aligned_disjoint_pieces_of_one_buffer(h):
    before = used()
    addrs = [g.gmalloc(h, n) for n in (1, 100, 256, 200, 255)]
    assert all(a % MIN_PIECE == 0 for a in addrs)
    assert len(set(addrs)) == len(addrs)
    assert max(addrs) - min(addrs) < slab_size(MIN_PIECE)           # one slab
    assert len(h.suballoc.slabs) == 1
    assert h.dev.gem_info(h.vas.find(addrs[0]).gem)[1] == slab_size(MIN_PIECE)
    assert g.gdevice_info(CARD)["vram_used"] - before == slab_size(MIN_PIECE)
    assert g.gfree(h, addrs[1]) == 100                              # the size asked for
    with pytest.raises(GdevError):
        g.gfree(h, addrs[1])
    with pytest.raises(GdevError):                                  # a piece is its own range
        g.gmemset_async(h, addrs[0], 1, 1, MIN_PIECE + 1)


def test_freed_pieces_are_reused_and_empty_slabs_given_back(h):
    before = used()
    first = g.gmalloc(h, 4096)
    g.gfree(h, first)
    assert g.gmalloc(h, 4096) == first            # no round trip: the same piece again
    pieces = [first] + [g.gmalloc(h, 4096) for _ in range(slab_size(4096) // 4096)]
    assert len(h.suballoc.slabs) == 2             # the first slab filled up
    for a in pieces:
        g.gfree(h, a)
    assert len(h.suballoc.slabs) == 1             # one empty slab is kept for the next
    assert used() == before                       # ...and given back when memory is counted
    assert h.suballoc.slabs == []


def test_pieces_hold_their_bytes_and_large_allocations_stay_buffers(h):
    datas = [np.full(n, i + 1, np.uint8) for i, n in enumerate((300, 4096, 5000, MAX_PIECE))]
    addrs = [g.gmalloc(h, d.nbytes) for d in datas]
    for a, d in zip(addrs, datas):
        g.gsync(h, g.gmemcpy_to_device_async(h, a, d.ctypes.data, d.nbytes))
    for a, d in zip(addrs, datas):
        out = np.zeros_like(d)
        g.gsync(h, g.gmemcpy_from_device_async(h, out.ctypes.data, a, d.nbytes))
        assert np.array_equal(out, d)
    big = g.gmalloc(h, MAX_PIECE + 1)
    assert h.vas.find(big).slab is None


def test_out_of_memory_with_slabs(h):
    """When no slab fits, the allocation is a buffer of its own size; when that does not fit
    either, ENOMEM; memory freed makes room for slabs again."""
    g.gmalloc(h, 256)                                      # an empty slab kept after the free
    g.gfree(h, g.gmalloc(h, 4096))
    room = g.gquery(h, g.QUERY_DEVICE_MEM_SIZE) - sum(s.mem.size for s in h.suballoc.slabs) - 4096
    big = g.gmalloc(h, room)                               # leaves one page
    small = g.gmalloc(h, 4096)                             # reuses the kept 4 KiB slab's piece
    assert h.vas.find(small).slab is not None
    other = g.gmalloc(h, 1024)                             # no room for a slab: trims, a page
    assert h.vas.find(other).slab is None
    with pytest.raises(GdevError) as e:
        g.gmalloc(h, 2048)
    assert e.value.errno == errno.ENOMEM
    g.gfree(h, big)
    assert h.vas.find(g.gmalloc(h, 2048)).slab is not None


def test_gref_of_a_piece_outlives_the_masters_free_and_is_not_reused(h):
    slave = g.gopen(CARD)
    try:
        a, b = g.gmalloc(h, 4096), g.gmalloc(h, 4096)
        data = np.arange(1024, dtype=np.uint32)
        g.gsync(h, g.gmemcpy_to_device_async(h, a, data.ctypes.data, data.nbytes))
        assert g.gref(h, a, 4096, slave) == a
        assert g.gref(h, b, 4096, slave) == b              # the same slab: held already
        g.gfree(h, a)
        assert g.gmalloc(h, 4096) not in (a, b)            # the referenced slab gives out nothing
        out = np.zeros_like(data)
        g.gsync(slave, g.gmemcpy_from_device_async(slave, out.ctypes.data, a, data.nbytes))
        assert np.array_equal(out, data)
        g.gunref(slave, a)
    finally:
        g.gclose(slave)


def test_shared_pieces_of_one_slab_reach_their_own_bytes_on_the_card(h):
    """gshare (the __managed__ path) aliases the slab once: each piece's host address is also
    a device address of that piece."""
    a, b, dst = g.gmalloc(h, 512), g.gmalloc(h, 512), g.gmalloc(h, 512)
    host_a, host_b = g.gshare(h, a), g.gshare(h, b)
    assert host_b - host_a == b - a
    g.hostmem.view(host_a, 512)[:] = 5
    g.hostmem.view(host_b, 512)[:] = 9
    q = h.ctx
    with q.lock:                       # the card reads b's bytes by their host address
        q.compute.memcpy(q, dst, host_b, 512)
        seq = q.fence()
    g.gsync(h, seq)
    out = np.zeros(512, np.uint8)
    g.gsync(h, g.gmemcpy_from_device_async(h, out.ctypes.data, dst, 512))
    assert (out == 9).all()
