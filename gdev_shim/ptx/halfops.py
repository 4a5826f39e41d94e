"""Half precision: .f16 / .bf16 scalars and their packed .f16x2 / .bf16x2 pairs.

Registers hold raw bits (16 per value, pairs low half first). Values are widened to
double, where add/sub/mul/div are exact or rounded far below half precision, and
rounded once to the narrow format (fma rounds to odd in double first, so that the
second rounding is still correct).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import approx, fpexact
from .errors import PtxError
from .form import Form
from .ptxast import Instr

_U16 = np.uint16
_U32 = np.uint32


def decode(bits: Any, bf: bool) -> np.ndarray:
    """16-bit patterns -> float64 values."""
    b = np.asarray(bits).astype(_U16)
    if bf:
        return (b.astype(_U32) << _U32(16)).view(np.float32).astype(np.float64)
    return b.view(np.float16).astype(np.float64)


def f32_to_bf16(x: Any) -> np.ndarray:
    """float32 -> bf16 bits, round to nearest even (NaN stays a quiet NaN)."""
    u = np.asarray(x, np.float32).view(_U32)
    rounded = (u + _U32(0x7FFF) + ((u >> _U32(16)) & _U32(1))) >> _U32(16)
    nan = np.isnan(np.asarray(x, np.float32))
    return np.where(nan, (u >> _U32(16)) | _U32(0x40), rounded).astype(_U16)


def encode(x64: Any, bf: bool, odd: bool = False) -> np.ndarray:
    """float64 -> 16-bit patterns, round to nearest even.

    `odd`: x64 carries a double rounded to odd (only bf16 needs care: it goes
    through float, which must round to odd as well).
    """
    x64 = np.asarray(x64, np.float64)
    if bf:
        return f32_to_bf16(fpexact.ro_to_f32(x64))
    return x64.astype(np.float16).view(_U16)


def _flush(x: np.ndarray, bf: bool) -> np.ndarray:
    tiny = 2.0 ** -126 if bf else 2.0 ** -14
    return np.where(np.abs(x) < tiny, np.copysign(0.0, x), x)


def _fma_odd(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    # a*b is exact in double for 11/8-bit significands; the sum rounds to odd.
    s, e = fpexact.two_sum(a * b, c)
    return np.where(np.isfinite(s), fpexact.round_odd(s, np.where(np.isfinite(e), e, 0)), s)


def _op_table(nan: bool) -> dict[str, tuple[int, Callable]]:
    return {"add": (2, np.add), "sub": (2, np.subtract), "mul": (2, np.multiply),
            "fma": (3, _fma_odd), "neg": (1, np.negative), "abs": (1, np.abs),
            "min": (2, fpexact.fminmax(True, nan)), "max": (2, fpexact.fminmax(False, nan)),
            "ex2": (1, approx.exp2), "tanh": (1, approx.tanh64),
            "sqrt": (1, np.sqrt), "rsqrt": (1, lambda a: 1.0 / np.sqrt(a)),
            "rcp": (1, lambda a: 1.0 / a), "sin": (1, np.sin), "cos": (1, np.cos),
            "lg2": (1, np.log2), "div": (2, np.divide)}


def build(ins: Instr, f: Form, ctx: Any, t: str) -> Callable:
    """add/sub/mul/fma/neg/abs/min/max/... on f16, bf16, f16x2, bf16x2."""
    base = f.base
    table = _op_table(f.has("NaN"))
    if base not in table:
        raise PtxError(f"unsupported instruction {ins.opcode}", ins.line)
    n, fn = table[base]
    bf = t.startswith("bf16")
    pair = t.endswith("x2")
    raw = "b32" if pair else "b16"
    ops = ins.operands
    if len(ops) != n + 1:
        raise PtxError(f"{ins.opcode} takes {n + 1} operands", ins.line)
    dst = ctx.writer(ops[0], raw)
    srcs = [ctx.reader(o, raw) for o in ops[1:]]
    ftz = f.ftz
    sat = f.sat
    odd = base == "fma"
    bitwise = base in ("neg", "abs")       # sign-bit operations, NaN payloads kept

    def compute(vals: list[np.ndarray]) -> np.ndarray:
        if bitwise:
            bits = vals[0].astype(_U16)
            return (bits ^ _U16(0x8000)) if base == "neg" else (bits & _U16(0x7FFF))
        xs = [decode(v, bf) for v in vals]
        if ftz:
            xs = [_flush(x, bf) for x in xs]
        with np.errstate(all="ignore"):
            r = np.asarray(fn(*xs), np.float64)
        if sat:
            r = np.where(np.isnan(r), 0.0, np.clip(r, 0.0, 1.0))
        out = encode(r, bf, odd)
        if ftz:
            out = encode(_flush(decode(out, bf), bf), bf)
        return out

    def run(st: Any, lanes: Any) -> None:
        vals = [np.asarray(r(st, lanes)) for r in srcs]
        if not pair:
            dst(st, lanes, compute(vals))
            return
        lo = compute([(v.astype(_U32) & _U32(0xFFFF)) for v in vals]).astype(_U32)
        hi = compute([(v.astype(_U32) >> _U32(16)) for v in vals]).astype(_U32)
        dst(st, lanes, lo | (hi << _U32(16)))
    return run


def compare(ins: Instr, cmp: Callable, t: str, ctx: Any, ops: list) -> Callable[[Any, Any], Any]:
    """A reader pair for setp on half types: values widened to double."""
    bf = t.startswith("bf16")
    ra, rb = ctx.reader(ops[1], "b16"), ctx.reader(ops[2], "b16")
    return lambda st, lanes: cmp(decode(ra(st, lanes), bf), decode(rb(st, lanes), bf))


__all__ = ["decode", "encode", "f32_to_bf16", "build", "compare"]
