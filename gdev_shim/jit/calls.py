"""Calls on the JIT: return addresses per lane, frames that move for recursion, calls
through function pointers.

The layout is the interpreter's (ptx/decode.py, ptx/calls.py), so both engines agree on
every address: arguments pass through per-lane parameter memory; in a program that may
recurse, a callee's locals are relative to a per-lane frame pointer, and a call site that
may re-enter its caller saves the caller's registers and parameter region in the caller's
frame first.  Return values travel through the return buffer at the start of parameter
memory whenever the callee is not known at the call site or a restore would overwrite
them (recursion, calls through pointers); otherwise they are copied straight from the
callee's return parameters.
"""
from __future__ import annotations

from typing import Any

from llvmlite import ir

from ..ptx.decode import _packed
from ..ptx.parser import indirect_callees, split_call
from . import abi
from .errors import JitUnsupported
from .lanes import I1, I8, I32, I64, INT, PTR8, entry_alloca, finish_entry, start_function
from .lanewise import mask_array
from .layout import Item

Copies = list[tuple[tuple[int, int, str], int, int]]   # ((source offset, size, space), dest, bytes)


def return_depth(flat: Any) -> int:
    """Return addresses kept in memory per lane for a recursive program (0 otherwise): as
    many frames as the per-thread stack holds, plus the non-recursive ones."""
    prog = flat.prog
    if not prog.recursive:
        return 0
    return prog.local_size // 16 + len(prog.functions) + 1


def uses_return_buffer(flat: Any) -> bool:
    return bool(flat.prog.recursive or flat.indirect)


# ---------------------------------------------------------------- return addresses

class ReturnStack:
    """Per-lane return addresses and call depth.  An acyclic call graph bounds the depth,
    so each level is one vector; a recursive program keeps them in memory (CALLSTACK), as
    deep as the per-thread stack lets frames go."""

    def __init__(self, kc: Any) -> None:
        self.kc = kc
        fn = kc.fn
        vi32 = kc.lanes.vt(I32)
        self.depth = entry_alloca(fn, vi32, name="depth")
        self.limit = return_depth(kc.flat)
        n = 0 if self.limit else len(kc.flat.functions) + 1
        self.levels = [entry_alloca(fn, vi32, name=f"stack{i}") for i in range(n)]

    def state(self) -> list[ir.AllocaInstr]:
        """What a warp keeps in its frame while it waits at a barrier."""
        return [self.depth, *self.levels]

    def _slots(self, depth: ir.Value) -> ir.Value:
        kc = self.kc
        b, L = kc.b, kc.lanes
        index = b.add(b.mul(L.iota(I64), L.const(I64, self.limit)), b.zext(depth, L.vt(I64)))
        addr = b.add(L.splat(kc.env[abi.CALLSTACK]), b.shl(index, L.const(I64, 2)))
        return b.inttoptr(addr, ir.VectorType(ir.PointerType(I32), kc.W))

    def push(self, mask: ir.Value, ret_pc: int, pc: int, callee: int) -> None:
        kc = self.kc
        b, L = kc.b, kc.lanes
        depth = b.load(self.depth)
        if self.limit:
            over = b.and_(mask, b.icmp_unsigned(">=", depth, L.const(I32, self.limit)))
            kc.fault_if(over, abi.STACK_OVERFLOW, ir.Constant(I64, callee), pc)
            from .memops import _masked_scatter
            _masked_scatter(kc, L.const(I32, ret_pc), self._slots(depth), 4, mask)
        else:
            for i, level in enumerate(self.levels):
                hit = b.and_(mask, b.icmp_signed("==", depth, L.const(I32, i)))
                b.store(b.select(hit, L.const(I32, ret_pc), b.load(level)), level)
        b.store(b.select(mask, b.add(depth, L.const(I32, 1)), depth), self.depth)

    def pop(self, eff: ir.Value) -> ir.Value:
        """Lanes of `eff` leave their function: the lanes returning from the kernel itself
        (depth 0) are returned; the others' program counters become their return addresses."""
        kc = self.kc
        b, L = kc.b, kc.lanes
        depth = b.load(self.depth)
        d = b.sub(depth, L.const(I32, 1))
        done = b.and_(eff, b.icmp_signed("<", d, L.const(I32, 0)))
        ok = b.and_(eff, b.not_(done))
        pcv = b.load(kc.pc_a)
        if self.limit:
            from .memops import _masked_gather
            safe = b.select(ok, d, L.const(I32, 0))
            pcv = b.select(ok, _masked_gather(kc, self._slots(safe), 4, ok, pcv), pcv)
        else:
            for i, level in enumerate(self.levels):
                hit = b.and_(ok, b.icmp_signed("==", d, L.const(I32, i)))
                pcv = b.select(hit, b.load(level), pcv)
        b.store(pcv, kc.pc_a)
        b.store(b.select(ok, d, depth), self.depth)
        return done


