"""Warp-level instructions as lane-vector IR: shfl, vote, activemask, match, redux.

A register vector is one warp: lane i of the vector is thread warp_start + i and has
%laneid i.  The lanes taking part are the instruction's execution mask (the running
group under its guard); the rest contribute nothing, as in ptx/ops_warp.py.
"""
from __future__ import annotations

from typing import Any, Callable

from llvmlite import ir

from ..ptx.form import Form
from .abi import WARP
from .errors import JitUnsupported
from .lanes import I32, entry_alloca, undef
from .layout import Item



def _operands(item: Item, counts: tuple[int, ...]) -> list:
    ops = item.ins.operands
    if len(ops) not in counts:
        raise JitUnsupported(f"{item.ins.opcode} takes {' or '.join(map(str, counts))} operands")
    return ops


def _mode(item: Item, f: Form) -> str:
    if f.mode is None:
        raise JitUnsupported(f"instruction {item.ins.opcode}")
    return f.mode


def _type(item: Item, f: Form, choices: tuple[str, ...]) -> str:
    t = next((t for t in f.types if t in choices), None)
    if t is None:
        raise JitUnsupported(f"instruction {item.ins.opcode}")
    return t


def mask_bits(kc: Any, mask: ir.Value) -> ir.Value:
    """A lane mask as the 32-bit word with bit i for lane i."""
    b = kc.b
    bits = b.bitcast(mask, ir.IntType(kc.W))
    return bits if kc.W == WARP else b.zext(bits, I32)


def _dest_pair(op: tuple) -> tuple[tuple, tuple | None]:
    return (op[1], op[2]) if op[0] == "pair" else (op, None)


def gather(kc: Any, values: ir.Value, index: ir.Value) -> ir.Value:
    """values[index[i]] for every lane i (every index must lie in [0, W))."""
    b = kc.b
    W = kc.W
    el = values.type.element
    # vector-typed, so that the whole-vector store is naturally aligned
    slot = entry_alloca(kc.fn, values.type, name="gather")
    b.store(values, slot)
    arr = b.bitcast(slot, ir.PointerType(ir.ArrayType(el, W)))
    out = undef(values.type)
    zero = ir.Constant(I32, 0)
    for i in range(W):
        k = ir.Constant(I32, i)
        j = b.extract_element(index, k)
        out = b.insert_element(out, b.load(b.gep(arr, [zero, j])), k)
    return out


def b_shfl(kc: Any, item: Item, f: Form, eff: ir.Value) -> None:
    """shfl.sync.{up,down,bfly,idx}.b32 d[|p], a, b, c[, membermask] (ptx/ops_warp.py)."""
    mode = _mode(item, f)
    ops = _operands(item, (4, 5))
    b, L = kc.b, kc.lanes
    dp, dq = _dest_pair(ops[0])
    a = kc.read(ops[1], "b32", item)
    delta = b.and_(kc.read(ops[2], "u32", item), L.const(I32, 31))
    c = kc.read(ops[3], "u32", item)
    lane = L.iota()
    clamp = b.and_(c, L.const(I32, 31))
    seg = b.and_(b.lshr(c, L.const(I32, 8)), L.const(I32, 31))
    max_lane = b.or_(b.and_(lane, seg), b.and_(clamp, b.not_(seg)))
    if mode == "up":
        j = b.sub(lane, delta)
        ok = b.icmp_signed(">=", j, max_lane)
    else:
        if mode == "down":
            j = b.add(lane, delta)
        elif mode == "bfly":
            j = b.xor(lane, delta)
        else:
            j = b.or_(b.and_(lane, seg), b.and_(delta, b.not_(seg)))
        ok = b.icmp_signed("<=", j, max_lane)
    j = b.select(ok, j, lane)
    # A source lane past the end of the block does not exist: the lane keeps its own value.
    # An existing source lane outside the mask still gives what its register holds.
    inblock = b.icmp_unsigned("<", b.add(b.sub(kc.tid_linear, lane), j), L.splat(kc.T))
    kc.write(dp, "b32", gather(kc, a, b.select(inblock, j, lane)), item, eff)
    if dq is not None:
        kc.write(dq, "pred", ok, item, eff)


