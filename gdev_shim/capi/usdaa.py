"""The embedding entry of libusdaa.so: binds the driver and runtime exports."""
from __future__ import annotations

from . import driver_exports, runtime_exports
from .boundary import install


def bind(module_ffi) -> int:
    driver_exports.ffi = module_ffi
    runtime_exports.ffi = module_ffi
    return install("usdaa", module_ffi)
