"""libcuda.so.1: the CUDA driver API (cu*) as C functions over the SDAA driver layer.

The entry points are the names cuda.h binds programs to (cuMemAlloc_v2,
cuCtxCreate_v4, ...).  Handles are HandleTable cells as in libusdaa; a stream
of 0, CU_STREAM_LEGACY (1) or CU_STREAM_PER_THREAD (2) is the current
context's default stream.  Module images may be in any of the toolkit's
formats (driver/nvimage.py).

Programs built with CUDA_API_PER_THREAD_DEFAULT_STREAM (`--default-stream per-thread`)
import the calls that touch the default stream under a `_ptds` or `_ptsz` name; those are
the same exports (`exported`'s aliases).  The thread's default stream here is the context's
legacy one, which orders more work, never less.  Every failure is logged and answered with its
CUresult; nothing crosses into C as an exception.
"""
from __future__ import annotations

import functools
from functools import partial
from typing import Any, Callable

from ..driver import context as drv_ctx, device as drv_device, launch as drv_launch
from ..driver import memory as drv_mem, nvimage, primary, stream as drv_stream
from ..driver.errors import SdError, from_gdev
from ..gdev.errors import GdevError
from ..log import get
from ..runtime import device_api, graphs, kernels
from ..runtime.errors import SdaaError
from . import driver_exports
from .boundary import (Family, HandleTable, NullArgument, address, export_as, exported, exported_names,
                       required, static_string, string, unexpected, words)
from .cuda_codes import CU, CuError, cuda_code, error_name, error_text, runtime_code

log = get("gdev.capi")
LIB = "cuda"
ffi: Any = None                      # set by cuda.bind()
lib: Any = None                      # the embedding module's lib, for cuGetProcAddress
OK = CU.CUDA_SUCCESS
DRIVER_VERSION = 13000               # what CUDA 13 programs check cuDriverGetVersion against
DEFAULT_STREAMS = (0, 1, 2)          # NULL, CU_STREAM_LEGACY, CU_STREAM_PER_THREAD
CU_STREAM_LEGACY = 1
CTX_FLAGS = CU.CU_CTX_SCHED_MASK | CU.CU_CTX_MAP_HOST | CU.CU_CTX_LMEM_RESIZE_TO_MAX
contexts = HandleTable("CUcontext")
modules = HandleTable("CUmodule")
functions = HandleTable("CUfunction")
streams = HandleTable("CUstream")
events = HandleTable("CUevent")


def _translate(e: BaseException, name: str) -> int:
    if isinstance(e, NullArgument):
        e = CuError(CU.CUDA_ERROR_INVALID_VALUE, str(e))
    elif isinstance(e, GdevError):
        e = from_gdev(e)
    if isinstance(e, SdError):
        e = CuError(cuda_code(e.code), str(e))
    elif isinstance(e, SdaaError):      # the graph and unified-memory code shared with the runtime
        e = CuError(runtime_code(e), str(e))
    if isinstance(e, CuError):
        log.warning("%s: %s (%s)", name, e, error_name(e.code))
        return e.code
    unexpected(e, name)
    return CU.CUDA_ERROR_UNKNOWN


DRIVER = Family("CUresult", OK, _translate, CU.CUDA_ERROR_UNKNOWN)


def _api(*aliases: str):
    """Export a driver function that answers NOT_INITIALIZED before cuInit, as CUDA's do."""
    def wrap(fn):
        @functools.wraps(fn)
        def call(*args):
            drv_device.require_init()
            return fn(*args)
        return exported(LIB, DRIVER, *aliases)(call)
    return wrap


def _lookup(table: HandleTable, h, code: int = CU.CUDA_ERROR_INVALID_HANDLE):
    obj = table.get(address(h))
    if obj is None:
        raise CuError(code, f"0x{address(h):x} is not a valid {table.kind}")
    return obj


def _current() -> drv_ctx.Context:
    ctx = drv_ctx.current()
    assert ctx is not None          # current() raises INVALID_CONTEXT unless asked for optional
    return ctx


def _context(h) -> drv_ctx.Context:
    return _lookup(contexts, h, CU.CUDA_ERROR_INVALID_CONTEXT)


