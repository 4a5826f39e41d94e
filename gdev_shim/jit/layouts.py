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

Beyond straight-line code: where a warp's lanes never part (`KernelCompiler.routes`), a
register with one definition, which accesses through it will check, is checked where it
is defined (`define`), and the accesses whose code that definition dominates reuse it: a
stencil's halo loads at [%rd2-4] and [%rd2+4], each behind a branch of its own, reuse
the check its tile load made before them.  Dominance is the generated code's: over the
program counters with one entry for each place the warp's code is entered at (its start,
the dispatcher's targets, the resume points), and a region the code generator runs under
lane masks (ifconvert.py) counting as its branch going straight to its end, since its
instructions' own blocks are not on that way.  Nothing writes the register on a path
from its definition to such an access (it has one definition, and every other way a
register gets a value, a resume or the dispatcher, is an entry), so the check still
describes it.
"""
from __future__ import annotations

from typing import Any

from llvmlite import ir

from ..ptx.form import form_of
from . import ifconvert
from .lanes import I32, I64, undef
from .liveness import resume_points
from .regclass import dominators, successors

RegKey = tuple[str, str]            # (function, register)
Lined = tuple[int, int]             # (run, step): the layout an access predicts


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
        # checks made where their register is defined: (check, its pc) by (register, layout)
        self._at_def: dict[tuple[RegKey, Lined], tuple[ir.Value, int]] = {}
        self._wants: dict[RegKey, set[Lined]] = {}
        self._defs: dict[RegKey, int] = {}
        self._dom: list[int] = []

    def plan(self, kc: Any, wants: dict[RegKey, set[Lined]], writes: dict[int, Any]) -> None:
        """Check `wants` (the layouts each register's accesses predict) where their
        registers are defined, for the registers defined once (`writes`: the names each
        pc writes); only where the warp's lanes never part."""
        if kc.routes is None or not wants:
            return
        flat = kc.flat
        count: dict[RegKey, list[int]] = {}
        for pc, names in writes.items():
            for name in names:
                count.setdefault((flat.code[pc].fn.name, name), []).append(pc)
        self._defs = {reg: pcs[0] for reg, pcs in count.items() if len(pcs) == 1 and reg in wants}
        self._wants = {reg: wants[reg] for reg in self._defs}
        if self._defs:
            self._dom = entry_dominators(kc, {0, *kc.routes, *resume_points(flat)})

    def clear(self) -> None:
        self._by_reg.clear()

    def forget(self, reg: RegKey) -> None:
        self._by_reg.pop(reg, None)

    def define(self, kc: Any, reg: RegKey, pc: int, item: Any) -> None:
        """The register `reg` was just written at `pc`: if that is its one definition, in
        the code of its own program counter (not a region's copy, not a resume's), check
        the layouts its accesses predict here."""
        if self._defs.get(reg) != pc or kc.host is not None or kc.in_remat:
            return
        addrs = kc.read(("reg", reg[1]), "u64", item)
        known = self._by_reg.setdefault(reg, {})
        for run, step in sorted(self._wants[reg]):
            got = known[(run, step)] = layout_ok(kc, addrs, run, step)
            self._at_def[(reg, (run, step))] = (got, pc)

    def check(self, kc: Any, reg: RegKey | None, addrs: ir.Value, run: int, step: int) -> ir.Value:
        """layout_ok of `addrs` (the register `reg` plus a constant; None: something
        else, not remembered), computed here or reused."""
        if reg is None:
            return layout_ok(kc, addrs, run, step)
        known = self._by_reg.setdefault(reg, {})
        got = known.get((run, step))
        if got is None:
            got = self._dominating(kc, reg, (run, step))
            if got is None:
                got = layout_ok(kc, addrs, run, step)
            known[(run, step)] = got
        return got

    def _dominating(self, kc: Any, reg: RegKey, lined: Lined) -> ir.Value | None:
        """The check made at the register's definition, if that dominates the code being
        generated (a region's: its branch's)."""
        made = self._at_def.get((reg, lined))
        if made is None:
            return None
        value, pc = made
        here = kc.host if kc.host is not None else kc.pc
        return value if here != pc and self._dom[here] >> pc & 1 else None


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


def entry_dominators(kc: Any, entries: set[int]) -> list[int]:
    """Each pc's dominators (bit sets) in the generated code's flow: every one of
    `entries` is entered from outside, and a guarded branch the code generator turns into
    a masked region (ifconvert.region_end) goes to its target or past its region's end."""
    flat = kc.flat
    n = len(flat.code)
    succ: list[list[int]] = [[e + 1 for e in sorted(entries) if e < n]]   # node 0: outside
    for pc in range(n):
        nxt = [s for s in successors(flat, pc) if s < n]
        item = flat.code[pc]
        ins = item.ins if item.kind == "ins" else None
        if (ins is not None and ins.guard is not None and form_of(ins).base == "bra"
                and len(nxt) == 2 and nxt[1] == pc + 1):
            end = ifconvert.region_end(kc, pc, nxt[0])
            if end is not None:
                nxt = [nxt[0]] + ([end] if end < n else [])
        succ.append([s + 1 for s in nxt])
    dom = dominators(succ)
    return [d >> 1 for d in dom[1:]]
