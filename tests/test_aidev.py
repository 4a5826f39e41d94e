"""L1 (gdev_shim.aidev) through the simulated transport, as L2 uses it."""
from __future__ import annotations

import errno
import time

import numpy as np
import pytest

from gdev_shim.aidev import AidevDevice, AidevError, device_count, transport
from gdev_shim.aidev.kernel import KernelTransport
from gdev_shim.aidev.sim import SimTransport
from gdev_shim.common.contract import C, header_word
from gdev_shim.settings import settings
from helpers import HOST, VRAM


@pytest.fixture(autouse=True)
def sim_transport():
    with settings.override(transport="sim"):
        yield


@pytest.fixture
def dev():
    d = AidevDevice.open(2)
    yield d
    d.close()


def test_transport_choice() -> None:
    assert isinstance(transport(), SimTransport)
    assert device_count() == 4
    with settings.override(sim_cards="2"):
        assert device_count() == 2
        with pytest.raises(AidevError) as info:
            AidevDevice.open(2)
        assert info.value.errno == errno.ENODEV
    with settings.override(transport="dev"):
        assert isinstance(transport(), KernelTransport)
        assert device_count() == 0                           # no /dev/aicard* on this machine
        with pytest.raises(AidevError) as info:
            AidevDevice.open(0)
        assert info.value.errno == errno.ENOENT
    assert device_count() == 4


def test_info(dev: AidevDevice) -> None:
    info = dev.info()
    assert info["name"] == "aicard-sim" and info["card_index"] == 2 and info["pci_bus"] == 2
    assert info["vram_base"] == 0x0012_0000_0000_0000
    assert info["gart_base"] == info["vram_base"] + 0x0000_8000_0000_0000
    assert info["vram_size"] == settings.sim_vram
    assert info["max_block_dim"] == [1024, 1024, 64]
    assert info["warp_size"] == 32 and info["spes_per_array"] == 32 and info["spe_arrays"] == 4


def test_gem_and_map(dev: AidevDevice) -> None:
    handle, addr, offset = dev.gem_new(100_000, VRAM)
    assert offset != 0 and dev.info()["vram_base"] <= addr
    assert dev.gem_info(handle) == (VRAM, 102_400, addr, offset)
    aperture = dev.map(offset, 16)                         # VRAM through the card's aperture
    aperture[:4] = [9, 8, 7, 6]
    assert dev.map(offset, 4).tolist() == [9, 8, 7, 6]
    h2, haddr, hoff = dev.gem_new(5000, HOST)
    view = dev.map(hoff, 8192)
    assert view.dtype == np.uint8 and view.shape == (8192,) and view.flags.writeable
    view[:3] = [1, 2, 3]
    assert dev.map(hoff, 3).tolist() == [1, 2, 3]          # two maps share the pages
    assert dev.gem_free(handle) == 102_400
    assert dev.gem_free(h2) == 8192
    with pytest.raises(AidevError) as info:
        dev.gem_free(handle)
    assert info.value.errno == errno.ENOENT
    with pytest.raises(AidevError) as info:
        dev.gem_new(0, VRAM)
    assert info.value.errno == errno.EINVAL
    with pytest.raises(AidevError) as info:
        dev.gem_new(1 << 70, VRAM)
    assert info.value.errno == errno.EINVAL
    with pytest.raises(AidevError) as info:
        dev.gem_new(settings.sim_vram + 4096, VRAM)
    assert info.value.errno == errno.ENOMEM
    with pytest.raises(AidevError):
        dev.map(0x1234000, 4096)


