"""libusdaa.so, driver half: the SDAA driver API (sd*) as C functions."""
from __future__ import annotations

import functools
import struct
from typing import Any

from ..driver import context as drv_ctx, device as drv_device, launch as drv_launch
from ..driver import memory as drv_mem, module as drv_module, stream as drv_stream
from ..driver.errors import SD, SdError, error_name, error_text, from_gdev
from ..gdev.errors import GdevError
from ..log import get
from .boundary import (Family, HandleTable, NullArgument, address, exported, required, static_string,
                       string, unexpected, words)

log = get("gdev.capi")
LIB = "usdaa"
ffi: Any = None                      # set by usdaa.bind()
contexts = HandleTable("SDcontext")
modules = HandleTable("SDmodule")
functions = HandleTable("SDfunction")
streams = HandleTable("SDstream")
events = HandleTable("SDevent")


def _translate(e: BaseException, name: str) -> int:
    if isinstance(e, NullArgument):
        e = SdError(SD.SDAA_ERROR_INVALID_VALUE, str(e))
    elif isinstance(e, GdevError):
        e = from_gdev(e)
    if isinstance(e, SdError):
        log.warning("%s: %s (%s)", name, e, e.name)
        return e.code
    unexpected(e, name)
    return SD.SDAA_ERROR_UNKNOWN


DRIVER = Family("SDresult", SD.SDAA_SUCCESS, _translate, SD.SDAA_ERROR_UNKNOWN)
OK = SD.SDAA_SUCCESS
CTX_FLAGS = SD.SD_CTX_SCHED_MASK | SD.SD_CTX_MAP_HOST | SD.SD_CTX_LMEM_RESIZE_TO_MAX


def _api(fn):
    """Export a driver function that answers NOT_INITIALIZED before sdInit, as CUDA's do."""
    @functools.wraps(fn)
    def call(*args):
        drv_device.require_init()
        return fn(*args)
    return exported(LIB, DRIVER)(call)


def _lookup(table: HandleTable, h, code: int = SD.SDAA_ERROR_INVALID_HANDLE):
    obj = table.get(address(h))
    if obj is None:
        raise SdError(code, f"0x{address(h):x} is not a valid {table.kind}")
    return obj


def _ctx():
    return drv_ctx.current()


def _stream(h):
    """The stream object for a handle; NULL is the context's default stream."""
    if h == ffi.NULL:
        return None
    return _lookup(streams, h)


# ---- initialisation and devices -----------------------------------------
@exported(LIB, DRIVER)
def sdInit(flags):
    drv_device.init(flags)
    return OK


@exported(LIB, DRIVER)
def sdDriverGetVersion(version):
    required(version, "driverVersion")[0] = drv_device.DRIVER_VERSION
    return OK


@_api
def sdDeviceGet(device, ordinal):
    required(device, "device")
    device[0] = drv_device.check(ordinal)
    return OK


@_api
def sdDeviceGetCount(count):
    required(count, "count")
    count[0] = drv_device.count_raw()
    return OK


@_api
def sdDeviceGetName(name, length, dev):
    required(name, "name")
    if length <= 0:
        raise SdError(SD.SDAA_ERROR_INVALID_VALUE, f"name buffer of {length} bytes")
    text = drv_device.name(drv_device.check(dev)).encode()[: length - 1]
    ffi.memmove(name, text + b"\0", len(text) + 1)
    return OK


@_api
def sdDeviceTotalMem(nbytes, dev):
    required(nbytes, "bytes")
    nbytes[0] = drv_device.info(drv_device.check(dev))["vram_size"]
    return OK


@_api
def sdDeviceComputeCapability(major, minor, dev):
    required(major, "major"), required(minor, "minor")
    info = drv_device.info(drv_device.check(dev))
    major[0], minor[0] = info["compute_major"], info["compute_minor"]
    return OK


@_api
def sdDeviceGetAttribute(value, attrib, dev):
    required(value, "pi")
    value[0] = drv_device.attribute(drv_device.check(dev), attrib)
    return OK


