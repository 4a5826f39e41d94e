"""atom / red: real atomic instructions on global memory, read-modify-write on shared and local.

Blocks run on several host threads at once, so a global atomic is an LLVM atomicrmw or
cmpxchg on the host address (seq_cst for atom, whose old value is used; monotonic for
red).  Shared and local memory belong to one block, whose lanes apply their updates one
after another, lowest lane first: the interpreter's order (ptx/access.py atomic), so the
results, floats included, are the same bit for bit.  A warp's .shared atomic whose active
lanes all fall inside the window runs inline as plain loads and stores, lane after lane
(one host thread runs a block's warps); any other goes to the helper below.

A helper function per (operation, type, space) walks the lanes: generic addresses go by
window, each space's lanes are checked (first bad lane faults, as the interpreter reports
it) and then updated, in the interpreter's order of spaces.
"""
from __future__ import annotations

from typing import Any, Callable

from llvmlite import ir

from ..ptx.memory import LOCAL_WINDOW, SHARED_WINDOW
from ..ptx.form import Form
from ..ptx.ops_mem import ATOM_UNSUPPORTED
from . import abi
from .alu import fminmax
from .errors import JitUnsupported
from .lanes import F32, F64, I8, I32, I64, INT, entry_alloca, finish_entry, start_function, width_of
from .lanewise import (PARAM_CLASS, lane_addresses, lane_class, loop, mask_array, store_fault,
                       window_check, window_host, xlate_helper)
from .layout import Item

_SPACES = {"global": abi.GLOBAL, "shared": abi.SHARED_SP, "local": abi.LOCAL_SP,
           "generic": abi.GENERIC}


def _is_float(t: str) -> bool:
    return t in ("f32", "f64")


def _float_type(t: str) -> ir.Type:
    return F32 if t == "f32" else F64


def combine(b: ir.IRBuilder, op: str, t: str, old: ir.Value, x: ir.Value,
            y: ir.Value | None) -> ir.Value:
    """The new raw bits of a location holding `old` after op with operands x (and y for cas),
    as ptx/ops_mem._atomic_apply computes them."""
    if _is_float(t):
        ft = _float_type(t)
        fo, fx = b.bitcast(old, ft), b.bitcast(x, ft)
        if op == "add":
            r = b.fadd(fo, fx)
        elif op in ("min", "max"):
            r = fminmax(b, fo, fx, op == "min")
        else:
            return x            # exch
        return b.bitcast(r, old.type)
    signed = t[0] == "s"

    def cmp(pred: str, p: ir.Value, q: ir.Value) -> ir.Value:
        return b.icmp_signed(pred, p, q) if signed else b.icmp_unsigned(pred, p, q)
    zero, one = ir.Constant(old.type, 0), ir.Constant(old.type, 1)
    if op == "add":
        return b.add(old, x)
    if op == "min":
        return b.select(cmp("<", old, x), old, x)
    if op == "max":
        return b.select(cmp(">", old, x), old, x)
    if op in ("and", "or", "xor"):
        return {"and": b.and_, "or": b.or_, "xor": b.xor}[op](old, x)
    if op == "exch":
        return x
    if op == "cas":
        return b.select(b.icmp_unsigned("==", old, x), y, old)
    if op == "inc":
        return b.select(cmp(">=", old, x), zero, b.add(old, one))
    # dec
    wrap = b.or_(b.icmp_unsigned("==", old, zero), cmp(">", old, x))
    return b.select(wrap, x, b.sub(old, one))


# operations with one atomicrmw for integer types: op -> (unsigned form, signed form)
_RMW = {"add": ("add", "add"), "and": ("and", "and"), "or": ("or", "or"), "xor": ("xor", "xor"),
        "exch": ("xchg", "xchg"), "min": ("umin", "min"), "max": ("umax", "max"),
        "inc": ("uinc_wrap", None), "dec": ("udec_wrap", None)}


