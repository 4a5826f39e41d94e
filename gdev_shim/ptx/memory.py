"""The device-memory protocol the interpreter runs against, and its address windows.

Global/const memory belongs to the card and is reached through `DeviceMemory`;
shared and local memory belong to the interpreter and are seen through
generic-address windows below the device range.
"""
from __future__ import annotations

from typing import Protocol

import numpy as np

DEVICE_BASE = 0x0010_0000_0000_0000    # device (global) addresses start here
SHARED_WINDOW = 0x0008_0000_0000_0000  # generic address of shared offset 0
LOCAL_WINDOW = 0x0009_0000_0000_0000   # generic address of local offset 0
PARAM_WINDOW = 0x000A_0000_0000_0000   # generic address of kernel parameter byte 0
WINDOW_SHIFT = 48                      # (addr >> 48) tells the windows apart
SHARED_TAG = SHARED_WINDOW >> WINDOW_SHIFT
LOCAL_TAG = LOCAL_WINDOW >> WINDOW_SHIFT
PARAM_TAG = PARAM_WINDOW >> WINDOW_SHIFT


class MemoryFault(Exception):
    """An access outside any allocation or misaligned; raised for the first bad lane."""

    def __init__(self, address: int, reason: str) -> None:
        self.address = int(address)
        self.reason = reason
        super().__init__(f"{reason} at {self.address:#x}")


class DeviceMemory(Protocol):
    def load(self, addrs: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """Values of `dtype` at each uint64 address; MemoryFault on a bad lane."""
        ...

    def store(self, addrs: np.ndarray, values: np.ndarray) -> None:
        """Write values (their dtype gives the width); MemoryFault on a bad lane."""
        ...
