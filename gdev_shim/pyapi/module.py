"""Modules (a code object loaded on a card) and their kernels, callable like functions."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..driver import launch as drv_launch, module as drv_module, stream as drv_stream
from .calls import api
from .memory import DeviceMemory
from .params import pack

if TYPE_CHECKING:
    from .device import Device
    from .stream import Stream

Dim = int | tuple[int, ...]


def _dim3(value: Dim, what: str) -> tuple[int, int, int]:
    dims = (value,) if isinstance(value, int) else tuple(value)
    if not 1 <= len(dims) <= 3 or not all(isinstance(d, int) for d in dims):
        raise TypeError(f"{what} must be an int or a tuple of 1 to 3 ints, got {value!r}")
    if min(dims) < 1:
        raise ValueError(f"{what} {value!r} has an empty dimension")
    return (dims + (1, 1))[:3]  # type: ignore[return-value]


def code_object(source: str | Path | bytes) -> bytes:
    """Bytes the card loads: a .cu file (compiled by nvcc, cached), a .ptx or code object
    file, PTX text, or code-object bytes."""
    if isinstance(source, (bytes, bytearray)):
        return bytes(source)
    if isinstance(source, str) and (".entry" in source or ".version" in source):
        return source.encode()                      # PTX text
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such module source")
    if path.suffix == ".cu":
        from ..tools.nvcc import compile_ptx
        return compile_ptx([path])[path].encode()
    return path.read_bytes()


class Kernel:
    """A kernel of a loaded module: kern(*args, grid=..., block=..., shared=0, stream=None),
    or SDAA array style kern(*args, arrays=n) (n blocks of the card's SPE count)."""

    def __init__(self, module: "Module", function: drv_module.Function) -> None:
        self.module = module
        self.function = function
        self.name = function.name

    def __repr__(self) -> str:
        return f"<Kernel {self.name} ({len(self.function.meta.params)} parameters)>"

    @property
    def param_sizes(self) -> list[int]:
        return [p.size for p in self.function.meta.params]

    @api
    def __call__(self, *args: Any, grid: Dim = 1, block: Dim = 1, shared: int = 0,
                 stream: "Stream | None" = None, arrays: int | None = None) -> None:
        params = pack(self.function.meta, args)
        if arrays is not None:
            g, b = drv_launch.array_shape(self.function, arrays)
        else:
            g, b = _dim3(grid, "grid"), _dim3(block, "block")
        if shared < 0:
            raise ValueError(f"shared memory of {shared} bytes")
        drv_stream.launch(None if stream is None else stream._live(), self.function, g, b, shared, params)


class Module:
    """A code object on one card.  As a context manager it is unloaded at the end."""

    def __init__(self, device: "Device", source: str | Path | bytes) -> None:
        self.device = device
        data = code_object(source)
        self.handle = device._driver(lambda: drv_module.Module(device.context, data))
        self._kernels: dict[str, Kernel] = {}

    @property
    def kernel_names(self) -> list[str]:
        return [k.name for k in self.handle.image.kernels]

    def get_kernel(self, name: str) -> Kernel:
        kernel = self._kernels.get(name)
        if kernel is None:
            kernel = self._kernels[name] = Kernel(self, self.device._driver(lambda: self.handle.function(name)))
        return kernel

    def __getitem__(self, name: str) -> Kernel:
        return self.get_kernel(name)

    def __getattr__(self, name: str) -> Kernel:
        if name.startswith("_") or name not in self.kernel_names:
            raise AttributeError(name)
        return self.get_kernel(name)

    def global_memory(self, name: str) -> DeviceMemory:
        """A module-scope variable (__device__ / __constant__) as device memory (not owned)."""
        addr, size = self.device._driver(lambda: self.handle.global_var(name))
        return DeviceMemory(self.device, addr, size, owned=False)

    @api
    def unload(self) -> None:
        if self.handle in self.device.context.modules:
            self.handle.release()

    def __enter__(self) -> "Module":
        return self

    def __exit__(self, *exc: object) -> None:
        self.unload()
