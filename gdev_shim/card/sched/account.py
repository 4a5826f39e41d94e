"""Gdev's scheduling constants, a virtual GPU, and a virtual GPU's ledger on one engine."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .queue import Ticket

# Gdev's values (gdev_sched.h): priorities 0..40, 20 by default; a 30 ms period of credit
# replenishment, which is also the credit an idle virtual GPU may hoard; used bandwidth
# measured over windows of one second; a 500 µs chance for others before an
# over-bandwidth virtual GPU gets the engine (BAND).
PRIO_MIN, PRIO_MAX, PRIO_DEFAULT = 0, 40, 20
PERIOD_NS = 30_000_000
INACTIVE_THRESHOLD_NS = PERIOD_NS
# The most debt a virtual GPU carries (Gdev forgives a debt past INACTIVE_THRESHOLD_NS).
# On a loaded host one kernel's wall time can stretch to several periods while it holds
# the engine; charging it in full is what keeps the shares, and a debt of four periods
# is still repaid within half a second among four equal competitors.
MAX_DEBT_NS = 4 * PERIOD_NS
UPDATE_INTERVAL_NS = 1_000_000_000
YIELD_CHANCE_NS = 500_000
# Gdev's 500 µs suits a kernel driver's turnaround; a client of the card daemon needs a
# socket hop, a futex wake and its own interpreter to return with its next request
# (milliseconds on a loaded machine), so BAND's chance lasts as long as the others'
# recent turnaround, from YIELD_CHANCE_NS up to this.
MAX_YIELD_CHANCE_NS = PERIOD_NS // 2
# A virtual GPU that has neither waited for nor used the engine for this long is idle: it
# no longer takes part in dividing the engine's bandwidth.
ACTIVE_NS = PERIOD_NS


def check_priority(priority: int) -> int:
    if not isinstance(priority, int) or not PRIO_MIN <= priority <= PRIO_MAX:
        raise ValueError(f"priority {priority!r} outside {PRIO_MIN}..{PRIO_MAX}")
    return priority


@dataclass(eq=False)
class VirtualGpu:
    """One open of a card (a Gdev handle, a driver context, a daemon connection)."""
    id: int
    priority: int = PRIO_DEFAULT
    label: str = ""


@dataclass(eq=False)
class Account:
    """What one engine's scheduler knows of one virtual GPU."""
    vgpu: VirtualGpu
    tick: int                                   # the last period whose replenishment was applied
    window_start_ns: int                        # the current bandwidth-measuring window
    last_active_ns: int
    credit_ns: int = 0
    window_used_ns: int = 0
    bw_used: float = 0.0                        # share of the engine used over the last window
    waiting: deque[Ticket] = field(default_factory=deque)
    running: int = 0
    total_ns: int = 0                           # engine time granted, all told
    runs: int = 0
    last_done_ns: int | None = None             # when its last request finished
    turnaround_ns: int = 0                      # moving average: a finished request to the next one

    @property
    def priority(self) -> int:
        return self.vgpu.priority

    def active(self, now: int) -> bool:
        return bool(self.waiting) or self.running > 0 or now - self.last_active_ns < ACTIVE_NS
