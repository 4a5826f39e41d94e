"""Arithmetic, logic, compare, select, convert and move instructions as lane-vector IR.

Each builder mirrors the interpreter's numpy semantics bit for bit (ptx/ops_alu.py),
and raises JitUnsupported for forms whose exact result it does not reproduce.
"""
from __future__ import annotations

from typing import Any, Callable

from llvmlite import ir

from ..ptx.form import Form
from ..ptx.ops_alu import _PRMT_MODES
from . import approx, warpops
from .errors import JitUnsupported
from .lanes import F64, I1, I32, I64, I128, INT, const_like, width_of
from .layout import Item
from .rounding import directed

Emit = Callable[..., ir.Value]


def _types(item: Item, f: Form, want: int = 1) -> tuple[str, ...]:
    """The instruction's types, at least `want`; 16-bit floats and b128 only for mov."""
    if len(f.types) < want:
        raise JitUnsupported(f"{item.ins.opcode}: missing type")
    if f.base != "mov":
        for t in f.types:
            if t in ("f16", "bf16", "b128"):
                raise JitUnsupported(f"{item.ins.opcode}: .{t}")
    return f.types


def _ops(item: Item, n: int) -> list[tuple]:
    if len(item.ins.operands) != n:
        raise JitUnsupported(f"{item.ins.opcode} takes {n} operands")
    return item.ins.operands


def simple(kc: Any, item: Item, eff: ir.Value, t: str, nsrc: int, fn: Emit,
           dst_t: str | None = None, src_ts: list[str] | None = None) -> None:
    ops = _ops(item, nsrc + 1)
    srcs = [kc.read(o, src_ts[i] if src_ts else t, item) for i, o in enumerate(ops[1:])]
    kc.write(ops[0], dst_t or t, fn(*srcs), item, eff)


def _is_float(t: str) -> bool:
    return t in ("f32", "f64")


def _signed(t: str) -> bool:
    return t[0] == "s"


def _wide(t: str) -> str:
    return {"u16": "u32", "s16": "s32", "u32": "u64", "s32": "s64"}.get(t, "")


# ---------------------------------------------------------------- integer helpers

def _ext(kc: Any, v: ir.Value, t: str, bits: int) -> ir.Value:
    ty = kc.lanes.vt(ir.IntType(bits))
    return kc.b.sext(v, ty) if _signed(t) else kc.b.zext(v, ty)


def _mulhi(kc: Any, a: ir.Value, c: ir.Value, t: str) -> ir.Value:
    b = kc.b
    w = width_of(t) * 8
    wa, wc = _ext(kc, a, t, 2 * w), _ext(kc, c, t, 2 * w)
    p = b.mul(wa, wc)
    return b.trunc(b.lshr(p, kc.lanes.const(ir.IntType(2 * w), w)), a.type)


def _idiv(kc: Any, a: ir.Value, d: ir.Value, t: str, rem: bool) -> ir.Value:
    b, L = kc.b, kc.lanes
    ty = a.type
    zero = ir.Constant(ty, None)
    isz = b.icmp_unsigned("==", d, zero)
    one = ir.Constant(ty, [ir.Constant(ty.element, 1)] * L.W)
    safe = b.select(isz, one, d)
    if not _signed(t):
        r = b.urem(a, safe) if rem else b.udiv(a, safe)
        allones = ir.Constant(ty, [ir.Constant(ty.element, -1)] * L.W)
        return b.select(isz, a if rem else allones, r)
    w = ty.element.width
    minv = ir.Constant(ty, [ir.Constant(ty.element, -(1 << (w - 1)))] * L.W)
    allones = ir.Constant(ty, [ir.Constant(ty.element, -1)] * L.W)
    ovf = b.and_(b.icmp_unsigned("==", a, minv), b.icmp_unsigned("==", safe, allones))
    safe2 = b.select(ovf, one, safe)
    r = b.srem(a, safe2) if rem else b.sdiv(a, safe2)
    r = b.select(ovf, zero if rem else minv, r)
    return b.select(isz, a if rem else allones, r)


def _shift(kc: Any, a: ir.Value, n: ir.Value, t: str, left: bool) -> ir.Value:
    b, L = kc.b, kc.lanes
    w = a.type.element.width
    big = b.icmp_unsigned(">=", n, L.const(I32, w))
    n = b.select(big, L.const(I32, w - 1), n)
    nn = b.zext(n, a.type) if w > 32 else (b.trunc(n, a.type) if w < 32 else n)
    if left:
        return b.select(big, ir.Constant(a.type, None), b.shl(a, nn))
    if _signed(t):
        return b.ashr(a, nn)
    return b.select(big, ir.Constant(a.type, None), b.lshr(a, nn))


# ---------------------------------------------------------------- float helpers

def _fconst(kc: Any, ty: ir.Type, value: float) -> ir.Value:
    el = ty.element
    return ir.Constant(ty, [ir.Constant(el, value)] * kc.W)


def _flush(kc: Any, x: ir.Value) -> ir.Value:
    """f32 subnormals to signed zero (|x| < FLT_MIN)."""
    b = kc.b
    ax = kc.lanes.call("fabs", [x])
    tiny = b.fcmp_ordered("<", ax, _fconst(kc, x.type, 1.17549435e-38))
    zero = kc.lanes.call("copysign", [_fconst(kc, x.type, 0.0), x])
    return b.select(tiny, zero, x)


