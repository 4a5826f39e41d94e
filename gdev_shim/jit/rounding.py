"""Directed rounding (.rz .rm .rp) done by the host's floating-point unit.

An instruction with a rounding mode other than nearest becomes a call of a small helper
that switches the host thread's rounding mode, runs LLVM's constrained floating-point
operation (which the optimiser must not move across that switch) and restores the mode.
The results are the correctly rounded ones, as ptx/fpexact.py computes them.
"""
from __future__ import annotations

from typing import Any

from llvmlite import ir

from .lanes import I32, Lanes

# llvm.set.rounding's encoding of the modes
MODES = {"rz": 0, "rn": 1, "rp": 2, "rm": 3}
# operation -> number of value operands
_OPS = {"fadd": 2, "fsub": 2, "fmul": 2, "fdiv": 2, "fma": 3, "sqrt": 1,
        "fptrunc": 1, "sitofp": 1, "uitofp": 1}


class _FnAttrs(ir.values.FunctionAttributes):
    _known = ir.values.FunctionAttributes._known | {"strictfp"}


class _CallAttrs(ir.instructions.CallInstrAttributes):
    _known = ir.instructions.CallInstrAttributes._known | {"strictfp"}


def _strict_call(b: ir.IRBuilder, fn: ir.Function, args: list) -> ir.Value:
    call = b.call(fn, args)
    call.attributes = _CallAttrs(["strictfp"])
    return call


def _declare(m: ir.Module, name: str, ret: ir.Type, args: list[ir.Type]) -> ir.Function:
    fn = m.globals.get(name)
    return fn if fn is not None else ir.Function(m, ir.FunctionType(ret, args), name=name)


def _helper(kc: Any, op: str, mode: str, ret: ir.Type, arg: ir.Type) -> ir.Function:
    key = f"round_{op}_{mode}_{Lanes.suffix(ret)}_{Lanes.suffix(arg)}"
    fn = kc.helpers.get(key)
    if fn is not None:
        return fn
    m = kc.m
    n = _OPS[op]
    fn = ir.Function(m, ir.FunctionType(ret, [arg] * n), name=key)
    fn.linkage = "internal"
    fn.attributes = _FnAttrs(["strictfp", "noinline", "nounwind"])
    kc.helpers[key] = fn
    md = ir.MetaDataType()
    if op in ("fptrunc", "sitofp", "uitofp"):
        name = f"llvm.experimental.constrained.{op}.{Lanes.suffix(ret)}.{Lanes.suffix(arg)}"
    else:
        name = f"llvm.experimental.constrained.{op}.{Lanes.suffix(ret)}"
    constrained = _declare(m, name, ret, [arg] * n + [md, md])
    get_mode = _declare(m, "llvm.get.rounding", I32, [])
    set_mode = _declare(m, "llvm.set.rounding", ir.VoidType(), [I32])
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    saved = _strict_call(b, get_mode, [])
    _strict_call(b, set_mode, [ir.Constant(I32, MODES[mode])])
    r = _strict_call(b, constrained, list(fn.args) + [ir.MetaDataString(m, "round.dynamic"),
                                                       ir.MetaDataString(m, "fpexcept.ignore")])
    _strict_call(b, set_mode, [saved])
    b.ret(r)
    return fn


def directed(kc: Any, op: str, mode: str, args: list[ir.Value], ret: ir.Type | None = None) -> ir.Value:
    """op (fadd fsub fmul fdiv fma sqrt, or the conversions fptrunc sitofp uitofp to type ret)
    on lane vectors, rounded in mode rz/rm/rp (or rn)."""
    fn = _helper(kc, op, mode, ret or args[0].type, args[0].type)
    return kc.b.call(fn, args)
