"""racecheck of a run of shared loads at once: a tiled kernel's inner loop, unrolled.

A tiled matmul reads `as[ty][k]` and `bs[k][tx]` for k = 0..15 between two barriers: 32
shared loads, each checked on its own (its lanes' shape found, its words' writers read,
its reader records written), cost four times the kernel.  Loads of one straight stretch
of code (no label, branch or barrier inside, nothing else touching shared memory, no
guard) whose addresses are one register plus an immediate, the register unchanged across
the stretch, touch words known before the first of them runs: their base's lanes' shape
(rows of contiguous or of equal addresses, `sanitize._shapes`) is tested once, and each
group of loads on one base covers, from each row's first address, a fixed set of words,
the line of the last load on each fixed too.  Loads never change a word's writer, so
before the first load the stretch's whole hazard check is one vector test per row: no
other warp's write in this epoch on any of those words.  Then every word's reader record
and line are written as the loads one by one would have left them, and the loads skip
their own checks.  Where rows (a stencil's, rows of a halo tile) or groups (a tile read
by row and by column) overlap, a second pass keeps on each word the highest line the rows
left: lines rise with the loads of a stretch, so that is the last load's.  Anything else
(a hazard, a partial warp, a shape not found, a word out of the window) leaves every load
of the stretch to its own check, so what is reported is unchanged.  Only the optimised
tier checks stretches (the quick one keeps its IR small), and only groups whose address's
step along a row the address analysis knows (affine.py): the shapes it allows are tried.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llvmlite import ir

from ..ptx.form import form_of
from . import abi
from .lanes import I1, I32, I64, entry_alloca, width_of
from .lanewise import lane_addresses
from .layout import is_control

# a group's loads span at most this many bytes from its lowest offset to its highest;
# stretches at most this many loads and groups (bounds on the code of one check)
MAX_SPAN, MAX_LOADS, MAX_GROUPS = 1024, 64, 4
# instructions other than the alu's that touch no shared memory
_HARMLESS = frozenset({"cvta", "isspacep"})
_OTHER_SPACES = frozenset({"global", "local", "param", "const"})


@dataclass(frozen=True)
class Load:
    pc: int
    group: int
    offset: int             # bytes added to the group's base register
    line: int               # PTX line (racecheck orders hazards by it)


@dataclass
class Group:
    reg: str                # the base register, unchanged across the stretch
    pc: int                 # its first load
    width: int              # bytes each lane loads
    offsets: list[int] = field(default_factory=list)


@dataclass
class Stretch:
    head: int               # pc of its first load: the checks of all of them run there
    groups: list[Group] = field(default_factory=list)
    loads: list[Load] = field(default_factory=list)
    # per group, the lane shapes its base is tested for: (lanes per row, bytes between
    # them, lanes after which rows repeat, what its loads cover); set when compiled
    shapes: list[list[tuple[int, int, int, "Cover"]]] | None = None


def _regs(op: Any) -> set[str]:
    if not isinstance(op, tuple) or not op:
        return set()
    if op[0] == "reg":
        return {op[1]}
    found: set[str] = set()
    for part in op[1:]:
        if isinstance(part, tuple):
            found |= _regs(part)
        elif isinstance(part, list):
            for p in part:
                found |= _regs(p)
    return found


def _load(item: Any) -> tuple[str, int, int, set[str]] | None:
    """(base register, offset, width, registers written) of a load a stretch can take."""
    if item.kind != "ins" or item.ins.guard is not None:
        return None
    f = form_of(item.ins)
    ops = item.ins.operands
    if f.base not in ("ld", "ldu") or f.space != "shared" or f.vec != 1 or len(ops) != 2 or not f.types:
        return None
    addr = ops[1]
    if addr[0] != "addr" or addr[1] is None or addr[1][0] != "reg" or not isinstance(addr[2], int):
        return None
    w = width_of(f.types[-1])
    dst = _regs(ops[0])
    if addr[2] % w or addr[1][1] in dst:
        return None
    return addr[1][1], addr[2], w, dst


def _harmless(item: Any) -> bool:
    """An instruction a stretch may hold besides its loads: it touches no shared memory."""
    from .alu import BUILDERS
    if item.kind != "ins":
        return False
    f = form_of(item.ins)
    if f.noop or f.base in BUILDERS or f.base in _HARMLESS:
        return True
    return f.base in ("ld", "ldu", "st") and f.space in _OTHER_SPACES


def plan(flat: Any, leaders: set[int]) -> dict[int, Stretch]:
    """Each load of a stretch of two loads or more -> its stretch."""
    out: dict[int, Stretch] = {}
    cur: Stretch | None = None
    touched: set[str] = set()           # registers the stretch's instructions name

    def close() -> None:
        nonlocal cur
        if cur is not None and len(cur.loads) > 1:
            for ld in cur.loads:
                out[ld.pc] = cur
        cur = None
        touched.clear()

    for pc, item in enumerate(flat.code):
        if pc in leaders:
            close()
        got = _load(item)
        if got is None:
            if cur is not None:
                names = _regs(("x", *item.ins.operands)) if item.ins is not None else set()
                if item.ins is not None and item.ins.guard is not None:
                    names.add(item.ins.guard[0])
                if is_control(item) or not _harmless(item) or names & {g.reg for g in cur.groups}:
                    close()
                else:
                    touched.update(names)
            continue
        reg, offset, w, dst = got
        if cur is not None and not _joins(cur, reg, offset, w, dst, touched, item.ins.line):
            close()
        if cur is None:
            cur = Stretch(pc)
        index = next((i for i, g in enumerate(cur.groups) if g.reg == reg), None)
        if index is None:
            index = len(cur.groups)
            cur.groups.append(Group(reg, pc, w))
        cur.groups[index].offsets.append(offset)
        cur.loads.append(Load(pc, index, offset, item.ins.line))
        touched.update(dst)
    close()
    return out


def _joins(cur: Stretch, reg: str, offset: int, w: int, dst: set[str], touched: set[str],
           line: int) -> bool:
    bases = {g.reg for g in cur.groups}
    # lines rising with the loads: the last load on a word is the one with the highest line
    if dst & (bases | {reg}) or len(cur.loads) >= MAX_LOADS or line <= cur.loads[-1].line:
        return False
    group = next((g for g in cur.groups if g.reg == reg), None)
    if group is None:
        return reg not in touched and len(cur.groups) < MAX_GROUPS
    return group.width == w and max(group.offsets + [offset]) - min(group.offsets + [offset]) <= MAX_SPAN


def stretch_at(kc: Any, pc: int) -> Stretch | None:
    """The stretch the load at pc is in, if the kernel is compiled at its optimised tier
    (the quick tier keeps its IR small) and every group of it has lane shapes to try."""
    if kc.strides is None:
        return None
    plans = kc.__dict__.get("_race_stretches")
    if plans is None:
        plans = kc._race_stretches = plan(kc.flat, kc.find_leaders())
    stretch = plans.get(pc)
    if stretch is None:
        return None
    if stretch.shapes is None:
        from .sanitize import race_unit
        unit = race_unit(kc)
        stretch.shapes = [_candidates(kc, stretch, g, unit) for g in range(len(stretch.groups))]
    return stretch if all(stretch.shapes) else None


@dataclass(frozen=True)
class Cover:
    """What a group's loads touch from one row's first address plus `low`, for one lane
    shape: which record entries, and the line each is left with."""
    low: int
    on: list[bool]
    lines: list[int]


def cover(stretch: Stretch, g: int, run: int, step: int, unit: int) -> Cover:
    loads = [ld for ld in stretch.loads if ld.group == g]
    w = stretch.groups[g].width
    low = min(ld.offset for ld in loads)
    high = max(ld.offset for ld in loads) + (run - 1) * step + w
    n = (high - low + unit - 1) // unit
    on, lines = [False] * n, [0] * n
    for ld in loads:                    # in program order: the last load's line stays
        for i in range(run):
            start = ld.offset - low + i * step
            for e in range(start // unit, (start + w + unit - 1) // unit):
                on[e], lines[e] = True, ld.line
    return Cover(low, on, lines)


def emit_gate(kc: Any, eff: ir.Value, done: ir.Block) -> bool:
    """At a load of a stretch: at its first, the stretch's check; at each, a branch to
    `done` when the check covered it.  False: the load is in no stretch."""
    stretch = stretch_at(kc, kc.pc)
    if stretch is None:
        return False
    b = kc.b
    flags = kc.__dict__.setdefault("_race_flags", {})
    if stretch.head == kc.pc:
        flags[stretch.head] = _emit_stretch(kc, stretch, eff)
    own = kc.fn.append_basic_block(f"check_own{kc.pc}")
    b.cbranch(b.load(flags[stretch.head]), done, own)
    b.position_at_end(own)
    return True


def _emit_stretch(kc: Any, stretch: Stretch, eff: ir.Value) -> ir.AllocaInstr:
    """The stretch's check, and its records written when it holds: the flag its loads test."""
    from .sanitize import race_unit
    b, fn = kc.b, kc.fn
    tag = stretch.head
    flag = entry_alloca(fn, I1, name=f"race_batch{tag}")
    unit = race_unit(kc)
    assert stretch.shapes is not None
    # the loads are unguarded and in one range: their lanes are the first one's (`eff`)
    bases = [lane_addresses(kc, kc.flat.code[g.pc], ("addr", ("reg", g.reg), 0)) for g in stretch.groups]
    fail, end, whole = (fn.append_basic_block(f"race_batch_{n}{tag}") for n in ("no", "end", "whole"))
    b.cbranch(kc.lanes.all(eff), whole, fail)
    b.position_at_end(whole)
    picks, spans, tidy = [], [], []
    for g, base in enumerate(bases):
        pick, clean = entry_alloca(fn, I32, name=f"race_shape{tag}_{g}"), entry_alloca(fn, I1)
        lo, hi = entry_alloca(fn, I64), entry_alloca(fn, I64)
        found = fn.append_basic_block(f"race_group{tag}_{g}")
        for s, (run, step, period, cov) in enumerate(stretch.shapes[g]):
            heads, mismatch = _heads(kc, base, run, step, period, cov.low)
            span = len(cov.on) * unit
            b.store(_check_rows(kc, heads, stretch.groups[g].width, cov, unit, fail), clean)
            b.store(ir.Constant(I32, s), pick)
            b.store(_fold(b, heads, least=True), lo)
            b.store(b.add(_fold(b, heads, least=False), ir.Constant(I64, span)), hi)
            b.branch(found)
            b.position_at_end(mismatch)
        b.branch(fail)
        b.position_at_end(found)
        picks.append(pick)
        spans.append((b.load(lo), b.load(hi)))
        tidy.append(b.load(clean))
    _record(kc, stretch, bases, picks, unit, latest=False)
    # rows of a group or groups on the same words: a word's line is the one of the last
    # load on it, the highest of the lines the rows left (they rise with the loads)
    apart = _all(b, tidy)
    for i, (lo_i, hi_i) in enumerate(spans):
        for lo_j, hi_j in spans[:i]:
            apart = b.and_(apart, b.or_(b.icmp_unsigned("<=", hi_i, lo_j), b.icmp_unsigned("<=", hi_j, lo_i)))
    with b.if_then(b.not_(apart), likely=False):
        _record(kc, stretch, bases, picks, unit, latest=True)
    b.store(ir.Constant(I1, 1), flag)
    b.branch(end)
    b.position_at_end(fail)
    b.store(ir.Constant(I1, 0), flag)
    b.branch(end)
    b.position_at_end(end)
    return flag