def _sat(kc: Any, x: ir.Value) -> ir.Value:
    b = kc.b
    zero, one = _fconst(kc, x.type, 0.0), _fconst(kc, x.type, 1.0)
    isnan = b.fcmp_unordered("uno", x, x)
    lo = b.select(b.fcmp_ordered("<", x, zero), zero, x)
    hi = b.select(b.fcmp_ordered(">", lo, one), one, lo)
    return b.select(isnan, zero, hi)


def int_like(ty: ir.Type) -> ir.Type:
    """The integer type of a float type's width (scalar or vector)."""
    el = ty.element if isinstance(ty, ir.VectorType) else ty
    it = I32 if isinstance(el, ir.FloatType) else I64
    return ir.VectorType(it, ty.count) if isinstance(ty, ir.VectorType) else it


def fminmax(b: ir.IRBuilder, x: ir.Value, y: ir.Value, is_min: bool, nan: bool = False) -> ir.Value:
    """PTX min/max as ptx/fpexact.fminmax: a NaN operand yields the other (two NaNs: the
    first), -0 < +0; with .NaN any NaN operand gives the default NaN.  Scalars or vectors."""
    ty = x.type
    ity = int_like(ty)
    r = b.select(b.fcmp_ordered("<" if is_min else ">", x, y), x, y)
    zero = const_like(ty, 0.0)
    zeros = b.and_(b.fcmp_ordered("==", x, zero), b.fcmp_ordered("==", y, zero))
    xi, yi = b.bitcast(x, ity), b.bitcast(y, ity)
    # the zeros differ in the sign bit alone: min takes it from either, max from both
    signed_zero = b.bitcast(b.or_(xi, yi) if is_min else b.and_(xi, yi), ty)
    r = b.select(zeros, signed_zero, r)
    r = b.select(b.fcmp_unordered("uno", y, y), x, r)
    if nan:
        single = isinstance(ty.element if isinstance(ty, ir.VectorType) else ty, ir.FloatType)
        quiet = 0x7FC00000 if single else 0x7FF8000000000000
        r = b.select(b.fcmp_unordered("uno", x, y), b.bitcast(const_like(ity, quiet), ty), r)
    return r


def b_arith(kc: Any, item: Item, f: Form, eff: ir.Value) -> None:
    if f.half is not None:
        from .halfprec import b_arith_half      # builds on this module's helpers
        b_arith_half(kc, item, f, eff, f.half)
        return
    if f.has("cc") or f.base in ("addc", "subc", "madc"):
        from .carry import b_carry      # builds on this module's helpers
        b_carry(kc, item, f, eff)
        return
    t = _types(item, f)[0]
    if _is_float(t):
        _float_op(kc, item, f, eff, t)
        return
    if t == "pred":
        raise JitUnsupported(f"{item.ins.opcode} on predicates")
    build = _INT_OPS.get(f.base)
    if build is None:
        raise JitUnsupported(f"instruction {item.ins.opcode}")
    build(kc, item, f, eff, t)


def _int_add(kc: Any, item: Item, f: Form, eff: ir.Value, t: str) -> None:
    b, L = kc.b, kc.lanes
    sub = f.base == "sub"
    if not f.sat:
        simple(kc, item, eff, t, 2, b.sub if sub else b.add)
        return
    if t != "s32":
        raise JitUnsupported(f"{item.ins.opcode}")

    def sat(x: ir.Value, y: ir.Value) -> ir.Value:
        wx, wy = b.sext(x, L.vt(I64)), b.sext(y, L.vt(I64))
        r = b.sub(wx, wy) if sub else b.add(wx, wy)
        r = b.select(b.icmp_signed("<", r, L.const(I64, -(1 << 31))), L.const(I64, -(1 << 31)), r)
        r = b.select(b.icmp_signed(">", r, L.const(I64, (1 << 31) - 1)), L.const(I64, (1 << 31) - 1), r)
        return b.trunc(r, L.vt(I32))
    simple(kc, item, eff, t, 2, sat)


def _wide_bits(item: Item, t: str) -> int:
    wt = _wide(t)
    if not wt:
        raise JitUnsupported(item.ins.opcode)
    return width_of(wt) * 8


def _int_mul(kc: Any, item: Item, f: Form, eff: ir.Value, t: str) -> None:
    b = kc.b
    if f.has("wide"):
        bits = _wide_bits(item, t)
        simple(kc, item, eff, t, 2, lambda x, y: b.mul(_ext(kc, x, t, bits), _ext(kc, y, t, bits)),
               dst_t=_wide(t))
    elif f.has("hi"):
        simple(kc, item, eff, t, 2, lambda x, y: _mulhi(kc, x, y, t))
    else:
        simple(kc, item, eff, t, 2, b.mul)


def _int_mad(kc: Any, item: Item, f: Form, eff: ir.Value, t: str) -> None:
    b = kc.b
    if f.has("wide"):
        bits = _wide_bits(item, t)
        wt = _wide(t)
        simple(kc, item, eff, t, 3,
               lambda x, y, z: b.add(b.mul(_ext(kc, x, t, bits), _ext(kc, y, t, bits)), z),
               dst_t=wt, src_ts=[t, t, wt])
    elif f.has("hi"):
        simple(kc, item, eff, t, 3, lambda x, y, z: b.add(_mulhi(kc, x, y, t), z))
    else:
        simple(kc, item, eff, t, 3, lambda x, y, z: b.add(b.mul(x, y), z))


def _int_div(kc: Any, item: Item, f: Form, eff: ir.Value, t: str) -> None:
    rem = f.base == "rem"
    simple(kc, item, eff, t, 2, lambda x, y: _idiv(kc, x, y, t, rem))