def _stream(h) -> drv_stream.Stream | None:
    """The stream of a handle; None (the current context's default stream) for the special values."""
    return None if address(h) in DEFAULT_STREAMS else _lookup(streams, h)


def _stream_or_default(h) -> drv_stream.Stream:
    return _stream(h) or drv_stream.default(_current())


# ---- stream capture --------------------------------------------------------------------
# The graph code (runtime/graphs.py) is the runtime's, keyed by stream and event numbers:
# this face's are its handles' addresses (never the runtime's small numbers), 0 for the
# default stream, which cannot capture.  A captured step takes the stream to run on.
Step = Callable[[int], None]


def _key(h) -> int:
    return 0 if address(h) in DEFAULT_STREAMS else address(h)


def _queued(hstream, what: str, step: Step, kind: int, kernel: graphs.Kernel | None = None) -> None:
    """Run `step` on the stream now, or add it to the capture the stream is in.  Work on
    the default stream (the context's legacy one) would wait for the context's blocking
    streams: it fails while one of them captures (CUDA_ERROR_STREAM_CAPTURE_IMPLICIT)."""
    key = _key(hstream)
    if key == 0:
        _legacy(what, address(hstream) == CU_STREAM_LEGACY)
    elif graphs.record(key, step, what, kind, kernel):
        return
    step(key)


def _legacy(what: str, explicit: bool = False) -> None:
    """`what` uses the current context's legacy stream: refused while a blocking stream
    of that context captures (the capture is invalidated).  `explicit`: named as
    CU_STREAM_LEGACY, which a per-thread default stream build's default stream is not."""
    graphs.legacy(what, _current(), explicit)


def _forbid(hstream, what: str) -> None:
    key = _key(hstream)
    if key:
        graphs.forbid(key, what)
    else:
        _legacy(what, address(hstream) == CU_STREAM_LEGACY)


def _function(h):
    fn = _lookup(functions, h)
    fn.module.ctx.check()
    return fn


def _out_handle(p, table: HandleTable, ctype: str, obj) -> int:
    p[0] = ffi.cast(ctype, table.new(obj))
    return OK


# ---- the calls the SDAA driver face already makes as CUDA does -------------------
# No handles and no pointers but the caller's own: the same exports, under CUDA's names
# (their failures come back through this face's translator, with CUDA's codes).
_SAME_AS_SDAA = {
    driver_exports.sdInit: ("cuInit",),
    driver_exports.sdDeviceGet: ("cuDeviceGet",),
    driver_exports.sdDeviceGetCount: ("cuDeviceGetCount",),
    driver_exports.sdDeviceTotalMem: ("cuDeviceTotalMem_v2",),
    driver_exports.sdDeviceComputeCapability: ("cuDeviceComputeCapability",),
    driver_exports.sdCtxGetDevice: ("cuCtxGetDevice",),
}
for _fn, _names in _SAME_AS_SDAA.items():
    export_as(LIB, DRIVER, _fn, *_names)


# The SDAA calls that CUDA's capture rules restrict: the same calls after the rule's check.
def _unsafe_first(fn: Callable, what: str) -> Callable:
    """Not stream-ordered (allocation, freeing, context-wide synchronisation): refused
    during a capture the thread's capture mode protects (graphs.unsafe)."""
    def call(*args):
        drv_device.require_init()
        graphs.unsafe(what)
        return fn(*args)
    return call


def _legacy_first(fn: Callable, what: str) -> Callable:
    """A synchronous copy or fill: work on the legacy stream (graphs.legacy)."""
    def call(*args):
        drv_device.require_init()
        _legacy(what)
        return fn(*args)
    return call


