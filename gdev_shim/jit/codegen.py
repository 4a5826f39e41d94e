"""PTX kernel -> one LLVM function that runs blocks a warp at a time (SIMT on SIMD).

The unit of code is a warp: registers are vectors of W <= 32 lanes.  Within a warp,
scheduling mirrors the interpreter: the lanes with the lowest program counter run as one
group (a lane mask); a group keeps running while it stays below every other pending
counter, and divergent branches, calls, returns and barriers write per-lane counters and
go back to the dispatcher.  Only the first instruction of a basic block (a "leader") can
be a dispatch target.

A block runs as rounds over its warps.  A warp whose live lanes all wait at barriers
yields: its scheduling state and the registers live across barriers go to its frame
(`frame.py`), and the next warp runs.  Between rounds the barriers that completed are
released (`barriers.py`) and the waiting warps resume through the dispatcher, which is
the resume switch.  Code size, compile time and memory therefore do not depend on the
block size.
"""
from __future__ import annotations

from typing import Any

from llvmlite import ir

from ..ptx.memory import LOCAL_WINDOW, SHARED_WINDOW
from ..ptx.operands import CLOCKS, SPECIAL_64, imm_value, is_special, sm_count
from ..ptx.form import form_of
from ..ptx.parser import split_call
from ..ptx.ptxtypes import SIZE, TYPES, storage_of
from . import abi, affine, barriers, calls, carry, clocks, ifconvert, printf, remat, sanitize
from .errors import JitUnsupported
from .frame import FrameLayout
from .layouts import LayoutChecks
from .lanes import (F32, F64, I1, I8, I32, I64, INT, PTR8, Lanes, entry_alloca, finish_entry,
                    scalar_type, start_function, undef, width_of, zeros)
from .layout import Flat, Item, brx_targets, is_control
from .liveness import Liveness, live_across_barriers, written_since_resume
from .regclass import TEMP, UNIFORM, VECTOR, Trace, classify, cross_lane_reads, decoded_trace

INF_PC = abi.INF_PC


class _Env:
    """The environment slots as IR values.  Launch-wide slots are loaded once at entry; the
    running warp's per-lane memory (LOCAL, PARMEM) is re-read at each use, since the kernel
    repoints it whenever a warp starts or resumes."""

    PER_WARP = (abi.LOCAL, abi.PARMEM, abi.CALLSTACK, abi.RACE_EPOCH)

    def __init__(self, kc: "KernelCompiler", ptr: ir.Value) -> None:
        self.kc = kc
        self.ptr = ptr
        self.values = [None if i in self.PER_WARP else kc.b.load(self.slot(i))
                       for i in range(abi.ENV_SLOTS)]

    def slot(self, i: int) -> ir.Value:
        return self.kc.b.gep(self.ptr, [ir.Constant(I32, i)])

    def __getitem__(self, i: int) -> ir.Value:
        v = self.values[i]
        return self.kc.b.load(self.slot(i)) if v is None else v


