"""The GDEV_SIM_FAULT grammar: which faults the simulated cards inject.

A leaf module, so that the settings can reject a bad value before any card exists
and the cards (card/faults.py) act on the same reading of it.
"""
from __future__ import annotations

from dataclasses import dataclass

from .units import parse_size

# fault name -> the engine whose commands it counts
KINDS = {"dma": "dma", "compute": "compute", "compute-hang": "compute", "fence-lost": "fence"}
GRAMMAR = ("a comma-separated list of dma:N, compute:N, compute-hang[:N], fence-lost[:N] or "
           "vram:<bytes>, each optionally @<card>")


@dataclass
class Fault:
    kind: str                 # dma, compute, compute-hang, fence-lost
    nth: int
    card: int | None


def parse(spec: str) -> tuple[list[Fault], dict[int | None, int]]:
    """(faults, VRAM limits by card) of a GDEV_SIM_FAULT value; ValueError if it does not parse."""
    faults: list[Fault] = []
    vram: dict[int | None, int] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        body, _, card_text = item.partition("@")
        card = int(card_text) if card_text else None
        name, _, arg = body.partition(":")
        if name == "vram":
            vram[card] = parse_size(arg)
        elif name in KINDS:
            nth = int(arg) if arg else 1
            if nth < 1:
                raise ValueError(f"{item}: counts start at 1")
            faults.append(Fault(name, nth, card))
        else:
            raise ValueError(f"unknown fault {name!r}")
    return faults, vram