_RESTRICTED: dict[tuple[str, ...], Callable] = {
    ("cuCtxSynchronize",): _unsafe_first(driver_exports.sdCtxSynchronize, "cuCtxSynchronize"),
    ("cuMemAlloc_v2",): _unsafe_first(driver_exports.sdMemAlloc, "cuMemAlloc"),
    ("cuMemFree_v2",): _unsafe_first(driver_exports.sdMemFree, "cuMemFree"),
    ("cuMemFreeHost",): _unsafe_first(driver_exports.sdMemFreeHost, "cuMemFreeHost"),
    ("cuMemcpyHtoD_v2", "cuMemcpyHtoD_v2_ptds"): _legacy_first(driver_exports.sdMemcpyHtoD, "cuMemcpyHtoD"),
    ("cuMemcpyDtoH_v2", "cuMemcpyDtoH_v2_ptds"): _legacy_first(driver_exports.sdMemcpyDtoH, "cuMemcpyDtoH"),
    ("cuMemcpyDtoD_v2", "cuMemcpyDtoD_v2_ptds"): _legacy_first(driver_exports.sdMemcpyDtoD, "cuMemcpyDtoD"),
    ("cuMemsetD8_v2", "cuMemsetD8_v2_ptds"): _legacy_first(driver_exports.sdMemsetD8, "cuMemsetD8"),
    ("cuMemsetD16_v2", "cuMemsetD16_v2_ptds"): _legacy_first(driver_exports.sdMemsetD16, "cuMemsetD16"),
    ("cuMemsetD32_v2", "cuMemsetD32_v2_ptds"): _legacy_first(driver_exports.sdMemsetD32, "cuMemsetD32"),
}
for _aliases, _checked in _RESTRICTED.items():
    export_as(LIB, DRIVER, _checked, *_aliases)


# ---- initialisation, version, errors ----------------------------------------
@exported(LIB, DRIVER)
def cuDriverGetVersion(version):
    required(version, "driverVersion")[0] = DRIVER_VERSION
    return OK


def _error_string(code, pstr, text) -> int:
    required(pstr, "pStr")
    name = error_name(code)
    if name is None:
        pstr[0] = ffi.NULL
        raise CuError(CU.CUDA_ERROR_INVALID_VALUE, f"{code} is not a CUresult")
    pstr[0] = static_string(text(name))
    return OK


@exported(LIB, DRIVER)
def cuGetErrorName(code, pstr):
    return _error_string(code, pstr, lambda name: name)


@exported(LIB, DRIVER)
def cuGetErrorString(code, pstr):
    return _error_string(code, pstr, error_text)


# plain names cuda.h binds to a function of another name
_RENAMED = {"cuGraphInstantiate": "cuGraphInstantiateWithFlags"}


def _proc_candidates(name: str, per_thread: bool) -> list[str]:
    """The exports cuda.h could bind a plain name to, the likeliest first."""
    name = _RENAMED.get(name, name)
    versions = [f"{name}_v{n}" for n in (4, 3, 2)] + [name]
    if per_thread:
        versions = [f"{v}{suffix}" for v in versions for suffix in ("_ptds", "_ptsz")] + versions
    return versions


@exported(LIB, DRIVER)
def cuGetProcAddress_v2(symbol, pfn, cuda_version, flags, status):
    name = string(symbol, "symbol")
    required(pfn, "pfn")
    names = exported_names(LIB)
    per_thread = bool(flags & CU.CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM)
    found = next((n for n in _proc_candidates(name, per_thread) if n in names), None)
    if status != ffi.NULL:
        status[0] = CU.CU_GET_PROC_ADDRESS_SUCCESS if found else CU.CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND
    if found is None:
        pfn[0] = ffi.NULL
        raise CuError(CU.CUDA_ERROR_NOT_FOUND, f"no driver entry point {name!r} in this library")
    pfn[0] = ffi.cast("void *", ffi.addressof(lib, found))
    return OK


# ---- devices ---------------------------------------------------------------------
@_api()
def cuDeviceGetName(name, length, dev):
    required(name, "name")
    if length <= 0:
        raise CuError(CU.CUDA_ERROR_INVALID_VALUE, f"name buffer of {length} bytes")
    text = drv_device.name(drv_device.check(dev)).encode()[: length - 1]
    ffi.memmove(name, text + b"\0", len(text) + 1)
    return OK


@_api("cuDeviceGetUuid")
def cuDeviceGetUuid_v2(uuid, dev):
    ffi.memmove(required(uuid, "uuid").bytes, drv_device.uuid(dev), 16)
    return OK