def test_channel_round_trip(dev: AidevDevice) -> None:
    _, vram, _ = dev.gem_new(4096, VRAM)
    hh, host, hoff = dev.gem_new(4096, HOST)
    host_view = dev.map(hoff, 4096)
    host_view[:] = np.arange(4096) % 256
    ch = dev.channel_alloc()
    assert ch.pb.dtype == np.uint64 and len(ch.pb) == C.AIDEV_PB_WORDS
    assert ch.fence_seq.shape == (C.AIDEV_FENCE_SLOTS,) and ch.fence_time.shape == (C.AIDEV_FENCE_SLOTS,)
    words = [header_word(C.AIDEV_OP_MEMCPY, 0, 0, 3), vram, host, 4096,
             header_word(C.AIDEV_OP_MEMSET, 4, 0, 3), vram, 0x01020304, 4,
             header_word(C.AIDEV_OP_MEMCPY, 0, 0, 3), host, vram, 4096,
             header_word(C.AIDEV_OP_FENCE, 0, 0, 2), 9, 77]
    ch.pb[:len(words)] = words
    ch.regs.write32(C.AIDEV_REG_PB_PUT, len(words))        # the doorbell
    assert dev.fence_wait(ch, 9, 77, 5000) == 0
    assert int(ch.fence_seq[9]) == 77 and int(ch.fence_time[9]) <= time.monotonic_ns()
    assert host_view[:16].tolist() == [4, 3, 2, 1] * 4
    assert host_view[16:20].tolist() == [16, 17, 18, 19]
    assert ch.regs.read32(C.AIDEV_REG_PB_GET) == len(words)
    assert ch.regs.read32(C.AIDEV_REG_STATUS) == C.AIDEV_STATUS_OK
    assert dev.fence_wait(ch, 9, 78, 20) == -errno.ETIMEDOUT
    # a DMA fault: FENCE_WAIT reports -EIO, the status register says why
    info = dev.info()
    past_vram = info["vram_base"] + info["vram_size"]     # never backed
    bad = [header_word(C.AIDEV_OP_MEMCPY, 0, 0, 3), vram, past_vram, 16,
           header_word(C.AIDEV_OP_FENCE, 0, 0, 2), 9, 78]
    ch.pb[len(words):len(words) + len(bad)] = bad
    ch.regs.write32(C.AIDEV_REG_PB_PUT, len(words) + len(bad))
    assert dev.fence_wait(ch, 9, 78, 5000) == -errno.EIO
    assert ch.regs.read32(C.AIDEV_REG_STATUS) == C.AIDEV_STATUS_DMA_FAULT
    with pytest.raises(AidevError) as info:
        dev.fence_wait(ch, C.AIDEV_FENCE_SLOTS, 1, 0)
    assert info.value.errno == errno.EINVAL
    assert dev.info()["channels_in_use"] == 1
    dev.channel_free(ch)
    assert dev.info()["channels_in_use"] == 0
    with pytest.raises(AidevError) as info:
        dev.channel_free(ch)
    assert info.value.errno == errno.ENOENT


def test_fence_page_is_device_visible(dev: AidevDevice) -> None:
    """ACQUIRE on one channel reads another channel's fence page by device address."""
    _, vram, _ = dev.gem_new(4096, VRAM)
    a, b = dev.channel_alloc(), dev.channel_alloc()
    prog = [header_word(C.AIDEV_OP_ACQUIRE, 0, 0, 2), b.fence_addr + 8 * 4, 1,
            header_word(C.AIDEV_OP_FENCE, 0, 0, 2), 0, 1]
    a.pb[:len(prog)] = prog
    a.regs.write32(C.AIDEV_REG_PB_PUT, len(prog))
    assert dev.fence_wait(a, 0, 1, 50) == -errno.ETIMEDOUT
    b.pb[:3] = [header_word(C.AIDEV_OP_FENCE, 0, 0, 2), 4, 1]
    b.regs.write32(C.AIDEV_REG_PB_PUT, 3)
    assert dev.fence_wait(a, 0, 1, 5000) == 0
    dev.channel_free(a)
    dev.channel_free(b)


def test_close_releases_everything() -> None:
    d = AidevDevice.open(1)
    before = d.info()["vram_used"]
    d.gem_new(1 << 20, VRAM)
    d.channel_alloc()
    other = AidevDevice.open(1)                # a second open of the same card shares it
    assert other.info()["vram_used"] == before + (1 << 20)
    assert other.info()["channels_in_use"] >= 1
    d.close()
    d.close()                                  # closing twice is harmless
    assert other.info()["vram_used"] == before
    assert other.info()["channels_in_use"] == 0
    other.close()
    with pytest.raises(AidevError) as info:
        d.info()
    assert info.value.errno == errno.EBADF
