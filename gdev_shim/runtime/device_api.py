"""Runtime device calls: properties, attributes, synchronize, reset, versions."""
from __future__ import annotations

from ..driver import device as drv_device
from . import devices
from .errors import translated

RUNTIME_VERSION = 4000


@translated
def properties(device: int) -> dict:
    """sdaaDeviceProp fields by name."""
    devices.check(device)
    i = drv_device.info(device)
    return {
        "name": i["name"], "totalGlobalMem": i["vram_size"], "sharedMemPerBlock": i["shared_mem_per_block"],
        "regsPerBlock": i["regs_per_block"], "warpSize": i["warp_size"], "memPitch": drv_device.MAX_PITCH,
        "maxThreadsPerBlock": i["max_threads_per_block"], "maxThreadsDim": list(i["max_block_dim"]),
        "maxGridSize": list(i["max_grid_dim"]), "clockRate": i["clock_khz"],
        "totalConstMem": i["const_mem_size"], "major": i["compute_major"], "minor": i["compute_minor"],
        "textureAlignment": drv_device.TEXTURE_ALIGNMENT, "deviceOverlap": 1, "multiProcessorCount": i["spe_arrays"],
        "kernelExecTimeoutEnabled": 0, "integrated": 0, "canMapHostMemory": 1, "computeMode": 0,
        "concurrentKernels": 1, "ECCEnabled": 0, "pciBusID": i["pci_bus"], "pciDeviceID": i["pci_device"],
        "memoryClockRate": i["memory_clock_khz"], "memoryBusWidth": i["memory_bus_width"],
        "speArrayCount": i["spe_arrays"], "spesPerArray": i["spes_per_array"],
    }


@translated
def attribute(attr: int, device: int) -> int:
    devices.check(device)
    # sdaaDeviceAttr numbers follow the driver's SDdevice_attribute numbering.
    return drv_device.attribute(device, attr)


@translated
def synchronize() -> None:
    """Wait for all work on this thread's current card."""
    ctx = devices.context()
    ctx.synchronize()


def reset() -> None:
    devices.reset(devices.current())


def driver_version() -> int:
    return drv_device.DRIVER_VERSION