@_api()
def cuDeviceGetAttribute(value, attrib, dev):
    required(value, "pi")
    drv_device.check(dev)
    if attrib == CU.CU_DEVICE_ATTRIBUTE_COOPERATIVE_MULTI_DEVICE_LAUNCH:       # the runtime has none
        value[0] = 1
        return OK
    try:
        # CUdevice_attribute numbers are cudaDeviceAttr's: the runtime's table answers both faces
        value[0] = device_api.cuda_attribute(attrib, dev)
    except SdaaError as e:
        raise CuError(CU.CUDA_ERROR_INVALID_VALUE, str(e)) from None
    return OK


@_api()
def cuDeviceGetPCIBusId(bus_id, length, dev):
    required(bus_id, "pciBusId")
    info = drv_device.info(drv_device.check(dev))
    text = f"0000:{info['pci_bus']:02x}:{info['pci_device']:02x}.0".encode()
    if length <= len(text):
        raise CuError(CU.CUDA_ERROR_INVALID_VALUE, f"PCI bus id buffer of {length} bytes")
    ffi.memmove(bus_id, text + b"\0", len(text) + 1)
    return OK


# ---- primary contexts ------------------------------------------------------------
@_api()
def cuDevicePrimaryCtxRetain(pctx, dev):
    required(pctx, "pctx")
    return _out_handle(pctx, contexts, "CUcontext", primary.retain(dev))


@_api()
def cuDevicePrimaryCtxRelease_v2(dev):
    primary.release(dev)
    return OK


def _check_ctx_flags(flags: int) -> int:
    if flags & ~CTX_FLAGS:
        raise CuError(CU.CUDA_ERROR_INVALID_VALUE, f"context flags 0x{flags:x}")
    return flags


@_api()
def cuDevicePrimaryCtxSetFlags_v2(dev, flags):
    primary.set_flags(dev, _check_ctx_flags(flags))
    return OK


@_api()
def cuDevicePrimaryCtxGetState(dev, flags, active):
    required(flags, "flags"), required(active, "active")
    flags[0], active[0] = primary.state(dev)
    return OK


@_api()
def cuDevicePrimaryCtxReset_v2(dev):
    primary.reset(dev)
    return OK


# ---- contexts ----------------------------------------------------------------------
@_api()
def cuCtxCreate_v2(pctx, flags, dev):
    required(pctx, "pctx")
    ctx = drv_ctx.Context(drv_device.check(dev), _check_ctx_flags(flags))
    drv_ctx.push(ctx)
    return _out_handle(pctx, contexts, "CUcontext", ctx)


@_api()
def cuCtxCreate_v4(pctx, params, flags, dev):
    if params != ffi.NULL and (params.execAffinityParams != ffi.NULL or params.cigParams != ffi.NULL):
        raise CuError(CU.CUDA_ERROR_NOT_SUPPORTED, "execution affinity and CIG contexts are not supported")
    return cuCtxCreate_v2.__wrapped__(pctx, flags, dev)


@_api()
def cuCtxDestroy_v2(h):
    ctx = _context(h)
    contexts.drop(address(h))
    drv_ctx.forget(ctx)
    ctx.destroy()
    return OK


@_api()
def cuCtxPushCurrent_v2(h):
    drv_ctx.push(_context(h))
    return OK


@_api()
def cuCtxPopCurrent_v2(pctx):
    ctx = drv_ctx.pop()
    if pctx != ffi.NULL:
        _out_handle(pctx, contexts, "CUcontext", ctx)
    return OK


@_api()
def cuCtxSetCurrent(h):
    drv_ctx.set_current(None if h == ffi.NULL else _context(h))
    return OK


@_api()
def cuCtxGetCurrent(pctx):
    required(pctx, "pctx")
    ctx = drv_ctx.current(optional=True)
    if ctx is None:
        pctx[0] = ffi.NULL
        return OK
    return _out_handle(pctx, contexts, "CUcontext", ctx)


@_api()
def cuCtxGetFlags(flags):
    required(flags, "flags")[0] = _current().flags
    return OK


API_VERSION = 3020                   # the context interface every context since CUDA 3.2 has


@_api()
def cuCtxGetApiVersion(h, version):
    required(version, "version")
    ctx = _current() if h == ffi.NULL else _context(h)
    ctx.check()
    version[0] = API_VERSION
    return OK


