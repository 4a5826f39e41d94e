"""Memory instructions: ld/st (scalar and .v2/.v4) in every state space, cvta, isspacep.

Fast path: all W lanes active and their addresses consecutive (stride = access size) ->
one vector load/store after checking the first and last page.  Anything else goes to a
per-lane helper that reproduces the interpreter's checks and fault order.
"""
from __future__ import annotations

from typing import Any, Callable

from llvmlite import ir

from ..ptx.memory import (LOCAL_TAG, LOCAL_WINDOW, PARAM_TAG, PARAM_WINDOW, SHARED_TAG, SHARED_WINDOW,
                          WINDOW_SHIFT)
from ..ptx.form import Form
from . import abi, atomics, quickcall
from .errors import JitUnsupported
from .lanes import (I1, I8, I32, I64, INT, PTR8, Lanes, call_intrinsic, entry_alloca, finish_entry, start_function, undef,
                    width_of)
from .lanewise import (PARAM_CLASS, lane_addresses, lane_class, loop, mask_array, param_check,
                       store_fault, window_check, window_host, xlate_helper)
from .accesslib import access_helper_name
from .layout import Item
from .layouts import address_register, layout_ok
from .sanitize import emit_check

def _type(item: Item, f: Form) -> str:
    if not f.types:
        raise JitUnsupported(f"{item.ins.opcode}: missing type")
    t = f.types[-1]
    t = {"f16": "b16", "bf16": "b16"}.get(t, t)
    if t in ("b128", "pred"):
        raise JitUnsupported(f"{item.ins.opcode}: .{t}")
    return t


SPACE_CODE = {"global": abi.GLOBAL, "shared": abi.SHARED_SP, "local": abi.LOCAL_SP,
              "generic": abi.GENERIC}


# ---------------------------------------------------------------- helpers in IR

def slow_helper(kc: Any, store: bool, space: int, w: int, align: int) -> ir.Function:
    """i32 f(env, addrs*, vals*, mask*, pc): one component of ld/st for W lanes, lane by lane.

    Check order follows the interpreter: global lanes (vector alignment, item alignment,
    backing), then shared lanes, then local lanes; each group is checked, then performed.
    Returns 0, or 1 with the fault record filled.
    """
    key = f"mem_{'st' if store else 'ld'}_{space}_{w}_{align}"
    fn = kc.helpers.get(key)
    if fn is not None:
        return fn
    W = kc.W
    xl = xlate_helper(kc)
    arr64 = ir.PointerType(ir.ArrayType(I64, W))
    fty = ir.FunctionType(I32, [ir.PointerType(I64), arr64, arr64,
                                ir.PointerType(ir.ArrayType(I8, W)), I64])
    fn = ir.Function(kc.m, fty, name=key)
    fn.linkage = "internal"
    kc.helpers[key] = fn
    env, addrs, vals, mask, pc = fn.args
    b = start_function(fn)
    ity = INT[w]
    ptr = ir.PointerType(ity)

    def slot(i: int) -> ir.Value:
        return b.load(b.gep(env, [ir.Constant(I32, i)]))
    fault_rec = b.inttoptr(slot(abi.FAULT), ir.PointerType(I64))

    def lane_addr(bb: ir.IRBuilder, i: ir.Value) -> ir.Value:
        return bb.load(bb.gep(addrs, [ir.Constant(I32, 0), i]))

    def lane_on(bb: ir.IRBuilder, i: ir.Value) -> ir.Value:
        return bb.icmp_unsigned("!=", bb.load(bb.gep(mask, [ir.Constant(I32, 0), i])),
                                ir.Constant(I8, 0))

    def fault(bb: ir.IRBuilder, reason: int | ir.Value, lane: ir.Value, addr: ir.Value) -> None:
        store_fault(bb, fault_rec, reason, lane, addr, pc)

    def checked(tag: str, cls: int, test: Callable[[ir.IRBuilder, ir.Value, ir.Value], tuple]) -> None:
        """Fault on the first active lane of class `cls` for which test gives bad=True."""
        def body(bb: ir.IRBuilder, i: ir.Value) -> None:
            a = lane_addr(bb, i)
            sel = bb.and_(lane_on(bb, i), bb.icmp_unsigned("==", lane_class(bb, a, space, True),
                                                         ir.Constant(I32, cls)))
            bad, reason, faddr = test(bb, a, i)
            badb = fn.append_basic_block(f"{tag}_bad")
            okb = fn.append_basic_block(f"{tag}_ok")
            bb.cbranch(bb.and_(sel, bad), badb, okb)
            bb.position_at_end(badb)
            fault(bb, reason, i, faddr)
            bb.position_at_end(okb)
        loop(fn, b, W, body, tag)

    def perform(tag: str, cls: int, host: Callable[[ir.IRBuilder, ir.Value, ir.Value], ir.Value]) -> None:
        def body(bb: ir.IRBuilder, i: ir.Value) -> None:
            a = lane_addr(bb, i)
            sel = bb.and_(lane_on(bb, i), bb.icmp_unsigned("==", lane_class(bb, a, space, True),
                                                         ir.Constant(I32, cls)))
            do = fn.append_basic_block(f"{tag}_do")
            skip = fn.append_basic_block(f"{tag}_skip")
            bb.cbranch(sel, do, skip)
            bb.position_at_end(do)
            p = bb.inttoptr(host(bb, a, i), ptr)
            vp = bb.gep(vals, [ir.Constant(I32, 0), i])
            if store:
                bb.store(bb.trunc(bb.load(vp), ity) if w < 8 else bb.load(vp), p, align=w)
            else:
                v = bb.load(p, align=w)
                bb.store(bb.zext(v, I64) if w < 8 else v, vp)
            bb.branch(skip)
            bb.position_at_end(skip)
        loop(fn, b, W, body, tag)

    if space == abi.GENERIC:
        # the parameter window first, as the interpreter serves it (access._split)
        if store:
            checked("pst", PARAM_CLASS, lambda bb, a, i: (ir.Constant(I1, 1), abi.PARAM_STORE, a))
        else:
            nparams = slot(abi.NPARAMS)
            params = slot(abi.PARAMS)
            window = ir.Constant(I64, PARAM_WINDOW)
            checked("pchk", PARAM_CLASS, lambda bb, a, i: param_check(bb, bb.sub(a, window), nparams, w))
            perform("pdo", PARAM_CLASS, lambda bb, a, i: bb.add(params, bb.sub(a, window)))
    if space in (abi.GLOBAL, abi.GENERIC):
        if align > w:
            checked("gva", abi.GLOBAL, lambda bb, a, i: (
                bb.icmp_unsigned("!=", bb.and_(a, ir.Constant(I64, align - 1)), ir.Constant(I64, 0)),
                abi.MISALIGNED_VECTOR, a))
        if w > 1:
            checked("gal", abi.GLOBAL, lambda bb, a, i: (
                bb.icmp_unsigned("!=", bb.and_(a, ir.Constant(I64, w - 1)), ir.Constant(I64, 0)),
                abi.MISALIGNED_GLOBAL, a))
        checked("gbk", abi.GLOBAL, lambda bb, a, i: (
            bb.icmp_unsigned("==", bb.call(xl, [env, a, ir.Constant(I64, w)]), ir.Constant(I64, 0)),
            abi.UNBACKED, a))
        perform("gdo", abi.GLOBAL, lambda bb, a, i: bb.call(xl, [env, a, ir.Constant(I64, w)]))
    for cls, window, base_slot, size_slot in ((abi.SHARED_SP, SHARED_WINDOW, abi.SHARED, abi.SHARED_SIZE),
                                              (abi.LOCAL_SP, LOCAL_WINDOW, abi.LOCAL, abi.LOCAL_STRIDE)):
        if space not in (cls, abi.GENERIC):
            continue
        size = slot(size_slot)
        region = slot(base_slot)
        al = max(w, align)
        sub = space == abi.GENERIC

        def off_of(bb: ir.IRBuilder, a: ir.Value, window: int = window, sub: bool = sub) -> ir.Value:
            return bb.sub(a, ir.Constant(I64, window)) if sub else a

        def test(bb: ir.IRBuilder, a: ir.Value, i: ir.Value, window: int = window,
                 size: ir.Value = size, off_of: Callable = off_of, al: int = al,
                 cls: int = cls) -> tuple:
            return window_check(bb, off_of(bb, a), size, w, al, cls, window)

        def host(bb: ir.IRBuilder, a: ir.Value, i: ir.Value, cls: int = cls, region: ir.Value = region,
                 size: ir.Value = size, off_of: Callable = off_of) -> ir.Value:
            return window_host(bb, off_of(bb, a), i, cls, region, size)
        tag = "sh" if cls == abi.SHARED_SP else "lo"
        checked(f"{tag}chk", cls, test)
        perform(f"{tag}do", cls, host)
    b.ret(ir.Constant(I32, 0))
    finish_entry(fn)
    return fn


def lane_copy_helper(kc: Any) -> ir.Function:
    """void f(i8* base, i64 stride, i64 src, i64 dst, i64 n, [W x i8]* mask): per-lane memmove."""
    fn = kc.helpers.get("lane_copy")
    if fn is not None:
        return fn
    W = kc.W
    fty = ir.FunctionType(ir.VoidType(), [PTR8, I64, I64, I64, I64, ir.PointerType(ir.ArrayType(I8, W))])
    fn = ir.Function(kc.m, fty, name="lane_copy")
    fn.linkage = "internal"
    kc.helpers["lane_copy"] = fn
    base, stride, src, dst, n, mask = fn.args
    b = start_function(fn)
    mv = kc.lanes.intrinsic("llvm.memmove.p0i8.p0i8.i64", ir.VoidType(), [PTR8, PTR8, I64, I1])

    def body(bb: ir.IRBuilder, i: ir.Value) -> None:
        on = bb.icmp_unsigned("!=", bb.load(bb.gep(mask, [ir.Constant(I32, 0), i])), ir.Constant(I8, 0))
        do = fn.append_basic_block("do")
        skip = fn.append_basic_block("skip")
        bb.cbranch(on, do, skip)
        bb.position_at_end(do)
        row = bb.mul(bb.zext(i, I64), stride)
        bb.call(mv, [bb.gep(base, [bb.add(row, dst)]), bb.gep(base, [bb.add(row, src)]), n,
                     ir.Constant(I1, 0)])
        bb.branch(skip)
        bb.position_at_end(skip)
    loop(fn, b, W, body, "copy")
    b.ret_void()
    finish_entry(fn)
    return fn


