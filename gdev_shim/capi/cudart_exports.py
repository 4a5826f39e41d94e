"""libcudart.so.13: the CUDA runtime API (cuda*, and the __cuda* calls nvcc's host code
makes) as C functions over the SDAA runtime layer.

Handles: a kernel is its launch stub's address (cudaKernel_t too); a stream is the
runtime's stream handle plus STREAM_BASE, so it never meets the special values
0 (legacy default), 1 (cudaStreamLegacy) and 2 (cudaStreamPerThread), which all
mean this thread's default stream; an event is the runtime's event handle.
Every failing call records its CUDA code as the thread's last error.

Programs built with `--default-stream per-thread` import many calls under a `_ptds` or
`_ptsz` name; those are the same exports (`exported`'s aliases).  The thread's default
stream here is the legacy one, which orders more work, never less.
"""
from __future__ import annotations

from typing import Any

from ..driver.errors import SdError
from ..log import get
from ..runtime import (device_api, device_config, devices, fatbin, graph_nodes, graphs, kernels, managed, memory,
                       pools, streams, symbols, textures)
from ..runtime.errors import RT, SdaaError, from_driver
from .boundary import (Family, NullArgument, address, exported, recorded, required, static_string, string,
                       unexpected)
from .cudart_codes import CU, LAST, CudaError, cuda_code, error_name, error_text

log = get("gdev.capi")
LIB = "cudart"
ffi: Any = None                      # set by cudart.bind()
OK = CU.cudaSuccess
STREAM_BASE = 0x100
RUNTIME_VERSION = 13000              # what the toolkit's version checks expect of a CUDA 13 runtime


def _translate(e: BaseException, name: str) -> int:
    if isinstance(e, NullArgument):
        e = CudaError(CU.cudaErrorInvalidValue, str(e))
    elif isinstance(e, SdError):
        e = from_driver(e)
    if isinstance(e, SdaaError) and _registration_failures and e.code in _UNREGISTERED:
        e = _registration_failures[0]      # what the program names is missing because of it
    elif isinstance(e, SdaaError):
        e = CudaError(cuda_code(e), str(e))
    if isinstance(e, CudaError):
        log.warning("%s: %s (%s)", name, e, error_name(e.code))
        code = e.code
    else:
        unexpected(e, name)
        code = CU.cudaErrorUnknown
    LAST.set(code)
    return code


RUNTIME = Family("cudaError_t", OK, _translate, CU.cudaErrorUnknown)


VOID = recorded("void", _translate)
HANDLE = recorded("void **", _translate)
STRING = recorded("const char *", _translate)


def _stream(h) -> int:
    value = address(h)
    if value in (0, CU.GDEV_CUDA_STREAM_LEGACY, CU.GDEV_CUDA_STREAM_PER_THREAD):
        return 0
    if value < STREAM_BASE:
        raise CudaError(CU.cudaErrorInvalidResourceHandle, f"0x{value:x} is not a stream")
    return value - STREAM_BASE


def _dim3(d) -> tuple[int, int, int]:
    return int(d.x), int(d.y), int(d.z)


# ---- registration (what nvcc's host code calls before main) -------------------------
_fatbin_cells: dict[int, Any] = {}
_registration_failures: list[CudaError] = []
_UNREGISTERED = (RT.sdaaErrorInvalidDeviceFunction, RT.sdaaErrorInvalidSymbol)


@exported(LIB, HANDLE)
def __cudaRegisterFatBinary(fat_cubin):
    try:
        data, ptx = fatbin.read_cuda_fatbin(address(required(fat_cubin, "fatCubin")))
    except SdaaError as e:
        # the program has not started yet: keep the reason for its first launch, and say it
        # louder than a warning, since nothing the program checks has failed yet
        failure = CudaError(cuda_code(e), str(e))
        _registration_failures.append(failure)
        LAST.set(failure.code)
        log.error("__cudaRegisterFatBinary: %s", e)
        return ffi.NULL
    fb = fatbin.register(data, ptx)
    cell = ffi.new("void *[1]")
    cell[0] = ffi.cast("void *", fb.handle)
    _fatbin_cells[address(cell)] = (fb.handle, cell)
    return ffi.cast("void **", cell)


def _fatbin_id(handle) -> int:
    entry = _fatbin_cells.get(address(handle))
    if entry is None:
        raise CudaError(CU.cudaErrorInvalidResourceHandle, f"0x{address(handle):x} is not a fat binary handle")
    return entry[0]


@exported(LIB, VOID)
def __cudaRegisterFatBinaryEnd(handle):
    if handle != ffi.NULL:
        _fatbin_id(handle)