@_api
def sdDeviceGetProperties(prop, dev):
    required(prop, "prop")
    i = drv_device.info(drv_device.check(dev))
    prop.maxThreadsPerBlock = i["max_threads_per_block"]
    prop.maxThreadsDim = list(i["max_block_dim"])
    prop.maxGridSize = list(i["max_grid_dim"])
    prop.sharedMemPerBlock = i["shared_mem_per_block"]
    prop.totalConstantMemory = i["const_mem_size"]
    prop.SIMDWidth = i["warp_size"]
    prop.memPitch = drv_device.MAX_PITCH
    prop.regsPerBlock = i["regs_per_block"]
    prop.clockRate = i["clock_khz"]
    prop.textureAlign = drv_device.TEXTURE_ALIGNMENT
    return OK


# ---- contexts -------------------------------------------------------------
@_api
def sdCtxCreate(pctx, flags, dev):
    required(pctx, "pctx")
    if flags & ~CTX_FLAGS:
        raise SdError(SD.SDAA_ERROR_INVALID_VALUE, f"sdCtxCreate flags 0x{flags:x}")
    ctx = drv_ctx.Context(drv_device.check(dev), flags)
    drv_ctx.push(ctx)
    pctx[0] = ffi.cast("SDcontext", contexts.new(ctx))
    return OK


@_api
def sdCtxDestroy(h):
    ctx = _lookup(contexts, h, SD.SDAA_ERROR_INVALID_CONTEXT)
    contexts.drop(address(h))
    drv_ctx.forget(ctx)
    ctx.destroy()
    return OK


@_api
def sdCtxGetCurrent(pctx):
    required(pctx, "pctx")
    ctx = drv_ctx.current(optional=True)
    pctx[0] = ffi.NULL if ctx is None else ffi.cast("SDcontext", contexts.new(ctx))
    return OK


@_api
def sdCtxSetCurrent(h):
    drv_ctx.set_current(None if h == ffi.NULL else _lookup(contexts, h, SD.SDAA_ERROR_INVALID_CONTEXT))
    return OK


@_api
def sdCtxPushCurrent(h):
    drv_ctx.push(_lookup(contexts, h, SD.SDAA_ERROR_INVALID_CONTEXT))
    return OK


@_api
def sdCtxPopCurrent(pctx):
    ctx = drv_ctx.pop()
    if pctx != ffi.NULL:
        pctx[0] = ffi.cast("SDcontext", contexts.new(ctx))
    return OK


@_api
def sdCtxGetDevice(device):
    required(device, "device")
    device[0] = _ctx().device
    return OK


@_api
def sdCtxSynchronize():
    _ctx().synchronize()
    return OK


# ---- modules and functions ----------------------------------------------------
def _new_module(pmod, loader) -> int:
    required(pmod, "module")
    mod = loader(_ctx())
    pmod[0] = ffi.cast("SDmodule", modules.new(mod))
    return OK


@_api
def sdModuleLoad(pmod, fname):
    required(fname, "fname")
    return _new_module(pmod, lambda ctx: drv_module.load_file(ctx, string(fname, "fname")))


@_api
def sdModuleLoadData(pmod, image):
    required(image, "image")
    return _new_module(pmod, lambda ctx: drv_module.Module(ctx, drv_module.image_bytes_at(address(image))))


@_api
def sdModuleLoadDataEx(pmod, image, num_options, options, values):
    if num_options and (options == ffi.NULL or values == ffi.NULL):
        raise SdError(SD.SDAA_ERROR_INVALID_VALUE, "JIT options without arrays")
    return sdModuleLoadData(pmod, image)


@_api
def sdModuleUnload(h):
    mod = _lookup(modules, h)
    modules.drop(address(h))
    functions.drop_where(lambda fn: fn.module is mod)
    mod.release()
    return OK


@_api
def sdModuleGetFunction(pfunc, h, name):
    required(pfunc, "hfunc"), required(name, "name")
    mod = _lookup(modules, h)
    fn = mod.function(string(name, "name"))
    pfunc[0] = ffi.cast("SDfunction", functions.new(fn))
    return OK


@_api
def sdModuleGetGlobal(dptr, nbytes, h, name):
    required(name, "name")
    addr, size = _lookup(modules, h).global_var(string(name, "name"))
    if dptr != ffi.NULL:
        dptr[0] = addr
    if nbytes != ffi.NULL:
        nbytes[0] = size
    return OK


def _function(h):
    fn = _lookup(functions, h)
    fn.module.ctx.check()
    return fn


@_api
def sdFuncGetAttribute(value, attrib, h):
    required(value, "pi")
    value[0] = _function(h).attribute(attrib)
    return OK


