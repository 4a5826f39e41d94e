"""Devices: count, identity and attributes, from the card's own information."""
from __future__ import annotations

import threading
from functools import cache

from ..gdev import api as gdev
from ..gdev.api import forked
from ..gdev.errors import GdevError
from .errors import SD, fail, from_gdev

DRIVER_VERSION = 4000           # the CUDA 4.0 driver API level these calls follow
MAX_PITCH = (1 << 31) - 1       # bytes; the largest pitch an int attribute can report
TEXTURE_ALIGNMENT = 512
_init_lock = threading.Lock()
_initialized = False


def init(flags: int) -> None:
    global _initialized
    if flags != 0:
        raise fail(SD.SDAA_ERROR_INVALID_VALUE, f"initialisation flags must be 0, got {flags}")
    if forked():
        raise fail(SD.SDAA_ERROR_NOT_INITIALIZED, "initialising in a child forked after the cards were used")
    with _init_lock:
        if count_raw() == 0:
            raise fail(SD.SDAA_ERROR_NO_DEVICE, "no aicard found")
        _initialized = True


def require_init() -> None:
    if forked():
        raise fail(SD.SDAA_ERROR_NOT_INITIALIZED, "the driver was initialised by the parent process; "
                                                  "a forked child cannot use it")
    if not _initialized:
        raise fail(SD.SDAA_ERROR_NOT_INITIALIZED, "the driver is not initialised (sdInit or cuInit first)")


def count_raw() -> int:
    try:
        return gdev.gdevice_count()
    except GdevError as e:
        raise from_gdev(e) from None


def check(device: int) -> int:
    n = count_raw()
    if not 0 <= device < n:
        raise fail(SD.SDAA_ERROR_INVALID_DEVICE, f"device {device} does not exist (have {n})")
    return device


@cache
def info(device: int) -> dict:
    """The card's static description (aidev_device_info as a dict)."""
    check(device)
    try:
        return gdev.gdevice_info(device)
    except GdevError as e:
        raise from_gdev(e) from None


def name(device: int) -> str:
    return info(device)["name"]


def attributes(device: int) -> dict[int, int]:
    i = info(device)
    a = SD
    return {
        a.SD_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK: i["max_threads_per_block"],
        a.SD_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X: i["max_block_dim"][0],
        a.SD_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y: i["max_block_dim"][1],
        a.SD_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z: i["max_block_dim"][2],
        a.SD_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X: i["max_grid_dim"][0],
        a.SD_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y: i["max_grid_dim"][1],
        a.SD_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z: i["max_grid_dim"][2],
        a.SD_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK: i["shared_mem_per_block"],
        a.SD_DEVICE_ATTRIBUTE_TOTAL_CONSTANT_MEMORY: i["const_mem_size"],
        a.SD_DEVICE_ATTRIBUTE_WARP_SIZE: i["warp_size"],
        a.SD_DEVICE_ATTRIBUTE_MAX_PITCH: MAX_PITCH,
        a.SD_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK: i["regs_per_block"],
        a.SD_DEVICE_ATTRIBUTE_CLOCK_RATE: i["clock_khz"],
        a.SD_DEVICE_ATTRIBUTE_TEXTURE_ALIGNMENT: TEXTURE_ALIGNMENT,
        a.SD_DEVICE_ATTRIBUTE_GPU_OVERLAP: 1,
        a.SD_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: i["spe_arrays"],
        a.SD_DEVICE_ATTRIBUTE_KERNEL_EXEC_TIMEOUT: 0,
        a.SD_DEVICE_ATTRIBUTE_INTEGRATED: 0,
        a.SD_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY: 1,
        a.SD_DEVICE_ATTRIBUTE_COMPUTE_MODE: 0,
        a.SD_DEVICE_ATTRIBUTE_CONCURRENT_KERNELS: 1,
        a.SD_DEVICE_ATTRIBUTE_ECC_ENABLED: 0,
        a.SD_DEVICE_ATTRIBUTE_PCI_BUS_ID: i["pci_bus"],
        a.SD_DEVICE_ATTRIBUTE_PCI_DEVICE_ID: i["pci_device"],
        a.SD_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE: i["memory_clock_khz"],
        a.SD_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH: i["memory_bus_width"],
        a.SD_DEVICE_ATTRIBUTE_SPE_ARRAY_COUNT: i["spe_arrays"],
        a.SD_DEVICE_ATTRIBUTE_SPES_PER_ARRAY: i["spes_per_array"],
    }


def attribute(device: int, attr: int) -> int:
    if attr == SD.SD_DEVICE_ATTRIBUTE_CHANNELS_IN_USE:
        return int(gdev.gdevice_info(device)["channels_in_use"])    # live, not the cached info
    table = attributes(device)
    if attr not in table:
        raise fail(SD.SDAA_ERROR_INVALID_VALUE, f"unknown device attribute {attr}")
    return int(table[attr])


def free_memory(device: int) -> tuple[int, int]:
    """(free, total) bytes of VRAM right now."""
    fresh = gdev.gdevice_info(device)
    return fresh["vram_size"] - fresh["vram_used"], fresh["vram_size"]


def uuid(device: int) -> bytes:
    """16 bytes naming the card: its ordinal and the simulator's mark."""
    return check(device).to_bytes(4, "little") + b"aidev-sim\0\0\0"
