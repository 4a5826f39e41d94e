"""Divergent forward branches as lane masks, without the dispatcher.

When a warp splits at a forward branch and everything up to where the paths meet again
is straight-line code with forward branches only (if/else bodies, `cond ? load : 0`),
the region is emitted once more as a linear sequence in program-counter order: each
instruction runs under the mask of the lanes that reach it, a taken branch moves its
lanes to a pending mask for its target, and at the end every lane of the group is back
together.  That is the order the dispatcher would run them in (lowest counter first), so
results and memory effects are the same; only the per-branch trip through the dispatcher
is gone.
"""
from __future__ import annotations

from typing import Any

from llvmlite import ir

from ..ptx.form import form_of
from .layout import is_control
from .printf import emit_printf, is_printf

MAX_REGION = 256                   # instructions; a larger region stays on the dispatcher


def region_end(kc: Any, pc: int, target: int) -> int | None:
    """Where the paths of the forward branch at `pc` meet again, if the region between
    is straight-line code with forward branches only; else None.  Kept per compiler:
    finding the dispatch targets asks for every branch, and so does emitting it (an
    unrolled sort's 165 branches scanned up to MAX_REGION instructions each, twice)."""
    ends = kc.__dict__.setdefault("_region_ends", {})
    key = (pc, target)
    if key not in ends:
        ends[key] = _region_end(kc, pc, target)
    return ends[key]


def _region_end(kc: Any, pc: int, target: int) -> int | None:
    flat = kc.flat
    end = target
    if target <= pc:
        return None
    p = pc + 1
    while p < end:
        item = flat.code[p]
        if item.kind != "ins" or item.fn is not flat.code[pc].fn:
            return None
        if form_of(item.ins).base == "bra":
            to = _target(kc, item)
            if to is None or to <= p:
                return None
            end = max(end, to)
        elif is_control(item) and not is_printf(item):
            return None
        if end - pc > MAX_REGION:
            return None
        p += 1
    return end if end < len(flat.code) else None


def dispatch_targets(kc: Any) -> set[int] | None:
    """The program counters the dispatcher can be asked for when the lanes of a warp never
    stay apart (every divergent branch is linear, no calls, no predicated barriers): the
    start, the resume point of each barrier, and the instruction after a predicated exit.
    None when lanes may part; then every leader is a target and a group hands over to the
    dispatcher whenever other lanes wait below it."""
    flat = kc.flat
    if flat.has_calls:
        return None
    out = {0}
    for pc, item in enumerate(flat.code):
        if item.kind != "ins":
            continue
        form = form_of(item.ins)
        guarded = item.ins.guard is not None
        if form.base in ("bar", "barrier") and not form.has("warp"):
            if guarded:
                return None
            out.add(pc + 1)
        elif form.base == "bra" and guarded:
            to = _target(kc, item)
            if to is None or region_end(kc, pc, to) is None:
                return None
        elif form.base == "brx":
            return None
        elif guarded and is_control(item) and not is_printf(item):
            out.add(pc + 1)
    return {pc for pc in out if pc in kc.leaders}


def _target(kc: Any, item: Any) -> int | None:
    ops = item.ins.operands
    if not ops or ops[0][0] != "sym":
        return None
    return kc.flat.labels.get((item.fn.name, ops[0][1]))


def emit_region(kc: Any, pc: int, target: int, end: int, grp: ir.Value, takers: ir.Value) -> None:
    """The region after the branch at `pc` under lane masks; the group continues at `end`."""
    b = kc.b
    active = b.and_(grp, b.not_(takers))
    pending: dict[int, ir.Value] = {target: takers}
    kc.host = pc                    # the region's code is its branch's (layouts.py)
    for p in range(pc + 1, end):
        if p in pending:
            active = b.or_(active, pending.pop(p))
        item = kc.flat.code[p]
        kc.pc, kc.item = p, item
        if form_of(item.ins).base == "bra":
            taken = kc.guard_mask(item, active)
            to = _target(kc, item)
            pending[to] = b.or_(pending[to], taken) if to in pending else taken
            active = b.and_(active, b.not_(taken))
            continue
        if is_printf(item):
            emit_printf(kc, item, kc.guard_mask(item, active))
        else:
            kc.emit_instruction(item, active)
    kc.host = None
    kc.goto(end, grp)
