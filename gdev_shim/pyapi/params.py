"""Kernel arguments packed into the parameter buffer the kernel's metadata describes.

Each argument lands at its parameter's offset with its parameter's size:
device memory as its 64-bit address, numpy scalars as their bytes (the size
must match: np.int32 for an int parameter), Python ints in the parameter's
width (two's complement when negative), Python floats as float (4 bytes) or
double (8 bytes), bytes as they are.
"""
from __future__ import annotations

import struct
from typing import Any

import numpy as np

from ..common.image import KernelMeta, ParamMeta

_FLOATS = {2: "<e", 4: "<f", 8: "<d"}


def _address(value: Any) -> int | None:
    from .memory import DeviceMemory
    if isinstance(value, DeviceMemory):
        return value.addr
    return None


def pack_one(kernel: str, index: int, param: ParamMeta, value: Any) -> bytes:
    where = f"{kernel} argument {index}"
    addr = _address(value)
    if addr is not None:
        if param.size != 8:
            raise TypeError(f"{where}: device memory passed for a {param.size}-byte parameter")
        return addr.to_bytes(8, "little")
    if isinstance(value, np.ndarray):
        raise TypeError(f"{where}: a host array cannot be a kernel argument; copy it to the device "
                        f"(device.to_device(array)) and pass the device memory")
    if isinstance(value, np.generic):
        data = value.tobytes()
        if len(data) != param.size:
            raise TypeError(f"{where}: {value.dtype} is {len(data)} bytes, the parameter takes {param.size}")
        return data
    if isinstance(value, (bool, int)):
        try:
            return int(value).to_bytes(param.size, "little", signed=value < 0)
        except OverflowError:
            raise ValueError(f"{where}: {value} does not fit {param.size} bytes") from None
    if isinstance(value, float):
        fmt = _FLOATS.get(param.size)
        if fmt is None:
            raise TypeError(f"{where}: a float for a {param.size}-byte parameter")
        return struct.pack(fmt, value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        if len(data) != param.size:
            raise TypeError(f"{where}: {len(data)} bytes for a {param.size}-byte parameter")
        return data
    raise TypeError(f"{where}: cannot pass {type(value).__name__} as a kernel argument")


def pack(meta: KernelMeta, args: tuple) -> bytes:
    """The parameter buffer of one launch of the kernel `meta` describes."""
    if len(args) != len(meta.params):
        raise TypeError(f"{meta.name} takes {len(meta.params)} arguments, got {len(args)}")
    buf = bytearray(meta.param_size)
    for i, (param, value) in enumerate(zip(meta.params, args)):
        buf[param.offset:param.offset + param.size] = pack_one(meta.name, i, param, value)
    return bytes(buf)
