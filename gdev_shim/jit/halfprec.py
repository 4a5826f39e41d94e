"""Half precision as lane-vector IR: .f16 / .bf16 and the packed .f16x2 / .bf16x2 pairs.

Mirrors ptx/halfops.py step by step so that results are the same bits: registers hold
raw 16-bit patterns; values are widened to double exactly, computed there, and rounded
once to the narrow format -- f16 with numpy's own double-to-half rounding (to nearest
even, done here on the bit pattern), bf16 by rounding to odd to float first and then to
nearest even.  fma rounds its double sum to odd so that the second rounding is right.
"""
from __future__ import annotations

from typing import Any, Callable

from llvmlite import ir

from ..ptx.form import Form
from . import approx
from .alu import _RINT, _compare, bool_op, float_to_int, fminmax
from .errors import JitUnsupported
from .lanes import F32, F64, I16, I32, I64, call_intrinsic, const_like
from .layout import Item



# ---------------------------------------------------------------- bit patterns <-> double

def _like(v: ir.Value, el: ir.Type) -> ir.Type:
    return ir.VectorType(el, v.type.count) if isinstance(v.type, ir.VectorType) else el


def decode(b: ir.IRBuilder, bits: ir.Value, bf: bool) -> ir.Value:
    """16-bit patterns (i16) -> their values as doubles, exactly."""
    v64 = _like(bits, I64)
    if bf:
        f = b.bitcast(b.shl(b.zext(bits, _like(bits, I32)), const_like(_like(bits, I32), 16)), _like(bits, F32))
        return b.fpext(f, _like(bits, F64))
    h = b.zext(bits, v64)
    sign = b.shl(b.and_(h, const_like(v64, 0x8000)), const_like(v64, 48))
    e = b.and_(b.lshr(h, const_like(v64, 10)), const_like(v64, 0x1F))
    m = b.and_(h, const_like(v64, 0x3FF))
    mant = b.shl(m, const_like(v64, 42))
    normal = b.or_(b.or_(sign, b.shl(b.add(e, const_like(v64, 1023 - 15)), const_like(v64, 52))), mant)
    special = b.or_(b.or_(sign, const_like(v64, 0x7FF0_0000_0000_0000)), mant)
    tiny = b.fmul(b.uitofp(m, _like(bits, F64)), const_like(_like(bits, F64), 2.0 ** -24))
    tiny = b.or_(b.bitcast(tiny, v64), sign)
    out = b.select(b.icmp_unsigned("==", e, const_like(v64, 0x1F)), special, normal)
    out = b.select(b.icmp_unsigned("==", e, const_like(v64, 0)), tiny, out)
    return b.bitcast(out, _like(bits, F64))


def _round_up_unless_even_tie(b: ir.IRBuilder, sig: ir.Value, low_mask: int, half: int) -> ir.Value:
    """sig + half unless the bits under low_mask are exactly a tie with an even last bit
    (round to nearest even on the bit pattern, as numpy's double-to-half does)."""
    tie_even = b.icmp_unsigned("==", b.and_(sig, const_like(sig.type, low_mask)), const_like(sig.type, half))
    return b.select(tie_even, sig, b.add(sig, const_like(sig.type, half)))


