"""libgdev.so: the Gdev API (g*) as C functions.

Gdev's conventions: functions returning int give 0 or a negative errno,
allocators give 0/NULL on failure, gfree gives the freed size (0 if unknown).
"""
from __future__ import annotations

import errno
from typing import Any

from ..gdev import api as gdev
from ..gdev.errors import GdevError
from ..gdev.kernel import KernelLaunch
from ..gdev.shm import IPC_STAT
from ..log import get
from .boundary import Family, HandleTable, NullArgument, address, exported, install, required, unexpected

log = get("gdev.capi")
LIB = "gdev"
ffi: Any = None                      # the embedding module's ffi, set by bind()
handles = HandleTable("gdev_handle")


def _as_errno(e: BaseException, name: str) -> int:
    if isinstance(e, NullArgument):
        e = GdevError(errno.EINVAL, str(e))
    if isinstance(e, GdevError):
        log.warning("%s: %s", name, e)
        return -e.errno
    unexpected(e, name)
    return -errno.EIO


def _as_zero(e: BaseException, name: str) -> int:
    _as_errno(e, name)
    return 0


def _as_null(e: BaseException, name: str):
    _as_errno(e, name)
    return ffi.NULL


INT = Family("int", 0, _as_errno, -errno.EIO)
ADDR = Family("u64", 0, _as_zero, 0)
PTR = Family("pointer", None, _as_null, None)


def _handle(h) -> gdev.GdevHandle:
    gdev.check_unforked()
    obj = handles.get(address(h))
    if obj is None or obj.closed:
        raise GdevError(errno.EBADF, f"0x{address(h):x} is not an open gdev handle")
    return obj


def _store_id(id_out, seq: int) -> None:
    if id_out != ffi.NULL:
        id_out[0] = seq & 0xFFFFFFFF


def _timeout_ms(timeout) -> int:
    if timeout == ffi.NULL:
        return -1
    if timeout.neg:
        return 0
    return int(timeout.sec) * 1000 + int(timeout.usec) // 1000


@exported(LIB, PTR)
def gopen(minor):
    h = gdev.gopen(minor)
    return ffi.cast("struct gdev_handle *", handles.new(h))


@exported(LIB, INT)
def gclose(h):
    gdev.gclose(_handle(h))
    handles.drop(address(h))
    return 0


@exported(LIB, ADDR)
def gmalloc(h, size):
    return gdev.gmalloc(_handle(h), size)


@exported(LIB, ADDR)
def gfree(h, addr):
    return gdev.gfree(_handle(h), addr)


@exported(LIB, PTR)
def gmalloc_dma(h, size):
    return ffi.cast("void *", gdev.gmalloc_dma(_handle(h), size))


@exported(LIB, ADDR)
def gfree_dma(h, buf):
    return gdev.gfree_dma(_handle(h), address(buf))


@exported(LIB, PTR)
def gmap(h, addr, size):
    return ffi.cast("void *", gdev.gmap(_handle(h), addr, size))


@exported(LIB, INT)
def gunmap(h, buf):
    gdev.gunmap(_handle(h), address(buf))
    return 0


def _copy_in(h, dst, src, size, id_out, wait: bool) -> int:
    handle = _handle(h)
    seq = gdev.gmemcpy_to_device_async(handle, dst, address(required(src, "source buffer")), size)
    if wait:
        gdev.gsync(handle, seq)
    else:
        _store_id(id_out, seq)
    return 0


def _copy_out(h, dst, src, size, id_out, wait: bool) -> int:
    handle = _handle(h)
    seq = gdev.gmemcpy_from_device_async(handle, address(required(dst, "destination buffer")), src, size)
    if wait:
        gdev.gsync(handle, seq)
    else:
        _store_id(id_out, seq)
    return 0


@exported(LIB, INT)
def gmemcpy_to_device(h, dst, src, size):
    return _copy_in(h, dst, src, size, None, True)


@exported(LIB, INT)
def gmemcpy_to_device_async(h, dst, src, size, id_out):
    return _copy_in(h, dst, src, size, id_out, False)


@exported(LIB, INT)
def gmemcpy_user_to_device(h, dst, src, size):
    return _copy_in(h, dst, src, size, None, True)


