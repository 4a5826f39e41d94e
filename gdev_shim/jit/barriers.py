"""Block barriers on a warp-at-a-time kernel: arrival, release between rounds, bar.red results.

A block runs in rounds: each warp that is not done runs until all its live lanes wait at
a barrier (it yields) or have exited.  Arrivals are counted per barrier number in the
block's state; after a round, every barrier whose count reached what it expects (its
thread count, or every thread of the block still alive) is released, its waiting lanes
step past it, and the next round resumes them.  Threads that exited no longer hold a
barrier up, as on the card.  A round after which waiting warps remain but nothing can be
released is a deadlock and faults.
"""
from __future__ import annotations

from typing import Any

from llvmlite import ir

from ..ptx.form import form_of
from ..ptx.operands import imm_value
from . import abi
from .errors import JitUnsupported
from .lanes import I1, I8, I32, I64, PTR8, entry_alloca, finish_entry, start_function, undef
from .lanewise import loop

def barrier_form(ins: Any) -> tuple[bool, str | None, tuple | None, tuple | None, tuple | None,
                                    tuple | None]:
    """(arrive, red op, barrier number, thread count, bar.red destination, bar.red predicate)."""
    form = form_of(ins)
    ops = ins.operands
    if form.has("red"):
        red = form.mode
        if red is None or len(ops) not in (3, 4):
            raise JitUnsupported(f"unsupported barrier form {ins.opcode}")
        return False, red, ops[1], ops[2] if len(ops) == 4 else None, ops[0], ops[-1]
    arrive = form.has("arrive")
    if len(ops) > 2 or (arrive and len(ops) != 2):
        raise JitUnsupported(f"unsupported barrier form {ins.opcode}")
    return arrive, None, ops[0] if ops else None, ops[1] if len(ops) == 2 else None, None, None


def popcount(kc: Any, mask: ir.Value) -> ir.Value:
    """Number of set lanes of an <W x i1> mask, as an i32."""
    b = kc.b
    wide = ir.IntType(kc.W)
    bits = b.bitcast(mask, wide)
    n = kc.lanes.call("ctpop", [bits])
    if kc.W < 32:
        return b.zext(n, I32)
    return n if kc.W == 32 else b.trunc(n, I32)


def word(kc: Any, index: int | ir.Value) -> ir.Value:
    """Pointer to int32 word `index` of the block's barrier state."""
    idx = ir.Constant(I32, index) if isinstance(index, int) else index
    return kc.b.gep(kc.barstate, [idx])


def _add_to(kc: Any, base: int, bid: ir.Value, n: ir.Value) -> None:
    b = kc.b
    p = word(kc, b.add(ir.Constant(I32, base), bid))
    b.store(b.add(b.load(p), n), p)


def lanes_leave(kc: Any, mask: ir.Value) -> None:
    """Lanes of `mask` exited: barriers stop waiting for them."""
    if not kc.flat.has_barrier:
        return
    b = kc.b
    p = word(kc, abi.BAR_LIVE)
    b.store(b.sub(b.load(p), popcount(kc, mask)), p)


def emit_barrier(kc: Any, item: Any, pc: int, grp: ir.Value, eff: ir.Value, guarded: bool) -> None:
    b, L = kc.b, kc.lanes
    ins = item.ins
    if form_of(ins).has("warp"):
        kc.goto(pc + 1, grp)                 # a warp's lanes run in lockstep already
        return
    arrive, red, id_op, count_op, _dest, pred_op = barrier_form(ins)
    if kc.compact and not (guarded or arrive or red is not None or count_op is not None):
        _wait_shared(kc, item, pc, grp, id_op)
        return
    if guarded:
        kc.fall_through_if_no_lane(pc, grp, eff)
    first = L.first_lane(eff)
    bid = (b.extract_element(kc.read(id_op, "u32", item), first) if id_op is not None
           else ir.Constant(I32, 0))
    bad = kc.fn.append_basic_block(f"bar_bad{pc}")
    ok = kc.fn.append_basic_block(f"bar_ok{pc}")
    b.cbranch(b.icmp_unsigned(">=", bid, ir.Constant(I32, abi.NBARRIERS)), bad, ok)
    b.position_at_end(bad)
    kc.fault_here(abi.BARRIER_NUMBER, first, b.zext(bid, I64), pc)
    b.position_at_end(ok)
    if count_op is not None:
        count = b.extract_element(kc.read(count_op, "u32", item), first)
        b.store(count, word(kc, b.add(ir.Constant(I32, abi.BAR_EXPECT), bid)))
    _add_to(kc, abi.BAR_ARRIVED, bid, popcount(kc, eff))
    if red is not None:
        p = b.and_(eff, kc.read(pred_op, "pred", item))
        _add_to(kc, abi.BAR_RED_TRUE, bid, popcount(kc, p))
    if arrive:
        kc.goto(pc + 1, grp)
        return
    if not guarded:
        _park_if_converged(kc, pc, grp, bid)
    if guarded:
        kc.set_pc(grp, pc + 1)
    kc.set_pc(eff, pc)
    b.store(b.select(eff, L.splat(bid), b.load(kc.which_a)), kc.which_a)
    b.store(b.or_(b.load(kc.wait_a), eff), kc.wait_a)
    b.store(ir.Constant(I32, pc), kc.last_bar_a)
    b.branch(kc.dispatch_bb)


