"""Runtime memory: sdaaMalloc/Free/Memcpy/Memset and page-locked host memory."""
from __future__ import annotations

from dataclasses import dataclass

from ..driver import device as drv_device, memory as drv_mem, stream as drv_stream
from ..driver.context import Context, registry
from ..driver.errors import SdError
from ..gdev import hostmem
from ..log import get
from . import devices, graphs
from .errors import RT, CudaNamedError, SdaaError, translated

log = get("gdev.runtime")
HOST_TO_HOST, HOST_TO_DEVICE, DEVICE_TO_HOST, DEVICE_TO_DEVICE = 0, 1, 2, 3


@translated
def malloc(size: int, ordered: bool = False) -> int:
    """Device memory; unless stream-ordered (cudaMallocAsync), not during a capture the
    thread's capture mode protects (graphs.unsafe)."""
    if not ordered:
        graphs.unsafe("cudaMalloc")
    ctx = devices.context()
    addr = drv_mem.alloc(ctx, size)
    log.debug("malloc: card=%d size=0x%x -> 0x%x", ctx.device, size, addr)
    return addr


def free(addr: int, ordered: bool = False) -> None:
    if not ordered:
        graphs.unsafe("cudaFree")
    if addr == 0:
        return                                      # as free(NULL)
    try:
        drv_mem.free(None, addr)
    except SdError as e:
        raise SdaaError(RT.sdaaErrorInvalidDevicePointer, str(e)) from None
    log.debug("free: 0x%x", addr)


@translated
def malloc_host(size: int) -> int:
    graphs.unsafe("cudaMallocHost")
    return drv_mem.alloc_host(devices.context(), size)


def free_host(addr: int) -> None:
    graphs.unsafe("cudaFreeHost")
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
    if kind != HOST_TO_HOST:
        graphs.legacy("cudaMemcpy")
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
    graphs.legacy("cudaMemset")
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


def fill_rows(dst: int, pitch: int, width: int, height: int, depth: int = 1,
              slice_pitch: int = 0) -> list[tuple[int, int]]:
    """(address, bytes) of each fill a pitched 2-D or 3-D memset makes: one when dense."""
    if width > pitch:
        raise SdaaError(RT.sdaaErrorInvalidPitchValue, f"row of {width} bytes wider than pitch {pitch}")
    if width == pitch and (depth == 1 or slice_pitch == pitch * height):
        return [(dst, width * height * depth)] if width and height and depth else []
    return [(dst + z * slice_pitch + row * pitch, width) for z in range(depth) for row in range(height)]


@translated
def memset_2d(dst: int, pitch: int, value: int, width: int, height: int) -> None:
    """`height` rows of `width` bytes set to `value`, rows `pitch` apart."""
    for addr, n in fill_rows(dst, pitch, width, height):
        memset(addr, value, n)


@dataclass(frozen=True)
class Pitched:
    """One side of a 3-D copy: a pitched pointer (cudaPitchedPtr) and a position in it."""
    ptr: int
    pitch: int
    xsize: int
    ysize: int
    pos: tuple[int, int, int] = (0, 0, 0)

    def at(self, y: int, z: int) -> int:
        x0, y0, z0 = self.pos
        return self.ptr + (z0 + z) * self.pitch * self.ysize + (y0 + y) * self.pitch + x0


def rows_3d(dst: Pitched, src: Pitched, extent: tuple[int, int, int]) -> list[tuple[int, int, int]]:
    """(dst, src, bytes) of each copy a 3-D copy of `extent` (width in bytes) makes."""
    width, height, depth = extent
    if not (width and height and depth):
        return []
    for side, name in ((dst, "destination"), (src, "source")):
        if side.ptr == 0:
            raise SdaaError(RT.sdaaErrorInvalidValue, f"3-D copy: the {name} pointer is NULL")
        if side.pos[0] + width > side.pitch:
            raise SdaaError(RT.sdaaErrorInvalidPitchValue,
                            f"3-D copy: {name} rows of {side.pos[0]}+{width} bytes wider than pitch {side.pitch}")
        if depth > 1 and side.pos[1] + height > side.ysize:
            raise SdaaError(RT.sdaaErrorInvalidValue, f"3-D copy: {name} slices hold {side.ysize} rows, "
                                                      f"the copy needs rows {side.pos[1]}..{side.pos[1] + height - 1}")
    return [(dst.at(y, z), src.at(y, z), width) for z in range(depth) for y in range(height)]


@translated
def memcpy_3d(dst: Pitched, src: Pitched, extent: tuple[int, int, int], kind: int) -> None:
    for d, s, n in rows_3d(dst, src, extent):
        memcpy(d, s, n, kind)


@translated
def memset_3d(dst: Pitched, value: int, extent: tuple[int, int, int]) -> None:
    width, height, depth = extent
    for addr, n in fill_rows(dst.ptr, dst.pitch, width, height, depth, dst.pitch * dst.ysize):
        memset(addr, value, n)


@translated
def malloc_3d(width: int, height: int, depth: int) -> tuple[int, int]:
    """(address, pitch) of `depth` slices of `height` rows of `width` bytes."""
    return malloc_pitch(width, height * depth)


@translated
def host_device_pointer(host_addr: int) -> int:
    """The device address of page-locked host memory (cudaHostGetDevicePointer)."""
    if host_addr == 0:
        raise SdaaError(RT.sdaaErrorInvalidValue, "host pointer is NULL")
    return drv_mem.host_device_pointer(host_addr)


REGISTER_FLAGS = 0xF                # portable, mapped, I/O memory, read-only
REGISTER_IO_MEMORY = 4


@translated
def host_register(addr: int, size: int, flags: int, ctx: Context | None = None) -> None:
    """cudaHostRegister: pin host memory; the card reaches it at its own address (every
    registration is mapped, so cudaHostGetDevicePointer answers for any of them).  `ctx`:
    the driver face's current context (cuMemHostRegister), else the runtime's current card."""
    if flags & ~REGISTER_FLAGS or addr == 0 or size == 0:
        raise SdaaError(RT.sdaaErrorInvalidValue, f"host registration of {size} bytes at 0x{addr:x}, flags 0x{flags:x}")
    if flags & REGISTER_IO_MEMORY:
        raise CudaNamedError("cudaErrorNotSupported", "registering I/O memory is not supported")
    if drv_mem.pinned(addr) is not None or drv_mem.pinned(addr + size - 1) is not None:
        raise CudaNamedError("cudaErrorHostMemoryAlreadyRegistered",
                             f"0x{addr:x}+0x{size:x} is page-locked already")
    drv_mem.host_register(ctx or devices.context(), addr, size)


@translated
def host_unregister(addr: int) -> None:
    found = drv_mem.pinned(addr)
    if found is None or found[1].host_addr != addr or found[1].shared != addr:
        raise CudaNamedError("cudaErrorHostMemoryNotRegistered", f"0x{addr:x} is not registered host memory")
    drv_mem.host_unregister(addr)
