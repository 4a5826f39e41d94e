"""Runtime device calls: properties, attributes, synchronize, reset, versions."""
from __future__ import annotations

from ..driver import device as drv_device
from . import devices, graphs
from .errors import RT, SdaaError, translated

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


# cudaDeviceAttr numbers beyond the driver's table, answered from cuda_properties' fields
_CUDA_ATTRIBUTE_FIELDS = {
    38: "l2CacheSize", 39: "maxThreadsPerMultiProcessor", 40: "asyncEngineCount", 41: "unifiedAddressing",
    50: "pciDomainID", 75: "major", 76: "minor", 78: "streamPrioritiesSupported", 81: "sharedMemPerMultiprocessor",
    82: "regsPerMultiprocessor", 83: "managedMemory", 89: "concurrentManagedAccess", 95: "cooperativeLaunch",
    97: "sharedMemPerBlockOptin", 106: "maxBlocksPerMultiProcessor",
}


def multiprocessor(info: dict) -> dict[str, int]:
    """What one SPE array (CUDA's multiprocessor) holds at once: a block's worth of threads
    and shared memory, in blocks of at least one warp.  Occupancy answers from the same."""
    return {"maxThreadsPerMultiProcessor": info["max_threads_per_block"],
            "maxBlocksPerMultiProcessor": info["max_threads_per_block"] // info["warp_size"],
            "sharedMemPerMultiprocessor": info["shared_mem_per_block"],
            "regsPerMultiprocessor": info["regs_per_block"]}


@translated
def cuda_properties(device: int) -> dict:
    """CUDA 13's cudaDeviceProp fields by name: the card's description, and for what CUDA asks
    beyond it, what the stack does (multiprocessor figures from `multiprocessor`, one copy engine,
    managed memory the host and card reach at one address, no texture units)."""
    props = {k: v for k, v in properties(device).items()
             if k not in ("deviceOverlap", "kernelExecTimeoutEnabled", "computeMode", "clockRate",
                          "memoryClockRate", "speArrayCount", "spesPerArray")}
    i = drv_device.info(device)
    props.update(multiprocessor(i))
    props.update({
        "uuid": device.to_bytes(4, "little") + b"aidev-sim\0\0\0",
        "sharedMemPerBlockOptin": i["shared_mem_per_block"], "asyncEngineCount": 1, "pciDomainID": 0,
        "l2CacheSize": 0, "unifiedAddressing": 0, "managedMemory": 1, "concurrentManagedAccess": 1,
        "streamPrioritiesSupported": 0, "cooperativeLaunch": 1, "texturePitchAlignment": drv_device.TEXTURE_ALIGNMENT,
    })
    return props


@translated
def cuda_attribute(attr: int, device: int) -> int:
    field = _CUDA_ATTRIBUTE_FIELDS.get(attr)
    if field is None:
        return attribute(attr, device)
    return int(cuda_properties(device)[field])


def check_peer(peer: int, flags: int) -> None:
    """The checks of enabling peer access, made before the answer that no card has it."""
    devices.check(peer)
    if peer == devices.current():
        raise SdaaError(RT.sdaaErrorInvalidDevice, f"device {peer} cannot be its own peer")
    if flags != 0:
        raise SdaaError(RT.sdaaErrorInvalidValue, f"peer access flags 0x{flags:x}")


def can_access_peer(device: int, peer: int) -> int:
    """Each card has its own memory and no path to another's."""
    devices.check(device)
    devices.check(peer)
    return 0


@translated
def attribute(attr: int, device: int) -> int:
    devices.check(device)
    # sdaaDeviceAttr numbers follow the driver's SDdevice_attribute numbering.
    return drv_device.attribute(device, attr)


@translated
def synchronize() -> None:
    """Wait for all work on this thread's current card."""
    graphs.unsafe("cudaDeviceSynchronize")
    ctx = devices.context()
    ctx.synchronize()


def reset() -> None:
    devices.reset(devices.current())


def driver_version() -> int:
    return drv_device.DRIVER_VERSION

