"""Managed memory (cudaMallocManaged, __managed__ variables, prefetch and advice).

The card's memory is the host's, so managed memory needs no migration: it is memory
that the host and kernels reach at one address.  cudaMallocManaged is a host (GART)
buffer the card also answers at the host address it is mapped at (L2 gmalloc_managed);
a __managed__ variable stays in its module's globals and the host gets a pointer
through which it reaches the same bytes, which kernels reach at that address too
(L2 gshare).  Prefetching and advice have nothing to move or tune: they check their
arguments and do nothing else.
"""
from __future__ import annotations

import threading

from ..driver import memory as drv_mem
from ..driver.context import registry
from ..gdev import hostmem
from ..log import get
from . import devices, fatbin, graphs
from .errors import RT, SdaaError, translated

log = get("gdev.runtime")
ATTACH_GLOBAL, ATTACH_HOST, ATTACH_SINGLE = 1, 2, 4
LOCATION_DEVICE, LOCATION_HOST, LOCATION_HOST_NUMA, LOCATION_HOST_NUMA_CURRENT = 1, 2, 3, 4
ADVICE = range(1, 7)                 # cudaMemAdviseSetReadMostly .. UnsetAccessedBy
WITH_LOCATION = (3, 5, 6)        # SetPreferredLocation, SetAccessedBy, UnsetAccessedBy

_lock = threading.Lock()
_vars: dict[int, list[tuple[int, str]]] = {}       # fat binary -> (host pointer slot, name)
_var_ranges: dict[int, int] = {}                   # a __managed__ variable's host address -> size
_var_devices: dict[int, int] = {}                  # its host address -> its address in the module's globals


@translated
def malloc(size: int, flags: int) -> int:
    if flags not in (ATTACH_GLOBAL, ATTACH_HOST):
        raise SdaaError(RT.sdaaErrorInvalidValue, f"cudaMallocManaged flags 0x{flags:x}")
    if size == 0:
        raise SdaaError(RT.sdaaErrorInvalidValue, "managed allocation of 0 bytes")
    graphs.unsafe("cudaMallocManaged")
    ctx = devices.context()
    addr = drv_mem.alloc_managed(ctx, size)
    log.debug("malloc_managed: card=%d size=0x%x -> 0x%x", ctx.device, size, addr)
    return addr


def register_variable(handle: int, slot: int, name: str, size: int) -> None:
    """A __managed__ variable: the host reaches it through the pointer at `slot`, which
    `init_module` fills."""
    fatbin.register_variable(handle, slot, name, size)
    with _lock:
        _vars.setdefault(handle, []).append((slot, name))


@translated
def init_module(handle: int) -> None:
    """nvcc's host code calls this before the host first touches a __managed__ variable:
    each variable's host pointer gets the address where host and kernels share it (the
    copy on this thread's current card)."""
    with _lock:
        pending = _vars.pop(handle, [])
    for slot, name in pending:
        addr, size = fatbin.symbol(slot, devices.current())
        host = drv_mem.shared_address(addr)
        hostmem.view(slot, 8)[:] = memoryview(host.to_bytes(8, "little"))
        with _lock:
            _var_ranges[host] = size
            _var_devices[host] = addr
        log.debug("managed variable %s: device 0x%x, host and card 0x%x", name, addr, host)


def variable(host: int) -> tuple[int, int] | None:
    """(address in its module's globals, size) of the __managed__ variable the host reaches
    at `host` (what `&var` gives host code, and so what it passes as the symbol)."""
    with _lock:
        size = _var_ranges.get(host)
        return None if size is None else (_var_devices[host], size)


def _managed(addr: int, count: int) -> bool:
    _, mem = registry.owner(addr)
    if mem is not None:
        return mem.shared == mem.addr and addr + count <= mem.end
    with _lock:
        return any(start <= addr and addr + count <= start + size for start, size in _var_ranges.items())


def _check_range(addr: int, count: int, what: str) -> None:
    if addr == 0 or count == 0 or not _managed(addr, count):
        raise SdaaError(RT.sdaaErrorInvalidValue, f"{what}: 0x{addr:x}+0x{count:x} is not managed memory")


def _check_location(kind: int, ident: int, what: str) -> None:
    if kind == LOCATION_DEVICE:
        devices.check(ident)
    elif kind not in (LOCATION_HOST, LOCATION_HOST_NUMA, LOCATION_HOST_NUMA_CURRENT):
        raise SdaaError(RT.sdaaErrorInvalidValue, f"{what}: memory location type {kind}")


def prefetch(addr: int, count: int, kind: int, ident: int, flags: int) -> None:
    """cudaMemPrefetchAsync: the memory is where every side reaches it already."""
    _check_range(addr, count, "cudaMemPrefetchAsync")
    _check_location(kind, ident, "cudaMemPrefetchAsync")
    if flags != 0:
        raise SdaaError(RT.sdaaErrorInvalidValue, f"cudaMemPrefetchAsync flags 0x{flags:x}")


def advise(addr: int, count: int, advice: int, kind: int, ident: int) -> None:
    """cudaMemAdvise: a hint with nothing to tune here."""
    _check_range(addr, count, "cudaMemAdvise")
    if advice not in ADVICE:
        raise SdaaError(RT.sdaaErrorInvalidValue, f"cudaMemAdvise advice {advice}")
    if advice in WITH_LOCATION:
        _check_location(kind, ident, "cudaMemAdvise")
