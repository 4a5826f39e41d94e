"""Carry chains: add.cc, addc, sub.cc, subc, mad.cc, madc (ptx/ops_alu.py _carry_op).

The carry flag CC.CF is one more per-lane register, zeroed when a warp starts like the
others; for subtraction it holds the borrow (subc computes a - (b + CF)).
"""
from __future__ import annotations

from typing import Any

from llvmlite import ir

from ..ptx.form import Form, form_of
from .alu import _mulhi
from .errors import JitUnsupported
from .lanes import I1, entry_alloca, width_of
from .layout import Flat, Item
from .regclass import VECTOR

CARRY_IN = ("addc", "subc", "madc")
FLAG = "%cc"                # its name among the entry function's registers (not a PTX name)


def uses_carry(flat: Flat) -> bool:
    for item in flat.code:
        if item.kind == "ins":
            f = form_of(item.ins)
            if f.base in CARRY_IN or f.has("cc"):
                return True
    return False


def declare(kc: Any) -> None:
    """Add the carry flag to the kernel's registers when some instruction uses it: zeroed
    when a warp starts, and kept in the warp's frame across barriers like a live register."""
    if uses_carry(kc.flat):
        slot = entry_alloca(kc.fn, kc.lanes.vt(I1), name="carry")
        kc.regs[(kc.flat.kernel, FLAG)] = (slot, "pred", VECTOR)
        if kc.spill is not None:
            kc.spill = kc.spill | {FLAG}


def _slot(kc: Any) -> ir.AllocaInstr:
    entry = kc.regs.get((kc.flat.kernel, FLAG))
    if entry is None:
        raise JitUnsupported("carry flag not declared")
    return entry[0]


def b_carry(kc: Any, item: Item, f: Form, eff: ir.Value) -> None:
    base = f.base
    t = next((t for t in f.types if t in ("u32", "s32", "b32", "u64", "s64", "b64")), None)
    if t is None:
        raise JitUnsupported(f"{item.ins.opcode}: carry arithmetic needs a 32- or 64-bit integer")
    slot = _slot(kc)
    b, L = kc.b, kc.lanes
    bits = 8 * width_of(t)
    wide = L.vt(ir.IntType(2 * bits))
    mad = base.startswith("mad")
    n = 3 if mad else 2
    ops = item.ins.operands
    if len(ops) != n + 1:
        raise JitUnsupported(f"{item.ins.opcode} takes {n + 1} operands")
    vals = [kc.read(o, t, item) for o in ops[1:]]
    if mad:
        prod = _mulhi(kc, vals[0], vals[1], t) if f.has("hi") else b.mul(vals[0], vals[1])
        x, y = prod, vals[2]
    else:
        x, y = vals
    flag = b.load(slot)
    cf = b.zext(flag, wide) if base in CARRY_IN else ir.Constant(wide, None)
    wx, wy = b.zext(x, wide), b.zext(y, wide)
    if base.startswith("sub"):
        d = b.sub(b.sub(x, y), b.trunc(cf, x.type))
        out = b.icmp_unsigned("<", wx, b.add(wy, cf))
    else:
        s = b.add(b.add(wx, wy), cf)
        d = b.trunc(s, x.type)
        out = b.icmp_unsigned("!=", b.lshr(s, L.const(ir.IntType(2 * bits), bits)),
                              ir.Constant(wide, None))
    kc.write(ops[0], t, d, item, eff)
    if f.has("cc"):
        b.store(b.select(eff, out, flag), slot)