def lane_copy(kc: Any, src_off: int, dst_off: int, n: int, mask: ir.Value) -> None:
    """Copy n bytes of per-lane parameter memory from src_off to dst_off for masked lanes."""
    b = kc.b
    fn = lane_copy_helper(kc)
    m = mask_array(kc, mask)
    b.call(fn, [b.inttoptr(kc.env[abi.PARMEM], PTR8), kc.env[abi.PARAM_STRIDE],
                ir.Constant(I64, src_off), ir.Constant(I64, dst_off), ir.Constant(I64, n), m])


# ---------------------------------------------------------------- access emission

def _vec_ptr(kc: Any, ity: ir.Type, count: int) -> ir.PointerType:
    return ir.PointerType(ir.VectorType(ity, count))


def _fast_global(kc: Any, a0: ir.Value, span: int) -> tuple[ir.Value, ir.Value]:
    """(ok, host address) for [a0, a0+span) when both end pages map contiguously."""
    b = kc.b
    e = kc.env
    base, npages = e[abi.PAGE_BASE], e[abi.NPAGES]
    table = b.inttoptr(e[abi.PAGES], ir.PointerType(I64))
    p0 = b.lshr(b.sub(a0, base), ir.Constant(I64, abi.PAGE_SHIFT))
    p1 = b.lshr(b.sub(b.add(a0, ir.Constant(I64, span - 1)), base), ir.Constant(I64, abi.PAGE_SHIFT))
    inr = b.and_(b.icmp_unsigned("<", p0, npages), b.icmp_unsigned("<", p1, npages))
    s0 = b.select(inr, p0, ir.Constant(I64, 0))
    s1 = b.select(inr, p1, ir.Constant(I64, 0))
    # an empty table (npages == 0) must not be read: point the index at a safe slot
    safe = b.icmp_unsigned("!=", npages, ir.Constant(I64, 0))
    d0 = b.load(b.gep(table, [s0]))
    d1 = b.load(b.gep(table, [s1]))
    ok = b.and_(b.and_(inr, safe), b.and_(b.icmp_unsigned("!=", d0, ir.Constant(I64, 0)),
                                         b.icmp_unsigned("==", d0, d1)))
    return ok, b.add(a0, d0)


def _prefetch_next_warp(kc: Any, host: ir.Value, span: int, store: bool) -> None:
    """Ask for the `span` bytes after a warp's contiguous global access, into L2.

    The warps of a block run one after another, so in a grid-stride loop a warp touches
    `span` bytes of a page and jumps a whole grid further, and the next warp comes back for
    the bytes right after: the host's prefetchers do not follow that order, and without
    this every access waits on memory (saxpy: 6x slower).  A prefetch never faults.
    A block of one warp has no next warp: the bytes after are another block's, run on
    another thread or long after (the seed program's 4 blocks of 32 threads ran twice as
    long, its memory traffic doubled), so it prefetches nothing."""
    b, e = kc.b, kc.env
    threads = b.mul(b.mul(e[abi.BX], e[abi.BY]), e[abi.BZ])
    several = b.icmp_unsigned(">", threads, ir.Constant(threads.type, kc.W))
    pf = kc.lanes.intrinsic("llvm.prefetch.p0", ir.VoidType(), [PTR8, I32, I32, I32])
    rw, locality, data = ir.Constant(I32, int(store)), ir.Constant(I32, 2), ir.Constant(I32, 1)
    with b.if_then(several, likely=True):
        for k in range(0, span, 64):        # one per cache line
            b.call(pf, [b.inttoptr(b.add(host, ir.Constant(I64, span + k)), PTR8), rw, locality, data])


def _lane_hosts(kc: Any, code: int, addrs: ir.Value, eff: ir.Value, w: int,
                align: int) -> tuple[ir.Value, ir.Value]:
    """(ok, host address per lane) when every active lane's access is aligned and lies in
    backed global memory (its own page of the table) or inside the shared window."""
    b, L = kc.b, kc.lanes
    zero = L.const(I64, 0)
    inactive = b.not_(eff)
    aligned = b.icmp_unsigned("==", b.and_(addrs, L.const(I64, align - 1)), zero)
    ok = b.and_(L.any(eff), L.all(b.or_(inactive, aligned)))
    if code == abi.SHARED_SP:
        size = kc.env[abi.SHARED_SIZE]
        fits = b.and_(b.icmp_unsigned(">=", size, ir.Constant(I64, w)),
                      L.all(b.or_(inactive, b.icmp_unsigned(
                          "<=", addrs, L.splat(b.sub(size, ir.Constant(I64, w)))))))
        return b.and_(ok, fits), b.add(L.splat(kc.env[abi.SHARED]), addrs)
    e = kc.env
    if code == abi.GENERIC:
        tag = b.lshr(addrs, L.const(I64, WINDOW_SHIFT))
        for window in (SHARED_TAG, LOCAL_TAG):
            ok = b.and_(ok, L.all(b.or_(inactive, b.icmp_unsigned("!=", tag, L.const(I64, window)))))
    page = b.lshr(b.sub(addrs, L.splat(e[abi.PAGE_BASE])), L.const(I64, abi.PAGE_SHIFT))
    inr = b.icmp_unsigned("<", page, L.splat(e[abi.NPAGES]))
    want = b.and_(eff, inr)
    offsets = b.shl(b.select(want, page, zero), L.const(I64, 3))
    slots = b.inttoptr(b.add(L.splat(e[abi.PAGES]), offsets), ir.VectorType(ir.PointerType(I64), kc.W))
    delta = _masked_gather(kc, slots, 8, want, zero)
    backed = b.and_(inr, b.icmp_unsigned("!=", delta, zero))
    return b.and_(ok, L.all(b.or_(inactive, backed))), b.add(addrs, delta)


def _masked_gather(kc: Any, ptrs: ir.Value, align: int, mask: ir.Value, passthru: ir.Value) -> ir.Value:
    ty = passthru.type
    fn = kc.lanes.intrinsic(f"llvm.masked.gather.{Lanes.suffix(ty)}.v{kc.W}p0{Lanes.suffix(ty.element)}",
                            ty, [ptrs.type, I32, mask.type, ty])
    return kc.b.call(fn, [ptrs, ir.Constant(I32, align), mask, passthru])


def _masked_scatter(kc: Any, values: ir.Value, ptrs: ir.Value, align: int, mask: ir.Value) -> None:
    ty = values.type
    fn = kc.lanes.intrinsic(f"llvm.masked.scatter.{Lanes.suffix(ty)}.v{kc.W}p0{Lanes.suffix(ty.element)}",
                            ir.VoidType(), [ty, ptrs.type, I32, mask.type])
    kc.b.call(fn, [values, ptrs, ir.Constant(I32, align), mask])


ROW = 8                            # lanes per row of the row-wise tier


def rows_likely(flat: Any) -> bool:
    """Whether a warp's accesses may come in rows: the kernel reads %tid.y or %tid.z (a
    2-D or 3-D block).  Only then is the row-wise tier worth its code."""
    uses = getattr(flat.prog, "uses", None)
    return uses is None or any({"%tid.y", "%tid.z"} & reads for reads, _ in uses.values())


def _rows_likely(kc: Any) -> bool:
    found = kc.__dict__.get("_rows_likely")
    if found is None:
        found = kc._rows_likely = rows_likely(kc.flat)
    return found


def scalar_shapes(flat: Any) -> set[tuple[bool, int, bool]]:
    """(store, space code, rows) of the kernel's scalar 32-bit loads and stores of global,
    shared and generic memory: the quick tier's access functions it will call, as far as
    its instructions tell (accesslib.request)."""
    from ..ptx.form import form_of
    rows = rows_likely(flat)
    out = set()
    for item in flat.code:
        if item.ins is None:
            continue
        f = form_of(item.ins)
        if f.base not in ("ld", "st") or f.vec != 1 or not f.types or f.space not in SPACE_CODE:
            continue
        code = SPACE_CODE[f.space]
        if code != abi.LOCAL_SP and f.types[-1] in ("b32", "u32", "s32", "f32"):
            out.add((f.base == "st", code, rows and code != abi.GENERIC))
    return out


class _HelperScope:
    """What the access tiers use of a KernelCompiler, for emitting them into a helper
    function: its own builder and lanes, and the environment read through its argument."""

    class _Env:
        def __init__(self, scope: "_HelperScope", ptr: ir.Value) -> None:
            self.scope, self.ptr = scope, ptr

        def __getitem__(self, i: int) -> ir.Value:
            b = self.scope.b
            return b.load(b.gep(self.ptr, [ir.Constant(I32, i)]))

    def __init__(self, kc: Any, fn: ir.Function, b: ir.IRBuilder, env: ir.Value) -> None:
        self.fn, self.b, self.W, self.m = fn, b, kc.W, kc.m
        self.lanes = Lanes(kc.m, kc.W)
        self.lanes.b = b
        self.env = self._Env(self, env)


SPARSE_LANES = 8                   # up to this many active lanes: one at a time, no gathers