def b_vote(kc: Any, item: Item, f: Form, eff: ir.Value) -> None:
    """vote[.sync].{all,any,uni,ballot} d, p[, membermask] over the participating lanes."""
    mode = _mode(item, f)
    ops = _operands(item, (2, 3))
    b, L = kc.b, kc.lanes
    p = kc.read(ops[1], "pred", item)
    yes = b.and_(p, eff)
    if mode == "ballot":
        kc.write(ops[0], "b32", L.splat(mask_bits(kc, yes)), item, eff)
        return
    some = L.any(yes)
    every = b.not_(L.any(b.and_(eff, b.not_(p))))
    r = {"any": some, "all": every, "uni": b.or_(every, b.not_(some))}[mode]
    kc.write(ops[0], "pred", L.splat(r), item, eff)


def b_activemask(kc: Any, item: Item, f: Form, eff: ir.Value) -> None:
    ops = _operands(item, (1,))
    kc.write(ops[0], "b32", kc.lanes.splat(mask_bits(kc, eff)), item, eff)


_REDUX: dict[str, tuple[str, Callable[[bool], int]]] = {
    # op -> (vector reduction, identity for lanes not taking part given signedness)
    "add": ("add", lambda s: 0),
    "min": ("min", lambda s: 0x7FFFFFFF if s else 0xFFFFFFFF),
    "max": ("max", lambda s: 0x80000000 if s else 0),
    "and": ("and", lambda s: 0xFFFFFFFF),
    "or": ("or", lambda s: 0),
    "xor": ("xor", lambda s: 0),
}


def b_redux(kc: Any, item: Item, f: Form, eff: ir.Value) -> None:
    """redux.sync.{add,min,max,and,or,xor}.{u32,s32,b32} d, a, membermask."""
    op = _mode(item, f)
    t = _type(item, f, ("u32", "s32", "b32"))
    ops = _operands(item, (3,))
    b, L = kc.b, kc.lanes
    signed = t == "s32"
    name, identity = _REDUX[op]
    if name in ("min", "max"):
        name = ("s" if signed else "u") + name
    a = kc.read(ops[1], t, item)
    masked = b.select(eff, a, L.const(I32, identity(signed)))
    r = L.call(f"vector.reduce.{name}", [masked], I32)
    kc.write(ops[0], t, L.splat(r), item, eff)


def b_match(kc: Any, item: Item, f: Form, eff: ir.Value) -> None:
    """match.{any,all}.sync.{b32,b64} d[|p], a, membermask: lanes holding the same value."""
    mode = _mode(item, f)
    t = _type(item, f, ("b32", "b64"))
    ops = _operands(item, (3,))
    dp, dq = _dest_pair(ops[0])
    if dq is not None and mode != "all":
        raise JitUnsupported(f"{item.ins.opcode}: only match.all writes a predicate")
    b, L = kc.b, kc.lanes
    a = kc.read(ops[1], t, item)
    same = undef(L.vt(I32))
    for i in range(kc.W):
        k = ir.Constant(I32, i)
        eq = b.and_(b.icmp_unsigned("==", a, L.splat(b.extract_element(a, k))), eff)
        same = b.insert_element(same, mask_bits(kc, eq), k)
    if mode == "any":
        kc.write(dp, "b32", same, item, eff)
        return
    members = L.splat(mask_bits(kc, eff))
    equal = b.icmp_unsigned("==", same, members)
    kc.write(dp, "b32", b.select(equal, members, L.const(I32, 0)), item, eff)
    if dq is not None:
        kc.write(dq, "pred", equal, item, eff)


BUILDERS: dict[str, Callable] = {"shfl": b_shfl, "vote": b_vote, "activemask": b_activemask,
                                 "redux": b_redux, "match": b_match}
