"""Which registers a warp must keep in its frame while it waits at a barrier.

A block runs as a loop of its warps through each barrier-free region: a warp runs until
every live lane waits at a barrier, yields, and the next warp of the block runs in the
same registers.  Values live across a barrier therefore go to the warp's frame when it
yields and come back when it resumes.

Liveness is per lane along the flat code's control-flow graph: a lane resumes at the
instruction after its barrier, so the registers to keep are those live into any such
resume point.  A predicated write does not kill (lanes with a false guard keep the old
value); an unpredicated one does, because each lane that reaches it writes its own value.
"""
from __future__ import annotations

from .layout import Flat, is_barrier_wait
from .regclass import Trace, successors


def resume_points(flat: Flat) -> list[int]:
    """Program counters where lanes released from a barrier continue."""
    return [pc + 1 for pc, item in enumerate(flat.code) if is_barrier_wait(item)]


def live_in(flat: Flat, trace: Trace) -> list[frozenset[str]]:
    """Registers live into each program counter (backward dataflow to a fixed point)."""
    names, live = _live_bits(flat, trace)
    return [_names(names, bits) for bits in live]


class Liveness:
    """A kernel's live-in sets, computed once (as bits), asked for as unions over program
    counters: what some lane may read at any of them before writing it."""

    def __init__(self, flat: Flat, trace: Trace) -> None:
        self.names, self.bits = _live_bits(flat, trace)

    def union(self, pcs: list[int]) -> frozenset[str]:
        out = 0
        for pc in pcs:
            if pc < len(self.bits):
                out |= self.bits[pc]
        return _names(self.names, out)


def _names(names: list[str], bits: int) -> frozenset[str]:
    """The names of the set bits of `bits` (walking the set bits only)."""
    out = []
    while bits:
        low = bits & -bits
        out.append(names[low.bit_length() - 1])
        bits ^= low
    return frozenset(out)


def _live_bits(flat: Flat, trace: Trace) -> tuple[list[str], list[int]]:
    """(register names, each pc's live-in set as bits over them)."""
    names = sorted({n for s in trace.reads.values() for n in s}
                   | {n for s in trace.writes.values() for n in s})
    bit = {n: 1 << i for i, n in enumerate(names)}

    def mask(regs: set[str] | None) -> int:
        out = 0
        for n in regs or ():
            out |= bit[n]
        return out

    n = len(flat.code)
    succ = [[s for s in successors(flat, pc) if s < n] for pc in range(n)]
    preds: list[list[int]] = [[] for _ in range(n)]
    for pc, ss in enumerate(succ):
        for s in ss:
            preds[s].append(pc)
    use = [mask(trace.reads.get(pc)) for pc in range(n)]
    kill = [mask(trace.writes.get(pc)) if _kills(flat, pc) else 0 for pc in range(n)]
    live = [0] * n
    work = list(range(n - 1, -1, -1))
    queued = [True] * n
    while work:
        pc = work.pop()
        queued[pc] = False
        out = 0
        for s in succ[pc]:
            out |= live[s]
        new = use[pc] | (out & ~kill[pc])
        if new != live[pc]:
            live[pc] = new
            for p in preds[pc]:
                if not queued[p]:
                    queued[p] = True
                    work.append(p)
    return names, live


def _kills(flat: Flat, pc: int) -> bool:
    item = flat.code[pc]
    return item.kind == "ins" and item.ins is not None and item.ins.guard is None


def live_across_barriers(flat: Flat, trace: Trace, live: "Liveness | None" = None) -> frozenset[str]:
    """Registers of the kernel entry that some lane needs after some barrier (`live`: the
    kernel's liveness, if computed already)."""
    points = [pc for pc in resume_points(flat) if pc < len(flat.code)]
    if not points:
        return frozenset()
    return (Liveness(flat, trace) if live is None else live).union(points)


def written_since_resume(flat: Flat, trace: Trace) -> dict[int, frozenset[str]]:
    """For each unguarded barrier wait: the registers some lane may have written since the
    warp last resumed from its frame (forward dataflow from the resume points).

    A warp that resumes has every register equal to its frame; a converged warp parking
    at the barrier needs to save only what changed since.  Paths from the kernel's start
    do not count: a warp's first yield saves its whole frame (codegen.park_at)."""
    n = len(flat.code)
    names = sorted({nm for s in trace.writes.values() for nm in s})
    bit = {nm: 1 << i for i, nm in enumerate(names)}
    writes = [0] * n
    for pc, regs in trace.writes.items():
        for nm in regs:
            writes[pc] |= bit[nm]
    waits = {pc for pc, item in enumerate(flat.code) if is_barrier_wait(item) and item.ins.guard is None}
    # written since the last resume, on entry to pc (None: no path from a resume point)
    dirty: list[int | None] = [None] * n
    work = [pc + 1 for pc in waits if pc + 1 < n]
    for pc in work:
        dirty[pc] = 0
    while work:
        pc = work.pop()
        out = 0 if pc in waits else (dirty[pc] or 0) | writes[pc]   # past a wait: resumed, in sync again
        for s in successors(flat, pc):
            if s >= n:
                continue
            old = dirty[s]
            if old is None or old | out != old:
                dirty[s] = out if old is None else old | out
                work.append(s)
    return {pc: _names(names, dirty[pc] or 0) for pc in sorted(waits)}
