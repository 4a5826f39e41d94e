"""Streams and events of the driver API.

Each stream is its own channel on the card, so streams run concurrently; the
default (NULL) stream is the context's own channel.  Dependencies are ring
commands the card executes (ACQUIRE on another channel's fence), not host
waits:
- the legacy default stream: work queued on it waits for all earlier work of the
  context's blocking streams, and work queued on a blocking stream waits for
  earlier work of the default stream;
- sdStreamWaitEvent: the stream waits for the card to reach the event.
Events are timestamped markers the card writes when it reaches them.
"""
from __future__ import annotations

import threading

from ..gdev import api as gdev
from ..gdev.context import GdevCtx
from ..gdev.errors import GdevError
from . import launch as drv_launch, memory as drv_mem
from .context import Context
from .errors import SD, SdError, fail

STREAM_NON_BLOCKING = 0x1
EVENT_DISABLE_TIMING = 0x2


class Stream:
    def __init__(self, ctx: Context, flags: int = 0, queue: GdevCtx | None = None) -> None:
        ctx.check()
        if flags & ~STREAM_NON_BLOCKING:
            raise fail(SD.SDAA_ERROR_INVALID_VALUE, f"stream flags 0x{flags:x}")
        self.ctx = ctx
        self.flags = flags
        self.is_default = queue is not None
        self.q = queue if queue is not None else _take_queue(ctx)
        self.last = 0                      # id of the last operation queued on this stream
        self.waited: dict[int, int] = {}   # id(other stream) -> its last id we already wait for
        self.alive = True
        self.lock = threading.Lock()
        with ctx.lock:
            ctx.streams.append(self)

    @property
    def blocking(self) -> bool:
        return not self.flags & STREAM_NON_BLOCKING

    def destroy(self) -> None:
        """Work already queued still completes; the channel goes back to the context's pool."""
        if not self.alive or self.is_default:
            raise fail(SD.SDAA_ERROR_INVALID_HANDLE, "stream already destroyed or the default stream")
        self.alive = False
        with self.ctx.lock:
            self.ctx.streams.remove(self)
            # Not closed: ACQUIREs other channels queued on its fence may still be pending, and
            # its sequence keeps growing monotonically when a later stream reuses it.
            self.ctx.idle_queues.append(self.q)


def _take_queue(ctx: Context) -> GdevCtx:
    with ctx.lock:
        if ctx.idle_queues:
            return ctx.idle_queues.pop()
    return ctx.gdev_call(gdev.gqueue_open)


def default(ctx: Context) -> Stream:
    stream = ctx.default_stream
    if stream is None:
        stream = ctx.default_stream = Stream(ctx, 0, queue=ctx.handle.ctx)
    return stream


def _wait_for(stream: Stream, other: Stream) -> None:
    if other is stream or other.last <= stream.waited.get(id(other), 0):
        return
    stream.ctx.gdev_call(gdev.gacquire, stream.q, other.q, other.last)
    stream.waited[id(other)] = other.last


def _order(stream: Stream) -> None:
    """The legacy default stream's implicit dependencies, as card-side waits."""
    if stream.is_default:
        with stream.ctx.lock:
            others = list(stream.ctx.streams)
        for other in others:
            if other.blocking:
                _wait_for(stream, other)
    elif stream.blocking:
        _wait_for(stream, default(stream.ctx))


def _enqueue(stream: Stream | None, ctx: Context, op, *args) -> int:
    """Run `op(q, *args) -> id` on the stream's channel after its implicit dependencies."""
    s = stream or default(ctx)
    if not s.alive:
        raise fail(SD.SDAA_ERROR_INVALID_HANDLE, "stream was destroyed")
    if s.ctx is not ctx:
        # Memory of another card than the stream's: that card's default stream, completed now.
        seq = _enqueue(None, ctx, op, *args)
        synchronize(default(ctx))
        return seq
    with s.lock:
        _order(s)
        seq = op(s.q, *args)
        if seq:
            s.last = max(s.last, seq)
    return seq


def launch(stream: Stream | None, fn, grid, block, shared: int, params: bytes,
           cooperative: bool = False) -> None:
    ctx = fn.module.ctx
    if stream is not None and stream.ctx is not ctx:
        raise fail(SD.SDAA_ERROR_INVALID_HANDLE, "stream belongs to another context")
    _enqueue(stream, ctx, lambda q: drv_launch.launch(fn, grid, block, shared, params, q=q,
                                                      cooperative=cooperative))


def _stream_for(stream: Stream | None, ctx: Context) -> Stream:
    return stream if stream is not None and stream.ctx is ctx else default(ctx)


def _idle(stream: Stream | None, ctx: Context) -> bool:
    """Nothing queued on the stream, or on what its work would wait for (the legacy
    default stream's dependencies), is still outstanding: a copy may happen now."""
    s = stream or default(ctx)
    if not s.alive or s.ctx is not ctx:
        return False
    if s.is_default:
        with ctx.lock:
            deps = [o for o in ctx.streams if o.blocking]
    else:
        deps = [s, default(ctx)] if s.blocking else [s]
    try:
        return s.q.idle() and all(o.q.done(o.last) for o in deps if o is not s and o.last)
    except GdevError:                   # a faulted channel: the queued path reports it
        return False


def copy_htod(stream: Stream | None, dst: int, src_host: int, n: int, sync: bool = False) -> None:
    if n:
        ctx, _ = drv_mem.device_range(dst, n, "copy to device")
        if sync and _idle(stream, ctx) and ctx.gdev_call(gdev.gmemcpy_to_device_direct, dst, src_host, n):
            return
        _enqueue(stream, ctx, lambda q: ctx.gdev_call(gdev.gmemcpy_to_device_async, dst, src_host, n, q=q))
        if sync:
            synchronize(_stream_for(stream, ctx))