def encode_f16(b: ir.IRBuilder, x: ir.Value) -> ir.Value:
    """doubles -> f16 patterns, numpy's npy_doublebits_to_halfbits: nearest even, overflow to
    infinity, NaN keeping the top of its payload."""
    v64 = _like(x, I64)
    d = b.bitcast(x, v64)
    sgn = b.and_(b.lshr(d, const_like(v64, 48)), const_like(v64, 0x8000))
    dexp = b.and_(d, const_like(v64, 0x7FF0_0000_0000_0000))
    dsig = b.and_(d, const_like(v64, 0x000F_FFFF_FFFF_FFFF))
    # infinities, NaNs and overflow
    nan_bits = b.add(const_like(v64, 0x7C00), b.lshr(dsig, const_like(v64, 42)))
    nan_bits = b.select(b.icmp_unsigned("==", nan_bits, const_like(v64, 0x7C00)), const_like(v64, 0x7C01), nan_bits)
    is_nan = b.and_(b.icmp_unsigned("==", dexp, const_like(v64, 0x7FF0_0000_0000_0000)),
                    b.icmp_unsigned("!=", dsig, const_like(v64, 0)))
    big = b.select(is_nan, nan_bits, const_like(v64, 0x7C00))
    # subnormal halves: the significand shifted into place, then rounded
    e = b.lshr(dexp, const_like(v64, 52))
    shift = b.select(b.icmp_unsigned(">=", e, const_like(v64, 998)), b.sub(e, const_like(v64, 998)), const_like(v64, 0))
    sig = b.shl(b.add(dsig, const_like(v64, 0x0010_0000_0000_0000)), shift)
    sig = _round_up_unless_even_tie(b, sig, 0x003F_FFFF_FFFF_FFFF, 0x0010_0000_0000_0000)
    sub = b.lshr(sig, const_like(v64, 53))
    sub = b.select(b.icmp_unsigned("<", dexp, const_like(v64, 0x3E60_0000_0000_0000)), const_like(v64, 0), sub)
    # normal halves: a carry out of the significand correctly bumps the exponent
    hexp = b.lshr(b.sub(dexp, const_like(v64, 0x3F00_0000_0000_0000)), const_like(v64, 42))
    nsig = _round_up_unless_even_tie(b, dsig, 0x0000_07FF_FFFF_FFFF, 0x0000_0200_0000_0000)
    normal = b.add(b.lshr(nsig, const_like(v64, 42)), hexp)
    out = b.select(b.icmp_unsigned("<=", dexp, const_like(v64, 0x3F00_0000_0000_0000)), sub, normal)
    out = b.select(b.icmp_unsigned(">=", dexp, const_like(v64, 0x40F0_0000_0000_0000)), big, out)
    return b.trunc(b.add(sgn, out), _like(x, I16))


def _finite(b: ir.IRBuilder, x: ir.Value) -> ir.Value:
    return b.fcmp_ordered("!=", call_intrinsic(b, "fabs", [x]), const_like(x.type, float("inf")))


def round_odd_f32(b: ir.IRBuilder, x: ir.Value) -> ir.Value:
    """double -> float rounded to odd (fpexact.ro_to_f32), for a second rounding to bf16."""
    f = b.fptrunc(x, _like(x, F32))
    back = b.fpext(f, x.type)
    inexact = b.and_(b.fcmp_unordered("!=", back, x), b.and_(_finite(b, x), _finite(b, f)))
    away = b.and_(inexact, b.fcmp_ordered(">", call_intrinsic(b, "fabs", [back]),
                                          call_intrinsic(b, "fabs", [x])))
    i32 = _like(x, I32)
    fi = b.bitcast(f, i32)
    t = b.select(away, b.sub(fi, const_like(i32, 1)), fi)        # one step toward zero
    return b.select(inexact, b.or_(t, const_like(i32, 1)), t)     # raw float bits


def f32bits_to_bf16(b: ir.IRBuilder, u: ir.Value) -> ir.Value:
    """float bits -> bf16 bits, nearest even; a NaN stays a quiet NaN (halfops.f32_to_bf16)."""
    i32 = u.type
    odd = b.and_(b.lshr(u, const_like(i32, 16)), const_like(i32, 1))
    rounded = b.lshr(b.add(b.add(u, const_like(i32, 0x7FFF)), odd), const_like(i32, 16))
    f = b.bitcast(u, _like(u, F32))
    nan = b.fcmp_unordered("uno", f, f)
    quiet = b.or_(b.lshr(u, const_like(i32, 16)), const_like(i32, 0x40))
    return b.trunc(b.select(nan, quiet, rounded), _like(u, I16))


def encode(b: ir.IRBuilder, x: ir.Value, bf: bool) -> ir.Value:
    """doubles -> 16-bit patterns (halfops.encode)."""
    if bf:
        return f32bits_to_bf16(b, round_odd_f32(b, x))
    return encode_f16(b, x)


# ---------------------------------------------------------------- arithmetic

