"""Run a decoded kernel over a grid: batches of blocks, all lanes of a batch in lockstep.

Scheduling: the group of runnable lanes with the lowest program counter runs next
(so divergent paths reconverge where they meet, and barriers and warp operations see
converged lanes). While that group stays below every other pending counter it keeps
running without rescanning the lane array.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from .decode import ALU, BAR, BRA, CALL, EXIT, NOP, RET, TRAP, Program, program_for
from .memory import DeviceMemory
from .module import Module
from .state import State

MAX_LANES = 1 << 20             # lanes per batch
BATCH_BYTES = 512 << 20         # per-lane state budget per batch
_INF = 1 << 62


def _dims(value: tuple[int, int, int], what: str) -> tuple[int, int, int]:
    try:
        dims = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be three integers, got {value!r}") from None
    if len(dims) != 3 or any(d < 0 for d in dims):
        raise ValueError(f"{what} must be three non-negative integers, got {value!r}")
    return dims  # type: ignore[return-value]


def execute(module: Module, kernel: str, memory: DeviceMemory, grid: tuple[int, int, int],
            block: tuple[int, int, int], params: bytes, dynamic_shared: int, globals_addr: int,
            printf: Callable[[str], None] | None = None) -> None:
    """Run `kernel` to completion; KernelFault on a faulting thread.

    ValueError/KeyError for a bad launch (unknown kernel, bad dimensions, short params).
    """
    if kernel not in module.kernels:
        raise KeyError(f"no kernel named {kernel!r} in the module")
    grid, block = _dims(grid, "grid"), _dims(block, "block")
    info = module.kernels[kernel]
    params = bytes(params)
    if len(params) < info.param_size:
        raise ValueError(f"{kernel} needs {info.param_size} parameter bytes, got {len(params)}")
    if dynamic_shared < 0:
        raise ValueError("dynamic shared size must be non-negative")
    prog = program_for(module, kernel)
    T = math.prod(block)
    nblocks = math.prod(grid)
    if T == 0 or nblocks == 0:
        return
    per_block = T * prog.bytes_per_lane
    batch = max(1, min(nblocks, MAX_LANES // T, BATCH_BYTES // max(per_block, 1)))
    shared_stride = max(16, (prog.dynamic_shared_offset + dynamic_shared + 15) // 16 * 16)
    with np.errstate(all="ignore"):
        for first in range(0, nblocks, batch):
            st = State(kernel=kernel, mem=memory, reg_dtypes=prog.reg_dtypes, block=block,
                       grid=grid, first_block=first, nblk=min(batch, nblocks - first),
                       shared_stride=shared_stride, local_stride=prog.local_size,
                       param_stride=prog.param_size, kparams=params,
                       globals_addr=globals_addr, dynamic_shared=dynamic_shared, printf=printf)
            run_batch(prog, st)
            if printf is not None and st.printed:
                for _, _, text in sorted(st.printed):
                    printf(text)


def run_batch(prog: Program, st: State) -> None:
    ops = prog.ops
    L = st.L
    pc = np.zeros(L, np.int64)
    alive = np.ones(L, bool)
    waiting = np.zeros(L, bool)
    nwait = 0
    depth = np.zeros(L, np.int64)
    stack = np.zeros((prog.max_depth + 1, L), np.int64)
    # The current group: `sel` lanes (None = all L) all at `cur`; pc[sel] is stale meanwhile.
    sel: np.ndarray | None = None
    cur = 0
    other_min = _INF
    regroup = False
    while True:
        if regroup:
            runnable = alive & ~waiting if nwait else alive
            pcs = pc[runnable]
            if pcs.size == 0:
                if nwait:
                    pc[waiting] += 1               # every live lane arrived: release
                    waiting[:] = False
                    nwait = 0
                    continue
                return
            cur = int(pcs.min())
            at = runnable & (pc == cur)
            sel = np.flatnonzero(at)
            rest = pcs[pcs != cur]
            other_min = int(rest.min()) if rest.size else _INF
            if sel.size == L:
                sel = None
            regroup = False
        st.clock += 1
        op = ops[cur]
        lanes = sel
        if op.guard is not None:
            g = st.regs[op.guard]
            g = np.zeros(L, bool) if g is None else g
            g = g if sel is None else g[sel]
            if op.neg:
                g = ~g
            if g.all():
                pass
            elif not g.any():
                cur += 1
                if cur >= other_min:
                    _flush(pc, sel, cur)
                    regroup = True
                continue
            else:
                lanes = np.flatnonzero(g) if sel is None else sel[g]
                if op.kind != ALU and op.kind != NOP:
                    # Part of the group takes a control transfer: split it.
                    _flush(pc, sel, cur + 1)
                    _control(op, prog, st, lanes, pc, alive, depth, stack, cur, part=True)
                    regroup = True
                    continue
        kind = op.kind
        if kind == ALU:
            op.fn(st, lanes)
            cur += 1
        elif kind == NOP:
            cur += 1
        elif kind == BRA:
            cur = op.target
        elif kind == CALL:
            ids = np.arange(L) if sel is None else sel
            op.fn(st, sel)
            stack[depth[ids], ids] = cur + 1
            depth[ids] += 1
            cur = op.target
        elif kind == BAR:
            if nwait == 0 and other_min == _INF and (sel is None or sel.size == int(alive.sum())):
                cur += 1                            # the whole batch is here: pass at once
            else:
                _flush(pc, sel, cur)
                if sel is None:
                    waiting[:] = True
                    nwait = L
                else:
                    waiting[sel] = True
                    nwait += sel.size
                regroup = True
                continue
        else:
            _flush(pc, sel, cur)
            _control(op, prog, st, sel, pc, alive, depth, stack, cur, part=False)
            regroup = True
            continue
        if cur >= other_min:
            _flush(pc, sel, cur)
            regroup = True


def _flush(pc: np.ndarray, sel: np.ndarray | None, value: int) -> None:
    if sel is None:
        pc[:] = value
    else:
        pc[sel] = value


def _control(op, prog: Program, st: State, lanes: np.ndarray | None, pc: np.ndarray,
             alive: np.ndarray, depth: np.ndarray, stack: np.ndarray, cur: int,
             part: bool) -> None:
    """A control transfer for `lanes` (pc already holds their fall-through)."""
    ids = np.arange(st.L) if lanes is None else lanes
    kind = op.kind
    if kind == BRA:
        pc[ids] = op.target
    elif kind == EXIT:
        alive[ids] = False
    elif kind == RET:
        d = depth[ids] - 1
        if (d < 0).any():
            alive[ids[d < 0]] = False
        ok = d >= 0
        pc[ids[ok]] = stack[d[ok], ids[ok]]
        depth[ids[ok]] = d[ok]
    elif kind == CALL:
        op.fn(st, lanes)
        stack[depth[ids], ids] = cur + 1
        depth[ids] += 1
        pc[ids] = op.target
    elif kind == TRAP:
        raise st.fault(int(ids[0]), op.text, None, "trap")
    elif kind == BAR:
        raise st.fault(int(ids[0]), op.text, None, "predicated barrier is not supported")
