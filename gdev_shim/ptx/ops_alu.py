"""Arithmetic, logic, compare, select, convert and move instructions as numpy closures.

Each builder takes (instruction, decoded form, decoding context) and returns `f(st, lanes)`.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import approx, fpexact, halfops
from .errors import PtxError
from .form import Form
from .ptxast import Instr
from .ptxtypes import DTYPE, SINT, SIZE, UINT

_F32_TINY = np.float32(1.17549435e-38)
_ROUND_INT = {"rni": np.rint, "rzi": np.trunc, "rmi": np.floor, "rpi": np.ceil}
_BREV8 = np.array([int(f"{i:08b}"[::-1], 2) for i in range(256)], np.uint8)


def types_of(ins: Instr, f: Form, want: int = 1) -> tuple[str, ...]:
    """The instruction's types, at least `want` of them; no 128-bit arithmetic."""
    if len(f.types) < want:
        raise PtxError(f"{ins.opcode}: missing type", ins.line)
    if "b128" in f.types and f.base not in ("mov", "ld", "st"):
        raise PtxError(f"{ins.opcode}: .b128 arithmetic is not supported", ins.line)
    return f.types


def _operands(ins: Instr, n: int) -> list[tuple]:
    if len(ins.operands) != n:
        raise PtxError(f"{ins.opcode} takes {n} operands, found {len(ins.operands)}", ins.line)
    return ins.operands


def _flush(x: Any) -> Any:
    return np.where(np.abs(x) < _F32_TINY, np.copysign(np.float32(0), x), x).astype(np.float32)


def _sat(x: Any) -> Any:
    return np.where(np.isnan(x), x.dtype.type(0) if hasattr(x, "dtype") else 0, np.clip(x, 0, 1))


round_f32 = fpexact.round_f32


def _simple(ins: Instr, ctx: Any, t: str, nsrc: int, fn: Callable, dst_t: str | None = None,
            src_ts: list[str] | None = None) -> Callable:
    ops = _operands(ins, nsrc + 1)
    dst = ctx.writer(ops[0], dst_t or t)
    srcs = [ctx.reader(o, (src_ts[i] if src_ts else t)) for i, o in enumerate(ops[1:])]
    if nsrc == 1:
        r0 = srcs[0]
        return lambda st, lanes: dst(st, lanes, fn(r0(st, lanes)))
    if nsrc == 2:
        r0, r1 = srcs
        return lambda st, lanes: dst(st, lanes, fn(r0(st, lanes), r1(st, lanes)))
    if nsrc == 3:
        r0, r1, r2 = srcs
        return lambda st, lanes: dst(st, lanes, fn(r0(st, lanes), r1(st, lanes), r2(st, lanes)))
    r = srcs

    def run(st: Any, lanes: Any) -> None:
        dst(st, lanes, fn(*[x(st, lanes) for x in r]))
    return run


def _float_wrap(fn: Callable, f: Form, t: str) -> Callable:
    """Apply .ftz to inputs/outputs and .sat to the result of a float operation."""
    ftz = f.ftz and t == "f32"
    sat = f.sat
    if not (ftz or sat):
        return fn

    def wrapped(*args: Any) -> Any:
        if ftz:
            args = tuple(_flush(np.asarray(a, np.float32)) for a in args)
        r = np.asarray(fn(*args))
        if ftz:
            r = _flush(r)
        if sat:
            r = _sat(r)
        return r
    return wrapped


def _f32_directed(op: Callable, mode: str) -> Callable:
    def run(*args: Any) -> Any:
        return round_f32(op(*[np.asarray(a, np.float64) for a in args]), mode)
    return run


# -- integer helpers -----------------------------------------------------------

def _mulhi(a: Any, b: Any, t: str) -> Any:
    w = SIZE[t]
    if w <= 4:
        wide = np.int64 if t.startswith("s") else np.uint64
        return ((np.asarray(a).astype(wide) * np.asarray(b).astype(wide)) >> wide(8 * w)).astype(DTYPE[t])
    au = np.asarray(a).view(np.uint64) if np.ndim(a) else np.uint64(np.asarray(a).view(np.uint64))
    bu = np.asarray(b).view(np.uint64) if np.ndim(b) else np.uint64(np.asarray(b).view(np.uint64))
    m = np.uint64(0xFFFFFFFF)
    s32 = np.uint64(32)
    al, ah, bl, bh = au & m, au >> s32, bu & m, bu >> s32
    p0, p1, p2, p3 = al * bl, al * bh, ah * bl, ah * bh
    mid = (p0 >> s32) + (p1 & m) + (p2 & m)
    hi = p3 + (p1 >> s32) + (p2 >> s32) + (mid >> s32)
    if t.startswith("s"):
        hi = hi - np.where(np.asarray(a) < 0, bu, np.uint64(0)) - np.where(np.asarray(b) < 0, au, np.uint64(0))
    return np.asarray(hi).view(DTYPE[t]) if np.ndim(hi) else np.asarray(hi).view(DTYPE[t])[()]


def _wide_t(t: str) -> str:
    return {"u16": "u32", "s16": "s32", "u32": "u64", "s32": "s64"}.get(t, "")


