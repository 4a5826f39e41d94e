"""Running a compiled kernel over a grid: block ranges split over host threads."""
from __future__ import annotations

import ctypes
import functools
import math
import os
import threading
from collections import OrderedDict
from typing import Any, Callable

import numpy as np

from ..common.contract import ffi
from ..ptx.errors import KernelFault
from ..ptx.form import form_of
from ..ptx.interp import check_launch
from ..ptx.module import Module
from . import abi
from .calls import return_depth
from .engine import WARP, compile_kernel
from .errors import JitUnsupported
from .pages import page_map
from .printf import PrintfSink, is_printf
from .sanitize import SanitizerSink, tools_of

WORKERS = max(1, min(os.cpu_count() or 1, 8))
_U64 = (1 << 64) - 1
MIN_BLOCKS_PER_WORKER = 1
# Quick-tier code runs a host thread's blocks in this many chunks (run_blocks).
QUICK_CHUNKS = 16
# A launch's blocks are shared out to its threads in this many chunks per thread (_Chunks),
# of at least CHUNK_BLOCKS blocks: a small launch (the seed program's 4 blocks) keeps one
# range per thread, and one call into the kernel each.
CHUNKS_PER_WORKER = 8
CHUNK_BLOCKS = 16


_REASONS = {
    abi.UNBACKED: "address not backed by a buffer object",
    abi.MISALIGNED_VECTOR: "misaligned vector access",
    abi.TRAP: "trap",
    abi.BARRIER_DEADLOCK: "barrier can never complete (deadlock)",
    abi.BARRIER_NUMBER: "barrier number out of range",
    abi.PARAM_ATOMIC: "atomic on kernel parameters",
    abi.PARAM_STORE: "store to kernel parameters",
    abi.PARAM_BOUNDS: "parameter access out of bounds or misaligned",
    abi.BAD_CALL: "indirect call to an address that is no callable function",
}


def _reason(code: int, width: int) -> str:
    if code == abi.MISALIGNED_GLOBAL:
        return f"misaligned {width}-byte access"
    return _REASONS.get(code, f"fault {code}")


def _sanitizer_slots(env: np.ndarray, sink: SanitizerSink, checks: Any, race: np.ndarray) -> None:
    card = checks.card
    env[abi.SANITIZER] = ctypes.cast(sink.callback, ctypes.c_void_p).value or 0
    env[abi.VRAM_BASE], env[abi.VRAM_SIZE] = card.vram_base, card.vram_size
    env[abi.INIT_SHADOW] = card.written.address if card.written is not None else 0
    env[abi.RACE] = race.ctypes.data