@_api()
def cuCtxGetStreamPriorityRange(least, greatest):
    # one priority: the card's channels are served in turn (either pointer may be NULL)
    for out in (least, greatest):
        if out != ffi.NULL:
            out[0] = 0
    return OK


def _check_cache_config(config: int) -> None:
    if config not in (CU.CU_FUNC_CACHE_PREFER_NONE, CU.CU_FUNC_CACHE_PREFER_SHARED, CU.CU_FUNC_CACHE_PREFER_L1,
                      CU.CU_FUNC_CACHE_PREFER_EQUAL):
        raise CuError(CU.CUDA_ERROR_INVALID_VALUE, f"cache configuration {config}")


@_api()
def cuCtxSetCacheConfig(config):
    _current()
    _check_cache_config(config)      # a hint: the card has no L1 to divide
    return OK


@_api()
def cuCtxGetCacheConfig(pconfig):
    _current()
    required(pconfig, "pconfig")[0] = CU.CU_FUNC_CACHE_PREFER_NONE
    return OK


# ---- modules and functions ---------------------------------------------------------
@_api()
def cuModuleLoad(pmod, fname):
    required(pmod, "module")
    path = string(fname, "fname")
    return _out_handle(pmod, modules, "CUmodule", nvimage.load_file(_current(), path))


@_api("cuModuleLoadFatBinary")
def cuModuleLoadData(pmod, image):
    required(pmod, "module")
    data = nvimage.image_at(address(required(image, "image")))
    return _out_handle(pmod, modules, "CUmodule", nvimage.load(_current(), data))


@_api()
def cuModuleLoadDataEx(pmod, image, num_options, options, values):
    if num_options and (options == ffi.NULL or values == ffi.NULL):
        raise CuError(CU.CUDA_ERROR_INVALID_VALUE, "JIT options without arrays")
    return cuModuleLoadData.__wrapped__(pmod, image)       # the options tune a compiler this card has not


@_api()
def cuModuleUnload(h):
    mod = _lookup(modules, h)
    modules.drop(address(h))
    functions.drop_where(lambda fn: fn.module is mod)
    mod.release()
    return OK


@_api()
def cuModuleGetFunction(pfunc, h, name):
    required(pfunc, "hfunc")
    fn = _lookup(modules, h).function(string(name, "name"))
    return _out_handle(pfunc, functions, "CUfunction", fn)


@_api()
def cuModuleGetGlobal_v2(dptr, nbytes, h, name):
    addr, size = _lookup(modules, h).global_var(string(name, "name"))
    if dptr != ffi.NULL:
        dptr[0] = addr
    if nbytes != ffi.NULL:
        nbytes[0] = size
    return OK


@_api()
def cuFuncGetAttribute(value, attrib, h):
    required(value, "pi")[0] = _function(h).attribute(attrib)
    return OK


@_api()
def cuFuncGetName(name, h):
    required(name, "name")[0] = static_string(_function(h).name)
    return OK


@_api()
def cuFuncSetCacheConfig(h, config):
    _function(h)
    _check_cache_config(config)
    return OK


@_api()
def cuOccupancyMaxActiveBlocksPerMultiprocessor(num_blocks, h, block_size, dynamic_shared):
    required(num_blocks, "numBlocks")
    try:
        num_blocks[0] = kernels.blocks_per_array(_function(h), block_size, dynamic_shared)
    except SdaaError as e:
        raise CuError(CU.CUDA_ERROR_INVALID_VALUE, str(e)) from None
    return OK


@_api()
def cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(num_blocks, h, block_size, dynamic_shared, flags):
    if flags & ~1:                   # CU_OCCUPANCY_DISABLE_CACHING_OVERRIDE: no caches to override
        raise CuError(CU.CUDA_ERROR_INVALID_VALUE, f"occupancy flags 0x{flags:x}")
    return cuOccupancyMaxActiveBlocksPerMultiprocessor.__wrapped__(num_blocks, h, block_size, dynamic_shared)


