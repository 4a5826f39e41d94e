"""Devices: the cards, each used through its primary context (shared with the runtime API)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, TypeVar

import numpy as np

from ..driver import device as drv_device, memory as drv_mem
from ..driver.context import Context
from ..runtime import devices as rt_devices
from .calls import _run, api
from .memory import DeviceMemory
from .module import Module
from .stream import Event, Stream

T = TypeVar("T")


def device_count() -> int:
    """Number of cards (0 when there are none)."""
    return int(_run(rt_devices.count, (), {}))


def devices() -> list["Device"]:
    return [Device(i) for i in range(device_count())]


class Device:
    """Card `index`: memory, modules, streams and events on it."""

    def __init__(self, index: int = 0) -> None:
        if not isinstance(index, int):
            raise TypeError(f"device index must be an int, got {type(index).__name__}")
        count = device_count()
        if not 0 <= index < count:
            raise ValueError(f"no card {index} (there are {count})")
        self.index = index

    def __repr__(self) -> str:
        return f"<Device {self.index}: {self.name}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Device) and other.index == self.index

    def __hash__(self) -> int:
        return hash(self.index)

    def _driver(self, fn: Callable[[], T]) -> T:
        """Run a driver call, its failures as DeviceError."""
        return _run(fn, (), {})

    @property
    def context(self) -> Context:
        """The card's primary context (created on first use)."""
        return self._driver(lambda: rt_devices.context(self.index))

    @property
    def info(self) -> dict[str, Any]:
        """The card's own description (struct aidev_device_info as a dict)."""
        return self._driver(lambda: drv_device.info(self.index))

    @property
    def name(self) -> str:
        return str(self.info["name"])

    @property
    def total_memory(self) -> int:
        return int(self.info["vram_size"])

    def attribute(self, attr: int) -> int:
        """An SD_DEVICE_ATTRIBUTE_* value."""
        return self._driver(lambda: drv_device.attribute(self.index, attr))

    @api
    def mem_info(self) -> tuple[int, int]:
        """(free, total) bytes of device memory."""
        return drv_device.free_memory(self.index)

    @api
    def malloc(self, nbytes: int) -> DeviceMemory:
        if not isinstance(nbytes, int) or nbytes <= 0:
            raise ValueError(f"allocation of {nbytes!r} bytes")
        return DeviceMemory(self, drv_mem.alloc(self.context, nbytes), nbytes)

    def to_device(self, array: Any) -> DeviceMemory:
        """New device memory holding a copy of `array`."""
        host = np.ascontiguousarray(array)
        mem = self.malloc(max(host.nbytes, 1))
        mem.copy_from(host)
        return mem

    def load_module(self, source: str | Path | bytes) -> Module:
        """A .cu / .ptx / code-object file, PTX text or code-object bytes, loaded on this card."""
        return Module(self, source)

    def stream(self, non_blocking: bool = False) -> Stream:
        return Stream(self, non_blocking)

    def event(self, timing: bool = True) -> Event:
        return Event(self, timing)

    @api
    def synchronize(self) -> None:
        """Wait for all work of every stream on this card."""
        self.context.synchronize()