def _all(b: ir.IRBuilder, flags: list[ir.Value]) -> ir.Value:
    out: ir.Value = ir.Constant(I1, 1)
    for f in flags:
        out = b.and_(out, f)
    return out


def _record(kc: Any, stretch: Stretch, bases: list[ir.Value], picks: list[ir.Value], unit: int,
            latest: bool) -> None:
    """Each group's rows' records, in the shape its check picked (`_record_rows`)."""
    b, fn = kc.b, kc.fn
    assert stretch.shapes is not None
    for g, (pick, base) in enumerate(zip(picks, bases)):
        after = fn.append_basic_block(f"race_recorded{stretch.head}_{g}")
        sw = b.switch(b.load(pick), after)
        for s, (run, _step, period, cov) in enumerate(stretch.shapes[g]):
            case = fn.append_basic_block(f"race_record{stretch.head}_{g}_{s}")
            sw.add_case(ir.Constant(I32, s), case)
            b.position_at_end(case)
            _record_rows(kc, _row_heads(kc, base, run, period, cov.low), cov, unit, latest)
            b.branch(after)
        b.position_at_end(after)


def _candidates(kc: Any, stretch: Stretch, g: int, unit: int) -> list[tuple[int, int, int, Cover]]:
    """The lane shapes the group's base may take: those its address's predicted step along
    a row allows (none if it is not known), each with what the group's loads cover from a
    row's first address, if they cover at least half of its span."""
    from .sanitize import _shapes
    group = stretch.groups[g]
    step = kc.strides.get(group.pc) if kc.strides is not None else None
    out = []
    for run, st, period in _shapes(kc, "racecheck", group.width):
        if st != step:
            continue
        cov = cover(stretch, g, run, st, unit)
        if 2 * sum(cov.on) >= len(cov.on):
            out.append((run, st, period, cov))
    return out


