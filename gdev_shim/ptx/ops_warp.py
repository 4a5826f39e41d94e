"""Warp-level instructions: shfl.sync, vote(.sync), activemask, redux.sync.

Warps are 32 consecutive threads of a block (linear thread id). Lanes that did not
reach the instruction together with the caller contribute nothing (ballot bit 0);
shuffles from them read the source register as it is (undefined on hardware).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .access import lane_ids
from .errors import PtxError
from .form import Form
from .ptxast import Instr
from .ptxtypes import DTYPE


def _warp_sum(st: Any, ids: np.ndarray, weights: np.ndarray) -> np.ndarray:
    nwarps = st.nblk * st.warps_per_block
    return np.bincount(st.warp[ids], weights=weights, minlength=nwarps)


def b_shfl(ins: Instr, f: Form, ctx: Any) -> Callable:
    mode = f.mode
    if mode is None or len(ins.operands) not in (4, 5):
        raise PtxError(f"unsupported instruction {ins.opcode}", ins.line)
    d = ins.operands[0]
    dp, dq = (d[1], d[2]) if d[0] == "pair" else (d, None)
    wd = ctx.writer(dp, "b32")
    wq = ctx.writer(dq, "pred") if dq is not None else None
    ra = ctx.reader(ins.operands[1], "b32")
    rb = ctx.reader(ins.operands[2], "u32")
    rc = ctx.reader(ins.operands[3], "u32")

    def run(st: Any, lanes: Any) -> None:
        ids = lane_ids(st, lanes)
        lane = st.laneid[ids]
        b = np.asarray(rb(st, lanes)).astype(np.int64) & 31
        c = np.asarray(rc(st, lanes)).astype(np.int64)
        clamp, seg = c & 31, (c >> 8) & 31
        max_lane = (lane & seg) | (clamp & ~seg)
        min_lane = lane & seg
        if mode == "up":
            j = lane - b
            ok = j >= max_lane
        elif mode == "down":
            j = lane + b
            ok = j <= max_lane
        elif mode == "bfly":
            j = lane ^ b
            ok = j <= max_lane
        else:
            j = min_lane | (b & ~seg)
            ok = j <= max_lane
        j = np.where(ok, j, lane)
        src = st.lane_base[ids] + j
        # A source beyond the end of the block does not exist: the caller keeps its value.
        # A source lane that is not executing the shuffle gives whatever its register
        # holds (undefined on hardware; deterministic here).
        inblock = (st.tid_linear[ids] - lane + j) < st.T
        src = np.where(inblock, src, ids)
        full = ra(st, None)
        full = np.broadcast_to(np.asarray(full), (st.L,))
        wd(st, lanes, full[src])
        if wq is not None:
            wq(st, lanes, ok)
    return run


def b_vote(ins: Instr, f: Form, ctx: Any) -> Callable:
    mode = f.mode
    if mode is None or len(ins.operands) not in (2, 3):
        raise PtxError(f"unsupported instruction {ins.opcode}", ins.line)
    rp = ctx.reader(ins.operands[1], "pred")
    wd = ctx.writer(ins.operands[0], "b32" if mode == "ballot" else "pred")

    def run(st: Any, lanes: Any) -> None:
        ids = lane_ids(st, lanes)
        p = np.broadcast_to(np.asarray(rp(st, lanes)), ids.shape)
        warp = st.warp[ids]
        if mode == "ballot":
            bits = np.where(p, np.ldexp(1.0, st.laneid[ids]), 0.0)
            wd(st, lanes, _warp_sum(st, ids, bits).astype(np.uint64)[warp].astype(np.uint32))
            return
        trues = _warp_sum(st, ids, p.astype(np.float64))[warp]
        total = _warp_sum(st, ids, np.ones(len(ids)))[warp]
        if mode == "any":
            wd(st, lanes, trues > 0)
        elif mode == "all":
            wd(st, lanes, trues == total)
        else:
            wd(st, lanes, (trues == 0) | (trues == total))
    return run


def b_activemask(ins: Instr, f: Form, ctx: Any) -> Callable:
    wd = ctx.writer(ins.operands[0], "b32")

    def run(st: Any, lanes: Any) -> None:
        ids = lane_ids(st, lanes)
        bits = np.ldexp(1.0, st.laneid[ids])
        wd(st, lanes, _warp_sum(st, ids, bits).astype(np.uint64)[st.warp[ids]].astype(np.uint32))
    return run


def b_redux(ins: Instr, f: Form, ctx: Any) -> Callable:
    op = f.mode
    t = next((t for t in f.types if t in ("u32", "s32", "b32")), None)
    if op is None or t is None or len(ins.operands) != 3:
        raise PtxError(f"unsupported instruction {ins.opcode}", ins.line)
    dt = DTYPE[t]
    ra = ctx.reader(ins.operands[1], t)
    wd = ctx.writer(ins.operands[0], t)
    ufunc = {"add": np.add, "min": np.minimum, "max": np.maximum, "and": np.bitwise_and,
             "or": np.bitwise_or, "xor": np.bitwise_xor}[op]

    def run(st: Any, lanes: Any) -> None:
        ids = lane_ids(st, lanes)
        a = np.broadcast_to(np.asarray(ra(st, lanes), dt), ids.shape)
        warp = st.warp[ids]
        order = np.argsort(warp, kind="stable")
        sw = warp[order]
        starts = np.flatnonzero(np.r_[True, sw[1:] != sw[:-1]])
        red = ufunc.reduceat(a[order], starts)
        result = np.empty(len(ids), dt)
        group = np.cumsum(np.r_[True, sw[1:] != sw[:-1]]) - 1
        result[order] = red[group]
        wd(st, lanes, result)
    return run


def _groups(keys: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sort order, group start positions, and group index (in sorted order) of equal keys."""
    order = np.lexsort(keys[::-1])
    change = np.zeros(len(order), bool)
    if len(order):
        change[0] = True
        for k in keys:
            sk = k[order]
            change[1:] |= sk[1:] != sk[:-1]
    return order, np.flatnonzero(change), np.cumsum(change) - 1