@exported(LIB, VOID)
def __cudaUnregisterFatBinary(handle):
    if handle == ffi.NULL:
        return                               # a registration that failed
    fatbin.unregister(_fatbin_id(handle))
    del _fatbin_cells[address(handle)]


@exported(LIB, VOID)
def __cudaRegisterFunction(handle, host_fun, device_fun, device_name, thread_limit, tid, bid, bdim, gdim,
                           wsize):
    if handle == ffi.NULL:
        return                               # its fat binary failed to register, and said why
    fatbin.register_function(_fatbin_id(handle), string(device_fun, "deviceFun"), address(host_fun))


@exported(LIB, VOID)
def __cudaRegisterVar(handle, host_var, device_address, device_name, ext, size, constant, is_global):
    if handle == ffi.NULL:
        return
    fatbin.register_variable(_fatbin_id(handle), address(host_var), string(device_address, "deviceAddress"),
                             size)


@exported(LIB, VOID)
def __cudaRegisterManagedVar(handle, host_var_ptr, device_address, device_name, ext, size, constant,
                             is_global):
    if handle == ffi.NULL:
        return
    managed.register_variable(_fatbin_id(handle), address(required(host_var_ptr, "hostVarPtrAddress")),
                              string(device_address, "deviceAddress"), size)


@exported(LIB, Family("char", b"\x01", VOID.translate, b"\x00"))
def __cudaInitModule(handle):
    # before the host first touches a __managed__ variable: its host pointer is set here
    if handle != ffi.NULL:
        managed.init_module(_fatbin_id(handle))
    return b"\x01"


@exported(LIB, Family("unsigned int", 0, VOID.translate, 1))
def __cudaPushCallConfiguration(grid, block, shared, stream):
    kernels.push_config(kernels.CallConfig(_dim3(grid), _dim3(block), shared, _stream(stream)))
    return 0


@exported(LIB, RUNTIME)
def __cudaPopCallConfiguration(grid, block, shared, stream):
    config = kernels.pop_config()
    for out, dims in ((required(grid, "gridDim"), config.grid), (required(block, "blockDim"), config.block)):
        out.x, out.y, out.z = dims
    required(shared, "sharedMem")[0] = config.shared
    ffi.cast("void **", required(stream, "stream"))[0] = ffi.cast(
        "void *", config.stream + STREAM_BASE if config.stream else 0)
    return OK


def _launch(func, grid, block, args, shared, stream, cooperative: bool = False) -> int:
    kernels.launch(address(func), _dim3(grid), _dim3(block), shared, _stream(stream), address(args),
                   cooperative)
    return OK


@exported(LIB, RUNTIME)
def __cudaGetKernel(kernel, host_fun):
    fatbin.kernel_name(address(required(host_fun, "hostFun")))
    required(kernel, "kernel")[0] = ffi.cast("cudaKernel_t", host_fun)
    return OK


@exported(LIB, RUNTIME, "__cudaLaunchKernel_ptsz", "cudaLaunchKernel", "cudaLaunchKernel_ptsz")
def __cudaLaunchKernel(kernel, grid, block, args, shared, stream):
    # a kernel handle is its launch stub, so both launch calls are one
    return _launch(kernel, grid, block, args, shared, stream)


@exported(LIB, RUNTIME, "cudaLaunchCooperativeKernel_ptsz")
def cudaLaunchCooperativeKernel(func, grid, block, args, shared, stream):
    return _launch(required(func, "func"), grid, block, args, shared, stream, cooperative=True)


# launch attributes that are hints here: ignore, L2 access policy, synchronization policy, priority
_HINT_ATTRIBUTES = (CU.cudaLaunchAttributeIgnore, CU.cudaLaunchAttributeAccessPolicyWindow,
                    CU.cudaLaunchAttributeSynchronizationPolicy, CU.cudaLaunchAttributePriority)


@exported(LIB, RUNTIME, "cudaLaunchKernelExC_ptsz")
def cudaLaunchKernelExC(config, func, args):
    required(config, "config")
    cooperative = False
    for i in range(config.numAttrs if config.attrs != ffi.NULL else 0):
        attr = config.attrs[i]
        if attr.id == CU.cudaLaunchAttributeCooperative:
            cooperative = any(attr.val[0:4])
        elif attr.id not in _HINT_ATTRIBUTES and any(attr.val[0:8]):
            raise CudaError(CU.cudaErrorNotSupported, f"launch attribute {attr.id} is not supported")
    return _launch(func, config.gridDim, config.blockDim, args, config.dynamicSmemBytes, config.stream,
                   cooperative)


