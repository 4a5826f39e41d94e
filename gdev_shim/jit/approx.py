"""Approximate math instructions: the operation sequences of ptx/approx.py in IR.

Plain IEEE double operations in the same order (and no contraction into fused
multiply-adds) give the same bits as the interpreter's numpy code.
"""
from __future__ import annotations

from llvmlite import ir

from ..ptx.approx import (COS_COEFFS, EXP2_COEFFS, EXP2_LIMIT, INV_LN2, LOG2E2, LOG_COEFFS,
                          MANTISSA, ONE_BITS, PIO2, SIN_COEFFS, SQRT2, TANH_COEFFS, TANH_SMALL,
                          TWO_OVER_PI)
from .lanes import F64, I64, call_intrinsic, const_like


def exp2(b: ir.IRBuilder, x: ir.Value) -> ir.Value:
    """2**x for doubles (approx.exp2); x may be a scalar or a lane vector."""
    ty = x.type
    ity = ir.VectorType(I64, ty.count) if isinstance(ty, ir.VectorType) else I64
    # max/min with NaN give NaN there, as numpy's maximum/minimum do
    c = call_intrinsic(b, "maximum", [x, const_like(ty, -EXP2_LIMIT)])
    c = call_intrinsic(b, "minimum", [c, const_like(ty, EXP2_LIMIT)])
    n = call_intrinsic(b, "rint", [c])
    f = b.fsub(c, n)
    p = const_like(ty, EXP2_COEFFS[0])
    for k in EXP2_COEFFS[1:]:
        p = b.fadd(b.fmul(p, f), const_like(ty, k))
    nan = b.fcmp_unordered("uno", x, x)
    ni = b.fptosi(b.select(nan, const_like(ty, 0.0), n), ity)
    scale = b.bitcast(b.shl(b.add(ni, const_like(ity, 1023)), const_like(ity, 52)), ty)
    quiet = b.bitcast(const_like(ity, 0x7FF8_0000_0000_0000), ty)
    return b.select(nan, quiet, b.fmul(p, scale))


def exp2_f32(b: ir.IRBuilder, x: ir.Value) -> ir.Value:
    """ex2.approx.f32: 2**x in double, rounded to float."""
    wide = ir.VectorType(F64, x.type.count) if isinstance(x.type, ir.VectorType) else F64
    return b.fptrunc(exp2(b, b.fpext(x, wide)), x.type)


# sin, cos, lg2 and tanh of floats: ptx/approx.py's steps, one IR operation each

def _wide(b: ir.IRBuilder, x: ir.Value) -> ir.Value:
    ty = ir.VectorType(F64, x.type.count) if isinstance(x.type, ir.VectorType) else F64
    return b.fpext(x, ty)


def _horner(b: ir.IRBuilder, z: ir.Value, coeffs: tuple[float, ...]) -> ir.Value:
    p = const_like(z.type, coeffs[0])
    for c in coeffs[1:]:
        p = b.fadd(b.fmul(p, z), const_like(z.type, c))
    return p


def _nan_where(b: ir.IRBuilder, bad: ir.Value, v: ir.Value, out: ir.Type) -> ir.Value:
    ity = ir.VectorType(I64, v.type.count) if isinstance(v.type, ir.VectorType) else I64
    quiet = b.bitcast(const_like(ity, 0x7FF8_0000_0000_0000), v.type)
    return b.fptrunc(b.select(bad, quiet, v), out)


