"""The compute table: what a chip backend provides to the Gdev core.

As in Gdev, gopen picks the table for the card and every device operation goes
through it; the core never writes ring words itself.  Every slot does real work.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from .context import GdevCtx
    from .kernel import KernelLaunch


@dataclass(frozen=True)
class ComputeTable:
    init: Callable[["GdevCtx"], None]                          # reset fences, prime the ring
    launch: Callable[["GdevCtx", "KernelLaunch"], None]        # AIDEV_OP_COMPUTE
    memcpy: Callable[["GdevCtx", int, int, int], None]         # dst, src, bytes (DMA engine)
    memset: Callable[["GdevCtx", int, int, int, int], None]    # dst, value, elem bytes, count
    fence_write: Callable[["GdevCtx", int, int], None]         # slot, seq: card writes seq when reached
    fence_read: Callable[["GdevCtx", int], int]                # slot -> last seq the card wrote
    fence_reset: Callable[["GdevCtx", int, int], None]         # slot, seq: host-side reset of a slot
    fence_wait: Callable[["GdevCtx", int, int, int], int]      # slot, seq, timeout_ms -> 0/-errno
    acquire: Callable[["GdevCtx", int, int], None]             # card waits until u64 at addr >= value
    membar: Callable[["GdevCtx"], None]                        # order earlier writes before later work
    notify_intr: Callable[["GdevCtx", int], None]              # wake host waiters of a slot
    prepare: Callable[["GdevCtx", int, int], None]             # code addr, size: ready its kernels
    fire: Callable[["GdevCtx"], None]                          # publish the ring (PB_PUT doorbell)
