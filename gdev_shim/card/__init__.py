"""The simulated aicard: what a real card and its kernel driver would do, in process.

Only L1's simulated transport (gdev_shim.aidev.sim) uses this package.
"""
from __future__ import annotations

from .card import Card, vram_base
from .errors import CardError
from .file import CardFile

__all__ = ["Card", "CardError", "CardFile", "vram_base"]
