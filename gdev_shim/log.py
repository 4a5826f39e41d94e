"""Diagnostics through `logging`, switched on by GDEV_LOG.

GDEV_LOG=debug shows the path every call takes through the layers, GDEV_LOG=info
only notable events; unset, only errors a user must see (bad input, faults) are
logged, as `warning`, and nothing else is printed.  GDEV_LOG=api prints one line
per C API call (logger "gdev.calls"); it combines with a level: GDEV_LOG=api,debug.
"""
from __future__ import annotations

import logging
import sys

from .settings import SettingsError, settings

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO,
           "warning": logging.WARNING, "error": logging.ERROR, "off": logging.CRITICAL + 1}
API_CALLS = "gdev.calls"

root = logging.getLogger("gdev")


def _setting() -> str:
    """GDEV_LOG; a value it does not accept logs as if unset, and the first API call says why."""
    try:
        return str(settings.log)
    except SettingsError:
        return ""


def configure(level_name: str | None = None) -> None:
    words = [w.strip() for w in (level_name if level_name is not None else _setting()).lower().split(",")]
    levels = [_LEVELS[w] for w in words if w in _LEVELS]
    root.setLevel(min(levels) if levels else logging.WARNING)
    # the call log is its own switch: its lines show whatever the level of the rest
    logging.getLogger(API_CALLS).setLevel(logging.INFO if "api" in words else logging.CRITICAL + 1)
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("[%(levelname)s] %(name)s: %(message)s"))
        root.addHandler(handler)
    root.propagate = False


def api_calls_enabled() -> bool:
    """GDEV_LOG asks for one line per API call."""
    return logging.getLogger(API_CALLS).isEnabledFor(logging.INFO)


def get(name: str) -> logging.Logger:
    """Logger for one module, e.g. get("gdev.api")."""
    return logging.getLogger(name if name.startswith("gdev") else f"gdev.{name}")


configure()