def _two_sum(b: ir.IRBuilder, x: ir.Value, y: ir.Value) -> tuple[ir.Value, ir.Value]:
    s = b.fadd(x, y)
    bb = b.fsub(s, x)
    e = b.fadd(b.fsub(x, b.fsub(s, bb)), b.fsub(y, bb))
    return s, e


def round_odd(b: ir.IRBuilder, s: ir.Value, e: ir.Value) -> ir.Value:
    """s + e (s its nearest double, e the exact error) rounded to odd (fpexact.round_odd)."""
    zero = const_like(s.type, 0.0)
    inexact = b.and_(b.fcmp_unordered("!=", e, zero), _finite(b, s))
    away = b.or_(b.and_(b.fcmp_ordered(">", s, zero), b.fcmp_ordered("<", e, zero)),
                 b.and_(b.fcmp_ordered("<", s, zero), b.fcmp_ordered(">", e, zero)))
    away = b.and_(inexact, away)
    i64 = _like(s, I64)
    si = b.bitcast(s, i64)
    t = b.select(away, b.sub(si, const_like(i64, 1)), si)
    return b.bitcast(b.select(inexact, b.or_(t, const_like(i64, 1)), t), s.type)


def _fma_odd(b: ir.IRBuilder, x: ir.Value, y: ir.Value, z: ir.Value) -> ir.Value:
    # the product of two half significands is exact in double; the sum rounds to odd
    s, e = _two_sum(b, b.fmul(x, y), z)
    e = b.select(_finite(b, e), e, const_like(e.type, 0.0))
    return b.select(_finite(b, s), round_odd(b, s, e), s)


def _sqrt(b: ir.IRBuilder, x: ir.Value) -> ir.Value:
    return call_intrinsic(b, "sqrt", [x])


def _ops(b: ir.IRBuilder, nan: bool) -> dict[str, tuple[int, Callable]]:
    one = lambda x: const_like(x.type, 1.0)  # noqa: E731
    return {"add": (2, b.fadd), "sub": (2, b.fsub), "mul": (2, b.fmul), "div": (2, b.fdiv),
            "fma": (3, lambda x, y, z: _fma_odd(b, x, y, z)),
            "min": (2, lambda x, y: fminmax(b, x, y, True, nan)),
            "max": (2, lambda x, y: fminmax(b, x, y, False, nan)),
            "sqrt": (1, lambda x: _sqrt(b, x)),
            "rsqrt": (1, lambda x: b.fdiv(one(x), _sqrt(b, x))),
            "rcp": (1, lambda x: b.fdiv(one(x), x)),
            "ex2": (1, lambda x: approx.exp2(b, x)),
            "tanh": (1, lambda x: approx.tanh64(b, x)),
            "neg": (1, None), "abs": (1, None)}


def _flush(b: ir.IRBuilder, x: ir.Value, bf: bool) -> ir.Value:
    tiny = 2.0 ** -126 if bf else 2.0 ** -14
    small = b.fcmp_ordered("<", call_intrinsic(b, "fabs", [x]), const_like(x.type, tiny))
    i64 = _like(x, I64)
    signed_zero = b.bitcast(b.and_(b.bitcast(x, i64), const_like(i64, 1 << 63)), x.type)
    return b.select(small, signed_zero, x)


def _sat(b: ir.IRBuilder, r: ir.Value) -> ir.Value:
    """where(isnan(r), 0, clip(r, 0, 1)): numpy's clip keeps a -0."""
    zero, one = const_like(r.type, 0.0), const_like(r.type, 1.0)
    lo = b.select(b.fcmp_ordered("<", r, zero), zero, r)
    hi = b.select(b.fcmp_ordered(">", lo, one), one, lo)
    return b.select(b.fcmp_unordered("uno", r, r), zero, hi)


def _split(kc: Any, v: ir.Value) -> tuple[ir.Value, ir.Value]:
    b, L = kc.b, kc.lanes
    return b.trunc(v, L.vt(I16)), b.trunc(b.lshr(v, L.const(I32, 16)), L.vt(I16))


