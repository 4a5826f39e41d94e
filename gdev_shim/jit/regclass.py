"""Register classes for code generation, found from a traced first code generation pass.

Every register is a W-lane vector written under the group mask unless one of these holds:

* UNIFORM: one unguarded definition by a pure lane-wise instruction whose inputs are launch
  constants (immediates, %ntid, %ctaid, kernel parameters, other uniform registers), and that
  definition dominates every use.  Every lane that reads it has computed the same value, so it
  is kept as one scalar.
* TEMP: one unguarded definition whose uses all follow it inside the same straight-line block.
  A group never stops inside a block, so no lane can read another group's write; the write
  needs no mask and the value is dead at every dispatch point.

Kernels with calls keep every register a masked vector (parameter copies are per lane).
"""
from __future__ import annotations

import bisect

from dataclasses import dataclass, field

from ..ptx.form import form_of
from .layout import Flat, brx_targets

VECTOR, UNIFORM, TEMP = "vector", "uniform", "temp"

UNIFORM_SPECIALS = frozenset(
    [f"%{k}.{c}" for k in ("ntid", "nctaid", "ctaid") for c in "xyz"]
    + ["%nwarpid", "%smid", "%nsmid", "%gridid", "%dynamic_smem_size", "%total_smem_size"])

# lane-wise instructions without memory, cross-lane or hidden state
_PURE = frozenset(["add", "sub", "mul", "mad", "mul24", "mad24", "div", "rem", "min", "max", "abs",
                   "neg", "sad", "fma", "sqrt", "rsqrt", "rcp", "copysign", "and", "or", "xor",
                   "not", "cnot", "shl", "shr", "popc", "clz", "brev", "bfind", "bfe", "bfi",
                   "prmt", "shf", "lop3", "setp", "set", "selp", "slct", "testp", "cvt", "mov",
                   "cvta", "isspacep"])


@dataclass
class Trace:
    """What the first pass saw at each program counter."""
    reads: dict[int, set[str]] = field(default_factory=dict)
    writes: dict[int, set[str]] = field(default_factory=dict)

    def read(self, pc: int, name: str) -> None:
        self.reads.setdefault(pc, set()).add(name)

    def write(self, pc: int, name: str) -> None:
        self.writes.setdefault(pc, set()).add(name)


def decoded_trace(flat: Flat) -> Trace | None:
    """The registers each program counter reads and writes, from the interpreter's decoding
    of the same instructions (which records every register operand it resolves); None if
    some instruction was not decoded there."""
    uses = getattr(flat.prog, "uses", None)
    if uses is None:
        return None
    trace = Trace()
    for pc, item in enumerate(flat.code):
        if item.ins is None:
            continue
        got = uses.get(id(item.ins))
        if got is None:
            return None
        reads, writes = got
        if item.kind == "barred":
            # the released lanes re-read the barrier number and write the result here
            ident, dest = item.ins.operands[1], item.ins.operands[0]
            reads = frozenset([ident[1]] if ident[0] == "reg" else [])
            writes = frozenset([dest[1]] if dest[0] == "reg" else [])
        elif item.kind != "ins":
            continue
        if reads:
            trace.reads[pc] = set(reads)
        if writes:
            trace.writes[pc] = set(writes)
    return trace


def successors(flat: Flat, pc: int) -> list[int]:
    item = flat.code[pc]
    if item.kind == "end":
        return []
    if item.kind != "ins":
        return [pc + 1]
    ins = item.ins
    base = form_of(ins).base
    guarded = ins.guard is not None
    if base == "bra" and ins.operands and ins.operands[0][0] == "sym":
        target = flat.labels.get((item.fn.name, ins.operands[0][1]))
        out = [target] if target is not None else []
        return out + [pc + 1] if guarded else out
    if base == "brx":
        return brx_targets(flat, item) + ([pc + 1] if guarded else [])
    if base in ("ret", "exit", "trap", "brkpt") and not guarded:
        return []
    return [pc + 1]