def _wait_shared(kc: Any, item: Any, pc: int, grp: ir.Value, id_op: tuple | None) -> None:
    """The quick tier's plain wait (unguarded bar.sync, all lanes counted): the barrier's
    number and counter go to two slots and the code after them is shared by every barrier
    of the kernel (`_shared_wait`), so the IR LLVM compiles grows by a few lines per
    barrier rather than by about seventy (an unrolled bitonic sort has 55 of them).  Only
    what differs per barrier stays here: the resume case and the registers it saves."""
    b = kc.b
    if id_op is None or id_op[0] == "imm":
        number = 0 if id_op is None else int(imm_value(id_op, "u32", item.ins.line))
        bid: ir.Value = ir.Constant(I32, number & 0xFFFF_FFFF)
    else:
        bid = b.extract_element(kc.read(id_op, "u32", item), kc.lanes.first_lane(grp))
    shared = kc.shared_wait or _shared_wait(kc)
    kc.add_resume_case(pc)
    shared.saves[pc] = kc.changed_since_resume(pc)
    if grp is not kc.grp:               # else it is what the block loaded from there
        b.store(grp, kc.grp_a)
    b.store(ir.Constant(I32, pc), shared.pc_a)
    b.store(bid, shared.bid_a)
    b.branch(shared.entry)


class _SharedWait:
    """The shared wait's blocks and slots; `saves`: each barrier's registers to save when
    a converged warp parks there after a resume (None: its whole frame)."""

    def __init__(self, kc: Any) -> None:
        self.pc_a = entry_alloca(kc.fn, I32, name="wait_pc")
        self.bid_a = entry_alloca(kc.fn, I32, name="wait_barrier")
        self.entry = kc.fn.append_basic_block("wait")
        self.changed = kc.fn.append_basic_block("wait_changed")
        self.saves: dict[int, frozenset[str] | None] = {}


def _shared_wait(kc: Any) -> _SharedWait:
    """The code every plain wait of the quick tier branches to, emitted at the first (its
    per-barrier register saves once all barriers are known: `emit_shared_saves`)."""
    shared = kc.shared_wait = _SharedWait(kc)
    b, L = kc.b, kc.lanes
    here = b.block
    b.position_at_end(shared.entry)
    grp, pc, bid = b.load(kc.grp_a), b.load(shared.pc_a), b.load(shared.bid_a)
    bad = kc.fn.append_basic_block("wait_bad")
    ok = kc.fn.append_basic_block("wait_ok")
    b.cbranch(b.icmp_unsigned(">=", bid, ir.Constant(I32, abi.NBARRIERS)), bad, ok)
    b.position_at_end(bad)
    kc.fault_here(abi.BARRIER_NUMBER, L.first_lane(grp), b.zext(bid, I64), pc)
    b.position_at_end(ok)
    _add_to(kc, abi.BAR_ARRIVED, bid, popcount(kc, grp))
    park, lanes = _converged_branch(kc, grp, "wait_park", "wait_lanes")
    b.position_at_end(park)
    after = b.add(pc, ir.Constant(I32, 1))
    b.store(L.splat(after), kc.pc_a)
    b.store(pc, kc.last_bar_a)
    status = b.trunc(b.add(bid, ir.Constant(I32, abi.WARP_PARKED)), I8)
    b.store(status, kc.park_status_a)
    b.store(after, kc.frame.resume_ptr(b.load(kc.frame_base_a)))
    b.cbranch(b.load(kc.synced_a), shared.changed, kc.park_bb)
    b.position_at_end(lanes)
    b.store(b.select(grp, L.splat(pc), b.load(kc.pc_a)), kc.pc_a)
    b.store(b.select(grp, L.splat(bid), b.load(kc.which_a)), kc.which_a)
    b.store(b.or_(b.load(kc.wait_a), grp), kc.wait_a)
    b.store(pc, kc.last_bar_a)
    b.branch(kc.dispatch_bb)
    b.position_at_end(here)
    return shared


