"""Execution engines are disposed of only where LLVM may be touched.

Disposing of an engine removes its module from an LLVM context.  Left to reference counting
or the cycle collector it happens on whatever thread drops the last reference: while a
loading thread compiles in the same context, or after exit has started destroying LLVM's
globals (a program that exits while the optimiser thread runs then dies of a segfault).
So a compiled kernel holds its engine through `Held`, which hands the engine to a
graveyard when it is dropped, and the optimiser thread empties the graveyard (`bury`)
inside its exit guard, holding the lock of the loading threads' context.
"""
from __future__ import annotations

import threading
from contextlib import AbstractContextManager

_graveyard: list[object] = []
_graveyard_lock = threading.Lock()


class Held:
    """Keeps an engine (and so its machine code) alive; when dropped, retires it."""

    __slots__ = ("engine",)

    def __init__(self, engine: object) -> None:
        self.engine = engine

    def __del__(self) -> None:
        try:
            with _graveyard_lock:
                _graveyard.append(self.engine)
        except Exception:   # noqa: BLE001 - interpreter shutdown: the process is going anyway
            pass


def bury(context_lock: AbstractContextManager) -> int:
    """Dispose of every retired engine (on the optimiser thread, in its exit guard); how many."""
    with _graveyard_lock:
        dead = _graveyard[:]
        _graveyard.clear()
    if dead:
        with context_lock:
            for engine in dead:
                engine.close()      # type: ignore[attr-defined]
    return len(dead)


def retired() -> int:
    """How many engines wait to be disposed of (tests)."""
    with _graveyard_lock:
        return len(_graveyard)
