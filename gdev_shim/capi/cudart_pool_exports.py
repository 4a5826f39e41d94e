"""libcudart.so.13: memory pools (runtime/pools.py), C structures and attribute values in and out."""
from __future__ import annotations

from ..runtime import pools, streams
from . import cudart_exports as rx
from .boundary import address, exported, required
from .cudart_codes import CU

OK = CU.cudaSuccess


def _pool_out(ppool, handle: int) -> int:
    required(ppool, "memPool")[0] = rx.ffi.cast("cudaMemPool_t", handle)
    return OK


@exported(rx.LIB, rx.RUNTIME)
def cudaDeviceGetDefaultMemPool(ppool, device):
    required(ppool, "memPool")
    return _pool_out(ppool, pools.default_pool(device))


@exported(rx.LIB, rx.RUNTIME)
def cudaDeviceGetMemPool(ppool, device):
    required(ppool, "memPool")
    return _pool_out(ppool, pools.current_pool(device))


@exported(rx.LIB, rx.RUNTIME)
def cudaDeviceSetMemPool(device, pool):
    pools.set_current_pool(device, address(required(pool, "memPool")))
    return OK


@exported(rx.LIB, rx.RUNTIME)
def cudaMemPoolCreate(ppool, props):
    required(ppool, "memPool")
    p = required(props, "poolProps")
    return _pool_out(ppool, pools.create(p.allocType, p.handleTypes, p.location.type, p.location.id, p.maxSize))


@exported(rx.LIB, rx.RUNTIME)
def cudaMemPoolDestroy(pool):
    pools.destroy(address(required(pool, "memPool")))
    return OK


@exported(rx.LIB, rx.RUNTIME, "cudaMallocFromPoolAsync_ptsz")
def cudaMallocFromPoolAsync(ptr, size, pool, stream):
    required(ptr, "ptr")
    ptr[0] = rx.ffi.cast("void *", streams.malloc_async(size, rx._stream(stream), address(required(pool, "memPool"))))
    return OK


@exported(rx.LIB, rx.RUNTIME)
def cudaMemPoolTrimTo(pool, keep):
    pools.trim(address(required(pool, "memPool")), keep)
    return OK


def _value_type(attr: int) -> str:
    return "int *" if attr in pools.INT_ATTRIBUTES else "unsigned long long *"


@exported(rx.LIB, rx.RUNTIME)
def cudaMemPoolSetAttribute(pool, attr, value):
    cell = rx.ffi.cast(_value_type(attr), required(value, "value"))
    pools.set_attribute(address(required(pool, "memPool")), attr, int(cell[0]))
    return OK


@exported(rx.LIB, rx.RUNTIME)
def cudaMemPoolGetAttribute(pool, attr, value):
    required(value, "value")
    answer = pools.get_attribute(address(required(pool, "memPool")), attr)
    rx.ffi.cast(_value_type(attr), value)[0] = answer
    return OK
