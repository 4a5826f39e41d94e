"""Stream-ordered memory pools (cudaMemPool_t): what cudaMallocAsync and
cudaMallocFromPoolAsync allocate from, and cudaFreeAsync returns to.

A pool keeps the blocks freed into it, up to its release threshold of reserved bytes
(default 0: every free releases its block at once, as CUDA's default pool does at the
next synchronisation), and hands a kept block to a later allocation it fits.  A free
waits for its stream's earlier work (streams.free_async), so a kept block is idle by
the time anything reuses it, whichever stream asks: the reuse policies are kept as
attributes but every reuse is safe.  Each device has a default pool and a current one
(cudaDeviceSetMemPool).  A pool's blocks belong to its device's primary context: after
cudaDeviceReset the pool starts empty.  The SDAA runtime has no pools, so the errors
only CUDA has carry CUDA's code names.
"""
from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field

from ..driver import memory as drv_mem
from ..driver.context import Context
from ..log import get
from . import devices, graphs, memory
from .errors import RT, CudaNamedError, SdaaError, translated

log = get("gdev.runtime")
# cudaMemPoolAttr
REUSE_FOLLOW_EVENTS, REUSE_OPPORTUNISTIC, REUSE_INTERNAL = 1, 2, 3
RELEASE_THRESHOLD, RESERVED_CURRENT, RESERVED_HIGH, USED_CURRENT, USED_HIGH = 4, 5, 6, 7, 8
INT_ATTRIBUTES = (REUSE_FOLLOW_EVENTS, REUSE_OPPORTUNISTIC, REUSE_INTERNAL)      # int; the others u64
ALLOC_PINNED, HANDLE_NONE, LOCATION_DEVICE = 1, 0, 1


@dataclass
class Pool:
    handle: int
    device: int
    max_size: int = 0                                  # 0: no limit
    release_threshold: int = 0
    reuse: dict[int, int] = field(default_factory=lambda: dict.fromkeys(INT_ATTRIBUTES, 1))
    kept: dict[int, int] = field(default_factory=dict)  # freed blocks held: address -> bytes
    used: dict[int, int] = field(default_factory=dict)  # blocks handed out: address -> bytes
    used_high: int = 0
    reserved_high: int = 0
    ctx: Context | None = None                         # whose memory the blocks are
    alive: bool = True

    @property
    def used_bytes(self) -> int:
        return sum(self.used.values())

    @property
    def reserved(self) -> int:
        return self.used_bytes + sum(self.kept.values())


_lock = threading.RLock()
_ids = itertools.count(0x1000)
_pools: dict[int, Pool] = {}
_defaults: dict[int, int] = {}                         # device -> its default pool
_current: dict[int, int] = {}                          # device -> cudaDeviceSetMemPool's pool


def _pool(handle: int) -> Pool:
    found = _pools.get(handle)
    if found is None or not found.alive:
        raise SdaaError(RT.sdaaErrorInvalidValue, f"0x{handle:x} is not a memory pool")
    return found


def default_pool(device: int) -> int:
    devices.check(device)
    with _lock:
        if device not in _defaults:
            pool = Pool(next(_ids), device)
            _pools[pool.handle] = pool
            _defaults[device] = pool.handle
        return _defaults[device]


@translated
def current_pool(device: int) -> int:
    with _lock:
        return _current.get(device) or default_pool(device)


@translated
def set_current_pool(device: int, handle: int) -> None:
    devices.check(device)
    with _lock:
        if _pool(handle).device != device:
            raise SdaaError(RT.sdaaErrorInvalidValue, f"pool 0x{handle:x} belongs to another device")
        _current[device] = handle


@translated
def create(alloc_type: int, handle_types: int, location_type: int, location_id: int, max_size: int) -> int:
    if alloc_type != ALLOC_PINNED or location_type != LOCATION_DEVICE:
        raise SdaaError(RT.sdaaErrorInvalidValue, f"pool of allocation type {alloc_type} at location type "
                                                  f"{location_type}: device memory only")
    if handle_types != HANDLE_NONE:
        raise CudaNamedError("cudaErrorNotSupported", f"pools exported as handles (0x{handle_types:x})")
    devices.check(location_id)
    pool = Pool(next(_ids), location_id, max_size)
    with _lock:
        _pools[pool.handle] = pool
    return pool.handle


@translated
def destroy(handle: int) -> None:
    """Kept blocks are released now; blocks still in use return to nothing when freed."""
    with _lock:
        pool = _pool(handle)
        if _defaults.get(pool.device) == handle:
            raise SdaaError(RT.sdaaErrorInvalidValue, "a device's default pool cannot be destroyed")
        _trim(pool, 0)
        pool.alive = False
        if _current.get(pool.device) == handle:
            del _current[pool.device]
        if not pool.used:
            del _pools[handle]