class KernelCompiler:
    def __init__(self, flat: Flat, width: int, name: str,
                 classes: dict[str, str] | None = None,
                 spill: frozenset[str] | None = None,
                 instrument: frozenset[str] = frozenset(), compact: bool = False,
                 plain_kernel: bool = False, library: bool = False) -> None:
        self.flat = flat
        self.instrument = instrument        # sanitizer tools compiled in (jit/sanitize.py)
        # the quick tier's IR: scalar memory accesses call one function per shape
        # (memops._access_helper) rather than inlining their tiers at every access
        self.compact = compact
        # ... calling the process's prebuilt ones where it has them (jit/accesslib.py)
        self.library = library
        self.library_symbols: set[str] = set()
        # the kernel function itself left unoptimised (`optnone`) in a module whose
        # helpers are optimised (engine._build)
        self.plain_kernel = plain_kernel
        # None: a tracing pass (every register a masked vector) whose trace picks the classes
        self.classes = classes
        # registers live across a barrier (None: every vector register)
        self.spill = spill
        self.trace = Trace()
        # pc of an access -> its address's step along a block row (affine.py); None: not
        # analysed (the quick tier and the tracing pass keep their fixed order of tiers)
        self.strides: dict[int, int] | None = None
        # registers another lane's shuffle may read (None: not known)
        self.cross: set[str] | None = None
        # the lane-layout checks made so far in the straight-line code being emitted
        self.layouts = LayoutChecks()
        # the registers live into each pc (None: not computed)
        self.live: Liveness | None = None
        # pcs a resumed warp runs again instead of restoring what they wrote (remat.py)
        self.remat_pcs: list[int] = []
        self.remat_resumes: frozenset[int] = frozenset()   # where the dispatcher recomputes them
        self.in_remat = False
        # the pc whose code the instructions being generated belong to, when not their own
        # (a masked region's: its branch's, ifconvert.py); None: their own
        self.host: int | None = None
        self.analysis: Trace | None = None     # the tracing pass's record, where one ran
        self.pc = 0
        self.W = width
        self.m = ir.Module(name=name)
        self.lanes = Lanes(self.m, width)
        self.name = name
        self.regs: dict[tuple[str, str], tuple[ir.AllocaInstr, str, str]] = {}
        self.helpers: dict[str, ir.Function] = {}
        self.max_kparam_read = 0
        self.frame_bytes = 0
        # barrier pc -> registers written since the warp's last resume (None: not known)
        self.dirty: dict[int, frozenset[str]] | None = None
        # the quick tier's shared barrier wait, once a barrier asked for it (barriers.py)
        self.shared_wait: Any = None

    # ------------------------------------------------------------------ structure
    def compile(self) -> ir.Module:
        if self.classes is None:
            trace = decoded_trace(self.flat)
            if trace is None:
                # a tracing pass: every register a masked vector, every access recorded
                probe = KernelCompiler(self.flat, self.W, self.name, classes={}, compact=True)
                probe.compile()
                trace = probe.trace
            self.analysis = trace
            self.classes = classify(self.flat, self.find_leaders(), trace)
            self.cross = cross_lane_reads(self.flat, trace)
            if not self.compact:
                self.strides = affine.access_strides(self.flat, trace)
            if self.flat.has_barrier and not self.flat.has_calls:
                self.live = Liveness(self.flat, trace)
                self.spill = live_across_barriers(self.flat, trace, self.live)
                self.plan_remat(trace)     # in both tiers: their frames must agree
                if all(item.kind in ("ins", "end", "barred") for item in self.flat.code):
                    self.dirty = written_since_resume(self.flat, trace)
        self.start_function()
        self.declare_registers()
        self.emit_block_loop()
        self.leaders = self.find_leaders()
        self.bbs: dict[int, ir.Block] = {}
        self.pending_blocks: list[int] = []
        self.routes = ifconvert.dispatch_targets(self)
        if self.analysis is not None and self.strides is not None:
            from . import memops
            wants, paged = memops.planned_layouts(self)
            self.layouts.plan(self, wants, self.analysis.writes, paged, memops.page_entry)
        self.emit_warp_entry()
        self.emit_dispatch()
        self.emit_exits()
        # only the code some branch or the dispatcher reaches (a region emitted linearly
        # may leave its original blocks unreached)
        order = sorted(self.leaders)
        ends = {pc: (order[i + 1] if i + 1 < len(order) else len(self.flat.code))
                for i, pc in enumerate(order)}
        while self.pending_blocks:
            pc = self.pending_blocks.pop()
            self.emit_range(pc, ends[pc])
        barriers.emit_shared_saves(self)
        finish_entry(self.fn)
        return self.m

    def block(self, pc: int) -> ir.Block:
        """The basic block of leader `pc`, emitted later if this is its first use."""
        bb = self.bbs.get(pc)
        if bb is None:
            bb = self.bbs[pc] = self.fn.append_basic_block(f"pc{pc}")
            self.pending_blocks.append(pc)
        return bb

    def start_function(self) -> None:
        fty = ir.FunctionType(I32, [ir.PointerType(I64), I64, I64])
        fn = self.fn = ir.Function(self.m, fty, name="kernel")
        if self.plain_kernel:
            fn.attributes.add("noinline")
            fn.attributes.add("optnone")
        b = self.b = self.lanes.b = start_function(fn)
        self.env_ptr = fn.args[0]
        self.env = _Env(self, self.env_ptr)
        self.fault_ptr = b.inttoptr(self.env[abi.FAULT], ir.PointerType(I64))
        self.barstate = b.inttoptr(self.env[abi.BARSTATE], ir.PointerType(I32))
        L = self.lanes
        vi32, v1 = L.vt(I32), L.vt(I1)
        self.pc_a = entry_alloca(fn, vi32, name="pc")
        self.alive_a = entry_alloca(fn, v1, name="alive")
        self.wait_a = entry_alloca(fn, v1, name="waiting")
        self.which_a = entry_alloca(fn, vi32, name="which_barrier")
        self.grp_a = entry_alloca(fn, v1, name="grp")
        self.omin_a = entry_alloca(fn, I32, name="omin")
        self.blk_a = entry_alloca(fn, I64, name="blk")
        self.ws_a = entry_alloca(fn, I32, name="ws")
        self.widx_a = entry_alloca(fn, I32, name="warp_index")
        self.yielded_a = entry_alloca(fn, I1, name="yielded")
        self.last_bar_a = entry_alloca(fn, I32, name="last_barrier_pc")
        self.park_status_a = entry_alloca(fn, I8, name="park_status")
        self.synced_a = entry_alloca(fn, I1, name="frame_synced")
        self.frame_base_a = entry_alloca(fn, PTR8, name="frame_base")
        self.returns = calls.ReturnStack(self)
        self.fp_a = entry_alloca(fn, vi32, name="frame_pointer")
        # vector-typed so that whole-vector stores into them are naturally aligned
        self.tmp64 = entry_alloca(fn, L.vt(I64), name="tmp_addrs")
        self.tmpval = entry_alloca(fn, L.vt(I64), name="tmp_vals")
        self.tmpmask = entry_alloca(fn, L.vt(I8), name="tmp_mask")

    def declare_registers(self) -> None:
        b, L = self.b, self.lanes
        for f in self.flat.functions.values():
            for reg, t in f.regs.items():
                try:
                    st = storage_of(t)
                except Exception:
                    raise JitUnsupported(f"register type .{t}") from None
                stt = "pred" if t == "pred" else f"u{8 * st.itemsize}"
                cls = self.classes.get(reg, VECTOR) if f.is_entry else VECTOR
                ty = scalar_type(stt) if cls == UNIFORM else L.vty(stt)
                slot = entry_alloca(self.fn, ty, name=f"r_{f.name}_{reg}")
                self.regs[(f.name, reg)] = (slot, stt, cls)
                if cls != VECTOR:
                    # defined before every use: zeroed once, not per warp
                    b.store(ir.Constant(ty, None), slot)
        carry.declare(self)
        if self.flat.has_barrier:
            spilled = [slot for (fname, reg), (slot, _stt, cls)
                       in self.regs.items() if cls == VECTOR
                       and (self.spill is None or not self.flat.functions[fname].is_entry
                            or reg in self.spill)]
            self.frame = FrameLayout(self, spilled)
            self.frame_bytes = self.frame.size

    def emit_block_loop(self) -> None:
        """Blocks of [first, end); each runs rounds of its warps until none waits."""
        b, fn = self.b, self.fn
        b0, b1 = fn.args[1], fn.args[2]
        e = self.env
        b.store(b0, self.blk_a)
        # block coordinates: divided out once, then stepped (no divisions per block)
        gx, gy = e[abi.GX], e[abi.GY]
        self.cta_a = [entry_alloca(fn, I64, name=f"cta{c}") for c in "xyz"]
        for slot, v in zip(self.cta_a, (b.urem(b0, gx), b.urem(b.udiv(b0, gx), gy),
                                        b.udiv(b0, b.mul(gx, gy)))):
            b.store(v, slot)
        self.T = b.trunc(b.mul(b.mul(e[abi.BX], e[abi.BY]), e[abi.BZ]), I32)
        self.nwarps = b.udiv(b.add(self.T, ir.Constant(I32, self.W - 1)), ir.Constant(I32, self.W))
        head, body, done = (fn.append_basic_block(n) for n in ("block_head", "block_body", "done"))
        self.round_bb = fn.append_basic_block("round")
        self.warp_head_bb = fn.append_basic_block("warp_head")
        self.warp_enter_bb = fn.append_basic_block("warp_enter")
        self.warp_next_bb = fn.append_basic_block("warp_next")
        self.round_end_bb = fn.append_basic_block("round_end")
        self.next_block_bb = fn.append_basic_block("next_block")
        self.dispatch_bb = fn.append_basic_block("dispatch")
        self.fail_bb = fn.append_basic_block("fail")
        self.warp_done_bb = fn.append_basic_block("warp_done")
        self.yield_bb = fn.append_basic_block("warp_yield")
        b.branch(head)
        b.position_at_end(head)
        b.cbranch(b.icmp_signed("<", b.load(self.blk_a), b1), body, done)
        b.position_at_end(done)
        b.ret(ir.Constant(I32, 0))

        b.position_at_end(body)
        self.ctaid = [b.trunc(b.load(slot), I32) for slot in self.cta_a]
        self.memset(e[abi.SHARED], e[abi.SHARED_SIZE])
        if self.flat.has_barrier:
            self.memset(e[abi.BARSTATE],
                        b.add(ir.Constant(I64, abi.BAR_STATUS_BYTE), b.zext(self.nwarps, I64)))
            b.store(self.T, barriers.word(self, abi.BAR_LIVE))
        b.branch(self.round_bb)

        b.position_at_end(self.round_bb)
        sanitize.reset_races(self)
        b.store(ir.Constant(I32, 0), self.ws_a)
        b.store(ir.Constant(I32, 0), self.widx_a)
        b.store(ir.Constant(I1, 0), self.yielded_a)
        b.branch(self.warp_head_bb)

        b.position_at_end(self.warp_head_bb)
        b.cbranch(b.icmp_unsigned("<", b.load(self.ws_a), self.T), self.warp_enter_bb,
                  self.round_end_bb)

        b.position_at_end(self.warp_next_bb)
        b.store(b.add(b.load(self.ws_a), ir.Constant(I32, self.W)), self.ws_a)
        b.store(b.add(b.load(self.widx_a), ir.Constant(I32, 1)), self.widx_a)
        b.branch(self.warp_head_bb)

        self.emit_round_end()
        self.emit_next_block(head)

    def emit_round_end(self) -> None:
        b = self.b
        b.position_at_end(self.round_end_bb)
        if not self.flat.has_barrier:
            b.branch(self.next_block_bb)
            return
        release = self.fn.append_basic_block("release")
        stuck = self.fn.append_basic_block("deadlock")
        b.cbranch(b.load(self.yielded_a), release, self.next_block_bb)
        b.position_at_end(release)
        fn = barriers.release_helper(self, self.frame)
        got = b.call(fn, [self.barstate, b.inttoptr(self.env[abi.FRAMES], PTR8), self.nwarps,
                          ir.Constant(I64, self.frame_bytes)])
        b.cbranch(b.icmp_unsigned("!=", got, ir.Constant(I32, 0)), self.round_bb, stuck)
        b.position_at_end(stuck)
        fp = self.fault_ptr
        for slot, value in ((abi.F_REASON, ir.Constant(I64, abi.BARRIER_DEADLOCK)),
                            (abi.F_LANE, ir.Constant(I64, 0)), (abi.F_ADDR, ir.Constant(I64, -1)),
                            (abi.F_PC, b.zext(b.load(self.last_bar_a), I64)),
                            (abi.F_BLOCK, b.load(self.blk_a)), (abi.F_WARP, ir.Constant(I64, 0))):
            b.store(value, b.gep(fp, [ir.Constant(I32, slot)]))
        b.ret(ir.Constant(I32, 1))

    def emit_next_block(self, head: ir.Block) -> None:
        b = self.b
        gx, gy = self.env[abi.GX], self.env[abi.GY]
        b.position_at_end(self.next_block_bb)
        b.store(b.add(b.load(self.blk_a), ir.Constant(I64, 1)), self.blk_a)
        one, zero = ir.Constant(I64, 1), ir.Constant(I64, 0)
        x1 = b.add(b.load(self.cta_a[0]), one)
        wrap_x = b.icmp_unsigned(">=", x1, gx)
        y1 = b.select(wrap_x, b.add(b.load(self.cta_a[1]), one), b.load(self.cta_a[1]))
        wrap_y = b.icmp_unsigned(">=", y1, gy)
        b.store(b.select(wrap_x, zero, x1), self.cta_a[0])
        b.store(b.select(wrap_y, zero, y1), self.cta_a[1])
        b.store(b.select(wrap_y, b.add(b.load(self.cta_a[2]), one), b.load(self.cta_a[2])),
                self.cta_a[2])
        b.branch(head)

    def warp_status(self) -> ir.Value:
        b = self.b
        p = b.gep(b.bitcast(self.barstate, PTR8), [ir.Constant(I32, abi.BAR_STATUS_BYTE)])
        return b.gep(p, [b.load(self.widx_a)])

    def emit_warp_entry(self) -> None:
        """A warp starts (fresh) or resumes from its frame; its per-lane memory is pointed at."""
        b, L, W, e = self.b, self.lanes, self.W, self.env
        flat = self.flat
        b.position_at_end(self.warp_enter_bb)
        fresh = self.fn.append_basic_block("warp_fresh")
        resume = self.fn.append_basic_block("warp_resume")
        if flat.has_barrier:
            # parked and finished warps are skipped before anything is set up for them
            status = b.load(self.warp_status())
            go = self.fn.append_basic_block("warp_go")
            runs = b.or_(b.icmp_unsigned("==", status, ir.Constant(I8, abi.WARP_FRESH)),
                         b.icmp_unsigned("==", status, ir.Constant(I8, abi.WARP_READY)))
            runs = b.or_(runs, b.icmp_unsigned("==", status, ir.Constant(I8, abi.WARP_LANES)))
            b.cbranch(runs, go, self.warp_next_bb)
            b.position_at_end(go)
        widx = b.zext(b.load(self.widx_a), I64)
        for cur, whole, stride, size in ((abi.LOCAL, abi.LOCAL_ALL, abi.LOCAL_STRIDE, flat.prog.local_size),
                                         (abi.PARMEM, abi.PARMEM_ALL, abi.PARAM_STRIDE, flat.prog.param_size)):
            if not size:                # nothing there: no window to point at this warp's rows
                continue
            rows = b.mul(e[stride], ir.Constant(I64, W))
            b.store(b.add(e[whole], b.mul(widx, rows)), e.slot(cur))
        if self.returns.limit:
            rows = ir.Constant(I64, 4 * self.returns.limit * W)
            b.store(b.add(e[abi.CALLSTACK_ALL], b.mul(widx, rows)), e.slot(abi.CALLSTACK))
        tid = b.add(L.splat(b.load(self.ws_a)), L.iota())
        valid = b.icmp_unsigned("<", tid, L.splat(self.T))
        self.specials(tid)
        if flat.has_barrier:
            base = b.gep(b.inttoptr(e[abi.FRAMES], PTR8),
                         [b.mul(widx, ir.Constant(I64, self.frame_bytes))])
            b.store(base, self.frame_base_a)
            b.cbranch(b.icmp_unsigned("==", status, ir.Constant(I8, abi.WARP_FRESH)), fresh, resume)
            b.position_at_end(resume)
            b.store(ir.Constant(I1, 1), self.synced_a)
            self.forget_dead_registers(sorted(self.routes if self.routes is not None else self.leaders))
            self.emit_ready_resume(status, base)
            self.frame.restore(base)
            self.emit_remat()
            b.branch(self.dispatch_bb)
        else:
            b.branch(fresh)
            b.position_at_end(resume)
            b.unreachable()
        b.position_at_end(fresh)
        b.store(ir.Constant(I1, 0), self.synced_a)
        b.store(valid, self.alive_a)
        b.store(L.const(I1, 0), self.wait_a)
        b.store(L.const(I32, 0), self.which_a)
        b.store(L.const(I32, 0), self.pc_a)
        b.store(L.const(I32, 0), self.returns.depth)
        b.store(L.const(I32, 0), self.fp_a)
        for alloca, _stt, cls in self.regs.values():
            if cls == VECTOR:
                b.store(zeros(alloca.type.pointee), alloca)
        if flat.prog.local_size:
            self.memset(e[abi.LOCAL], b.mul(e[abi.LOCAL_STRIDE], ir.Constant(I64, W)))
        if flat.prog.param_size:
            self.memset(e[abi.PARMEM], b.mul(e[abi.PARAM_STRIDE], ir.Constant(I64, W)))
        # every live lane starts together at pc 0: no need to ask the dispatcher
        b.store(valid, self.grp_a)
        b.store(ir.Constant(I32, INF_PC), self.omin_a)
        b.branch(self.block(0))

    def plan_remat(self, trace: Trace) -> None:
        """Which registers live across barriers a resumed warp recomputes rather than
        keeps in its frame (remat.py); they leave the frame."""
        assert self.classes is not None and self.spill is not None
        scalars = {r for r, c in self.classes.items() if c == UNIFORM}
        self.remat_pcs = remat.recomputable(self.flat, trace, self.spill, scalars)
        self.remat_resumes = remat.resumes_after(self.flat, self.remat_pcs)
        written = {r for pc in self.remat_pcs for r in trace.writes.get(pc, ())}
        self.spill = self.spill - written

    def emit_remat(self) -> None:
        """Run the definitions `plan_remat` chose again, for the warp's live lanes."""
        if not self.remat_pcs:
            return
        alive = self.b.load(self.alive_a)
        saved = (self.pc, getattr(self, "item", None), getattr(self, "grp", None))
        self.grp = alive
        self.layouts.clear()
        self.in_remat = True
        for pc in self.remat_pcs:
            self.pc, self.item = pc, self.flat.code[pc]
            self.emit_instruction(self.item, alive)
        self.in_remat = False
        self.layouts.clear()
        self.pc, self.item, self.grp = saved

    def forget_dead_registers(self, targets: list[int]) -> None:
        """Forget (set to undef) the entry's vector registers that no lane reads at any of
        `targets` before writing them (where the dispatcher goes on: the kernel's start, the
        instructions after its barriers).  Every instruction writes its register under the
        group's mask, reading the old value, so without this each register would carry a
        value from where the dispatcher was entered (another warp's, around the loop over a
        block's warps) to every target: all of a kernel's registers live across that loop,
        spilled around its whole body (a 16x16 stencil's barrier cost a third of its time).
        Undef rather than zero: a zero is an instruction at each resume, and a kernel of
        many barriers (a bitonic sort) ran 2x slower for them."""
        if self.live is None:
            return
        b = self.b
        live = self.live.union(targets)
        entry = self.flat.kernel
        for (fname, reg), (alloca, _stt, cls) in self.regs.items():
            if cls == VECTOR and fname == entry and reg not in live:
                b.store(undef(alloca.type.pointee), alloca)

    def emit_exits(self) -> None:
        """Where a warp leaves the round: done, yielded at a barrier, or faulted."""
        b = self.b
        b.position_at_end(self.fail_bb)
        b.store(b.load(self.blk_a), b.gep(self.fault_ptr, [ir.Constant(I32, abi.F_BLOCK)]))
        b.store(b.zext(b.load(self.ws_a), I64),
                b.gep(self.fault_ptr, [ir.Constant(I32, abi.F_WARP)]))
        b.ret(ir.Constant(I32, 1))
        b.position_at_end(self.warp_done_bb)
        if self.flat.has_barrier:
            b.store(ir.Constant(I8, abi.WARP_DONE), self.warp_status())
        b.branch(self.warp_next_bb)
        self.emit_yield(self.yield_bb, ir.Constant(I8, abi.WARP_LANES))
        self.park_bb = self.fn.append_basic_block("warp_park")
        self.emit_yield(self.park_bb, None)

    def emit_yield(self, block: ir.Block, status: ir.Value | None) -> None:
        """The warp leaves the round: its frame is saved, its status set (None: the parked
        status the barrier left in park_status_a)."""
        b = self.b
        b.position_at_end(block)
        if self.flat.has_barrier:
            self.frame.save(b.load(self.frame_base_a))
            b.store(status if status is not None else b.load(self.park_status_a), self.warp_status())
            b.store(ir.Constant(I1, 1), self.yielded_a)
        b.branch(self.warp_next_bb)

    def emit_ready_resume(self, status: ir.Value, base: ir.Value) -> None:
        """A warp that parked whole at a barrier and was released (WARP_READY) resumes
        with every live lane at the instruction after it and none waiting: its counters
        and waiting lanes are set rather than read back, and it goes straight there with
        the dispatcher's converged answer (its targets: `park_at`).  Else (fresh lanes
        of a divergent warp) the whole frame comes back and the dispatcher picks."""
        b, L = self.b, self.lanes
        ready = self.fn.append_basic_block("warp_ready")
        other = self.fn.append_basic_block("warp_lanes")
        b.cbranch(b.icmp_unsigned("==", status, ir.Constant(I8, abi.WARP_READY)), ready, other)
        b.position_at_end(ready)
        self.frame.restore(base, skip=(self.pc_a, self.wait_a))
        self.emit_remat()
        at = b.load(self.frame.resume_ptr(base))
        b.store(L.splat(at), self.pc_a)
        b.store(L.const(I1, 0), self.wait_a)
        b.store(b.load(self.alive_a), self.grp_a)
        b.store(ir.Constant(I32, INF_PC), self.omin_a)
        self.ready_switch = b.switch(at, self.dispatch_bb)
        self.ready_cases: set[int] = set()
        b.position_at_end(other)

    def park_at(self, pc: int, status: ir.Value) -> None:
        """A converged warp parks at the barrier at `pc` with `status`.  Once it has
        resumed from its frame, only the scheduling state and the registers written since
        (`dirty`) differ from what the frame holds; its first yield saves everything."""
        b = self.b
        b.store(status, self.park_status_a)
        b.store(ir.Constant(I32, pc + 1), self.frame.resume_ptr(b.load(self.frame_base_a)))
        self.add_resume_case(pc)
        changed = self.changed_since_resume(pc)
        if changed is None:
            b.branch(self.park_bb)
            return
        only = self.fn.append_basic_block(f"park_changed{pc}")
        b.cbranch(b.load(self.synced_a), only, self.park_bb)
        b.position_at_end(only)
        self.frame.save(b.load(self.frame_base_a), self.register_slots(pc, changed),
                        skip=(self.pc_a, self.wait_a))
        b.store(status, self.warp_status())
        b.store(ir.Constant(I1, 1), self.yielded_a)
        b.branch(self.warp_next_bb)

    def add_resume_case(self, pc: int) -> None:
        """A warp released whole from the barrier at `pc` goes straight past it."""
        targets = self.routes if self.routes is not None else self.leaders
        if pc + 1 in targets and pc + 1 not in self.ready_cases:
            self.ready_cases.add(pc + 1)
            self.ready_switch.add_case(ir.Constant(I32, pc + 1), self.block(pc + 1))

    def changed_since_resume(self, pc: int) -> frozenset[str] | None:
        """Registers written since the warp last resumed, at the barrier at `pc` (None: not known)."""
        return self.dirty.get(pc) if self.dirty is not None else None

    def register_slots(self, pc: int, names: frozenset[str]) -> set[ir.AllocaInstr]:
        """The slots of registers `names` of the function of `pc`."""
        fn = self.flat.code[pc].fn.name
        return {self.regs[(fn, r)][0] for r in names if (fn, r) in self.regs}

    def memset(self, ptr_int: ir.Value, n: ir.Value, value: int = 0) -> None:
        fn = self.lanes.intrinsic("llvm.memset.p0i8.i64", ir.VoidType(), [PTR8, I8, I64, I1])
        self.b.call(fn, [self.b.inttoptr(ptr_int, PTR8), ir.Constant(I8, value), n,
                         ir.Constant(I1, 0)])

    def find_leaders(self) -> set[int]:
        flat = self.flat
        leaders = {0} | set(flat.func_pc.values())
        for pc, item in enumerate(flat.code):
            if item.kind == "ins":
                base = form_of(item.ins).base
                if base == "brx":
                    leaders.update(brx_targets(flat, item))
                elif base == "bra":
                    ops = item.ins.operands
                    if not ops or ops[0][0] != "sym":
                        raise JitUnsupported("unsupported branch form")
                    key = (item.fn.name, ops[0][1])
                    if key not in flat.labels:
                        raise JitUnsupported(f"branch to unknown label {ops[0][1]}")
                    leaders.add(flat.labels[key])
                if base in ("bar", "barrier"):
                    leaders.add(pc)
            if is_control(item) or item.kind == "copyback":
                leaders.add(pc + 1)    # lanes a guarded call leaves out resume after its copy-back
        return {pc for pc in leaders if pc < len(flat.code)}

    def specials(self, tid: ir.Value) -> None:
        b, L = self.b, self.lanes
        e = self.env
        bx, by, bz = (b.trunc(e[i], I32) for i in (abi.BX, abi.BY, abi.BZ))
        sp: dict[str, ir.Value] = {}
        # thread coordinates: the launcher's table, no divisions per warp
        rows = b.bitcast(b.inttoptr(e[abi.THREAD_IDS], PTR8), ir.PointerType(L.vt(I32)))
        first = b.mul(b.load(self.widx_a), ir.Constant(I32, 3))
        sp["%tid.x"], sp["%tid.y"], sp["%tid.z"] = (
            b.load(b.gep(rows, [b.add(first, ir.Constant(I32, c))]), align=4) for c in range(3))
        sp["%ntid.x"], sp["%ntid.y"], sp["%ntid.z"] = L.splat(bx), L.splat(by), L.splat(bz)
        for i, c in enumerate("xyz"):
            sp[f"%ctaid.{c}"] = L.splat(self.ctaid[i])
            sp[f"%nctaid.{c}"] = L.splat(b.trunc(e[abi.GX + i], I32))
        lane = b.and_(tid, L.const(I32, 31))
        sp["%laneid"] = lane
        sp["%warpid"] = b.lshr(tid, L.const(I32, 5))
        sp["%nwarpid"] = L.splat(b.lshr(b.add(self.T, ir.Constant(I32, 31)), ir.Constant(I32, 5)))
        nsm = sm_count()
        sp["%smid"] = L.splat(b.trunc(b.urem(b.load(self.blk_a), ir.Constant(I64, nsm)), I32))
        sp["%nsmid"] = L.const(I32, nsm)
        sp["%gridid"] = L.const(I64, 0)
        one = L.const(I32, 1)
        eq = b.shl(one, lane)
        sp["%lanemask_eq"] = eq
        sp["%lanemask_lt"] = b.sub(eq, one)
        le = b.sub(b.shl(b.zext(one, L.vt(I64)), b.zext(b.add(lane, one), L.vt(I64))),
                   L.const(I64, 1))
        sp["%lanemask_le"] = b.trunc(le, L.vt(I32))
        sp["%lanemask_gt"] = b.not_(sp["%lanemask_le"])
        sp["%lanemask_ge"] = b.not_(sp["%lanemask_lt"])
        sp["%dynamic_smem_size"] = L.splat(b.trunc(e[abi.DYN_SHARED], I32))
        sp["%total_smem_size"] = L.splat(b.trunc(e[abi.SHARED_SIZE], I32))
        # environment registers: a cooperative launch's grid-barrier word, high and low half
        for i in range(32):
            sp[f"%envreg{i}"] = L.const(I32, 0)
        sp["%envreg1"] = L.splat(b.trunc(b.lshr(e[abi.GRID_SYNC], ir.Constant(I64, 32)), I32))
        sp["%envreg2"] = L.splat(b.trunc(e[abi.GRID_SYNC], I32))
        self.special_values = sp
        self.tid_linear = tid

    # ------------------------------------------------------------------ dispatcher
    def emit_dispatch(self) -> None:
        b, L = self.b, self.lanes
        b.position_at_end(self.dispatch_bb)
        pc = b.load(self.pc_a)
        alive = b.load(self.alive_a)
        waiting = b.load(self.wait_a)
        runnable = b.and_(alive, b.not_(waiting))
        have = L.any(runnable)
        pick = self.fn.append_basic_block("pick")
        idle = self.fn.append_basic_block("idle")
        b.cbranch(have, pick, idle)
        b.position_at_end(idle)
        # nothing runnable: every live lane waits at a barrier (the warp yields) or has exited
        b.cbranch(L.any(waiting), self.yield_bb, self.warp_done_bb)
        b.position_at_end(pick)
        cur_a = entry_alloca(self.fn, I32, name="cur")
        route = self.fn.append_basic_block("route")
        if self.W <= 64:
            # converged lanes (the usual case): the first runnable lane's counter is everyone's,
            # found with a bit scan instead of two lane reductions
            wide = ir.IntType(self.W)
            bits = b.bitcast(runnable, wide)
            cttz = L.intrinsic(f"llvm.cttz.i{self.W}", wide, [wide, I1])
            first = b.call(cttz, [bits, ir.Constant(I1, 1)])
            idx = first if self.W == 32 else (b.trunc(first, I32) if self.W > 32 else b.zext(first, I32))
            cur0 = b.extract_element(pc, idx)
            stray = b.and_(runnable, b.icmp_unsigned("!=", pc, L.splat(cur0)))
            conv = self.fn.append_basic_block("pick_converged")
            general = self.fn.append_basic_block("pick_general")
            b.cbranch(L.any(stray), general, conv)
            b.position_at_end(conv)
            b.store(runnable, self.grp_a)
            b.store(ir.Constant(I32, INF_PC), self.omin_a)
            b.store(cur0, cur_a)
            b.branch(route)
            b.position_at_end(general)
        inf = L.const(I32, INF_PC)
        cur = L.umin(b.select(runnable, pc, inf))
        grp = b.and_(runnable, b.icmp_unsigned("==", pc, L.splat(cur)))
        b.store(grp, self.grp_a)
        rest = b.and_(runnable, b.not_(grp))
        b.store(L.umin(b.select(rest, pc, inf)), self.omin_a)
        b.store(cur, cur_a)
        b.branch(route)
        b.position_at_end(route)
        cur = b.load(cur_a)
        self.forget_dead_registers(sorted(self.routes if self.routes is not None else self.leaders))
        bad = self.fn.append_basic_block("bad_pc")
        sw = b.switch(cur, bad)
        for pc_value in sorted(self.routes if self.routes is not None else self.leaders):
            sw.add_case(ir.Constant(I32, pc_value), self.remat_entry(pc_value)
                        if pc_value in self.remat_resumes else self.block(pc_value))
        b.position_at_end(bad)
        b.ret(ir.Constant(I32, 2))

    def remat_entry(self, pc: int) -> ir.Block:
        """A block that recomputes the rematerialised registers, then goes on at the
        resume point `pc`: the dispatcher's way there.  Lanes reach `pc` only released
        from its barrier, after a resume that recomputed them already; going through it
        tells the optimiser so, and their values from before the barrier die at it
        instead of staying live (in spilled vector registers) through all the code
        before it."""
        b = self.b
        block = self.fn.append_basic_block(f"remat_at{pc}")
        here = b.block
        b.position_at_end(block)
        self.emit_remat()
        b.branch(self.block(pc))
        b.position_at_end(here)
        return block

    def goto(self, target: int, grp: ir.Value) -> None:
        """Continue the group at `target`, or hand it to the dispatcher if others wait below."""
        b = self.b
        if target >= len(self.flat.code):
            raise JitUnsupported("control runs off the end of the code")
        if self.routes is not None:
            b.branch(self.block(target))    # a warp's lanes never part: no one waits below
            return
        flush = self.fn.append_basic_block(f"flush{target}")
        omin = b.load(self.omin_a)
        b.cbranch(b.icmp_unsigned(">=", ir.Constant(I32, target), omin), flush, self.block(target))
        b.position_at_end(flush)
        pc = b.load(self.pc_a)
        b.store(b.select(grp, self.lanes.const(I32, target), pc), self.pc_a)
        b.branch(self.dispatch_bb)

    def set_pc(self, mask: ir.Value, value: int | ir.Value) -> None:
        b = self.b
        v = self.lanes.const(I32, value) if isinstance(value, int) else value
        b.store(b.select(mask, v, b.load(self.pc_a)), self.pc_a)

    def fault_if(self, bad: ir.Value, reason: int, addr: ir.Value, pc: int) -> None:
        """Fault on the first lane of `bad`, if any; otherwise go on here."""
        b = self.b
        faultb = self.fn.append_basic_block(f"fault{pc}")
        okb = self.fn.append_basic_block(f"ok{pc}")
        b.cbranch(self.lanes.any(bad), faultb, okb)
        b.position_at_end(faultb)
        self.fault_here(reason, self.lanes.first_lane(bad), addr, pc)
        b.position_at_end(okb)

    def fault_here(self, reason: int, lane: ir.Value, addr: ir.Value | None,
                   pc: int | ir.Value) -> None:
        b = self.b
        fp = self.fault_ptr
        b.store(ir.Constant(I64, reason), b.gep(fp, [ir.Constant(I32, abi.F_REASON)]))
        b.store(b.zext(lane, I64), b.gep(fp, [ir.Constant(I32, abi.F_LANE)]))
        b.store(addr if addr is not None else ir.Constant(I64, -1),
                b.gep(fp, [ir.Constant(I32, abi.F_ADDR)]))
        b.store(ir.Constant(I64, pc) if isinstance(pc, int) else b.zext(pc, I64),
                b.gep(fp, [ir.Constant(I32, abi.F_PC)]))
        b.branch(self.fail_bb)

    # ------------------------------------------------------------------ code ranges
    def emit_range(self, start: int, end: int) -> None:
        b = self.b
        b.position_at_end(self.bbs[start])
        grp = b.load(self.grp_a)
        self.grp = grp
        self.layouts.clear()            # made elsewhere: they need not dominate this block
        for pc in range(start, end):
            item = self.flat.code[pc]
            self.pc = pc
            self.item = item
            if item.kind != "ins":
                self.layouts.clear()
            if is_control(item):
                self.emit_control(item, pc, grp)
                return
            if item.kind == "copyback":
                calls.emit_copyback(self, item, grp)
            elif item.kind == "barred":
                barriers.emit_red_result(self, item, grp)
            else:
                self.emit_instruction(item, grp)
        self.goto(end, grp)

    def guard_mask(self, item: Item, grp: ir.Value) -> ir.Value:
        ins = item.ins
        if ins is None or ins.guard is None:
            return grp
        gname, neg = ins.guard
        if item.fn.regs.get(gname) != "pred":
            raise JitUnsupported(f"guard {gname} is not a predicate")
        g = self.read(("reg", gname), "pred", item)
        if neg:
            g = self.b.not_(g)
        return self.b.and_(grp, g)

    def emit_control(self, item: Item, pc: int, grp: ir.Value) -> None:
        b, L = self.b, self.lanes
        if item.kind == "end":
            self.emit_exit_or_ret(item.fn, item.fn.is_entry, pc, grp, grp, guarded=False)
            return
        ins = item.ins
        base = form_of(ins).base
        eff = self.guard_mask(item, grp)
        guarded = ins.guard is not None
        if base in ("bar", "barrier"):
            barriers.emit_barrier(self, item, pc, grp, eff, guarded)
            return
        if base == "bra":
            target = self.flat.labels[(item.fn.name, ins.operands[0][1])]
            if not guarded:
                self.goto(target, grp)
                return
            allb = self.fn.append_basic_block(f"bra_all{pc}")
            notall = self.fn.append_basic_block(f"bra_some{pc}")
            # every group lane takes it <=> no lane of grp lacks the guard
            lacking = b.and_(grp, b.not_(eff))
            b.cbranch(L.any(lacking), notall, allb)
            b.position_at_end(allb)
            self.goto(target, grp)
            b.position_at_end(notall)
            end = ifconvert.region_end(self, pc, target)
            if end is not None:
                # some lanes run the region (all of them when none branch): one masked
                # copy serves both, rather than the plain code beside a masked copy
                ifconvert.emit_region(self, pc, target, end, grp, eff)
                return
            noneb = self.fn.append_basic_block(f"bra_none{pc}")
            split = self.fn.append_basic_block(f"bra_split{pc}")
            b.cbranch(L.any(eff), split, noneb)
            b.position_at_end(noneb)
            self.goto(pc + 1, grp)
            b.position_at_end(split)
            self.set_pc(grp, pc + 1)
            self.set_pc(eff, target)
            b.branch(self.dispatch_bb)
            return
        if base == "brx":
            self.emit_partial(pc, grp, eff, guarded, lambda: self.emit_brx(item, pc, grp, eff, guarded))
            return
        if base in ("ret", "exit"):
            self.emit_exit_or_ret(item.fn, item.fn.is_entry or base == "exit", pc, grp, eff, guarded)
            return
        if base in ("trap", "brkpt"):
            self.emit_partial(pc, grp, eff, guarded, lambda: self.fault_here(
                abi.TRAP, L.first_lane(eff), None, pc))
            return
        if base == "call":
            if printf.is_printf(item):
                if guarded:
                    self.fall_through_if_no_lane(pc, grp, eff)
                printf.emit_printf(self, item, eff)
                self.goto(pc + 1, grp)
            else:
                calls.emit_call(self, item, pc, grp, eff, guarded)
            return
        raise JitUnsupported(f"unsupported control instruction {ins.opcode}")

    def emit_brx(self, item: Item, pc: int, grp: ir.Value, eff: ir.Value, guarded: bool) -> None:
        """brx.idx: each lane to the target its index picks from the list."""
        b, L = self.b, self.lanes
        targets = brx_targets(self.flat, item)
        idx = self.read(item.ins.operands[0], "u32", item)
        bad = b.and_(eff, b.icmp_unsigned(">=", idx, L.const(I32, len(targets))))
        first = L.umin(b.select(bad, L.iota(), L.const(I32, self.W)))
        lane = b.select(b.icmp_unsigned("<", first, ir.Constant(I32, self.W)), first,
                        ir.Constant(I32, 0))
        self.fault_if(bad, abi.BRX_RANGE, b.zext(b.extract_element(idx, lane), I64), pc)
        if guarded:
            self.set_pc(grp, pc + 1)
        pcv = b.load(self.pc_a)
        for i, target in enumerate(targets):
            pcv = b.select(b.and_(eff, b.icmp_unsigned("==", idx, L.const(I32, i))),
                           L.const(I32, target), pcv)
        b.store(pcv, self.pc_a)
        b.branch(self.dispatch_bb)

    def emit_partial(self, pc: int, grp: ir.Value, eff: ir.Value, guarded: bool,
                     action: Any) -> None:
        """Run `action` unless the guard leaves no lane (then fall through)."""
        if guarded:
            self.fall_through_if_no_lane(pc, grp, eff)
        action()

    def fall_through_if_no_lane(self, pc: int, grp: ir.Value, eff: ir.Value) -> None:
        """A guarded control instruction no lane takes: the group goes on at pc + 1."""
        b = self.b
        some = self.fn.append_basic_block(f"some{pc}")
        noneb = self.fn.append_basic_block(f"none{pc}")
        b.cbranch(self.lanes.any(eff), some, noneb)
        b.position_at_end(noneb)
        self.goto(pc + 1, grp)
        b.position_at_end(some)

    def emit_exit_or_ret(self, fn: Any, is_exit: bool, pc: int, grp: ir.Value, eff: ir.Value,
                         guarded: bool) -> None:
        b, L = self.b, self.lanes

        def act() -> None:
            if guarded:
                self.set_pc(grp, pc + 1)
            if is_exit:
                alive = b.load(self.alive_a)
                barriers.lanes_leave(self, b.and_(alive, eff))
                b.store(b.and_(alive, b.not_(eff)), self.alive_a)
            else:
                calls.emit_return_values(self, fn, eff)
                neg = self.returns.pop(eff)
                alive = b.load(self.alive_a)
                barriers.lanes_leave(self, b.and_(alive, neg))
                b.store(b.and_(alive, b.not_(neg)), self.alive_a)
            b.branch(self.dispatch_bb)
        self.emit_partial(pc, grp, eff, guarded, act)

    # ------------------------------------------------------------------ calls
    def param_ref(self, item: Item, op: tuple, extra: int = 0) -> tuple[int, int, str]:
        if op[0] != "sym":
            raise JitUnsupported("param operand is not a parameter name")
        ref = self.flat.var(item.fn, op[1])
        if ref.space not in ("kparam", "pparam"):
            raise JitUnsupported(f"{op[1]} is not a parameter")
        return ref.offset + extra, ref.size, ref.space

    # ------------------------------------------------------------------ instructions
    def emit_instruction(self, item: Item, grp: ir.Value) -> None:
        from . import alu, memops
        ins = item.ins
        form = form_of(ins)
        if form.noop:
            return
        eff = self.guard_mask(item, grp)
        base = form.base
        if base in alu.BUILDERS:
            alu.BUILDERS[base](self, item, form, eff)
        elif base in memops.BUILDERS:
            memops.BUILDERS[base](self, item, form, eff)
        else:
            raise JitUnsupported(f"instruction {ins.opcode}")

    # ------------------------------------------------------------------ operands
    def reg_slot(self, item: Item, name: str) -> tuple[ir.AllocaInstr, str, str]:
        slot = self.regs.get((item.fn.name, name))
        if slot is None:
            raise JitUnsupported(f"undeclared register {name}")
        return slot

    def read(self, op: tuple, t: str, item: Item) -> ir.Value:
        """Operand `op` as a lane vector of PTX type t."""
        b, L = self.b, self.lanes
        if t not in TYPES or t in ("f16", "bf16", "b128"):
            raise JitUnsupported(f"operand type .{t}")
        kind = op[0]
        if kind == "reg":
            name = op[1]
            if name in item.fn.regs:
                alloca, stt, cls = self.reg_slot(item, name)
                self.trace.read(self.pc, name)
                raw = b.load(alloca)
                return self.convert_read(L.splat(raw) if cls == UNIFORM else raw, stt, t)
            if is_special(name):
                self.trace.read(self.pc, name)
                v = self.special_values.get(name)
                if v is None and name in CLOCKS:
                    v = clocks.read(self, name)
                if v is None:
                    raise JitUnsupported(f"special register {name}")
                src = "u64" if name in SPECIAL_64 else "u32"
                return self.convert_read(v, src, t)
            raise JitUnsupported(f"undeclared register {name}")
        if kind in ("imm", "fimm", "fval"):
            try:
                value = imm_value(op, t, item.ins.line)
            except Exception as exc:
                raise JitUnsupported(f"immediate: {exc}") from None
            if t == "pred":
                return L.const(I1, int(bool(value)))
            bits = int(value.view(f"u{width_of(t)}")) if hasattr(value, "view") else int(value)
            return L.iconst_bits(t, bits)
        if kind == "sym":
            return self.sym_address(item, op[1], op[2], t)
        if kind == "not":
            return b.not_(self.read(op[1], "pred", item))
        raise JitUnsupported(f"operand {kind}")

    def sym_address(self, item: Item, name: str, extra: int, t: str) -> ir.Value:
        b, L = self.b, self.lanes
        w = width_of(t)
        if t == "pred" or t in ("f32", "f64"):
            raise JitUnsupported("symbol address as a non-integer")
        prog = self.flat.prog
        if ((item.fn.name, name) not in prog.vars and name not in prog.module_shared
                and name not in prog.globals and name in prog.all_functions):
            address = prog.module.function_address(name) + extra
            return L.const(INT[w], address & ((1 << (8 * w)) - 1))
        ref = self.flat.var(item.fn, name)
        if ref.space == "local" and not ref.entry:
            # a callee's frame moves with each lane's call depth
            v = b.add(calls.frame_pointer(self), L.const(I64, ref.offset + extra))
            return v if w == 8 else b.trunc(v, L.vt(INT[w]))
        if ref.space == "global":
            v = b.add(self.env[abi.GLOBALS], ir.Constant(I64, (ref.offset + extra) & (2**64 - 1)))
            v = L.splat(v)
            return v if w == 8 else b.trunc(v, L.vt(INT[w]))
        if ref.space in ("shared", "local", "kparam"):
            # kparam: an offset in the kernel's parameter space (ld.param through a register)
            return L.const(INT[w], (ref.offset + extra) & ((1 << (8 * w)) - 1))
        raise JitUnsupported(f"taking the address of {name} ({ref.space})")

    def write(self, op: tuple, t: str, value: ir.Value, item: Item, mask: ir.Value) -> None:
        b = self.b
        if op[0] == "sink":
            return
        if op[0] != "reg" or op[1] not in item.fn.regs:
            raise JitUnsupported(f"destination {op!r}")
        alloca, stt, cls = self.reg_slot(item, op[1])
        self.trace.write(self.pc, op[1])
        self.layouts.forget((item.fn.name, op[1]))
        raw = self.convert_write(value, t, stt)
        if cls == UNIFORM:
            b.store(b.extract_element(raw, ir.Constant(I32, 0)), alloca)
        elif cls == TEMP or self.writes_whole(mask, op[1]):
            b.store(raw, alloca)
        else:
            b.store(b.select(mask, raw, b.load(alloca)), alloca)
        self.layouts.define(self, (item.fn.name, op[1]), self.pc, item)

    def writes_whole(self, mask: ir.Value, name: str) -> bool:
        """Whether a write under `mask` may set every lane of register `name`: the mask is
        the group's own where a warp's lanes never part (`routes`), so it holds every live
        lane, and the lanes outside it have exited or never started; nothing reads their
        registers again but a shuffle from another lane, and no shuffle reads `name`.
        Without the old value to keep, the register is not live into the write."""
        return (mask is self.grp and self.routes is not None and self.cross is not None
                and name not in self.cross)

    # raw-bit conversions, mirroring the interpreter's convert_read / convert_write
    def as_int(self, v: ir.Value) -> ir.Value:
        el = v.type.element
        if isinstance(el, ir.FloatType):
            return self.b.bitcast(v, self.lanes.vt(I32))
        if isinstance(el, ir.DoubleType):
            return self.b.bitcast(v, self.lanes.vt(I64))
        return v

    def from_int(self, v: ir.Value, t: str) -> ir.Value:
        if t in ("f32", "f64"):
            return self.b.bitcast(v, self.lanes.vty(t))
        return v

    def convert_read(self, raw: ir.Value, stt: str, t: str) -> ir.Value:
        b, L = self.b, self.lanes
        if stt == t:
            return raw
        if t == "pred":
            return b.icmp_unsigned("!=", raw, zeros(raw.type))
        if stt == "pred":
            if t in ("f32", "f64"):
                return b.uitofp(raw, L.vty(t))
            return b.zext(raw, L.vty(t))
        sw, tw = width_of(stt), width_of(t)
        if sw == tw:
            return self.from_int(raw, t)
        if sw > tw:
            return self.from_int(b.trunc(raw, L.vt(INT[tw])), t)
        if t[0] == "s":
            return b.sext(raw, L.vt(INT[tw]))
        return self.from_int(b.zext(raw, L.vt(INT[tw])), t)

    def convert_write(self, value: ir.Value, t: str, stt: str) -> ir.Value:
        b, L = self.b, self.lanes
        if stt == "pred":
            if t == "pred":
                return value
            if t in ("f32", "f64"):
                return b.fcmp_unordered("une", value, zeros(value.type))
            return b.icmp_unsigned("!=", value, zeros(value.type))
        if t == "pred":
            return b.zext(value, L.vty(stt))
        v = self.as_int(value)
        sw, tw = width_of(stt), width_of(t)
        if sw == tw:
            return v
        if tw < sw:
            return b.sext(v, L.vty(stt)) if t[0] == "s" else b.zext(v, L.vty(stt))
        return b.trunc(v, L.vty(stt))


__all__ = ["KernelCompiler", "SIZE", "F32", "F64", "scalar_type", "LOCAL_WINDOW",
           "SHARED_WINDOW"]