@exported(LIB, RUNTIME)
def cudaFuncGetAttributes(attr, func):
    required(attr, "attr")
    values = kernels.attributes(address(required(func, "func")))
    ffi.memmove(attr, b"\0" * ffi.sizeof("struct cudaFuncAttributes"), ffi.sizeof("struct cudaFuncAttributes"))
    for field, value in values.items():
        setattr(attr, field, value)
    return OK


@exported(LIB, RUNTIME)
def cudaFuncSetAttribute(func, attr, value):
    kernels.set_attribute(address(required(func, "func")), attr, value)
    return OK


@exported(LIB, RUNTIME)
def cudaFuncSetCacheConfig(func, config):
    kernels.function(address(required(func, "func")))
    device_config.check_cache_config(config)       # a preference the card has no cache to follow
    return OK


@exported(LIB, RUNTIME)
def cudaOccupancyMaxActiveBlocksPerMultiprocessor(num_blocks, func, block_size, dynamic_shared):
    required(num_blocks, "numBlocks")[0] = kernels.max_active_blocks(address(required(func, "func")),
                                                                     block_size, dynamic_shared)
    return OK


@exported(LIB, RUNTIME)
def cudaOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(num_blocks, func, block_size, dynamic_shared, flags):
    if flags & ~1:
        raise CudaError(CU.cudaErrorInvalidValue, f"occupancy flags 0x{flags:x}")
    return cudaOccupancyMaxActiveBlocksPerMultiprocessor(num_blocks, func, block_size, dynamic_shared)


# ---- devices ------------------------------------------------------------------------
@exported(LIB, RUNTIME)
def cudaGetDeviceCount(count):
    required(count, "count")
    n = devices.count()
    count[0] = n
    if n == 0:
        raise CudaError(CU.cudaErrorNoDevice, "no aicard found")
    return OK


@exported(LIB, RUNTIME)
def cudaSetDevice(device):
    devices.set_current(device)
    return OK


@exported(LIB, RUNTIME)
def cudaGetDevice(device):
    required(device, "device")[0] = devices.current()
    return OK


@exported(LIB, RUNTIME)
def cudaGetDeviceProperties(prop, device):
    required(prop, "prop")
    size = ffi.sizeof("struct cudaDeviceProp")
    ffi.memmove(prop, b"\0" * size, size)
    for field, value in device_api.cuda_properties(device).items():
        if field == "name":
            encoded = value.encode()[:255]
            ffi.memmove(prop.name, encoded + b"\0", len(encoded) + 1)
        elif field == "uuid":
            ffi.memmove(prop.uuid.bytes, value, 16)
        else:
            setattr(prop, field, value)
    return OK


@exported(LIB, RUNTIME)
def cudaDeviceGetAttribute(value, attr, device):
    required(value, "value")[0] = device_api.cuda_attribute(attr, device)
    return OK


@exported(LIB, RUNTIME)
def cudaDeviceSynchronize():
    device_api.synchronize()
    return OK


@exported(LIB, RUNTIME)
def cudaDeviceReset():
    device_api.reset()
    return OK


@exported(LIB, RUNTIME)
def cudaSetDeviceFlags(flags):
    device_config.set_flags(flags)
    return OK


@exported(LIB, RUNTIME)
def cudaGetDeviceFlags(flags):
    required(flags, "flags")[0] = device_config.flags()
    return OK


@exported(LIB, RUNTIME)
def cudaDeviceCanAccessPeer(can_access, device, peer):
    required(can_access, "canAccessPeer")[0] = device_api.can_access_peer(device, peer)
    return OK


@exported(LIB, RUNTIME)
def cudaDeviceSetLimit(limit, value):
    device_config.set_limit(limit, value)
    return OK


@exported(LIB, RUNTIME)
def cudaDeviceGetLimit(value, limit):
    required(value, "pValue")[0] = device_config.limit(limit)
    return OK


@exported(LIB, RUNTIME)
def cudaDeviceSetCacheConfig(config):
    device_config.set_cache_config(config)
    return OK


@exported(LIB, RUNTIME)
def cudaDeviceGetCacheConfig(config):
    required(config, "pCacheConfig")[0] = device_config.cache_config()
    return OK


@exported(LIB, RUNTIME)
def cudaDeviceEnablePeerAccess(peer, flags):
    device_api.check_peer(peer, flags)
    if not device_api.can_access_peer(devices.current(), peer):
        raise CudaError(CU.cudaErrorPeerAccessUnsupported, f"device {devices.current()} cannot reach device {peer}")
    return OK


@exported(LIB, RUNTIME)
def cudaDeviceDisablePeerAccess(peer):
    device_api.check_peer(peer, 0)
    raise CudaError(CU.cudaErrorPeerAccessNotEnabled, f"peer access to device {peer} was never enabled")


