"""Streams (one card channel each) and events (markers the card timestamps)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..driver import stream as drv_stream
from .calls import api

if TYPE_CHECKING:
    from .device import Device


class Stream:
    """An ordered queue of work; streams run concurrently.  As a context manager
    it waits for its work and is destroyed when the block ends."""

    def __init__(self, device: "Device", non_blocking: bool = False) -> None:
        self.device = device
        flags = drv_stream.STREAM_NON_BLOCKING if non_blocking else 0
        self.handle = device._driver(lambda: drv_stream.Stream(device.context, flags))

    def __repr__(self) -> str:
        return f"<Stream channel {self.handle.q.channel.id} on card {self.device.index}>"

    def _live(self) -> drv_stream.Stream:
        if not self.handle.alive:
            raise ValueError("the stream was destroyed")
        return self.handle

    @api
    def synchronize(self) -> None:
        drv_stream.synchronize(self._live())

    @api
    def query(self) -> bool:
        """Has all work queued so far finished?"""
        return drv_stream.query(self._live())

    @api
    def wait(self, event: "Event") -> None:
        """Later work of this stream waits (on the card) until `event` is reached."""
        drv_stream.wait_event(self._live(), event.handle)

    def record(self, event: "Event | None" = None) -> "Event":
        """Record `event` (a new one if None) after the work queued so far."""
        event = event if event is not None else Event(self.device)
        event.record(self)
        return event

    @api
    def destroy(self) -> None:
        if self.handle.alive:
            self.handle.destroy()

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        try:
            if exc_type is None:
                self.synchronize()
        finally:
            self.destroy()


class Event:
    """A marker in a stream; elapsed_ms between two recorded events uses the card's clock."""

    def __init__(self, device: "Device", timing: bool = True) -> None:
        self.device = device
        flags = 0 if timing else drv_stream.EVENT_DISABLE_TIMING
        self.handle = device._driver(lambda: drv_stream.Event(device.context, flags))

    @api
    def record(self, stream: Stream | None = None) -> None:
        target = stream.handle if stream is not None else drv_stream.default(self.device.context)
        self.handle.record(target)

    @api
    def synchronize(self) -> None:
        self.handle.synchronize()

    @api
    def query(self) -> bool:
        return self.handle.query()

    @api
    def elapsed_ms(self, end: "Event") -> float:
        """Milliseconds from this event to `end` (both recorded and reached)."""
        return drv_stream.elapsed_ms(self.handle, end.handle)

    @api
    def destroy(self) -> None:
        if self.handle.alive:
            self.handle.destroy()

    def __enter__(self) -> "Event":
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()