@functools.lru_cache(maxsize=64)
def _thread_ids(block: tuple[int, int, int], nwarps: int, width: int) -> tuple[np.ndarray, int]:
    """(nwarps, 3, width) uint32: each warp's lanes' %tid.x, %tid.y, %tid.z (shared, read-only),
    and its address (numpy's .ctypes costs microseconds per launch)."""
    t = np.arange(nwarps * width, dtype=np.uint32)
    bx, by, _ = block
    coords = np.stack([t % bx, (t // bx) % by, t // (bx * by)])
    ids = np.ascontiguousarray(coords.reshape(3, nwarps, width).transpose(1, 0, 2))
    ids.flags.writeable = False
    return ids, ids.ctypes.data


# Workspaces up to this many bytes are kept for the next launch of the same shape and
# zeroed then (cheaper than fresh arrays for the small launches whose cost is all set-up);
# larger ones are fresh zero pages every launch, as calloc gives them.
REUSE_BYTES = 256 << 10
_ALIGN = 64                 # of each array in a workspace's memory block
_KEPT_SHAPES = 32


class Workspace:
    """One worker's memory for a launch: shared, local and parameter memory, warp frames,
    return stacks, barrier state, the fault record and the environment block."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape
        nwarps, width, shared_stride, local_size, param_size, frame_bytes, depth = shape
        # every array but the environment lies in one zeroed block (each part 64-byte
        # aligned), so a relaunch clears them with one fill
        parts = ((shared_stride, np.uint8),
                 # per-lane memory and frames for every warp of a block: warps of a block interleave
                 (max(1, nwarps * width * local_size), np.uint8),
                 (max(1, nwarps * width * param_size), np.uint8),
                 (max(1, nwarps * frame_bytes), np.uint8),
                 (max(1, nwarps * width * depth), np.int32),
                 (abi.barstate_bytes(nwarps) + 8, np.uint8),
                 (abi.FAULT_SLOTS, np.int64))
        offsets, total = [], 0
        for count, dtype in parts:
            offsets.append(total)
            total += -(-count * np.dtype(dtype).itemsize // _ALIGN) * _ALIGN
        raw = np.zeros(total + _ALIGN, np.uint8)
        skip = -raw.ctypes.data % _ALIGN
        self.memory = raw[skip:skip + total]
        (self.shared, self.local, self.parmem, self.frames, self.returns, self.barstate, self.fault) = (
            self.memory[at:at + count * np.dtype(dtype).itemsize].view(dtype)
            for at, (count, dtype) in zip(offsets, parts))
        self.env = np.zeros(abi.ENV_SLOTS, np.int64)
        self.nbytes = self.memory.nbytes + self.env.nbytes
        # the environment slots that say where this workspace's memory is
        self.placement = (
            (abi.SHARED, self.shared.ctypes.data), (abi.SHARED_SIZE, shared_stride),
            (abi.LOCAL, self.local.ctypes.data), (abi.LOCAL_ALL, self.local.ctypes.data),
            (abi.LOCAL_STRIDE, local_size), (abi.PARMEM, self.parmem.ctypes.data),
            (abi.PARMEM_ALL, self.parmem.ctypes.data), (abi.FRAMES, self.frames.ctypes.data),
            (abi.CALLSTACK, self.returns.ctypes.data), (abi.CALLSTACK_ALL, self.returns.ctypes.data),
            (abi.BARSTATE, self.barstate.ctypes.data), (abi.PARAM_STRIDE, param_size),
            (abi.FAULT, self.fault.ctypes.data))
        self.env_addr = self.env.ctypes.data
        self._place()

    def _place(self) -> None:
        env = self.env
        for slot, value in self.placement:
            env[slot] = value

    def clear(self) -> None:
        """Back to what a fresh workspace holds: zeros, and the environment's placement."""
        self.memory.fill(0)
        self.env.fill(0)
        self._place()

    def clear_memory(self) -> None:
        """Zero every array but the environment (a planned launch copies that back whole)."""
        self.memory.fill(0)


_kept: OrderedDict[tuple[int, ...], list[Workspace]] = OrderedDict()
_kept_lock = threading.Lock()


def _take_workspace(shape: tuple[int, ...]) -> Workspace:
    with _kept_lock:
        free = _kept.get(shape)
        found = free.pop() if free else None
    if found is None:
        return Workspace(shape)
    found.clear()
    return found


def _give_back(spaces: list[Workspace]) -> None:
    """Keep small workspaces for the next launch of their shape (another card may run the
    same shape at the same time: each launch takes its own)."""
    with _kept_lock:
        for space in spaces:
            if space.nbytes > REUSE_BYTES:
                continue
            _kept.setdefault(space.shape, []).append(space)
            _kept.move_to_end(space.shape)
        while len(_kept) > _KEPT_SHAPES:
            _kept.popitem(last=False)


def _prints(flat: Any) -> bool:
    """Whether the kernel calls vprintf (only then does a launch need a printf callback)."""
    known = getattr(flat, "prints", None)
    if known is None:
        known = any(is_printf(item) for item in flat.code)
        flat.prints = known
    return bool(known)


def execute(module: Module, kernel: str, memory: Any, grid: tuple[int, int, int],
            block: tuple[int, int, int], params: bytes, dynamic_shared: int, globals_addr: int,
            printf: Callable[[str], None] | None = None, checks: Any = None, grid_sync: int = 0) -> None:
    """Run `kernel` natively; same contract as gdev_shim.ptx.execute.

    A cooperative launch (`grid_sync`, the word its grid-wide barriers count in) runs every
    block on its own thread, so that all are resident while one waits at such a barrier.

    JitUnsupported (before anything runs) when the kernel or launch is outside what the
    JIT compiles; KernelFault for a faulting thread.
    """
    grid, block, params = _check(module, kernel, grid, block, params, dynamic_shared)
    T = math.prod(block)
    nblocks = math.prod(grid)
    if T == 0 or nblocks == 0:
        return
    # always a whole warp: lanes past a small block's end stay masked off
    width = WARP
    nwarps = -(-T // width)
    instrument = tools_of(checks)
    compiled = compile_kernel(module, kernel, width, instrument)
    first = compiled.first_launch
    if first is not None and first.watch():
        # the quick tier's first launch: its optimisation waits for it to end (tiers.Gate)
        try:
            return execute(module, kernel, memory, grid, block, params, dynamic_shared, globals_addr,
                           printf=printf, checks=checks, grid_sync=grid_sync)
        finally:
            first.ended()
    flat = compiled.flat
    if compiled.max_kparam_read > len(params):
        raise JitUnsupported("kernel reads past the parameter buffer")
    prog = flat.prog
    shared_stride = max(16, (prog.dynamic_shared_offset + dynamic_shared + 15) // 16 * 16)
    pm = page_map(memory, precise=checks is not None)
    nworkers = nblocks if grid_sync else max(1, min(WORKERS, nblocks // MIN_BLOCKS_PER_WORKER))
    shape = (nwarps, width, shared_stride, prog.local_size, prog.param_size, compiled.frame_bytes,
             return_depth(flat))
    # a plan serves plain one-worker launches: the sanitizer's report their faults through
    # `checks`, printf and cooperative launches need per-launch state of their own
    if nworkers == 1 and not grid_sync and checks is None and not _prints(flat) and _run_planned(
            kernel, compiled, pm, shape, grid, block, params, dynamic_shared, globals_addr):
        return
    thread_ids, thread_ids_addr = _thread_ids(block, nwarps, width)
    sink = PrintfSink(memory, shared_stride, prog.local_size) if _prints(flat) else None
    callback = (ctypes.cast(sink.callback, ctypes.c_void_p).value or 0) if sink is not None else 0
    sanitizer = SanitizerSink(checks, flat, grid, block) if instrument else None
    # the parameters and 16 bytes of slack for the kernel's wide loads, read-only
    pbuf = ffi.from_buffer(params + bytes(16))
    spaces = [_take_workspace(shape) for _ in range(nworkers)]
    params_addr = int(ffi.cast("uintptr_t", pbuf))
    envs, faults, scratch = [], [], []
    for space in spaces:
        env, fault = space.env, space.fault
        _fill_env(env, params_addr, pm, globals_addr, grid, block, thread_ids_addr, callback)
        if sanitizer is not None:
            race = np.zeros(4 * shared_stride, np.int32)   # writers, readers, their lines
            scratch.append(race)
            _sanitizer_slots(env, sanitizer, checks, race)
        env[abi.DYN_SHARED] = dynamic_shared
        env[abi.NPARAMS] = len(params)
        env[abi.GRID_SYNC] = grid_sync
        envs.append(env)
        faults.append(fault)
    # a cooperative launch's threads each run their own block, all resident together
    chunks = _Chunks(nblocks, nworkers, 0 if grid_sync else CHUNKS_PER_WORKER)
    status = [0] * nworkers

    env_addrs = [space.env_addr for space in spaces]

    def work(i: int) -> None:
        status[i] = chunks.run(compiled, env_addrs[i], i)

    if grid_sync:
        _run_resident(work, nworkers, status, memory, grid_sync)
    elif nworkers == 1:
        work(0)
    else:
        threads = [threading.Thread(target=work, args=(i,)) for i in range(1, nworkers)]
        for t in threads:
            t.start()
        work(0)
        for t in threads:
            t.join()
    for i in sorted(range(nworkers), key=lambda w: chunks.failed[w]):
        if status[i] == 0:
            continue
        if status[i] != 1:
            raise RuntimeError(f"JIT kernel {kernel} returned {status[i]}")
        raise _fault(kernel, compiled, faults[i], grid, block, sink, checks)
    if sink is not None:
        sink.flush(printf)
    if sanitizer is None:
        _give_back(spaces)           # a sanitized launch's workspace holds pointers into its sink
    _ = (pm, pbuf, scratch, thread_ids, sanitizer)


def _fill_env(env: np.ndarray, params_addr: int, pm: Any, globals_addr: int, grid: tuple[int, int, int],
              block: tuple[int, int, int], thread_ids_addr: int, callback: int) -> None:
    """The environment slots that say where a launch's parameters, memory and shape are."""
    env[abi.PARAMS] = params_addr
    for slot, value in pm.env_slots:
        env[slot] = value
    globals_slot = globals_addr & _U64                  # as the int64 the environment holds
    if globals_slot >> 63:
        globals_slot -= 1 << 64
    env[abi.GLOBALS] = globals_slot
    env[abi.GX], env[abi.GY], env[abi.GZ] = grid
    env[abi.BX], env[abi.BY], env[abi.BZ] = block
    env[abi.THREAD_IDS] = thread_ids_addr
    env[abi.PRINTF] = callback


class _Plan:
    """A one-worker launch of a compiled kernel in one shape, kept for its relaunches: its
    workspace, its parameter buffer and its environment as it stands before the kernel runs
    (the kernel changes some slots), so a relaunch zeroes the workspace's memory, copies
    the environment back and writes the parameters.  One launch at a time uses it."""
    __slots__ = ("compiled", "pm", "space", "params", "params_ptr", "template", "lock", "thread_ids")

    def __init__(self, compiled: Any, pm: Any, shape: tuple[int, ...], grid: tuple[int, int, int],
                 block: tuple[int, int, int], nparams: int, dynamic_shared: int, globals_addr: int) -> None:
        self.compiled, self.pm = compiled, pm
        self.space = Workspace(shape)
        # the parameters and 16 bytes of slack for the kernel's wide loads
        self.params = np.zeros(nparams + 16, np.uint8)
        self.params_ptr = ffi.from_buffer(self.params)
        nwarps, width = shape[0], shape[1]
        self.thread_ids, thread_ids_addr = _thread_ids(block, nwarps, width)
        env = self.space.env
        _fill_env(env, self.params.ctypes.data, pm, globals_addr, grid, block, thread_ids_addr, 0)
        env[abi.DYN_SHARED] = dynamic_shared
        env[abi.NPARAMS] = nparams
        env[abi.GRID_SYNC] = 0
        self.template = env.copy()
        self.lock = threading.Lock()


_plans: OrderedDict[tuple, _Plan] = OrderedDict()
_plans_lock = threading.Lock()
_PLANS_KEPT = 32


def _run_planned(kernel: str, compiled: Any, pm: Any, shape: tuple[int, ...], grid: tuple[int, int, int],
                 block: tuple[int, int, int], params: bytes, dynamic_shared: int, globals_addr: int) -> bool:
    """Run a one-worker launch on its kept plan; False (nothing ran) when the workspace is too
    large to keep or another thread runs the same plan now.  An empty kernel's launch is
    mostly this set-up, which a program relaunching a kernel repeats unchanged."""
    key = (id(compiled), id(pm), shape, grid, block, dynamic_shared, globals_addr, len(params))
    with _plans_lock:
        plan = _plans.get(key)
    if plan is None or plan.compiled is not compiled or plan.pm is not pm:
        plan = _Plan(compiled, pm, shape, grid, block, len(params), dynamic_shared, globals_addr)
        if plan.space.nbytes > REUSE_BYTES:
            return False
        with _plans_lock:
            _plans[key] = plan
            while len(_plans) > _PLANS_KEPT:
                _plans.popitem(last=False)
    if not plan.lock.acquire(blocking=False):
        return False
    try:
        space = plan.space
        space.clear_memory()
        space.env[:] = plan.template
        ffi.memmove(plan.params_ptr, params, len(params))
        status = run_blocks(compiled, space.env_addr, 0, math.prod(grid))
        if status == 0:
            return True
        if status != 1:
            raise RuntimeError(f"JIT kernel {kernel} returned {status}")
        raise _fault(kernel, compiled, space.fault, grid, block, None)
    finally:
        plan.lock.release()


_SHAPES_KEPT = 64


def _check(module: Module, kernel: str, grid: tuple[int, int, int], block: tuple[int, int, int],
           params: bytes, dynamic_shared: int) -> tuple[tuple[int, int, int], tuple[int, int, int], bytes]:
    """check_launch, once per kernel and launch shape of a module (a relaunch of a shape
    that passed passes again; the parameters' bytes are whatever they are)."""
    if type(grid) is not tuple or type(block) is not tuple or type(params) is not bytes:
        return check_launch(module, kernel, grid, block, params, dynamic_shared)
    shapes = module.__dict__.setdefault("_jit_launch_shapes", {})
    key = (kernel, grid, block, len(params), dynamic_shared)
    known = shapes.get(key)
    if known is not None:
        return known[0], known[1], params
    grid, block, params = check_launch(module, kernel, grid, block, params, dynamic_shared)
    if len(shapes) >= _SHAPES_KEPT:
        shapes.clear()
    shapes[key] = (grid, block)
    return grid, block, params


class _Chunks:
    """A launch's blocks in `count` contiguous ranges, taken in order by its threads as
    each finishes the last: a thread the host deschedules (the machine's other processes
    sharing its cores) leaves its share to the others rather than holding the launch up
    to the end of its half.  A thread stops at its first fault, and every thread stops
    taking ranges past the first that faulted; the fault reported is then the one of
    the lowest block that faulted, as when each thread ran a fixed range in order."""

    def __init__(self, nblocks: int, nworkers: int, per_worker: int) -> None:
        """per_worker 0: each thread runs its own fixed range, in order of the threads."""
        self.fixed = per_worker == 0
        count = nworkers if self.fixed else max(nworkers, min(nworkers * per_worker, nblocks // CHUNK_BLOCKS))
        count = max(1, min(count, nblocks))
        self.bounds = [nblocks * i // count for i in range(count + 1)]
        self.lock = threading.Lock()
        self.next = 0
        self.first_failed = count
        self.failed = [count] * nworkers        # each thread's faulting range (count: none)

    def _take(self) -> int | None:
        with self.lock:
            i = self.next
            if i >= self.first_failed:
                return None
            self.next = i + 1
            return i

    def run(self, compiled: Any, env: int, worker: int) -> int:
        """Ranges on thread `worker` until none is left; its status (0: all ran)."""
        if self.fixed:
            status = run_blocks(compiled, env, self.bounds[worker], self.bounds[worker + 1])
            self.failed[worker] = worker if status else self.failed[worker]
            return status
        while (i := self._take()) is not None:
            status = run_blocks(compiled, env, self.bounds[i], self.bounds[i + 1])
            if status != 0:
                with self.lock:
                    self.failed[worker] = i
                    self.first_failed = min(self.first_failed, i)
                return status
        return 0


def run_blocks(compiled: Any, env: int, lo: int, hi: int) -> int:
    """Blocks [lo, hi) on one host thread; the kernel's status (0: all ran).

    Quick-tier code (`engine.py`) runs in chunks of blocks (each block is independent of
    the others), and between chunks the launch moves to the optimised code as soon as the
    background thread has built it: a long first launch does not run to its end on code
    several times slower.  Both tiers come from the same IR: same frames, same environment."""
    upgrade = compiled.upgrade
    if upgrade is None or hi - lo < 2:
        return compiled.fn(env, lo, hi)
    chunk = max(1, (hi - lo) // QUICK_CHUNKS)
    while lo < hi:
        if upgrade.done():
            better = upgrade.result()
            if better is not None and better.frame_bytes == compiled.frame_bytes:
                return better.fn(env, lo, hi)
            return compiled.fn(env, lo, hi)
        end = min(hi, lo + chunk)
        status = compiled.fn(env, lo, end)
        if status != 0:
            return status
        lo = end
    return 0


def _run_resident(work: Callable[[int], None], nworkers: int, status: list[int], memory: Any,
                  grid_sync: int) -> None:
    """Every block at once, one thread each.  A block that faults never reaches the grid's
    barriers: the others are released (the barrier word's arrival bit flipped until they
    end), since the launch has failed anyway."""
    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(nworkers)]
    for t in threads:
        t.start()
    word = np.array([grid_sync + 4], np.uint64)
    while any(t.is_alive() for t in threads):
        if any(s not in (0, None) for s in status):
            memory.store(word, memory.load(word, np.uint32) ^ np.uint32(0x8000_0000))
        for t in threads:
            t.join(0.05)
            if any(s not in (0, None) for s in status):
                break


def _fault(kernel: str, compiled: Any, rec: np.ndarray, grid: tuple[int, int, int],
           block: tuple[int, int, int], sink: PrintfSink | None, checks: Any = None) -> KernelFault:
    reason, lane, addr, pc, blk, ws = (int(v) for v in rec[:6])
    flat = compiled.flat
    item = flat.code[pc]
    t = ws + lane
    bx, by, _ = block
    gx, gy, _ = grid
    thread = (t % bx, (t // bx) % by, t // (bx * by))
    where = (blk % gx, (blk // gx) % gy, blk // (gx * gy))
    address = None if addr == -1 else addr & (2**64 - 1)
    cls, reason = reason >> 8, reason & 0xFF
    if reason == abi.PRINTF_FAULT and sink is not None and sink.fault is not None:
        address, text = sink.fault
    elif reason == abi.BRX_RANGE:
        targets = item.fn.targets[item.ins.operands[1][1]]
        text = f"brx.idx index {addr} out of range ({len(targets)} targets)"
        address = None
    elif reason == abi.STACK_OVERFLOW:
        callee = list(flat.functions)[addr]
        address = None
        text = f"stack overflow calling {callee} ({flat.prog.local_size} bytes per thread)"
    elif reason in (abi.MISALIGNED_WINDOW, abi.WINDOW_BOUNDS):
        space = abi.SPACE_NAMES.get(cls, "local")
        text = (f"misaligned {space} access" if reason == abi.MISALIGNED_WINDOW
                else f"{space} access out of bounds")
    else:
        width = _access_width(item) if reason == abi.MISALIGNED_GLOBAL and item.ins is not None else 0
        text = _reason(reason, width)
        base = form_of(item.ins).base if item.ins is not None else ""
        # the interpreter's memcheck sees loads and stores (atomics fault unreported)
        if (checks is not None and "memcheck" in checks.tools and base in ("ld", "st")
                and reason in (abi.UNBACKED, abi.MISALIGNED_GLOBAL) and address is not None):
            checks.native_fault(where, thread, item.text, address, _access_width(item), base == "st")
            text = "sanitizer: invalid global access"
    return KernelFault(kernel, where, thread, item.text, address, text)


def _access_width(item: Any) -> int:
    from .memops import _type
    return int(_type(item, form_of(item.ins))[1:]) // 8
