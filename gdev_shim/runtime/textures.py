"""CUDA arrays and texture objects.

An array is device memory of `depth` slices of `height` rows of `width` elements, each
`channels` channels of one size and kind, rows and slices packed (the pitch is the row's
bytes).  A texture object is the
device address of a texture descriptor (include/aidev_drm.h, struct aidev_texture) the
runtime writes into device memory: kernels' tex.1d/2d/3d instructions read the texels
through it (point sampling, or linear filtering of float results).  The SDAA runtime has
no textures, so errors only CUDA has carry CUDA's code names.
"""
from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass

from ..common.contract import C, ffi
from ..driver import memory as drv_mem
from ..log import get
from . import memory
from .errors import RT, CudaNamedError, SdaaError, translated

log = get("gdev.runtime")
SIGNED, UNSIGNED, FLOAT = 0, 1, 2                   # cudaChannelFormatKind
RESOURCE_ARRAY, RESOURCE_LINEAR, RESOURCE_PITCH2D = 0, 2, 3
FILTER_POINT, FILTER_LINEAR = 0, 1
READ_ELEMENT, READ_NORMALIZED = 0, 1
ADDRESS_MODES = range(4)                            # wrap, clamp, mirror, border (AIDEV_TEX_*)
_KINDS = {SIGNED: C.AIDEV_TEX_SIGNED, UNSIGNED: C.AIDEV_TEX_UNSIGNED, FLOAT: C.AIDEV_TEX_FLOAT}


@dataclass(frozen=True)
class Format:
    channels: int
    channel_bytes: int
    kind: int                                       # cudaChannelFormatKind

    @property
    def element_bytes(self) -> int:
        return self.channels * self.channel_bytes


@dataclass(frozen=True)
class Array:
    addr: int
    format: Format
    width: int
    height: int                                     # 0 for a 1-D array (one row)
    desc: tuple[int, int, int, int, int]            # the cudaChannelFormatDesc it was made with
    depth: int = 0                                  # slices of a 3-D array (0: one)

    @property
    def pitch(self) -> int:
        return self.width * self.format.element_bytes

    @property
    def rows(self) -> int:
        """Rows of one slice."""
        return max(1, self.height)

    @property
    def slices(self) -> int:
        return max(1, self.depth)


_lock = threading.Lock()
_ids = itertools.count(1)
_arrays: dict[int, Array] = {}
_textures: set[int] = set()                        # descriptor addresses of live texture objects