# ---- launches -------------------------------------------------------------------------
@_api("cuLaunchKernel_ptsz")
def cuLaunchKernel(h, gx, gy, gz, bx, by, bz, shared, hstream, kernel_params, extra):
    fn = _function(h)
    # the arguments of now, as CUDA copies them into a captured kernel node
    params = drv_launch.launch_params(fn, words(kernel_params), words(extra))
    drv_launch.check_shape(fn, (gx, gy, gz), (bx, by, bz), shared)      # before capture too, as CUDA does
    grid, block = (gx, gy, gz), (bx, by, bz)
    _queued(hstream, "kernel launch", partial(_launch_step, fn, grid, block, shared, params, False), graphs.KERNEL,
            graphs.Kernel(address(h), fn, grid, block, shared, params))
    return OK


def _launch_step(fn, grid, block, shared: int, params: bytes, cooperative: bool, key: int) -> None:
    drv_stream.launch(_stream(key), fn, grid, block, shared, params, cooperative)


@_api("cuLaunchCooperativeKernel_ptsz")
def cuLaunchCooperativeKernel(h, gx, gy, gz, bx, by, bz, shared, hstream, kernel_params):
    fn = _function(h)
    params = drv_launch.launch_params(fn, words(kernel_params), None)
    grid, block = (gx, gy, gz), (bx, by, bz)
    drv_launch.check_shape(fn, grid, block, shared)
    kernels.check_coresident(fn, grid, block, shared)
    _queued(hstream, "cooperative launch", partial(_launch_step, fn, grid, block, shared, params, True), graphs.KERNEL,
            graphs.Kernel(address(h), fn, grid, block, shared, params))
    return OK


MULTI_DEVICE_FLAGS = (CU.CUDA_COOPERATIVE_LAUNCH_MULTI_DEVICE_NO_PRE_LAUNCH_SYNC
                      | CU.CUDA_COOPERATIVE_LAUNCH_MULTI_DEVICE_NO_POST_LAUNCH_SYNC)


@_api()
def cuLaunchCooperativeKernelMultiDevice(plist, num, flags):
    """One cooperative launch per device, checked whole before any runs."""
    required(plist, "launchParamsList")
    if num == 0 or flags & ~MULTI_DEVICE_FLAGS:
        raise CuError(CU.CUDA_ERROR_INVALID_VALUE, f"{num} devices, flags 0x{flags:x}")
    launches = [_multi_device_launch(plist[i]) for i in range(num)]
    first = launches[0]
    for fn, grid, block, shared, _, hstream in launches:
        if (fn.name, grid, block, shared) != (first[0].name, first[1], first[2], first[3]):
            raise CuError(CU.CUDA_ERROR_INVALID_VALUE, "every device must launch the same kernel, shape and "
                                                       f"shared size ({fn.name} {grid} {block} {shared} differs)")
        _forbid(hstream, "cuLaunchCooperativeKernelMultiDevice")
    if len({fn.module.ctx.device for fn, *_ in launches}) != num:
        raise CuError(CU.CUDA_ERROR_INVALID_VALUE, "two launches on one device")
    streams_used = [_stream(h) or drv_stream.default(fn.module.ctx) for fn, *_, h in launches]
    if not flags & CU.CUDA_COOPERATIVE_LAUNCH_MULTI_DEVICE_NO_PRE_LAUNCH_SYNC:
        for stream in streams_used:              # each kernel after every listed stream's earlier work
            drv_stream.synchronize(stream)
    for (fn, grid, block, shared, params, _), stream in zip(launches, streams_used):
        drv_stream.launch(stream, fn, grid, block, shared, params, True)
    if not flags & CU.CUDA_COOPERATIVE_LAUNCH_MULTI_DEVICE_NO_POST_LAUNCH_SYNC:
        for stream in streams_used:              # later work on any listed stream after every kernel
            drv_stream.synchronize(stream)
    return OK


def _multi_device_launch(p) -> tuple:
    fn = _function(p.function)
    grid, block = (p.gridDimX, p.gridDimY, p.gridDimZ), (p.blockDimX, p.blockDimY, p.blockDimZ)
    params = drv_launch.launch_params(fn, words(p.kernelParams), None)
    drv_launch.check_shape(fn, grid, block, p.sharedMemBytes)
    kernels.check_coresident(fn, grid, block, p.sharedMemBytes)
    stream = _stream(p.hStream)
    if stream is not None and stream.ctx is not fn.module.ctx:
        raise CuError(CU.CUDA_ERROR_INVALID_HANDLE, "a stream of another context than its function's")
    return fn, grid, block, p.sharedMemBytes, params, p.hStream


