"""Building blocks of memory instructions: operands as lane addresses and masks, and the
per-lane helper functions they call.

A helper walks the W lanes one by one (loop), finds which window a generic address
falls in (lane_class), checks an access against a shared or local window (window_check),
checks a read of the kernel parameters (param_check), translates a global address to the
host (xlate_helper) and, on a bad lane, fills the fault record and returns 1 (store_fault).
"""
from __future__ import annotations

from typing import Any, Callable

from llvmlite import ir

from ..ptx.memory import LOCAL_TAG, PARAM_TAG, PARAM_WINDOW, SHARED_TAG, WINDOW_SHIFT
from . import abi
from .errors import JitUnsupported
from .lanes import I8, I32, I64, const_like, entry_alloca, finish_entry, start_function
from .layout import Item

# lane class of a generic address in the parameter window (the others are abi's spaces)
PARAM_CLASS = 4


def lane_addresses(kc: Any, item: Item, op: tuple) -> ir.Value:
    """A [base+offset] operand as i64 lane addresses."""
    b, L = kc.b, kc.lanes
    if op[0] != "addr":
        raise JitUnsupported("expected an address operand")
    base, off = op[1], op[2]
    offset = L.const(I64, off & 0xFFFF_FFFF_FFFF_FFFF)
    if base is None:
        return offset
    if base[0] == "sym":
        return kc.sym_address(item, base[1], off, "u64")
    v = kc.read(base, "u64", item)
    return v if off == 0 else b.add(v, offset)


def mask_array(kc: Any, mask: ir.Value) -> ir.Value:
    """The lane mask as W bytes in the scratch slot, for a helper to read."""
    b, L = kc.b, kc.lanes
    b.store(b.zext(mask, L.vt(I8)), kc.tmpmask)
    return b.bitcast(kc.tmpmask, ir.PointerType(ir.ArrayType(I8, kc.W)))


def loop(fn: ir.Function, b: ir.IRBuilder, count: int | ir.Value,
         body: Callable[[ir.IRBuilder, ir.Value], None], tag: str) -> None:
    """for i in range(count): body(i), count an int or an i32 value (leaves b positioned
    after the loop)."""
    ia = entry_alloca(fn, I32)
    b.store(ir.Constant(I32, 0), ia)
    head = fn.append_basic_block(f"{tag}_head")
    bod = fn.append_basic_block(f"{tag}_body")
    nxt = fn.append_basic_block(f"{tag}_next")
    out = fn.append_basic_block(f"{tag}_out")
    b.branch(head)
    b.position_at_end(head)
    i = b.load(ia)
    end = ir.Constant(I32, count) if isinstance(count, int) else count
    b.cbranch(b.icmp_unsigned("<", i, end), bod, out)
    b.position_at_end(bod)
    body(b, i)
    if not b.block.is_terminated:
        b.branch(nxt)
    b.position_at_end(nxt)
    b.store(b.add(b.load(ia), ir.Constant(I32, 1)), ia)
    b.branch(head)
    b.position_at_end(out)


def xlate_helper(kc: Any) -> ir.Function:
    """i64 xlate(i64* env, i64 addr, i64 width): host address of a device access, 0 if unbacked."""
    fn = kc.helpers.get("xlate")
    if fn is not None:
        return fn
    fn = ir.Function(kc.m, ir.FunctionType(I64, [ir.PointerType(I64), I64, I64]), name="xlate")
    fn.linkage = "internal"
    kc.helpers["xlate"] = fn
    env, addr, width = fn.args
    b = start_function(fn)

    def slot(i: int) -> ir.Value:
        return b.load(b.gep(env, [ir.Constant(I32, i)]))
    page = b.lshr(b.sub(addr, slot(abi.PAGE_BASE)), ir.Constant(I64, abi.PAGE_SHIFT))
    inside = fn.append_basic_block("inside")
    extras = fn.append_basic_block("extras")
    b.cbranch(b.icmp_unsigned("<", page, slot(abi.NPAGES)), inside, extras)
    b.position_at_end(inside)
    table = b.inttoptr(slot(abi.PAGES), ir.PointerType(I64))
    delta = b.load(b.gep(table, [page]))
    hit = fn.append_basic_block("hit")
    b.cbranch(b.icmp_unsigned("!=", delta, ir.Constant(I64, 0)), hit, extras)
    b.position_at_end(hit)
    b.ret(b.add(addr, delta))
    b.position_at_end(extras)
    ex = b.inttoptr(slot(abi.EXTRAS), ir.PointerType(I64))
    n = slot(abi.NEXTRAS)
    ka = entry_alloca(fn, I64)
    b.store(ir.Constant(I64, 0), ka)
    head = fn.append_basic_block("scan")
    body = fn.append_basic_block("scan_body")
    found = fn.append_basic_block("found")
    nxt = fn.append_basic_block("scan_next")
    miss = fn.append_basic_block("miss")
    b.branch(head)
    b.position_at_end(head)
    k = b.load(ka)
    b.cbranch(b.icmp_unsigned("<", k, n), body, miss)
    b.position_at_end(body)
    k3 = b.mul(k, ir.Constant(I64, 3))
    start = b.load(b.gep(ex, [k3]))
    end = b.load(b.gep(ex, [b.add(k3, ir.Constant(I64, 1))]))
    ok = b.and_(b.icmp_unsigned(">=", addr, start),
                b.icmp_unsigned("<=", b.add(addr, width), end))
    ok = b.and_(ok, b.icmp_unsigned(">=", b.add(addr, width), addr))
    b.cbranch(ok, found, nxt)
    b.position_at_end(found)
    d = b.load(b.gep(ex, [b.add(k3, ir.Constant(I64, 2))]))
    b.ret(b.add(addr, d))
    b.position_at_end(nxt)
    b.store(b.add(k, ir.Constant(I64, 1)), ka)
    b.branch(head)
    b.position_at_end(miss)
    b.ret(ir.Constant(I64, 0))
    finish_entry(fn)
    return fn