@exported(LIB, RUNTIME)
def cudaDeviceGetStreamPriorityRange(least, greatest):
    # one priority: the card's channels are served alike
    for out in (least, greatest):
        if out != ffi.NULL:
            out[0] = 0
    return OK


@exported(LIB, RUNTIME)
def cudaRuntimeGetVersion(version):
    required(version, "runtimeVersion")[0] = RUNTIME_VERSION
    return OK


@exported(LIB, RUNTIME)
def cudaDriverGetVersion(version):
    required(version, "driverVersion")[0] = RUNTIME_VERSION
    return OK


# ---- memory -----------------------------------------------------------------------
@exported(LIB, RUNTIME)
def cudaMalloc(dev_ptr, size):
    required(dev_ptr, "devPtr")[0] = ffi.cast("void *", memory.malloc(size) if size else 0)
    return OK


@exported(LIB, RUNTIME)
def cudaFree(dev_ptr):
    if not pools.free_pooled(address(dev_ptr)):
        memory.free(address(dev_ptr))
    return OK


@exported(LIB, RUNTIME)
def cudaMallocHost(ptr, size):
    required(ptr, "ptr")[0] = ffi.cast("void *", memory.malloc_host(size))
    return OK


@exported(LIB, RUNTIME)
def cudaHostAlloc(ptr, size, flags):
    if flags & ~(CU.cudaHostAllocPortable | CU.cudaHostAllocMapped | CU.cudaHostAllocWriteCombined):
        raise CudaError(CU.cudaErrorInvalidValue, f"cudaHostAlloc flags 0x{flags:x}")
    return cudaMallocHost(ptr, size)


@exported(LIB, RUNTIME)
def cudaFreeHost(ptr):
    memory.free_host(address(ptr))
    return OK


@exported(LIB, RUNTIME)
def cudaHostGetDevicePointer(dev_ptr, host_ptr, flags):
    if flags != 0:
        raise CudaError(CU.cudaErrorInvalidValue, "cudaHostGetDevicePointer flags must be 0")
    required(dev_ptr, "pDevice")[0] = ffi.cast("void *", memory.host_device_pointer(address(host_ptr)))
    return OK


@exported(LIB, RUNTIME)
def cudaMallocManaged(dev_ptr, size, flags):
    required(dev_ptr, "devPtr")[0] = ffi.cast("void *", managed.malloc(size, flags))
    return OK


@exported(LIB, RUNTIME, "cudaMemPrefetchAsync_ptsz")
def cudaMemPrefetchAsync(dev_ptr, count, location, flags, stream):
    _stream(stream)
    managed.prefetch(address(dev_ptr), count, location.type, location.id, flags)
    return OK


@exported(LIB, RUNTIME)
def cudaMemAdvise(dev_ptr, count, advice, location):
    managed.advise(address(dev_ptr), count, advice, location.type, location.id)
    return OK


@exported(LIB, RUNTIME)
def cudaHostRegister(ptr, size, flags):
    memory.host_register(address(ptr), size, flags)
    return OK


@exported(LIB, RUNTIME)
def cudaHostUnregister(ptr):
    memory.host_unregister(address(ptr))
    return OK


@exported(LIB, RUNTIME, "cudaMallocAsync_ptsz")
def cudaMallocAsync(dev_ptr, size, stream):
    required(dev_ptr, "devPtr")[0] = ffi.cast("void *", streams.malloc_async(size, _stream(stream)) if size else 0)
    return OK


@exported(LIB, RUNTIME, "cudaFreeAsync_ptsz")
def cudaFreeAsync(dev_ptr, stream):
    streams.free_async(address(dev_ptr), _stream(stream))
    return OK


@exported(LIB, RUNTIME)
def cudaMallocPitch(dev_ptr, pitch, width, height):
    required(dev_ptr, "devPtr")
    required(pitch, "pitch")
    addr, row = memory.malloc_pitch(width, height)
    dev_ptr[0] = ffi.cast("void *", addr)
    pitch[0] = row
    return OK


@exported(LIB, RUNTIME)
def cudaMemGetInfo(free, total):
    f, t = memory.mem_info()
    if free != ffi.NULL:
        free[0] = f
    if total != ffi.NULL:
        total[0] = t
    return OK


@exported(LIB, RUNTIME, "cudaMemcpy_ptds")
def cudaMemcpy(dst, src, count, kind):
    memory.memcpy(address(dst), address(src), count, memory.resolve_kind(address(dst), address(src), kind))
    return OK


@exported(LIB, RUNTIME, "cudaMemcpyAsync_ptsz")
def cudaMemcpyAsync(dst, src, count, kind, stream):
    kind = memory.resolve_kind(address(dst), address(src), kind)
    streams.memcpy_async(address(dst), address(src), count, kind, _stream(stream))
    return OK


