"""The fat-binary registry: images registered by __sdaaRegisterFatBinary.

The caller owns the image memory until it unregisters, so registration keeps
only its address; the image is read (its size comes from its header) when a
card first needs the module.
"""
from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field

from ..driver.errors import SdError
from ..driver.module import Function, Module, image_bytes_at
from ..log import get
from . import devices
from .errors import RT, SdaaError, from_driver

log = get("gdev.runtime")


@dataclass
class FatBinary:
    handle: int
    image_addr: int
    functions: set[str] = field(default_factory=set)
    modules: dict[int, Module] = field(default_factory=dict)   # per card

    def module(self, device: int) -> Module:
        mod = self.modules.get(device)
        if mod is None or not mod.ctx.alive:
            ctx = devices.context(device)
            try:
                mod = self.modules[device] = Module(ctx, image_bytes_at(self.image_addr))
            except SdError as e:
                raise from_driver(e) from None
        return mod


_lock = threading.Lock()
_binaries: dict[int, FatBinary] = {}
_ids = itertools.count(1)


def register(image_addr: int) -> FatBinary:
    if image_addr == 0:
        raise SdaaError(RT.sdaaErrorInvalidValue, "fat binary without an image pointer")
    with _lock:
        fb = FatBinary(next(_ids), image_addr)
        _binaries[fb.handle] = fb
    log.debug("register_fat_binary: image=0x%x handle=%d", image_addr, fb.handle)
    return fb


def unregister(handle: int) -> None:
    with _lock:
        fb = _binaries.pop(handle, None)
    if fb is None:
        raise SdaaError(RT.sdaaErrorInvalidResourceHandle, f"fat binary handle {handle} unknown")
    for mod in fb.modules.values():
        if mod.ctx.alive:
            mod.release()
    log.debug("unregister_fat_binary: handle=%d", handle)


def register_function(handle: int, name: str) -> None:
    with _lock:
        fb = _binaries.get(handle)
    if fb is None:
        raise SdaaError(RT.sdaaErrorInvalidResourceHandle, f"fat binary handle {handle} unknown")
    fb.functions.add(name)
    log.debug("register_function: handle=%d name=%s", handle, name)


def _load_registered(device: int) -> None:
    """A new primary context loads every registered image, as CUDA's eager module loading
    does, so the card compiles their kernels while the program sets up its data."""
    with _lock:
        binaries = list(_binaries.values())
    for fb in binaries:
        try:
            fb.module(device)
        except SdaaError as e:              # the first launch of one of its kernels reports it
            log.debug("register_fat_binary: image=0x%x not loaded on card %d: %s",
                      fb.image_addr, device, e)


devices.on_primary_context(_load_registered)


def function(name: str, device: int) -> Function:
    """The registered kernel `name`, loaded on `device`."""
    with _lock:
        candidates = [fb for fb in _binaries.values() if name in fb.functions]
    if not candidates:
        raise SdaaError(RT.sdaaErrorInvalidDeviceFunction, f"no registered kernel named {name!r}")
    try:
        return candidates[-1].module(device).function(name)
    except SdError as e:
        raise from_driver(e) from None