# ---- memory --------------------------------------------------------------------------------
@_api()
def cuMemGetAddressRange_v2(pbase, psize, dptr):
    owner, mem = drv_ctx.registry.owner(dptr)
    if owner is None:
        raise CuError(CU.CUDA_ERROR_NOT_FOUND, f"0x{dptr:x} is in no allocation")
    if pbase != ffi.NULL:
        pbase[0] = mem.addr
    if psize != ffi.NULL:
        psize[0] = mem.size
    return OK


@_api()
def cuMemGetInfo_v2(free, total):
    f, t = drv_device.free_memory(_current().device)
    if free != ffi.NULL:
        free[0] = f
    if total != ffi.NULL:
        total[0] = t
    return OK


@_api()
def cuMemAllocHost_v2(pp, size):
    graphs.unsafe("cuMemAllocHost")
    required(pp, "pp")[0] = ffi.cast("void *", drv_mem.alloc_host(_current(), size))
    return OK


@_api()
def cuMemHostAlloc(pp, size, flags):
    if flags & ~(CU.CU_MEMHOSTALLOC_PORTABLE | CU.CU_MEMHOSTALLOC_DEVICEMAP | CU.CU_MEMHOSTALLOC_WRITECOMBINED):
        raise CuError(CU.CUDA_ERROR_INVALID_VALUE, f"cuMemHostAlloc flags 0x{flags:x}")
    return cuMemAllocHost_v2.__wrapped__(pp, size)


@_api()
def cuMemHostGetDevicePointer_v2(pdptr, p, flags):
    required(pdptr, "pdptr")
    if flags != 0:
        raise CuError(CU.CUDA_ERROR_INVALID_VALUE, "flags must be 0")
    pdptr[0] = drv_mem.host_device_pointer(address(p))
    return OK


def _host(p, what: str) -> int:
    return address(required(p, what))


@_api("cuMemcpyHtoDAsync_v2_ptsz")
def cuMemcpyHtoDAsync_v2(dst, src, n, hstream):
    src = _host(src, "srcHost")
    _queued(hstream, "memcpy", lambda key: drv_stream.copy_htod(_stream(key), dst, src, n), graphs.MEMCPY)
    return OK


@_api("cuMemcpyDtoHAsync_v2_ptsz")
def cuMemcpyDtoHAsync_v2(dst, src, n, hstream):
    dst = _host(dst, "dstHost")
    _queued(hstream, "memcpy", lambda key: drv_stream.copy_dtoh(_stream(key), dst, src, n), graphs.MEMCPY)
    return OK


@_api("cuMemcpyDtoDAsync_v2_ptsz")
def cuMemcpyDtoDAsync_v2(dst, src, n, hstream):
    _queued(hstream, "memcpy", lambda key: drv_stream.copy_dtod(_stream(key), dst, src, n), graphs.MEMCPY)
    return OK


def _memset_async(dst, value, elem: int, n, hstream) -> int:
    _queued(hstream, "memset", lambda key: drv_stream.memset(_stream(key), dst, value, elem, n), graphs.MEMSET)
    return OK


@_api("cuMemsetD8Async_ptsz")
def cuMemsetD8Async(dst, value, n, hstream):
    return _memset_async(dst, value, 1, n, hstream)


@_api("cuMemsetD16Async_ptsz")
def cuMemsetD16Async(dst, value, n, hstream):
    return _memset_async(dst, value, 2, n, hstream)


@_api("cuMemsetD32Async_ptsz")
def cuMemsetD32Async(dst, value, n, hstream):
    return _memset_async(dst, value, 4, n, hstream)


# ---- streams and events ------------------------------------------------------------------
@_api()
def cuStreamCreate(pstream, flags):
    required(pstream, "phStream")
    return _out_handle(pstream, streams, "CUstream", drv_stream.Stream(_current(), flags))


@_api()
def cuStreamCreateWithPriority(pstream, flags, priority):
    return cuStreamCreate.__wrapped__(pstream, flags)      # every priority is the one priority (0)


