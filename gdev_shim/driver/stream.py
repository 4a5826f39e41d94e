"""Streams and events of the driver API.

Every stream of a context is queued on the context's channel, so work is
ordered within a stream (and, more strictly than required, across the
context's streams).  Events are timestamped fences the card writes when it
reaches them; a wait on an event of another context is an ACQUIRE command the
card executes, not a host-side wait.
"""
from __future__ import annotations

from ..gdev import api as gdev
from .context import Context
from .errors import SD, SdError, fail
from . import launch as drv_launch, memory as drv_mem

EVENT_DISABLE_TIMING = 0x2


class Stream:
    def __init__(self, ctx: Context, flags: int = 0) -> None:
        ctx.check()
        self.ctx = ctx
        self.flags = flags
        self.last = 0                 # id of the last operation queued on this stream
        self.alive = True

    def note(self, seq: int) -> None:
        self.last = max(self.last, seq)

    def destroy(self) -> None:
        if not self.alive:
            raise fail(SD.SDAA_ERROR_INVALID_HANDLE, "stream already destroyed")
        self.alive = False


def default(ctx: Context) -> Stream:
    stream = getattr(ctx, "default_stream", None)
    if stream is None:
        stream = ctx.default_stream = Stream(ctx)
    return stream


def _live(stream: Stream | None, ctx: Context) -> Stream:
    stream = stream or default(ctx)
    if not stream.alive:
        raise fail(SD.SDAA_ERROR_INVALID_HANDLE, "stream was destroyed")
    return stream


def launch(stream: Stream | None, fn, grid, block, shared: int, params: bytes) -> None:
    ctx = fn.module.ctx
    s = _live(stream, ctx)
    if s.ctx is not ctx:
        raise fail(SD.SDAA_ERROR_INVALID_HANDLE, "stream belongs to another context")
    s.note(drv_launch.launch(fn, grid, block, shared, params))


def copy_htod(stream: Stream | None, dst: int, src_host: int, n: int) -> None:
    if n == 0:
        return
    ctx, _ = drv_mem.device_range(dst, n, "copy to device")
    _live(stream, ctx).note(ctx.gdev_call(gdev.gmemcpy_to_device_async, dst, src_host, n))


def copy_dtoh(stream: Stream | None, dst_host: int, src: int, n: int) -> None:
    if n == 0:
        return
    ctx, _ = drv_mem.device_range(src, n, "copy from device")
    _live(stream, ctx).note(ctx.gdev_call(gdev.gmemcpy_from_device_async, dst_host, src, n))


def copy_dtod(stream: Stream | None, dst: int, src: int, n: int) -> None:
    if n == 0:
        return
    dctx, _ = drv_mem.device_range(dst, n, "copy destination")
    sctx, _ = drv_mem.device_range(src, n, "copy source")
    if dctx is not sctx:
        drv_mem.copy_dtod(dst, src, n)       # between cards: staged, complete on return
        return
    _live(stream, dctx).note(dctx.gdev_call(gdev.gmemcpy_async, dst, src, n))


def memset(stream: Stream | None, dst: int, value: int, elem: int, count: int) -> None:
    if count == 0:
        return
    ctx, _ = drv_mem.device_range(dst, elem * count, "memset")
    mask = (1 << (8 * elem)) - 1
    _live(stream, ctx).note(ctx.gdev_call(gdev.gmemset_async, dst, value & mask, elem, count))


def query(stream: Stream) -> bool:
    return stream.ctx.gdev_call(gdev.gdone, stream.last)


def synchronize(stream: Stream) -> None:
    stream.ctx.gdev_call(gdev.gsync, stream.last)


class Event:
    def __init__(self, ctx: Context, flags: int = 0) -> None:
        ctx.check()
        self.ctx = ctx
        self.flags = flags
        self.slot = ctx.gdev_call(gdev.gmarker_new)
        self.seq = 0                   # 0: never recorded
        self.alive = True

    def record(self, stream: Stream) -> None:
        if stream.ctx is not self.ctx:
            raise fail(SD.SDAA_ERROR_INVALID_HANDLE, "event and stream belong to different contexts")
        self.seq = self.ctx.gdev_call(gdev.gmarker_record, self.slot)
        stream.note(self.seq)

    def query(self) -> bool:
        return self.seq == 0 or self.ctx.gdev_call(gdev.gdone, self.seq)

    def synchronize(self) -> None:
        if self.seq:
            self.ctx.gdev_call(gdev.gsync, self.seq)

    def time_ns(self) -> int:
        return gdev.gmarker_time_ns(self.ctx.handle, self.slot)

    def destroy(self) -> None:
        self.alive = False
        if self.ctx.alive:
            self.synchronize_quietly()
            gdev.gmarker_free(self.ctx.handle, self.slot)

    def synchronize_quietly(self) -> None:
        try:
            self.synchronize()
        except SdError:
            pass


def wait_event(stream: Stream, event: Event) -> None:
    """Later work of `stream` waits until the card reached `event`."""
    if event.seq == 0 or event.ctx is stream.ctx:
        return                       # same channel: already ordered
    stream.ctx.gdev_call(gdev.gacquire, event.ctx.handle, event.seq)


def elapsed_ms(start: Event, end: Event) -> float:
    for e in (start, end):
        if e.flags & EVENT_DISABLE_TIMING or e.seq == 0:
            raise fail(SD.SDAA_ERROR_INVALID_HANDLE, "event was not recorded with timing")
        if not e.query():
            raise fail(SD.SDAA_ERROR_NOT_READY, "event not reached yet")
    return (end.time_ns() - start.time_ns()) / 1e6