def _idiv(a: Any, b: Any, t: str, rem: bool) -> Any:
    dt = DTYPE[t]
    a = np.asarray(a)
    b = np.asarray(b)
    zero = b == 0
    safe = np.where(zero, dt.type(1), b).astype(dt)
    if dt.kind == "u":
        r = (a % safe) if rem else (a // safe)
        return np.where(zero, a if rem else dt.type(np.iinfo(dt).max), r).astype(dt)
    # Truncating division on magnitudes in uint64 (INT_MIN / -1 wraps to INT_MIN, rem 0).
    aw, bw = a.astype(np.int64), safe.astype(np.int64)
    ua = np.where(aw < 0, np.negative(aw.view(np.uint64)), aw.view(np.uint64))
    ub = np.where(bw < 0, np.negative(bw.view(np.uint64)), bw.view(np.uint64))
    uq, ur = ua // ub, ua % ub
    q = np.where((aw < 0) != (bw < 0), np.negative(uq), uq)
    r = np.where(aw < 0, np.negative(ur), ur)
    res = (r if rem else q).astype(UINT[dt.itemsize]).view(dt)
    return np.where(zero, a if rem else dt.type(-1), res).astype(dt)


def _shift(a: Any, n: Any, t: str, left: bool) -> Any:
    dt = DTYPE[t]
    w = 8 * dt.itemsize
    n = np.asarray(n).astype(np.uint32)
    big = n >= w
    if left or dt.kind != "i":
        ua = np.asarray(a).view(UINT[dt.itemsize]) if np.ndim(a) else np.asarray(a).astype(dt).view(UINT[dt.itemsize])
        s = np.minimum(n, w - 1).astype(UINT[dt.itemsize])
        r = np.left_shift(ua, s) if left else np.right_shift(ua, s)
        return np.where(big, UINT[dt.itemsize].type(0), r).astype(UINT[dt.itemsize]).view(dt) \
            if np.ndim(r) else np.where(big, 0, r).astype(UINT[dt.itemsize]).view(dt)
    s = np.minimum(n, w - 1).astype(dt)
    return np.right_shift(np.asarray(a, dt), s)


def _bitlen(x: Any, w: int) -> Any:
    x = np.asarray(x).astype(np.uint64)
    if w <= 4:
        _, e = np.frexp(x.astype(np.float64))
        return np.where(x == 0, 0, e).astype(np.int64)
    hi = x >> np.uint64(32)
    lo = x & np.uint64(0xFFFFFFFF)
    _, eh = np.frexp(hi.astype(np.float64))
    _, el = np.frexp(lo.astype(np.float64))
    return np.where(hi != 0, eh + 32, np.where(lo == 0, 0, el)).astype(np.int64)


def _mask(bits: Any) -> Any:
    """(1 << bits) - 1 as uint64 for 0 <= bits <= 64."""
    bits = np.asarray(bits).astype(np.uint64)
    return np.where(bits >= 64, np.uint64(0xFFFF_FFFF_FFFF_FFFF),
                    (np.uint64(1) << np.minimum(bits, np.uint64(63))) - np.uint64(1))


def _bfe(a: Any, b: Any, c: Any, t: str) -> Any:
    dt = DTYPE[t]
    w = 8 * dt.itemsize
    pos = np.asarray(b).astype(np.uint64) & np.uint64(0xFF)
    ln = np.asarray(c).astype(np.uint64) & np.uint64(0xFF)
    ua = np.asarray(a).view(UINT[dt.itemsize]).astype(np.uint64) if np.ndim(a) else \
        np.uint64(np.asarray(a).view(UINT[dt.itemsize]))
    eff = np.minimum(ln, np.where(pos >= w, np.uint64(0), np.uint64(w) - np.minimum(pos, np.uint64(w))))
    m = _mask(eff)
    r = (ua >> np.minimum(pos, np.uint64(63))) & m
    if dt.kind == "i":
        top = np.minimum(pos + ln - np.uint64(1), np.uint64(w - 1))
        sbit = np.where(ln == 0, np.uint64(0), (ua >> top) & np.uint64(1))
        r = np.where(sbit == 1, r | ~m, r)
    return np.asarray(r).astype(UINT[dt.itemsize]).view(dt)


def _bfi(a: Any, b: Any, c: Any, d: Any, t: str) -> Any:
    dt = DTYPE[t]
    w = 8 * dt.itemsize
    pos = np.asarray(c).astype(np.uint64) & np.uint64(0xFF)
    ln = np.asarray(d).astype(np.uint64) & np.uint64(0xFF)
    ua = np.asarray(a).astype(np.uint64)
    ub = np.asarray(b).astype(np.uint64)
    ps = np.minimum(pos, np.uint64(63))
    m = (_mask(ln) << ps) & _mask(np.uint64(w))
    m = np.where(pos >= w, np.uint64(0), m)
    r = (ub & ~m) | ((ua << ps) & m)
    return np.asarray(r).astype(dt)


# prmt.{f4e,b4e,rc8,ecl,ecr,rc16}: for c[1:0], the source byte of d.b0..d.b3.
_PRMT_MODES = {
    "f4e": [[0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5], [3, 4, 5, 6]],
    "b4e": [[0, 7, 6, 5], [1, 0, 7, 6], [2, 1, 0, 7], [3, 2, 1, 0]],
    "rc8": [[0, 0, 0, 0], [1, 1, 1, 1], [2, 2, 2, 2], [3, 3, 3, 3]],
    "ecl": [[0, 1, 2, 3], [1, 1, 2, 3], [2, 2, 2, 3], [3, 3, 3, 3]],
    "ecr": [[0, 0, 0, 0], [0, 1, 1, 1], [0, 1, 2, 2], [0, 1, 2, 3]],
    "rc16": [[0, 1, 0, 1], [2, 3, 2, 3], [0, 1, 0, 1], [2, 3, 2, 3]],
}


def _prmt_mode(a: Any, b: Any, c: Any, mode: str) -> Any:
    x = np.asarray(a).astype(np.uint64) | (np.asarray(b).astype(np.uint64) << np.uint64(32))
    sel = np.asarray(c).astype(np.int64) & 3
    table = np.array(_PRMT_MODES[mode], np.uint64)[sel]          # (..., 4) byte indices
    out = np.uint64(0)
    for i in range(4):
        byte = (x >> (np.uint64(8) * table[..., i])) & np.uint64(0xFF)
        out = out | (byte << np.uint64(8 * i))
    return np.asarray(out).astype(np.uint32)


def _dot(a: Any, b: Any, c: Any, sa: bool, sb: bool, parts: int, hi: bool) -> Any:
    """dp4a (parts=4: bytes of a and b) / dp2a (16-bit halves of a, two bytes of b)."""
    ua = np.asarray(a).astype(np.uint32).astype(np.int64)
    ub = np.asarray(b).astype(np.uint32).astype(np.int64)
    acc = np.asarray(c).astype(np.int64)
    for i in range(4 if parts == 4 else 2):
        if parts == 4:
            x = (ua >> (8 * i)) & 0xFF
            if sa:
                x = x - ((x & 0x80) << 1)
        else:
            x = (ua >> (16 * i)) & 0xFFFF
            if sa:
                x = x - ((x & 0x8000) << 1)
        y = (ub >> (8 * (i + (2 if (parts == 2 and hi) else 0)))) & 0xFF
        if sb:
            y = y - ((y & 0x80) << 1)
        acc = acc + x * y
    return acc


def _prmt(a: Any, b: Any, c: Any) -> Any:
    x = np.asarray(a).astype(np.uint64) | (np.asarray(b).astype(np.uint64) << np.uint64(32))
    c = np.asarray(c).astype(np.uint64)
    out = np.uint64(0)
    for i in range(4):
        sel = (c >> np.uint64(4 * i)) & np.uint64(0xF)
        byte = (x >> (np.uint64(8) * (sel & np.uint64(7)))) & np.uint64(0xFF)
        byte = np.where(sel & np.uint64(8), np.where(byte & np.uint64(0x80), np.uint64(0xFF), np.uint64(0)), byte)
        out = out | (byte << np.uint64(8 * i))
    return np.asarray(out).astype(np.uint32)


def _brev(a: Any, t: str) -> Any:
    dt = DTYPE[t]
    arr = np.atleast_1d(np.asarray(a, dt))
    by = arr.view(np.uint8).reshape(-1, dt.itemsize)
    out = _BREV8[by[:, ::-1]].copy().view(dt).reshape(-1)
    return out if np.ndim(a) else out[0]


# -- builders ------------------------------------------------------------------

def b_int_or_float(ins: Instr, f: Form, ctx: Any) -> Callable:
    """add sub mul mad min max abs neg div rem and friends, integer or float."""
    if f.half is not None:
        return halfops.build(ins, f, ctx, f.half)
    if f.has("cc") or f.base in ("addc", "subc", "madc"):
        return _carry_op(ins, f, ctx)
    t = types_of(ins, f)[0]
    if DTYPE[t].kind == "f":
        return _float_op(ins, f, ctx, t)
    build = _INT_OPS.get(f.base)
    if build is None:
        raise PtxError(f"unsupported instruction {ins.opcode}", ins.line)
    return build(ins, f, ctx, t)


def _int_add(ins: Instr, f: Form, ctx: Any, t: str) -> Callable:
    sub = f.base == "sub"
    if not f.sat:
        return _simple(ins, ctx, t, 2, np.subtract if sub else np.add)
    dt = DTYPE[t]
    lo, hi = np.iinfo(dt).min, np.iinfo(dt).max

    def add_sat(a: Any, b: Any) -> Any:
        r = np.asarray(a).astype(np.int64) + (-1 if sub else 1) * np.asarray(b).astype(np.int64)
        return np.clip(r, lo, hi).astype(dt)
    return _simple(ins, ctx, t, 2, add_sat)


def _wide_type(ins: Instr, t: str) -> np.dtype:
    wt = _wide_t(t)
    if not wt:
        raise PtxError(f"unsupported {ins.opcode}", ins.line)
    return DTYPE[wt]


def _int_mul(ins: Instr, f: Form, ctx: Any, t: str) -> Callable:
    if f.has("wide"):
        wd = _wide_type(ins, t)
        return _simple(ins, ctx, t, 2, lambda a, b: np.asarray(a).astype(wd) * np.asarray(b).astype(wd),
                       dst_t=_wide_t(t))
    if f.has("hi"):
        return _simple(ins, ctx, t, 2, lambda a, b: _mulhi(a, b, t))
    return _simple(ins, ctx, t, 2, np.multiply)


def _int_mad(ins: Instr, f: Form, ctx: Any, t: str) -> Callable:
    if f.has("wide"):
        wd = _wide_type(ins, t)
        wt = _wide_t(t)
        return _simple(ins, ctx, t, 3,
                       lambda a, b, c: np.asarray(a).astype(wd) * np.asarray(b).astype(wd) + c,
                       dst_t=wt, src_ts=[t, t, wt])
    if f.has("hi"):
        return _simple(ins, ctx, t, 3, lambda a, b, c: _mulhi(a, b, t) + c)
    dt = DTYPE[t]
    return _simple(ins, ctx, t, 3, lambda a, b, c: np.asarray(a * b, dt) + c)


def _int_div(ins: Instr, f: Form, ctx: Any, t: str) -> Callable:
    rem = f.base == "rem"
    return _simple(ins, ctx, t, 2, lambda a, b: _idiv(a, b, t, rem))


def _int_neg(ins: Instr, f: Form, ctx: Any, t: str) -> Callable:
    dt = DTYPE[t]
    return _simple(ins, ctx, t, 1, lambda a: np.negative(np.asarray(a).view(UINT[dt.itemsize])).view(dt)
                   if np.ndim(a) else dt.type(-np.asarray(a).astype(np.int64)))


def _int_sad(ins: Instr, f: Form, ctx: Any, t: str) -> Callable:
    dt = DTYPE[t]
    return _simple(ins, ctx, t, 3, lambda a, b, c: np.asarray(
        np.where(a > b, a - b, b - a), dt) + c)


def _int_unary(fn: Callable) -> Callable:
    return lambda ins, f, ctx, t: _simple(ins, ctx, t, 1, fn)


def _int_binary(fn: Callable) -> Callable:
    return lambda ins, f, ctx, t: _simple(ins, ctx, t, 2, fn)


def mul24(a: Any, b: Any, signed: bool, hi: bool) -> np.ndarray:
    """The 48-bit product of the low 24 bits of a and b (sign-extended for .s32): its low 32
    bits, or with hi its bits 47..16."""
    def low24(v: Any) -> np.ndarray:
        x = np.asarray(v).astype(np.int64) & 0xFFFFFF
        return x - ((x & 0x800000) << 1) if signed else x
    p = low24(a) * low24(b)
    return ((p >> 16) if hi else p) & 0xFFFF_FFFF


def _mul24(ins: Instr, f: Form, ctx: Any, t: str) -> Callable:
    """mul24.{lo,hi} / mad24.{lo,hi} on .u32/.s32."""
    if t not in ("u32", "s32") or f.sat:
        raise PtxError(f"unsupported instruction {ins.opcode}", ins.line)
    dt = DTYPE[t]
    signed, hi = t == "s32", f.has("hi")

    def product(a: Any, b: Any) -> np.ndarray:
        return mul24(a, b, signed, hi).astype(np.uint32).view(dt)
    if f.base == "mul24":
        return _simple(ins, ctx, t, 2, product)
    return _simple(ins, ctx, t, 3, lambda a, b, c: product(a, b) + np.asarray(c, dt))


def _carry_op(ins: Instr, f: Form, ctx: Any) -> Callable:
    """add.cc/addc/sub.cc/subc/mad.cc/madc: the carry flag CC.CF lives in st.cc per lane.

    For subtraction CF is the borrow: subc computes a - (b + CF).
    """
    t = types_of(ins, f)[0]
    dt = DTYPE[t]
    w = dt.itemsize
    if w not in (4, 8) or dt.kind == "f":
        raise PtxError(f"{ins.opcode}: carry arithmetic needs a 32- or 64-bit integer type", ins.line)
    ut = UINT[w]
    carry_in = f.base in ("addc", "subc", "madc")
    carry_out = f.has("cc")
    sub = f.base.startswith("sub")
    mad = f.base.startswith("mad")
    hi = f.has("hi")
    n = 3 if mad else 2
    ops = _operands(ins, n + 1)
    dst = ctx.writer(ops[0], t)
    srcs = [ctx.reader(o, t) for o in ops[1:]]
    mask = np.uint64((1 << (8 * w)) - 1)

    def bits(v: Any) -> np.ndarray:
        return np.asarray(v, dt).view(ut).astype(np.uint64)

    def run(st: Any, lanes: Any) -> None:
        vals = [np.asarray(r(st, lanes)) for r in srcs]
        if mad:
            prod = _mulhi(vals[0], vals[1], t) if hi else np.multiply(vals[0], vals[1], dtype=dt)
            a64, b64 = bits(prod), bits(vals[2])
        else:
            a64, b64 = bits(vals[0]), bits(vals[1])
        cf = (st.cc if lanes is None else st.cc[lanes]) if carry_in else np.uint64(0)
        if sub:
            d1 = a64 - b64
            d = (d1 - cf) & mask
            out = ((a64 < b64) | (d1 < cf)) if w == 8 else (a64 < b64 + cf)
        else:
            s1 = a64 + b64
            d = s1 + cf
            out = ((s1 < a64) | (d < s1)) if w == 8 else (d >> np.uint64(32)) != 0
            d &= mask
        dst(st, lanes, np.asarray(d).astype(ut).view(dt))
        if carry_out:
            n = st.L if lanes is None else len(lanes)
            flag = np.broadcast_to(np.asarray(out).astype(np.uint64), (n,))
            if lanes is None:
                st.cc[:] = flag
            else:
                st.cc[lanes] = flag
    return run


def _float_op(ins: Instr, f: Form, ctx: Any, t: str) -> Callable:
    dt = DTYPE[t]
    base = f.base
    mode = f.float_rounding
    f64 = t == "f64"
    nan = f.has("NaN")

    def as64(x: Any) -> np.ndarray:
        return np.asarray(x, np.float64)

    table: dict[str, tuple[int, Callable]] = {
        "add": (2, np.add), "sub": (2, np.subtract), "mul": (2, np.multiply),
        "div": (2, np.divide), "fma": (3, None), "mad": (3, None),
        "min": (2, fpexact.fminmax(True, nan)), "max": (2, fpexact.fminmax(False, nan)),
        "abs": (1, np.abs), "neg": (1, np.negative),
        "sqrt": (1, np.sqrt), "rsqrt": (1, lambda a: dt.type(1) / np.sqrt(a)),
        "rcp": (1, lambda a: dt.type(1) / np.asarray(a)),
        # the approximate forms exist for floats only: fixed double sequences (approx.py)
        "sin": (1, np.sin if f64 else approx.sin_f32), "cos": (1, np.cos if f64 else approx.cos_f32),
        "lg2": (1, np.log2 if f64 else approx.lg2_f32), "ex2": (1, np.exp2 if f64 else approx.exp2_f32),
        "tanh": (1, np.tanh if f64 else approx.tanh_f32),
        "copysign": (2, lambda a, b: np.copysign(b, a)),
    }
    if base not in table:
        raise PtxError(f"unsupported instruction {ins.opcode}", ins.line)
    n, fn = table[base]
    if base in ("fma", "mad"):
        fn = (lambda a, b, c: fpexact.fma64(a, b, c, mode)) if f64 else \
            (lambda a, b, c: fpexact.fma32(a, b, c, mode))
    elif mode != "rn" and base in ("add", "sub", "mul", "div", "sqrt", "rcp"):
        if f64:
            fn = {"add": lambda a, b: fpexact.add64(a, b, mode),
                  "sub": lambda a, b: fpexact.add64(a, -as64(b), mode),
                  "mul": lambda a, b: fpexact.mul64(a, b, mode),
                  "div": lambda a, b: fpexact.div64(a, b, mode),
                  "sqrt": lambda a: fpexact.sqrt64(a, mode),
                  "rcp": lambda a: fpexact.div64(1.0, a, mode)}[base]
        elif base in ("add", "sub"):
            fn = (lambda a, b: fpexact.add32(a, b, mode)) if base == "add" else \
                (lambda a, b: fpexact.add32(a, -np.asarray(b, np.float32), mode))
        else:
            # Products are exact in double; quotients and roots of floats are never close
            # enough to a float boundary for the double rounding to matter.
            fn = _f32_directed(fn if base != "rcp" else (lambda a: 1.0 / a), mode)
    with_dtype = fn
    # The directed modes go through exact arithmetic whose NaNs carry no meaningful payload
    # (nor does the GPU keep one): their NaN results are the default NaN.
    default_nan = mode != "rn" and base in ("add", "sub", "mul", "div", "sqrt", "rcp", "fma", "mad")

    def typed(*args: Any) -> Any:
        r = np.asarray(with_dtype(*args)).astype(dt)
        return np.where(np.isnan(r), dt.type(np.nan), r) if default_nan else r
    return _simple(ins, ctx, t, n, _float_wrap(typed, f, t))


def b_logic(ins: Instr, f: Form, ctx: Any) -> Callable:
    base = f.base
    t = types_of(ins, f)[0]
    if t == "pred":
        fns = {"and": np.logical_and, "or": np.logical_or, "xor": np.logical_xor}
        if base == "not":
            return _simple(ins, ctx, t, 1, np.logical_not)
        return _simple(ins, ctx, t, 2, fns[base])
    ut = "u" + t[1:] if t[0] in "bs" else t
    if base == "not":
        return _simple(ins, ctx, ut, 1, np.invert)
    if base == "cnot":
        return _simple(ins, ctx, ut, 1, lambda a: (np.asarray(a) == 0).astype(DTYPE[ut]))
    fns = {"and": np.bitwise_and, "or": np.bitwise_or, "xor": np.bitwise_xor}
    return _simple(ins, ctx, ut, 2, fns[base])


def b_shift(ins: Instr, f: Form, ctx: Any) -> Callable:
    base = f.base
    t = types_of(ins, f)[0]
    if base == "shl":
        t = "u" + t[1:] if t[0] in "bs" else t
    elif t[0] == "b":
        t = "u" + t[1:]
    return _simple(ins, ctx, t, 2, lambda a, n: _shift(a, n, t, base == "shl"), src_ts=[t, "u32"])


def _bmsk(a: Any, b: Any, clamp: bool) -> np.ndarray:
    """bmsk.{clamp,wrap}.b32: b bits set from bit a (the PTX ISA's steps, in 64 bits)."""
    a, b = (np.asarray(v).astype(np.uint64) for v in (a, b))
    ones = np.uint64(0xFFFF_FFFF)
    a1, b1 = a & np.uint64(31), b & np.uint64(31)
    mask0 = (ones << a1) & ones
    total = a1 + b1
    mask1 = (ones << total) & ones
    over = total >= np.uint64(32)
    if clamp:
        mask0 = np.where(a >= np.uint64(32), np.uint64(0), mask0)
        over = over | (a >= np.uint64(32)) | (b >= np.uint64(32))
    mask1 = np.where(over, np.uint64(0), np.where(b1 == np.uint64(0), ones, mask1))
    return (mask0 & ~mask1 & ones).astype(np.uint32)


def b_bits(ins: Instr, f: Form, ctx: Any) -> Callable:
    base = f.base
    t = types_of(ins, f)[0]
    w = SIZE[t]
    ut = "u" + t[1:] if t[0] in "bs" else t
    if base == "popc":
        return _simple(ins, ctx, ut, 1, lambda a: np.bitwise_count(np.asarray(a)).astype(np.uint32),
                       dst_t="u32")
    if base == "clz":
        return _simple(ins, ctx, ut, 1, lambda a: (8 * w - _bitlen(a, w)).astype(np.uint32), dst_t="u32")
    if base == "brev":
        return _simple(ins, ctx, ut, 1, lambda a: _brev(a, ut))
    if base == "bfind":
        shiftamt = f.has("shiftamt")

        def bfind(a: Any) -> Any:
            a = np.asarray(a)
            x = np.where(a < 0, ~a, a) if t.startswith("s") else a
            idx = _bitlen(np.asarray(x).view(UINT[w]) if np.ndim(x) else np.asarray(x).astype(DTYPE[t]).view(UINT[w]), w) - 1
            res = np.where(idx < 0, -1, (8 * w - 1 - idx) if shiftamt else idx)
            return res.astype(np.int64).astype(np.uint32)
        return _simple(ins, ctx, t, 1, bfind, dst_t="u32")
    if base == "bfe":
        return _simple(ins, ctx, t, 3, lambda a, b, c: _bfe(a, b, c, t), src_ts=[t, "u32", "u32"])
    if base == "bfi":
        return _simple(ins, ctx, ut, 4, lambda a, b, c, d: _bfi(a, b, c, d, ut),
                       src_ts=[ut, ut, "u32", "u32"])
    if base == "prmt":
        mode = f.mode
        if mode is not None:
            return _simple(ins, ctx, "u32", 3, lambda a, b, c: _prmt_mode(a, b, c, mode))
        return _simple(ins, ctx, "u32", 3, _prmt)
    if base == "bmsk":
        return _simple(ins, ctx, "u32", 2, lambda a, b: _bmsk(a, b, f.has("clamp")))
    if base == "shf":
        left = f.has("l")
        clamp = f.has("clamp")

        def shf(a: Any, b: Any, c: Any) -> Any:
            n = np.asarray(c).astype(np.uint64)
            n = np.minimum(n, np.uint64(32)) if clamp else n & np.uint64(31)
            x = np.asarray(a).astype(np.uint64) | (np.asarray(b).astype(np.uint64) << np.uint64(32))
            if left:
                r = np.where(n == 32, np.asarray(a).astype(np.uint64), (x << n) >> np.uint64(32))
            else:
                r = np.where(n == 32, np.asarray(b).astype(np.uint64), x >> n)
            return np.asarray(r).astype(np.uint32)
        return _simple(ins, ctx, "u32", 3, shf)
    if base == "lop3":
        ops = _operands(ins, 5)
        if ops[4][0] != "imm":
            raise PtxError("lop3 needs an immediate truth table", ins.line)
        lut = ops[4][1] & 0xFF
        ins5 = Instr(ins.opcode, ops[:4], ins.guard, ins.line, ins.text)

        def lop3(a: Any, b: Any, c: Any) -> Any:
            a, b, c = (np.asarray(v, np.uint32) for v in (a, b, c))
            out = np.zeros(np.broadcast(a, b, c).shape, np.uint32)
            for k in range(8):
                if lut >> k & 1:
                    out |= ((a if k & 4 else ~a) & (b if k & 2 else ~b) & (c if k & 1 else ~c))
            return out
        return _simple(ins5, ctx, "u32", 3, lop3)
    raise PtxError(f"unsupported instruction {ins.opcode}", ins.line)


_CMP = {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
        "gt": np.greater, "ge": np.greater_equal, "lo": np.less, "ls": np.less_equal,
        "hi": np.greater, "hs": np.greater_equal}


def _compare(cmp: str, t: str, line: int) -> Callable:
    dt = DTYPE[t]
    if dt.kind == "f":
        if cmp == "num":
            return lambda a, b: ~(np.isnan(a) | np.isnan(b))
        if cmp == "nan":
            return lambda a, b: np.isnan(a) | np.isnan(b)
        unordered = cmp.endswith("u") and cmp[:-1] in _CMP
        fn = _CMP.get(cmp[:-1] if unordered else cmp)
        if fn is None:
            raise PtxError(f"unknown comparison {cmp}", line)
        if unordered:
            return lambda a, b: fn(a, b) | np.isnan(a) | np.isnan(b)
        if cmp == "ne":
            return lambda a, b: (a != b) & ~(np.isnan(a) | np.isnan(b))
        return fn
    fn = _CMP.get(cmp)
    if fn is None:
        raise PtxError(f"unknown comparison {cmp}", line)
    if cmp in ("lo", "ls", "hi", "hs") and dt.kind == "i":
        ut = UINT[dt.itemsize]
        return lambda a, b: fn(np.asarray(a).view(ut), np.asarray(b).view(ut))
    return fn


def b_dp(ins: Instr, f: Form, ctx: Any) -> Callable:
    """dp4a.atype.btype d, a, b, c / dp2a.{lo,hi}.atype.btype d, a, b, c."""
    ts = [t for t in f.types if t in ("u32", "s32")]
    if len(ts) != 2:
        raise PtxError(f"{ins.opcode}: needs two of .u32/.s32", ins.line)
    sa, sb = ts[0] == "s32", ts[1] == "s32"
    dt_t = "s32" if (sa or sb) else "u32"
    parts = 4 if f.base == "dp4a" else 2
    hi = f.has("hi")
    fn = lambda a, b, c: _dot(a, b, c, sa, sb, parts, hi).astype(np.int64)  # noqa: E731
    return _simple(ins, ctx, dt_t, 3, lambda a, b, c: fn(a, b, c).astype(DTYPE[dt_t]),
                   src_ts=["u32", "u32", dt_t])


_BOOL_OPS = {"and": np.logical_and, "or": np.logical_or, "xor": np.logical_xor}


def b_setp(ins: Instr, f: Form, ctx: Any) -> Callable:
    base = f.base
    if f.half is not None:
        return _setp_half(ins, f, ctx, f.half)
    ts = types_of(ins, f)
    t = ts[-1]
    if f.cmp is None:
        raise PtxError(f"{ins.opcode}: missing comparison", ins.line)
    boolop = f.boolop
    fn = _compare(f.cmp, t, ins.line)
    if f.ftz and t == "f32":
        compare = fn
        fn = lambda a, b: compare(_flush(a), _flush(b))  # noqa: E731
    ops = ins.operands
    if len(ops) not in (3, 4) or (boolop is None) != (len(ops) == 3):
        raise PtxError(f"{ins.opcode}: wrong operands", ins.line)
    ra, rb = ctx.reader(ops[1], t), ctx.reader(ops[2], t)
    rc = ctx.reader(ops[3], "pred") if boolop else None
    comb = _BOOL_OPS.get(boolop or "")
    if base == "set":
        dt_t = ts[0]
        one = DTYPE[dt_t].type(1.0) if dt_t.startswith("f") else DTYPE[dt_t].type(np.iinfo(DTYPE[dt_t]).max if dt_t[0] == "u" or dt_t[0] == "b" else -1)
        dst = ctx.writer(ops[0], dt_t)

        def run_set(st: Any, lanes: Any) -> None:
            p = fn(ra(st, lanes), rb(st, lanes))
            if comb is not None:
                p = comb(p, rc(st, lanes))
            dst(st, lanes, np.where(p, one, DTYPE[dt_t].type(0)))
        return run_set
    dp, dq = (ops[0][1], ops[0][2]) if ops[0][0] == "pair" else (ops[0], None)
    wp = ctx.writer(dp, "pred")
    wq = ctx.writer(dq, "pred") if dq is not None else None

    def run(st: Any, lanes: Any) -> None:
        p = fn(ra(st, lanes), rb(st, lanes))
        q = ~np.asarray(p)
        if comb is not None:
            c = rc(st, lanes)
            p, q = comb(p, c), comb(q, c)
        wp(st, lanes, p)
        if wq is not None:
            wq(st, lanes, q)
    return run


def _setp_half(ins: Instr, f: Form, ctx: Any, t: str) -> Callable:
    """setp on f16/bf16 (one predicate pair) and f16x2/bf16x2 (one predicate per half)."""
    if f.base != "setp":
        raise PtxError(f"unsupported instruction {ins.opcode}", ins.line)
    if f.cmp is None:
        raise PtxError(f"{ins.opcode}: missing comparison", ins.line)
    fn = _compare(f.cmp, "f64", ins.line)
    comb = _BOOL_OPS.get(f.boolop or "")
    ops = ins.operands
    bf = t.startswith("bf16")
    pair = t.endswith("x2")
    raw = "b32" if pair else "b16"
    ra, rb = ctx.reader(ops[1], raw), ctx.reader(ops[2], raw)
    rc = ctx.reader(ops[3], "pred") if comb is not None else None
    dp, dq = (ops[0][1], ops[0][2]) if ops[0][0] == "pair" else (ops[0], None)
    wp = ctx.writer(dp, "pred")
    wq = ctx.writer(dq, "pred") if dq is not None else None

    def half(v: Any, k: int) -> np.ndarray:
        return halfops.decode((np.asarray(v).astype(np.uint32) >> np.uint32(16 * k)) & np.uint32(0xFFFF), bf)

    def run(st: Any, lanes: Any) -> None:
        a, b = ra(st, lanes), rb(st, lanes)
        p = fn(half(a, 0), half(b, 0))
        # Scalars: d gets the result, the optional second one its complement;
        # pairs: d gets the low half's result, the second the high half's.
        q = fn(half(a, 1), half(b, 1)) if pair else ~np.asarray(p)
        if comb is not None:
            c = rc(st, lanes)
            p, q = comb(p, c), comb(q, c)
        wp(st, lanes, p)
        if wq is not None:
            wq(st, lanes, q)
    return run


def b_selp(ins: Instr, f: Form, ctx: Any) -> Callable:
    t = types_of(ins, f)[0]
    return _simple(ins, ctx, t, 3, lambda a, b, p: np.where(p, a, b), src_ts=[t, t, "pred"])


def b_slct(ins: Instr, f: Form, ctx: Any) -> Callable:
    ts = types_of(ins, f, 2)
    return _simple(ins, ctx, ts[0], 3, lambda a, b, c: np.where(np.asarray(c) >= 0, a, b),
                   src_ts=[ts[0], ts[0], ts[1]])


def b_testp(ins: Instr, f: Form, ctx: Any) -> Callable:
    t = types_of(ins, f)[0]
    kind = f.cmp
    tiny = np.finfo(DTYPE[t]).tiny
    fns = {"finite": np.isfinite, "infinite": np.isinf, "number": lambda a: ~np.isnan(a),
           "notanumber": np.isnan, "normal": lambda a: np.isfinite(a) & (np.abs(a) >= tiny),
           "subnormal": lambda a: (np.abs(a) < tiny) & (a != 0)}
    if kind not in fns:
        raise PtxError(f"unsupported instruction {ins.opcode}", ins.line)
    return _simple(ins, ctx, t, 1, fns[kind], dst_t="pred")


def cvt_fn(dst_t: str, src_t: str, f: Form, line: int) -> Callable:
    dd, sd = DTYPE[dst_t], DTYPE[src_t]
    rnd = f.rounding
    sat = f.sat
    ftz = f.ftz
    if sd.kind == "f" and dd.kind == "f":
        if dd.itemsize == sd.itemsize:
            rf = _ROUND_INT.get(rnd)
            base = (lambda a: rf(a).astype(dd)) if rf else (lambda a: np.asarray(a, dd).copy())
        elif dd.itemsize < sd.itemsize and dst_t == "f32":
            base = lambda a: round_f32(np.asarray(a, np.float64), rnd or "rn")  # noqa: E731
        else:
            base = lambda a: np.asarray(a).astype(dd)  # noqa: E731
        fn = base
        if ftz and (dst_t == "f32" or src_t == "f32"):
            fn = lambda a: _flush(base(_flush(a) if src_t == "f32" else a)) if dst_t == "f32" \
                else base(_flush(a))  # noqa: E731
        if sat:
            return lambda a: _sat(np.asarray(fn(a)))
        return fn
    if sd.kind == "f":
        rf = _ROUND_INT.get(rnd, np.trunc)
        info = np.iinfo(dd)
        lo, hi = float(info.min), float(info.max)

        def f2i(a: Any) -> Any:
            x = np.asarray(a, np.float64)
            if ftz and src_t == "f32":
                x = _flush(np.asarray(a, np.float32)).astype(np.float64)
            r = rf(x)
            nan = np.isnan(r)
            over = r >= hi
            under = r <= lo
            mid = np.where(nan | over | under, 0, r).astype(dd)
            return np.where(over, dd.type(info.max), np.where(under, dd.type(info.min),
                                                               np.where(nan, dd.type(0), mid))).astype(dd)
        return f2i
    if dd.kind == "f":
        if rnd in ("rz", "rm", "rp"):
            return lambda a: fpexact.int_to_float(a, dd, rnd)
        if sat:
            return lambda a: _sat(np.asarray(a).astype(dd))
        return lambda a: np.asarray(a).astype(dd)
    if sat:
        info = np.iinfo(dd)

        def clamp(a: Any) -> Any:
            a = np.asarray(a)
            if a.dtype.kind == "u":
                return np.minimum(a, np.uint64(info.max) if info.max > 0 else 0).astype(dd)
            wide = a.astype(np.int64)
            return np.clip(wide, max(info.min, -(1 << 63)), min(info.max, (1 << 63) - 1)).astype(dd)
        return clamp
    return lambda a: np.asarray(a).astype(dd)


def _cvt_half(ins: Instr, f: Form, ctx: Any) -> Callable:
    """Conversions with bf16 (any direction) and the packing f16x2/bf16x2 <- two f32."""
    ops = ins.operands
    if f.mods[-2:-1] in (("f16x2",), ("bf16x2",)):
        bf = f.mods[-2] == "bf16x2"
        if len(ops) != 3:
            raise PtxError(f"{ins.opcode} takes 3 operands", ins.line)
        dst = ctx.writer(ops[0], "b32")
        ra, rb = ctx.reader(ops[1], "f32"), ctx.reader(ops[2], "f32")
        relu = f.has("relu")

        def conv(x: Any) -> np.ndarray:
            x = np.asarray(x, np.float32)
            if relu:
                x = np.where(np.isnan(x), x, np.maximum(x, np.float32(0)))
            return (halfops.f32_to_bf16(x) if bf else x.astype(np.float16).view(np.uint16)
                    ).astype(np.uint32)
        # The first source lands in the upper half.
        return lambda st, lanes: dst(st, lanes, (conv(ra(st, lanes)) << np.uint32(16))
                                     | conv(rb(st, lanes)))
    if len(f.types) != 2:
        raise PtxError(f"{ins.opcode}: missing type", ins.line)
    dst_t, src_t = f.types
    _operands(ins, 2)
    if src_t == "bf16":
        rd = ctx.reader(ops[1], "b16")
        if dst_t == "bf16":
            return _simple(ins, ctx, "b16", 1, lambda a: a)
        inner = cvt_fn(dst_t, "f32", f, ins.line) if dst_t != "f32" else (lambda a: a)
        wr = ctx.writer(ops[0], dst_t)
        return lambda st, lanes: wr(st, lanes, inner(
            halfops.decode(rd(st, lanes), True).astype(np.float32)))
    # dst bf16: widen the source to double, round once (to odd first, then to bf16).
    rs = ctx.reader(ops[1], src_t)
    wr = ctx.writer(ops[0], "b16")
    sd = DTYPE[src_t]
    return lambda st, lanes: wr(st, lanes, halfops.encode(
        np.asarray(rs(st, lanes)).astype(np.float64) if sd.kind == "f" or sd.itemsize < 8 else
        np.asarray(rs(st, lanes)).astype(np.float64), True))


# conversions through bf16 or packing pairs; conversions to formats not supported
_CVT_HALF = frozenset({"bf16", "f16x2", "bf16x2"})
_CVT_UNSUPPORTED = frozenset({"e4m3x2", "e5m2x2", "tf32"})


def b_cvt(ins: Instr, f: Form, ctx: Any) -> Callable:
    if f.flags & _CVT_HALF:
        return _cvt_half(ins, f, ctx)
    ts = types_of(ins, f, 2)
    if f.flags & _CVT_UNSUPPORTED:
        raise PtxError(f"unsupported instruction {ins.opcode}", ins.line)
    dst_t, src_t = ts[0], ts[1]
    fn = cvt_fn(dst_t, src_t, f, ins.line)
    return _simple(ins, ctx, dst_t, 1, fn, src_ts=[src_t])


def b_mov(ins: Instr, f: Form, ctx: Any) -> Callable:
    t = types_of(ins, f)[0]
    ops = _operands(ins, 2)
    dst, src = ops
    w = SIZE[t]
    if dst[0] == "vec":          # unpack wide bits into parts, lowest first
        k = len(dst[1])
        pt = f"b{8 * w // k}"
        writers = [ctx.writer(o, pt) for o in dst[1]]
        rd = ctx.reader(src, f"b{8 * w}")

        def unpack(st: Any, lanes: Any) -> None:
            v = np.asarray(rd(st, lanes)).astype(np.uint64)
            for i, wr in enumerate(writers):
                wr(st, lanes, (v >> np.uint64(i * 8 * w // k)).astype(DTYPE[pt]))
        return unpack
    if src[0] == "vec":
        k = len(src[1])
        pt = f"b{8 * w // k}"
        readers = [ctx.reader(o, pt) for o in src[1]]
        wr = ctx.writer(dst, f"b{8 * w}")

        def pack(st: Any, lanes: Any) -> None:
            v = np.uint64(0)
            for i, rd in enumerate(readers):
                v = v | (np.asarray(rd(st, lanes)).astype(np.uint64) << np.uint64(i * 8 * w // k))
            wr(st, lanes, np.asarray(v).astype(DTYPE[f"b{8 * w}"]))
        return pack
    return _simple(ins, ctx, t, 1, lambda a: a)


_INT_OPS: dict[str, Callable[[Instr, Form, Any, str], Callable]] = {
    "add": _int_add, "sub": _int_add, "mul": _int_mul, "mad": _int_mad,
    "mul24": _mul24, "mad24": _mul24, "div": _int_div, "rem": _int_div,
    "min": _int_binary(np.minimum), "max": _int_binary(np.maximum), "abs": _int_unary(np.abs),
    "neg": _int_neg, "sad": _int_sad,
}

BUILDERS: dict[str, Callable] = {}
for _n in ("add", "sub", "mul", "mad", "mul24", "mad24", "div", "rem", "min", "max", "abs", "neg",
           "sad", "fma", "sqrt", "rsqrt", "rcp", "sin", "cos", "lg2", "ex2", "tanh", "copysign",
           "addc", "subc", "madc"):
    BUILDERS[_n] = b_int_or_float
for _n in ("and", "or", "xor", "not", "cnot"):
    BUILDERS[_n] = b_logic
BUILDERS.update(dp4a=b_dp, dp2a=b_dp)
BUILDERS.update(bmsk=b_bits)
BUILDERS.update(shl=b_shift, shr=b_shift, popc=b_bits, clz=b_bits, brev=b_bits, bfind=b_bits,
                bfe=b_bits, bfi=b_bits, prmt=b_bits, shf=b_bits, lop3=b_bits, setp=b_setp,
                set=b_setp, selp=b_selp, slct=b_slct, testp=b_testp, cvt=b_cvt, mov=b_mov)
