"""The fat-binary registry: images registered by __sdaaRegisterFatBinary (and
CUDA's __cudaRegisterFatBinary), their kernels and their module variables.

The caller owns the image memory until it unregisters, so registration keeps
only its address; the image is read (its size comes from its header) when a
card first needs the module.  A CUDA fat binary is read at registration
instead: its PTX is chosen and unpacked then, so a program without PTX hears
why at its first call rather than at its first launch.

CUDA names kernels and variables by host addresses (the launch stub, the
variable's host shadow); those are kept here beside the names.
"""
from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field

from ..common import nvfatbin
from ..common.assertfail import with_assertfail
from ..driver.context import Context
from ..driver.errors import SdError
from ..gdev import hostmem
from ..driver.module import Function, Module, image_bytes_at
from ..log import get
from . import asserts, devices
from .errors import RT, SdaaError, from_driver

log = get("gdev.runtime")


@dataclass(frozen=True)
class Variable:
    name: str
    size: int


@dataclass
class FatBinary:
    handle: int
    image_addr: int
    ptx: list[nvfatbin.Entry] | None = None   # a CUDA fat binary's PTX entries, read at registration
    functions: set[str] = field(default_factory=set)
    modules: dict[int, Module] = field(default_factory=dict)   # per card

    def module(self, device: int) -> Module:
        mod = self.modules.get(device)
        if mod is None or not mod.ctx.alive:
            ctx = devices.context(device)
            try:
                mod = self.modules[device] = Module(ctx, self._code(ctx))
            except SdError as e:
                raise from_driver(e) from None
        return mod

    def _code(self, ctx: Context) -> bytes:
        if self.ptx is None:
            return image_bytes_at(self.image_addr)
        # the highest PTX the card's compute capability covers, as a CUDA driver picks
        entry = nvfatbin.best_ptx(self.ptx, ctx.info["compute_major"] * 10 + ctx.info["compute_minor"])
        try:
            text = entry.text()
            if "__assertfail" in text:
                text = with_assertfail(text, asserts.report_address(ctx))
            return text.encode()
        except nvfatbin.FatbinError as e:
            raise SdaaError(RT.sdaaErrorInvalidKernelImage, str(e)) from None


_lock = threading.Lock()
_binaries: dict[int, FatBinary] = {}
_ids = itertools.count(1)
_by_host: dict[int, tuple[int, str]] = {}          # launch stub -> (fat binary, kernel name)
_variables: dict[int, tuple[int, Variable]] = {}   # host shadow -> (fat binary, variable)


def register(image_addr: int, ptx: list[nvfatbin.Entry] | None = None) -> FatBinary:
    if image_addr == 0:
        raise SdaaError(RT.sdaaErrorInvalidValue, "fat binary without an image pointer")
    with _lock:
        fb = FatBinary(next(_ids), image_addr, ptx)
        _binaries[fb.handle] = fb
    log.debug("register_fat_binary: image=0x%x handle=%d", image_addr, fb.handle)
    return fb


def unregister(handle: int) -> None:
    with _lock:
        fb = _binaries.pop(handle, None)
        for table in (_by_host, _variables):
            for key in [k for k, (h, _) in table.items() if h == handle]:
                del table[key]
    if fb is None:
        raise SdaaError(RT.sdaaErrorInvalidResourceHandle, f"fat binary handle {handle} unknown")
    for mod in fb.modules.values():
        if mod.ctx.alive:
            mod.release()
    log.debug("unregister_fat_binary: handle=%d", handle)


def read_cuda_fatbin(wrapper_addr: int) -> tuple[int, list[nvfatbin.Entry]]:
    """The container address and PTX entries of the fat binary nvcc's wrapper points at."""
    try:
        wrapper = hostmem.read_checked(wrapper_addr, nvfatbin.WRAPPER.size)
        if wrapper is None:
            raise nvfatbin.FatbinError(f"no readable fat binary wrapper at 0x{wrapper_addr:x}")
        data = nvfatbin.wrapper_data(wrapper)
        head = hostmem.read_checked(data, nvfatbin.CONTAINER.size)
        if head is None:
            raise nvfatbin.FatbinError(f"no readable fat binary at 0x{data:x}")
        container = hostmem.read_checked(data, nvfatbin.container_size(head))
        if container is None:
            raise nvfatbin.FatbinError(f"the fat binary at 0x{data:x} runs into unreadable memory")
        found = nvfatbin.entries(container)
        nvfatbin.best_ptx(found, 0, nvfatbin.wrapper_linked(wrapper))    # no PTX at all: say so now
    except nvfatbin.NoPtxError as e:
        raise SdaaError(RT.sdaaErrorNoKernelImageForDevice, str(e)) from None
    except nvfatbin.FatbinError as e:
        raise SdaaError(RT.sdaaErrorInvalidKernelImage, str(e)) from None
    return data, [e for e in found if e.kind == nvfatbin.KIND_PTX]


def _binary(handle: int) -> FatBinary:
    with _lock:
        fb = _binaries.get(handle)
    if fb is None:
        raise SdaaError(RT.sdaaErrorInvalidResourceHandle, f"fat binary handle {handle} unknown")
    return fb


def register_function(handle: int, name: str, host_fun: int = 0) -> None:
    """Kernel `name` of the fat binary; `host_fun` is the host address CUDA launches it by."""
    _binary(handle).functions.add(name)
    if host_fun:
        with _lock:
            _by_host[host_fun] = (handle, name)
    log.debug("register_function: handle=%d name=%s host=0x%x", handle, name, host_fun)


def register_variable(handle: int, host_addr: int, name: str, size: int) -> None:
    """Module variable `name` (`__device__`, `__constant__`), known by its host shadow's address."""
    _binary(handle)
    if host_addr == 0:
        raise SdaaError(RT.sdaaErrorInvalidSymbol, f"variable {name!r} without a host address")
    with _lock:
        _variables[host_addr] = (handle, Variable(name, size))
    log.debug("register_variable: handle=%d name=%s size=%d host=0x%x", handle, name, size, host_addr)


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


def _registered(host_fun: int) -> tuple[int, str]:
    entry = _by_host.get(host_fun)
    if entry is None:
        raise SdaaError(RT.sdaaErrorInvalidDeviceFunction, f"0x{host_fun:x} is not a registered kernel")
    return entry


def kernel_name(host_fun: int) -> str:
    """The kernel a launch stub stands for (cudaErrorInvalidDeviceFunction's case if none)."""
    return _registered(host_fun)[1]


def function_at(host_fun: int, device: int) -> Function:
    """The kernel registered for the launch stub at `host_fun`, loaded on `device`."""
    handle, name = _registered(host_fun)
    try:
        return _binary(handle).module(device).function(name)
    except SdError as e:
        raise from_driver(e) from None


def symbol(host_addr: int, device: int) -> tuple[int, int]:
    """(device address, size) of the variable whose host shadow is at `host_addr`."""
    entry = _variables.get(host_addr)
    if entry is None:
        raise SdaaError(RT.sdaaErrorInvalidSymbol, f"0x{host_addr:x} is not a registered device variable")
    handle, var = entry
    try:
        addr, size = _binary(handle).module(device).global_var(var.name)
    except SdError as e:
        raise SdaaError(RT.sdaaErrorInvalidSymbol, f"variable {var.name!r}: {e}") from None
    return addr, size


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
