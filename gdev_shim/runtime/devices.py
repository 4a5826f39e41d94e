"""Device selection: each host thread's current device and the primary context per card.

The runtime creates one driver context per card on first use and shares it among
threads, as CUDA's primary contexts are; memory and launches go to the card the
calling thread selected with sdaaSetDevice.
"""
from __future__ import annotations

import threading
from typing import Callable

from ..driver import device as drv_device
from ..driver.device import forked
from ..driver.context import Context
from ..driver.errors import SdError
from ..log import get
from .errors import RT, SdaaError, from_driver

log = get("gdev.runtime")
_lock = threading.Lock()
_primary: dict[int, Context] = {}
_created_hooks: list[Callable[[int], None]] = []
_tls = threading.local()


def count() -> int:
    return drv_device.count_raw()


def check(device: int) -> int:
    n = count()
    if not 0 <= device < n:
        raise SdaaError(RT.sdaaErrorInvalidDevice, f"device {device} does not exist (have {n})")
    return device


def set_current(device: int) -> None:
    _tls.device = check(device)
    log.debug("set_device: %d", device)


def current() -> int:
    return getattr(_tls, "device", 0)


def on_primary_context(callback: Callable[[int], None]) -> None:
    """Call `callback(device)` after each primary context is created."""
    _created_hooks.append(callback)


def context(device: int | None = None) -> Context:
    """The primary context of `device` (default: this thread's), created on first use."""
    if forked():
        raise SdaaError(RT.sdaaErrorInitializationError,
                        "the runtime was used by the parent process; a forked child cannot use it")
    dev = current() if device is None else device
    ctx = _primary.get(dev)
    if ctx is not None and ctx.alive:
        return ctx
    created = False
    with _lock:
        ctx = _primary.get(dev)
        if ctx is None or not ctx.alive:
            if count() == 0:
                raise SdaaError(RT.sdaaErrorNoDevice, "no aicard found")
            check(dev)
            try:
                ctx = _primary[dev] = Context(dev)
            except SdError as e:
                raise from_driver(e) from None
            created = True
            log.debug("primary context: card=%d channel=%d", dev, ctx.handle.ctx.channel.id)
    if created:
        # outside the lock: hooks use the context they were told about
        for hook in _created_hooks:
            hook(dev)
    return ctx


def existing_context(device: int) -> Context | None:
    """The primary context of `device` if one was created (creates none)."""
    return _primary.get(device)


def existing_contexts() -> list[Context]:
    with _lock:
        return [c for c in _primary.values() if c.alive]


def reset(device: int) -> None:
    """Destroy the primary context of `device`: its memory and modules are released."""
    with _lock:
        ctx = _primary.pop(device, None)
    if ctx is not None and ctx.alive:
        ctx.destroy()
