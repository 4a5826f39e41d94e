"""Compile-time address analysis: how an address moves along a row of a block's threads.

A thread block's lanes come in rows: lanes that share %tid.y and %tid.z, and whose %tid.x
goes up by one from lane to lane (a 16x16 block's warp holds two such rows of 16).  For
each register this finds, where it can, the constant `s` such that the register's value
in a row is `v + s * %tid.x`, `v` being the same for every lane of the row: anything
computed from launch constants, %tid.y, %tid.z and immediates (s = 0), and sums, constant
multiples and shifts of such values and %tid.x.  An access whose address has s equal to
its width is contiguous along each row (`tile[ty][tx]`, `in[y * w + x]`); one whose
address has s = 0 reads one word per row (`as[ty][k]`).

The result only orders the access tiers (memops.access): which to try first.  Every tier
still checks the lanes' addresses before it runs, so a prediction that does not hold (a
32-bit index that wraps before it is widened, a register some lanes never wrote) costs a
failed check, never a wrong access.  Registers with more than one definition, or a
guarded one, are not followed.
"""
from __future__ import annotations

from typing import Any

from ..ptx.form import form_of
from .regclass import UNIFORM_SPECIALS, Trace

# values that are the same for every lane of a row
_ROW_SPECIALS = UNIFORM_SPECIALS | {"%tid.y", "%tid.z"}
_SAME = frozenset(["mov", "cvt", "cvta"])
_MASK = (1 << 64) - 1


def _single_defs(flat: Any, trace: Trace) -> dict[str, int]:
    """Register -> the pc of its one unguarded definition, for registers defined once."""
    defs: dict[str, list[int]] = {}
    for pc, names in trace.writes.items():
        for n in names:
            defs.setdefault(n, []).append(pc)
    out = {}
    for n, pcs in defs.items():
        ins = flat.code[pcs[0]].ins if len(pcs) == 1 else None
        if ins is not None and ins.guard is None and flat.code[pcs[0]].kind == "ins":
            out[n] = pcs[0]
    return out


def _imm(op: tuple) -> int | None:
    return op[1] if op[0] == "imm" and isinstance(op[1], int) else None


def _stride_of(op: tuple, known: dict[str, int]) -> int | None:
    """The operand's %tid.x coefficient, None if not known."""
    kind = op[0]
    if kind in ("imm", "fimm", "sym"):
        return 0
    if kind != "reg":
        return None
    name = op[1]
    if name == "%tid.x":
        return 1
    if name in _ROW_SPECIALS:
        return 0
    return known.get(name)


def _product(a: tuple, b: tuple, known: dict[str, int]) -> int | None:
    sa, sb = _stride_of(a, known), _stride_of(b, known)
    if sa is None or sb is None:
        return None
    if sa == 0 and sb == 0:
        return 0
    ka, kb = _imm(a), _imm(b)
    if kb is not None:
        return sa * kb
    if ka is not None:
        return sb * ka
    return None                         # tid.x times a value only known at run time


def _rule(item: Any, known: dict[str, int]) -> int | None:
    """The %tid.x coefficient of what the instruction writes, None if not known."""
    ins = item.ins
    form = form_of(ins)
    ops = ins.operands
    base = form.base
    if base == "ld" and form.space == "param":
        return 0
    if len(ops) < 2 or base in ("ld", "st", "atom", "red", "shfl", "vote", "activemask"):
        return None
    srcs = ops[1:]
    if base in _SAME and len(srcs) == 1:
        return _stride_of(srcs[0], known)
    if base in ("add", "sub") and len(srcs) == 2 and not form.has("cc"):
        s0, s1 = (_stride_of(o, known) for o in srcs)
        if s0 is None or s1 is None:
            return None
        return s0 + s1 if base == "add" else s0 - s1
    if base == "neg" and len(srcs) == 1:
        s = _stride_of(srcs[0], known)
        return None if s is None else -s
    if base == "mul" and len(srcs) == 2 and not form.has("hi"):
        return _product(srcs[0], srcs[1], known)
    if base == "mad" and len(srcs) == 3 and not form.has("hi") and not form.has("cc"):
        p, s = _product(srcs[0], srcs[1], known), _stride_of(srcs[2], known)
        return None if p is None or s is None else p + s
    if base == "shl" and len(srcs) == 2:
        s, k = _stride_of(srcs[0], known), _imm(srcs[1])
        if s == 0 and _stride_of(srcs[1], known) == 0:
            return 0
        return None if s is None or k is None or not 0 <= k < 64 else s << k
    # any other lane-wise operation of row-uniform values is row-uniform
    if all(_stride_of(o, known) == 0 for o in srcs):
        return 0
    return None


def register_strides(flat: Any, trace: Trace) -> dict[str, int]:
    """Register -> its %tid.x coefficient (wrapped to 64 bits), for the registers it is
    known of."""
    single = _single_defs(flat, trace)
    known: dict[str, int] = {}
    changed = True
    while changed:                      # definitions usually precede uses: one or two passes
        changed = False
        for name, pc in sorted(single.items(), key=lambda kv: kv[1]):
            if name in known:
                continue
            got = _rule(flat.code[pc], known)
            if got is not None:
                known[name] = got & _MASK
                changed = True
    return known


def access_strides(flat: Any, trace: Trace) -> dict[int, int]:
    """pc of each ld/st -> the %tid.x coefficient of its address (bytes per step along a
    row), for the accesses it is known of."""
    known = register_strides(flat, trace)
    out = {}
    for pc, item in enumerate(flat.code):
        if item.kind != "ins" or item.ins is None:
            continue
        form = form_of(item.ins)
        if form.base not in ("ld", "st") or form.space == "param":
            continue
        ops = item.ins.operands
        addr = ops[1] if form.base == "ld" else ops[0]
        if len(ops) != 2 or addr[0] != "addr":
            continue
        base = addr[1]
        s = 0 if base is None or base[0] == "sym" else _stride_of(base, known)
        if s is not None:
            out[pc] = s & _MASK
    return out