@exported(LIB, RUNTIME)
def cudaMemcpyPeer(dst, dst_device, src, src_device, count):
    # every card's memory is addressable in one space, so the devices only need to exist
    devices.check(dst_device)
    devices.check(src_device)
    memory.memcpy(address(dst), address(src), count, memory.DEVICE_TO_DEVICE)
    return OK


@exported(LIB, RUNTIME)
def cudaMemcpyPeerAsync(dst, dst_device, src, src_device, count, stream):
    devices.check(dst_device)
    devices.check(src_device)
    streams.memcpy_async(address(dst), address(src), count, memory.DEVICE_TO_DEVICE, _stream(stream))
    return OK


@exported(LIB, RUNTIME, "cudaMemcpy2D_ptds")
def cudaMemcpy2D(dst, dpitch, src, spitch, width, height, kind):
    kind = memory.resolve_kind(address(dst), address(src), kind)
    memory.memcpy_2d(address(dst), dpitch, address(src), spitch, width, height, kind)
    return OK


@exported(LIB, RUNTIME, "cudaMemcpy2DAsync_ptsz")
def cudaMemcpy2DAsync(dst, dpitch, src, spitch, width, height, kind, stream):
    kind = memory.resolve_kind(address(dst), address(src), kind)
    streams.memcpy_2d_async(address(dst), dpitch, address(src), spitch, width, height, kind, _stream(stream))
    return OK


def _pitched(p, pos=None) -> memory.Pitched:
    return memory.Pitched(address(p.ptr), p.pitch, p.xsize, p.ysize,
                          (pos.x, pos.y, pos.z) if pos is not None else (0, 0, 0))


def _copy_3d(p) -> tuple[memory.Pitched, memory.Pitched, tuple[int, int, int], int]:
    """The two sides of a 3-D copy and its extent in bytes: a side that is a CUDA array
    counts its position and the extent's width in elements, as CUDA does."""
    required(p, "p")
    extent = (p.extent.width, p.extent.height, p.extent.depth)
    element = 1
    sides = []
    for array, ptr, pos in ((p.dstArray, p.dstPtr, p.dstPos), (p.srcArray, p.srcPtr, p.srcPos)):
        if array == ffi.NULL:
            sides.append(_pitched(ptr, pos))
            continue
        at = (pos.x, pos.y, pos.z)
        textures.check_array_extent(address(array), at, extent)
        side, element = textures.array_side(address(array), at)
        sides.append(side)
    dst, src = sides
    kind = memory.resolve_kind(dst.ptr, src.ptr, p.kind)
    return dst, src, (extent[0] * element, extent[1], extent[2]), kind


@exported(LIB, RUNTIME)
def cudaMalloc3D(pitched, extent):
    required(pitched, "pitchedDevPtr")
    addr, pitch = memory.malloc_3d(extent.width, extent.height, extent.depth)
    pitched.ptr, pitched.pitch = ffi.cast("void *", addr), pitch
    pitched.xsize, pitched.ysize = extent.width, extent.height
    return OK


@exported(LIB, RUNTIME, "cudaMemcpy3D_ptds")
def cudaMemcpy3D(p):
    memory.memcpy_3d(*_copy_3d(p))
    return OK


@exported(LIB, RUNTIME, "cudaMemcpy3DAsync_ptsz")
def cudaMemcpy3DAsync(p, stream):
    streams.memcpy_3d_async(*_copy_3d(p), _stream(stream))
    return OK


@exported(LIB, RUNTIME, "cudaMemset3D_ptds")
def cudaMemset3D(pitched, value, extent):
    memory.memset_3d(_pitched(pitched), value, (extent.width, extent.height, extent.depth))
    return OK


@exported(LIB, RUNTIME, "cudaMemset3DAsync_ptsz")
def cudaMemset3DAsync(pitched, value, extent, stream):
    streams.memset_3d_async(_pitched(pitched), value & 0xFF, (extent.width, extent.height, extent.depth),
                            _stream(stream))
    return OK


@exported(LIB, RUNTIME, "cudaMemset_ptds")
def cudaMemset(dev_ptr, value, count):
    memory.memset(address(dev_ptr), value, count)
    return OK


@exported(LIB, RUNTIME, "cudaMemset2D_ptds")
def cudaMemset2D(dev_ptr, pitch, value, width, height):
    memory.memset_2d(address(dev_ptr), pitch, value, width, height)
    return OK


@exported(LIB, RUNTIME, "cudaMemsetAsync_ptsz")
def cudaMemsetAsync(dev_ptr, value, count, stream):
    streams.memset_async(address(dev_ptr), value & 0xFF, count, _stream(stream))
    return OK


