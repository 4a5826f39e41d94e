"""libusdaa.so, runtime half: the SDAA runtime API (sdaa*, __sdaa*) as C functions.

Every call that fails records its code as the thread's last error
(sdaaGetLastError), as the CUDA runtime does.
"""
from __future__ import annotations

from typing import Any
from ..driver.errors import SdError
from ..log import get
from ..runtime import device_api, devices, fatbin, launch, memory, streams
from ..runtime.errors import RT, SdaaError, error_text, from_driver, get_last, set_last
from .boundary import (Family, NullArgument, address, exported, recorded, required, static_string, string,
                       unexpected)

log = get("gdev.capi")
LIB = "usdaa"
ffi: Any = None                      # set by usdaa.bind()
OK = RT.sdaaSuccess


def _translate(e: BaseException, name: str) -> int:
    if isinstance(e, NullArgument):
        e = SdaaError(RT.sdaaErrorInvalidValue, str(e))
    elif isinstance(e, SdError):
        e = from_driver(e)
    if isinstance(e, SdaaError):
        log.warning("%s: %s (%s)", name, e, e.name)
        code = e.code
    else:
        unexpected(e, name)
        code = RT.sdaaErrorUnknown
    set_last(code)
    return code


RUNTIME = Family("sdaaError_t", OK, _translate, RT.sdaaErrorUnknown)


VOID = recorded("void", _translate)
HANDLE = recorded("void **", _translate)


# ---- fat binaries and launches ---------------------------------------------------
_fatbin_cells: dict[int, object] = {}


@exported(LIB, HANDLE)
def __sdaaRegisterFatBinary(fat_cubin):
    # The argument points at a two-pointer wrapper; the second pointer is the image.
    wrapper = ffi.cast("void **", required(fat_cubin, "fatCubin"))
    image = address(wrapper[1])
    log.debug("register_fat_binary: fbin=0x%x real_cubin=0x%x", address(fat_cubin), image)
    fb = fatbin.register(image)
    cell = ffi.new("void *[2]")
    cell[0] = ffi.cast("void *", fb.handle)
    _fatbin_cells[fb.handle] = cell
    return ffi.cast("void **", cell)


def _fatbin_id(handle) -> int:
    if handle == ffi.NULL:
        raise SdaaError(RT.sdaaErrorInvalidResourceHandle, "fat binary handle is NULL")
    for fid, cell in _fatbin_cells.items():
        if address(cell) == address(handle):
            return fid
    raise SdaaError(RT.sdaaErrorInvalidResourceHandle, f"0x{address(handle):x} is not a fat binary handle")


@exported(LIB, VOID)
def __sdaaUnregisterFatBinary(handle):
    fid = _fatbin_id(handle)
    fatbin.unregister(fid)
    del _fatbin_cells[fid]


@exported(LIB, VOID)
def __sdaaRegisterFunction(handle, device_fun):
    fatbin.register_function(_fatbin_id(handle), string(device_fun, "deviceFun"))


@exported(LIB, RUNTIME)
def sdaaConfigureCall(arrays):
    launch.configure(arrays)
    return OK


@exported(LIB, RUNTIME)
def sdaaSetupArgument(arg, size, offset):
    config = launch.check_argument(size, offset)
    launch.setup_argument(bytes(ffi.buffer(required(arg, "arg"), size)), offset, config)
    return OK


@exported(LIB, RUNTIME)
def sdaaLaunch(entry):
    launch.launch(string(entry, "entry"))
    return OK


@exported(LIB, RUNTIME)
def sdaaLaunchAsync(entry, stream):
    streams.launch_async(string(entry, "entry"), stream)
    return OK


@exported(LIB, RUNTIME)
def sdaaFuncGetAttributes(attr, func):
    required(attr, "attr")
    f = fatbin.function(string(func, "func"), devices.current())
    attr.sharedSizeBytes = f.meta.shared_size
    attr.constSizeBytes = 0
    attr.localSizeBytes = f.meta.local_size
    attr.maxThreadsPerBlock = f.meta.max_threads or f.module.ctx.info["max_threads_per_block"]
    attr.numRegs = 32
    attr.ptxVersion = 80
    attr.binaryVersion = 80
    return OK


# ---- memory -----------------------------------------------------------------------
@exported(LIB, RUNTIME)
def sdaaMalloc(dev_ptr, size):
    required(dev_ptr, "devPtr")[0] = ffi.cast("void *", memory.malloc(size))
    return OK


@exported(LIB, RUNTIME)
def sdaaMallocHost(ptr, size):
    required(ptr, "ptr")[0] = ffi.cast("void *", memory.malloc_host(size))
    return OK


@exported(LIB, RUNTIME)
def sdaaHostAlloc(ptr, size, flags):
    if flags & ~0x7:
        raise SdaaError(RT.sdaaErrorInvalidValue, f"sdaaHostAlloc flags 0x{flags:x}")
    return sdaaMallocHost(ptr, size)


@exported(LIB, RUNTIME)
def sdaaFree(dev_ptr):
    memory.free(address(dev_ptr))
    return OK


@exported(LIB, RUNTIME)
def sdaaFreeHost(ptr):
    memory.free_host(address(ptr))
    return OK


@exported(LIB, RUNTIME)
def sdaaMemcpy(dst, src, count, kind):
    memory.memcpy(address(dst), address(src), count, kind)
    return OK