def copy_dtoh(stream: Stream | None, dst_host: int, src: int, n: int, sync: bool = False) -> None:
    if n:
        ctx, _ = drv_mem.device_range(src, n, "copy from device")
        if sync and _idle(stream, ctx) and ctx.gdev_call(gdev.gmemcpy_from_device_direct, dst_host, src, n):
            return
        _enqueue(stream, ctx, lambda q: ctx.gdev_call(gdev.gmemcpy_from_device_async, dst_host, src, n, q=q))
        if sync:
            synchronize(_stream_for(stream, ctx))


def copy_dtod(stream: Stream | None, dst: int, src: int, n: int, sync: bool = False) -> None:
    if not n:
        return
    dctx, _ = drv_mem.device_range(dst, n, "copy destination")
    sctx, _ = drv_mem.device_range(src, n, "copy source")
    if dctx is not sctx:
        # Between cards: staged through host memory, complete on return.
        if stream is not None:
            synchronize(stream)
        import numpy as np
        staging = np.empty(n, np.uint8)
        copy_dtoh(None, int(staging.ctypes.data), src, n, sync=True)
        copy_htod(None, dst, int(staging.ctypes.data), n, sync=True)
        return
    _enqueue(stream, dctx, lambda q: dctx.gdev_call(gdev.gmemcpy_async, dst, src, n, q=q))
    if sync:
        synchronize(_stream_for(stream, dctx))


def memset(stream: Stream | None, dst: int, value: int, elem: int, count: int, sync: bool = False) -> None:
    if count:
        ctx, _ = drv_mem.device_range(dst, elem * count, "memset")
        value &= (1 << (8 * elem)) - 1
        _enqueue(stream, ctx, lambda q: ctx.gdev_call(gdev.gmemset_async, dst, value, elem, count, q=q))
        if sync:
            synchronize(_stream_for(stream, ctx))


def query(stream: Stream) -> bool:
    return stream.ctx.gdev_call(gdev.gdone, stream.last, q=stream.q)


def synchronize(stream: Stream) -> None:
    stream.ctx.gdev_call(gdev.gsync, stream.last, q=stream.q)


class Event:
    def __init__(self, ctx: Context, flags: int = 0) -> None:
        ctx.check()
        if flags & ~0x3:
            raise fail(SD.SDAA_ERROR_INVALID_VALUE, f"event flags 0x{flags:x}")
        self.ctx = ctx
        self.flags = flags
        self.stream: Stream | None = None  # where it was last recorded
        self.slot = 0
        self.seq = 0                       # 0: never recorded
        self.alive = True

    def record(self, stream: Stream) -> None:
        if not self.alive:
            raise fail(SD.SDAA_ERROR_INVALID_HANDLE, "event was destroyed")
        if stream.ctx is not self.ctx:
            raise fail(SD.SDAA_ERROR_INVALID_HANDLE, "event and stream belong to different contexts")
        self._release_slot()
        self.slot = self.ctx.gdev_call(gdev.gmarker_new, q=stream.q)
        self.stream = stream
        self.seq = _enqueue(stream, self.ctx,
                            lambda q: self.ctx.gdev_call(gdev.gmarker_record, self.slot, q=q))

    def _release_slot(self) -> None:
        if self.stream is not None and self.slot and self.stream.alive:
            self.synchronize()
            gdev.gmarker_free(self.ctx.handle, self.slot, q=self.stream.q)
        self.slot = 0

    def queue(self) -> GdevCtx:
        """The queue of the stream the event was last recorded on."""
        if self.stream is None:
            raise fail(SD.SDAA_ERROR_INVALID_HANDLE, "event was never recorded")
        return self.stream.q

    def query(self) -> bool:
        return self.seq == 0 or self.ctx.gdev_call(gdev.gdone, self.seq, q=self.queue())

    def synchronize(self) -> None:
        if self.seq:
            self.ctx.gdev_call(gdev.gsync, self.seq, q=self.queue())

    def time_ns(self) -> int:
        return gdev.gmarker_time_ns(self.ctx.handle, self.slot, q=self.queue())

    def destroy(self) -> None:
        if not self.alive:
            raise fail(SD.SDAA_ERROR_INVALID_HANDLE, "event already destroyed")
        self.alive = False
        if self.ctx.alive:
            try:
                self._release_slot()
            except SdError:
                pass                        # a failed context: nothing left to wait for


def wait_event(stream: Stream, event: Event) -> None:
    """Later work of `stream` waits until the card reached `event` (a ring command)."""
    if not event.alive:
        raise fail(SD.SDAA_ERROR_INVALID_HANDLE, "event was destroyed")
    if event.seq == 0:
        return
    if event.ctx is not stream.ctx:
        event.synchronize()                 # another card: the host waits
        return
    with stream.lock:
        stream.ctx.gdev_call(gdev.gacquire, stream.q, event.queue(), event.seq)


def elapsed_ms(start: Event, end: Event) -> float:
    for e in (start, end):
        if not e.alive or e.flags & EVENT_DISABLE_TIMING or e.seq == 0:
            raise fail(SD.SDAA_ERROR_INVALID_HANDLE, "event was not recorded with timing")
    for e in (start, end):
        if not e.query():
            raise fail(SD.SDAA_ERROR_NOT_READY, "event not reached yet")
    return (end.time_ns() - start.time_ns()) / 1e6
