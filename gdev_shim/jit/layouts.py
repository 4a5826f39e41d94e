"""Lane-layout checks shared by the accesses through one address register.

A tier that takes a warp's lane addresses from a predicted layout (runs of `run` lanes,
`step` bytes apart: memops._row_access, _pair_access, _fast_check) first checks that
every lane's address, active or not, lies so: a compare of the whole 64-bit address
vector.  `reg + k` lies so exactly when `reg` does (lane addresses are 64-bit, and wrap
alike), so the accesses through one register at different offsets (a stencil's five
reads of its tile at [%r5+4], [%r5+72], ...; its three loads at [%rd2-4], [%rd2],
[%rd2+4]) need the check once while the register keeps its value.  The first access
computes it where it starts, before its tiers branch, in a block that dominates every
later instruction of the same straight-line code; the later ones reuse it.  The code
generator forgets a register's checks when it writes the register, and every check
where a new block of code starts (`KernelCompiler.emit_range`), so a reused check
always describes the register's current value.
"""
from __future__ import annotations

from typing import Any

from llvmlite import ir

from .lanes import I32, I64, undef

RegKey = tuple[str, str]            # (function, register)


def layout_ok(kc: Any, addrs: ir.Value, run: int, step: int) -> ir.Value:
    """i1: every lane's address is its run's first address plus its place in the run
    times `step` (runs of `run` lanes)."""
    b, L, W = kc.b, kc.lanes, kc.W
    first = b.shuffle_vector(addrs, undef(addrs.type),
                             ir.Constant(L.vt(I32), [(i // run) * run for i in range(W)]))
    steps = ir.Constant(L.vt(I64), [ir.Constant(I64, (i % run) * step) for i in range(W)])
    return L.all(b.icmp_unsigned("==", addrs, b.add(first, steps)))


class LayoutChecks:
    """The layout checks computed so far in the current straight-line code, by register."""

    def __init__(self) -> None:
        self._by_reg: dict[RegKey, dict[tuple[int, int], ir.Value]] = {}

    def clear(self) -> None:
        self._by_reg.clear()

    def forget(self, reg: RegKey) -> None:
        self._by_reg.pop(reg, None)

    def check(self, kc: Any, reg: RegKey | None, addrs: ir.Value, run: int, step: int) -> ir.Value:
        """layout_ok of `addrs` (the register `reg` plus a constant; None: something
        else, not remembered), computed here or reused."""
        if reg is None:
            return layout_ok(kc, addrs, run, step)
        known = self._by_reg.setdefault(reg, {})
        got = known.get((run, step))
        if got is None:
            got = known[(run, step)] = layout_ok(kc, addrs, run, step)
        return got


def address_register(item: Any, store: bool) -> RegKey | None:
    """The register an ld/st's [reg+offset] address is based on, if it is one of the
    function's registers (not a symbol or special register)."""
    ins = item.ins
    if ins is None or len(ins.operands) != 2:
        return None
    op = ins.operands[0] if store else ins.operands[1]
    if op[0] != "addr" or op[1] is None or op[1][0] != "reg" or op[1][1] not in item.fn.regs:
        return None
    return (item.fn.name, op[1][1])