# ---------------------------------------------------------------- frames

def _lane_rows(kc: Any, base_slot: int, stride_slot: int, extra: ir.Value) -> ir.Value:
    """Each lane's row of per-lane memory, plus a per-lane offset, as i64 addresses."""
    b, L = kc.b, kc.lanes
    rows = b.mul(L.iota(I64), L.splat(kc.env[stride_slot]))
    return b.add(b.add(L.splat(kc.env[base_slot]), rows), extra)


def _ptrs(kc: Any, addrs: ir.Value, ty: ir.Type) -> ir.Value:
    return kc.b.inttoptr(addrs, ir.VectorType(ir.PointerType(ty), kc.W))


def frame_pointer(kc: Any) -> ir.Value:
    b, L = kc.b, kc.lanes
    return b.zext(b.load(kc.fp_a), L.vt(I64))


def _rows_move_helper(kc: Any) -> ir.Function:
    """void f([W x i64]* dst, [W x i64]* src, i64 n, [W x i8]* mask): n bytes from each
    masked lane's source address to its destination address (a frame's parameter region:
    any length and alignment, so a byte loop out of line rather than vectors inline)."""
    fn = kc.helpers.get("rows_move")
    if fn is not None:
        return fn
    from .lanewise import loop
    W = kc.W
    arr = ir.PointerType(ir.ArrayType(I64, W))
    fn = ir.Function(kc.m, ir.FunctionType(ir.VoidType(), [arr, arr, I64, ir.PointerType(ir.ArrayType(I8, W))]),
                     name="rows_move")
    fn.linkage = "internal"
    kc.helpers["rows_move"] = fn
    dst, src, n, mask = fn.args
    b = start_function(fn)
    mv = kc.lanes.intrinsic("llvm.memmove.p0i8.p0i8.i64", ir.VoidType(), [PTR8, PTR8, I64, I1])

    def body(bb: ir.IRBuilder, i: ir.Value) -> None:
        on = bb.icmp_unsigned("!=", bb.load(bb.gep(mask, [ir.Constant(I32, 0), i])), ir.Constant(I8, 0))
        do, skip = fn.append_basic_block("do"), fn.append_basic_block("skip")
        bb.cbranch(on, do, skip)
        bb.position_at_end(do)
        to = bb.inttoptr(bb.load(bb.gep(dst, [ir.Constant(I32, 0), i])), PTR8)
        frm = bb.inttoptr(bb.load(bb.gep(src, [ir.Constant(I32, 0), i])), PTR8)
        bb.call(mv, [to, frm, n, ir.Constant(I1, 0)])
        bb.branch(skip)
        bb.position_at_end(skip)
    loop(fn, b, W, body, "move")
    b.ret_void()
    finish_entry(fn)
    return fn


def _saved_registers(kc: Any, fname: str) -> dict[int, ir.AllocaInstr]:
    prog = kc.flat.prog
    out = {}
    for (owner, reg), slot in prog.slots.items():
        if owner == fname and (owner, reg) in kc.regs:
            out[slot] = kc.regs[(owner, reg)][0]
    return out


def _move_frame(kc: Any, fname: str, mask: ir.Value, save: bool) -> None:
    """Save (or restore) the caller's registers and parameter region in its frame."""
    b, L = kc.b, kc.lanes
    from .memops import _masked_gather, _masked_scatter
    frame = kc.flat.prog.frames[fname]
    fp = frame_pointer(kc)
    regs = _saved_registers(kc, fname)
    base = _lane_rows(kc, abi.LOCAL, abi.LOCAL_STRIDE, fp)     # each lane's frame
    for slot, off, width in frame.reg_saves:
        alloca = regs.get(slot)
        if alloca is None:
            continue
        ity = INT[width]
        ptrs = _ptrs(kc, b.add(base, L.const(I64, off)), ity)
        vty = alloca.type.pointee
        is_pred = vty.element == I1
        if save:
            v = b.load(alloca)
            v = b.zext(v, L.vt(I8)) if is_pred else b.bitcast(v, L.vt(ity))
            _masked_scatter(kc, v, ptrs, width, mask)
        else:
            old = b.load(alloca)
            raw = b.zext(old, L.vt(I8)) if is_pred else b.bitcast(old, L.vt(ity))
            got = _masked_gather(kc, ptrs, width, mask, raw)
            b.store(b.trunc(got, vty) if is_pred else b.bitcast(got, vty), alloca)
    n = frame.param_end - frame.param_start
    if n:
        params = _lane_rows(kc, abi.PARMEM, abi.PARAM_STRIDE, L.const(I64, frame.param_start))
        saved = b.add(base, L.const(I64, frame.param_save))
        src, dst = (params, saved) if save else (saved, params)
        arr = ir.PointerType(ir.ArrayType(I64, kc.W))
        b.store(dst, kc.tmp64)
        b.store(src, kc.tmpval)
        b.call(_rows_move_helper(kc), [b.bitcast(kc.tmp64, arr), b.bitcast(kc.tmpval, arr),
                                       ir.Constant(I64, n), mask_array(kc, mask)])


