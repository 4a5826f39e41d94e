"""CTA barriers: bar.sync / bar.arrive / bar.red over the sixteen barriers of each block.

A barrier of a block completes when the lanes that arrived reach its expected count:
the count operand if one was given, else every thread of the block still alive
(threads that exited no longer hold a barrier up). Only the waiting lanes of that
block are released; bar.red reduces a predicate over them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .errors import PtxError
from .form import Form
from .ptxast import Instr

NBARRIERS = 16


@dataclass
class BarrierSpec:
    arrive: bool                            # bar.arrive: count, do not wait
    ident: Callable[[Any, Any], Any]        # barrier number per lane
    count: Callable[[Any, Any], Any] | None
    red: str | None = None                  # 'popc' 'and' 'or' for bar.red
    pred: Callable[[Any, Any], Any] | None = None
    write: Callable[[Any, Any, Any], None] | None = None

    @property
    def plain(self) -> bool:
        """bar.sync of every thread of the block (the common __syncthreads)."""
        return not self.arrive and self.count is None


def build(ins: Instr, f: Form, ctx: Any) -> BarrierSpec:
    """bar{.cta}.sync|arrive|red a{, b} / barrier{.cta}{.aligned}.sync... and bar.red forms."""
    ops = ins.operands
    if f.has("red"):
        red = f.mode
        if red is None or len(ops) not in (3, 4):
            raise PtxError(f"unsupported barrier form {ins.opcode}", ins.line)
        wtype = "u32" if red == "popc" else "pred"
        ident = ctx.reader(ops[1], "u32")
        count = ctx.reader(ops[2], "u32") if len(ops) == 4 else None
        return BarrierSpec(False, ident, count, red, ctx.reader(ops[-1], "pred"),
                           ctx.writer(ops[0], wtype))
    arrive = f.has("arrive")
    if not ops:
        zero = np.uint32(0)
        return BarrierSpec(arrive, lambda st, lanes: zero, None)
    if len(ops) > 2 or (arrive and len(ops) != 2):
        raise PtxError(f"unsupported barrier form {ins.opcode}", ins.line)
    return BarrierSpec(arrive, ctx.reader(ops[0], "u32"),
                       ctx.reader(ops[1], "u32") if len(ops) == 2 else None)


def barrier_numbers(spec: BarrierSpec, st: Any, lanes: Any, ids: np.ndarray, text: str) -> np.ndarray:
    """The barrier each of lanes `ids` names; a number outside 0..15 faults the first such lane."""
    bid = np.broadcast_to(np.asarray(spec.ident(st, lanes)).astype(np.int64), ids.shape)
    if ((bid < 0) | (bid >= NBARRIERS)).any():
        bad = int(np.flatnonzero((bid < 0) | (bid >= NBARRIERS))[0])
        raise st.fault(int(ids[bad]), text, None, f"barrier number {int(bid[bad])} out of range")
    return bid


def reduce_all(spec: BarrierSpec, st: Any, lanes: Any) -> None:
    """bar.red when every live lane of the batch arrived together."""
    if spec.red is None:
        return
    ids = np.arange(st.L) if lanes is None else lanes
    p = np.broadcast_to(np.asarray(spec.pred(st, lanes), bool), ids.shape)
    _write_red(spec, st, lanes, ids, p)


def _write_red(spec: BarrierSpec, st: Any, lanes: Any, ids: np.ndarray, p: np.ndarray) -> None:
    blk = st.blk[ids]
    trues = np.bincount(blk, weights=p, minlength=st.nblk)
    total = np.bincount(blk, minlength=st.nblk)
    if spec.red == "popc":
        value = trues[blk].astype(np.uint32)
    elif spec.red == "and":
        value = (trues == total)[blk]
    else:
        value = (trues > 0)[blk]
    assert spec.write is not None
    spec.write(st, lanes, value)


class Barriers:
    """Arrival bookkeeping of the blocks of one batch."""

    def __init__(self, st: Any) -> None:
        self.st = st
        self.arrived = np.zeros((st.nblk, NBARRIERS), np.int64)
        self.expect = np.zeros((st.nblk, NBARRIERS), np.int64)     # 0: every live thread
        self.live = np.full(st.nblk, st.T, np.int64)
        self.which = np.zeros(st.L, np.int64)                        # barrier a lane waits on
        self.value = np.zeros(st.L, bool)                            # its bar.red predicate
        self.pending = 0                                             # arrivals not yet released

    def arrive(self, spec: BarrierSpec, ids: np.ndarray, lanes: Any, pc: np.ndarray,
               waiting: np.ndarray, cur: int, text: str) -> int:
        """Lanes `ids` reach the barrier op at `cur`; returns how many lanes now wait."""
        st = self.st
        bid = barrier_numbers(spec, st, lanes, ids, text)
        blk = st.blk[ids]
        if spec.count is not None:
            cnt = np.broadcast_to(np.asarray(spec.count(st, lanes)).astype(np.int64), ids.shape)
            self.expect[blk, bid] = cnt
        if spec.red is not None:
            assert spec.pred is not None
            self.value[ids] = np.broadcast_to(np.asarray(spec.pred(st, lanes), bool), ids.shape)
        np.add.at(self.arrived, (blk, bid), 1)
        self.pending += len(ids)
        if spec.arrive:
            pc[ids] = cur + 1
            added = 0
        else:
            pc[ids] = cur
            waiting[ids] = True
            self.which[ids] = bid
            added = len(ids)
        return added - self.release(pc, waiting)

    def exited(self, ids: np.ndarray, pc: np.ndarray, waiting: np.ndarray) -> int:
        """Lanes left the kernel: barriers waiting for them may complete now."""
        self.live -= np.bincount(self.st.blk[ids], minlength=self.st.nblk)
        return -self.release(pc, waiting) if self.pending else 0

    def release(self, pc: np.ndarray, waiting: np.ndarray) -> int:
        """Release every completed barrier; returns the number of lanes released."""
        need = np.where(self.expect > 0, self.expect, self.live[:, None])
        done = (self.arrived > 0) & (self.arrived >= need)
        if not done.any():
            return 0
        st = self.st
        rel = np.flatnonzero(waiting & done[st.blk, self.which])
        self.pending -= int(self.arrived[done].sum())
        self.arrived[done] = 0
        self.expect[done] = 0
        if rel.size == 0:
            return 0
        waiting[rel] = False
        at = pc[rel]
        pc[rel] = at + 1
        if st.checks is not None:
            st.checks.barrier(st, rel)
        # bar.red: each instruction's lanes get the reduction over all released lanes.
        from .decode import BAR
        for where in np.unique(at).tolist():
            op = st.program.ops[where]
            spec = op.fn if op.kind == BAR else None
            if spec is not None and spec.red is not None:
                sub = rel[at == where]
                _write_red_over(spec, st, sub, rel, self.value)
        return int(rel.size)


def _write_red_over(spec: BarrierSpec, st: Any, lanes: np.ndarray, group: np.ndarray,
                    value: np.ndarray) -> None:
    blk = st.blk[group]
    trues = np.bincount(blk, weights=value[group], minlength=st.nblk)
    total = np.bincount(blk, minlength=st.nblk)
    b = st.blk[lanes]
    if spec.red == "popc":
        out: Any = trues[b].astype(np.uint32)
    elif spec.red == "and":
        out = (trues == total)[b]
    else:
        out = (trues > 0)[b]
    assert spec.write is not None
    spec.write(st, lanes, out)
