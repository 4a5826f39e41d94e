"""Calls: per-lane stack frames in local memory, parameter passing, saves for recursion.

Every function has a frame: its .local variables, then (only if it has a call site
that may re-enter it) a save area for its registers and its parameter region. A lane's
frame pointer `st.fp` is its frame's byte offset in its local memory; a call moves it
past the caller's frame, the code after the call moves it back. Return values travel
through a return buffer at the start of the parameter memory, so a call through a
pointer needs no knowledge of which function answered.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .module import align_up
from .ptxtypes import UINT

# Per-thread stack of a kernel that may recurse (CUDA's default is 1 KiB; generous here).
RECURSION_STACK = 16 << 10


@dataclass
class Frame:
    name: str
    locals_size: int = 0
    param_start: int = 0          # this function's region of the per-lane parameter memory
    param_end: int = 0
    saves: bool = False           # has a call site that may re-enter it
    reg_saves: list[tuple[int, int, int]] = field(default_factory=list)  # (slot, offset, width)
    param_save: int = 0           # offset of the saved parameter bytes in the frame
    size: int = 0                 # bytes, a multiple of 16

    def finish(self, slots: list[tuple[int, np.dtype]]) -> None:
        """Lay out the save area once the function's registers are known."""
        off = align_up(self.locals_size, 16)
        if self.saves:
            for slot, dt in sorted(slots, key=lambda s: -s[1].itemsize):
                self.reg_saves.append((slot, off, dt.itemsize))
                off += dt.itemsize
            self.param_save = off
            off += self.param_end - self.param_start
        self.size = align_up(off, 16)


def _ids(st: Any, lanes: Any) -> np.ndarray:
    return np.arange(st.L, dtype=np.int64) if lanes is None else lanes


def _save(st: Any, ids: np.ndarray, frame: Frame) -> None:
    base = ids * st.local_stride + st.fp[ids]
    for slot, off, width in frame.reg_saves:
        view = st.local.view(UINT[width])
        view[(base + off) // width] = st.reg(slot)[ids].view(UINT[width])
    n = frame.param_end - frame.param_start
    if n:
        pm = st.parmem.reshape(st.L, st.param_stride)
        st.local[(base + frame.param_save)[:, None] + np.arange(n)] = \
            pm[ids, frame.param_start:frame.param_end]


def _restore(st: Any, ids: np.ndarray, frame: Frame) -> None:
    base = ids * st.local_stride + st.fp[ids]
    for slot, off, width in frame.reg_saves:
        reg = st.reg(slot)
        reg[ids] = st.local.view(UINT[width])[(base + off) // width].view(reg.dtype)
    n = frame.param_end - frame.param_start
    if n:
        pm = st.parmem.reshape(st.L, st.param_stride)
        pm[ids, frame.param_start:frame.param_end] = \
            st.local[(base + frame.param_save)[:, None] + np.arange(n)]


Copies = list[tuple[int, int, int]]      # (source offset, destination offset, bytes)


def _copy(st: Any, lanes: Any, copies: Copies) -> None:
    if not copies:
        return
    pm = st.parmem.reshape(st.L, st.param_stride)
    rows = slice(None) if lanes is None else lanes
    for src, dst, size in copies:
        pm[rows, dst:dst + size] = pm[rows, src:src + size]


def precall(caller: Frame, callee: Frame, args: Copies, recursive: bool, text: str
            ) -> Callable[[Any, Any], None]:
    """Save (if re-entrant), pass arguments, push the caller's frame."""
    def run(st: Any, lanes: Any) -> None:
        ids = _ids(st, lanes)
        if recursive:
            _save(st, ids, caller)
        _copy(st, lanes, args)
        fp = st.fp[ids] + caller.size
        over = fp + callee.size > st.local_stride
        if over.any():
            lane = int(ids[np.flatnonzero(over)[0]])
            raise st.fault(lane, text, None,
                           f"stack overflow calling {callee.name} ({st.local_stride} bytes per thread)")
        st.fp[ids] = fp
    return run


def postcall(caller: Frame, rets: Copies, recursive: bool) -> Callable[[Any, Any], None]:
    """Pop the caller's frame, restore it if saved, fetch return values from the buffer."""
    def run(st: Any, lanes: Any) -> None:
        ids = _ids(st, lanes)
        st.fp[ids] -= caller.size
        if not recursive:
            _copy(st, lanes, rets)
            return
        pm = st.parmem.reshape(st.L, st.param_stride)
        values = [pm[ids, src:src + size].copy() for src, _, size in rets]
        _restore(st, ids, caller)
        for (_, dst, size), v in zip(rets, values):
            pm[ids, dst:dst + size] = v
    return run


def returner(copies: Copies) -> Callable[[Any, Any], None] | None:
    """At `ret`: copy the function's return values into the return buffer."""
    if not copies:
        return None
    return lambda st, lanes: _copy(st, lanes, copies)


__all__ = ["Frame", "RECURSION_STACK", "precall", "postcall", "returner"]