@_api
def sdFuncSetBlockShape(h, x, y, z):
    fn = _function(h)
    limits = fn.module.ctx.info["max_block_dim"]
    if min(x, y, z) < 1 or any(d > m for d, m in zip((x, y, z), limits)):
        raise SdError(SD.SDAA_ERROR_INVALID_VALUE, f"block shape ({x}, {y}, {z}) outside 1..{tuple(limits)}")
    fn.block = (x, y, z)
    return OK


@_api
def sdFuncSetSharedSize(h, nbytes):
    fn = _function(h)
    if nbytes > fn.module.ctx.info["shared_mem_per_block"]:
        raise SdError(SD.SDAA_ERROR_INVALID_VALUE, f"{nbytes} bytes of shared memory exceed the card's")
    fn.shared_size = nbytes
    return OK


@_api
def sdParamSetSize(h, nbytes):
    _function(h).set_param_size(nbytes)
    return OK


@_api
def sdParamSeti(h, offset, value):
    _function(h).set_param(offset, struct.pack("<I", value))
    return OK


@_api
def sdParamSetf(h, offset, value):
    _function(h).set_param(offset, struct.pack("<f", value))
    return OK


@_api
def sdParamSetv(h, offset, ptr, nbytes):
    fn = _function(h)
    if nbytes and ptr == ffi.NULL:
        raise SdError(SD.SDAA_ERROR_INVALID_VALUE, "sdParamSetv from NULL")
    if offset < 0 or offset + nbytes > drv_module.MAX_PARAM_BYTES:
        # checked before reading: the host buffer is only as long as the range is valid
        raise SdError(SD.SDAA_ERROR_INVALID_VALUE, f"parameter bytes {offset}+{nbytes} out of range")
    fn.set_param(offset, bytes(ffi.buffer(ptr, nbytes)) if nbytes else b"")
    return OK


# ---- launches ------------------------------------------------------------------
@_api
def sdLaunch(h, num, hstream):
    fn = _function(h)
    grid, block = drv_launch.array_shape(fn, num)
    drv_stream.launch(_stream(hstream), fn, grid, block, fn.shared_size, bytes(fn.param_buf))
    return OK


@_api
def sdLaunchGrid(h, width, height):
    fn = _function(h)
    drv_stream.launch(None, fn, (width, height, 1), fn.block, fn.shared_size, bytes(fn.param_buf))
    return OK


@_api
def sdLaunchGridAsync(h, width, height, hstream):
    fn = _function(h)
    drv_stream.launch(_stream(hstream), fn, (width, height, 1), fn.block, fn.shared_size,
                      bytes(fn.param_buf))
    return OK


@_api
def sdLaunchKernel(h, gx, gy, gz, bx, by, bz, shared, hstream, kernel_params, extra):
    fn = _function(h)
    params = drv_launch.launch_params(fn, words(kernel_params), words(extra))
    drv_stream.launch(_stream(hstream), fn, (gx, gy, gz), (bx, by, bz), shared, params)
    return OK


# ---- memory ----------------------------------------------------------------------
@_api
def sdMemAlloc(dptr, size):
    required(dptr, "dptr")
    dptr[0] = drv_mem.alloc(_ctx(), size)
    return OK


@_api
def sdMemFree(dptr):
    drv_mem.free(None, dptr)
    return OK


@_api
def sdMemAllocHost(pp, size):
    required(pp, "pp")
    pp[0] = ffi.cast("void *", drv_mem.alloc_host(_ctx(), size))
    return OK


@_api
def sdMemHostAlloc(pp, size, flags):
    if flags & ~0x7:
        raise SdError(SD.SDAA_ERROR_INVALID_VALUE, f"sdMemHostAlloc flags 0x{flags:x}")
    return sdMemAllocHost(pp, size)


@_api
def sdMemFreeHost(p):
    drv_mem.free_host(address(p))
    return OK


@_api
def sdMemHostGetDevicePointer(pdptr, p, flags):
    required(pdptr, "pdptr")
    if flags != 0:
        raise SdError(SD.SDAA_ERROR_INVALID_VALUE, "flags must be 0")
    pdptr[0] = drv_mem.host_device_pointer(address(p))
    return OK


@_api
def sdMemGetInfo(free, total):
    ctx = _ctx()
    f, t = drv_device.free_memory(ctx.device)
    if free != ffi.NULL:
        free[0] = f
    if total != ffi.NULL:
        total[0] = t
    return OK