def _int_minmax(kc: Any, item: Item, f: Form, eff: ir.Value, t: str) -> None:
    b = kc.b
    op = "<" if f.base == "min" else ">"
    cmp = b.icmp_signed if _signed(t) else b.icmp_unsigned
    simple(kc, item, eff, t, 2, lambda x, y: b.select(cmp(op, x, y), x, y))


def _int_abs(kc: Any, item: Item, f: Form, eff: ir.Value, t: str) -> None:
    b = kc.b
    simple(kc, item, eff, t, 1, lambda x: b.select(
        b.icmp_signed("<", x, ir.Constant(x.type, None)), b.neg(x), x)
        if _signed(t) else x)


def _int_neg(kc: Any, item: Item, f: Form, eff: ir.Value, t: str) -> None:
    simple(kc, item, eff, t, 1, kc.b.neg)


def _int_sad(kc: Any, item: Item, f: Form, eff: ir.Value, t: str) -> None:
    b = kc.b
    cmp = b.icmp_signed if _signed(t) else b.icmp_unsigned
    simple(kc, item, eff, t, 3, lambda x, y, z: b.add(
        b.select(cmp(">", x, y), b.sub(x, y), b.sub(y, x)), z))


# float instructions with a rounding modifier -> the operation rounding.directed runs
_DIRECTED = {"add": "fadd", "sub": "fsub", "mul": "fmul", "div": "fdiv", "sqrt": "sqrt",
             "fma": "fma", "mad": "fma", "rcp": "rcp"}


def _mul24(kc: Any, item: Item, f: Form, eff: ir.Value, t: str) -> None:
    """mul24/mad24 .lo/.hi (ops_alu.mul24): the 48-bit product of the low 24 bits."""
    b, L = kc.b, kc.lanes
    hi = f.has("hi")
    if t not in ("u32", "s32") or f.sat:
        raise JitUnsupported(f"instruction {item.ins.opcode}")
    v64 = L.vt(I64)

    def low24(v: ir.Value) -> ir.Value:
        if t == "s32":
            return b.sext(b.ashr(b.shl(v, L.const(I32, 8)), L.const(I32, 8)), v64)
        return b.zext(b.and_(v, L.const(I32, 0xFFFFFF)), v64)

    def product(x: ir.Value, y: ir.Value) -> ir.Value:
        p = b.mul(low24(x), low24(y))
        return b.trunc(b.ashr(p, L.const(I64, 16)) if hi else p, L.vt(I32))
    if f.base == "mul24":
        simple(kc, item, eff, t, 2, product)
    else:
        simple(kc, item, eff, t, 3, lambda x, y, z: b.add(product(x, y), z))


def _float_op(kc: Any, item: Item, f: Form, eff: ir.Value, t: str) -> None:
    b, L = kc.b, kc.lanes
    base = f.base
    mode = f.float_rounding
    nan = f.has("NaN")
    one = _fconst(kc, L.vty(t), 1.0)
    table: dict[str, tuple[int, Emit]] = {
        "add": (2, b.fadd), "sub": (2, b.fsub), "mul": (2, b.fmul), "div": (2, b.fdiv),
        "min": (2, lambda x, y: fminmax(b, x, y, True, nan)),
        "max": (2, lambda x, y: fminmax(b, x, y, False, nan)),
        "abs": (1, lambda x: L.call("fabs", [x])), "neg": (1, b.fneg),
        "sqrt": (1, lambda x: L.call("sqrt", [x])),
        "rsqrt": (1, lambda x: b.fdiv(one, L.call("sqrt", [x]))),
        "rcp": (1, lambda x: b.fdiv(one, x)),
        "copysign": (2, lambda x, y: L.call("copysign", [y, x])),
    }
    if t == "f32":
        table["ex2"] = (1, lambda x: approx.exp2_f32(b, x))
        table["sin"] = (1, lambda x: approx.sin_f32(b, x))
        table["cos"] = (1, lambda x: approx.cos_f32(b, x))
        table["lg2"] = (1, lambda x: approx.lg2_f32(b, x))
        table["tanh"] = (1, lambda x: approx.tanh_f32(b, x))
    if base in ("fma", "mad"):
        # a single rounding, as the interpreter's exact fused multiply-add
        table[base] = (3, lambda x, y, z: L.call("fma", [x, y, z]))
    if mode != "rn" and base in _DIRECTED:
        op = _DIRECTED[base]

        def rounded(*xs: ir.Value) -> ir.Value:
            r = directed(kc, op, mode, list(xs)) if op != "rcp" else \
                directed(kc, "fdiv", mode, [one, xs[0]])
            # NaN results are the default NaN, as the interpreter gives them in these modes
            quiet = L.iconst_bits(t, 0x7FC00000 if t == "f32" else 0x7FF8000000000000)
            return b.select(b.fcmp_unordered("uno", r, r), quiet, r)
        table[base] = (table[base][0], rounded)
    if base not in table:
        raise JitUnsupported(f"instruction {item.ins.opcode}")
    n, fn = table[base]
    ftz = f.ftz and t == "f32"
    sat = f.sat

    def wrapped(*args: ir.Value) -> ir.Value:
        if ftz:
            args = tuple(_flush(kc, a) for a in args)
        r = fn(*args)
        if ftz:
            r = _flush(kc, r)
        if sat:
            r = _sat(kc, r)
        return r
    simple(kc, item, eff, t, n, wrapped)