def _sincos(b: ir.IRBuilder, x: ir.Value, cosine: bool) -> ir.Value:
    c = _wide(b, x)
    ty = c.type

    def k_(v: float) -> ir.Constant:
        return const_like(ty, v)
    k = call_intrinsic(b, "rint", [b.fmul(c, k_(TWO_OVER_PI))])
    r = b.fsub(b.fsub(b.fsub(c, b.fmul(k, k_(PIO2[0]))), b.fmul(k, k_(PIO2[1]))), b.fmul(k, k_(PIO2[2])))
    z = b.fmul(r, r)
    sin_r = b.fadd(r, b.fmul(b.fmul(r, z), _horner(b, z, SIN_COEFFS)))
    cos_r = b.fadd(k_(1.0), b.fmul(z, _horner(b, z, COS_COEFFS)))
    q = b.fsub(k, b.fmul(k_(4.0), call_intrinsic(b, "floor", [b.fmul(k, k_(0.25))])))
    if cosine:
        q = b.fadd(q, k_(1.0))
        q = b.select(b.fcmp_ordered("==", q, k_(4.0)), k_(0.0), q)
    v = b.select(b.fcmp_ordered("==", q, k_(2.0)), b.fneg(sin_r), b.fneg(cos_r))
    v = b.select(b.fcmp_ordered("==", q, k_(1.0)), cos_r, v)
    v = b.select(b.fcmp_ordered("==", q, k_(0.0)), sin_r, v)
    v = call_intrinsic(b, "minimum", [call_intrinsic(b, "maximum", [v, k_(-1.0)]), k_(1.0)])
    finite = b.fcmp_ordered("<", call_intrinsic(b, "fabs", [c]), k_(float("inf")))
    return _nan_where(b, b.not_(finite), v, x.type)


def sin_f32(b: ir.IRBuilder, x: ir.Value) -> ir.Value:
    return _sincos(b, x, False)


def cos_f32(b: ir.IRBuilder, x: ir.Value) -> ir.Value:
    return _sincos(b, x, True)


def lg2_f32(b: ir.IRBuilder, x: ir.Value) -> ir.Value:
    c = _wide(b, x)
    ty = c.type
    ity = ir.VectorType(I64, ty.count) if isinstance(ty, ir.VectorType) else I64

    def k_(v: float) -> ir.Constant:
        return const_like(ty, v)
    bits = b.bitcast(c, ity)
    e = b.fsub(b.sitofp(b.and_(b.lshr(bits, const_like(ity, 52)), const_like(ity, 0x7FF)), ty), k_(1023.0))
    m = b.bitcast(b.or_(b.and_(bits, const_like(ity, MANTISSA)), const_like(ity, ONE_BITS)), ty)
    big = b.fcmp_ordered(">", m, k_(SQRT2))
    m = b.select(big, b.fmul(m, k_(0.5)), m)
    e = b.select(big, b.fadd(e, k_(1.0)), e)
    s = b.fdiv(b.fsub(m, k_(1.0)), b.fadd(m, k_(1.0)))
    ln_m = b.fmul(b.fmul(k_(2.0), s), _horner(b, b.fmul(s, s), LOG_COEFFS))
    v = b.fadd(e, b.fmul(ln_m, k_(INV_LN2)))
    v = b.select(b.fcmp_ordered("==", c, k_(float("inf"))), k_(float("inf")), v)
    v = b.select(b.fcmp_ordered("==", c, k_(0.0)), k_(float("-inf")), v)
    return _nan_where(b, b.fcmp_unordered("ult", c, k_(0.0)), v, x.type)


def tanh64(b: ir.IRBuilder, c: ir.Value) -> ir.Value:
    """approx.tanh64: doubles in, doubles out."""
    ty = c.type

    def k_(v: float) -> ir.Constant:
        return const_like(ty, v)
    a = call_intrinsic(b, "fabs", [c])
    z = b.fmul(c, c)
    small = b.fadd(c, b.fmul(b.fmul(c, z), _horner(b, z, TANH_COEFFS)))
    t = b.fsub(k_(1.0), b.fdiv(k_(2.0), b.fadd(exp2(b, b.fmul(a, k_(LOG2E2))), k_(1.0))))
    v = call_intrinsic(b, "copysign", [b.select(b.fcmp_ordered("<", a, k_(TANH_SMALL)), small, t), c])
    ity = ir.VectorType(I64, ty.count) if isinstance(ty, ir.VectorType) else I64
    quiet = b.bitcast(const_like(ity, 0x7FF8_0000_0000_0000), ty)
    return b.select(b.fcmp_unordered("uno", c, c), quiet, v)


def tanh_f32(b: ir.IRBuilder, x: ir.Value) -> ir.Value:
    return b.fptrunc(tanh64(b, _wide(b, x)), x.type)
