"""The card's DMA engine: copies and fills between any device addresses (VRAM or GART)."""
from __future__ import annotations

import threading

from .memory import CardMemory


class DmaEngine:
    """One per card; its lock serialises DMA work but not the compute engine."""

    def __init__(self, memory: CardMemory) -> None:
        self.memory = memory
        self.lock = threading.Lock()

    def copy(self, dst: int, src: int, n: int) -> None:
        with self.lock:
            self.memory.copy(dst, src, n)

    def fill(self, dst: int, value: int, elem_size: int, count: int) -> None:
        with self.lock:
            self.memory.fill(dst, value, elem_size, count)