@exported(LIB, RUNTIME, "cudaMemcpyToSymbol_ptds")
def cudaMemcpyToSymbol(symbol, src, count, offset, kind):
    symbols.copy_to(address(required(symbol, "symbol")), address(src), count, offset, kind)
    return OK


@exported(LIB, RUNTIME, "cudaMemcpyFromSymbol_ptds")
def cudaMemcpyFromSymbol(dst, symbol, count, offset, kind):
    symbols.copy_from(address(dst), address(required(symbol, "symbol")), count, offset, kind)
    return OK


@exported(LIB, RUNTIME, "cudaMemcpyToSymbolAsync_ptsz")
def cudaMemcpyToSymbolAsync(symbol, src, count, offset, kind, stream):
    symbols.copy_to(address(required(symbol, "symbol")), address(src), count, offset, kind, _stream(stream))
    return OK


@exported(LIB, RUNTIME, "cudaMemcpyFromSymbolAsync_ptsz")
def cudaMemcpyFromSymbolAsync(dst, symbol, count, offset, kind, stream):
    symbols.copy_from(address(dst), address(required(symbol, "symbol")), count, offset, kind, _stream(stream))
    return OK


@exported(LIB, RUNTIME)
def cudaGetSymbolAddress(dev_ptr, symbol):
    required(dev_ptr, "devPtr")[0] = ffi.cast("void *", symbols.address_of(address(required(symbol, "symbol"))))
    return OK


@exported(LIB, RUNTIME)
def cudaGetSymbolSize(size, symbol):
    required(size, "size")[0] = symbols.size_of(address(required(symbol, "symbol")))
    return OK


# ---- streams and events ----------------------------------------------------------------
def _new_stream(pstream, flags: int) -> int:
    required(pstream, "pStream")[0] = ffi.cast("cudaStream_t", streams.stream_create(flags) + STREAM_BASE)
    return OK


@exported(LIB, RUNTIME)
def cudaStreamCreate(pstream):
    return _new_stream(pstream, 0)


@exported(LIB, RUNTIME)
def cudaStreamCreateWithFlags(pstream, flags):
    return _new_stream(pstream, flags)


@exported(LIB, RUNTIME)
def cudaStreamCreateWithPriority(pstream, flags, priority):
    return _new_stream(pstream, flags)       # one priority (cudaDeviceGetStreamPriorityRange: 0, 0)


@exported(LIB, RUNTIME)
def cudaStreamDestroy(stream):
    handle = _stream(stream)
    if handle == 0:
        raise CudaError(CU.cudaErrorInvalidResourceHandle, "the default stream cannot be destroyed")
    streams.stream_destroy(handle)
    return OK


@exported(LIB, RUNTIME, "cudaStreamGetFlags_ptsz")
def cudaStreamGetFlags(stream, flags):
    required(flags, "flags")[0] = streams.stream_flags(_stream(stream))
    return OK


@exported(LIB, RUNTIME, "cudaStreamGetPriority_ptsz")
def cudaStreamGetPriority(stream, priority):
    streams.stream_flags(_stream(stream))          # the stream must exist
    required(priority, "priority")[0] = 0
    return OK


@exported(LIB, RUNTIME, "cudaStreamSynchronize_ptsz")
def cudaStreamSynchronize(stream):
    streams.stream_synchronize(_stream(stream))
    return OK


@exported(LIB, RUNTIME, "cudaStreamQuery_ptsz")
def cudaStreamQuery(stream):
    return OK if streams.stream_query(_stream(stream)) else CU.cudaErrorNotReady


@exported(LIB, RUNTIME, "cudaStreamWaitEvent_ptsz")
def cudaStreamWaitEvent(stream, event, flags):
    if flags & ~1:
        raise CudaError(CU.cudaErrorInvalidValue, f"cudaStreamWaitEvent flags 0x{flags:x}")
    streams.stream_wait_event(_stream(stream), address(event))
    return OK


@exported(LIB, RUNTIME, "cudaStreamAddCallback_ptsz")
def cudaStreamAddCallback(stream, callback, user_data, flags):
    if flags != 0:
        raise CudaError(CU.cudaErrorInvalidValue, "cudaStreamAddCallback flags must be 0")
    required(callback, "callback")
    streams.host_callback(_stream(stream), lambda: callback(stream, OK, user_data))
    return OK


@exported(LIB, RUNTIME, "cudaLaunchHostFunc_ptsz")
def cudaLaunchHostFunc(stream, fn, user_data):
    required(fn, "fn")
    streams.host_callback(_stream(stream), lambda: fn(user_data))
    return OK


