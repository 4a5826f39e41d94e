"""The Gdev API (L2) against the simulated cards: memory, copies, sync, tuning, shm."""
import errno

import numpy as np
import pytest

from gdev_shim.gdev import api as g
from gdev_shim.gdev.errors import GdevError


@pytest.fixture
def h():
    handle = g.gopen(1)
    yield handle
    g.gclose(handle)


def roundtrip(handle, data: np.ndarray) -> np.ndarray:
    addr = g.gmalloc(handle, data.nbytes)
    g.gsync(handle, g.gmemcpy_to_device_async(handle, addr, data.ctypes.data, data.nbytes))
    out = np.zeros_like(data)
    g.gsync(handle, g.gmemcpy_from_device_async(handle, out.ctypes.data, addr, data.nbytes))
    g.gfree(handle, addr)
    return out


def test_device_count_and_addresses_name_their_card(h):
    assert g.gdevice_count() == 4
    other = g.gopen(2)
    try:
        a1, a2 = g.gmalloc(h, 4096), g.gmalloc(other, 4096)
        assert a1 >> 48 != a2 >> 48                 # each card has its own address window
        assert a1 >= 0x0010_0000_0000_0000          # not a host (canonical user) address
    finally:
        g.gclose(other)


def test_gopen_of_a_missing_card_fails():
    with pytest.raises(GdevError) as e:
        g.gopen(9)
    assert e.value.errno == errno.ENODEV


def test_gfree_returns_the_size_and_unknown_addresses_fail(h):
    addr = g.gmalloc(h, 12345)
    assert g.gfree(h, addr) == 12345
    with pytest.raises(GdevError):
        g.gfree(h, addr)


def test_allocation_beyond_vram_fails(h):
    with pytest.raises(GdevError) as e:
        g.gmalloc(h, g.gquery(h, g.QUERY_DEVICE_MEM_SIZE) + 4096)
    assert e.value.errno == errno.ENOMEM


@pytest.mark.parametrize("chunk,pipeline", [(4096, 1), (4096, 3), (1 << 20, 2)])
def test_pipelined_copies_through_bounce_buffers(h, chunk, pipeline):
    g.gtune(h, g.TUNE_MEMCPY_CHUNK_SIZE, chunk)
    g.gtune(h, g.TUNE_MEMCPY_PIPELINE_COUNT, pipeline)
    data = np.random.default_rng(chunk + pipeline).integers(0, 2**32, 300_001, dtype=np.uint32)
    assert np.array_equal(roundtrip(h, data), data)


def test_copy_from_a_dma_buffer_goes_direct(h):
    host = g.gmalloc_dma(h, 1 << 16)
    view = np.frombuffer((np.ctypeslib.as_array((np.ctypeslib.ctypes.c_uint8 * (1 << 16)).from_address(host))),
                         np.uint8)
    view[:] = np.arange(1 << 16) % 251
    addr = g.gmalloc(h, 1 << 16)
    g.gsync(h, g.gmemcpy_to_device_async(h, addr, host, 1 << 16))
    out = np.zeros(1 << 16, np.uint8)
    g.gsync(h, g.gmemcpy_from_device_async(h, out.ctypes.data, addr, 1 << 16))
    assert np.array_equal(out, view)
    assert g.gvirtget(h, host + 10) == g.gvirtget(h, host) + 10
    assert g.gfree_dma(h, host) == 1 << 16


def test_device_to_device_copy_and_memset(h):
    a, b = g.gmalloc(h, 4096), g.gmalloc(h, 4096)
    g.gsync(h, g.gmemset_async(h, a, 0xDEADBEEF, 4, 1024))
    g.gsync(h, g.gmemcpy_async(h, b, a, 4096))
    out = np.zeros(1024, np.uint32)
    g.gsync(h, g.gmemcpy_from_device_async(h, out.ctypes.data, b, 4096))
    assert (out == 0xDEADBEEF).all()


def test_copy_past_the_end_of_an_allocation_is_refused(h):
    addr = g.gmalloc(h, 4096)
    buf = np.zeros(4097, np.uint8)
    with pytest.raises(GdevError) as e:
        g.gmemcpy_to_device_async(h, addr, buf.ctypes.data, 4097)
    assert e.value.errno == errno.EINVAL


def test_gsync_zero_returns_at_once_and_unknown_ids_fail(h):
    g.gsync(h, 0)
    with pytest.raises(GdevError):
        g.gsync(h, h.ctx.seq + 100)


def test_gtune_rejects_out_of_range_values(h):
    with pytest.raises(GdevError):
        g.gtune(h, g.TUNE_MEMCPY_CHUNK_SIZE, 1)
    with pytest.raises(GdevError):
        g.gtune(h, 99, 1)


def test_gquery_reports_the_card(h):
    assert g.gquery(h, g.QUERY_DEVICE_MEM_SIZE) == h.info["vram_size"] > 0
    assert g.gquery(h, g.QUERY_PCI_VENDOR) == g.PCI_VENDOR_AIDEV
    with pytest.raises(GdevError):
        g.gquery(h, 42)


def test_shared_memory_between_two_handles_of_a_card(h):
    other = g.gopen(1)
    try:
        shm_id = g.gshmget(h, 77, 4096, 0o1000)
        assert g.gshmget(other, 77, 4096, 0) == shm_id
        a, b = g.gshmat(h, shm_id), g.gshmat(other, shm_id)
        assert a == b
        data = np.arange(1024, dtype=np.uint32)
        g.gsync(h, g.gmemcpy_to_device_async(h, a, data.ctypes.data, 4096))
        assert g.gshmctl(other, shm_id, 2) == 4096
        g.gshmdt(h, a)
        g.gshmdt(other, b)
        assert g.gshmctl(h, shm_id, 0) == 0            # IPC_RMID frees it
        with pytest.raises(GdevError):
            g.gshmget(other, 77, 4096, 0)
    finally:
        g.gclose(other)


def test_markers_carry_card_timestamps(h):
    slot = g.gmarker_new(h)
    first = g.gmarker_record(h, slot)
    g.gsync(h, first)
    t1 = g.gmarker_time_ns(h, slot)
    g.gsync(h, g.gmarker_record(h, slot))
    assert g.gdone(h, first)
    assert g.gmarker_time_ns(h, slot) >= t1 > 0
    g.gmarker_free(h, slot)


def test_gmap_gives_a_host_view_of_device_memory(h):
    addr = g.gmalloc(h, 4096)
    g.gsync(h, g.gmemset_async(h, addr, 7, 1, 4096))
    host = g.gmap(h, addr + 16, 16)
    arr = np.ctypeslib.as_array((np.ctypeslib.ctypes.c_uint8 * 16).from_address(host))
    assert list(arr) == [7] * 16
    g.gunmap(h, host)