def _sparse_access(scope: Any, code: int, store: bool, ity: ir.Type, addrs_p: ir.Value,
                   vals_p: ir.Value, eff: ir.Value, dense: ir.Block, fail: ir.Block) -> None:
    """A few active lanes (a tile's halo, one lane per row): each lane checked, then each
    performed, in lane order, without 32-lane gathers.  Any lane that does not map (or is
    misaligned) sends the whole access to the lane-by-lane path, which reports it."""
    b, fn, e = scope.b, scope.fn, scope.env
    w = ity.width // 8
    bits = b.bitcast(eff, I32)
    few = b.icmp_unsigned("<=", call_intrinsic(b, "ctpop", [bits]), ir.Constant(I32, SPARSE_LANES))
    check = fn.append_basic_block("sparse")
    b.cbranch(few, check, dense)
    b.position_at_end(check)
    hosts = entry_alloca(fn, ir.ArrayType(I64, scope.W))
    left = entry_alloca(fn, I32)

    def each_lane(tag: str, body: Any) -> None:
        b.store(bits, left)
        head, step, out = (fn.append_basic_block(f"{tag}_{x}") for x in ("head", "step", "out"))
        b.branch(head)
        b.position_at_end(head)
        rest = b.load(left)
        b.cbranch(b.icmp_unsigned("==", rest, ir.Constant(I32, 0)), out, step)
        b.position_at_end(step)
        lane = call_intrinsic(b, "cttz", [rest, ir.Constant(I1, 1)])
        b.store(b.and_(rest, b.sub(rest, ir.Constant(I32, 1))), left)
        body(lane)
        b.branch(head)
        b.position_at_end(out)

    def verify(lane: ir.Value) -> None:
        a = b.load(b.gep(addrs_p, [ir.Constant(I32, 0), lane]))
        ok = b.icmp_unsigned("==", b.and_(a, ir.Constant(I64, w - 1)), ir.Constant(I64, 0))
        if code == abi.SHARED_SP:
            size = e[abi.SHARED_SIZE]
            ok = b.and_(ok, b.and_(b.icmp_unsigned(">=", size, ir.Constant(I64, w)),
                                   b.icmp_unsigned("<=", a, b.sub(size, ir.Constant(I64, w)))))
            host = b.add(e[abi.SHARED], a)
        else:
            page = b.lshr(b.sub(a, e[abi.PAGE_BASE]), ir.Constant(I64, abi.PAGE_SHIFT))
            inside = b.icmp_unsigned("<", page, e[abi.NPAGES])
            # an aligned access of w <= 8 bytes never straddles a page
            slot = b.gep(b.inttoptr(e[abi.PAGES], ir.PointerType(I64)),
                         [b.select(inside, page, ir.Constant(I64, 0))])
            looked = fn.append_basic_block("sparse_page")
            after = fn.append_basic_block("sparse_paged")
            start = b.block
            b.cbranch(inside, looked, after)
            b.position_at_end(looked)
            delta_in = b.load(slot)
            b.branch(after)
            b.position_at_end(after)
            delta = b.phi(I64)
            delta.add_incoming(ir.Constant(I64, 0), start)
            delta.add_incoming(delta_in, looked)
            ok = b.and_(ok, b.icmp_unsigned("!=", delta, ir.Constant(I64, 0)))
            host = b.add(a, delta)
        good = fn.append_basic_block("sparse_good")
        b.cbranch(ok, good, fail)
        b.position_at_end(good)
        b.store(host, b.gep(hosts, [ir.Constant(I32, 0), lane]))

    def perform(lane: ir.Value) -> None:
        p = b.inttoptr(b.load(b.gep(hosts, [ir.Constant(I32, 0), lane])), ir.PointerType(ity))
        v = b.gep(vals_p, [ir.Constant(I32, 0), lane])
        if store:
            raw = b.load(v)
            b.store(raw if ity.width == 64 else b.trunc(raw, ity), p, align=w)
        else:
            got = b.load(p, align=w)
            b.store(got if ity.width == 64 else b.zext(got, I64), v)

    each_lane("sparse_check", verify)
    each_lane("sparse_do", perform)
    b.ret(ir.Constant(I32, 0))


def _gather_tiers(kc: Any, code: int, store: bool, addrs: ir.Value, ity: ir.Type, raw_vals: list,
                  results: list, eff: ir.Value, joinb: ir.Block) -> None:
    """The row-wise tier and, for a load, the broadcast tier, each going on to `joinb` when
    it applies; leaves the builder where neither did."""
    b, fn = kc.b, kc.fn
    gatherb = fn.append_basic_block("mem_gathers")
    _row_access(kc, code, store, addrs, ity, raw_vals, results, eff, gatherb, joinb)
    b.position_at_end(gatherb)
    if not store:
        gatherb = fn.append_basic_block("mem_gathers")
        _run_broadcast(kc, code, addrs, ity, results, eff, gatherb, joinb)
        b.position_at_end(gatherb)


class _AccessHelper:
    """The start of an out-of-line access function of one shape,
    i32 f(env, [W x i64]* addrs, [W x i64]* values, [W x i8]* mask, i64 pc): the function
    (registered in kc.helpers), its builder and scope, and its arguments read as vectors:
    the addresses, the active mask, a store's values and a load's result slot."""

    def __init__(self, kc: Any, name: str, store: bool, ity: ir.Type) -> None:
        W = kc.W
        arr = ir.PointerType(ir.ArrayType(I64, W))
        fn = self.fn = ir.Function(kc.m, ir.FunctionType(I32, [ir.PointerType(I64), arr, arr,
                                                                ir.PointerType(ir.ArrayType(I8, W)), I64]),
                                   name=name)
        fn.linkage = "internal"
        kc.helpers[name] = fn
        env, addrs_p, vals_p, mask_p, _pc = fn.args
        b = self.b = start_function(fn)
        self.scope = _HelperScope(kc, fn, b, env)
        L = self.scope.lanes
        self.vt64 = ir.PointerType(L.vt(I64))
        self.addrs = b.load(b.bitcast(addrs_p, self.vt64))
        self.eff = b.trunc(b.load(b.bitcast(mask_p, ir.PointerType(L.vt(I8)))), L.vt(I1))
        self.raw = [b.trunc(b.load(b.bitcast(vals_p, self.vt64)), L.vt(ity)) if ity.width < 64
                    else b.load(b.bitcast(vals_p, self.vt64))] if store else []
        self.results = [] if store else [entry_alloca(fn, L.vt(ity))]


