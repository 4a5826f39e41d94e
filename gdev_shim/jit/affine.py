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
failed check, never a wrong access.  A register defined once (unguarded) is followed
at every use.  One defined more than once is followed where a use's definition is known:
the nearest one before it in straight-line code, no label or control transfer between them
other than a branch (whose fall-through it is) or a barrier - as nvcc reuses %tid's
registers as a loop's counters once the loop's invariant addresses are computed from them
(a tiled matmul's `as[ty][k]` base from %tid.y, then %tid.y's register stepping by 16).
A guarded definition is not followed.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..ptx.form import form_of
from .layout import is_control
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


# control transfers a backward walk to a use's definition may pass: a branch's
# fall-through holds the registers it had before it, and so does a barrier's release
_PASSABLE = frozenset({"bra", "bar", "barrier"})


class _Reaching:
    """Which definition of a register a use at a pc sees, where one is known."""

    def __init__(self, flat: Any, trace: Trace) -> None:
        self.flat, self.trace = flat, trace
        self.single = _single_defs(flat, trace)
        # where paths may join (labels, function entries): a walk back stops there
        self.joins = {*flat.labels.values(), *flat.func_pc.values()}
        self._memo: dict[tuple[int, str], int | None] = {}

    def at(self, pc: int, name: str) -> int | None:
        """The pc of the definition of `name` that the instruction at `pc` reads."""
        if name in self.single:
            return self.single[name]
        key = (pc, name)
        if key not in self._memo:
            self._memo[key] = self._walk(pc, name)
        return self._memo[key]

    def _walk(self, pc: int, name: str) -> int | None:
        code, writes = self.flat.code, self.trace.writes
        for p in range(pc - 1, -1, -1):
            if p + 1 in self.joins:     # pc p + 1 may be reached from elsewhere
                return None
            item = code[p]
            if name in writes.get(p, ()):
                ins = item.ins
                ok = item.kind == "ins" and ins.guard is None and ins.operands and ins.operands[0] == ("reg", name)
                return p if ok else None
            if item.kind != "ins":
                return None
            if is_control(item) and form_of(item.ins).base not in _PASSABLE:
                return None
        return None


def _imm(op: tuple) -> int | None:
    return op[1] if op[0] == "imm" and isinstance(op[1], int) else None


Known = Callable[[str], "int | None"]


def _stride_of(op: tuple, known: Known) -> int | None:
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
    return known(name)


def _product(a: tuple, b: tuple, known: Known) -> int | None:
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


def _rule(item: Any, known: Known) -> int | None:
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


def _definition_strides(flat: Any, trace: Trace, reach: _Reaching) -> dict[int, int]:
    """pc of each definition -> the %tid.x coefficient (wrapped to 64 bits) of what it
    writes, for the definitions it is known of."""
    defs = sorted(pc for pc, item in enumerate(flat.code)
                  if trace.writes.get(pc) and item.kind == "ins" and item.ins.guard is None)
    known: dict[int, int] = {}
    changed = True
    while changed:                      # definitions usually precede uses: one or two passes
        changed = False
        for pc in defs:
            if pc in known:
                continue

            def at(name: str, pc: int = pc) -> int | None:
                d = reach.at(pc, name)
                return None if d is None else known.get(d)
            got = _rule(flat.code[pc], at)
            if got is not None:
                known[pc] = got & _MASK
                changed = True
    return known


def register_strides(flat: Any, trace: Trace) -> dict[str, int]:
    """Register -> its %tid.x coefficient (wrapped to 64 bits), for the registers defined
    once it is known of."""
    reach = _Reaching(flat, trace)
    known = _definition_strides(flat, trace, reach)
    return {name: known[pc] for name, pc in reach.single.items() if pc in known}


def access_strides(flat: Any, trace: Trace) -> dict[int, int]:
    """pc of each ld/st -> the %tid.x coefficient of its address (bytes per step along a
    row), for the accesses it is known of."""
    reach = _Reaching(flat, trace)
    known = _definition_strides(flat, trace, reach)
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

        def at(name: str, pc: int = pc) -> int | None:
            d = reach.at(pc, name)
            return None if d is None else known.get(d)
        s = 0 if base is None or base[0] == "sym" else _stride_of(base, at)
        if s is not None:
            out[pc] = s & _MASK
    return out