def _reenters(flat: Any, caller: str, names: list[str]) -> bool:
    reach = flat.prog.reach
    return any(n == caller or caller in reach.get(n, ()) for n in names)


# ---------------------------------------------------------------- call sites

def _arg_copies(kc: Any, item: Item, name: str, args: list) -> Copies:
    prog = kc.flat.prog
    callee = kc.flat.functions[name]
    copies = []
    for arg, formal in zip(args, callee.params):
        src = kc.param_ref(item, arg)
        dst = prog.vars[(name, formal.name)]
        copies.append((src, dst.offset, min(formal.size, src[1] or formal.size)))
    return copies


def _copy(kc: Any, copies: Copies, mask: ir.Value) -> None:
    from .memops import lane_copy
    for (src_off, _size, space), dst_off, n in copies:
        if space != "pparam":
            raise JitUnsupported("kernel parameter passed to a call")
        lane_copy(kc, src_off, dst_off, n, mask)


def _callee(kc: Any, name: str, rets: list, args: list) -> Any:
    callee = kc.flat.functions.get(name)
    if callee is None or not callee.defined:
        raise JitUnsupported(f"call to {name}")
    if len(args) != len(callee.params) or len(rets) != len(callee.rets):
        raise JitUnsupported(f"call to {name} with the wrong number of parameters")
    return callee


def _targets(kc: Any, item: Item, rets: list, args: list) -> list[tuple[str, int]]:
    """(name, function address) of the functions an indirect call may reach with its
    prototype, in address order (the order the interpreter serves them)."""
    module = kc.flat.prog.module
    out = []
    for name in indirect_callees(item.fn, item.ins, kc.flat.prog.taken):
        callee = kc.flat.functions.get(name)
        if callee is None or not callee.defined or callee.is_entry:
            continue
        if len(args) != len(callee.params) or len(rets) != len(callee.rets):
            continue            # another prototype: calling it from this site faults
        out.append((name, module.function_address(name)))
    return sorted(out, key=lambda t: t[1])


def _function_index(kc: Any, name: str) -> int:
    return list(kc.flat.functions).index(name)


def _enter(kc: Any, item: Item, pc: int, mask: ir.Value, lanes_to: list[tuple[str, ir.Value]],
           args: list) -> None:
    """The call proper for the lanes of `mask`: save the caller if the site may re-enter
    it, pass arguments, move the frame pointer past the caller's frame, push the return
    address.  `lanes_to`: (callee, its lanes) for each callee."""
    b, L = kc.b, kc.lanes
    flat = kc.flat
    caller = item.fn.name
    names = [n for n, _ in lanes_to]
    if flat.prog.recursive and _reenters(flat, caller, names):
        _move_frame(kc, caller, mask, save=True)
    size = flat.prog.frames[caller].size if flat.prog.recursive else 0
    for name, lanes in lanes_to:
        _copy(kc, _arg_copies(kc, item, name, args), lanes)
        if flat.prog.recursive:
            need = size + flat.prog.frames[name].size
            fp = frame_pointer(kc)
            over = b.and_(lanes, b.icmp_unsigned(">", b.add(fp, L.const(I64, need)),
                                                  L.splat(kc.env[abi.LOCAL_STRIDE])))
            kc.fault_if(over, abi.STACK_OVERFLOW, ir.Constant(I64, _function_index(kc, name)), pc)
    if size:
        fpv = b.load(kc.fp_a)
        b.store(b.select(mask, b.add(fpv, L.const(I32, size)), fpv), kc.fp_a)
    kc.returns.push(mask, pc + 1, pc, _function_index(kc, names[0]))


