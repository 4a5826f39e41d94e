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
describes it.  The definition of a register that global accesses go through also looks up
the page-table entry of each run's first address there (`pages`), which those accesses'
row tiers use rather than two lookups per run of their own: the table does not change
during a launch, so an entry holds for any address of its page.
"""
from __future__ import annotations

from typing import Any, Callable

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
        # the page-table entries of a register's runs, looked up where it is defined: by
        # (register, run), (each run's (page, delta, backed), its pc)
        self._pages: dict[tuple[RegKey, int], tuple[list[tuple], int]] = {}
        self._paged: set[RegKey] = set()
        self._entry: Callable[[Any, ir.Value], tuple] | None = None

    def plan(self, kc: Any, wants: dict[RegKey, set[Lined]], writes: dict[int, Any],
             paged: set[RegKey] = frozenset(),  # type: ignore[assignment]
             entry: Callable[[Any, ir.Value], tuple] | None = None) -> None:
        """Check `wants` (the layouts each register's accesses predict) where their
        registers are defined, for the registers defined once (`writes`: the names each
        pc writes); only where the warp's lanes never part.  For those of `paged`
        (global accesses), look up there too the page-table entry of each run's first
        address (`entry`: address -> (page, delta, backed))."""
        self._paged, self._entry = set(paged), entry
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
        if reg in self._paged and self._entry is not None:
            for run in sorted({run for run, _ in self._wants[reg]}):
                heads = [kc.b.extract_element(addrs, ir.Constant(I32, r * run)) for r in range(kc.W // run)]
                self._pages[(reg, run)] = ([self._entry(kc, h) for h in heads], pc)

    def pages(self, kc: Any, runs: int) -> list[tuple] | None:
        """The page-table entries of the runs of the current access's address register
        (`runs` of them), looked up where it is defined, if that dominates the code being
        generated: (page, delta, backed) per run.  Any address of the run's page maps
        with that delta, whatever the register holds now: the table does not change
        during a launch."""
        item = getattr(kc, "item", None)
        if item is None or item.ins is None or not self._pages:
            return None
        reg = address_register(item, form_of(item.ins).base == "st")
        made = self._pages.get((reg, kc.W // runs)) if reg is not None else None
        if made is None or not self._dominates(kc, made[1]):
            return None
        return made[0]

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
        return value if self._dominates(kc, pc) else None

    def _dominates(self, kc: Any, pc: int) -> bool:
        """Whether the code of `pc` dominates the code being generated (a region's: its
        branch's), and is not that code."""
        here = kc.host if kc.host is not None else kc.pc
        return here != pc and bool(self._dom[here] >> pc & 1)


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
