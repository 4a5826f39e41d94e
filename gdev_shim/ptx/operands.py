"""Operand readers and writers: closures over register slots, built once at decode time.

A reader is `f(st, lanes) -> array | scalar` giving the operand as the instruction's type;
a writer is `f(st, lanes, value)`. `lanes` is None (every lane) or an index array.
Registers keep raw bits in an unsigned array of their declared width.
"""
from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

from ..settings import settings
from .errors import PtxError
from .ptxtypes import DTYPE, FLOAT, SINT, SIZE, UINT, storage_of

Reader = Callable[[Any, Any], Any]
Writer = Callable[[Any, Any, Any], None]

SPECIAL_64 = {"%gridid", "%clock64", "%globaltimer"}
# Clock registers, read when the instruction runs by both kernel engines: a 1 GHz cycle
# counter (the host's monotonic clock in ns) and the wall clock in ns.
CLOCKS = {"%clock": time.CLOCK_MONOTONIC, "%clock64": time.CLOCK_MONOTONIC,
          "%globaltimer": time.CLOCK_REALTIME}


def sm_count() -> int:
    """%nsmid: blocks are spread over the card's arrays, block b on %smid = b mod this."""
    return max(1, settings.sim_spe_arrays)


def imm_value(op: tuple, t: str, line: int) -> np.generic:
    """An immediate operand as a numpy scalar of type t."""
    dt = DTYPE.get(t)
    if dt is None:
        raise PtxError(f"unsupported immediate type .{t}", line)
    kind = op[0]
    if t == "pred":
        return np.bool_(op[1] != 0) if kind == "imm" else np.bool_(False)
    if kind == "imm":
        if dt.kind == "f":
            return dt.type(op[1])
        mask = (1 << (8 * dt.itemsize)) - 1
        return np.array(op[1] & mask, UINT[dt.itemsize]).view(dt)[()]
    if kind == "fimm":
        bits, width = op[1], op[2]
        value = np.array(bits, UINT[width // 8]).view(FLOAT[width // 8])[()]
        if dt.kind == "f":
            return dt.type(value)
        if dt.itemsize == width // 8:               # raw bits for a .b type
            return np.array(bits, UINT[width // 8]).view(dt)[()]
        return dt.type(value)
    if kind == "fval":
        return dt.type(op[1])
    raise PtxError(f"bad immediate {op!r}", line)


def convert_read(raw: Any, storage: np.dtype, t: str) -> Any:
    """Reinterpret raw register bits as type t (truncating or extending the width)."""
    dt = DTYPE[t]
    if storage == dt:
        return raw
    if dt.kind == "b":
        return raw != 0
    if storage.kind == "b":
        return raw.astype(dt)
    if storage.itemsize == dt.itemsize:
        return raw.view(dt)
    if storage.itemsize > dt.itemsize:
        return raw.astype(UINT[dt.itemsize]).view(dt)
    if dt.kind == "i":       # a narrow register read as a wider signed type: sign-extend
        return raw.view(SINT[storage.itemsize]).astype(dt)
    return raw.astype(UINT[dt.itemsize]).view(dt)


def convert_write(value: Any, t: str, storage: np.dtype) -> Any:
    """Raw bits of `value` (type t) for a register of `storage` width."""
    dt = DTYPE[t]
    value = np.asarray(value)
    if value.dtype != dt:
        value = value.astype(dt)
    if storage.kind == "b":
        return value != 0
    if dt.kind == "b":
        return value.astype(storage)
    if dt.itemsize == storage.itemsize:
        return value.view(storage)
    if dt.itemsize < storage.itemsize:
        if dt.kind == "i":   # narrow signed values sign-extend into wide registers
            return value.astype(SINT[storage.itemsize]).view(storage)
        return value.view(UINT[dt.itemsize]).astype(storage)
    return value.view(UINT[dt.itemsize]).astype(storage)


def reg_reader(slot: int, storage: np.dtype, t: str) -> Reader:
    dt = DTYPE[t]
    if storage == dt:
        def read(st: Any, lanes: Any) -> Any:
            arr = st.regs[slot]
            if arr is None:
                arr = st.reg(slot)
            return arr if lanes is None else arr[lanes]
    elif storage.itemsize == dt.itemsize and storage.kind != "b" and dt.kind != "b":
        def read(st: Any, lanes: Any) -> Any:
            arr = st.regs[slot]
            if arr is None:
                arr = st.reg(slot)
            return (arr if lanes is None else arr[lanes]).view(dt)
    else:
        def read(st: Any, lanes: Any) -> Any:
            arr = st.regs[slot]
            if arr is None:
                arr = st.reg(slot)
            return convert_read(arr if lanes is None else arr[lanes], storage, t)
    return read


def reg_writer(slot: int, storage: np.dtype, t: str) -> Writer:
    def write(st: Any, lanes: Any, value: Any) -> None:
        raw = convert_write(value, t, storage)
        arr = st.regs[slot]
        if arr is None:
            arr = st.reg(slot)
        if lanes is None:
            arr[...] = raw
        else:
            arr[lanes] = raw
    return write


def special_reader(name: str, t: str, line: int) -> Reader:
    width = 8 if name in SPECIAL_64 else 4
    src = UINT[width]

    if name in CLOCKS:
        clock = CLOCKS[name]
        mask = (1 << (8 * width)) - 1

        def read_clock(st: Any, lanes: Any) -> Any:
            return convert_read(np.asarray(time.clock_gettime_ns(clock) & mask, src), src, t)
        return read_clock

    def read(st: Any, lanes: Any) -> Any:
        try:
            v = st.special[name]
        except KeyError:
            raise PtxError(f"unsupported special register {name}", line) from None
        if lanes is not None and isinstance(v, np.ndarray):
            v = v[lanes]
        return convert_read(np.asarray(v, src) if not isinstance(v, np.ndarray) else v, src, t)
    return read


def is_special(name: str) -> bool:
    base = name.split(".")[0]
    return base in _SPECIALS


_SPECIALS = {"%tid", "%ntid", "%ctaid", "%nctaid", "%laneid", "%warpid", "%nwarpid", "%smid",
             "%nsmid", "%gridid", "%clock", "%clock64", "%lanemask_eq", "%lanemask_le",
             "%lanemask_lt", "%lanemask_ge", "%lanemask_gt", "%dynamic_smem_size",
             "%total_smem_size", "%globaltimer"} | {f"%envreg{i}" for i in range(32)}


def width_of(t: str) -> int:
    return SIZE[t]


__all__ = ["CLOCKS", "SPECIAL_64", "sm_count", "Reader", "Writer", "imm_value", "convert_read",
           "convert_write", "reg_reader", "reg_writer", "special_reader", "is_special", "storage_of",
           "width_of"]