def b_logic(kc: Any, item: Item, f: Form, eff: ir.Value) -> None:
    b = kc.b
    base = f.base
    t = _types(item, f)[0]
    if _is_float(t):
        raise JitUnsupported(f"{item.ins.opcode} on floats")
    fns = {"and": b.and_, "or": b.or_, "xor": b.xor}
    ut = t if t == "pred" else "u" + t[1:]
    if base == "not":
        simple(kc, item, eff, ut, 1, b.not_)
    elif base == "cnot":
        if t == "pred":
            raise JitUnsupported("cnot.pred")
        simple(kc, item, eff, ut, 1, lambda x: b.zext(b.icmp_unsigned("==", x, ir.Constant(x.type, None)), x.type))
    else:
        simple(kc, item, eff, ut, 2, fns[base])


def b_shift(kc: Any, item: Item, f: Form, eff: ir.Value) -> None:
    t = _types(item, f)[0]
    if _is_float(t) or t == "pred":
        raise JitUnsupported(item.ins.opcode)
    left = f.base == "shl"
    if left or t[0] == "b":
        t = "u" + t[1:]
    simple(kc, item, eff, t, 2, lambda a, n: _shift(kc, a, n, t, left), src_ts=[t, "u32"])


def b_bits(kc: Any, item: Item, f: Form, eff: ir.Value) -> None:
    b, L = kc.b, kc.lanes
    base = f.base
    t = _types(item, f)[0]
    if _is_float(t) or t == "pred":
        raise JitUnsupported(item.ins.opcode)
    w = width_of(t)
    ut = "u" + t[1:]

    def to32(v: ir.Value) -> ir.Value:
        if w == 4:
            return v
        return b.trunc(v, L.vt(I32)) if w > 4 else b.zext(v, L.vt(I32))
    if base == "popc":
        simple(kc, item, eff, ut, 1, lambda a: to32(L.call("ctpop", [a])), dst_t="u32")
    elif base == "clz":
        simple(kc, item, eff, ut, 1, lambda a: to32(L.call("ctlz", [a, ir.Constant(I1, 0)],
                                                            overload=a.type)), dst_t="u32")
    elif base == "brev":
        simple(kc, item, eff, ut, 1, lambda a: L.call("bitreverse", [a]))
    elif base == "bfind":
        shiftamt = f.has("shiftamt")

        def bfind(a: ir.Value) -> ir.Value:
            x = a
            if _signed(t):
                x = b.select(b.icmp_signed("<", a, ir.Constant(a.type, None)), b.not_(a), a)
            lz = to32(L.call("ctlz", [x, ir.Constant(I1, 0)], overload=x.type))
            zero = b.icmp_unsigned("==", x, ir.Constant(x.type, None))
            idx = b.sub(L.const(I32, 8 * w - 1), lz)
            res = lz if shiftamt else idx
            return b.select(zero, L.const(I32, 0xFFFFFFFF), res)
        simple(kc, item, eff, t, 1, bfind, dst_t="u32")
    elif base == "bmsk":
        clamp_mode = f.has("clamp")

        def bmsk(a: ir.Value, c: ir.Value) -> ir.Value:
            # the PTX ISA's steps in 64 bits, so that shifts by 32 and more are defined
            v64 = L.vt(I64)
            ones = L.const(I64, 0xFFFF_FFFF)
            wa, wb = b.zext(a, v64), b.zext(c, v64)
            a1, b1 = b.and_(wa, L.const(I64, 31)), b.and_(wb, L.const(I64, 31))
            mask0 = b.and_(b.shl(ones, a1), ones)
            total = b.add(a1, b1)
            mask1 = b.and_(b.shl(ones, total), ones)
            over = b.icmp_unsigned(">=", total, L.const(I64, 32))
            if clamp_mode:
                far = b.icmp_unsigned(">=", wa, L.const(I64, 32))
                mask0 = b.select(far, L.const(I64, 0), mask0)
                over = b.or_(b.or_(over, far), b.icmp_unsigned(">=", wb, L.const(I64, 32)))
            mask1 = b.select(over, L.const(I64, 0),
                             b.select(b.icmp_unsigned("==", b1, L.const(I64, 0)), ones, mask1))
            return b.trunc(b.and_(mask0, b.xor(mask1, ones)), L.vt(I32))
        simple(kc, item, eff, "u32", 2, bmsk)
    elif base == "shf":
        left = f.has("l")
        clamp = f.has("clamp")

        def shf(a: ir.Value, c: ir.Value, n: ir.Value) -> ir.Value:
            if clamp:
                n = b.select(b.icmp_unsigned(">", n, L.const(I32, 32)), L.const(I32, 32), n)
            else:
                n = b.and_(n, L.const(I32, 31))
            v64 = L.vt(I64)
            x = b.or_(b.zext(a, v64), b.shl(b.zext(c, v64), L.const(I64, 32)))
            n64 = b.zext(n, v64)
            is32 = b.icmp_unsigned("==", n, L.const(I32, 32))
            if left:
                r = b.trunc(b.lshr(b.shl(x, b.select(is32, L.const(I64, 0), n64)), L.const(I64, 32)), L.vt(I32))
                return b.select(is32, a, r)
            r = b.trunc(b.lshr(x, b.select(is32, L.const(I64, 0), n64)), L.vt(I32))
            return b.select(is32, c, r)
        simple(kc, item, eff, "u32", 3, shf)
    elif base == "lop3":
        ops = _ops(item, 5)
        if ops[4][0] != "imm":
            raise JitUnsupported("lop3 needs an immediate table")
        lut = ops[4][1] & 0xFF
        srcs = [kc.read(o, "u32", item) for o in ops[1:4]]
        out = L.const(I32, 0)
        for k in range(8):
            if lut >> k & 1:
                x, y, z = (s if k & bit else b.not_(s) for s, bit in zip(srcs, (4, 2, 1)))
                out = b.or_(out, b.and_(b.and_(x, y), z))
        kc.write(ops[0], "u32", out, item, eff)
    elif base == "prmt":
        mode = f.mode
        if mode is not None:
            simple(kc, item, eff, "u32", 3, lambda a, c, s: _prmt_mode(kc, a, c, s, mode))
            return

        def prmt(a: ir.Value, c: ir.Value, s: ir.Value) -> ir.Value:
            v64 = L.vt(I64)
            x = b.or_(b.zext(a, v64), b.shl(b.zext(c, v64), L.const(I64, 32)))
            out = L.const(I32, 0)
            for i in range(4):
                sel = b.and_(b.lshr(s, L.const(I32, 4 * i)), L.const(I32, 0xF))
                sh = b.zext(b.mul(b.and_(sel, L.const(I32, 7)), L.const(I32, 8)), v64)
                byte = b.trunc(b.and_(b.lshr(x, sh), L.const(I64, 0xFF)), L.vt(I32))
                neg = b.icmp_unsigned("!=", b.and_(byte, L.const(I32, 0x80)), L.const(I32, 0))
                sign = b.icmp_unsigned("!=", b.and_(sel, L.const(I32, 8)), L.const(I32, 0))
                byte = b.select(sign, b.select(neg, L.const(I32, 0xFF), L.const(I32, 0)), byte)
                out = b.or_(out, b.shl(byte, L.const(I32, 8 * i)))
            return out
        simple(kc, item, eff, "u32", 3, prmt)
    elif base == "bfe":
        def bfe(a: ir.Value, pos: ir.Value, ln: ir.Value) -> ir.Value:
            v64 = L.vt(I64)
            bits = 8 * w
            ua = b.zext(a, v64) if w < 8 else a
            p = b.zext(b.and_(pos, L.const(I32, 0xFF)), v64)
            n = b.zext(b.and_(ln, L.const(I32, 0xFF)), v64)
            room = b.select(b.icmp_unsigned(">=", p, L.const(I64, bits)), L.const(I64, 0),
                            b.sub(L.const(I64, bits), p))
            eff_len = b.select(b.icmp_unsigned("<", n, room), n, room)
            m = _mask64(kc, eff_len)
            ps = b.select(b.icmp_unsigned(">", p, L.const(I64, 63)), L.const(I64, 63), p)
            r = b.and_(b.lshr(ua, ps), m)
            if _signed(t):
                top = b.sub(b.add(p, n), L.const(I64, 1))
                top = b.select(b.icmp_unsigned(">", top, L.const(I64, bits - 1)), L.const(I64, bits - 1), top)
                sbit = b.and_(b.lshr(ua, top), L.const(I64, 1))
                sbit = b.select(b.icmp_unsigned("==", n, L.const(I64, 0)), L.const(I64, 0), sbit)
                r = b.select(b.icmp_unsigned("==", sbit, L.const(I64, 1)), b.or_(r, b.not_(m)), r)
            return r if w == 8 else b.trunc(r, a.type)
        simple(kc, item, eff, t, 3, bfe, src_ts=[t, "u32", "u32"])
    elif base == "bfi":
        def bfi(a: ir.Value, c: ir.Value, pos: ir.Value, ln: ir.Value) -> ir.Value:
            v64 = L.vt(I64)
            bits = 8 * w
            p = b.zext(b.and_(pos, L.const(I32, 0xFF)), v64)
            n = b.zext(b.and_(ln, L.const(I32, 0xFF)), v64)
            ps = b.select(b.icmp_unsigned(">", p, L.const(I64, 63)), L.const(I64, 63), p)
            full = L.const(I64, (1 << bits) - 1 if bits < 64 else -1)
            m = b.and_(b.shl(_mask64(kc, n), ps), full)
            m = b.select(b.icmp_unsigned(">=", p, L.const(I64, bits)), L.const(I64, 0), m)
            ua = b.zext(a, v64) if w < 8 else a
            ub = b.zext(c, v64) if w < 8 else c
            r = b.or_(b.and_(ub, b.not_(m)), b.and_(b.shl(ua, ps), m))
            return r if w == 8 else b.trunc(r, a.type)
        simple(kc, item, eff, ut, 4, bfi, src_ts=[ut, ut, "u32", "u32"])
    else:
        raise JitUnsupported(f"instruction {item.ins.opcode}")


