"""Primary contexts of the CUDA driver face: one per card, reference counted.

A retained primary context lives until its last release (or a reset); its
flags can be set while it is inactive and apply when it is next created.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from .context import Context
from .device import check
from .errors import SD, fail


@dataclass
class _Primary:
    flags: int = 0
    refs: int = 0
    ctx: Context | None = None


_lock = threading.Lock()
_cards: dict[int, _Primary] = {}


def _entry(device: int) -> _Primary:
    return _cards.setdefault(check(device), _Primary())


def retain(device: int) -> Context:
    with _lock:
        p = _entry(device)
        if p.ctx is None or not p.ctx.alive:
            p.ctx = Context(device, p.flags)
        p.refs += 1
        return p.ctx


def release(device: int) -> None:
    with _lock:
        p = _entry(device)
        if p.refs == 0:
            raise fail(SD.SDAA_ERROR_INVALID_CONTEXT, f"the primary context of card {device} is not retained")
        p.refs -= 1
        if p.refs == 0:
            _destroy(p)


def reset(device: int) -> None:
    """Destroy the primary context now, whatever its count (its memory and modules go with it)."""
    with _lock:
        p = _entry(device)
        p.refs = 0
        _destroy(p)


def _destroy(p: _Primary) -> None:
    ctx, p.ctx = p.ctx, None
    if ctx is not None and ctx.alive:
        ctx.destroy()


def set_flags(device: int, flags: int) -> None:
    with _lock:
        p = _entry(device)
        p.flags = flags
        if p.ctx is not None:
            p.ctx.flags = flags


def state(device: int) -> tuple[int, bool]:
    """(flags, active)."""
    with _lock:
        p = _entry(device)
        return p.flags, p.ctx is not None and p.ctx.alive


def is_primary(ctx: Context) -> bool:
    with _lock:
        return any(p.ctx is ctx for p in _cards.values())