@exported(LIB, RUNTIME)
def cudaEventCreate(pevent):
    required(pevent, "event")[0] = ffi.cast("cudaEvent_t", streams.event_create(0))
    return OK


@exported(LIB, RUNTIME)
def cudaEventCreateWithFlags(pevent, flags):
    if flags & CU.cudaEventInterprocess:
        raise CudaError(CU.cudaErrorNotSupported, "interprocess events are not supported")
    required(pevent, "event")[0] = ffi.cast("cudaEvent_t", streams.event_create(flags))
    return OK


@exported(LIB, RUNTIME, "cudaEventRecord_ptsz")
def cudaEventRecord(event, stream):
    streams.event_record(address(event), _stream(stream))
    return OK


@exported(LIB, RUNTIME, "cudaEventRecordWithFlags_ptsz")
def cudaEventRecordWithFlags(event, stream, flags):
    if flags & ~CU.cudaEventRecordExternal:     # external: only meaningful under stream capture
        raise CudaError(CU.cudaErrorInvalidValue, f"cudaEventRecordWithFlags flags 0x{flags:x}")
    return cudaEventRecord(event, stream)


@exported(LIB, RUNTIME)
def cudaEventQuery(event):
    return OK if streams.event_query(address(event)) else CU.cudaErrorNotReady


@exported(LIB, RUNTIME)
def cudaEventSynchronize(event):
    streams.event_synchronize(address(event))
    return OK


@exported(LIB, RUNTIME)
def cudaEventElapsedTime(ms, start, end):
    required(ms, "ms")[0] = streams.elapsed_ms(address(start), address(end))
    return OK


@exported(LIB, RUNTIME)
def cudaEventDestroy(event):
    streams.event_destroy(address(event))
    return OK


# ---- graphs made by stream capture --------------------------------------------------
_dependency_cells: dict[int, Any] = {}       # stream -> the node array cudaStreamGetCaptureInfo hands out


@exported(LIB, RUNTIME, "cudaStreamBeginCapture_ptsz")
def cudaStreamBeginCapture(stream, mode):
    handle = _stream(stream)
    blocking = streams.stream_flags(handle) & CU.cudaStreamNonBlocking == 0 if handle else True
    graphs.begin(handle, mode, blocking)
    return OK


@exported(LIB, RUNTIME, "cudaStreamEndCapture_ptsz")
def cudaStreamEndCapture(stream, pgraph):
    required(pgraph, "pGraph")[0] = ffi.NULL
    pgraph[0] = ffi.cast("cudaGraph_t", graphs.end(_stream(stream)))
    return OK


@exported(LIB, RUNTIME, "cudaStreamIsCapturing_ptsz")
def cudaStreamIsCapturing(stream, pstatus):
    required(pstatus, "pCaptureStatus")[0] = graphs.status(_stream(stream))[0]
    return OK


@exported(LIB, RUNTIME, "cudaStreamGetCaptureInfo_ptsz")
def cudaStreamGetCaptureInfo(stream, pstatus, pid, pgraph, pdeps, pedges, pnum):
    handle = _stream(stream)
    status, capture_id, graph, last = graphs.status(handle)
    required(pstatus, "captureStatus_out")[0] = status
    if pid != ffi.NULL:
        pid[0] = capture_id
    if pgraph != ffi.NULL:
        pgraph[0] = ffi.cast("cudaGraph_t", graph)
    # the next captured node depends on the last one: captures here are one ordered list
    cell = _dependency_cells[handle] = ffi.new("cudaGraphNode_t[1]", [ffi.cast("cudaGraphNode_t", last)])
    if pdeps != ffi.NULL:
        pdeps[0] = cell if last else ffi.NULL
    if pedges != ffi.NULL:
        pedges[0] = ffi.NULL                 # every edge is a default one
    if pnum != ffi.NULL:
        pnum[0] = 1 if last else 0
    return OK


@exported(LIB, RUNTIME)
def cudaGraphCreate(pgraph, flags):
    if flags != 0:
        raise CudaError(CU.cudaErrorInvalidValue, "cudaGraphCreate flags must be 0")
    required(pgraph, "pGraph")[0] = ffi.cast("cudaGraph_t", graphs.create())
    return OK


@exported(LIB, RUNTIME)
def cudaGraphGetNodes(graph, nodes, pnum):
    required(pnum, "numNodes")
    handles = graphs.nodes(address(required(graph, "graph")))
    if nodes != ffi.NULL:
        for i, node in enumerate(handles[:pnum[0]]):
            nodes[i] = ffi.cast("cudaGraphNode_t", node)
        for i in range(len(handles), pnum[0]):
            nodes[i] = ffi.NULL
    pnum[0] = len(handles)
    return OK