def lane_class(bb: ir.IRBuilder, a: ir.Value, space: int, with_param: bool = False) -> ir.Value:
    """The space (abi.GLOBAL/SHARED_SP/LOCAL_SP, or PARAM_CLASS) an access goes to."""
    if space != abi.GENERIC:
        return ir.Constant(I32, space)
    tag = bb.lshr(a, ir.Constant(I64, WINDOW_SHIFT))
    sh = bb.icmp_unsigned("==", tag, ir.Constant(I64, SHARED_TAG))
    lo = bb.icmp_unsigned("==", tag, ir.Constant(I64, LOCAL_TAG))
    out = bb.select(sh, ir.Constant(I32, abi.SHARED_SP),
                    bb.select(lo, ir.Constant(I32, abi.LOCAL_SP), ir.Constant(I32, abi.GLOBAL)))
    if with_param:
        pa = bb.icmp_unsigned("==", tag, ir.Constant(I64, PARAM_TAG))
        out = bb.select(pa, ir.Constant(I32, PARAM_CLASS), out)
    return out


def store_fault(bb: ir.IRBuilder, record: ir.Value, reason: int | ir.Value, lane: ir.Value,
                addr: ir.Value, pc: ir.Value) -> None:
    """Fill the fault record and return 1 from the helper."""
    r = ir.Constant(I64, reason) if isinstance(reason, int) else reason
    bb.store(r, bb.gep(record, [ir.Constant(I32, abi.F_REASON)]))
    bb.store(bb.zext(lane, I64), bb.gep(record, [ir.Constant(I32, abi.F_LANE)]))
    bb.store(addr, bb.gep(record, [ir.Constant(I32, abi.F_ADDR)]))
    bb.store(pc, bb.gep(record, [ir.Constant(I32, abi.F_PC)]))
    bb.ret(ir.Constant(I32, 1))


def window_check(bb: ir.IRBuilder, o: ir.Value, size: ir.Value, w: int, al: int, cls: int,
                 window: int) -> tuple[ir.Value, ir.Value, ir.Value]:
    """(bad, reason, fault address) of a w-byte access at offset o of a size-byte window,
    as the interpreter's access._flat_keys decides them."""
    small = bb.icmp_unsigned("<", size, ir.Constant(I64, w))
    limit = bb.sub(size, ir.Constant(I64, w))
    past = bb.or_(small, bb.icmp_unsigned(">", o, limit))
    mis = bb.icmp_unsigned("!=", bb.urem(o, ir.Constant(I64, al)), ir.Constant(I64, 0))
    bad = bb.or_(past, mis)
    fits = bb.icmp_unsigned("<=", bb.add(o, ir.Constant(I64, w)), size)
    reason = bb.select(bb.and_(mis, fits), ir.Constant(I64, abi.MISALIGNED_WINDOW | cls << 8),
                       ir.Constant(I64, abi.WINDOW_BOUNDS | cls << 8))
    low = bb.icmp_unsigned("<", o, ir.Constant(I64, 1 << 48))
    faddr = bb.select(low, bb.add(o, ir.Constant(I64, window)), o)
    return bad, reason, faddr


def window_host(bb: ir.IRBuilder, o: ir.Value, lane: ir.Value, cls: int, region: ir.Value,
                size: ir.Value) -> ir.Value:
    """Host address of offset o in a window: shared memory is one region per block, local
    memory one row of `size` bytes per lane."""
    if cls == abi.LOCAL_SP:
        o = bb.add(o, bb.mul(bb.zext(lane, I64), size))
    return bb.add(region, o)


def param_check(bb: ir.IRBuilder, o: ir.Value, size: ir.Value, w: int) -> tuple[ir.Value, ir.Value, ir.Value]:
    """(bad, reason, fault address) of a w-byte read at offset o of the size-byte kernel
    parameter buffer (access.param_load); scalars or lane vectors."""
    ty = o.type
    small = bb.icmp_unsigned("<", size, const_like(ty, w))
    past = bb.icmp_unsigned(">", o, bb.sub(size, const_like(ty, w)))
    mis = bb.icmp_unsigned("!=", bb.and_(o, const_like(ty, w - 1)), const_like(ty, 0))
    bad = bb.or_(bb.or_(small, past), mis)
    low = bb.icmp_unsigned("<", o, const_like(ty, 1 << 48))
    faddr = bb.select(low, bb.add(o, const_like(ty, PARAM_WINDOW)), o)
    return bad, ir.Constant(I64, abi.PARAM_BOUNDS), faddr