def _prmt_mode(kc: Any, a: ir.Value, c: ir.Value, s: ir.Value, mode: str) -> ir.Value:
    """prmt.{f4e,b4e,rc8,ecl,ecr,rc16}: the source byte of each result byte, chosen by s & 3."""
    b, L = kc.b, kc.lanes
    v64 = L.vt(I64)
    x = b.or_(b.zext(a, v64), b.shl(b.zext(c, v64), L.const(I64, 32)))
    sel = b.and_(s, L.const(I32, 3))
    table = _PRMT_MODES[mode]
    out = L.const(I32, 0)
    for i in range(4):
        idx = L.const(I64, table[3][i])
        for k in (2, 1, 0):
            idx = b.select(b.icmp_unsigned("==", sel, L.const(I32, k)), L.const(I64, table[k][i]), idx)
        byte = b.and_(b.lshr(x, b.mul(idx, L.const(I64, 8))), L.const(I64, 0xFF))
        out = b.or_(out, b.shl(b.trunc(byte, L.vt(I32)), L.const(I32, 8 * i)))
    return out


def _mask64(kc: Any, bits: ir.Value) -> ir.Value:
    """(1 << bits) - 1 for 0 <= bits <= 64, as i64 lanes."""
    b, L = kc.b, kc.lanes
    big = b.icmp_unsigned(">=", bits, L.const(I64, 64))
    s = b.select(big, L.const(I64, 63), bits)
    return b.select(big, L.const(I64, -1), b.sub(b.shl(L.const(I64, 1), s), L.const(I64, 1)))


