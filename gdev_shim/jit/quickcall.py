"""The quick tier's call of an access function: a small call site in every kernel.

A quick-tier kernel calls one function per scalar access shape (`memops._access_helper`,
prebuilt by accesslib.py).  That function takes its lanes as arrays (64-bit addresses and
values, a byte per lane of the mask), and building them at each call site widened the
mask and the values there: about a quarter of the machine code LLVM selected for an
unrolled bitonic sort's quick tier.  Kernels call a wrapper instead, which takes the mask
as a W-bit integer and the values at their own width and builds the arrays itself, once,
in optimised code (the library's, or a copy of the kernel's own when it has none).

    i32 f(i64* env, <W x i64>* addrs, <W x iN>* values, iW mask, i64 pc): 0, or 1 after a fault
"""
from __future__ import annotations

from typing import Any

from llvmlite import ir

from . import abi, accesslib
from .lanes import I1, I8, I32, I64, entry_alloca, finish_entry, start_function


def emit_call(kc: Any, code: int, store: bool, addrs: ir.Value, ity: ir.Type, raw_vals: list,
              eff: ir.Value) -> list[ir.Value]:
    """The quick tier's scalar access of `addrs` under `eff`: the loaded raw bits, if a load."""
    from .memops import _rows_likely
    b, L = kc.b, kc.lanes
    rows = code != abi.GENERIC and _rows_likely(kc)
    fn = _library_wrapper(kc, code, store, ity, rows) or wrapper(kc, code, store, ity, rows)
    b.store(addrs, kc.tmp64)
    values = b.bitcast(kc.tmpval, ir.PointerType(L.vt(ity)))     # a 64-bit slot holds any width
    if store:
        b.store(raw_vals[0], values)
    status = b.call(fn, [kc.env_ptr, kc.tmp64, values, b.bitcast(eff, ir.IntType(kc.W)),
                         ir.Constant(I64, kc.pc)])
    okb = kc.fn.append_basic_block("mem_done")
    b.cbranch(b.icmp_unsigned("!=", status, ir.Constant(I32, 0)), kc.fail_bb, okb)
    b.position_at_end(okb)
    return [] if store else [b.load(values)]


def _signature(W: int, ity: ir.Type) -> ir.FunctionType:
    vec = ir.VectorType
    return ir.FunctionType(I32, [ir.PointerType(I64), ir.PointerType(vec(I64, W)),
                                 ir.PointerType(vec(ity, W)), ir.IntType(W), I64])


def _library_wrapper(kc: Any, code: int, store: bool, ity: ir.Type, rows: bool) -> ir.Function | None:
    """The declaration of the prebuilt, optimised wrapper of a shape, if the process has one."""
    if not kc.library:
        return None
    sym = accesslib.symbol(accesslib.wrapper_name(code, store, ity, rows))
    if sym is None:
        return None
    kc.library_symbols.add(sym)
    fn = kc.helpers.get(sym)
    if fn is None:
        fn = kc.helpers[sym] = ir.Function(kc.m, _signature(kc.W, ity), name=sym)
    return fn


def wrapper(unit: Any, code: int, store: bool, ity: ir.Type, rows: bool) -> ir.Function:
    """The wrapper of a shape in `unit`'s module (a KernelCompiler or accesslib's unit),
    with the access function it calls."""
    from .memops import _access_helper
    name = accesslib.wrapper_name(code, store, ity, rows)
    fn = unit.helpers.get(name)
    if fn is not None:
        return fn
    inner = _access_helper(unit, code, store, ity, rows)
    W = unit.W
    fn = unit.helpers[name] = ir.Function(unit.m, _signature(W, ity), name=name)
    fn.linkage = "internal"
    env, addrs, values, mask, pc = fn.args
    b = start_function(fn)
    v64, v8 = ir.VectorType(I64, W), ir.VectorType(I8, W)
    wide = entry_alloca(fn, v64, name="values64")
    lanes = entry_alloca(fn, v8, name="mask_bytes")
    b.store(b.zext(b.bitcast(mask, ir.VectorType(I1, W)), v8), lanes)
    if store:
        v = b.load(values)
        b.store(v if ity.width == 64 else b.zext(v, v64), wide)
    arr64 = ir.PointerType(ir.ArrayType(I64, W))
    status = b.call(inner, [env, b.bitcast(addrs, arr64), b.bitcast(wide, arr64),
                            b.bitcast(lanes, ir.PointerType(ir.ArrayType(I8, W))), pc])
    if not store:
        got = b.load(wide)
        b.store(got if ity.width == 64 else b.trunc(got, ir.VectorType(ity, W)), values)
    b.ret(status)
    finish_entry(fn)
    return fn