def emit_call(kc: Any, item: Item, pc: int, grp: ir.Value, eff: ir.Value, guarded: bool) -> None:
    """A call of a defined function.  Lanes whose guard is false skip the call and the
    copy-back after it (pc + 2), as in the interpreter."""
    b = kc.b
    rets, target, args = split_call(item.ins)
    if target[0] == "reg":
        _emit_indirect(kc, item, pc, grp, eff, guarded, rets, target, args)
        return
    name = target[1]
    _callee(kc, name, rets, args)
    entry = kc.flat.func_pc[name]
    if not guarded:
        _enter(kc, item, pc, grp, [(name, grp)], args)
        kc.goto(entry, grp)
        return
    allb, notall, noneb, part = (kc.fn.append_basic_block(f"call_{t}{pc}")
                                 for t in ("all", "some", "none", "part"))
    b.cbranch(kc.lanes.any(b.and_(grp, b.not_(eff))), notall, allb)
    b.position_at_end(allb)
    _enter(kc, item, pc, grp, [(name, grp)], args)
    kc.goto(entry, grp)
    b.position_at_end(notall)
    b.cbranch(kc.lanes.any(eff), part, noneb)
    b.position_at_end(noneb)
    kc.goto(pc + 2, grp)
    b.position_at_end(part)
    kc.set_pc(grp, pc + 2)
    _enter(kc, item, pc, eff, [(name, eff)], args)
    kc.set_pc(eff, entry)
    b.branch(kc.dispatch_bb)


def _emit_indirect(kc: Any, item: Item, pc: int, grp: ir.Value, eff: ir.Value, guarded: bool,
                   rets: list, target: tuple, args: list) -> None:
    """A call through a register: each lane goes to the function at its address."""
    b, L = kc.b, kc.lanes
    if guarded:
        kc.set_pc(grp, pc + 2)
        kc.fall_through_if_no_lane(pc + 1, grp, eff)
    addrs = kc.read(target, "u64", item)
    targets = _targets(kc, item, rets, args)
    hits = [(name, b.and_(eff, b.icmp_unsigned("==", addrs, L.const(I64, address))))
            for name, address in targets]
    known = L.const(I1, 0)
    for _, hit in hits:
        known = b.or_(known, hit)
    bad = b.and_(eff, b.not_(known))
    # the interpreter serves addresses in increasing order: the lowest bad one faults
    lowest = L.umin(b.select(bad, addrs, L.const(I64, -1)))
    kc.fault_if(b.and_(bad, b.icmp_unsigned("==", addrs, L.splat(lowest))), abi.BAD_CALL,
              lowest, pc)
    if not hits:
        b.branch(kc.dispatch_bb)      # unreachable: every lane faulted above
        return
    _enter(kc, item, pc, eff, hits, args)
    pcv = b.load(kc.pc_a)
    for name, hit in hits:
        pcv = b.select(hit, L.const(I32, kc.flat.func_pc[name]), pcv)
    b.store(pcv, kc.pc_a)
    b.branch(kc.dispatch_bb)


def emit_copyback(kc: Any, item: Item, grp: ir.Value) -> None:
    """After a call, for the lanes that return from it: pop the frame (restoring the caller
    if the site saved it), then fetch the return values."""
    b, L = kc.b, kc.lanes
    flat = kc.flat
    rets, target, args = split_call(item.ins)
    caller = item.fn.name
    if target[0] == "reg":
        names = [n for n, _ in _targets(kc, item, rets, args)]
    else:
        names = [target[1]]
    if not names:
        return
    if flat.prog.recursive:
        size = flat.prog.frames[caller].size
        if size:
            fpv = b.load(kc.fp_a)
            b.store(b.select(grp, b.sub(fpv, L.const(I32, size)), fpv), kc.fp_a)
        if _reenters(flat, caller, names):
            _move_frame(kc, caller, grp, save=False)
    callee = flat.functions[names[0]]
    dsts = [kc.param_ref(item, r) for r in rets]
    if uses_return_buffer(flat):
        offs, _ = _packed(callee.rets)
        back = [((off, f.size, "pparam"), d[0], min(f.size, d[1] or f.size))
                for f, off, d in zip(callee.rets, offs, dsts)]
    else:
        prog = flat.prog
        back = []
        for formal, d in zip(callee.rets, dsts):
            src = prog.vars[(names[0], formal.name)]
            back.append(((src.offset, src.size, "pparam"), d[0], min(formal.size, d[1] or formal.size)))
    _copy(kc, back, grp)


def emit_return_values(kc: Any, fn: Any, eff: ir.Value) -> None:
    """At a return from `fn`: its return values into the return buffer, when calls read
    them from there."""
    if fn.is_entry or not fn.rets or not uses_return_buffer(kc.flat):
        return
    offs, _ = _packed(fn.rets)
    prog = kc.flat.prog
    copies = [((prog.vars[(fn.name, r.name)].offset, r.size, "pparam"), off, r.size)
              for r, off in zip(fn.rets, offs)]
    _copy(kc, copies, eff)


__all__ = ["ReturnStack", "emit_call", "emit_copyback", "emit_return_values", "frame_pointer",
           "return_depth", "uses_return_buffer"]
