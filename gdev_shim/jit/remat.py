"""Registers a warp recomputes after a barrier instead of keeping them in its frame.

A value live across a barrier costs a store when the warp parks and a load when it
resumes, per lane: for a 16x16 stencil, its tile index and its output offset (an i64
vector of 32 lanes) were most of its frame.  Such values are usually functions of the
thread's coordinates and the launch's constants alone, computed once before the first
barrier; a few lane-wise instructions after the resume recompute them for less than the
memory traffic (rematerialisation).

A register qualifies when its one definition is unguarded, dominates every barrier, is
a cheap lane-wise instruction without hidden state, and reads only immediates, symbol
addresses, coordinate registers and registers that qualify too (or scalar registers the
block shares, defined once before it) whose definitions dominate it: then every lane
that reaches a barrier holds exactly what the definition recomputes, since nothing can
have written the register or its sources in between.
"""
from __future__ import annotations

from typing import Any

from ..ptx.form import form_of
from .liveness import resume_points
from .regclass import Trace, dominators, successors

# cheap, cannot fault, no carry or other hidden state
_CHEAP = frozenset(["add", "sub", "mul", "mad", "neg", "min", "max", "and", "or", "xor", "not",
                    "shl", "shr", "setp", "selp", "cvt", "cvta", "mov"])
# the same in every lane of a warp at every point of the launch
_STABLE_SPECIALS = frozenset(f"%{k}.{c}" for k in ("tid", "ntid", "ctaid", "nctaid") for c in "xyz")
_OPERANDS = frozenset(["reg", "imm", "fimm", "fval", "sym"])


def recomputable(flat: Any, trace: Trace, live: frozenset[str], scalars: set[str]) -> list[int]:
    """The program counters to run again at a resume, in program order: the definitions of
    the registers of `live` that qualify and of the vector registers they read.
    `scalars`: registers kept once for the block (not per warp), which persist as is."""
    n = len(flat.code)
    if not live or not n:
        return []
    defs: dict[str, list[int]] = {}
    for pc, names in trace.writes.items():
        for name in names:
            defs.setdefault(name, []).append(pc)
    dom = dominators([[s for s in successors(flat, pc) if s < n] for pc in range(n)])
    waits = [pc - 1 for pc in resume_points(flat)]
    memo: dict[str, list[int] | None] = {}

    def dominates(d: int, pc: int) -> bool:
        return bool(dom[pc] >> d & 1)

    def chain(name: str) -> list[int] | None:
        """The definitions to run again for `name` (None: it does not qualify)."""
        if name in memo:
            return memo[name]
        memo[name] = None               # a cycle does not qualify
        pcs = defs.get(name, [])
        if len(pcs) != 1 or not _cheap(flat.code[pcs[0]]):
            return None
        d = pcs[0]
        out = [d]
        for src in trace.reads.get(d, ()):
            if src in _STABLE_SPECIALS:
                continue
            sdefs = defs.get(src, [])
            if len(sdefs) != 1 or not dominates(sdefs[0], d) or sdefs[0] == d:
                return None
            if src in scalars:
                if not _cheap(flat.code[sdefs[0]]) and not _param_load(flat.code[sdefs[0]]):
                    return None
                continue
            sub = chain(src)
            if sub is None:
                return None
            out += sub
        memo[name] = out
        return out

    out: set[int] = set()
    for name in sorted(live):
        if name in scalars:
            continue
        got = chain(name)
        pcs = defs.get(name, [])
        if got is not None and all(dominates(pcs[0], w) for w in waits):
            out.update(got)
    return sorted(out)


def resumes_after(flat: Any, pcs: list[int]) -> frozenset[int]:
    """The resume points that every program counter of `pcs` dominates: a lane the
    dispatcher sends to one has run all of them since the block started, so running them
    again there, for the warp's live lanes, writes what the registers already hold."""
    n = len(flat.code)
    if not pcs or not n:
        return frozenset()
    dom = dominators([[s for s in successors(flat, pc) if s < n] for pc in range(n)])
    need = 0
    for pc in pcs:
        need |= 1 << pc
    return frozenset(r for r in resume_points(flat) if r < n and dom[r] & need == need)


def _cheap(item: Any) -> bool:
    ins = item.ins
    if item.kind != "ins" or ins is None or ins.guard is not None:
        return False
    form = form_of(ins)
    if form.base not in _CHEAP or form.has("cc") or not ins.operands:
        return False
    if ins.operands[0][0] != "reg":
        return False
    return all(op[0] in _OPERANDS for op in ins.operands[1:])


def _param_load(item: Any) -> bool:
    ins = item.ins
    return (item.kind == "ins" and ins is not None and ins.guard is None
            and form_of(ins).base == "ld" and form_of(ins).space == "param")