def b_match(ins: Instr, f: Form, ctx: Any) -> Callable:
    """match.any.sync / match.all.sync: lanes of a warp holding the same value."""
    mode = f.mode
    t = next((t for t in f.types if t in ("b32", "b64")), None)
    if mode is None or t is None or len(ins.operands) != 3:
        raise PtxError(f"unsupported instruction {ins.opcode}", ins.line)
    d = ins.operands[0]
    dp, dq = (d[1], d[2]) if d[0] == "pair" else (d, None)
    if dq is not None and mode != "all":
        raise PtxError(f"{ins.opcode}: only match.all writes a predicate", ins.line)
    wd = ctx.writer(dp, "b32")
    wq = ctx.writer(dq, "pred") if dq is not None else None
    ra = ctx.reader(ins.operands[1], t)
    dt = DTYPE[t]

    def run(st: Any, lanes: Any) -> None:
        ids = lane_ids(st, lanes)
        val = np.broadcast_to(np.asarray(ra(st, lanes), dt), ids.shape)
        warp = st.warp[ids]
        bits = np.left_shift(np.uint64(1), st.laneid[ids].astype(np.uint64))
        order, starts, group = _groups([warp, val])
        same = np.add.reduceat(bits[order], starts) if len(order) else bits
        out = np.empty(len(ids), np.uint64)
        if mode == "any":
            out[order] = same[group]
            wd(st, lanes, out.astype(np.uint32))
            return
        # all: one group in the warp -> every participating lane's bit, else 0.
        w_order, w_starts, w_group = _groups([warp])
        members = np.add.reduceat(bits[w_order], w_starts) if len(w_order) else bits
        full = np.empty(len(ids), np.uint64)
        full[w_order] = members[w_group]
        out[order] = same[group]
        equal = out == full
        wd(st, lanes, np.where(equal, full, np.uint64(0)).astype(np.uint32))
        if wq is not None:
            wq(st, lanes, equal)
    return run


BUILDERS: dict[str, Callable] = {"shfl": b_shfl, "vote": b_vote, "activemask": b_activemask,
                                 "redux": b_redux, "match": b_match}
