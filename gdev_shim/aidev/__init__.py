"""L1: the card device interface (open/ioctl/mmap) over a kernel or simulated transport."""
from __future__ import annotations

from .device import AidevDevice, AidevError, Channel, device_count, transport
from .transport import Mmio, Transport

__all__ = ["AidevDevice", "AidevError", "Channel", "Mmio", "Transport", "device_count", "transport"]