@_api
def sdMemGetPhysAddr(phys, dptr):
    required(phys, "phys")
    phys[0] = drv_mem.phys_addr(dptr)
    return OK


def _host(p, what: str) -> int:
    return address(required(p, what))


@_api
def sdMemcpyHtoD(dst, src, n):
    drv_stream.copy_htod(None, dst, _host(src, "srcHost"), n, sync=True)
    return OK


@_api
def sdMemcpyDtoH(dst, src, n):
    drv_stream.copy_dtoh(None, _host(dst, "dstHost"), src, n, sync=True)
    return OK


@_api
def sdMemcpyDtoD(dst, src, n):
    drv_stream.copy_dtod(None, dst, src, n, sync=True)
    return OK


@_api
def sdMemcpyHtoDAsync(dst, src, n, hstream):
    drv_stream.copy_htod(_stream(hstream), dst, _host(src, "srcHost"), n)
    return OK


@_api
def sdMemcpyDtoHAsync(dst, src, n, hstream):
    drv_stream.copy_dtoh(_stream(hstream), _host(dst, "dstHost"), src, n)
    return OK


@_api
def sdMemcpyDtoDAsync(dst, src, n, hstream):
    drv_stream.copy_dtod(_stream(hstream), dst, src, n)
    return OK


@_api
def sdMemsetD8(dst, value, n):
    drv_stream.memset(None, dst, value, 1, n, sync=True)
    return OK


@_api
def sdMemsetD16(dst, value, n):
    drv_stream.memset(None, dst, value, 2, n, sync=True)
    return OK


@_api
def sdMemsetD32(dst, value, n):
    drv_stream.memset(None, dst, value, 4, n, sync=True)
    return OK


# ---- streams and events ----------------------------------------------------------
@_api
def sdStreamCreate(pstream, flags):
    required(pstream, "phStream")
    pstream[0] = ffi.cast("SDstream", streams.new(drv_stream.Stream(_ctx(), flags)))
    return OK


@_api
def sdStreamDestroy(h):
    stream = _lookup(streams, h)
    streams.drop(address(h))
    stream.destroy()
    return OK


@_api
def sdStreamQuery(h):
    return OK if drv_stream.query(_stream(h) if h != ffi.NULL else drv_stream.default(_ctx())) \
        else SD.SDAA_ERROR_NOT_READY


@_api
def sdStreamSynchronize(h):
    drv_stream.synchronize(_stream(h) if h != ffi.NULL else drv_stream.default(_ctx()))
    return OK


@_api
def sdStreamWaitEvent(h, hevent, flags):
    if flags != 0:
        raise SdError(SD.SDAA_ERROR_INVALID_VALUE, "flags must be 0")
    drv_stream.wait_event(_stream(h) if h != ffi.NULL else drv_stream.default(_ctx()), _lookup(events, hevent))
    return OK


@_api
def sdEventCreate(pevent, flags):
    required(pevent, "phEvent")
    pevent[0] = ffi.cast("SDevent", events.new(drv_stream.Event(_ctx(), flags)))
    return OK


@_api
def sdEventDestroy(h):
    event = _lookup(events, h)
    events.drop(address(h))
    event.destroy()
    return OK


@_api
def sdEventRecord(h, hstream):
    event = _lookup(events, h)
    event.record(_stream(hstream) if hstream != ffi.NULL else drv_stream.default(event.ctx))
    return OK


@_api
def sdEventQuery(h):
    return OK if _lookup(events, h).query() else SD.SDAA_ERROR_NOT_READY


@_api
def sdEventSynchronize(h):
    _lookup(events, h).synchronize()
    return OK


@_api
def sdEventElapsedTime(ms, hstart, hend):
    required(ms, "pMilliseconds")
    ms[0] = drv_stream.elapsed_ms(_lookup(events, hstart), _lookup(events, hend))
    return OK


# ---- error strings -------------------------------------------------------------------
def _error_string(code, pstr, text) -> int:
    required(pstr, "pStr")
    name = error_name(code)
    if name is None:
        pstr[0] = ffi.NULL
        return SD.SDAA_ERROR_INVALID_VALUE
    pstr[0] = static_string(text(name))
    return OK


@exported(LIB, DRIVER)
def sdGetErrorName(code, pstr):
    return _error_string(code, pstr, lambda name: name)


@exported(LIB, DRIVER)
def sdGetErrorString(code, pstr):
    return _error_string(code, pstr, error_text)