@exported(LIB, INT)
def gmemcpy_user_to_device_async(h, dst, src, size, id_out):
    return _copy_in(h, dst, src, size, id_out, False)


@exported(LIB, INT)
def gmemcpy_from_device(h, dst, src, size):
    return _copy_out(h, dst, src, size, None, True)


@exported(LIB, INT)
def gmemcpy_from_device_async(h, dst, src, size, id_out):
    return _copy_out(h, dst, src, size, id_out, False)


@exported(LIB, INT)
def gmemcpy_user_from_device(h, dst, src, size):
    return _copy_out(h, dst, src, size, None, True)


@exported(LIB, INT)
def gmemcpy_user_from_device_async(h, dst, src, size, id_out):
    return _copy_out(h, dst, src, size, id_out, False)


@exported(LIB, INT)
def gmemcpy(h, dst, src, size):
    handle = _handle(h)
    gdev.gsync(handle, gdev.gmemcpy_async(handle, dst, src, size))
    return 0


@exported(LIB, INT)
def gmemcpy_async(h, dst, src, size, id_out):
    _store_id(id_out, gdev.gmemcpy_async(_handle(h), dst, src, size))
    return 0


@exported(LIB, INT)
def glaunch(h, kernel, id_out):
    handle = _handle(h)
    if kernel == ffi.NULL:
        raise GdevError(errno.EINVAL, "kernel is NULL")
    size = kernel.param_size
    if size and kernel.param_buf == ffi.NULL:
        raise GdevError(errno.EINVAL, "param_buf is NULL with param_size > 0")
    params = bytes(ffi.buffer(kernel.param_buf, size)) if size else b""
    k = KernelLaunch(code_addr=kernel.code_addr, code_size=kernel.code_size, entry=kernel.code_pc,
                     params=params, grid=(kernel.grid_x, kernel.grid_y, kernel.grid_z),
                     block=(kernel.block_x, kernel.block_y, kernel.block_z),
                     shared_size=kernel.smem_size, local_size=kernel.lmem_size,
                     globals_addr=kernel.globals_addr)
    _store_id(id_out, gdev.glaunch(handle, k))
    return 0


@exported(LIB, INT)
def gsync(h, id_, timeout):
    gdev.gsync(_handle(h), id_, _timeout_ms(timeout))
    return 0


@exported(LIB, INT)
def gbarrier(h):
    gdev.gbarrier(_handle(h))
    return 0


@exported(LIB, INT)
def gquery(h, kind, result):
    value = gdev.gquery(_handle(h), kind)
    required(result, "result")
    result[0] = value
    return 0


@exported(LIB, INT)
def gtune(h, kind, value):
    gdev.gtune(_handle(h), kind, value)
    return 0


@exported(LIB, INT)
def gshmget(h, key, size, flags):
    return gdev.gshmget(_handle(h), key, size, flags)


@exported(LIB, ADDR)
def gshmat(h, shm_id, addr, flags):
    return gdev.gshmat(_handle(h), shm_id)


@exported(LIB, INT)
def gshmdt(h, addr):
    gdev.gshmdt(_handle(h), addr)
    return 0


@exported(LIB, INT)
def gshmctl(h, shm_id, cmd, buf):
    size = gdev.gshmctl(_handle(h), shm_id, cmd)
    if cmd == IPC_STAT and buf != ffi.NULL:
        ffi.cast("uint64_t *", buf)[0] = size     # STAT: the segment size
    return 0


@exported(LIB, ADDR)
def gref(hmaster, addr, size, hslave):
    return gdev.gref(_handle(hmaster), addr, size, _handle(hslave))


@exported(LIB, INT)
def gunref(h, addr):
    gdev.gunref(_handle(h), addr)
    return 0


@exported(LIB, ADDR)
def gphysget(h, p):
    return gdev.gphysget(_handle(h), address(p))


@exported(LIB, ADDR)
def gvirtget(h, p):
    return gdev.gvirtget(_handle(h), address(p))


@exported(LIB, INT)
def gdevice_count(result):
    required(result, "result")
    result[0] = gdev.gdevice_count()
    return 0


def bind(module_ffi) -> int:
    global ffi
    ffi = module_ffi
    return install(LIB, module_ffi)
