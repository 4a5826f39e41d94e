"""Gdev's virtual-GPU schedulers on the card: every open of a card is a virtual GPU, and
the card's time is shared among them by a policy (FIFO, CREDIT or BAND), separately for
the compute engine and the copy (DMA) engine.

    account.py   Gdev's constants, a virtual GPU and its ledger on one engine
    policy.py    what a policy decides, and the bandwidth a priority is worth
    fifo.py, credit.py, band.py   the three policies
    queue.py     the engine's queue: deterministic, time passed in (unit-testable)
    arbiter.py   the queue behind a lock, for the command processors' threads
"""
from __future__ import annotations

from .account import (PERIOD_NS, PRIO_DEFAULT, PRIO_MAX, PRIO_MIN, UPDATE_INTERVAL_NS, YIELD_CHANCE_NS,
                      Account, VirtualGpu)
from .arbiter import CardScheduler, EngineAbandoned, EngineArbiter
from .band import Band
from .credit import Credit
from .fifo import Fifo
from .policy import Hold, Policy
from .queue import EngineQueue, Ticket

POLICIES: dict[str, type[Policy]] = {"fifo": Fifo, "credit": Credit, "band": Band}
DEFAULT_POLICY = "band"          # Gdev's default


def make_policy(name: str) -> Policy:
    """A fresh policy object by name (ValueError for a name that is none of POLICIES)."""
    try:
        return POLICIES[name]()
    except KeyError:
        raise ValueError(f"unknown scheduling policy {name!r}: choose one of {', '.join(POLICIES)}") from None


__all__ = ["Account", "Band", "CardScheduler", "Credit", "DEFAULT_POLICY", "EngineAbandoned", "EngineArbiter",
           "EngineQueue", "Fifo", "Hold", "PERIOD_NS", "POLICIES", "PRIO_DEFAULT", "PRIO_MAX", "PRIO_MIN", "Policy",
           "Ticket", "UPDATE_INTERVAL_NS", "VirtualGpu", "YIELD_CHANCE_NS", "make_policy"]
