"""libcuda.so.1: managed, registered and stream-ordered memory, and what a pointer is.

The same layers as cudaMallocManaged, cudaHostRegister and cudaMallocAsync (the runtime's
checks and codes, by the driver face's current context); pointers are described by
driver/pointers.py.
"""
from __future__ import annotations

from ..driver import memory as drv_mem, pointers, stream as drv_stream
from ..driver.errors import SdError
from ..runtime import graphs, memory as rt_memory
from . import cuda_exports as cx
from .boundary import address, required
from .cuda_codes import CU, CuError

OK = CU.CUDA_SUCCESS
ATTACH_FLAGS = (CU.CU_MEM_ATTACH_GLOBAL, CU.CU_MEM_ATTACH_HOST)


@cx._api()
def cuMemAllocManaged(dptr, size, flags):
    required(dptr, "dptr")
    if flags not in ATTACH_FLAGS:
        raise CuError(CU.CUDA_ERROR_INVALID_VALUE, f"cuMemAllocManaged flags 0x{flags:x}")
    graphs.unsafe("cuMemAllocManaged")
    dptr[0] = drv_mem.alloc_managed(cx._current(), size)
    return OK


@cx._api()
def cuMemHostRegister_v2(p, size, flags):
    rt_memory.host_register(address(p), size, flags, cx._current())
    return OK


@cx._api()
def cuMemHostUnregister(p):
    cx._current()
    rt_memory.host_unregister(address(required(p, "p")))
    return OK


@cx._api("cuMemAllocAsync_ptsz")
def cuMemAllocAsync(dptr, size, hstream):
    required(dptr, "dptr")
    cx._forbid(hstream, "cuMemAllocAsync")
    stream = cx._stream_or_default(hstream)
    dptr[0] = drv_mem.alloc(stream.ctx, size)      # at once: usable by any later work
    return OK


@cx._api("cuMemFreeAsync_ptsz")
def cuMemFreeAsync(dptr, hstream):
    cx._forbid(hstream, "cuMemFreeAsync")
    stream = cx._stream_or_default(hstream)
    drv_stream.synchronize(stream)                  # the stream's earlier work may use it
    drv_mem.free(stream.ctx, dptr)
    return OK


# ---- pointer attributes ------------------------------------------------------------------
# the C type each attribute is written as
_TYPES = {
    CU.CU_POINTER_ATTRIBUTE_CONTEXT: "CUcontext *",
    CU.CU_POINTER_ATTRIBUTE_MEMORY_TYPE: "unsigned int *",
    CU.CU_POINTER_ATTRIBUTE_DEVICE_POINTER: "CUdeviceptr *",
    CU.CU_POINTER_ATTRIBUTE_HOST_POINTER: "void **",
    CU.CU_POINTER_ATTRIBUTE_IS_MANAGED: "unsigned int *",
    CU.CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL: "int *",
    CU.CU_POINTER_ATTRIBUTE_RANGE_START_ADDR: "CUdeviceptr *",
    CU.CU_POINTER_ATTRIBUTE_RANGE_SIZE: "size_t *",
    CU.CU_POINTER_ATTRIBUTE_MAPPED: "unsigned int *",
}


def _value(attr: int, ptr: pointers.Pointer | None):
    """The attribute's value (a C handle for CONTEXT); None for a pointer that has none."""
    if attr not in _TYPES:
        raise CuError(CU.CUDA_ERROR_INVALID_VALUE, f"pointer attribute {attr} is not supported")
    if ptr is None:
        return None
    if attr == CU.CU_POINTER_ATTRIBUTE_CONTEXT:
        return cx.ffi.cast("CUcontext", cx.contexts.new(ptr.ctx))
    if attr == CU.CU_POINTER_ATTRIBUTE_HOST_POINTER:
        return cx.ffi.cast("void *", ptr.host_addr) if ptr.host_addr else None
    return {
        CU.CU_POINTER_ATTRIBUTE_MEMORY_TYPE: CU.CU_MEMORYTYPE_HOST if ptr.on_host else CU.CU_MEMORYTYPE_DEVICE,
        CU.CU_POINTER_ATTRIBUTE_DEVICE_POINTER: ptr.device_addr,
        CU.CU_POINTER_ATTRIBUTE_IS_MANAGED: int(ptr.managed),
        CU.CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL: ptr.ctx.device,
        CU.CU_POINTER_ATTRIBUTE_RANGE_START_ADDR: ptr.start,
        CU.CU_POINTER_ATTRIBUTE_RANGE_SIZE: ptr.size,
        CU.CU_POINTER_ATTRIBUTE_MAPPED: 1,
    }[attr]


def _write(data, attr: int, value) -> None:
    cx.ffi.cast(_TYPES[attr], data)[0] = value if value is not None else (
        cx.ffi.NULL if _TYPES[attr] in ("CUcontext *", "void **") else 0)


@cx._api()
def cuPointerGetAttribute(data, attr, ptr):
    required(data, "data")
    value = _value(attr, _describe(ptr))
    if value is None:
        raise CuError(CU.CUDA_ERROR_INVALID_VALUE, f"0x{ptr:x} has no pointer attribute {attr}")
    _write(data, attr, value)
    return OK


@cx._api()
def cuPointerGetAttributes(num, attrs, data, ptr):
    if num == 0:
        raise CuError(CU.CUDA_ERROR_INVALID_VALUE, "no attributes asked for")
    required(attrs, "attributes"), required(data, "data")
    found = _describe(ptr)
    values = [(attrs[i], _value(attrs[i], found)) for i in range(num)]   # every attribute checked first
    for i, (attr, value) in enumerate(values):
        _write(required(data[i], f"data[{i}]"), attr, value)
    return OK


def _describe(ptr: int) -> pointers.Pointer | None:
    cx._current()                   # INVALID_CONTEXT without one, as CUDA answers
    try:
        return pointers.describe(ptr)
    except SdError:
        return None