def _row_heads(kc: Any, base: ir.Value, run: int, period: int, low: int) -> list[ir.Value]:
    b = kc.b
    return [b.add(b.extract_element(base, ir.Constant(I32, h)), ir.Constant(I64, low))
            for h in range(0, period, run)]


def _heads(kc: Any, base: ir.Value, run: int, step: int, period: int,
           low: int) -> tuple[list[ir.Value], ir.Block]:
    """Test the base's lanes for the shape: positioned where they match, the rows' first
    addresses plus `low`, and the block a mismatch goes to."""
    b, L, fn = kc.b, kc.lanes, kc.fn
    W = kc.W
    first = b.shuffle_vector(base, ir.Constant(base.type, ir.Undefined),
                             ir.Constant(L.vt(I32), [(i // run) * run % period for i in range(W)]))
    steps = ir.Constant(L.vt(I64), [ir.Constant(I64, (i % run) * step) for i in range(W)])
    fits = L.all(b.icmp_unsigned("==", base, b.add(first, steps)))
    ok, no = fn.append_basic_block("race_shape_ok"), fn.append_basic_block("race_shape_no")
    b.cbranch(fits, ok, no)
    b.position_at_end(ok)
    return _row_heads(kc, base, run, period, low), no


def _fold(b: ir.IRBuilder, values: list[ir.Value], least: bool) -> ir.Value:
    out = values[0]
    for v in values[1:]:
        less = b.icmp_unsigned("<", v, out)
        out = b.select(less, v, out) if least else b.select(less, out, v)
    return out


def _check_rows(kc: Any, heads: list[ir.Value], w: int, cov: Cover, unit: int, fail: ir.Block) -> ir.Value:
    """Every row inside the window and aligned, and no other warp's write of this epoch on
    any covered entry; else to `fail`.  Returns whether the rows are each equal to or apart
    from the others."""
    from .sanitize import _inside
    b, fn = kc.b, kc.fn
    n = len(cov.on)
    span = n * unit
    ok: ir.Value = ir.Constant(I1, 1)
    clean: ir.Value = ir.Constant(I1, 1)
    for i, h in enumerate(heads):
        ok = b.and_(ok, _inside(b, h, kc.env[abi.SHARED_SIZE], span))
        ok = b.and_(ok, b.icmp_unsigned("==", b.and_(h, ir.Constant(I64, max(w, unit) - 1)),
                                        ir.Constant(I64, 0)))
        for other in heads[:i]:
            apart = b.or_(b.icmp_unsigned("<=", b.add(h, ir.Constant(I64, span)), other),
                          b.icmp_unsigned("<=", b.add(other, ir.Constant(I64, span)), h))
            clean = b.and_(clean, b.or_(b.icmp_unsigned("==", h, other), apart))
    rows = fn.append_basic_block("race_rows")
    b.cbranch(ok, rows, fail)
    b.position_at_end(rows)
    vt = ir.VectorType(I32, n)
    cur, mev = _epochs(kc, vt)
    on = ir.Constant(ir.VectorType(I1, n), cov.on)
    for i, h in enumerate(heads):
        # a row equal to an earlier one (both rows of a 16x16 tile reading `bs[k][tx]`)
        # is checked once
        nxt = fn.append_basic_block("race_row_next")
        if i:
            test = fn.append_basic_block("race_row")
            b.cbranch(_equal_to_any(b, h, heads[:i]), nxt, test)
            b.position_at_end(test)
        wr = b.load(_entries(kc, h, 0, unit, vt), align=4)
        seen = b.and_(b.and_(b.icmp_signed(">=", wr, cur), b.icmp_unsigned("!=", wr, mev)), on)
        b.cbranch(kc.lanes.call("vector.reduce.or", [seen], I1), fail, nxt)
        b.position_at_end(nxt)
    return clean


def _equal_to_any(b: ir.IRBuilder, h: ir.Value, others: list[ir.Value]) -> ir.Value:
    same: ir.Value = ir.Constant(I1, 0)
    for other in others:
        same = b.or_(same, b.icmp_unsigned("==", h, other))
    return same


def _record_rows(kc: Any, heads: list[ir.Value], cov: Cover, unit: int, latest: bool) -> None:
    """Each row's reader records and read lines, as its loads one by one leave them (a row
    equal to an earlier one is skipped: it would write the same).  `latest`: a second pass
    over rows that overlap other rows (after the first wrote every covered word's line),
    keeping on each word the highest of their lines."""
    from .sanitize import SEVERAL
    b = kc.b
    n = len(cov.on)
    vt = ir.VectorType(I32, n)
    cur, mev = _epochs(kc, vt)
    several = _spread(b, vt, b.or_(b.trunc(kc.env[abi.RACE_EPOCH], I32), ir.Constant(I32, SEVERAL)))
    full = all(cov.on)
    on = ir.Constant(ir.VectorType(I1, n), cov.on)
    lines = ir.Constant(vt, cov.lines)
    for i, h in enumerate(heads):
        with b.if_then(b.not_(_equal_to_any(b, h, heads[:i])), likely=True):
            rp, lp = _entries(kc, h, 1, unit, vt), _entries(kc, h, 3, unit, vt)
            if latest:
                old = b.load(lp, align=4)
                b.store(b.select(b.and_(on, b.icmp_unsigned(">", lines, old)), lines, old), lp, align=4)
            else:
                rd = b.load(rp, align=4)
                mine = b.or_(b.icmp_signed("<", rd, cur), b.icmp_unsigned("==", rd, mev))
                now = b.select(mine, mev, several)
                b.store(now if full else b.select(on, now, rd), rp, align=4)
                b.store(lines if full else b.select(on, lines, b.load(lp, align=4)), lp, align=4)


def _entries(kc: Any, off: ir.Value, table: int, unit: int, vt: ir.VectorType) -> ir.Value:
    """A pointer to the record entries from shared byte `off` on, in table 0 (writers),
    1 (readers), 2 (write lines) or 3 (read lines): sanitize._race_runs's layout."""
    b, e = kc.b, kc.env
    at = b.lshr(off, ir.Constant(I64, unit.bit_length() - 1))
    if table:
        at = b.add(b.mul(e[abi.SHARED_SIZE], ir.Constant(I64, table)), at)
    return b.bitcast(b.gep(b.inttoptr(e[abi.RACE], ir.PointerType(I32)), [at]), ir.PointerType(vt))


def _epochs(kc: Any, vt: ir.VectorType) -> tuple[ir.Value, ir.Value]:
    """This epoch, and this warp's entry in it, spread over `vt`."""
    b = kc.b
    epoch = b.trunc(kc.env[abi.RACE_EPOCH], I32)
    return _spread(b, vt, epoch), _spread(b, vt, b.or_(epoch, b.load(kc.widx_a)))


def _spread(b: ir.IRBuilder, vt: ir.VectorType, v: ir.Value) -> ir.Value:
    n = vt.count
    return b.shuffle_vector(b.insert_element(ir.Constant(vt, ir.Undefined), v, ir.Constant(I32, 0)),
                            ir.Constant(vt, ir.Undefined), ir.Constant(ir.VectorType(I32, n), [0] * n))
