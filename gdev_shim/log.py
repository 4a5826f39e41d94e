"""Diagnostics through `logging`, switched on by GDEV_LOG.

GDEV_LOG=debug shows the path every call takes through the layers, GDEV_LOG=info
only notable events; unset, only errors a user must see (bad input, faults) are
logged, as `warning`, and nothing else is printed.
"""
from __future__ import annotations

import logging
import sys

from .settings import settings

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "api": logging.INFO,
           "warning": logging.WARNING, "error": logging.ERROR, "off": logging.CRITICAL + 1}

root = logging.getLogger("gdev")


def configure(level_name: str | None = None) -> None:
    name = (level_name if level_name is not None else settings.log).strip().lower()
    root.setLevel(_LEVELS.get(name, logging.WARNING))
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("[%(levelname)s] %(name)s: %(message)s"))
        root.addHandler(handler)
    root.propagate = False


def get(name: str) -> logging.Logger:
    """Logger for one module, e.g. get("gdev.api")."""
    return logging.getLogger(name if name.startswith("gdev") else f"gdev.{name}")


configure()
