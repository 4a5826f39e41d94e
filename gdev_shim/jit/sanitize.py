"""initcheck and racecheck compiled into the kernel (GDEV_MEMCHECK on the JIT).

Before each global or shared load and store, the kernel calls a check for its active
lanes, lowest lane first:
- initcheck: a store marks its bytes of VRAM written in the card's shadow (a bit per VRAM
  byte, card/initshadow.py, set with atomic ORs); a load of a byte never written is
  reported.  Host (GART) memory is not checked.
- racecheck: per shared byte of the block (per 32-bit word, in kernels whose shared
  accesses all move whole words: `race_unit`), the warp that last wrote it and the warp
  that read it since the last barrier (-1 none, -2 several), and the PTX lines of that
  write and of the last read; another warp's write before a read or a write, or another warp's
  read before a write, is a hazard, named by the two accesses' program order
  (`findings.hazard_kind`, as the interpreter names it).  The record is forgotten when a
  block starts and whenever its barriers release (each round of its warps).
A hit is reported once per access through the launch's callback, with the first lane and
how many more there were, as the interpreter's sanitizer reports it.  Atomics are not
checked, as in the interpreter.
"""
from __future__ import annotations

import ctypes
from typing import Any

from llvmlite import ir

from ..common.findings import hazard_kind, hazard_lines, line_of
from ..ptx.memory import SHARED_TAG, SHARED_WINDOW, WINDOW_SHIFT
from . import abi
from .lanes import I8, I32, I64, PTR8, call_intrinsic, entry_alloca, finish_entry, start_function, width_of
from .lanewise import loop, mask_array

INSTRUMENTED = frozenset({"initcheck", "racecheck"})
# Named among an instrumented kernel's tools, so that the JIT's cache key (which hashes
# them) changes with the checks: raise it whenever the code generated here changes.
VERSION_TAG = "sanitize-10"
# what a check reports: UNINITIALISED, or RACE | flags | the earlier access's line << 8
UNINITIALISED, RACE = 1, 2
RACE_WRITE, RACE_AGAINST_WRITE, LINE_SHIFT = 16, 32, 8
# bad lanes of one access reported one by one (initcheck, as the interpreter's sanitizer);
# a hazard is reported once per access
LANES_REPORTED = {"init": 4, "race": 1}
# racecheck shadow entries: epoch (high half, from EPOCH_STEP to LAST_EPOCH, so an entry
# stays a positive int32) | the warp that made it, or SEVERAL for bytes more than one read
EPOCH_STEP, LAST_EPOCH, SEVERAL = 1 << 16, 0x7FFF_0000, 0xFFFE
# the tool compiled into accesses of each state space (generic ones: per lane, in the helper)
SPACE_TOOL = {abi.GLOBAL: "initcheck", abi.SHARED_SP: "racecheck"}
# int32 callback(kind, lane, address or shared offset, more lanes, pc, block, first thread, width)
CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int32, *([ctypes.c_int64] * 8))


def tools_of(checks: Any) -> frozenset[str]:
    """The tools a kernel must be compiled with for these checks."""
    tools = frozenset() if checks is None else INSTRUMENTED & checks.tools
    return tools | {VERSION_TAG} if tools else tools