def _join(kc: Any, lo: ir.Value, hi: ir.Value) -> ir.Value:
    b, L = kc.b, kc.lanes
    return b.or_(b.zext(lo, L.vt(I32)), b.shl(b.zext(hi, L.vt(I32)), L.const(I32, 16)))


def b_arith_half(kc: Any, item: Item, f: Form, eff: ir.Value, t: str) -> None:
    """add/sub/mul/fma/min/max/neg/abs/... on f16, bf16, f16x2, bf16x2 (halfops.build)."""
    b = kc.b
    base = f.base
    table = _ops(b, f.has("NaN"))
    if base not in table:
        raise JitUnsupported(f"instruction {item.ins.opcode}")
    n, fn = table[base]
    ops = item.ins.operands
    if len(ops) != n + 1:
        raise JitUnsupported(f"{item.ins.opcode} takes {n + 1} operands")
    bf = t.startswith("bf16")
    pair = t.endswith("x2")
    ftz, sat = f.ftz, f.sat

    def compute(vals: list[ir.Value]) -> ir.Value:
        if fn is None:          # sign-bit operations: NaN payloads kept
            sign = ir.Constant(vals[0].type, [ir.Constant(I16, 0x8000)] * kc.W)
            return b.xor(vals[0], sign) if base == "neg" else b.and_(vals[0], b.not_(sign))
        xs = [decode(b, v, bf) for v in vals]
        if ftz:
            xs = [_flush(b, x, bf) for x in xs]
        r = fn(*xs)
        if sat:
            r = _sat(b, r)
        out = encode(b, r, bf)
        if ftz:
            out = encode(b, _flush(b, decode(b, out, bf), bf), bf)
        return out

    raw = "b32" if pair else "b16"
    vals = [kc.read(o, raw, item) for o in ops[1:]]
    if pair:
        halves = [_split(kc, v) for v in vals]
        out = _join(kc, compute([h[0] for h in halves]), compute([h[1] for h in halves]))
    else:
        out = compute(vals)
    kc.write(ops[0], raw, out, item, eff)


def b_setp_half(kc: Any, item: Item, f: Form, eff: ir.Value, t: str) -> None:
    """setp on f16/bf16 (a predicate and its complement) and pairs (one predicate per half)."""
    if f.base != "setp":
        raise JitUnsupported(f"instruction {item.ins.opcode}")
    b = kc.b
    if f.cmp is None:
        raise JitUnsupported(f"{item.ins.opcode}: missing comparison")
    fn = _compare(kc, f.cmp, "f64")
    comb = bool_op(kc, f.boolop)
    ops = item.ins.operands
    if len(ops) not in (3, 4) or (comb is None) != (len(ops) == 3):
        raise JitUnsupported(f"{item.ins.opcode}: wrong operands")
    bf, pair = t.startswith("bf16"), t.endswith("x2")
    raw = "b32" if pair else "b16"
    x, y = kc.read(ops[1], raw, item), kc.read(ops[2], raw, item)
    if pair:
        (x0, x1), (y0, y1) = _split(kc, x), _split(kc, y)
        p = fn(decode(b, x0, bf), decode(b, y0, bf))
        q = fn(decode(b, x1, bf), decode(b, y1, bf))
    else:
        p = fn(decode(b, x, bf), decode(b, y, bf))
        q = b.not_(p)
    if comb is not None:
        c = kc.read(ops[3], "pred", item)
        p, q = comb(p, c), comb(q, c)
    dp, dq = (ops[0][1], ops[0][2]) if ops[0][0] == "pair" else (ops[0], None)
    kc.write(dp, "pred", p, item, eff)
    if dq is not None:
        kc.write(dq, "pred", q, item, eff)


# ---------------------------------------------------------------- conversions

def _relu(b: ir.IRBuilder, x: ir.Value) -> ir.Value:
    """where(isnan(x), x, maximum(x, 0)): numpy's maximum gives +0 for -0."""
    zero = const_like(x.type, 0.0)
    pos = b.select(b.fcmp_ordered(">", x, zero), x, zero)
    return b.select(b.fcmp_unordered("uno", x, x), x, pos)