def emit_shared_saves(kc: Any) -> None:
    """The shared wait's park after a resume: each barrier's changed registers (a switch
    on its counter), then the scheduling state and the warp's status."""
    shared = kc.shared_wait
    if shared is None:
        return
    b = kc.b
    b.position_at_end(shared.changed)
    if any(regs is None for regs in shared.saves.values()):
        # some barrier does not know what changed: every one saves the whole frame
        b.branch(kc.park_bb)
        return
    pc = b.load(shared.pc_a)
    base = b.load(kc.frame_base_a)
    tail = kc.fn.append_basic_block("wait_saved")
    sw = b.switch(pc, tail)
    for at, regs in sorted(shared.saves.items()):
        slots = kc.register_slots(at, regs)
        if not slots:
            continue
        save = kc.fn.append_basic_block(f"wait_save{at}")
        sw.add_case(ir.Constant(I32, at), save)
        b.position_at_end(save)
        kc.frame.save_registers(base, slots)
        b.branch(tail)
    b.position_at_end(tail)
    kc.frame.save(base, set(), skip=(kc.pc_a, kc.wait_a))
    b.store(b.load(kc.park_status_a), kc.warp_status())
    b.store(ir.Constant(I1, 1), kc.yielded_a)
    b.branch(kc.warp_next_bb)


def _converged_branch(kc: Any, grp: ir.Value, park_name: str,
                      lanes_name: str) -> tuple[ir.Block, ir.Block]:
    """Branch to (park, lanes): whether every live lane of the warp arrived together and
    none waits elsewhere (the common case: the warp parks whole)."""
    b, L = kc.b, kc.lanes
    alone = b.icmp_unsigned("==", b.load(kc.omin_a), ir.Constant(I32, abi.INF_PC))
    converged = b.and_(alone, b.not_(L.any(b.xor(grp, b.load(kc.alive_a)))))
    converged = b.and_(converged, b.not_(L.any(b.load(kc.wait_a))))
    park = kc.fn.append_basic_block(park_name)
    lanes = kc.fn.append_basic_block(lanes_name)
    b.cbranch(converged, park, lanes)
    return park, lanes


def _park_if_converged(kc: Any, pc: int, grp: ir.Value, bid: ir.Value) -> None:
    """The common case: every live lane of the warp arrived here together.  The warp parks
    whole, already pointing past the barrier; the release only flips its status."""
    b, L = kc.b, kc.lanes
    park, lanes = _converged_branch(kc, grp, f"bar_park{pc}", f"bar_lanes{pc}")
    b.position_at_end(park)
    b.store(L.const(I32, pc + 1), kc.pc_a)
    b.store(ir.Constant(I32, pc), kc.last_bar_a)
    kc.park_at(pc, b.trunc(b.add(bid, ir.Constant(I32, abi.WARP_PARKED)), I8))
    b.position_at_end(lanes)


def emit_red_result(kc: Any, item: Any, grp: ir.Value) -> None:
    """After a bar.red releases: each lane gets the reduction over the block's arrivals."""
    b, L = kc.b, kc.lanes
    ins = item.ins
    _arrive, red, id_op, _count, dest, _pred = barrier_form(ins)
    eff = kc.guard_mask(item, grp)
    bid = b.and_(b.extract_element(kc.read(id_op, "u32", item), L.first_lane(eff)),
                 ir.Constant(I32, abi.NBARRIERS - 1))
    trues = b.load(word(kc, b.add(ir.Constant(I32, abi.BAR_SNAP_TRUE), bid)))
    total = b.load(word(kc, b.add(ir.Constant(I32, abi.BAR_SNAP_TOTAL), bid)))
    if red == "popc":
        kc.write(dest, "u32", L.splat(trues), item, eff)
        return
    value = (b.icmp_unsigned("==", trues, total) if red == "and"
             else b.icmp_unsigned("!=", trues, ir.Constant(I32, 0)))
    kc.write(dest, "pred", L.splat(value), item, eff)


