"""The decoded shape of a PTX module: kernels, parameters, module-scope variables."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Param:
    name: str
    size: int
    align: int
    offset: int          # byte offset in the packed parameter buffer (CUDA ABI)


@dataclass
class GlobalVar:
    name: str
    space: str           # 'global' | 'const'
    size: int
    align: int
    init: bytes | None


@dataclass
class GlobalLayout:
    offsets: dict[str, int]
    size: int
    init: bytes          # initial bytes of the whole block, zeros where uninitialised


@dataclass
class Kernel:
    name: str
    params: list[Param]
    param_size: int
    shared_size: int     # static .shared bytes (module scope, kernel and callees)
    local_size: int      # static .local bytes per thread (kernel and callees)
    max_threads: int     # product of .maxntid, 0 if absent


def align_up(value: int, align: int) -> int:
    return (value + align - 1) // align * align


@dataclass
class Module:
    kernels: dict[str, Kernel]
    globals: dict[str, GlobalVar]
    # Parsed functions and module-scope shared variables, used by the interpreter.
    functions: dict[str, Any] = field(default_factory=dict, repr=False)
    shared_vars: list[Any] = field(default_factory=list, repr=False)
    _layout: GlobalLayout | None = field(default=None, repr=False)
    _programs: dict[str, Any] = field(default_factory=dict, repr=False)

    def global_layout(self) -> GlobalLayout:
        """Pack every module-scope .global/.const variable, in declaration order."""
        if self._layout is None:
            offsets: dict[str, int] = {}
            end = 0
            for var in self.globals.values():
                off = align_up(end, max(var.align, 1))
                offsets[var.name] = off
                end = off + var.size
            blob = bytearray(end)
            for var in self.globals.values():
                if var.init:
                    blob[offsets[var.name]:offsets[var.name] + len(var.init)] = var.init
            self._layout = GlobalLayout(offsets, end, bytes(blob))
        return self._layout