def dominators(succ: list[list[int]]) -> list[int]:
    """Each pc's dominators as a bit set (bit d: every path from the entry to the pc passes
    through pc d; 0 for a pc the entry does not reach), by the iterative data flow in
    reverse post-order: once per kernel, where a walk per register took tens of ms on an
    unrolled kernel."""
    n = len(succ)
    order: list[int] = []
    seen = [False] * n
    stack: list[tuple[int, int]] = [(0, 0)] if n else []
    if n:
        seen[0] = True
    while stack:                         # post-order, without recursion
        pc, i = stack[-1]
        nxt = succ[pc]
        while i < len(nxt) and (nxt[i] >= n or seen[nxt[i]]):
            i += 1
        if i < len(nxt):
            stack[-1] = (pc, i + 1)
            seen[nxt[i]] = True
            stack.append((nxt[i], 0))
        else:
            stack.pop()
            order.append(pc)
    order.reverse()
    preds: list[list[int]] = [[] for _ in range(n)]
    for pc in order:
        for s in succ[pc]:
            if s < n:
                preds[s].append(pc)
    everything = (1 << n) - 1
    dom = [0] * n
    for pc in order:
        dom[pc] = everything
    if n:
        dom[0] = 1
    changed = True
    while changed:
        changed = False
        for pc in order[1:]:
            new = everything
            for p in preds[pc]:
                new &= dom[p]
            new |= 1 << pc
            if new != dom[pc]:
                dom[pc] = new
                changed = True
    return dom


def _dominates(dom: list[int], d: int, uses: set[int]) -> bool:
    """True when every path from the entry to a use passes through pc d (a use the entry
    does not reach, or at d itself, counts as dominated)."""
    bit = 1 << d
    return all(u == d or u >= len(dom) or not dom[u] or dom[u] & bit for u in uses)


def _pure(flat: Flat, pc: int) -> bool:
    item = flat.code[pc]
    if item.kind != "ins" or item.ins.guard is not None:
        return False
    form = form_of(item.ins)
    if form.has("cc"):
        return False
    if form.base == "ld" and form.has("param"):
        addr = item.ins.operands[1] if len(item.ins.operands) == 2 else None
        if not addr or addr[0] != "addr" or addr[1] is None or addr[1][0] != "sym":
            return False
        try:
            return flat.var(item.fn, addr[1][1]).space == "kparam"
        except Exception:
            return False
    return form.base in _PURE


def cross_lane_reads(flat: Flat, trace: Trace) -> set[str]:
    """Registers a shuffle reads: it reads them in lanes outside the group too, which must
    still hold their own last value (a masked vector), not one the group computed for them."""
    out: set[str] = set()
    for pc, names in trace.reads.items():
        ins = flat.code[pc].ins
        if ins is not None and form_of(ins).base == "shfl":
            out |= names
    return out


def classify(flat: Flat, leaders: set[int], trace: Trace) -> dict[str, str]:
    """Register name -> class, for the registers of the kernel entry function."""
    if flat.has_calls:
        return {}
    defs: dict[str, list[int]] = {}
    uses: dict[str, set[int]] = {}
    for pc, names in trace.writes.items():
        for n in names:
            defs.setdefault(n, []).append(pc)
    for pc, names in trace.reads.items():
        for n in names:
            uses.setdefault(n, set()).add(pc)
    order = sorted(leaders)

    def block_of(pc: int) -> int:
        i = bisect.bisect_right(order, pc)
        return order[i - 1] if i else 0

    cross = cross_lane_reads(flat, trace)
    single = {n: pcs[0] for n, pcs in defs.items()
              if len(pcs) == 1 and flat.code[pcs[0]].ins is not None
              and flat.code[pcs[0]].ins.guard is None and n not in cross}
    out: dict[str, str] = {}
    dom = dominators([successors(flat, pc) for pc in range(len(flat.code))])
    uniform = {n for n, d in single.items() if _pure(flat, d) and n not in trace.reads.get(d, ())
               and _dominates(dom, d, uses.get(n, set()))}
    changed = True
    while changed:
        changed = False
        for n in sorted(uniform):
            srcs = trace.reads.get(single[n], set())
            if any(s not in uniform and s not in UNIFORM_SPECIALS for s in srcs):
                uniform.discard(n)
                changed = True
    for n in uniform:
        out[n] = UNIFORM
    for n, d in single.items():
        if n in out:
            continue
        u = uses.get(n, set())
        blk = block_of(d)
        if all(p > d and block_of(p) == blk for p in u):
            out[n] = TEMP
    return out
