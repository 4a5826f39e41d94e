"""Fault injection: every engine asks here before it runs a command (GDEV_SIM_FAULT).

The spec is a comma-separated list of faults, each optionally limited to one
card with `@<card>`:

    dma:3            the 3rd DMA command (copy or fill) of the card fails: DMA fault
    compute:2        the 2nd kernel launch of the card fails: compute fault
    compute-hang     kernel launches never finish (compute-hang:2 from the 2nd on)
    fence-lost:4     from the 4th fence on, fence writes are lost (the channel looks hung)
    vram:<bytes>     the card has only this much VRAM to give (K/M/G suffixes)

Counts are per card and start at 1.  The grammar is common/faultspec.py's; the
settings reject a spec that does not parse before any card exists, and a spec
handed to FaultHooks directly that does not parse is logged and ignored.
"""
from __future__ import annotations

import threading

from .. import log
from ..common.faultspec import KINDS as _KINDS, Fault, parse
from ..settings import settings

_log = log.get("gdev.card")
HANG = "hang"           # check(): block the engine until the channel is stopped
LOST = "lost"           # check(): drop the command's effect (a lost fence write)
__all__ = ["Fault", "FaultHooks", "HANG", "LOST", "parse"]


class FaultHooks:
    """One per card.  The default (no GDEV_SIM_FAULT) injects nothing."""

    def __init__(self, card: int = 0, spec: str | None = None) -> None:
        text = settings.sim_fault if spec is None else spec
        try:
            faults, vram = parse(text)
        except ValueError as exc:
            _log.warning("GDEV_SIM_FAULT=%r ignored: %s", text, exc)
            faults, vram = [], {}
        self.faults = [f for f in faults if f.card in (None, card)]
        self.vram_limit: int | None = vram.get(card, vram.get(None))
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def check(self, engine: str, card: int, channel: int, op: int) -> str | None:
        """Reason to fail this command on purpose, HANG, LOST, or None to run it.

        engine is "dma", "compute", "fence" or "cp" (the command processor itself).
        """
        if not self.faults:
            return None
        with self._lock:
            count = self._counts[engine] = self._counts.get(engine, 0) + 1
        for f in self.faults:
            if _KINDS[f.kind] != engine:
                continue
            if f.kind == "compute-hang" and count >= f.nth:
                return HANG
            if f.kind == "fence-lost" and count >= f.nth:
                return LOST
            if f.kind in ("dma", "compute") and count == f.nth:
                return f"{f.kind} error on command {count} of card {card} (GDEV_SIM_FAULT)"
        return None