def channel_format(x: int, y: int, z: int, w: int, kind: int) -> Format:
    """The element format a cudaChannelFormatDesc describes: channels of one size, from x on."""
    bits = [b for b in (x, y, z, w) if b]
    if not bits or [x, y, z, w][:len(bits)] != bits or len(set(bits)) != 1 or bits[0] not in (8, 16, 32):
        raise SdaaError(RT.sdaaErrorInvalidValue, f"channel format ({x}, {y}, {z}, {w}): channels must be "
                                                  "8, 16 or 32 bits each, all alike, from x on")
    if kind not in _KINDS or (kind == FLOAT and bits[0] == 8):
        raise SdaaError(RT.sdaaErrorInvalidValue, f"channel format kind {kind} with {bits[0]}-bit channels")
    return Format(len(bits), bits[0] // 8, kind)


@translated
def malloc_array(desc: tuple[int, int, int, int, int], width: int, height: int, flags: int, depth: int = 0) -> int:
    fmt = channel_format(*desc)
    if flags != 0:
        raise CudaNamedError("cudaErrorNotSupported", f"array flags 0x{flags:x} (surfaces, "
                                                      "layered and gather arrays are not supported)")
    if width == 0 or (depth and not height):
        raise SdaaError(RT.sdaaErrorInvalidValue, f"an array of {width} x {height} x {depth} elements")
    addr = memory.malloc(width * max(1, height) * max(1, depth) * fmt.element_bytes)
    with _lock:
        handle = next(_ids)
        _arrays[handle] = Array(addr, fmt, width, height, desc, depth)
    log.debug("malloc_array: %dx%dx%d of %s -> array %d at 0x%x", width, height, depth, fmt, handle, addr)
    return handle


@translated
def array_side(handle: int, pos: tuple[int, int, int]) -> tuple[memory.Pitched, int]:
    """One side of a 3-D copy that is an array: its rows as a pitched pointer (the position
    in bytes), and its element size, by which the copy's width (in elements) is scaled."""
    a = array(handle, RT.sdaaErrorInvalidValue)            # cudaMemcpy3D's code for a bad side
    x, y, z = pos
    if x > a.width or y > a.rows or z > a.slices:
        raise SdaaError(RT.sdaaErrorInvalidValue, f"position {pos} outside an array of "
                                                  f"{a.width} x {a.rows} x {a.slices} elements")
    return memory.Pitched(a.addr, a.pitch, a.pitch, a.rows, (x * a.format.element_bytes, y, z)), a.format.element_bytes


def check_array_extent(handle: int, pos: tuple[int, int, int], extent: tuple[int, int, int]) -> None:
    """A 3-D copy's block (elements) must fit the array from `pos` on."""
    a = array(handle, RT.sdaaErrorInvalidValue)
    if any(p + e > size for p, e, size in zip(pos, extent, (a.width, a.rows, a.slices))):
        raise SdaaError(RT.sdaaErrorInvalidValue, f"{extent} elements at {pos} outside an array of "
                                                  f"{a.width} x {a.rows} x {a.slices}")


def array(handle: int, missing: int = RT.sdaaErrorInvalidResourceHandle) -> Array:
    found = _arrays.get(handle)
    if found is None:
        raise SdaaError(missing, f"0x{handle:x} is not an array")
    return found


@translated
def free_array(handle: int) -> None:
    if handle == 0:
        return                                      # as free(NULL)
    found = array(handle)
    with _lock:
        del _arrays[handle]
    memory.free(found.addr)


def _array_rows(a: Array, w_offset: int, h_offset: int, width: int, height: int) -> int:
    """The device address of (w_offset bytes, row h_offset), once the block fits the array."""
    if w_offset + width > a.pitch or h_offset + height > a.rows:
        raise SdaaError(RT.sdaaErrorInvalidValue, f"{width} bytes x {height} rows at ({w_offset}, {h_offset}) "
                                                  f"outside an array of {a.pitch} bytes x {a.rows} rows")
    return a.addr + h_offset * a.pitch + w_offset


@translated
def copy_to_array(handle: int, w_offset: int, h_offset: int, src: int, spitch: int, width: int, height: int,
                  kind: int) -> None:
    a = array(handle)
    if kind not in (memory.HOST_TO_DEVICE, memory.DEVICE_TO_DEVICE, memory.DEFAULT_KIND):
        raise SdaaError(RT.sdaaErrorInvalidMemcpyDirection, f"copy into an array with kind {kind}")
    dst = _array_rows(a, w_offset, h_offset, width, height)
    memory.memcpy_2d(dst, a.pitch, src, spitch, width, height, kind)


@translated
def copy_from_array(dst: int, dpitch: int, handle: int, w_offset: int, h_offset: int, width: int, height: int,
                    kind: int) -> None:
    a = array(handle)
    if kind not in (memory.DEVICE_TO_HOST, memory.DEVICE_TO_DEVICE, memory.DEFAULT_KIND):
        raise SdaaError(RT.sdaaErrorInvalidMemcpyDirection, f"copy out of an array with kind {kind}")
    src = _array_rows(a, w_offset, h_offset, width, height)
    memory.memcpy_2d(dst, dpitch, src, a.pitch, width, height, kind)


@dataclass(frozen=True)
class Resource:
    """What a texture reads: rows of elements in device memory."""
    base: int
    format: Format
    width: int
    height: int
    pitch: int
    indexed: bool                                   # linear memory, read by integer index (tex1Dfetch)
    depth: int = 1                                  # slices of `height` rows (a 3-D array)


def array_resource(handle: int) -> Resource:
    a = array(handle)
    return Resource(a.addr, a.format, a.width, a.rows, a.pitch, False, a.slices)


@translated
def linear_resource(ptr: int, desc: tuple[int, int, int, int, int], size: int) -> Resource:
    fmt = channel_format(*desc)
    memory.require_device(ptr, "linear texture")
    if size < fmt.element_bytes:
        raise SdaaError(RT.sdaaErrorInvalidValue, f"linear texture of {size} bytes at 0x{ptr:x}")
    drv_mem.device_range(ptr, size, "linear texture")
    return Resource(ptr, fmt, size // fmt.element_bytes, 1, size, True)


@translated
def pitch2d_resource(ptr: int, desc: tuple[int, int, int, int, int], width: int, height: int,
                     pitch: int) -> Resource:
    fmt = channel_format(*desc)
    memory.require_device(ptr, "pitched texture")
    if width == 0 or height == 0 or pitch < width * fmt.element_bytes:
        raise SdaaError(RT.sdaaErrorInvalidValue, f"pitched texture of {width}x{height}, pitch {pitch} at 0x{ptr:x}")
    drv_mem.device_range(ptr, pitch * (height - 1) + width * fmt.element_bytes, "pitched texture")
    return Resource(ptr, fmt, width, height, pitch, False)


@dataclass(frozen=True)
class Sampling:
    """The parts of a cudaTextureDesc this card honours."""
    address_modes: tuple[int, int, int]
    filter_mode: int
    read_mode: int
    normalized_coords: bool
    border: tuple[float, float, float, float]
    srgb: bool


@translated
def create_texture(res: Resource, how: Sampling) -> int:
    if how.filter_mode not in (FILTER_POINT, FILTER_LINEAR):
        raise SdaaError(RT.sdaaErrorInvalidValue, f"texture filter mode {how.filter_mode}")
    if how.filter_mode == FILTER_LINEAR and res.format.kind != FLOAT and how.read_mode != READ_NORMALIZED:
        raise SdaaError(RT.sdaaErrorInvalidValue, "linear filtering returns floats: it needs float texels "
                                                  "or normalized reads")
    if how.srgb:
        raise CudaNamedError("cudaErrorNotSupported", "sRGB textures are not supported")
    if how.read_mode not in (READ_ELEMENT, READ_NORMALIZED) or any(m not in ADDRESS_MODES for m in how.address_modes):
        raise SdaaError(RT.sdaaErrorInvalidValue, f"texture read mode {how.read_mode}, "
                                                  f"address modes {how.address_modes}")
    if how.read_mode == READ_NORMALIZED and (res.format.kind == FLOAT or res.format.channel_bytes == 4):
        raise SdaaError(RT.sdaaErrorInvalidValue, "normalized reads need 8- or 16-bit integer channels")
    desc = ffi.new("struct aidev_texture *")
    desc.base, desc.pitch, desc.width, desc.height, desc.depth = res.base, res.pitch, res.width, res.height, res.depth
    desc.channels, desc.channel_bytes = res.format.channels, res.format.channel_bytes
    desc.kind = _KINDS[res.format.kind]
    desc.flags = ((C.AIDEV_TEX_INDEXED if res.indexed else 0)
                  | (C.AIDEV_TEX_NORMALIZED_COORDS if how.normalized_coords else 0)
                  | (C.AIDEV_TEX_NORMALIZED_READ if how.read_mode == READ_NORMALIZED else 0)
                  | (C.AIDEV_TEX_LINEAR if how.filter_mode == FILTER_LINEAR else 0))
    desc.address_mode = list(how.address_modes)
    desc.border = list(how.border)
    size = ffi.sizeof(desc[0])
    addr = memory.malloc(size)
    memory.memcpy(addr, int(ffi.cast("uintptr_t", desc)), size, memory.HOST_TO_DEVICE)
    with _lock:
        _textures.add(addr)
    log.debug("create_texture: 0x%x over 0x%x (%dx%d, %s)", addr, res.base, res.width, res.height, res.format)
    return addr


@translated
def destroy_texture(handle: int) -> None:
    with _lock:
        if handle not in _textures:
            raise SdaaError(RT.sdaaErrorInvalidValue, f"0x{handle:x} is not a texture object")
        _textures.discard(handle)
    memory.free(handle)
