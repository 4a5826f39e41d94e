"""Runtime streams and events: int handles (sdaaStream_t, sdaaEvent_t) over driver ones.

Stream 0 is the default stream of the calling thread's current card.
"""
from __future__ import annotations

import itertools
import threading
from functools import partial
from typing import Callable

from ..driver import stream as drv_stream
from . import devices, graphs, launch, memory, pools
from .errors import RT, SdaaError, translated

_lock = threading.Lock()
_streams: dict[int, drv_stream.Stream] = {}
_events: dict[int, drv_stream.Event] = {}
_ids = itertools.count(1)


def stream(handle: int) -> drv_stream.Stream:
    if handle == 0:
        return drv_stream.default(devices.context())
    s = _streams.get(handle)
    if s is None or not s.alive:
        raise SdaaError(RT.sdaaErrorInvalidResourceHandle, f"stream {handle} does not exist")
    return s


def event(handle: int) -> drv_stream.Event:
    e = _events.get(handle)
    if e is None or not e.alive:
        raise SdaaError(RT.sdaaErrorInvalidResourceHandle, f"event {handle} does not exist")
    return e


@translated
def stream_create(flags: int = 0) -> int:
    s = drv_stream.Stream(devices.context(), flags)
    with _lock:
        handle = next(_ids)
        _streams[handle] = s
    return handle


@translated
def stream_destroy(handle: int) -> None:
    if handle == 0:
        raise SdaaError(RT.sdaaErrorInvalidResourceHandle, "the default stream cannot be destroyed")
    stream(handle).destroy()
    graphs.forget(handle)
    with _lock:
        _streams.pop(handle, None)


@translated
def stream_flags(handle: int) -> int:
    return stream(handle).flags


@translated
def stream_query(handle: int) -> bool:
    graphs.forbid(handle, "cudaStreamQuery")
    return drv_stream.query(stream(handle))


@translated
def stream_synchronize(handle: int) -> None:
    graphs.forbid(handle, "stream synchronize")
    drv_stream.synchronize(stream(handle))


@translated
def host_callback(handle: int, call: Callable[[], None]) -> None:
    """Run `call` once the stream's earlier work is done.  It runs on the calling thread
    before this returns, so work queued after it follows it as the stream's order requires."""
    if graphs.record(handle, partial(host_callback, call=call), "host function", graphs.HOST):
        return
    drv_stream.synchronize(stream(handle))
    call()


@translated
def stream_wait_event(handle: int, event_handle: int) -> None:
    e = event(event_handle)
    if graphs.wait_event(handle, event_handle, stream(handle).blocking):
        return
    if graphs.record(handle, partial(_wait_step, event_handle), "event wait", graphs.WAIT_EVENT):
        return                           # an event of uncaptured work: waited for at each replay
    drv_stream.wait_event(stream(handle), e)


def _wait_step(event_handle: int, handle: int) -> None:
    drv_stream.wait_event(stream(handle), event(event_handle))


@translated
def event_create(flags: int = 0) -> int:
    if flags & ~0x3:
        raise SdaaError(RT.sdaaErrorInvalidValue, f"event flags 0x{flags:x}")
    e = drv_stream.Event(devices.context(), flags)
    with _lock:
        handle = next(_ids)
        _events[handle] = e
    return handle


@translated
def event_record(handle: int, stream_handle: int) -> None:
    event(handle)
    if graphs.mark_event(handle, stream_handle):
        return
    if stream_handle == 0:
        graphs.legacy("event record")
    event(handle).record(stream(stream_handle))


@translated
def event_query(handle: int) -> bool:
    graphs.captured_event(handle, "cudaEventQuery")
    return event(handle).query()


@translated
def event_synchronize(handle: int) -> None:
    graphs.captured_event(handle, "cudaEventSynchronize")
    event(handle).synchronize()


@translated
def event_destroy(handle: int) -> None:
    event(handle).destroy()
    with _lock:
        _events.pop(handle, None)


@translated
def elapsed_ms(start: int, end: int) -> float:
    return drv_stream.elapsed_ms(event(start), event(end))


@translated
def memcpy_async(dst: int, src: int, count: int, kind: int, stream_handle: int) -> None:
    memory.check_memcpy(dst, src, count, kind)
    if graphs.record(stream_handle, partial(memcpy_async, dst, src, count, kind), "memcpy", graphs.MEMCPY):
        return
    s = stream(stream_handle)
    if kind == memory.HOST_TO_DEVICE:
        drv_stream.copy_htod(s, dst, src, count)
    elif kind == memory.DEVICE_TO_HOST:
        drv_stream.copy_dtoh(s, dst, src, count)
    elif kind == memory.DEVICE_TO_DEVICE:
        drv_stream.copy_dtod(s, dst, src, count)
    else:
        memory.memcpy(dst, src, count, kind)


@translated
def malloc_async(size: int, stream_handle: int, pool: int | None = None) -> int:
    """Memory usable by work queued on the stream after this call (and by any, since it is
    allocated at once), from `pool` or the stream's device's current pool."""
    graphs.forbid(stream_handle, "cudaMallocAsync")
    device = stream(stream_handle).ctx.device
    return pools.alloc(pools.current_pool(device) if pool is None else pool, size)


@translated
def free_async(addr: int, stream_handle: int) -> None:
    """Free once the stream's earlier work is done: waited for here, so the order holds
    (a pool's block goes back to its pool, any other allocation is freed)."""
    graphs.forbid(stream_handle, "cudaFreeAsync")
    drv_stream.synchronize(stream(stream_handle))
    pool = pools.owner(addr)
    if pool is None:
        memory.free(addr, ordered=True)
    else:
        pools.give_back(pool, addr)


@translated
def memcpy_2d_async(dst: int, dpitch: int, src: int, spitch: int, width: int, height: int, kind: int,
                    stream_handle: int) -> None:
    for d, s, n in memory.rows_2d(dst, dpitch, src, spitch, width, height):
        memcpy_async(d, s, n, kind, stream_handle)


@translated
def memcpy_3d_async(dst: memory.Pitched, src: memory.Pitched, extent: tuple[int, int, int], kind: int,
                    stream_handle: int) -> None:
    for d, s, n in memory.rows_3d(dst, src, extent):
        memcpy_async(d, s, n, kind, stream_handle)


@translated
def memset_3d_async(dst: memory.Pitched, value: int, extent: tuple[int, int, int], stream_handle: int) -> None:
    width, height, depth = extent
    for addr, n in memory.fill_rows(dst.ptr, dst.pitch, width, height, depth, dst.pitch * dst.ysize):
        memset_async(addr, value, n, stream_handle)


@translated
def memset_async(dst: int, value: int, count: int, stream_handle: int) -> None:
    memory.require_device(dst, "memset")
    if graphs.record(stream_handle, partial(memset_async, dst, value, count), "memset", graphs.MEMSET):
        return
    drv_stream.memset(stream(stream_handle), dst, value, 1, count)


@translated
def memset_rows_async(dst: int, pitch: int, value: int, elem: int, width: int, height: int,
                      stream_handle: int) -> None:
    """`height` rows of `width` elements of `elem` bytes, `pitch` bytes apart (a memset node)."""
    memory.require_device(dst, "memset")
    if graphs.record(stream_handle, partial(memset_rows_async, dst, pitch, value, elem, width, height), "memset",
                     graphs.MEMSET):
        return
    s = stream(stream_handle)
    for row in range(height):
        drv_stream.memset(s, dst + row * pitch, value, elem, width)


def launch_async(entry: str, stream_handle: int) -> None:
    launch.launch(entry, stream(stream_handle))