class SanitizerSink:
    """The launch's callback: turns what the kernel found into the sanitizer's findings."""

    def __init__(self, checks: Any, flat: Any, grid: tuple[int, int, int],
                 block: tuple[int, int, int]) -> None:
        self.checks, self.flat, self.grid, self.block = checks, flat, grid, block
        self.callback = CALLBACK(self._call)

    def _call(self, kind: int, lane: int, addr: int, more: int, pc: int, blk: int,
              first: int, width: int) -> int:
        bx, by, _ = self.block
        gx, gy, _ = self.grid
        t = first + lane
        thread = (t % bx, (t // bx) % by, t // (bx * by))
        where = (blk % gx, (blk // gx) % gy, blk // (gx * gy))
        address = addr & (2**64 - 1)
        item = self.flat.code[pc]
        if kind == UNINITIALISED:
            self.checks._record(where, thread, "initcheck", "uninitialized global read", item.text,
                                address, width, self.checks.nearest(address), more)
            return 0
        write, against_write = bool(kind & RACE_WRITE), bool(kind & RACE_AGAINST_WRITE)
        earlier, line = kind >> LINE_SHIFT, line_of(item.text)
        hazard = hazard_kind(write, against_write, earlier, line)
        self.checks._record(where, thread, "racecheck", f"{hazard} on shared memory", item.text, None,
                            width, f"shared byte offset {address}", more,
                            hazard_lines(write, against_write, earlier, line))
        return 0


def emit_check(kc: Any, store: bool, code: int, addrs: ir.Value, w: int, eff: ir.Value) -> None:
    """Check one component of an access (before it is performed): a whole warp on
    contiguous bytes, or on runs of eight contiguous lanes (2-D blocks), as vector
    operations where it can; else lane by lane in the helper."""
    b, L = kc.b, kc.lanes
    if code not in SPACE_TOOL:
        _call_helper(kc, store, code, addrs, w, eff)      # generic: each lane's window decides
        return
    tool = SPACE_TOOL[code]
    if tool not in kc.instrument:
        return                      # the tool of this space is not compiled in: nothing to check
    fn = kc.fn
    slow, done = fn.append_basic_block(f"check_lanes{kc.pc}"), fn.append_basic_block(f"check_done{kc.pc}")
    if tool == "racecheck" and not store:
        from .racebatch import emit_gate
        emit_gate(kc, eff, done)        # a load its stretch's check covered skips its own
    for run, step, period in _shapes(kc, tool, w):
        heads = list(range(0, period, run))
        first = b.shuffle_vector(addrs, ir.Constant(addrs.type, ir.Undefined),
                                 ir.Constant(L.vt(I32), [(i // run) * run % period for i in range(kc.W)]))
        steps = ir.Constant(L.vt(I64), [ir.Constant(I64, (i % run) * step) for i in range(kc.W)])
        fits = b.and_(L.all(eff), L.all(b.icmp_unsigned("==", addrs, b.add(first, steps))))
        shape = f"{run}_{step}_{period}_{kc.pc}"
        vec, nxt = fn.append_basic_block(f"check_runs{shape}"), fn.append_basic_block(f"check_next{shape}")
        b.cbranch(fits, vec, nxt)
        b.position_at_end(vec)
        segments = [b.extract_element(addrs, ir.Constant(I32, h)) for h in heads]
        span = (run - 1) * step + w
        (_init_runs if tool == "initcheck" else _race_runs)(kc, store, segments, span, slow, done)
        b.position_at_end(nxt)
    if tool == "racecheck":
        _race_masked_warp(kc, store, addrs, w, eff, slow, done)
    b.branch(slow)
    b.position_at_end(slow)
    _call_helper(kc, store, code, addrs, w, eff)
    b.branch(done)
    b.position_at_end(done)


def _race_masked_warp(kc: Any, store: bool, addrs: ir.Value, w: int, eff: ir.Value, slow: ir.Block,
                      done: ir.Block) -> None:
    """A partial warp whose active lanes each access `w` bytes where lane i would be in a
    contiguous warp (the halves of a sorting network's compare-exchange, a data-dependent
    subset of a row): the warp's whole span is checked as vectors, its inactive lanes' bytes
    masked off (the span must lie inside the window, else lane by lane)."""
    b, L = kc.b, kc.lanes
    W = kc.W
    bits = b.bitcast(eff, ir.IntType(W))
    lowest = b.zext(call_intrinsic(b, "cttz", [bits, ir.Constant(ir.IntType(1), 0)]), I64)
    # lane 0's address were it active (no lane active: lane W's, and `fits` is false)
    at = b.extract_element(addrs, b.trunc(b.and_(lowest, ir.Constant(I64, W - 1)), I32))
    base = b.sub(at, b.mul(lowest, ir.Constant(I64, w)))
    steps = ir.Constant(L.vt(I64), [ir.Constant(I64, i * w) for i in range(W)])
    placed = b.icmp_unsigned("==", addrs, b.add(L.splat(base), steps))
    fits = b.and_(L.any(eff), L.all(b.or_(b.not_(eff), placed)))
    vec, nxt = kc.fn.append_basic_block(f"check_masked{kc.pc}"), kc.fn.append_basic_block(f"check_other{kc.pc}")
    b.cbranch(fits, vec, nxt)
    b.position_at_end(vec)
    per_lane = max(1, w // race_unit(kc))          # record entries per lane
    on = b.shuffle_vector(eff, ir.Constant(eff.type, ir.Undefined),
                          ir.Constant(ir.VectorType(I32, W * per_lane), [i // per_lane for i in range(W * per_lane)]))
    _race_runs(kc, store, [base], W * w, slow, done, on)
    b.position_at_end(nxt)


def _shapes(kc: Any, tool: str, w: int) -> list[tuple[int, int, int]]:
    """(lanes per run, bytes between a run's lanes, lanes after which the runs repeat) of
    the accesses checked as vectors, each run one span of bytes:
    - a whole warp on contiguous bytes;
    - where blocks may be 2-D, rows of 16 lanes (a 16x16 tile, a warp two of its rows):
      each row on contiguous bytes (a tile's load, a stencil's neighbours, a tiled matmul's
      B tile read by column), or in shared memory each row on one word (its A tile, read
      by row);
    - runs of eight contiguous lanes (an 8-wide block's rows), runs of eight lanes on one
      address (such a row reading one element; a whole warp reading one value)."""
    from .memops import ROW, _rows_likely
    W = kc.W
    rows = _rows_likely(kc) and W % (2 * ROW) == 0
    half = W // 2
    tiles = [(half, w, W)] + ([(half, 0, W)] if tool == "racecheck" else [])
    return [(W, w, W)] + (tiles + [(ROW, w, W)] if rows else []) + [(ROW, 0, W)]


def _inside(b: ir.IRBuilder, off: ir.Value, size: ir.Value, span: int) -> ir.Value:
    return b.and_(b.icmp_unsigned(">=", size, ir.Constant(I64, span)),
                  b.icmp_unsigned("<=", off, b.sub(size, ir.Constant(I64, span))))


def _init_runs(kc: Any, store: bool, starts: list, span: int, slow: ir.Block, done: ir.Block) -> None:
    """initcheck of `span` contiguous bytes at each start (all in VRAM, else lane by lane): the
    shadow's 64-bit words under each span, a load and a mask each; a store sets the bits it
    finds unset with atomic ORs (blocks run on several threads, and a word is 64 VRAM bytes)."""
    b, e = kc.b, kc.env
    ok: ir.Value = ir.Constant(ir.IntType(1), 1)
    missing: ir.Value = ir.Constant(I64, 0)
    words = []
    for a in starts:
        off = b.sub(a, e[abi.VRAM_BASE])
        inside = _inside(b, off, e[abi.VRAM_SIZE], span)
        ok = b.and_(ok, inside)
        mine = _shadow_words(kc, b, e[abi.INIT_SHADOW], b.select(inside, off, ir.Constant(I64, 0)), span)
        for p, m, v in mine:
            missing = b.or_(missing, b.and_(m, b.not_(v)))
            words.append((p, m))
        _prefetch_next_line(kc, mine[0][0])
    if not store:
        ok = b.and_(ok, b.icmp_unsigned("==", missing, ir.Constant(I64, 0)))
    record = kc.fn.append_basic_block(f"check_mark{kc.pc}")
    b.cbranch(ok, record, slow)
    b.position_at_end(record)
    if store:
        with b.if_then(b.icmp_unsigned("!=", missing, ir.Constant(I64, 0)), likely=False):
            for p, m in words:
                b.atomic_rmw("or", p, m, "monotonic")
    b.branch(done)


def _prefetch_next_line(kc: Any, word: ir.Value) -> None:
    """Ask for the shadow's cache line after this one: a line covers the bytes of four warps
    of a grid-stride loop, which run one after another, each jumping a grid further between
    its accesses, so the fifth warp would wait on memory for every access it makes (saxpy:
    twice as slow); as the access's own prefetch, only when the block has several warps."""
    b, e = kc.b, kc.env
    threads = b.mul(b.mul(e[abi.BX], e[abi.BY]), e[abi.BZ])
    several = b.icmp_unsigned(">", threads, ir.Constant(threads.type, kc.W))
    pf = kc.lanes.intrinsic("llvm.prefetch.p0", ir.VoidType(), [PTR8, I32, I32, I32])
    with b.if_then(several, likely=True):
        line = b.gep(b.bitcast(word, PTR8), [ir.Constant(I64, 64)])
        b.call(pf, [line, ir.Constant(I32, 0), ir.Constant(I32, 2), ir.Constant(I32, 1)])


def _shadow_words(kc: Any, b: ir.IRBuilder, shadow: ir.Value, off: ir.Value,
                  span: int) -> list[tuple[ir.Value, ir.Value, ir.Value]]:
    """(pointer, mask of the span's bits, loaded word) of each shadow word under the `span`
    VRAM bytes at `off`: bit off & 63 of word off >> 6 onwards.  A span starting inside a
    word reaches one word further than its length needs; aligned, that last mask is empty
    (the shadow has room after its end for it)."""
    words = b.gep(b.inttoptr(shadow, ir.PointerType(I64)), [b.lshr(off, ir.Constant(I64, 6))])
    lo = b.and_(off, ir.Constant(I64, 63))
    out = []
    for j in range((span + 63) // 64 + 1):
        end = b.sub(b.add(lo, ir.Constant(I64, span)), ir.Constant(I64, 64 * j))
        end = b.select(b.icmp_signed("<", end, ir.Constant(I64, 0)), ir.Constant(I64, 0), end)
        end = b.select(b.icmp_signed(">", end, ir.Constant(I64, 64)), ir.Constant(I64, 64), end)
        mask = _low_bits(b, end)
        if j == 0:
            mask = b.and_(mask, b.not_(_low_bits(b, lo)))
        p = b.gep(words, [ir.Constant(I64, j)])
        out.append((p, mask, b.load(p, align=8)))
    return out


def _low_bits(b: ir.IRBuilder, n: ir.Value) -> ir.Value:
    """The n (0 to 64) lowest bits set."""
    below = b.sub(b.shl(ir.Constant(I64, 1), b.and_(n, ir.Constant(I64, 63))), ir.Constant(I64, 1))
    return b.select(b.icmp_unsigned("==", n, ir.Constant(I64, 64)), ir.Constant(I64, -1), below)


def _race_runs(kc: Any, store: bool, starts: list, span: int, slow: ir.Block, done: ir.Block,
               on: ir.Value | None = None) -> None:
    """racecheck of `span` contiguous shared bytes at each start (of those `on` selects, or
    all): no hazard -> record and go on; a hazard (or bytes outside the window) -> the
    lane-by-lane path reports it."""
    b, e = kc.b, kc.env
    size = e[abi.SHARED_SIZE]
    unit = race_unit(kc)
    n = span // unit
    vt = ir.VectorType(I32, n)
    writers = b.inttoptr(e[abi.RACE], ir.PointerType(I32))
    epoch = b.trunc(e[abi.RACE_EPOCH], I32)

    def spread(v: ir.Value) -> ir.Value:
        return b.shuffle_vector(b.insert_element(ir.Constant(vt, ir.Undefined), v, ir.Constant(I32, 0)),
                                ir.Constant(vt, ir.Undefined), ir.Constant(ir.VectorType(I32, n), [0] * n))
    cur = spread(epoch)
    mev = spread(b.or_(epoch, b.load(kc.widx_a)))
    several = spread(b.or_(epoch, ir.Constant(I32, SEVERAL)))
    ok: ir.Value = ir.Constant(ir.IntType(1), 1)
    views = []
    for off in starts:
        inside = _inside(b, off, size, span)
        if unit > 1:                    # a misaligned word faults: lane by lane, as the interpreter
            inside = b.and_(inside, b.icmp_unsigned("==", b.and_(off, ir.Constant(I64, unit - 1)),
                                                    ir.Constant(I64, 0)))
        at = b.lshr(b.select(inside, off, ir.Constant(I64, 0)), ir.Constant(I64, unit.bit_length() - 1))
        wp = b.bitcast(b.gep(writers, [at]), ir.PointerType(vt))
        rp = b.bitcast(b.gep(writers, [b.add(size, at)]), ir.PointerType(vt))
        lp = b.bitcast(b.gep(writers, [b.add(b.mul(size, ir.Constant(I64, 3 if not store else 2)), at)]),
                       ir.PointerType(vt))
        wr, rd = b.load(wp, align=4), b.load(rp, align=4)
        # an entry of an earlier epoch is no access at all
        seen = b.and_(b.icmp_signed(">=", wr, cur), b.icmp_unsigned("!=", wr, mev))
        if store:
            seen = b.or_(seen, b.and_(b.icmp_signed(">=", rd, cur), b.icmp_unsigned("!=", rd, mev)))
        if on is not None:
            seen = b.and_(seen, on)
        hazard = kc.lanes.call("vector.reduce.or", [seen], ir.IntType(1))
        ok = b.and_(ok, b.and_(inside, b.not_(hazard)))
        views.append((wp, rp, wr, rd, lp))
    record = kc.fn.append_basic_block(f"check_record{kc.pc}")
    b.cbranch(ok, record, slow)
    b.position_at_end(record)
    line = ir.Constant(vt, [_line(kc)] * n)
    for wp, rp, wr, rd, lp in views:
        # inactive lanes' bytes keep their records
        lines = line if on is None else b.select(on, line, b.load(lp, align=4))
        if store:
            b.store(mev if on is None else b.select(on, mev, wr), wp, align=4)
        else:
            mine = b.or_(b.icmp_signed("<", rd, cur), b.icmp_unsigned("==", rd, mev))
            now = b.select(mine, mev, several)
            b.store(now if on is None else b.select(on, now, rd), rp, align=4)
        b.store(lines, lp, align=4)         # the line of the write, or of the last read
    b.branch(done)


def _call_helper(kc: Any, store: bool, code: int, addrs: ir.Value, w: int, eff: ir.Value) -> None:
    b = kc.b
    b.store(addrs, kc.tmp64)
    arr = ir.PointerType(ir.ArrayType(I64, kc.W))
    b.call(_helper(kc, store, code, w), [kc.env_ptr, b.bitcast(kc.tmp64, arr), mask_array(kc, eff),
                                         ir.Constant(I64, kc.pc), ir.Constant(I64, _line(kc)),
                                         b.load(kc.blk_a),
                                         b.zext(b.load(kc.ws_a), I64), b.zext(b.load(kc.widx_a), I64)])


def _helper(kc: Any, store: bool, code: int, w: int) -> ir.Function:
    name = f"check_{'st' if store else 'ld'}_{code}_{w}"
    fn = kc.helpers.get(name)
    if fn is not None:
        return fn
    W = kc.W
    fty = ir.FunctionType(ir.VoidType(), [ir.PointerType(I64), ir.PointerType(ir.ArrayType(I64, W)),
                                          ir.PointerType(ir.ArrayType(I8, W)), I64, I64, I64, I64, I64])
    fn = ir.Function(kc.m, fty, name=name)
    fn.linkage = "internal"
    kc.helpers[name] = fn
    env, addrs, mask, pc, line, blk, first, warp = fn.args
    b = start_function(fn)
    zero64 = ir.Constant(I64, 0)
    # per tool: hits, then the first hits' lanes, addresses (or offsets) and kinds
    state = {t: [entry_alloca(fn, I64, name=f"{t}_hits")]
             + [entry_alloca(fn, ir.ArrayType(I64, n), name=f"{t}_{k}") for k in ("lane", "addr", "kind")]
             for t, n in LANES_REPORTED.items()}
    for slots in state.values():
        b.store(zero64, slots[0])

    def slot(bb: ir.IRBuilder, i: int) -> ir.Value:
        return bb.load(bb.gep(env, [ir.Constant(I32, i)]))

    def hit(bb: ir.IRBuilder, tool: str, lane: ir.Value, where: ir.Value, kind: ir.Value) -> None:
        hits, lanes, addrs_seen, kinds = state[tool]
        n = bb.load(hits)
        with bb.if_then(bb.icmp_unsigned("<", n, ir.Constant(I64, LANES_REPORTED[tool]))):
            for arr, value in ((lanes, lane), (addrs_seen, where), (kinds, kind)):
                bb.store(value, bb.gep(arr, [ir.Constant(I32, 0), n]))
        bb.store(bb.add(n, ir.Constant(I64, 1)), hits)

    def lane_body(bb: ir.IRBuilder, j: ir.Value) -> None:
        on = bb.icmp_unsigned("!=", bb.load(bb.gep(mask, [ir.Constant(I32, 0), j])), ir.Constant(I8, 0))
        with bb.if_then(on):
            a = bb.load(bb.gep(addrs, [ir.Constant(I32, 0), j]))
            lane = bb.zext(j, I64)
            if code == abi.SHARED_SP:
                _race(kc, bb, slot, hit, store, w, lane, a, warp, line)
            elif code == abi.GLOBAL:
                _init(kc, bb, slot, hit, store, w, lane, a)
            else:
                tag = bb.lshr(a, ir.Constant(I64, WINDOW_SHIFT))
                shared = bb.icmp_unsigned("==", tag, ir.Constant(I64, SHARED_TAG))
                with bb.if_else(shared) as (in_shared, elsewhere):
                    with in_shared:
                        _race(kc, bb, slot, hit, store, w, lane,
                              bb.sub(a, ir.Constant(I64, SHARED_WINDOW)), warp, line)
                    with elsewhere:
                        # local and parameter windows lie far below VRAM: the range test skips them
                        _init(kc, bb, slot, hit, store, w, lane, a)
    loop(fn, b, W, lane_body, "lane")
    cb_type = ir.PointerType(ir.FunctionType(I32, [I64] * 8))
    for tool, most in LANES_REPORTED.items():
        hits, lanes, addrs_seen, kinds = state[tool]
        n = b.load(hits)
        for k in range(most):
            with b.if_then(b.icmp_unsigned(">", n, ir.Constant(I64, k))):
                cb = b.inttoptr(slot(b, abi.SANITIZER), cb_type)
                at = [ir.Constant(I32, 0), ir.Constant(I32, k)]
                more = b.sub(n, ir.Constant(I64, 1)) if k == 0 else zero64
                b.call(cb, [b.load(b.gep(kinds, at)), b.load(b.gep(lanes, at)),
                            b.load(b.gep(addrs_seen, at)), more, pc, blk, first, ir.Constant(I64, w)])
    b.ret_void()
    finish_entry(fn)
    return fn


def _init(kc: Any, b: ir.IRBuilder, slot: Any, hit: Any, store: bool, w: int, lane: ir.Value,
          a: ir.Value) -> None:
    if "initcheck" not in kc.instrument:
        return
    off = b.sub(a, slot(b, abi.VRAM_BASE))
    inside = b.icmp_unsigned("<=", off, b.sub(slot(b, abi.VRAM_SIZE), ir.Constant(I64, w)))
    with b.if_then(inside):
        words = _shadow_words(kc, b, slot(b, abi.INIT_SHADOW), off, w)
        missing: ir.Value = ir.Constant(I64, 0)
        for _, m, v in words:
            missing = b.or_(missing, b.and_(m, b.not_(v)))
        unset = b.icmp_unsigned("!=", missing, ir.Constant(I64, 0))
        with b.if_then(unset):
            if store:
                for p, m, _ in words:
                    b.atomic_rmw("or", p, m, "monotonic")
            else:
                hit(b, "init", lane, a, ir.Constant(I64, UNINITIALISED))


def _race(kc: Any, b: ir.IRBuilder, slot: Any, hit: Any, store: bool, w: int, lane: ir.Value,
          off: ir.Value, warp: ir.Value, line: ir.Value) -> None:
    if "racecheck" not in kc.instrument:
        return
    size = slot(b, abi.SHARED_SIZE)
    unit = race_unit(kc)
    inside = b.icmp_unsigned("<=", off, b.sub(size, ir.Constant(I64, w)))
    if unit > 1:                        # a misaligned word faults unchecked, as in the interpreter
        inside = b.and_(inside, b.icmp_unsigned("==", b.and_(off, ir.Constant(I64, unit - 1)),
                                                ir.Constant(I64, 0)))
    first_entry = b.lshr(off, ir.Constant(I64, unit.bit_length() - 1))
    with b.if_then(b.and_(b.icmp_unsigned(">=", size, ir.Constant(I64, w)), inside)):
        writers = b.inttoptr(slot(b, abi.RACE), ir.PointerType(I32))
        readers = b.gep(writers, [size])
        wlines, rlines = b.gep(writers, [b.add(size, size)]), b.gep(writers, [b.mul(size, ir.Constant(I64, 3))])
        line32 = b.trunc(line, I32)
        epoch = b.trunc(slot(b, abi.RACE_EPOCH), I32)
        me = b.or_(epoch, b.trunc(warp, I32))
        several = b.or_(epoch, ir.Constant(I32, SEVERAL))
        found = entry_alloca(b.function, I64, name="race_kind")
        b.store(ir.Constant(I64, 0), found)
        for k in range(w // unit):
            at = b.add(first_entry, ir.Constant(I64, k))
            wp, rp = b.gep(writers, [at]), b.gep(readers, [at])
            wlp, rlp = b.gep(wlines, [at]), b.gep(rlines, [at])
            wr, rd = b.load(wp), b.load(rp)
            wl, rl = b.zext(b.load(wlp), I64), b.zext(b.load(rlp), I64)
            other_writer = b.and_(b.icmp_signed(">=", wr, epoch), b.icmp_unsigned("!=", wr, me))
            # RACE, whether this access writes, whether the earlier one did, and its line
            against = b.zext(other_writer, I64)
            if store:
                other_reader = b.and_(b.icmp_signed(">=", rd, epoch), b.icmp_unsigned("!=", rd, me))
                earlier = b.select(other_writer, wl, rl)
                flags = b.or_(ir.Constant(I64, RACE | RACE_WRITE), b.shl(against, ir.Constant(I64, 5)))
                seen = b.or_(other_writer, other_reader)
                b.store(me, wp)
                b.store(line32, wlp)
            else:
                earlier = wl
                flags = ir.Constant(I64, RACE | RACE_AGAINST_WRITE)
                seen = other_writer
                mine = b.or_(b.icmp_signed("<", rd, epoch), b.icmp_unsigned("==", rd, me))
                b.store(b.select(mine, me, several), rp)
                b.store(line32, rlp)
            kind = b.or_(flags, b.shl(earlier, ir.Constant(I64, LINE_SHIFT)))
            first = b.icmp_unsigned("==", b.load(found), ir.Constant(I64, 0))
            with b.if_then(b.and_(seen, first)):
                b.store(kind, found)
        kind_now = b.load(found)
        with b.if_then(b.icmp_unsigned("!=", kind_now, ir.Constant(I64, 0))):
            hit(b, "race", lane, off, kind_now)


def race_unit(kc: Any) -> int:
    """Bytes per racecheck record: 4 when every shared (or generic) load and store of the
    kernel moves whole 32-bit words or wider, so that the four bytes of a word always share
    their records (a quarter of the records to check and keep, findings unchanged); else 1."""
    unit = kc.__dict__.get("_race_unit")
    if unit is None:
        unit = kc._race_unit = _word_accesses_only(kc.flat)
    return unit


def _word_accesses_only(flat: Any) -> int:
    from ..ptx.form import form_of
    for item in flat.code:
        if item.ins is None:
            continue
        f = form_of(item.ins)
        if f.base not in ("ld", "st") or f.space not in ("shared", "generic"):
            continue
        if not f.types or width_of(f.types[-1]) < 4:
            return 1
    return 4


def _line(kc: Any) -> int:
    """The PTX line of the access being compiled (racecheck orders hazards by it)."""
    ins = kc.item.ins if kc.item is not None else None
    return ins.line if ins is not None else 0


def reset_races(kc: Any) -> None:
    """A block starts or its barriers released: no access is pending any more.  Entries
    carry the epoch they were made in (high half) beside the warp (low half), so a new
    epoch forgets them all without clearing the shadow; only when the epochs run out is it
    cleared, and they start over."""
    if "racecheck" not in kc.instrument:
        return
    b, e = kc.b, kc.env
    nxt = b.add(e[abi.RACE_EPOCH], ir.Constant(I64, EPOCH_STEP))
    worn = b.icmp_unsigned(">", nxt, ir.Constant(I64, LAST_EPOCH))
    with b.if_then(worn):
        kc.memset(e[abi.RACE], b.mul(e[abi.SHARED_SIZE], ir.Constant(I64, 8)), value=0)
    b.store(b.select(worn, ir.Constant(I64, EPOCH_STEP), nxt), e.slot(abi.RACE_EPOCH))
