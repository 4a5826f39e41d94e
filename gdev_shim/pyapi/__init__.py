"""The Python API: the same stack as the C libraries, in Python terms.

    import numpy as np, gdev_shim
    dev = gdev_shim.Device(0)
    mod = dev.load_module("vector_add.cu")          # nvcc -> PTX (cached) -> code object
    a = dev.to_device(np.arange(n, dtype=np.int32))
    out = dev.malloc(a.size)
    mod.vector_add(a, a, out, np.int32(n), grid=(4,), block=(32,))
    result = out.to_numpy(np.int32)                # back as a numpy array

Built on gdev_shim.driver and gdev_shim.runtime (a device's context is the
runtime's primary context).  See docs/python-api.md.
"""
from __future__ import annotations

from .device import Device, device_count, devices
from .errors import DeviceError
from .memory import DeviceMemory
from .module import Kernel, Module
from .stream import Event, Stream

__all__ = ["Device", "DeviceError", "DeviceMemory", "Event", "Kernel", "Module", "Stream",
           "device_count", "devices"]