@exported(LIB, RUNTIME)
def sdaaMemcpyAsync(dst, src, count, kind, stream):
    streams.memcpy_async(address(dst), address(src), count, kind, stream)
    return OK


@exported(LIB, RUNTIME)
def sdaaMemset(dev_ptr, value, count):
    memory.memset(address(dev_ptr), value, count)
    return OK


@exported(LIB, RUNTIME)
def sdaaMemsetAsync(dev_ptr, value, count, stream):
    streams.memset_async(address(dev_ptr), value, count, stream)
    return OK


@exported(LIB, RUNTIME)
def sdaaMemGetInfo(free, total):
    f, t = memory.mem_info()
    if free != ffi.NULL:
        free[0] = f
    if total != ffi.NULL:
        total[0] = t
    return OK


@exported(LIB, RUNTIME)
def sdaaMemGetPhysAddr(phys, dev_ptr):
    required(phys, "phys")[0] = memory.phys_addr(address(dev_ptr))
    return OK


# ---- devices ------------------------------------------------------------------------
@exported(LIB, RUNTIME)
def sdaaGetDeviceCount(count):
    required(count, "count")
    n = devices.count()
    count[0] = n
    log.debug("get_device_count: %d", n)
    if n == 0:
        raise SdaaError(RT.sdaaErrorNoDevice, "no aicard found")
    return OK


@exported(LIB, RUNTIME)
def sdaaGetDeviceProperties(prop, device):
    required(prop, "prop")
    for field, value in device_api.properties(device).items():
        if field == "name":
            ffi.memmove(prop.name, value.encode()[:255] + b"\0", min(len(value), 255) + 1)
        else:
            setattr(prop, field, value)
    return OK


@exported(LIB, RUNTIME)
def sdaaSetDevice(device):
    devices.set_current(device)
    return OK


@exported(LIB, RUNTIME)
def sdaaGetDevice(device):
    # Hot: called around every launch by real programs, so no helper calls here.
    if not device:
        raise SdaaError(RT.sdaaErrorInvalidValue, "device is NULL")
    device[0] = devices.current()
    return OK


@exported(LIB, RUNTIME)
def sdaaDeviceGetAttribute(value, attr, device):
    required(value, "value")[0] = device_api.attribute(attr, device)
    return OK


@exported(LIB, RUNTIME)
def sdaaDeviceSynchronize():
    device_api.synchronize()
    return OK


@exported(LIB, RUNTIME)
def sdaaThreadSynchronize():
    device_api.synchronize()
    return OK


@exported(LIB, RUNTIME)
def sdaaDeviceReset():
    device_api.reset()
    return OK


@exported(LIB, RUNTIME)
def sdaaDriverGetVersion(version):
    required(version, "driverVersion")[0] = device_api.driver_version()
    return OK


@exported(LIB, RUNTIME)
def sdaaRuntimeGetVersion(version):
    required(version, "runtimeVersion")[0] = device_api.RUNTIME_VERSION
    return OK


# ---- streams and events ----------------------------------------------------------------
@exported(LIB, RUNTIME)
def sdaaStreamCreate(pstream):
    required(pstream, "pStream")[0] = streams.stream_create()
    return OK


@exported(LIB, RUNTIME)
def sdaaStreamDestroy(stream):
    streams.stream_destroy(stream)
    return OK


@exported(LIB, RUNTIME)
def sdaaStreamSynchronize(stream):
    streams.stream_synchronize(stream)
    return OK


@exported(LIB, RUNTIME)
def sdaaStreamQuery(stream):
    return OK if streams.stream_query(stream) else RT.sdaaErrorNotReady


@exported(LIB, RUNTIME)
def sdaaStreamWaitEvent(stream, event, flags):
    if flags != 0:
        raise SdaaError(RT.sdaaErrorInvalidValue, "flags must be 0")
    streams.stream_wait_event(stream, event)
    return OK


@exported(LIB, RUNTIME)
def sdaaEventCreate(pevent):
    required(pevent, "event")[0] = streams.event_create(0)
    return OK


@exported(LIB, RUNTIME)
def sdaaEventCreateWithFlags(pevent, flags):
    required(pevent, "event")[0] = streams.event_create(flags)
    return OK


@exported(LIB, RUNTIME)
def sdaaEventRecord(event, stream):
    streams.event_record(event, stream)
    return OK


@exported(LIB, RUNTIME)
def sdaaEventQuery(event):
    return OK if streams.event_query(event) else RT.sdaaErrorNotReady


@exported(LIB, RUNTIME)
def sdaaEventSynchronize(event):
    streams.event_synchronize(event)
    return OK


@exported(LIB, RUNTIME)
def sdaaEventDestroy(event):
    streams.event_destroy(event)
    return OK


@exported(LIB, RUNTIME)
def sdaaEventElapsedTime(ms, start, end):
    required(ms, "ms")[0] = streams.elapsed_ms(start, end)
    return OK


# ---- errors -------------------------------------------------------------------------------
@exported(LIB, RUNTIME)
def sdaaGetLastError():
    return get_last(clear=True)


@exported(LIB, RUNTIME)
def sdaaPeekAtLastError():
    return get_last(clear=False)


@exported(LIB, recorded("const char *", _translate))
def sdaaGetErrorString(code):
    return static_string(error_text(code))
