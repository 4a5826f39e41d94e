"""The clock special registers (%clock, %clock64, %globaltimer), read when the instruction runs.

Both engines read the same host clocks (ptx/operands.py CLOCKS) through clock_gettime.
"""
from __future__ import annotations

import ctypes
from typing import Any

from llvmlite import ir

from ..ptx.operands import CLOCKS
from .lanes import I32, I64, entry_alloca

_registered = False


def _register_symbol() -> None:
    """Make the C library's clock_gettime known to the JIT linker by address."""
    global _registered
    if not _registered:
        import llvmlite.binding as llvm
        fn = ctypes.CDLL(None).clock_gettime
        llvm.add_symbol("clock_gettime", ctypes.cast(fn, ctypes.c_void_p).value)
        _registered = True


def read(kc: Any, name: str) -> ir.Value:
    """Lane vector of the clock register `name` now (u32 for %clock, u64 for the others)."""
    _register_symbol()
    b, L = kc.b, kc.lanes
    timespec = ir.ArrayType(I64, 2)             # struct timespec on 64-bit Linux
    fn = kc.m.globals.get("clock_gettime")
    if fn is None:
        fn = ir.Function(kc.m, ir.FunctionType(I32, [I32, ir.PointerType(timespec)]),
                         name="clock_gettime")
    ts = entry_alloca(kc.fn, timespec, name="timespec")
    b.call(fn, [ir.Constant(I32, CLOCKS[name]), ts])
    zero = ir.Constant(I32, 0)
    sec = b.load(b.gep(ts, [zero, zero]))
    nsec = b.load(b.gep(ts, [zero, ir.Constant(I32, 1)]))
    ns = b.add(b.mul(sec, ir.Constant(I64, 1_000_000_000)), nsec)
    return L.splat(b.trunc(ns, I32) if name == "%clock" else ns)