def _fresh(pool: Pool) -> None:
    """Blocks of a context since destroyed (cudaDeviceReset) are gone."""
    ctx = devices.existing_context(pool.device)
    if pool.ctx is not None and pool.ctx is not ctx:
        pool.kept.clear()
        pool.used.clear()
        pool.used_high = pool.reserved_high = 0
    pool.ctx = ctx


@translated
def alloc(handle: int, size: int) -> int:
    """A block of `size` bytes: the smallest kept block that fits, else a new one."""
    if size == 0:
        raise SdaaError(RT.sdaaErrorInvalidValue, "stream-ordered allocation of 0 bytes")
    with _lock:
        pool = _pool(handle)
        _fresh(pool)
        fits = [(n, addr) for addr, n in pool.kept.items() if n >= size]
        if fits:
            n, addr = min(fits)
            del pool.kept[addr]
        else:
            if pool.max_size and pool.reserved + size > pool.max_size:
                _trim(pool, 0)
                if pool.reserved + size > pool.max_size:
                    raise SdaaError(RT.sdaaErrorMemoryAllocation,
                                    f"pool 0x{handle:x}: {size} bytes past its maximum of {pool.max_size}")
            ctx = devices.context(pool.device)
            pool.ctx = ctx
            n, addr = size, drv_mem.alloc(ctx, size)
        pool.used[addr] = n
        pool.used_high = max(pool.used_high, pool.used_bytes)
        pool.reserved_high = max(pool.reserved_high, pool.reserved)
        log.debug("pool 0x%x: %d bytes at 0x%x (%s)", handle, size, addr, "kept" if fits else "new")
        return addr


@translated
def free_pooled(addr: int) -> bool:
    """cudaFree of a pool's block: back to its pool once the device is idle (True); False
    for memory no pool handed out."""
    graphs.unsafe("cudaFree")
    pool = owner(addr)
    if pool is None:
        return False
    if pool.ctx is not None:
        pool.ctx.synchronize()
    give_back(pool, addr)
    return True


def owner(addr: int) -> Pool | None:
    with _lock:
        return next((p for p in _pools.values() if addr in p.used), None)


@translated
def give_back(pool: Pool, addr: int) -> None:
    """A block freed (its stream's work done): kept up to the release threshold."""
    with _lock:
        _fresh(pool)
        size = pool.used.pop(addr, None)
        if size is None:
            return
        if not pool.alive:
            memory.free(addr, ordered=True)
            if not pool.used:
                _pools.pop(pool.handle, None)
            return
        pool.kept[addr] = size
        _trim(pool, pool.release_threshold)


def _trim(pool: Pool, keep: int) -> None:
    """Release kept blocks, largest first, until the pool reserves at most `keep` bytes."""
    for addr, _ in sorted(pool.kept.items(), key=lambda item: -item[1]):
        if pool.reserved <= keep:
            break
        del pool.kept[addr]
        memory.free(addr, ordered=True)


@translated
def trim(handle: int, keep: int) -> None:
    with _lock:
        pool = _pool(handle)
        _fresh(pool)
        _trim(pool, keep)


@translated
def get_attribute(handle: int, attr: int) -> int:
    with _lock:
        pool = _pool(handle)
        _fresh(pool)
        values = {RELEASE_THRESHOLD: pool.release_threshold, RESERVED_CURRENT: pool.reserved,
                  RESERVED_HIGH: pool.reserved_high, USED_CURRENT: pool.used_bytes, USED_HIGH: pool.used_high}
        if attr in INT_ATTRIBUTES:
            return pool.reuse[attr]
        if attr not in values:
            raise SdaaError(RT.sdaaErrorInvalidValue, f"memory pool attribute {attr}")
        return values[attr]


@translated
def set_attribute(handle: int, attr: int, value: int) -> None:
    """The reuse policies and the release threshold; the high-water marks only to 0 (reset)."""
    with _lock:
        pool = _pool(handle)
        if attr in INT_ATTRIBUTES:
            pool.reuse[attr] = 1 if value else 0
        elif attr == RELEASE_THRESHOLD:
            pool.release_threshold = value
            _trim(pool, value)
        elif attr in (RESERVED_HIGH, USED_HIGH) and value == 0:
            if attr == RESERVED_HIGH:
                pool.reserved_high = pool.reserved
            else:
                pool.used_high = pool.used_bytes
        else:
            raise SdaaError(RT.sdaaErrorInvalidValue, f"memory pool attribute {attr} cannot be set to {value}")