_ICMP = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=",
         "lo": "<", "ls": "<=", "hi": ">", "hs": ">="}


def _compare(kc: Any, cmp: str, t: str) -> Emit:
    b = kc.b
    if _is_float(t):
        if cmp == "num":
            return lambda x, y: b.fcmp_ordered("ord", x, y)
        if cmp == "nan":
            return lambda x, y: b.fcmp_unordered("uno", x, y)
        if cmp.endswith("u") and cmp[:-1] in _ICMP:
            op = _ICMP[cmp[:-1]]
            return lambda x, y: b.fcmp_unordered(op, x, y)
        if cmp not in _ICMP or cmp in ("lo", "ls", "hi", "hs"):
            raise JitUnsupported(f"comparison {cmp}")
        op = _ICMP[cmp]
        return lambda x, y: b.fcmp_ordered(op, x, y)
    if cmp not in _ICMP:
        raise JitUnsupported(f"comparison {cmp}")
    op = _ICMP[cmp]
    if t == "pred":
        return lambda x, y: b.icmp_unsigned(op, x, y)
    if _signed(t) and cmp not in ("lo", "ls", "hi", "hs"):
        return lambda x, y: b.icmp_signed(op, x, y)
    return lambda x, y: b.icmp_unsigned(op, x, y)


def bool_op(kc: Any, name: str | None) -> Emit | None:
    """The builder method combining a setp result with a third predicate, if one is named."""
    b = kc.b
    return {"and": b.and_, "or": b.or_, "xor": b.xor}.get(name or "")


def b_setp(kc: Any, item: Item, f: Form, eff: ir.Value) -> None:
    b, L = kc.b, kc.lanes
    if f.half is not None:
        from .halfprec import b_setp_half
        b_setp_half(kc, item, f, eff, f.half)
        return
    ts = _types(item, f)
    t = ts[-1]
    if f.cmp is None:
        raise JitUnsupported(f"{item.ins.opcode}: missing comparison")
    boolop = f.boolop
    fn = _compare(kc, f.cmp, t)
    ops = item.ins.operands
    if len(ops) not in (3, 4) or (boolop is None) != (len(ops) == 3):
        raise JitUnsupported(f"{item.ins.opcode}: wrong operands")
    x, y = kc.read(ops[1], t, item), kc.read(ops[2], t, item)
    if f.ftz and t == "f32":
        x, y = _flush(kc, x), _flush(kc, y)
    c = kc.read(ops[3], "pred", item) if boolop else None
    comb = bool_op(kc, boolop)
    p = fn(x, y)
    if f.base == "set":
        dt = ts[0]
        if comb is not None:
            p = comb(p, c)
        if _is_float(dt):
            one, zero = L.iconst_bits(dt, 0x3F800000 if dt == "f32" else 0x3FF0000000000000), \
                L.iconst_bits(dt, 0)
        else:
            one, zero = L.iconst_bits(dt, -1), L.iconst_bits(dt, 0)
        kc.write(ops[0], dt, b.select(p, one, zero), item, eff)
        return
    q = b.not_(p)
    if comb is not None:
        p, q = comb(p, c), comb(q, c)
    dp, dq = (ops[0][1], ops[0][2]) if ops[0][0] == "pair" else (ops[0], None)
    kc.write(dp, "pred", p, item, eff)
    if dq is not None:
        kc.write(dq, "pred", q, item, eff)


_HALF_BITS = {"f16": "b16", "bf16": "b16", "f16x2": "b32", "bf16x2": "b32"}


def b_selp(kc: Any, item: Item, f: Form, eff: ir.Value) -> None:
    # a selection copies bits: halves (and their pairs in 32 bits) need no arithmetic
    t = _HALF_BITS.get(f.half or "") or _types(item, f)[0]
    simple(kc, item, eff, t, 3, lambda x, y, p: kc.b.select(p, x, y), src_ts=[t, t, "pred"])


def b_slct(kc: Any, item: Item, f: Form, eff: ir.Value) -> None:
    ts = _types(item, f, 2)
    b = kc.b

    def slct(x: ir.Value, y: ir.Value, c: ir.Value) -> ir.Value:
        if _is_float(ts[1]):
            ge = b.fcmp_ordered(">=", c, ir.Constant(c.type, None))
        else:
            ge = b.icmp_signed(">=", c, ir.Constant(c.type, None))
        return b.select(ge, x, y)
    simple(kc, item, eff, ts[0], 3, slct, src_ts=[ts[0], ts[0], ts[1]])


