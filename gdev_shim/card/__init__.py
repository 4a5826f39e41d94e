"""The simulated aicard: what a real card and its kernel driver would do, in process.

Only L1's simulated transport (gdev_shim.aidev.sim) uses this package.  Its names are
imported on first use, so that the transport can start the compiler's warm-up
(`warmup.py`) when it is made, before a card (and numpy) is needed.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .card import Card, vram_base
    from .errors import CardError
    from .file import CardFile

__all__ = ["Card", "CardError", "CardFile", "vram_base"]


def __getattr__(name: str) -> Any:
    if name in ("Card", "vram_base"):
        from . import card
        return getattr(card, name)
    if name == "CardError":
        from .errors import CardError
        return CardError
    if name == "CardFile":
        from .file import CardFile
        return CardFile
    raise AttributeError(f"module 'gdev_shim.card' has no attribute {name!r}")
