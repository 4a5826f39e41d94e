"""Driver contexts: one Gdev handle each, a per-thread stack of current contexts.

A context that saw a kernel fault stays failed (CUDA's sticky launch failure):
every later call on it returns LAUNCH_FAILED until it is destroyed.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from ..common.findings import REPORT, Finding, at_exit, tools as sanitizer_tools
from ..gdev import api as gdev
from ..gdev.errors import ChannelFault, DeviceLost, FenceTimeout, GdevError
from ..gdev.handle import GdevHandle
from ..log import get
from .errors import SD, SdError, fail, from_gdev

if TYPE_CHECKING:
    from .stream import Stream

log = get("gdev.driver")


class Context:
    def __init__(self, device: int, flags: int = 0) -> None:
        self.device = device
        self.flags = flags
        try:
            self.handle: GdevHandle = gdev.gopen(device)
        except GdevError as e:
            raise from_gdev(e) from None
        self.info = self.handle.info
        self.failure: SdError | None = None
        self.alive = True
        self.modules: set = set()
        self.user_allocs: set[int] = set()   # what sdMemAlloc / sdMemAllocHost handed out
        self.streams: list = []           # live driver streams
        self.default_stream: Stream | None = None   # made by stream.default() on first use
        self.idle_queues: list = []       # channels of destroyed streams, reused by new ones
        self.grid_sync_words: dict[int, int] = {}   # channel -> its cooperative launches' barrier word
        self.lock = threading.RLock()
        registry.add(self)

    def check(self) -> None:
        if not self.alive:
            raise fail(SD.SDAA_ERROR_INVALID_CONTEXT, "context was destroyed")
        if self.failure is not None:
            raise SdError(self.failure.code, f"context is unusable after an earlier fault: {self.failure}")

    def gdev_call(self, fn, *args, **kwargs):
        """Call into L2, turning its failures into SdError; faults make the context sticky-failed."""
        self.check()
        try:
            return fn(self.handle, *args, **kwargs)
        except (ChannelFault, FenceTimeout, DeviceLost) as e:
            # a fault, work the card never finished (a watchdog timeout) or a lost card: sticky,
            # as in CUDA
            self.failure = from_gdev(e)
            log.warning("context on card %d failed: %s", self.device, e)
            raise self.failure from None
        except GdevError as e:
            raise from_gdev(e) from None

    def synchronize(self) -> None:
        """Wait for the work of every stream of this context."""
        for q in list(self.handle.queues):
            self.gdev_call(gdev.gsync, q.seq, q=q)

    def destroy(self) -> None:
        if not self.alive:
            raise fail(SD.SDAA_ERROR_INVALID_CONTEXT, "context already destroyed")
        self.alive = False
        registry.remove(self)
        for stream in self.streams:
            stream.alive = False          # their channels close with the handle below
        try:
            for module in list(self.modules):
                module.release()
        finally:
            gdev.gclose(self.handle)      # whatever happened above, the card gets its channels back


class ContextRegistry:
    """All live contexts, and which one owns a device address (addresses name their card)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.contexts: list[Context] = []

    def add(self, ctx: Context) -> None:
        with self.lock:
            self.contexts.append(ctx)

    def remove(self, ctx: Context) -> None:
        with self.lock:
            self.contexts.remove(ctx)

    def owner(self, addr: int):
        """(context, allocation) holding device address addr, or (None, None)."""
        with self.lock:
            contexts = list(self.contexts)
        for ctx in contexts:
            mem = ctx.handle.vas.find(addr)
            if mem is not None:
                return ctx, mem
        return None, None


registry = ContextRegistry()


def _report_leaks() -> None:
    """Sanitizer leak check at exit: device memory the program allocated and never freed."""
    with registry.lock:
        contexts = list(registry.contexts)
    for ctx in contexts:
        for addr in sorted(ctx.user_allocs):
            mem = ctx.handle.vas.find(addr) or ctx.handle.dma_by_host.get(addr)
            size = mem.size if mem is not None else 0
            REPORT.add(Finding(tool="leakcheck", kind="allocation never freed", address=addr, size=size,
                               allocation=f"card {ctx.device}",
                               detail=f"{size} bytes allocated through the driver or runtime API"))


if "leakcheck" in sanitizer_tools():
    at_exit(_report_leaks)
_tls = threading.local()


def _stack() -> list[Context]:
    stack = getattr(_tls, "stack", None)
    if stack is None:
        stack = _tls.stack = []
    return stack


def current(optional: bool = False) -> Context | None:
    stack = _stack()
    if not stack or not stack[-1].alive:
        if optional:
            return None
        raise fail(SD.SDAA_ERROR_INVALID_CONTEXT, "no current context in this thread")
    return stack[-1]


def push(ctx: Context) -> None:
    if not ctx.alive:
        raise fail(SD.SDAA_ERROR_INVALID_CONTEXT, "context was destroyed")
    _stack().append(ctx)


def pop() -> Context:
    stack = _stack()
    if not stack:
        raise fail(SD.SDAA_ERROR_INVALID_CONTEXT, "context stack is empty")
    return stack.pop()


def set_current(ctx: Context | None) -> None:
    stack = _stack()
    if ctx is None:
        if stack:
            stack.pop()
        return
    if not ctx.alive:
        raise fail(SD.SDAA_ERROR_INVALID_CONTEXT, "context was destroyed")
    if stack:
        stack[-1] = ctx
    else:
        stack.append(ctx)


def forget(ctx: Context) -> None:
    """Drop a destroyed context from this thread's stack."""
    stack = _stack()
    stack[:] = [c for c in stack if c is not ctx]