def _pack(kc: Any, item: Item, f: Form, eff: ir.Value, bf: bool) -> None:
    """cvt.rn{.relu}.{f16x2,bf16x2}.f32 d, a, b: a lands in the upper half."""
    b = kc.b
    ops = item.ins.operands
    if len(ops) != 3:
        raise JitUnsupported(f"{item.ins.opcode} takes 3 operands")
    if f.rounding in ("rz", "rm", "rp") or f.has("satfinite") or f.has("rna"):
        raise JitUnsupported(f"{item.ins.opcode}: rounding")
    relu = f.has("relu")

    def conv(o: tuple) -> ir.Value:
        x = kc.read(o, "f32", item)
        if relu:
            x = _relu(b, x)
        if bf:
            return f32bits_to_bf16(b, b.bitcast(x, kc.lanes.vt(I32)))
        return encode_f16(b, b.fpext(x, kc.lanes.vt(F64)))
    kc.write(ops[0], "b32", _join(kc, conv(ops[2]), conv(ops[1])), item, eff)


def _to_double(kc: Any, v: ir.Value, t: str) -> ir.Value:
    b, L = kc.b, kc.lanes
    if t == "f32":
        return b.fpext(v, L.vt(F64))
    if t == "f64":
        return v
    return (b.sitofp if t[0] == "s" else b.uitofp)(v, L.vt(F64))


def b_cvt_half(kc: Any, item: Item, f: Form, eff: ir.Value) -> None:
    """cvt with an f16 or bf16 end (ops_alu._cvt_half and cvt_fn), or the packing forms."""
    b, L = kc.b, kc.lanes
    if f.has("f16x2") or f.has("bf16x2"):
        if f.mods[-2:] in (("f16x2", "f32"), ("bf16x2", "f32")):
            _pack(kc, item, f, eff, f.mods[-2] == "bf16x2")
            return
        raise JitUnsupported(f"instruction {item.ins.opcode}")
    if len(f.types) != 2 or len(item.ins.operands) != 2:
        raise JitUnsupported(f"{item.ins.opcode}: operands")
    dst_t, src_t = f.types
    rnd = f.rounding
    if rnd in ("rz", "rm", "rp") or f.has("rna") or f.sat or f.ftz or f.has("relu"):
        # the interpreter drops these on half conversions; not worth copying
        raise JitUnsupported(f"{item.ins.opcode}: modifiers")
    dst, src = item.ins.operands
    half_src = src_t in ("f16", "bf16")
    half_dst = dst_t in ("f16", "bf16")
    if half_src and half_dst:
        if src_t != dst_t:
            raise JitUnsupported(f"instruction {item.ins.opcode}")
        v = kc.read(src, "b16", item)
        if rnd in _RINT:
            x = decode(b, v, src_t == "bf16")
            v = encode(b, call_intrinsic(b, _RINT[rnd], [x]), src_t == "bf16")
        kc.write(dst, "b16", v, item, eff)
        return
    if half_src:
        x = decode(b, kc.read(src, "b16", item), src_t == "bf16")
        if dst_t in ("f32", "f64"):
            if rnd:
                raise JitUnsupported(f"{item.ins.opcode}: rounding")
            kc.write(dst, dst_t, x if dst_t == "f64" else b.fptrunc(x, L.vt(F32)), item, eff)
            return
        # to an integer: the float-to-integer conversion of the widened value (exact)
        if rnd and rnd not in _RINT:
            raise JitUnsupported(f"{item.ins.opcode}: rounding")
        kc.write(dst, dst_t, float_to_int(kc, x, dst_t, rnd), item, eff)
        return
    if rnd in _RINT:
        raise JitUnsupported(f"{item.ins.opcode}: rounding")
    # from a float or an integer: widened to double (64-bit integers rounded), rounded once
    x = _to_double(kc, kc.read(src, src_t, item), src_t)
    kc.write(dst, "b16", encode(b, x, dst_t == "bf16"), item, eff)


__all__ = ["decode", "encode", "b_arith_half", "b_setp_half", "b_cvt_half"]
