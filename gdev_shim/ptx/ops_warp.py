"""Warp-level instructions: shfl.sync, vote(.sync), activemask, redux.sync.

Warps are 32 consecutive threads of a block (linear thread id). Lanes that did not
reach the instruction together with the caller contribute nothing (ballot bit 0) and
shuffles from them return the caller's own value.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .access import lane_ids
from .errors import PtxError
from .ptxast import Instr
from .ptxtypes import DTYPE


def _active(st: Any, lanes: Any) -> np.ndarray:
    mask = np.zeros(st.L, bool)
    if lanes is None:
        mask[:] = True
    else:
        mask[lanes] = True
    return mask


def _warp_sum(st: Any, ids: np.ndarray, weights: np.ndarray) -> np.ndarray:
    nwarps = st.nblk * st.warps_per_block
    return np.bincount(st.warp[ids], weights=weights, minlength=nwarps)


def b_shfl(ins: Instr, mods: list[str], ctx: Any) -> Callable:
    mode = next((m for m in mods if m in ("up", "down", "bfly", "idx")), None)
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
        # The source must be a thread of the same block that executes this shuffle too.
        inblock = (st.tid_linear[ids] - lane + j) < st.T
        src = np.where(inblock, src, ids)
        active = _active(st, lanes)
        src = np.where(active[np.minimum(src, st.L - 1)], src, ids)
        full = ra(st, None)
        full = np.broadcast_to(np.asarray(full), (st.L,))
        wd(st, lanes, full[src])
        if wq is not None:
            wq(st, lanes, ok)
    return run


def b_vote(ins: Instr, mods: list[str], ctx: Any) -> Callable:
    mode = next((m for m in mods if m in ("all", "any", "uni", "ballot")), None)
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


def b_activemask(ins: Instr, mods: list[str], ctx: Any) -> Callable:
    wd = ctx.writer(ins.operands[0], "b32")

    def run(st: Any, lanes: Any) -> None:
        ids = lane_ids(st, lanes)
        bits = np.ldexp(1.0, st.laneid[ids])
        wd(st, lanes, _warp_sum(st, ids, bits).astype(np.uint64)[st.warp[ids]].astype(np.uint32))
    return run


def b_redux(ins: Instr, mods: list[str], ctx: Any) -> Callable:
    op = next((m for m in mods if m in ("add", "min", "max", "and", "or", "xor")), None)
    t = next((m for m in mods if m in ("u32", "s32", "b32")), None)
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


BUILDERS: dict[str, Callable] = {"shfl": b_shfl, "vote": b_vote, "activemask": b_activemask,
                                 "redux": b_redux}
