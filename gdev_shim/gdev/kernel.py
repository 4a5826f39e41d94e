"""One kernel launch as the Gdev core hands it to the backend (struct gdev_kernel)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class KernelLaunch:
    code_addr: int
    code_size: int
    entry: int
    params: bytes
    grid: tuple[int, int, int]
    block: tuple[int, int, int]
    shared_size: int = 0
    local_size: int = 0
    globals_addr: int = 0
    grid_sync: int = 0            # a cooperative launch: its grid-wide barrier word (struct aidev_compute)