def b_testp(kc: Any, item: Item, f: Form, eff: ir.Value) -> None:
    b, L = kc.b, kc.lanes
    t = _types(item, f)[0]
    kind = f.cmp
    tiny = 1.1754943508222875e-38 if t == "f32" else 2.2250738585072014e-308
    inf = float("inf")

    def test(a: ir.Value) -> ir.Value:
        ax = L.call("fabs", [a])
        if kind == "finite":
            return b.fcmp_ordered("<", ax, _fconst(kc, a.type, inf))
        if kind == "infinite":
            return b.fcmp_ordered("==", ax, _fconst(kc, a.type, inf))
        if kind == "number":
            return b.fcmp_ordered("ord", a, a)
        if kind == "notanumber":
            return b.fcmp_unordered("uno", a, a)
        if kind == "normal":
            return b.and_(b.fcmp_ordered("<", ax, _fconst(kc, a.type, inf)),
                          b.fcmp_ordered(">=", ax, _fconst(kc, a.type, tiny)))
        if kind == "subnormal":
            return b.and_(b.fcmp_ordered("<", ax, _fconst(kc, a.type, tiny)),
                          b.fcmp_ordered("!=", a, _fconst(kc, a.type, 0.0)))
        raise JitUnsupported(item.ins.opcode)
    simple(kc, item, eff, t, 1, test, dst_t="pred")


_RINT = {"rni": "rint", "rzi": "trunc", "rmi": "floor", "rpi": "ceil"}


def float_to_int(kc: Any, x: ir.Value, dst_t: str, rnd: str) -> ir.Value:
    """Doubles to integers of dst_t, rounded by .rni/.rzi/.rmi/.rpi (truncated otherwise),
    saturating, NaN to 0 (ops_alu.cvt_fn)."""
    b, L = kc.b, kc.lanes
    rf = _RINT.get(rnd, "trunc")
    w = width_of(dst_t)
    signed = _signed(dst_t)
    lo = float(-(1 << (8 * w - 1))) if signed else 0.0
    hi = float((1 << (8 * w - 1)) - 1) if signed else float((1 << (8 * w)) - 1)
    maxv = (1 << (8 * w - 1)) - 1 if signed else (1 << (8 * w)) - 1
    minv = -(1 << (8 * w - 1)) if signed else 0
    r = L.call(rf, [x])
    d = L.vt(F64)
    nan = b.fcmp_unordered("uno", r, r)
    over = b.fcmp_ordered(">=", r, _fconst(kc, d, hi))
    under = b.fcmp_ordered("<=", r, _fconst(kc, d, lo))
    safe = b.select(b.or_(nan, b.or_(over, under)), _fconst(kc, d, 0.0), r)
    dty = L.vty(dst_t)
    mid = b.fptosi(safe, dty) if signed else b.fptoui(safe, dty)
    out = b.select(under, L.const(INT[w], minv), mid)
    out = b.select(over, L.const(INT[w], maxv), out)
    return b.select(nan, L.const(INT[w], 0), out)


_CVT_UNSUPPORTED = frozenset({"f16x2", "bf16x2", "e4m3x2", "e5m2x2", "tf32"})


def b_cvt(kc: Any, item: Item, f: Form, eff: ir.Value) -> None:
    b, L = kc.b, kc.lanes
    if f.half is not None:
        from .halfprec import b_cvt_half
        b_cvt_half(kc, item, f, eff)
        return
    ts = _types(item, f, 2)
    if f.flags & _CVT_UNSUPPORTED:
        raise JitUnsupported(item.ins.opcode)
    dst_t, src_t = ts[0], ts[1]
    if dst_t == "pred" or src_t == "pred":
        raise JitUnsupported(item.ins.opcode)
    rnd = f.rounding
    sat = f.sat
    ftz = f.ftz
    df, sf = _is_float(dst_t), _is_float(src_t)
    dty = L.vty(dst_t)
    if sf and df:
        if dst_t == src_t:
            fn = (lambda a: L.call(_RINT[rnd], [a])) if rnd in _RINT else (lambda a: a)
        elif dst_t == "f32":
            if rnd in ("rz", "rm", "rp"):
                fn = lambda a: directed(kc, "fptrunc", rnd, [a], dty)  # noqa: E731
            else:
                fn = lambda a: b.fptrunc(a, dty)  # noqa: E731
        else:
            fn = lambda a: b.fpext(a, dty)  # noqa: E731
        if ftz and "f32" in (dst_t, src_t):
            # .ftz flushes a float source, and a float result (ops_alu.cvt_fn)
            plain = fn
            fn = lambda a: _flush_if(kc, plain(_flush_if(kc, a, src_t)), dst_t)  # noqa: E731
        if sat:
            inner = fn
            fn = lambda a: _sat(kc, inner(a))  # noqa: E731
        simple(kc, item, eff, dst_t, 1, fn, src_ts=[src_t])
        return
    if sf:
        def f2i(a: ir.Value) -> ir.Value:
            if ftz:
                a = _flush_if(kc, a, src_t)
            return float_to_int(kc, b.fpext(a, L.vt(F64)) if src_t == "f32" else a, dst_t, rnd)
        simple(kc, item, eff, dst_t, 1, f2i, src_ts=[src_t])
        return
    if df:
        conv = b.sitofp if _signed(src_t) else b.uitofp
        if rnd in ("rz", "rm", "rp"):
            op = "sitofp" if _signed(src_t) else "uitofp"
            conv = lambda a, ty: directed(kc, op, rnd, [a], ty)  # noqa: E731

        def i2f(a: ir.Value) -> ir.Value:
            r = conv(a, dty)
            return _sat(kc, r) if sat else r
        simple(kc, item, eff, dst_t, 1, i2f, src_ts=[src_t])
        return
    sw, dw = width_of(src_t), width_of(dst_t)

    def i2i(a: ir.Value) -> ir.Value:
        if sat:
            return _int_clamp(kc, a, src_t, dst_t)
        if sw == dw:
            return a
        if sw > dw:
            return b.trunc(a, dty)
        return b.sext(a, dty) if _signed(src_t) else b.zext(a, dty)
    simple(kc, item, eff, dst_t, 1, i2i, src_ts=[src_t])