_INSTANTIATE_FLAGS = CU.cudaGraphInstantiateFlagAutoFreeOnLaunch | CU.cudaGraphInstantiateFlagUseNodePriority


@exported(LIB, RUNTIME, "cudaGraphInstantiateWithFlags")
def cudaGraphInstantiate(pexec, graph, flags):
    # auto-free and node priority change nothing here (no memory nodes, one priority)
    if flags & ~_INSTANTIATE_FLAGS:
        raise CudaError(CU.cudaErrorInvalidValue, f"graph instantiate flags 0x{flags:x}")
    required(pexec, "pGraphExec")[0] = ffi.cast("cudaGraphExec_t",
                                                graphs.instantiate(address(required(graph, "graph"))))
    return OK


@exported(LIB, RUNTIME, "cudaGraphLaunch_ptsz")
def cudaGraphLaunch(graph_exec, stream):
    graphs.launch(address(required(graph_exec, "graphExec")), _stream(stream))
    return OK


@exported(LIB, RUNTIME)
def cudaGraphExecDestroy(graph_exec):
    graphs.exec_destroy(address(required(graph_exec, "graphExec")))
    return OK


@exported(LIB, RUNTIME)
def cudaGraphDestroy(graph):
    graphs.destroy(address(required(graph, "graph")))
    return OK


# ---- graphs built node by node --------------------------------------------------------
def _dependencies(pdeps, num) -> list[int]:
    if num and pdeps == ffi.NULL:
        raise CudaError(CU.cudaErrorInvalidValue, f"{num} dependencies and no array of them")
    return [address(pdeps[i]) for i in range(num)]


def _new_node(pnode, make) -> int:
    required(pnode, "pGraphNode")
    pnode[0] = ffi.cast("cudaGraphNode_t", make())
    return OK


def _words(array):
    return None if array == ffi.NULL else (lambda i: address(array[i]))


@exported(LIB, RUNTIME)
def cudaGraphAddKernelNode(pnode, graph, pdeps, num, params):
    p = required(params, "pNodeParams")
    return _new_node(pnode, lambda: graph_nodes.kernel(
        address(required(graph, "graph")), _dependencies(pdeps, num), address(required(p.func, "func")),
        _dim3(p.gridDim), _dim3(p.blockDim), p.sharedMemBytes, _words(p.kernelParams), _words(p.extra)))


@exported(LIB, RUNTIME)
def cudaGraphAddMemcpyNode(pnode, graph, pdeps, num, params):
    return _new_node(pnode, lambda: graph_nodes.memcpy_3d(address(required(graph, "graph")),
                                                          _dependencies(pdeps, num), *_copy_3d(params)))


@exported(LIB, RUNTIME)
def cudaGraphAddMemcpyNode1D(pnode, graph, pdeps, num, dst, src, count, kind):
    return _new_node(pnode, lambda: graph_nodes.memcpy_1d(address(required(graph, "graph")),
                                                          _dependencies(pdeps, num), address(dst), address(src),
                                                          count, kind))


@exported(LIB, RUNTIME)
def cudaGraphAddMemsetNode(pnode, graph, pdeps, num, params):
    p = required(params, "pMemsetParams")
    return _new_node(pnode, lambda: graph_nodes.memset(address(required(graph, "graph")), _dependencies(pdeps, num),
                                                       address(p.dst), p.pitch, p.value, p.elementSize, p.width,
                                                       p.height))


@exported(LIB, RUNTIME)
def cudaGraphAddHostNode(pnode, graph, pdeps, num, params):
    p = required(params, "pNodeParams")
    fn, user_data = required(p.fn, "fn"), p.userData
    return _new_node(pnode, lambda: graph_nodes.host(address(required(graph, "graph")), _dependencies(pdeps, num),
                                                     lambda: fn(user_data)))


@exported(LIB, RUNTIME)
def cudaGraphAddEmptyNode(pnode, graph, pdeps, num):
    return _new_node(pnode, lambda: graph_nodes.empty(address(required(graph, "graph")),
                                                      _dependencies(pdeps, num)))


# ---- errors -------------------------------------------------------------------------------
@exported(LIB, RUNTIME)
def cudaGetLastError():
    return LAST.get(clear=True)


@exported(LIB, RUNTIME)
def cudaPeekAtLastError():
    return LAST.get(clear=False)


@exported(LIB, STRING)
def cudaGetErrorString(code):
    return static_string(error_text(code) or "unrecognized error code")


@exported(LIB, STRING)
def cudaGetErrorName(code):
    return static_string(error_name(code) or "cudaErrorUnknown")