def _lanes_helper(kc: Any, code: int, store: bool, ity: ir.Type) -> ir.Function:
    """i32 f(env, [W x i64]* addrs, [W x i64]* values, [W x i8]* mask, i64 pc): the
    gathering tier of one access shape, then the lane-by-lane path if it does not apply,
    out of line (inline they would double a kernel's code); 0, or 1 after a fault."""
    name = f"mem_lanes_{'st' if store else 'ld'}_{code}_{ity.width}"
    if name in kc.helpers:
        return kc.helpers[name]
    h = _AccessHelper(kc, name, store, ity)
    fn, b, scope, L, W = h.fn, h.b, h.scope, h.scope.lanes, kc.W
    env, addrs_p, vals_p, mask_p, pc = fn.args
    vt64, addrs, eff, raw, results = h.vt64, h.addrs, h.eff, h.raw, h.results
    done, fail = fn.append_basic_block("done"), fn.append_basic_block("fallback")
    if code in (abi.GLOBAL, abi.SHARED_SP) and W == 32:
        dense = fn.append_basic_block("dense")
        _sparse_access(scope, code, store, ity, addrs_p, vals_p, eff, dense, fail)
        b.position_at_end(dense)
    _scattered_access(scope, code, store, addrs, ity, 1, raw, results, eff, fail, done)
    b.position_at_end(done)
    if not store:
        got = b.load(results[0])
        b.store(got if ity.width == 64 else b.zext(got, L.vt(I64)), b.bitcast(vals_p, vt64))
    b.ret(ir.Constant(I32, 0))
    b.position_at_end(fail)
    slow = slow_helper(kc, store, code, ity.width // 8, 0)
    b.ret(b.call(slow, [env, addrs_p, vals_p, mask_p, pc]))
    finish_entry(fn)
    return fn


def _call_lanes_helper(kc: Any, code: int, store: bool, addrs: ir.Value, ity: ir.Type,
                       raw_vals: list, results: list, eff: ir.Value, joinb: ir.Block) -> None:
    b, L = kc.b, kc.lanes
    arr = ir.PointerType(ir.ArrayType(I64, kc.W))
    b.store(addrs, kc.tmp64)
    if store:
        v = raw_vals[0]
        b.store(v if ity.width == 64 else b.zext(v, L.vt(I64)), kc.tmpval)
    status = b.call(_lanes_helper(kc, code, store, ity),
                    [kc.env_ptr, b.bitcast(kc.tmp64, arr), b.bitcast(kc.tmpval, arr), mask_array(kc, eff),
                     ir.Constant(I64, kc.pc)])
    okb = kc.fn.append_basic_block("mem_lanes_done")
    b.cbranch(b.icmp_unsigned("!=", status, ir.Constant(I32, 0)), kc.fail_bb, okb)
    b.position_at_end(okb)
    if not store:
        got = b.load(kc.tmpval)
        b.store(got if ity.width == 64 else b.trunc(got, L.vt(ity)), results[0])
    b.branch(joinb)


def _row_access(kc: Any, code: int, store: bool, addrs: ir.Value, ity: ir.Type, raw_vals: list,
                results: list, eff: ir.Value, otherwise: ir.Block, joinb: ir.Block, row: int = ROW,
                laid: ir.Value | None = None) -> None:
    """Every lane active and each run of `row` lanes contiguous (a 2-D block's rows: a
    16x16 block's warp is two rows apart): one vector access per run, each run checked as
    the whole-warp fast path checks its span.  `laid`: the layout check, if already made
    (layouts.py)."""
    b, L = kc.b, kc.lanes
    W, w = kc.W, ity.width // 8
    runs = W // row
    heads = [b.extract_element(addrs, ir.Constant(I32, r * row)) for r in range(runs)]
    ok = b.and_(L.all(eff), laid if laid is not None else layout_ok(kc, addrs, row, w))
    ok, hosts = _run_hosts(kc, code, heads, w, row * w, ok)
    rowsb = kc.fn.append_basic_block("mem_rows")
    b.cbranch(ok, rowsb, otherwise)
    b.position_at_end(rowsb)
    rty = ir.PointerType(ir.VectorType(ity, row))
    if code == abi.GLOBAL:
        _prefetch_runs(kc, hosts, row * w, store)
    if store:
        for r, host in enumerate(hosts):
            part = b.shuffle_vector(raw_vals[0], undef(raw_vals[0].type),
                                    ir.Constant(ir.VectorType(I32, row), list(range(r * row, r * row + row))))
            b.store(part, b.inttoptr(host, rty), align=w)
    else:
        parts = [b.load(b.inttoptr(host, rty), align=w) for host in hosts]
        b.store(_concatenated(b, parts), results[0])
    b.branch(joinb)


def _concatenated(b: ir.IRBuilder, parts: list) -> ir.Value:
    """Row vectors joined pairwise, in order, up to the warp's width."""
    while len(parts) > 1:
        parts = [b.shuffle_vector(parts[i], parts[i + 1], ir.Constant(
            ir.VectorType(I32, 2 * parts[i].type.count), list(range(2 * parts[i].type.count))))
            for i in range(0, len(parts), 2)]
    return parts[0]


HALO_AHEAD = 2                     # runs ahead a tile's halo column prefetches (see below)


def _prefetch_runs(kc: Any, hosts: list, span: int, store: bool, ahead: int = 1) -> None:
    """Ask for the `span` bytes `ahead` runs after each run of a row-wise global access, into
    L2: a 2-D block's row continues in the next block along x, which this thread runs next,
    and its halo column (the cell after the row) is read before that (a stencil's right
    neighbour), each row on a page of its own that the host's prefetchers do not follow."""
    b = kc.b
    pf = kc.lanes.intrinsic("llvm.prefetch.p0", ir.VoidType(), [PTR8, I32, I32, I32])
    rw, locality, data = ir.Constant(I32, int(store)), ir.Constant(I32, 2), ir.Constant(I32, 1)
    for host in hosts:
        for k in range(0, span, 64):
            b.call(pf, [b.inttoptr(b.add(host, ir.Constant(I64, ahead * span + k)), PTR8),
                        rw, locality, data])


def _run_hosts(kc: Any, code: int, heads: list, w: int, span: int, ok: ir.Value) -> tuple[ir.Value, list]:
    """(ok, host address of each run) when each run's `span` bytes from its head are
    w-aligned and lie in the shared window or in contiguously backed global memory."""
    b = kc.b
    hosts = []
    # the runs' page-table entries, where the address register's definition looked them up
    # (not in a shared access function: _HelperScope knows no registers)
    layouts = getattr(kc, "layouts", None)
    known = layouts.pages(kc, len(heads)) if code == abi.GLOBAL and layouts is not None else None
    for i, head in enumerate(heads):
        ok = b.and_(ok, b.icmp_unsigned("==", b.and_(head, ir.Constant(I64, w - 1)), ir.Constant(I64, 0)))
        if known is not None:
            run_ok, host = _in_page(kc, head, span, known[i])
            ok = b.and_(ok, run_ok)
            hosts.append(host)
        elif code == abi.SHARED_SP:
            size = kc.env[abi.SHARED_SIZE]
            ok = b.and_(ok, b.and_(b.icmp_unsigned(">=", size, ir.Constant(I64, span)),
                                   b.icmp_unsigned("<=", head, b.sub(size, ir.Constant(I64, span)))))
            hosts.append(b.add(kc.env[abi.SHARED], head))
        else:
            run_ok, host = _fast_global(kc, head, span)
            ok = b.and_(ok, run_ok)
            hosts.append(host)
    return ok, hosts


def _run_broadcast(kc: Any, code: int, addrs: ir.Value, ity: ir.Type, results: list, eff: ir.Value,
                   otherwise: ir.Block, joinb: ir.Block) -> None:
    """Every lane active and each run of ROW lanes reading one address (a tile's row in a
    2-D block, `as[ty][k]`): one scalar load per run, spread over its lanes."""
    b, L = kc.b, kc.lanes
    W, w = kc.W, ity.width // 8
    runs = W // ROW
    spread = ir.Constant(L.vt(I32), [(i // ROW) * ROW for i in range(W)])
    first = b.shuffle_vector(addrs, undef(addrs.type), spread)
    ok = b.and_(L.all(eff), L.all(b.icmp_unsigned("==", addrs, first)))
    heads = [b.extract_element(addrs, ir.Constant(I32, r * ROW)) for r in range(runs)]
    ok, hosts = _run_hosts(kc, code, heads, w, w, ok)
    sameb = kc.fn.append_basic_block("mem_runs")
    b.cbranch(ok, sameb, otherwise)
    b.position_at_end(sameb)
    v = undef(L.vt(ity))
    for r, host in enumerate(hosts):
        v = b.insert_element(v, b.load(b.inttoptr(host, ir.PointerType(ity)), align=w), ir.Constant(I32, r * ROW))
    b.store(b.shuffle_vector(v, undef(v.type), spread), results[0])
    b.branch(joinb)


def _lane_host(kc: Any, code: int, a: ir.Value, w: int) -> tuple[ir.Value, ir.Value]:
    """(ok, host address) of one lane's w-byte access at `a`: aligned, and inside the
    shared window or on a backed page of the table (aligned, it never straddles one)."""
    b, e = kc.b, kc.env
    ok = b.icmp_unsigned("==", b.and_(a, ir.Constant(I64, w - 1)), ir.Constant(I64, 0))
    if code == abi.SHARED_SP:
        size = e[abi.SHARED_SIZE]
        fits = b.and_(b.icmp_unsigned(">=", size, ir.Constant(I64, w)),
                      b.icmp_unsigned("<=", a, b.sub(size, ir.Constant(I64, w))))
        return b.and_(ok, fits), b.add(e[abi.SHARED], a)
    page = b.lshr(b.sub(a, e[abi.PAGE_BASE]), ir.Constant(I64, abi.PAGE_SHIFT))
    inside = b.icmp_unsigned("<", page, e[abi.NPAGES])
    # the table has at least one entry: an index out of range reads entry 0, unused
    table = b.inttoptr(e[abi.PAGES], ir.PointerType(I64))
    delta = b.load(b.gep(table, [b.select(inside, page, ir.Constant(I64, 0))]))
    backed = b.and_(inside, b.icmp_unsigned("!=", delta, ir.Constant(I64, 0)))
    return b.and_(ok, backed), b.add(a, delta)


def _lined_lanes(kc: Any, addrs: ir.Value, step: int, run: int,
                 laid: ir.Value | None = None) -> tuple[ir.Value, Callable[[ir.Value], ir.Value]]:
    """(ok, lane -> its address) when every lane's address, active or not, lies in runs of
    `run` lanes `step` bytes apart (a block's rows, as the address analysis predicts): a
    lane's address is then its run's first one plus its place in the run, with no extract
    at a lane known only at run time (that goes through the stack, and reading one lane
    back right after the vector's wide stores waits for them to retire).  `laid`: the
    layout check, if already made (layouts.py)."""
    heads = _run_heads(kc, addrs, run)
    ok = laid if laid is not None else layout_ok(kc, addrs, run, step)
    return ok, lambda lane: _in_run(kc, heads, lane, step, run)


def _run_heads(kc: Any, addrs: ir.Value, run: int) -> list[ir.Value]:
    """The first address of each run of `run` lanes."""
    return [kc.b.extract_element(addrs, ir.Constant(I32, r * run)) for r in range(kc.W // run)]


def _in_run(kc: Any, heads: list[ir.Value], lane: ir.Value, step: int, run: int) -> ir.Value:
    """heads[lane's run] + its place in the run * step."""
    b = kc.b
    r = b.lshr(lane, ir.Constant(I32, run.bit_length() - 1))
    head = heads[0]
    for i in range(1, len(heads)):
        head = b.select(b.icmp_unsigned("==", r, ir.Constant(I32, i)), heads[i], head)
    place = b.zext(b.and_(lane, ir.Constant(I32, run - 1)), I64)
    return b.add(head, b.mul(place, ir.Constant(I64, step)))


def _whole_runs_fit(w: int, step: int) -> bool:
    """Whether each lane of a run `step` bytes apart is aligned when its first is, and the
    run's span starts at its first lane: then one check per run answers for every lane."""
    return step >= 0 and step % w == 0


def _pair_access(kc: Any, code: int, store: bool, addrs: ir.Value, ity: ir.Type, raw_vals: list,
                 results: list, eff: ir.Value, otherwise: ir.Block, joinb: ir.Block,
                 lined: tuple[int, int] | None = None, laid: ir.Value | None = None) -> None:
    """One or two active lanes (a 2-D tile's halo: the first or last lane of each row):
    both lanes checked, then each accessed as a scalar in lane order, inline, without
    gathers or calls.  A lane that does not map goes on to the other tiers, which report
    it.  With one lane active, it stands for both (the access repeated is the same).
    With `lined` (run, step), the lanes' addresses come from runs of `run` lanes `step`
    bytes apart (_lined_lanes), and lanes not laid out so go on to the other tiers too;
    `laid`, that layout's check if already made."""
    b, L = kc.b, kc.lanes
    w = ity.width // 8
    bits = b.bitcast(eff, I32)
    count = call_intrinsic(b, "ctpop", [bits])
    few = b.icmp_unsigned("<", b.sub(count, ir.Constant(I32, 1)), ir.Constant(I32, 2))
    pairb = kc.fn.append_basic_block("mem_pair")
    b.cbranch(few, pairb, otherwise)
    b.position_at_end(pairb)
    lo = call_intrinsic(b, "cttz", [bits, ir.Constant(I1, 1)])
    rest = b.and_(bits, b.sub(bits, ir.Constant(I32, 1)))
    hi = b.select(b.icmp_unsigned("==", rest, ir.Constant(I32, 0)), lo,
                  call_intrinsic(b, "cttz", [rest, ir.Constant(I1, 0)]))
    if lined is not None and _whole_runs_fit(w, lined[1]):
        # each run checked whole, from the addresses alone: the checks and page lookups
        # start before the lane mask is known instead of after it (lane, page, load)
        run, step = lined
        ok, _ = _lined_lanes(kc, addrs, step, run, laid)
        ok, hosts = _run_hosts(kc, code, _run_heads(kc, addrs, run), w, (run - 1) * step + w, ok)
        host_lo, host_hi = _in_run(kc, hosts, lo, step, run), _in_run(kc, hosts, hi, step, run)
    else:
        if lined is None:
            ok, a_lo, a_hi = ir.Constant(I1, 1), b.extract_element(addrs, lo), b.extract_element(addrs, hi)
        else:
            ok, pick = _lined_lanes(kc, addrs, lined[1], lined[0], laid)
            a_lo, a_hi = pick(lo), pick(hi)
        ok_lo, host_lo = _lane_host(kc, code, a_lo, w)
        ok_hi, host_hi = _lane_host(kc, code, a_hi, w)
        ok = b.and_(ok, b.and_(ok_lo, ok_hi))
    doneb = kc.fn.append_basic_block("mem_pair_do")
    b.cbranch(ok, doneb, otherwise)
    b.position_at_end(doneb)
    if store:
        _lane_stores(kc, raw_vals[0], ity, ((lo, host_lo), (hi, host_hi)))
    else:
        # selects rather than inserts at a variable lane: those go through the stack, and
        # reading the vector back after two narrow stores stalls store forwarding
        ptr = ir.PointerType(ity)
        v = L.const(ity, 0)
        for lane, host in ((lo, host_lo), (hi, host_hi)):
            got = L.splat(b.load(b.inttoptr(host, ptr), align=w))
            v = b.select(b.icmp_unsigned("==", L.iota(), L.splat(lane)), got, v)
        b.store(v, results[0])
    b.branch(joinb)


def _runs_masked(kc: Any, code: int, store: bool, addrs: ir.Value, ity: ir.Type, raw_vals: list,
                 results: list, eff: ir.Value, otherwise: ir.Block, joinb: ir.Block, laid: ir.Value,
                 row: int) -> None:
    """Some lanes active, each run of `row` lanes contiguous (`laid`: that layout's check):
    per run, one masked vector access of its active lanes, after its span is checked as the
    whole-warp tiers check theirs.  A tile's halo row (one run of a 16x16 block's warp)
    and its halo column (a lane in each run) take it; their addresses need no lane picked
    at run time."""
    b, L, W = kc.b, kc.lanes, kc.W
    w = ity.width // 8
    heads = _run_heads(kc, addrs, row)
    ok, hosts = _run_hosts(kc, code, heads, w, row * w, b.and_(laid, L.any(eff)))
    doneb = kc.fn.append_basic_block("mem_runs_masked")
    b.cbranch(ok, doneb, otherwise)
    b.position_at_end(doneb)
    if code == abi.GLOBAL and not store:
        # a halo column's cell lies on the line after its row's; the next block's is on
        # the line after that, which the whole rows' prefetch asks for too late: its
        # load waits on memory (a stencil's hottest instruction, without this)
        _prefetch_runs(kc, hosts, row * w, store, HALO_AHEAD)
    rty = ir.VectorType(ity, row)
    sfx = Lanes.suffix(rty)
    mty = ir.VectorType(I1, row)
    if store:
        fn = L.intrinsic(f"llvm.masked.store.{sfx}.p0{sfx}", ir.VoidType(), [rty, ir.PointerType(rty), I32, mty])
    else:
        fn = L.intrinsic(f"llvm.masked.load.{sfx}.p0{sfx}", rty, [ir.PointerType(rty), I32, mty, rty])
    parts = []
    for r, host in enumerate(hosts):
        pick = ir.Constant(ir.VectorType(I32, row), list(range(r * row, r * row + row)))
        mask = b.shuffle_vector(eff, undef(eff.type), pick)
        p = b.inttoptr(host, ir.PointerType(rty))
        if store:
            part = b.shuffle_vector(raw_vals[0], undef(raw_vals[0].type), pick)
            b.call(fn, [part, p, ir.Constant(I32, w), mask])
        else:
            parts.append(b.call(fn, [p, ir.Constant(I32, w), mask, ir.Constant(rty, None)]))
    if not store:
        b.store(_concatenated(b, parts), results[0])
    b.branch(joinb)


def halo_shapes(step: int, w: int) -> dict[int, tuple[int, ...]]:
    """The active masks (as 32-bit words) a 16-wide tile's halo takes, and their active
    lanes: its first or last column (one lane per run), and, where the address is
    contiguous along a row, its top or bottom row (one whole run)."""
    shapes, run = {}, RUN
    for place in (0, run - 1):
        lanes = (place, place + run)
        shapes[sum(1 << lane for lane in lanes)] = lanes
    if step == w:
        for r in range(2):
            lanes = tuple(range(r * run, r * run + run))
            shapes[sum(1 << lane for lane in lanes)] = lanes
    return shapes


def _halo_shaped(kc: Any, code: int, store: bool, addrs: ir.Value, ity: ir.Type, raw_vals: list,
                 results: list, eff: ir.Value, otherwise: ir.Block, joinb: ir.Block, laid: ir.Value,
                 step: int) -> None:
    """A tile's halo (halo_shapes) in a warp of two runs of RUN lanes: the active mask
    compared with each shape, then the shape's lanes accessed at lanes known when
    compiling, with no lane picked at run time (cttz, selects, masked vectors).  A column
    takes one scalar access per lane, each lane's address checked alone; a row one plain
    vector, after both runs are checked whole as the masked-runs tier checks them (`laid`:
    that layout's check).  Any other mask, or an address that does not check, goes on to
    `otherwise`."""
    b, fn = kc.b, kc.fn
    w = ity.width // 8
    sw = b.switch(b.bitcast(eff, I32), otherwise)
    for bits, lanes in halo_shapes(step, w).items():
        shapeb = fn.append_basic_block("mem_halo_shape")
        sw.add_case(ir.Constant(I32, bits), shapeb)
        b.position_at_end(shapeb)
        if len(lanes) == RUN:
            ok, hosts = _run_hosts(kc, code, _run_heads(kc, addrs, RUN), w, (RUN - 1) * step + w, laid)
        else:
            heads = [b.extract_element(addrs, ir.Constant(I32, lane)) for lane in lanes]
            ok, hosts = _run_hosts(kc, code, heads, w, w, ir.Constant(I1, 1))
        doneb = fn.append_basic_block("mem_halo_do")
        b.cbranch(ok, doneb, otherwise)
        b.position_at_end(doneb)
        if len(lanes) == RUN:
            _halo_row(kc, code, store, ity, raw_vals, results, hosts[lanes[0] // RUN], lanes)
        else:
            _halo_column(kc, code, store, ity, raw_vals, results, hosts, lanes, step)
        b.branch(joinb)


def _halo_row(kc: Any, code: int, store: bool, ity: ir.Type, raw_vals: list, results: list,
              host: ir.Value, lanes: tuple[int, ...]) -> None:
    """One whole run's access as a plain vector; a load's other lanes read 0."""
    b, L = kc.b, kc.lanes
    w = ity.width // 8
    rty = ir.VectorType(ity, len(lanes))
    p = b.inttoptr(host, ir.PointerType(rty))
    pick = ir.Constant(ir.VectorType(I32, len(lanes)), list(lanes))
    if store:
        b.store(b.shuffle_vector(raw_vals[0], undef(raw_vals[0].type), pick), p, align=w)
        return
    if code == abi.GLOBAL:
        _prefetch_runs(kc, [host], len(lanes) * w, store, HALO_AHEAD)
    part = b.load(p, align=w)
    # lanes of the loaded run where it lies, the zero vector's elsewhere
    both = b.shuffle_vector(part, ir.Constant(rty, None),
                            ir.Constant(ir.VectorType(I32, kc.W),
                                        [lanes.index(i) if i in lanes else len(lanes) for i in range(kc.W)]))
    b.store(both, results[0])


def _halo_column(kc: Any, code: int, store: bool, ity: ir.Type, raw_vals: list, results: list,
                 hosts: list, lanes: tuple[int, ...], step: int) -> None:
    """One scalar access per lane of `lanes`, at its host address in `hosts`."""
    b, L = kc.b, kc.lanes
    w = ity.width // 8
    ptrs = [b.inttoptr(host, ir.PointerType(ity)) for host in hosts]
    if store:
        for lane, p in zip(lanes, ptrs):
            b.store(b.extract_element(raw_vals[0], ir.Constant(I32, lane)), p, align=w)
        return
    if code == abi.GLOBAL:
        # from where each lane's run starts, as the masked-runs tier asks (a guess only:
        # a prefetch never faults)
        starts = [b.sub(host, ir.Constant(I64, (lane % RUN) * step)) for lane, host in zip(lanes, hosts)]
        _prefetch_runs(kc, starts, RUN * w, store, HALO_AHEAD)
    v = L.const(ity, 0)
    for lane, p in zip(lanes, ptrs):
        v = b.insert_element(v, b.load(p, align=w), ir.Constant(I32, lane))
    b.store(v, results[0])


def _lane_stores(kc: Any, values: ir.Value, ity: ir.Type, lanes: tuple) -> None:
    """Each (lane, host address) of `lanes` gets the lane's value by a one-lane masked
    store of the half of the warp's vector that holds it (16 lanes: one machine vector of
    32-bit values where the whole warp is two), placed so that the lane lands at its
    address: no extract of the value at a lane known only at run time."""
    b, W = kc.b, kc.W
    w = ity.width // 8
    half = W // 2
    hty = ir.VectorType(ity, half)
    parts = [b.shuffle_vector(values, undef(values.type), ir.Constant(ir.VectorType(I32, half),
                                                                     list(range(h * half, h * half + half))))
             for h in range(2)]
    sfx = Lanes.suffix(hty)
    fn = kc.lanes.intrinsic(f"llvm.masked.store.{sfx}.p0{sfx}", ir.VoidType(),
                            [hty, ir.PointerType(hty), I32, ir.VectorType(I1, half)])
    iota = ir.Constant(ir.VectorType(I32, half), list(range(half)))
    for lane, host in lanes:
        upper = b.icmp_unsigned(">=", lane, ir.Constant(I32, half))
        place = b.and_(lane, ir.Constant(I32, half - 1))
        at = b.sub(host, b.mul(b.zext(place, I64), ir.Constant(I64, w)))
        spread = b.insert_element(undef(ir.VectorType(I32, half)), place, ir.Constant(I32, 0))
        spread = b.shuffle_vector(spread, undef(spread.type), ir.Constant(ir.VectorType(I32, half), [0] * half))
        b.call(fn, [b.select(upper, parts[1], parts[0]), b.inttoptr(at, ir.PointerType(hty)),
                    ir.Constant(I32, w), b.icmp_unsigned("==", iota, spread)])


def _masked_run(kc: Any, code: int, store: bool, addrs: ir.Value, ity: ir.Type, raw_vals: list,
                results: list, eff: ir.Value, otherwise: ir.Block, joinb: ir.Block) -> None:
    """The active lanes' addresses consecutive, as a warp's lanes lay them out, but not every
    lane active (a tile's top or bottom halo row, a tree reduction's last steps, a partial
    warp at the grid's edge): one masked vector access after checking the span from the
    first to the last active lane, as the whole-warp fast path checks its span."""
    b, L, W = kc.b, kc.lanes, kc.W
    w = ity.width // 8
    bits = b.bitcast(eff, I32)
    lo = call_intrinsic(b, "cttz", [bits, ir.Constant(I1, 0)])
    hi = b.sub(ir.Constant(I32, W - 1), call_intrinsic(b, "ctlz", [bits, ir.Constant(I1, 0)]))
    some = b.icmp_unsigned("!=", bits, ir.Constant(I32, 0))
    lo_safe = b.select(some, lo, ir.Constant(I32, 0))
    a_lo = b.extract_element(addrs, lo_safe)
    lane0 = b.sub(a_lo, b.mul(b.zext(lo_safe, I64), ir.Constant(I64, w)))
    expect = b.add(L.splat(lane0), ir.Constant(L.vt(I64), [ir.Constant(I64, i * w) for i in range(W)]))
    ok = b.and_(some, L.all(b.or_(b.not_(eff), b.icmp_unsigned("==", addrs, expect))))
    ok = b.and_(ok, b.icmp_unsigned("==", b.and_(a_lo, ir.Constant(I64, w - 1)), ir.Constant(I64, 0)))
    span = b.mul(b.zext(b.sub(b.select(some, hi, ir.Constant(I32, 0)), lo_safe), I64), ir.Constant(I64, w))
    last = b.add(a_lo, span)                       # the last active lane's address
    if code == abi.SHARED_SP:
        size = kc.env[abi.SHARED_SIZE]
        fits = b.and_(b.icmp_unsigned(">=", size, ir.Constant(I64, w)),
                      b.icmp_unsigned("<=", last, b.sub(size, ir.Constant(I64, w))))
        ok = b.and_(ok, b.and_(fits, b.icmp_unsigned("<=", a_lo, last)))
        host = b.add(kc.env[abi.SHARED], a_lo)
    else:
        # both ends on backed pages with one delta: the span (under a page) is contiguous
        ok_lo, host = _lane_host(kc, code, a_lo, w)
        ok_hi, host_hi = _lane_host(kc, code, last, w)
        ok = b.and_(ok, b.and_(b.and_(ok_lo, ok_hi), b.icmp_unsigned("==", b.sub(host_hi, host), span)))
    runb = kc.fn.append_basic_block("mem_masked")
    b.cbranch(ok, runb, otherwise)
    b.position_at_end(runb)
    vty = L.vt(ity)
    p = b.inttoptr(b.sub(host, b.mul(b.zext(lo_safe, I64), ir.Constant(I64, w))), ir.PointerType(vty))
    sfx = Lanes.suffix(vty)
    if store:
        fn = L.intrinsic(f"llvm.masked.store.{sfx}.p0{sfx}", ir.VoidType(), [vty, p.type, I32, eff.type])
        b.call(fn, [raw_vals[0], p, ir.Constant(I32, w), eff])
    else:
        fn = L.intrinsic(f"llvm.masked.load.{sfx}.p0{sfx}", vty, [p.type, I32, eff.type, vty])
        b.store(b.call(fn, [p, ir.Constant(I32, w), eff, L.const(ity, 0)]), results[0])
    b.branch(joinb)


def _scattered_access(kc: Any, code: int, store: bool, addrs: ir.Value, ity: ir.Type, vec: int,
                      raw_vals: list, results: list, eff: ir.Value, slowb: ir.Block,
                      joinb: ir.Block) -> None:
    """Lanes not contiguous (or partly masked) but all backed: one gather or scatter per
    component, lanes in order as the interpreter writes them; anything else goes to the
    lane-by-lane path, which reports faults."""
    b, L = kc.b, kc.lanes
    if code not in (abi.GLOBAL, abi.GENERIC, abi.SHARED_SP):
        b.branch(slowb)
        return
    w = ity.width // 8
    ok, hosts = _lane_hosts(kc, code, addrs, eff, w, w * vec if vec > 1 else w)
    gatherb = kc.fn.append_basic_block("mem_gather")
    b.cbranch(ok, gatherb, slowb)
    b.position_at_end(gatherb)
    for i in range(vec):
        ptrs = b.inttoptr(b.add(hosts, L.const(I64, i * w)) if i else hosts,
                          ir.VectorType(ir.PointerType(ity), kc.W))
        if store:
            _masked_scatter(kc, raw_vals[i], ptrs, w, eff)
        else:
            b.store(_masked_gather(kc, ptrs, w, eff, L.const(ity, 0)), results[i])
    b.branch(joinb)


def _ordered(item: Item) -> bool:
    from ..ptx.form import form_of
    form = form_of(item.ins)
    return form.volatile or form.sem in ("relaxed", "acquire", "acq_rel", "sc")


def access(kc: Any, item: Item, store: bool, space: str, addrs: ir.Value, t: str, vec: int,
           values: list[ir.Value] | None, eff: ir.Value) -> list[ir.Value]:
    """Emit one ld/st of `vec` components of type t; returns the loaded raw-bit vectors."""
    b, L = kc.b, kc.lanes
    W = kc.W
    w = width_of(t)
    ity = INT[w]
    stride = vec * w
    code = SPACE_CODE[space]
    fn = kc.fn
    raw_vals = [kc.as_int(v) for v in values] if store else []
    if not store and item.ins is not None and _ordered(item):
        # an acquire, relaxed or volatile load (a spin on a flag another thread sets, as
        # a grid-wide barrier's): a fence in its loop keeps LLVM from hoisting it out
        b.fence("acquire")
    if kc.instrument and code in (abi.GLOBAL, abi.SHARED_SP, abi.GENERIC):
        for i in range(vec):
            emit_check(kc, store, code, b.add(addrs, L.const(I64, i * w)) if i else addrs, w, eff)
    if kc.compact and vec == 1 and code in (abi.GLOBAL, abi.GENERIC, abi.SHARED_SP):
        return quickcall.emit_call(kc, code, store, addrs, ity, raw_vals, eff)
    results = [entry_alloca(fn, L.vt(ity)) for _ in range(vec)] if not store else []
    # what the address analysis knows of the address's step along a row (None: nothing;
    # such accesses keep the fixed order of tiers below)
    step = kc.strides.get(kc.pc) if kc.strides is not None else None
    if vec == 1 and code in (abi.GLOBAL, abi.SHARED_SP) and W == 32 and step is not None:
        joinb = fn.append_basic_block("mem_join")
        _planned_access(kc, code, store, addrs, ity, raw_vals, results, eff, joinb, step)
        b.position_at_end(joinb)
        return [b.load(r) for r in results]
    fast_ok, host = _fast_check(kc, code, addrs, eff, stride)
    fastb = fn.append_basic_block("mem_fast")
    lanesb = fn.append_basic_block("mem_lanes")
    joinb = fn.append_basic_block("mem_join")
    b.cbranch(fast_ok, fastb, lanesb)

    b.position_at_end(fastb)
    p = b.inttoptr(host, _vec_ptr(kc, ity, W * vec))
    if code in (abi.GLOBAL, abi.GENERIC):
        _prefetch_next_warp(kc, host, W * stride, store)
    if store:
        if vec == 1:
            full = raw_vals[0]
        else:
            full = _interleave(kc, raw_vals)
        b.store(full, p, align=w)
    else:
        full = b.load(p, align=w)
        for i in range(vec):
            comp = full if vec == 1 else b.shuffle_vector(
                full, undef(full.type),
                ir.Constant(L.vt(I32), [j * vec + i for j in range(W)]))
            b.store(comp, results[i])
    b.branch(joinb)

    b.position_at_end(lanesb)
    if vec == 1 and code in (abi.GLOBAL, abi.GENERIC, abi.SHARED_SP):
        if code != abi.GENERIC and W == 32:
            tiersb = fn.append_basic_block("mem_tiers")
            _pair_access(kc, code, store, addrs, ity, raw_vals, results, eff, tiersb, joinb)
            b.position_at_end(tiersb)
        if code != abi.GENERIC and _rows_likely(kc):
            _gather_tiers(kc, code, store, addrs, ity, raw_vals, results, eff, joinb)
        if code != abi.GENERIC and W == 32:
            tiersb = fn.append_basic_block("mem_tiers")
            _masked_run(kc, code, store, addrs, ity, raw_vals, results, eff, tiersb, joinb)
            b.position_at_end(tiersb)
        _lanes_last(kc, code, store, addrs, ity, raw_vals, results, eff, joinb)
        b.position_at_end(joinb)
        return [b.load(r) for r in results]
    slowb = fn.append_basic_block("mem_slow")
    _scattered_access(kc, code, store, addrs, ity, vec, raw_vals, results, eff, slowb, joinb)

    b.position_at_end(slowb)
    m = mask_array(kc, eff)
    for i in range(vec):
        helper = slow_helper(kc, store, code, w, stride if (vec > 1 and i == 0) else 0)
        comp_addrs = addrs if i == 0 else b.add(addrs, L.const(I64, i * w))
        b.store(comp_addrs, kc.tmp64)
        if store:
            v = raw_vals[i]
            v64 = v if w == 8 else b.zext(v, L.vt(I64))
            b.store(v64, kc.tmpval)
        arr = ir.PointerType(ir.ArrayType(I64, W))
        status = b.call(helper, [kc.env_ptr, b.bitcast(kc.tmp64, arr), b.bitcast(kc.tmpval, arr), m,
                                 ir.Constant(I64, kc.pc)])
        okb = fn.append_basic_block("mem_slow_ok")
        b.cbranch(b.icmp_unsigned("!=", status, ir.Constant(I32, 0)), kc.fail_bb, okb)
        b.position_at_end(okb)
        if not store:
            got = b.load(kc.tmpval)
            b.store(got if w == 8 else b.trunc(got, L.vt(ity)), results[i])
    b.branch(joinb)
    b.position_at_end(joinb)
    return [b.load(r) for r in results]


def _fast_tier(kc: Any, code: int, store: bool, addrs: ir.Value, ity: ir.Type, raw_vals: list,
               results: list, eff: ir.Value, otherwise: ir.Block, joinb: ir.Block,
               laid: ir.Value | None = None) -> None:
    """The whole warp's access as one vector, when its addresses are consecutive (`laid`:
    that layout's check, if already made)."""
    b, w = kc.b, ity.width // 8
    ok, host = _fast_check(kc, code, addrs, eff, w, laid)
    fastb = kc.fn.append_basic_block("mem_fast")
    b.cbranch(ok, fastb, otherwise)
    b.position_at_end(fastb)
    p = b.inttoptr(host, _vec_ptr(kc, ity, kc.W))
    if code in (abi.GLOBAL, abi.GENERIC):
        _prefetch_next_warp(kc, host, kc.W * w, store)
    if store:
        b.store(raw_vals[0], p, align=w)
    else:
        b.store(b.load(p, align=w), results[0])
    b.branch(joinb)


RUN = 16                           # lanes per row of a block 16 (or 48, 80, ...) threads wide


def _signed64(v: int) -> int:
    return v - (1 << 64) if v >> 63 else v


def _lined(kc: Any, stride: int) -> tuple[int, int]:
    """The layout an access whose address steps `stride` bytes along a block's row
    predicts: rows of RUN lanes in a 2-D block, the whole warp in a 1-D one."""
    return (RUN if _rows_likely(kc) else kc.W, _signed64(stride))


def planned_layouts(kc: Any) -> tuple[dict, set]:
    """The layouts _planned_access will check, by address register, and the registers of
    global accesses among them: what the register's definition checks, and whose
    page-table entries it looks up, where a warp's lanes never part (layouts.py)."""
    from ..ptx.form import form_of
    out: dict = {}
    paged: set = set()
    if kc.strides is None or kc.compact or kc.W != 32:
        return out, paged
    for pc, stride in kc.strides.items():
        item = kc.flat.code[pc]
        if item.kind != "ins" or item.ins is None:
            continue
        form = form_of(item.ins)
        if form.base not in ("ld", "st") or form.vec != 1 or form.space not in ("global", "shared"):
            continue
        reg = address_register(item, form.base == "st")
        if reg is not None:
            out.setdefault(reg, set()).add(_lined(kc, stride))
            if form.space == "global":
                paged.add(reg)
    return out, paged


def page_entry(kc: Any, a: ir.Value) -> tuple[ir.Value, ir.Value, ir.Value]:
    """(page, delta, backed) of the page-table entry of device address `a`: its page's
    index, host - device there, and whether the page is in the table and backed."""
    b, e = kc.b, kc.env
    npages = e[abi.NPAGES]
    page = b.lshr(b.sub(a, e[abi.PAGE_BASE]), ir.Constant(I64, abi.PAGE_SHIFT))
    inside = b.icmp_unsigned("<", page, npages)
    # an index out of range reads entry 0 (an empty table: the safe slot is never read)
    safe = b.icmp_unsigned("!=", npages, ir.Constant(I64, 0))
    table = b.inttoptr(e[abi.PAGES], ir.PointerType(I64))
    delta = b.load(b.gep(table, [b.select(inside, page, ir.Constant(I64, 0))]))
    backed = b.and_(b.and_(inside, safe), b.icmp_unsigned("!=", delta, ir.Constant(I64, 0)))
    return page, delta, backed


def _in_page(kc: Any, head: ir.Value, span: int, entry: tuple) -> tuple[ir.Value, ir.Value]:
    """(ok, host address) of [head, head + span) by a page-table entry looked up before
    (page_entry): ok when the span lies in that page and the page is backed."""
    b, base = kc.b, kc.env[abi.PAGE_BASE]
    page, delta, backed = entry
    shift = ir.Constant(I64, abi.PAGE_SHIFT)
    lo = b.icmp_unsigned("==", b.lshr(b.sub(head, base), shift), page)
    hi = b.icmp_unsigned("==", b.lshr(b.sub(b.add(head, ir.Constant(I64, span - 1)), base), shift), page)
    return b.and_(backed, b.and_(lo, hi)), b.add(head, delta)


def _planned_access(kc: Any, code: int, store: bool, addrs: ir.Value, ity: ir.Type, raw_vals: list,
                    results: list, eff: ir.Value, joinb: ir.Block, stride: int) -> None:
    """A scalar global or shared access of a 32-lane warp whose address's step along a
    block's row the address analysis found (affine.py: `stride`, bytes per step of %tid.x),
    its tiers in the order that predicts.  A whole warp tries the whole-warp tiers, a
    partial one the partial ones (a few lanes' addresses taken from the predicted layout),
    then both the gathers and the lane-by-lane path.  An address contiguous along a block's
    rows starts at the tier its block width makes it take: one vector (a multiple of 32
    threads wide), runs of 16 lanes (16, 48, ...) or of 8; one that is the same along a row
    (`as[ty][k]`), a load, at the broadcast tier.  Every tier checks the lanes' addresses
    itself, so the order changes what an access costs, never what it does.  The check of
    the predicted layout is made here, before the tiers branch, where the next accesses
    through the same register find it (layouts.py)."""
    b, fn, L = kc.b, kc.fn, kc.lanes
    w = ity.width // 8
    rows = _rows_likely(kc)
    lined = _lined(kc, stride)
    laid = kc.layouts.check(kc, address_register(kc.item, store), addrs, *lined)
    fullb, partb, restb = (fn.append_basic_block(n) for n in ("mem_whole", "mem_part", "mem_rest"))
    b.cbranch(L.all(eff), fullb, partb)

    def known(run: int, step: int) -> ir.Value | None:
        return laid if (run, step) == lined else None

    def fast(otherwise: ir.Block) -> None:
        _fast_tier(kc, code, store, addrs, ity, raw_vals, results, eff, otherwise, joinb, known(kc.W, w))

    def runs(row: int) -> Callable[[ir.Block], None]:
        return lambda otherwise: _row_access(kc, code, store, addrs, ity, raw_vals, results, eff,
                                             otherwise, joinb, row, known(row, w))

    def broadcast(otherwise: ir.Block) -> None:
        _run_broadcast(kc, code, addrs, ity, results, eff, otherwise, joinb)

    contiguous = rows and stride == w
    if contiguous:
        chain = [fast, runs(RUN), runs(ROW)]
    elif rows and stride == 0 and not store:
        chain = [broadcast, fast, runs(ROW)]
    else:
        chain = [fast] + ([runs(ROW)] + ([] if store else [broadcast]) if rows else [])
    starts = [fn.append_basic_block("mem_tier") for _ in chain]
    b.position_at_end(fullb)
    if contiguous:
        # the block's width says which tier its rows take (a predictable branch)
        sw = b.switch(b.and_(kc.env[abi.BX], ir.Constant(I64, kc.W - 1)), starts[2])
        sw.add_case(ir.Constant(I64, 0), starts[0])
        sw.add_case(ir.Constant(I64, RUN), starts[1])
    else:
        b.branch(starts[0])
    for i, emit in enumerate(chain):
        b.position_at_end(starts[i])
        emit(starts[i + 1] if i + 1 < len(chain) else restb)

    b.position_at_end(partb)
    if rows:
        tier = fn.append_basic_block("mem_tier")
        _halo_shaped(kc, code, store, addrs, ity, raw_vals, results, eff, tier, joinb, laid, lined[1])
        b.position_at_end(tier)
    if contiguous:
        tier = fn.append_basic_block("mem_tier")
        _runs_masked(kc, code, store, addrs, ity, raw_vals, results, eff, tier, joinb, laid, RUN)
        b.position_at_end(tier)
    # a few lanes of the predicted layout: their addresses from it
    pairs = fn.append_basic_block("mem_tier")
    _pair_access(kc, code, store, addrs, ity, raw_vals, results, eff, pairs, joinb, lined, laid)
    b.position_at_end(pairs)
    masked = fn.append_basic_block("mem_tier")
    _pair_access(kc, code, store, addrs, ity, raw_vals, results, eff, masked, joinb)
    b.position_at_end(masked)
    _masked_run(kc, code, store, addrs, ity, raw_vals, results, eff, restb, joinb)

    b.position_at_end(restb)
    _lanes_last(kc, code, store, addrs, ity, raw_vals, results, eff, joinb)


def _lanes_last(kc: Any, code: int, store: bool, addrs: ir.Value, ity: ir.Type, raw_vals: Any,
                results: Any, eff: ir.Value, joinb: ir.Block) -> None:
    """The last tiers of an access, lane by lane: in-bounds shared lanes need no page table,
    so they are gathered inline (a tile's row broadcast, a sorting network's partners)
    before the out-of-line helper is called for whatever is left."""
    if code == abi.SHARED_SP:
        helperb = kc.fn.append_basic_block("mem_helper")
        _scattered_access(kc, code, store, addrs, ity, 1, raw_vals, results, eff, helperb, joinb)
        kc.b.position_at_end(helperb)
    _call_lanes_helper(kc, code, store, addrs, ity, raw_vals, results, eff, joinb)


def _fast_check(kc: Any, code: int, addrs: ir.Value, eff: ir.Value, stride: int,
                laid: ir.Value | None = None) -> tuple[ir.Value, ir.Value]:
    """(ok, host address) of the whole-warp fast path: every lane active, addresses
    consecutive `stride` bytes apart from an aligned first one (`laid`: that check, if
    already made), all of them backed."""
    b, L, W = kc.b, kc.lanes, kc.W
    a0 = b.extract_element(addrs, ir.Constant(I32, 0))
    fast_ok = L.all(eff)
    if laid is None:
        expect = b.add(L.splat(a0), ir.Constant(L.vt(I64), [ir.Constant(I64, i * stride) for i in range(W)]))
        laid = L.all(b.icmp_unsigned("==", addrs, expect))
    fast_ok = b.and_(fast_ok, laid)
    fast_ok = b.and_(fast_ok, b.icmp_unsigned("==", b.and_(a0, ir.Constant(I64, stride - 1)),
                                              ir.Constant(I64, 0)))
    span = W * stride
    if code in (abi.GLOBAL, abi.GENERIC):
        if code == abi.GENERIC:
            last = b.add(a0, ir.Constant(I64, span - 1))
            for x in (a0, last):
                tag = b.lshr(x, ir.Constant(I64, WINDOW_SHIFT))
                fast_ok = b.and_(fast_ok, b.icmp_unsigned("!=", tag, ir.Constant(I64, SHARED_TAG)))
                fast_ok = b.and_(fast_ok, b.icmp_unsigned("!=", tag, ir.Constant(I64, LOCAL_TAG)))
        ok, host = _fast_global(kc, a0, span)
        return b.and_(fast_ok, ok), host
    if code == abi.SHARED_SP:
        size = kc.env[abi.SHARED_SIZE]
        fits = b.and_(b.icmp_unsigned(">=", size, ir.Constant(I64, span)),
                      b.icmp_unsigned("<=", a0, b.sub(size, ir.Constant(I64, span))))
        return b.and_(fast_ok, fits), b.add(kc.env[abi.SHARED], a0)
    return ir.Constant(I1, 0), a0


def _access_helper(kc: Any, code: int, store: bool, ity: ir.Type, rows: bool) -> ir.Function:
    """i32 f(env, [W x i64]* addrs, [W x i64]* values, [W x i8]* mask, i64 pc): one
    scalar access of a shape with every tier `access` emits inline, out of line, for the
    quick tier (`KernelCompiler.compact`): one copy per shape instead of one per access
    keeps its IR, and so its compile time, small.  0, or 1 after a fault."""
    name = access_helper_name(code, store, ity, rows)
    if name in kc.helpers:
        return kc.helpers[name]
    h = _AccessHelper(kc, name, store, ity)
    fn, b, scope, L, W = h.fn, h.b, h.scope, h.scope.lanes, kc.W
    env, addrs_p, vals_p, mask_p, pc = fn.args
    vt64, addrs, eff, raw, results = h.vt64, h.addrs, h.eff, h.raw, h.results
    w = ity.width // 8
    fast_ok, host = _fast_check(scope, code, addrs, eff, w)
    fastb, lanesb, joinb = (fn.append_basic_block(x) for x in ("mem_fast", "mem_lanes", "mem_join"))
    b.cbranch(fast_ok, fastb, lanesb)
    b.position_at_end(fastb)
    p = b.inttoptr(host, _vec_ptr(scope, ity, W))
    if code in (abi.GLOBAL, abi.GENERIC):
        _prefetch_next_warp(scope, host, W * w, store)
    if store:
        b.store(raw[0], p, align=w)
    else:
        b.store(b.load(p, align=w), results[0])
    b.branch(joinb)
    b.position_at_end(lanesb)
    if rows and code != abi.GENERIC:
        _gather_tiers(scope, code, store, addrs, ity, raw, results, eff, joinb)
    if code == abi.SHARED_SP:
        helperb = fn.append_basic_block("mem_helper")
        _scattered_access(scope, code, store, addrs, ity, 1, raw, results, eff, helperb, joinb)
        b.position_at_end(helperb)
    b.ret(b.call(_lanes_helper(kc, code, store, ity), [env, addrs_p, vals_p, mask_p, pc]))
    b.position_at_end(joinb)
    if not store:
        got = b.load(results[0])
        b.store(got if ity.width == 64 else b.zext(got, L.vt(I64)), b.bitcast(vals_p, vt64))
    b.ret(ir.Constant(I32, 0))
    finish_entry(fn)
    return fn


def _interleave(kc: Any, comps: list[ir.Value]) -> ir.Value:
    b, L = kc.b, kc.lanes
    W = kc.W
    vec = len(comps)
    # concatenate pairwise, then permute lane-major
    parts = list(comps)
    sizes = [W] * vec
    while len(parts) > 1:
        x, y = parts.pop(0), parts.pop(0)
        nx, ny = sizes.pop(0), sizes.pop(0)
        if nx != ny:
            raise JitUnsupported("uneven vector interleave")
        parts.append(b.shuffle_vector(x, y, ir.Constant(ir.VectorType(I32, nx + ny),
                                                        list(range(nx + ny)))))
        sizes.append(nx + ny)
    full = parts[0]
    order = [i * W + j for j in range(W) for i in range(vec)]
    return b.shuffle_vector(full, undef(full.type),
                            ir.Constant(ir.VectorType(I32, W * vec), order))


# ---------------------------------------------------------------- instruction builders

def b_ld(kc: Any, item: Item, f: Form, eff: ir.Value) -> None:
    ins = item.ins
    if len(ins.operands) != 2:
        raise JitUnsupported(f"{ins.opcode} takes 2 operands")
    t = _type(item, f)
    space = f.space
    vec = f.vec
    dst, addr = ins.operands
    targets = dst[1] if dst[0] == "vec" else [dst]
    if len(targets) != vec:
        raise JitUnsupported(f"{ins.opcode}: vector size does not match")
    w = width_of(t)
    b, L = kc.b, kc.lanes
    if space == "param" and addr[0] == "addr" and addr[1] is not None and addr[1][0] == "reg":
        # through a register: offsets in the kernel's parameter space (`mov %rd, k_param_0`)
        base = lane_addresses(kc, item, addr)
        for i, o in enumerate(targets):
            v = _param_gather(kc, b.add(base, L.const(I64, i * w)) if i else base, w, eff)
            kc.write(o, t, kc.from_int(v, t), item, eff)
        return
    if space == "param":
        off, _size, pspace = _param(kc, item, addr)
        for i, o in enumerate(targets):
            if pspace == "kparam":
                if off + (i + 1) * w > kc.max_kparam_read:
                    kc.max_kparam_read = off + (i + 1) * w
                p = b.gep(b.inttoptr(kc.env[abi.PARAMS], PTR8), [ir.Constant(I64, off + i * w)])
                v = b.load(b.bitcast(p, ir.PointerType(INT[w])), align=1)
                kc.write(o, t, kc.from_int(L.splat(v), t), item, eff)
            else:
                tmp = _pparam_rows(kc, off + i * w, w)
                kc.write(o, t, kc.from_int(tmp, t), item, eff)
        return
    addrs = lane_addresses(kc, item, addr)
    got = access(kc, item, False, space, addrs, t, vec, None, eff)
    for o, v in zip(targets, got):
        kc.write(o, t, kc.from_int(v, t), item, eff)


def _param_gather(kc: Any, offs: ir.Value, w: int, eff: ir.Value) -> ir.Value:
    """Each active lane's w bytes at its offset of the kernel parameter buffer; the first
    lane out of bounds or misaligned faults (access.param_load)."""
    b, L = kc.b, kc.lanes
    size = kc.env[abi.NPARAMS]
    bad, reason, faddr = param_check(b, offs, L.splat(size), w)
    bad = b.and_(bad, eff)
    badb = kc.fn.append_basic_block("param_bad")
    okb = kc.fn.append_basic_block("param_ok")
    b.cbranch(L.any(bad), badb, okb)
    b.position_at_end(badb)
    lane = L.first_lane(bad)
    kc.fault_here(abi.PARAM_BOUNDS, lane, b.extract_element(faddr, lane), kc.pc)
    b.position_at_end(okb)
    base = b.inttoptr(kc.env[abi.PARAMS], PTR8)
    safe = b.select(eff, offs, L.const(I64, 0))
    out = L.const(INT[w], 0)
    for j in range(kc.W):
        k = ir.Constant(I32, j)
        p = b.gep(base, [b.extract_element(safe, k)])
        out = b.insert_element(out, b.load(b.bitcast(p, ir.PointerType(INT[w])), align=1), k)
    return out


def _pparam_ptrs(kc: Any, off: int, w: int) -> ir.Value:
    """Each lane's address of `off` in its parameter memory, as a vector of INT[w]*."""
    b, L = kc.b, kc.lanes
    rows = b.mul(L.iota(I64), L.splat(kc.env[abi.PARAM_STRIDE]))
    addrs = b.add(b.add(L.splat(kc.env[abi.PARMEM]), rows), L.const(I64, off))
    return b.inttoptr(addrs, ir.VectorType(ir.PointerType(INT[w]), kc.W))


def _pparam_rows(kc: Any, off: int, w: int) -> ir.Value:
    """Each lane's `w` bytes at `off` of its parameter memory, as a lane vector."""
    L = kc.lanes
    return _masked_gather(kc, _pparam_ptrs(kc, off, w), 1, L.const(I1, 1), L.const(INT[w], 0))


def _param(kc: Any, item: Item, op: tuple) -> tuple[int, int, str]:
    if op[0] != "addr" or op[1] is None or op[1][0] != "sym":
        raise JitUnsupported("param-space access through a register")
    return kc.param_ref(item, op[1], op[2])


def b_st(kc: Any, item: Item, f: Form, eff: ir.Value) -> None:
    ins = item.ins
    if len(ins.operands) != 2:
        raise JitUnsupported(f"{ins.opcode} takes 2 operands")
    t = _type(item, f)
    space = f.space
    vec = f.vec
    addr, src = ins.operands
    sources = src[1] if src[0] == "vec" else [src]
    if len(sources) != vec:
        raise JitUnsupported(f"{ins.opcode}: vector size does not match")
    w = width_of(t)
    b, L = kc.b, kc.lanes
    values = [kc.read(o, t, item) for o in sources]
    if space == "param":
        off, _size, pspace = _param(kc, item, addr)
        if pspace != "pparam":
            raise JitUnsupported("store to a kernel parameter")
        for i, v in enumerate(values):
            _masked_scatter(kc, kc.as_int(v), _pparam_ptrs(kc, off + i * w, w), 1, eff)
        return
    addrs = lane_addresses(kc, item, addr)
    access(kc, item, True, space, addrs, t, vec, values, eff)


def b_cvta(kc: Any, item: Item, f: Form, eff: ir.Value) -> None:
    b, L = kc.b, kc.lanes
    to = f.has("to")
    space = f.space_mod
    t = next((t for t in f.types if t in ("u32", "u64", "b32", "b64", "s64")), "u64")
    if space is None or len(item.ins.operands) != 2:
        raise JitUnsupported(item.ins.opcode)
    window = {"shared": SHARED_WINDOW, "local": LOCAL_WINDOW, "param": PARAM_WINDOW}.get(space, 0)
    w = width_of(t)
    v = kc.read(item.ins.operands[1], t, item)
    if window:
        delta = (-window if to else window) & ((1 << (8 * w)) - 1)
        v = b.add(v, L.const(INT[w], delta))
    kc.write(item.ins.operands[0], t, v, item, eff)


def b_isspacep(kc: Any, item: Item, f: Form, eff: ir.Value) -> None:
    b, L = kc.b, kc.lanes
    space = f.space_mod
    if space is None or len(item.ins.operands) != 2:
        raise JitUnsupported(item.ins.opcode)
    v = kc.read(item.ins.operands[1], "u64", item)
    tag = b.lshr(v, L.const(I64, WINDOW_SHIFT))
    if space == "shared":
        r = b.icmp_unsigned("==", tag, L.const(I64, SHARED_TAG))
    elif space == "local":
        r = b.icmp_unsigned("==", tag, L.const(I64, LOCAL_TAG))
    elif space == "param":
        r = b.icmp_unsigned("==", tag, L.const(I64, PARAM_TAG))
    else:
        r = b.and_(b.icmp_unsigned("!=", tag, L.const(I64, SHARED_TAG)),
                   b.icmp_unsigned("!=", tag, L.const(I64, LOCAL_TAG)))
        r = b.and_(r, b.icmp_unsigned("!=", tag, L.const(I64, PARAM_TAG)))
    kc.write(item.ins.operands[0], "pred", r, item, eff)


BUILDERS: dict[str, Callable] = {"ld": b_ld, "ldu": b_ld, "st": b_st, "cvta": b_cvta,
                                 "isspacep": b_isspacep, **atomics.BUILDERS}