def _flush_if(kc: Any, x: ir.Value, t: str) -> ir.Value:
    return _flush(kc, x) if t == "f32" else x


def _int_clamp(kc: Any, a: ir.Value, src_t: str, dst_t: str) -> ir.Value:
    """cvt.sat between integers: the source clamped to the destination's range."""
    b, L = kc.b, kc.lanes
    wide = L.vt(I128)
    x = b.sext(a, wide) if _signed(src_t) else b.zext(a, wide)
    bits = 8 * width_of(dst_t)
    lo = -(1 << (bits - 1)) if _signed(dst_t) else 0
    hi = (1 << (bits - 1)) - 1 if _signed(dst_t) else (1 << bits) - 1
    x = b.select(b.icmp_signed("<", x, L.const(I128, lo)), L.const(I128, lo), x)
    x = b.select(b.icmp_signed(">", x, L.const(I128, hi)), L.const(I128, hi), x)
    return b.trunc(x, L.vty(dst_t))


def b_mov(kc: Any, item: Item, f: Form, eff: ir.Value) -> None:
    b, L = kc.b, kc.lanes
    t = _types(item, f)[0]
    if t in ("f16", "bf16"):
        t = "b16"
    if t == "b128":
        raise JitUnsupported("mov.b128")
    dst, src = _ops(item, 2)
    w = width_of(t)
    if dst[0] == "vec":
        k = len(dst[1])
        pbits = 8 * w // k
        v = kc.read(src, f"b{8 * w}", item)
        for i, o in enumerate(dst[1]):
            part = b.lshr(v, L.const(INT[w], i * pbits)) if i else v
            kc.write(o, f"b{pbits}", b.trunc(part, L.vt(INT[pbits // 8])), item, eff)
        return
    if src[0] == "vec":
        k = len(src[1])
        pbits = 8 * w // k
        out = L.const(INT[w], 0)
        for i, o in enumerate(src[1]):
            part = b.zext(kc.read(o, f"b{pbits}", item), L.vt(INT[w]))
            out = b.or_(out, b.shl(part, L.const(INT[w], i * pbits)) if i else part)
        kc.write(dst, f"b{8 * w}", out, item, eff)
        return
    simple(kc, item, eff, t, 1, lambda a: a)


def b_dp(kc: Any, item: Item, f: Form, eff: ir.Value) -> None:
    """dp4a.atype.btype d, a, b, c / dp2a.{lo,hi}.atype.btype d, a, b, c.

    Products of bytes (or halves by bytes) summed into c: the interpreter sums in 64 bits
    and keeps the low 32, which is what wrapping 32-bit arithmetic gives."""
    b, L = kc.b, kc.lanes
    ts = [t for t in f.types if t in ("u32", "s32")]
    if len(ts) != 2:
        raise JitUnsupported(f"{item.ins.opcode}: needs two of .u32/.s32")
    sa, sb = ts[0] == "s32", ts[1] == "s32"
    dt = "s32" if (sa or sb) else "u32"
    four = f.base == "dp4a"
    first_b = 2 if (not four and f.has("hi")) else 0

    def part(v: ir.Value, index: int, bits: int, signed: bool) -> ir.Value:
        x = b.trunc(b.lshr(v, L.const(I32, index * bits)), L.vt(ir.IntType(bits)))
        return b.sext(x, L.vt(I32)) if signed else b.zext(x, L.vt(I32))

    def dot(x: ir.Value, y: ir.Value, acc: ir.Value) -> ir.Value:
        for i in range(4 if four else 2):
            p = b.mul(part(x, i, 8 if four else 16, sa), part(y, i + first_b, 8, sb))
            acc = b.add(acc, p)
        return acc
    simple(kc, item, eff, dt, 3, dot, src_ts=["u32", "u32", dt])


_INT_OPS: dict[str, Callable[[Any, Item, Form, ir.Value, str], None]] = {
    "add": _int_add, "sub": _int_add, "mul": _int_mul, "mad": _int_mad,
    "mul24": _mul24, "mad24": _mul24, "div": _int_div, "rem": _int_div,
    "min": _int_minmax, "max": _int_minmax, "abs": _int_abs, "neg": _int_neg, "sad": _int_sad,
}

BUILDERS: dict[str, Callable] = {}
for _n in ("add", "sub", "mul", "mad", "mul24", "mad24", "div", "rem", "min", "max", "abs", "neg",
           "sad", "fma", "sqrt", "rsqrt", "rcp", "copysign", "addc", "subc", "madc", "ex2", "sin",
           "cos", "lg2", "tanh"):
    BUILDERS[_n] = b_arith
for _n in ("and", "or", "xor", "not", "cnot"):
    BUILDERS[_n] = b_logic
BUILDERS.update(bmsk=b_bits)
BUILDERS.update(shl=b_shift, shr=b_shift, popc=b_bits, clz=b_bits, brev=b_bits, bfind=b_bits,
                bfe=b_bits, bfi=b_bits, prmt=b_bits, shf=b_bits, lop3=b_bits, setp=b_setp,
                set=b_setp, selp=b_selp, slct=b_slct, testp=b_testp, cvt=b_cvt, mov=b_mov)
BUILDERS.update(dp4a=b_dp, dp2a=b_dp)
BUILDERS.update(warpops.BUILDERS)
