"""The card's DMA engine: copies and fills between any device addresses (VRAM or GART)."""
from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from typing import Any, Callable

from .memory import CardMemory, MemoryView
from .sched import EngineArbiter, VirtualGpu


def _never() -> bool:
    return False


class DmaEngine:
    """One per card; the copy engine's scheduler (or, without one, a lock) serialises DMA
    work but not the compute engine."""

    def __init__(self, memory: CardMemory, arbiter: EngineArbiter | None = None) -> None:
        self.memory = memory
        self.arbiter = arbiter
        self.lock = threading.Lock()

    def _engine(self, vgpu: VirtualGpu | None, abandoned: Callable[[], bool]) -> AbstractContextManager[Any]:
        if self.arbiter is None or vgpu is None:
            return self.lock
        return self.arbiter.use(vgpu, abandoned)

    def hold(self, vgpu: VirtualGpu | None, abandoned: Callable[[], bool] = _never) -> AbstractContextManager[Any]:
        """The engine for work of its own (a copy with a client's memory), as copy() holds it."""
        return self._engine(vgpu, abandoned)

    def copy(self, dst: int, src: int, n: int, vgpu: VirtualGpu | None = None,
             abandoned: Callable[[], bool] = _never, memory: MemoryView | None = None) -> None:
        """Copy within `memory` (a client's address space; the card's by default)."""
        with self._engine(vgpu, abandoned):
            (memory or self.memory).copy(dst, src, n)

    def fill(self, dst: int, value: int, elem_size: int, count: int, vgpu: VirtualGpu | None = None,
             abandoned: Callable[[], bool] = _never, memory: MemoryView | None = None) -> None:
        with self._engine(vgpu, abandoned):
            (memory or self.memory).fill(dst, value, elem_size, count)
