"""gdev-shim: the Gdev GPU runtime stack for the SDAA aidev accelerator.

`import gdev_shim` is cheap (the C libraries import it on load); the Python
API (gdev_shim.Device, ...) is imported on first use of one of its names.
"""
from __future__ import annotations

from typing import Any

_PYAPI = ("Device", "DeviceError", "DeviceMemory", "Event", "Kernel", "Module", "Stream",
          "device_count", "devices")

__all__ = list(_PYAPI)


def __getattr__(name: str) -> Any:
    if name in _PYAPI:
        from . import pyapi
        return getattr(pyapi, name)
    raise AttributeError(f"module 'gdev_shim' has no attribute {name!r}")