@_api("cuStreamGetFlags_ptsz")
def cuStreamGetFlags(h, flags):
    stream = _stream(h)
    required(flags, "flags")[0] = 0 if stream is None else stream.flags
    return OK


@_api("cuStreamGetPriority_ptsz")
def cuStreamGetPriority(h, priority):
    _stream(h)
    required(priority, "priority")[0] = 0
    return OK


@_api("cuStreamGetCtx_ptsz")
def cuStreamGetCtx(h, pctx):
    required(pctx, "pctx")
    stream = _stream(h)
    return _out_handle(pctx, contexts, "CUcontext", _current() if stream is None else stream.ctx)


@_api()
def cuStreamDestroy_v2(h):
    if address(h) in DEFAULT_STREAMS:
        raise CuError(CU.CUDA_ERROR_INVALID_HANDLE, "the default stream cannot be destroyed")
    stream = _lookup(streams, h)
    streams.drop(address(h))
    graphs.forget(address(h))
    stream.destroy()
    return OK


@_api("cuStreamQuery_ptsz")
def cuStreamQuery(h):
    _forbid(h, "cuStreamQuery")
    return OK if drv_stream.query(_stream_or_default(h)) else CU.CUDA_ERROR_NOT_READY


@_api("cuStreamSynchronize_ptsz")
def cuStreamSynchronize(h):
    _forbid(h, "stream synchronize")
    drv_stream.synchronize(_stream_or_default(h))
    return OK


@_api("cuStreamWaitEvent_ptsz")
def cuStreamWaitEvent(h, hevent, flags):
    if flags & ~1:                   # CU_EVENT_WAIT_DEFAULT / _EXTERNAL (the same here)
        raise CuError(CU.CUDA_ERROR_INVALID_VALUE, f"cuStreamWaitEvent flags 0x{flags:x}")
    stream = _stream_or_default(h)
    event = _lookup(events, hevent)
    if graphs.wait_event(_key(h), address(hevent), stream.blocking):
        return OK                    # a fork or join of the capture the event was recorded in
    _queued(h, "event wait", lambda key: drv_stream.wait_event(_stream_or_default(key), event), graphs.WAIT_EVENT)
    return OK


@_api()
def cuEventCreate(pevent, flags):
    required(pevent, "phEvent")
    if flags & CU.CU_EVENT_INTERPROCESS:
        raise CuError(CU.CUDA_ERROR_NOT_SUPPORTED, "interprocess events are not supported")
    return _out_handle(pevent, events, "CUevent", drv_stream.Event(_current(), flags))


@_api()
def cuEventDestroy_v2(h):
    event = _lookup(events, h)
    events.drop(address(h))
    event.destroy()
    return OK


@_api("cuEventRecord_ptsz")
def cuEventRecord(h, hstream):
    event = _lookup(events, h)
    if graphs.mark_event(address(h), _key(hstream)):
        return OK                    # marks a point of the capture: no card work
    if _key(hstream) == 0:
        _legacy("event record", address(hstream) == CU_STREAM_LEGACY)
    event.record(_stream(hstream) or drv_stream.default(event.ctx))
    return OK


@_api("cuEventRecordWithFlags_ptsz")
def cuEventRecordWithFlags(h, hstream, flags):
    if flags & ~CU.CU_EVENT_RECORD_EXTERNAL:     # external matters to graphs only
        raise CuError(CU.CUDA_ERROR_INVALID_VALUE, f"cuEventRecordWithFlags flags 0x{flags:x}")
    return cuEventRecord.__wrapped__(h, hstream)


@_api()
def cuEventQuery(h):
    graphs.captured_event(address(h), "cuEventQuery")
    return OK if _lookup(events, h).query() else CU.CUDA_ERROR_NOT_READY


@_api()
def cuEventSynchronize(h):
    graphs.captured_event(address(h), "cuEventSynchronize")
    _lookup(events, h).synchronize()
    return OK


@_api("cuEventElapsedTime")
def cuEventElapsedTime_v2(ms, hstart, hend):
    required(ms, "pMilliseconds")[0] = drv_stream.elapsed_ms(_lookup(events, hstart), _lookup(events, hend))
    return OK
