"""Run a decoded kernel over a grid: batches of blocks, all lanes of a batch in lockstep.

Scheduling: the group of runnable lanes with the lowest program counter runs next
(so divergent paths reconverge where they meet, and barriers and warp operations see
converged lanes). While that group stays below every other pending counter it keeps
running without rescanning the lane array.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from . import barrier
from .barrier import Barriers
from .decode import ALU, BAR, BRA, BRX, CALL, EXIT, ICALL, NOP, RET, TRAP, Program, program_for
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


def check_launch(module: Module, kernel: str, grid: tuple[int, int, int], block: tuple[int, int, int],
                 params: bytes, dynamic_shared: int) -> tuple[tuple[int, int, int], tuple[int, int, int], bytes]:
    """The launch arguments every engine checks the same way: (grid, block, params) normalised,
    KeyError for an unknown kernel, ValueError for bad dimensions or short parameters."""
    if kernel not in module.kernels:
        raise KeyError(f"no kernel named {kernel!r} in the module")
    grid, block = _dims(grid, "grid"), _dims(block, "block")
    params = bytes(params)
    need = module.kernels[kernel].param_size
    if len(params) < need:
        raise ValueError(f"{kernel} needs {need} parameter bytes, got {len(params)}")
    if dynamic_shared < 0:
        raise ValueError("dynamic shared size must be non-negative")
    return grid, block, params


def execute(module: Module, kernel: str, memory: DeviceMemory, grid: tuple[int, int, int],
            block: tuple[int, int, int], params: bytes, dynamic_shared: int, globals_addr: int,
            printf: Callable[[str], None] | None = None, checks: Any = None, grid_sync: int = 0) -> None:
    """Run `kernel` to completion; KernelFault on a faulting thread.

    `grid_sync` (a cooperative launch): the device address %envreg1:%envreg2 name, where
    the kernel's grid-wide barriers count; every block then runs in one lockstep batch, so
    a block waiting at such a barrier sees the others arrive.

    `checks` (the card's sanitizer hooks, or None) sees every global and shared
    access and every barrier release.

    ValueError/KeyError for a bad launch (unknown kernel, bad dimensions, short params).
    """
    grid, block, params = check_launch(module, kernel, grid, block, params, dynamic_shared)
    prog = program_for(module, kernel)
    T = math.prod(block)
    nblocks = math.prod(grid)
    if T == 0 or nblocks == 0:
        return
    per_block = T * prog.bytes_per_lane
    batch = max(1, min(nblocks, MAX_LANES // T, BATCH_BYTES // max(per_block, 1)))
    if grid_sync and batch < nblocks:
        raise ValueError(f"cooperative launch of {nblocks} blocks: at most {batch} are resident at once")
    shared_stride = max(16, (prog.dynamic_shared_offset + dynamic_shared + 15) // 16 * 16)
    if prog.relocs and (id(memory), globals_addr) not in module._relocated:
        _relocate(memory, globals_addr, prog.relocs)
        module._relocated.add((id(memory), globals_addr))
    with np.errstate(all="ignore"):
        for first in range(0, nblocks, batch):
            st = State(kernel=kernel, mem=memory, reg_dtypes=prog.reg_dtypes, block=block,
                       grid=grid, first_block=first, nblk=min(batch, nblocks - first),
                       shared_stride=shared_stride, local_stride=prog.local_size,
                       param_stride=prog.param_size, kparams=params,
                       globals_addr=globals_addr, dynamic_shared=dynamic_shared, printf=printf)
            st.checks = checks
            st.grid_sync = grid_sync
            run_batch(prog, st)
            if printf is not None and st.printed:
                for _, _, text in sorted(st.printed):
                    printf(text)


def _relocate(memory: DeviceMemory, base: int, relocs: list[tuple[int, int, int]]) -> None:
    """Address-valued initialisers of module variables, for the block placed at `base`.

    Only words still holding the unresolved initial 0 are patched: a loader that
    resolved them (the driver does, at module load) or a host write since then wins.
    """
    for width in (4, 8):
        sel = [(off, target) for off, target, w in relocs if w == width]
        if sel:
            dt = np.dtype(np.uint64 if width == 8 else np.uint32)
            addrs = np.array([base + off for off, _ in sel], np.uint64)
            values = np.array([(base + t) & ((1 << (8 * width)) - 1) for _, t in sel], dt)
            unresolved = memory.load(addrs, dt) == 0
            if unresolved.any():
                memory.store(addrs[unresolved], values[unresolved])


class _Stack:
    """Return addresses per lane and call depth; grows with recursion."""

    def __init__(self, depth: int, L: int) -> None:
        self.depth = np.zeros(L, np.int64)
        self.pcs = np.zeros((max(depth, 1) + 1, L), np.int32)

    def push(self, ids: np.ndarray, ret: int) -> None:
        d = self.depth[ids]
        if d.size and int(d.max()) >= self.pcs.shape[0]:
            grow = np.zeros_like(self.pcs)
            self.pcs = np.concatenate([self.pcs, grow])
        self.pcs[d, ids] = ret
        self.depth[ids] = d + 1

    def pop(self, ids: np.ndarray) -> np.ndarray:
        d = self.depth[ids] - 1
        self.depth[ids] = d
        return self.pcs[d, ids]


def run_batch(prog: Program, st: State) -> None:
    ops = prog.ops
    L = st.L
    st.program = prog
    pc = np.zeros(L, np.int64)
    alive = np.ones(L, bool)
    waiting = np.zeros(L, bool)
    nwait = 0
    nalive = L
    stack = _Stack(prog.max_depth, L)
    bars = Barriers(st)
    # The current group: `sel` lanes (None = all L) all at `cur`; pc[sel] is stale meanwhile.
    sel: np.ndarray | None = None
    cur = 0
    other_min = _INF
    regroup = False
    steps = 0
    while True:
        if regroup:
            runnable = alive & ~waiting if nwait else alive
            pcs = pc[runnable]
            if pcs.size == 0:
                if nwait:
                    lane = int(np.flatnonzero(waiting)[0])
                    raise st.fault(lane, ops[int(pc[lane])].text, None,
                                   "barrier can never complete (deadlock)")
                st.clock_steps += steps
                return
            cur = int(pcs.min())
            at = runnable & (pc == cur)
            sel = np.flatnonzero(at)
            rest = pcs[pcs != cur]
            other_min = int(rest.min()) if rest.size else _INF
            if sel.size == L:
                sel = None
            regroup = False
        steps += 1
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
                cur += op.skip
                if cur >= other_min:
                    _flush(pc, sel, cur)
                    regroup = True
                continue
            else:
                lanes = np.flatnonzero(g) if sel is None else sel[g]
                if op.kind != ALU and op.kind != NOP:
                    # Part of the group takes a control transfer: split it.
                    _flush(pc, sel, cur + op.skip)
                    if op.kind == BAR:
                        nwait += bars.arrive(op.fn, lanes, lanes, pc, waiting, cur, op.text)
                    else:
                        nalive, nwait = _control(op, prog, st, lanes, pc, alive, stack, bars,
                                                 waiting, cur, nalive, nwait)
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
            op.fn(st, sel)
            stack.push(np.arange(L) if sel is None else sel, cur + 1)
            cur = op.target
        elif kind == BAR:
            spec = op.fn
            if (spec.plain and nwait == 0 and bars.pending == 0 and other_min == _INF
                    and (sel is None or sel.size == nalive)):
                # every live lane is here: pass at once, once the number it names is checked
                barrier.barrier_numbers(spec, st, sel, np.arange(L) if sel is None else sel, op.text)
                barrier.reduce_all(spec, st, sel)
                if st.checks is not None:
                    st.checks.barrier(st, sel)
                cur += 1
            else:
                _flush(pc, sel, cur)
                ids = np.arange(L) if sel is None else sel
                nwait += bars.arrive(spec, ids, sel, pc, waiting, cur, op.text)
                regroup = True
                continue
        else:
            _flush(pc, sel, cur)
            nalive, nwait = _control(op, prog, st, sel, pc, alive, stack, bars, waiting, cur,
                                     nalive, nwait)
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
             alive: np.ndarray, stack: _Stack, bars: Barriers, waiting: np.ndarray, cur: int,
             nalive: int, nwait: int) -> tuple[int, int]:
    """A control transfer for `lanes` (pc already holds their fall-through).

    Returns the updated counts of live and waiting lanes.
    """
    ids = np.arange(st.L) if lanes is None else lanes
    kind = op.kind
    if kind == BRA:
        pc[ids] = op.target
    elif kind == BRX:
        pc[ids] = op.fn(st, lanes)
    elif kind == EXIT:
        alive[ids] = False
        nalive -= len(ids)
        nwait += bars.exited(ids, pc, waiting)
    elif kind == RET:
        if op.fn is not None:
            op.fn(st, lanes)
        pc[ids] = stack.pop(ids)
    elif kind == CALL:
        op.fn(st, lanes)
        stack.push(ids, cur + 1)
        pc[ids] = op.target
    elif kind == ICALL:
        groups = op.fn(st, lanes)
        stack.push(ids, cur + 1)
        for sub, target in groups:
            pc[sub] = target
    elif kind == TRAP:
        raise st.fault(int(ids[0]), op.text, None, "trap")
    elif kind == BAR:
        nwait += bars.arrive(op.fn, ids, lanes, pc, waiting, cur, op.text)
    return nalive, nwait