def release_helper(kc: Any, frame: Any) -> ir.Function:
    """i32 release(i32* state, i8* frames, i32 nwarps, i64 frame_bytes): 1 if any released."""
    fn = kc.helpers.get("release")
    if fn is not None:
        return fn
    fty = ir.FunctionType(I32, [ir.PointerType(I32), PTR8, I32, I64])
    fn = ir.Function(kc.m, fty, name="release_barriers")
    fn.linkage = "internal"
    kc.helpers["release"] = fn
    state, frames, nwarps, fbytes = fn.args
    b = start_function(fn)
    from .frame import numbered_barriers
    done = _complete_barriers(b, fn, state, abi.NBARRIERS if numbered_barriers(kc.flat) else 1)
    scan, none = fn.append_basic_block("scan"), fn.append_basic_block("none")
    b.cbranch(b.icmp_unsigned("!=", done, ir.Constant(I32, 0)), scan, none)
    b.position_at_end(none)
    b.ret(ir.Constant(I32, 0))
    b.position_at_end(scan)
    status = b.gep(b.bitcast(state, PTR8), [ir.Constant(I32, abi.BAR_STATUS_BYTE)])

    def release_warp(bb: ir.IRBuilder, w: ir.Value) -> None:
        sp = bb.gep(status, [w])
        st = bb.load(sp)
        parked_on = bb.sub(bb.zext(st, I32), ir.Constant(I32, abi.WARP_PARKED))
        parked = bb.icmp_unsigned("<", parked_on, ir.Constant(I32, abi.NBARRIERS))
        hit = bb.and_(bb.lshr(done, parked_on), ir.Constant(I32, 1))
        with bb.if_then(bb.and_(parked, bb.icmp_unsigned("!=", hit, ir.Constant(I32, 0)))):
            bb.store(ir.Constant(I8, abi.WARP_READY), sp)
        with bb.if_then(bb.icmp_unsigned("==", st, ir.Constant(I8, abi.WARP_LANES))):
            _release_lanes(kc, bb, frame, bb.gep(frames, [bb.mul(bb.zext(w, I64), fbytes)]), done)
    loop(fn, b, nwarps, release_warp, "warp")
    b.ret(ir.Constant(I32, 1))
    finish_entry(fn)
    return fn


def _release_lanes(kc: Any, b: ir.IRBuilder, frame: Any, base: ir.Value, done: ir.Value) -> None:
    """In the frame at `base`: lanes waiting on a barrier of the `done` mask step past it."""
    W = kc.W
    vt32 = ir.VectorType(I32, W)
    pcp, waitp, whichp = (frame.field_ptr_with(b, base, a) for a in (kc.pc_a, kc.wait_a, kc.which_a))
    pcv, waitv = b.load(pcp, align=1), b.load(waitp, align=1)
    which = ir.Constant(vt32, None) if whichp is None else b.load(whichp, align=1)
    splat = b.shuffle_vector(b.insert_element(undef(vt32), done, ir.Constant(I32, 0)),
                             undef(vt32), ir.Constant(vt32, [0] * W))
    hit = b.and_(b.lshr(splat, which), ir.Constant(vt32, [1] * W))
    rel = b.and_(b.icmp_unsigned("!=", waitv, ir.Constant(waitv.type, None)),
                 b.icmp_unsigned("!=", hit, ir.Constant(vt32, None)))
    b.store(b.select(rel, b.add(pcv, ir.Constant(vt32, [1] * W)), pcv), pcp, align=1)
    b.store(b.select(rel, ir.Constant(waitv.type, None), waitv), waitp, align=1)


def _complete_barriers(b: ir.IRBuilder, fn: ir.Function, state: ir.Value, count: int) -> ir.Value:
    """Reset every barrier (of the first `count`, the ones the kernel uses) whose arrivals
    reached what it expects, keeping its bar.red counts for the released lanes; returns
    the bit mask of those barriers."""
    zero = ir.Constant(I32, 0)
    live = b.load(b.gep(state, [ir.Constant(I32, abi.BAR_LIVE)]))
    done_a = entry_alloca(fn, I32, name="done")
    b.store(zero, done_a)

    def complete(bb: ir.IRBuilder, i: ir.Value) -> None:
        def at(base: int) -> ir.Value:
            return bb.gep(state, [bb.add(i, ir.Constant(I32, base))])
        arr, exp, trues = (bb.load(at(base)) for base in (abi.BAR_ARRIVED, abi.BAR_EXPECT,
                                                          abi.BAR_RED_TRUE))
        need = bb.select(bb.icmp_signed(">", exp, zero), exp, live)
        d = bb.and_(bb.icmp_signed(">", arr, zero), bb.icmp_signed(">=", arr, need))
        with bb.if_then(d):
            bb.store(trues, at(abi.BAR_SNAP_TRUE))
            bb.store(arr, at(abi.BAR_SNAP_TOTAL))
            for base in (abi.BAR_ARRIVED, abi.BAR_EXPECT, abi.BAR_RED_TRUE):
                bb.store(zero, at(base))
            bb.store(bb.or_(bb.load(done_a), bb.shl(ir.Constant(I32, 1), i)), done_a)
    loop(fn, b, count, complete, "barrier")
    return b.load(done_a)
