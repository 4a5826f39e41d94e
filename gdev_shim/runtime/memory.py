"""Runtime memory: sdaaMalloc/Free/Memcpy/Memset and page-locked host memory."""
from __future__ import annotations

from ..driver import device as drv_device, memory as drv_mem, stream as drv_stream
from ..driver.context import registry
from ..driver.errors import SdError
from ..gdev import hostmem
from ..log import get
from . import devices
from .errors import RT, SdaaError, translated

log = get("gdev.runtime")
HOST_TO_HOST, HOST_TO_DEVICE, DEVICE_TO_HOST, DEVICE_TO_DEVICE = 0, 1, 2, 3


@translated
def malloc(size: int) -> int:
    ctx = devices.context()
    addr = drv_mem.alloc(ctx, size)
    log.debug("malloc: card=%d size=0x%x -> 0x%x", ctx.device, size, addr)
    return addr


def free(addr: int) -> None:
    if addr == 0:
        return                                      # as free(NULL)
    try:
        drv_mem.free(None, addr)
    except SdError as e:
        raise SdaaError(RT.sdaaErrorInvalidDevicePointer, str(e)) from None
    log.debug("free: 0x%x", addr)


@translated
def malloc_host(size: int) -> int:
    return drv_mem.alloc_host(devices.context(), size)


def free_host(addr: int) -> None:
    if addr == 0:
        return                                      # as free(NULL)
    try:
        drv_mem.free_host(addr)
    except SdError as e:
        raise SdaaError(RT.sdaaErrorInvalidHostPointer, str(e)) from None


def _is_device(addr: int) -> bool:
    return registry.owner(addr)[0] is not None


def check_memcpy(dst: int, src: int, count: int, kind: int) -> None:
    """The runtime's argument checks of sdaaMemcpy*: direction, NULL, device-ness."""
    if kind not in (HOST_TO_HOST, HOST_TO_DEVICE, DEVICE_TO_HOST, DEVICE_TO_DEVICE):
        raise SdaaError(RT.sdaaErrorInvalidMemcpyDirection, f"memcpy kind {kind}")
    if count and (dst == 0 or src == 0):
        raise SdaaError(RT.sdaaErrorInvalidValue, "memcpy with a NULL pointer")
    device_side = {HOST_TO_DEVICE: (dst,), DEVICE_TO_HOST: (src,), DEVICE_TO_DEVICE: (dst, src)}
    for p in device_side.get(kind, ()):
        if count and not _is_device(p):
            raise SdaaError(RT.sdaaErrorInvalidDevicePointer, f"memcpy: 0x{p:x} is not device memory")


@translated
def memcpy(dst: int, src: int, count: int, kind: int) -> None:
    log.debug("memcpy: dst=0x%x src=0x%x count=%d kind=%d", dst, src, count, kind)
    check_memcpy(dst, src, count, kind)
    if count == 0:
        return
    if kind == HOST_TO_HOST:
        hostmem.view(dst, count)[:] = hostmem.view(src, count)
    elif kind == HOST_TO_DEVICE:
        drv_stream.copy_htod(None, dst, src, count, sync=True)
    elif kind == DEVICE_TO_HOST:
        drv_stream.copy_dtoh(None, dst, src, count, sync=True)
    else:
        drv_stream.copy_dtod(None, dst, src, count, sync=True)


def require_device(addr: int, what: str) -> None:
    if not _is_device(addr):
        raise SdaaError(RT.sdaaErrorInvalidDevicePointer, f"{what}: 0x{addr:x} is not device memory")


@translated
def memset(dst: int, value: int, count: int) -> None:
    require_device(dst, "memset")
    drv_stream.memset(None, dst, value & 0xFF, 1, count, sync=True)


@translated
def phys_addr(addr: int) -> int:
    require_device(addr, "physical address")
    return drv_mem.phys_addr(addr)


@translated
def mem_info() -> tuple[int, int]:
    return drv_device.free_memory(devices.current())


DEFAULT_KIND = 4                    # cudaMemcpyDefault: the direction follows from the pointers
PITCH_ALIGNMENT = 512               # rows of a pitched allocation start on this boundary


def resolve_kind(dst: int, src: int, kind: int) -> int:
    """`kind`, or for the default kind the direction the two addresses imply."""
    if kind != DEFAULT_KIND:
        return kind
    return {(False, False): HOST_TO_HOST, (False, True): HOST_TO_DEVICE,
            (True, False): DEVICE_TO_HOST, (True, True): DEVICE_TO_DEVICE}[(_is_device(src), _is_device(dst))]


@translated
def malloc_pitch(width: int, height: int) -> tuple[int, int]:
    """(address, pitch) of `height` rows of `width` bytes, each row aligned."""
    if width == 0 or height == 0:
        raise SdaaError(RT.sdaaErrorInvalidValue, f"pitched allocation of {width} x {height}")
    pitch = -(-width // PITCH_ALIGNMENT) * PITCH_ALIGNMENT
    return malloc(pitch * height), pitch


def rows_2d(dst: int, dpitch: int, src: int, spitch: int, width: int, height: int) -> list[tuple[int, int, int]]:
    """(dst, src, bytes) of each copy a pitched 2-D copy makes: one when both sides are dense."""
    if width > dpitch or width > spitch:
        raise SdaaError(RT.sdaaErrorInvalidPitchValue, f"row of {width} bytes wider than pitch {dpitch}/{spitch}")
    if width == dpitch == spitch:
        return [(dst, src, width * height)]
    return [(dst + row * dpitch, src + row * spitch, width) for row in range(height)]


@translated
def memcpy_2d(dst: int, dpitch: int, src: int, spitch: int, width: int, height: int, kind: int) -> None:
    for d, s, n in rows_2d(dst, dpitch, src, spitch, width, height):
        memcpy(d, s, n, kind)


@translated
def memset_2d(dst: int, pitch: int, value: int, width: int, height: int) -> None:
    """`height` rows of `width` bytes set to `value`, rows `pitch` apart."""
    if width > pitch:
        raise SdaaError(RT.sdaaErrorInvalidPitchValue, f"row of {width} bytes wider than pitch {pitch}")
    if width == pitch:
        memset(dst, value, width * height)
        return
    for row in range(height):
        memset(dst + row * pitch, value, width)


@translated
def host_device_pointer(host_addr: int) -> int:
    """The device address of page-locked host memory (cudaHostGetDevicePointer)."""
    if host_addr == 0:
        raise SdaaError(RT.sdaaErrorInvalidValue, "host pointer is NULL")
    return drv_mem.host_device_pointer(host_addr)
