"""Approximate math instructions: the operation sequences of ptx/approx.py in IR.

Plain IEEE double operations in the same order (and no contraction into fused
multiply-adds) give the same bits as the interpreter's numpy code.
"""
from __future__ import annotations

from llvmlite import ir

from ..ptx.approx import EXP2_COEFFS, EXP2_LIMIT
from .lanes import F64, I64, Lanes


def _c(ty: ir.Type, v: float | int) -> ir.Constant:
    if isinstance(ty, ir.VectorType):
        return ir.Constant(ty, [ir.Constant(ty.element, v)] * ty.count)
    return ir.Constant(ty, v)


def _call(b: ir.IRBuilder, name: str, args: list[ir.Value]) -> ir.Value:
    ty = args[0].type
    full = f"llvm.{name}.{Lanes.suffix(ty)}"
    fn = b.module.globals.get(full)
    if fn is None:
        fn = ir.Function(b.module, ir.FunctionType(ty, [a.type for a in args]), name=full)
    return b.call(fn, args)


def exp2(b: ir.IRBuilder, x: ir.Value) -> ir.Value:
    """2**x for doubles (approx.exp2); x may be a scalar or a lane vector."""
    ty = x.type
    ity = ir.VectorType(I64, ty.count) if isinstance(ty, ir.VectorType) else I64
    # max/min with NaN give NaN there, as numpy's maximum/minimum do
    c = _call(b, "maximum", [x, _c(ty, -EXP2_LIMIT)])
    c = _call(b, "minimum", [c, _c(ty, EXP2_LIMIT)])
    n = _call(b, "rint", [c])
    f = b.fsub(c, n)
    p = _c(ty, EXP2_COEFFS[0])
    for k in EXP2_COEFFS[1:]:
        p = b.fadd(b.fmul(p, f), _c(ty, k))
    nan = b.fcmp_unordered("uno", x, x)
    ni = b.fptosi(b.select(nan, _c(ty, 0.0), n), ity)
    scale = b.bitcast(b.shl(b.add(ni, _c(ity, 1023)), _c(ity, 52)), ty)
    quiet = b.bitcast(_c(ity, 0x7FF8_0000_0000_0000), ty)
    return b.select(nan, quiet, b.fmul(p, scale))


def exp2_f32(b: ir.IRBuilder, x: ir.Value) -> ir.Value:
    """ex2.approx.f32: 2**x in double, rounded to float."""
    wide = ir.VectorType(F64, x.type.count) if isinstance(x.type, ir.VectorType) else F64
    return b.fptrunc(exp2(b, b.fpext(x, wide)), x.type)
