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
    # Address-valued initialiser elements: (byte offset in the variable, symbol, addend, width).
    relocs: list[tuple[int, str, int, int]] = field(default_factory=list)


@dataclass
class GlobalLayout:
    offsets: dict[str, int]
    size: int
    init: bytes          # initial bytes of the whole block, zeros where uninitialised
    # Pointers into the block itself: (byte offset, target offset in the block, width);
    # `image(base)` fills them in for a block placed at device address `base`.
    relocs: list[tuple[int, int, int]] = field(default_factory=list)

    def image(self, base: int) -> bytes:
        """The initial bytes with every address-valued initialiser resolved for `base`."""
        blob = bytearray(self.init)
        for off, target, width in self.relocs:
            value = (base + target) & ((1 << (8 * width)) - 1)
            blob[off:off + width] = value.to_bytes(width, "little")
        return bytes(blob)


@dataclass
class Kernel:
    name: str
    params: list[Param]
    param_size: int
    shared_size: int     # static .shared bytes (module scope, kernel and callees)
    local_size: int      # static .local bytes per thread (kernel and callees)
    max_threads: int     # product of .maxntid, 0 if absent


FUNC_WINDOW = 0x000C_0000_0000_0000   # function "addresses" (indirect calls, vtables)
FUNC_STRIDE = 16


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
    _relocated: set[tuple[int, int]] = field(default_factory=set, repr=False)  # (memory, block) patched

    def function_address(self, name: str) -> int:
        """The value a function's name has as an operand (indirect call target)."""
        for i, fname in enumerate(self.functions):
            if fname == name:
                return FUNC_WINDOW + FUNC_STRIDE * i
        raise KeyError(name)

    def function_at(self, address: int) -> str | None:
        """The function whose address is `address`, or None."""
        i, rem = divmod(address - FUNC_WINDOW, FUNC_STRIDE)
        if rem or not 0 <= i < len(self.functions):
            return None
        return list(self.functions)[i]

    def global_layout(self) -> GlobalLayout:
        """Pack every module-scope .global/.const variable, in declaration order.

        Initialisers naming functions get the function's address; those naming a
        variable become relocations (`GlobalLayout.relocs`, resolved by `image`).
        """
        if self._layout is None:
            offsets: dict[str, int] = {}
            end = 0
            for var in self.globals.values():
                off = align_up(end, max(var.align, 1))
                offsets[var.name] = off
                end = off + var.size
            blob = bytearray(end)
            relocs: list[tuple[int, int, int]] = []
            for var in self.globals.values():
                base = offsets[var.name]
                if var.init:
                    blob[base:base + len(var.init)] = var.init
                for off, sym, addend, width in var.relocs:
                    if sym in offsets:
                        relocs.append((base + off, offsets[sym] + addend, width))
                        continue
                    try:
                        value = self.function_address(sym) + addend
                    except KeyError:
                        from .errors import PtxError
                        raise PtxError(f"initialiser of {var.name} names unknown symbol {sym}") from None
                    blob[base + off:base + off + width] = \
                        (value & ((1 << (8 * width)) - 1)).to_bytes(width, "little")
            self._layout = GlobalLayout(offsets, end, bytes(blob), relocs)
        return self._layout
