"""Approximate math instructions: the operation sequences of ptx/approx.py in IR.

Plain IEEE double operations in the same order (and no contraction into fused
multiply-adds) give the same bits as the interpreter's numpy code.
"""
from __future__ import annotations

from llvmlite import ir

from ..ptx.approx import EXP2_COEFFS, EXP2_LIMIT
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