def _atomic(b: ir.IRBuilder, fn: ir.Function, op: str, t: str, p: ir.Value,
            x: ir.Value, y: ir.Value | None, order: str) -> ir.Value:
    """One atomic update at host pointer p; returns the old raw bits."""
    if op == "cas":
        pair = b.cmpxchg(p, x, y, order, "monotonic" if order == "monotonic" else order)
        return b.extract_value(pair, 0)
    if _is_float(t) and op in ("add", "exch"):
        ft = _float_type(t)
        name = "fadd" if op == "add" else "xchg"
        old = b.atomic_rmw(name, b.bitcast(p, ir.PointerType(ft)), b.bitcast(x, ft), order)
        return b.bitcast(old, x.type)
    form = None if _is_float(t) else _RMW[op][t[0] == "s"]
    if form is not None:
        return b.atomic_rmw(form, p, x, order)
    # no single instruction (float min/max, signed inc/dec): compare-and-swap until no
    # other thread has changed the location in between
    first = b.load_atomic(p, "monotonic", x.type.width // 8)
    entry = b.block
    again = fn.append_basic_block("cas_loop")
    done = fn.append_basic_block("cas_done")
    b.branch(again)
    b.position_at_end(again)
    cur = b.phi(x.type)
    cur.add_incoming(first, entry)
    new = combine(b, op, t, cur, x, y)
    pair = b.cmpxchg(p, cur, new, order, "monotonic")
    seen = b.extract_value(pair, 0)
    cur.add_incoming(seen, b.block)
    b.cbranch(b.extract_value(pair, 1), done, again)
    b.position_at_end(done)
    return seen


def _helper(kc: Any, op: str, t: str, space: int, red: bool) -> ir.Function:
    """i32 f(env, addrs*, x*, y*, mask*, pc): the atomic for W lanes; x[i] gets lane i's
    old value.  Returns 0, or 1 with the fault record filled."""
    key = f"atom_{op}_{t}_{space}_{'red' if red else 'atom'}"
    fn = kc.helpers.get(key)
    if fn is not None:
        return fn
    W = kc.W
    arr64 = ir.PointerType(ir.ArrayType(I64, W))
    fty = ir.FunctionType(I32, [ir.PointerType(I64), arr64, arr64, arr64,
                                ir.PointerType(ir.ArrayType(I8, W)), I64])
    fn = ir.Function(kc.m, fty, name=key)
    fn.linkage = "internal"
    kc.helpers[key] = fn
    env, addrs, xs, ys, mask, pc = fn.args
    b = start_function(fn)
    w = width_of(t)
    ity = INT[w]
    zero = ir.Constant(I32, 0)
    xl = xlate_helper(kc)
    order = "monotonic" if red else "seq_cst"

    def slot(i: int) -> ir.Value:
        return b.load(b.gep(env, [ir.Constant(I32, i)]))
    record = b.inttoptr(slot(abi.FAULT), ir.PointerType(I64))

    def lane(bb: ir.IRBuilder, i: ir.Value, cls: int) -> tuple[ir.Value, ir.Value]:
        """(address, is this lane active and in space cls)."""
        a = bb.load(bb.gep(addrs, [zero, i]))
        on = bb.icmp_unsigned("!=", bb.load(bb.gep(mask, [zero, i])), ir.Constant(I8, 0))
        cl = lane_class(bb, a, space, with_param=True)
        return a, bb.and_(on, bb.icmp_unsigned("==", cl, ir.Constant(I32, cls)))

    def check(tag: str, cls: int, test: Callable[[ir.IRBuilder, ir.Value], tuple]) -> None:
        """Fault on the first active lane of space cls that test finds bad."""
        def body(bb: ir.IRBuilder, i: ir.Value) -> None:
            a, sel = lane(bb, i, cls)
            bad, reason, faddr = test(bb, a)
            badb = fn.append_basic_block(f"{tag}_bad")
            okb = fn.append_basic_block(f"{tag}_ok")
            bb.cbranch(bb.and_(sel, bad), badb, okb)
            bb.position_at_end(badb)
            store_fault(bb, record, reason, i, faddr, pc)
            bb.position_at_end(okb)
        loop(fn, b, W, body, tag)

    def perform(tag: str, cls: int, update: Callable) -> None:
        """x[i] = update(address, x[i], y[i]) for each active lane of space cls, in order."""
        def body(bb: ir.IRBuilder, i: ir.Value) -> None:
            a, sel = lane(bb, i, cls)
            do = fn.append_basic_block(f"{tag}_do")
            skip = fn.append_basic_block(f"{tag}_skip")
            bb.cbranch(sel, do, skip)
            bb.position_at_end(do)
            xp, yp = bb.gep(xs, [zero, i]), bb.gep(ys, [zero, i])
            x, y = bb.load(xp), bb.load(yp)
            if w < 8:
                x, y = bb.trunc(x, ity), bb.trunc(y, ity)
            old = update(bb, i, a, x, y)
            bb.store(bb.zext(old, I64) if w < 8 else old, xp)
            bb.branch(skip)
            bb.position_at_end(skip)
        loop(fn, b, W, body, tag)

    if space == abi.GENERIC:
        # the interpreter serves the parameter window first: it refuses atomics there
        check("par", PARAM_CLASS, lambda bb, a: (ir.Constant(ir.IntType(1), 1),
                                                 ir.Constant(I64, abi.PARAM_ATOMIC), a))
    if space in (abi.GLOBAL, abi.GENERIC):
        if w > 1:
            check("gal", abi.GLOBAL, lambda bb, a: (
                bb.icmp_unsigned("!=", bb.and_(a, ir.Constant(I64, w - 1)), ir.Constant(I64, 0)),
                ir.Constant(I64, abi.MISALIGNED_GLOBAL), a))
        check("gbk", abi.GLOBAL, lambda bb, a: (
            bb.icmp_unsigned("==", bb.call(xl, [env, a, ir.Constant(I64, w)]), ir.Constant(I64, 0)),
            ir.Constant(I64, abi.UNBACKED), a))

        def global_update(bb: ir.IRBuilder, i: ir.Value, a: ir.Value, x: ir.Value,
                          y: ir.Value) -> ir.Value:
            host = bb.call(xl, [env, a, ir.Constant(I64, w)])
            return _atomic(bb, fn, op, t, bb.inttoptr(host, ir.PointerType(ity)), x, y, order)
        perform("gdo", abi.GLOBAL, global_update)
    for cls, window, base_slot, size_slot in (
            (abi.SHARED_SP, SHARED_WINDOW, abi.SHARED, abi.SHARED_SIZE),
            (abi.LOCAL_SP, LOCAL_WINDOW, abi.LOCAL, abi.LOCAL_STRIDE)):
        if space not in (cls, abi.GENERIC):
            continue
        size, region = slot(size_slot), slot(base_slot)
        generic = space == abi.GENERIC

        def offset(bb: ir.IRBuilder, a: ir.Value, window: int = window,
                   generic: bool = generic) -> ir.Value:
            return bb.sub(a, ir.Constant(I64, window)) if generic else a

        def test(bb: ir.IRBuilder, a: ir.Value, size: ir.Value = size, cls: int = cls,
                 window: int = window, offset: Callable = offset) -> tuple:
            return window_check(bb, offset(bb, a), size, w, w, cls, window)

        def update(bb: ir.IRBuilder, i: ir.Value, a: ir.Value, x: ir.Value, y: ir.Value,
                   cls: int = cls, size: ir.Value = size, region: ir.Value = region,
                   offset: Callable = offset) -> ir.Value:
            host = window_host(bb, offset(bb, a), i, cls, region, size)
            p = bb.inttoptr(host, ir.PointerType(ity))
            old = bb.load(p, align=w)
            bb.store(combine(bb, op, t, old, x, y), p, align=w)
            return old
        tag = "sh" if cls == abi.SHARED_SP else "lo"
        check(f"{tag}chk", cls, test)
        perform(f"{tag}do", cls, update)
    b.ret(ir.Constant(I32, 0))
    finish_entry(fn)
    return fn


def _type(item: Item, f: Form, op: str) -> str:
    if not f.types or f.types[-1] in ("pred", "b128"):
        raise JitUnsupported(f"{item.ins.opcode}: missing or unsupported type")
    t = f.types[-1]
    if _is_float(t) and op not in ("add", "min", "max", "exch"):
        # bit operations, inc/dec and cas compare or combine floats as numbers there
        raise JitUnsupported(f"{item.ins.opcode} on floats")
    return t


def b_atom(kc: Any, item: Item, f: Form, eff: ir.Value) -> None:
    """atom{.space}.op.type d, [a], b[, c]  /  red{.space}.op.type [a], b."""
    red = f.base == "red"
    op = f.mode
    if op is None or f.flags & ATOM_UNSUPPORTED:
        raise JitUnsupported(f"instruction {item.ins.opcode}")
    t = _type(item, f, op)
    space = f.space
    if space not in _SPACES:
        raise JitUnsupported(f"{item.ins.opcode}: atomics in .{space}")
    ops = item.ins.operands
    want = (2 if red else 3) + (op == "cas")
    if len(ops) != want:
        raise JitUnsupported(f"{item.ins.opcode} takes {want} operands")
    dst, addr, rest = (None, ops[0], ops[1:]) if red else (ops[0], ops[1], ops[2:])
    b, L = kc.b, kc.lanes
    w = width_of(t)

    def raw64(op_: tuple) -> ir.Value:
        v = kc.as_int(kc.read(op_, t, item))
        return v if w == 8 else b.zext(v, L.vt(I64))
    addrs = lane_addresses(kc, item, addr)
    x = raw64(rest[0])
    ys = entry_alloca(kc.fn, L.vt(I64), name="atom_y")
    if op == "cas":
        b.store(raw64(rest[1]), ys)
    slow = kc.fn.append_basic_block("atom_slow")
    join = kc.fn.append_basic_block("atom_join")
    fast_old = None
    if space == "shared" and kc.W <= INLINE_LANES:
        ok, hosts = _shared_hosts(kc, addrs, eff, w)
        fast = kc.fn.append_basic_block("atom_fast")
        b.cbranch(ok, fast, slow)
        b.position_at_end(fast)
        fast_old = _shared_inline(kc, op, t, hosts, eff, x, ys if op == "cas" else None)
        fast_end = b.block
        b.branch(join)
    else:
        b.branch(slow)
    b.position_at_end(slow)
    b.store(addrs, kc.tmp64)
    b.store(x, kc.tmpval)
    arr = ir.PointerType(ir.ArrayType(I64, kc.W))
    helper = _helper(kc, op, t, _SPACES[space], red)
    status = b.call(helper, [kc.env_ptr, b.bitcast(kc.tmp64, arr), b.bitcast(kc.tmpval, arr),
                             b.bitcast(ys, arr), mask_array(kc, eff), ir.Constant(I64, kc.pc)])
    ok_bb = kc.fn.append_basic_block("atom_ok")
    b.cbranch(b.icmp_unsigned("!=", status, ir.Constant(I32, 0)), kc.fail_bb, ok_bb)
    b.position_at_end(ok_bb)
    slow_old = b.load(kc.tmpval) if dst is not None else None
    b.branch(join)
    b.position_at_end(join)
    if dst is not None:
        old = slow_old
        if fast_old is not None:
            old = b.phi(L.vt(I64))
            old.add_incoming(fast_old, fast_end)
            old.add_incoming(slow_old, ok_bb)
        if w < 8:
            old = b.trunc(old, L.vt(INT[w]))
        kc.write(dst, t, kc.from_int(old, t), item, eff)


# Widest warp whose shared atomics are unrolled inline, one lane after another.
INLINE_LANES = 32


def _shared_hosts(kc: Any, addrs: ir.Value, eff: ir.Value, w: int) -> tuple[ir.Value, ir.Value]:
    """(ok, host address per lane): ok when some lane is active and every active lane's
    w-byte access is aligned and inside the block's shared window (else the helper runs
    and reports the first bad lane as the interpreter does)."""
    b, L = kc.b, kc.lanes
    inactive = b.not_(eff)
    size = kc.env[abi.SHARED_SIZE]
    aligned = b.icmp_unsigned("==", b.and_(addrs, L.const(I64, w - 1)), L.const(I64, 0))
    inside = b.icmp_unsigned("<=", addrs, L.splat(b.sub(size, ir.Constant(I64, w))))
    ok = b.and_(L.any(eff), b.icmp_unsigned(">=", size, ir.Constant(I64, w)))
    ok = b.and_(ok, L.all(b.or_(inactive, b.and_(aligned, inside))))
    return ok, b.add(L.splat(kc.env[abi.SHARED]), addrs)


def _shared_inline(kc: Any, op: str, t: str, hosts: ir.Value, eff: ir.Value, x: ir.Value,
                   ys: ir.Value | None) -> ir.Value:
    """Each active lane's update of shared memory, lowest lane first, as plain loads and
    stores: one host thread runs all of a block's warps, so nothing else touches the block's
    shared memory meanwhile.  Branch-free: an inactive lane reads and rewrites the window's
    first word unchanged.  Returns the old raw bits per lane."""
    b, L = kc.b, kc.lanes
    w = width_of(t)
    ity = INT[w]
    pty = ir.PointerType(ity)
    base = kc.env[abi.SHARED]
    y = b.load(ys) if ys is not None else None
    olds = ir.Constant(L.vt(I64), None)
    for i in range(kc.W):
        k = ir.Constant(I32, i)
        on = b.extract_element(eff, k)
        p = b.inttoptr(b.select(on, b.extract_element(hosts, k), base), pty)
        xi = b.extract_element(x, k)
        yi = b.extract_element(y, k) if y is not None else None
        if w < 8:
            xi = b.trunc(xi, ity)
            yi = b.trunc(yi, ity) if yi is not None else None
        old = b.load(p, align=w)
        b.store(b.select(on, combine(b, op, t, old, xi, yi), old), p, align=w)
        olds = b.insert_element(olds, b.zext(old, I64) if w < 8 else old, k)
    return olds

BUILDERS: dict[str, Callable] = {"atom": b_atom, "red": b_atom}
