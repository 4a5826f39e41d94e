"""Memory instructions: ld/st (scalar and .v2/.v4), atom/red, cvta, isspacep."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import access, fpexact
from .errors import PtxError
from .form import Form
from .memory import (LOCAL_TAG, LOCAL_WINDOW, PARAM_TAG, PARAM_WINDOW, SHARED_TAG, SHARED_WINDOW,
                     WINDOW_SHIFT)
from .ptxast import Instr
from .ptxtypes import DTYPE, SIZE


def _type(ins: Instr, f: Form) -> str:
    if not f.types:
        raise PtxError(f"{ins.opcode}: missing type", ins.line)
    t = f.types[-1]
    if t in ("f16", "bf16", "b128"):
        t = {"f16": "b16", "bf16": "b16"}.get(t, t)
    if t == "b128":
        raise PtxError(f"{ins.opcode}: .b128 is not supported", ins.line)
    return t


def _param_load(ref: Any, dt: np.dtype) -> Callable:
    if ref.space == "kparam":
        off = ref.offset

        def read_k(st: Any, lanes: Any) -> Any:
            if off + dt.itemsize > len(st.kparams):
                raise PtxError(f"parameter read past the {len(st.kparams)}-byte buffer")
            return np.frombuffer(st.kparams, dt, 1, off)[0]
        return read_k
    off = ref.offset

    def read_p(st: Any, lanes: Any) -> Any:
        pm = st.parmem.reshape(st.L, st.param_stride)
        rows = pm[:, off:off + dt.itemsize] if lanes is None else pm[lanes, off:off + dt.itemsize]
        return np.ascontiguousarray(rows).view(dt).reshape(-1)
    return read_p


def b_ld(ins: Instr, f: Form, ctx: Any) -> Callable:
    if len(ins.operands) != 2:
        raise PtxError(f"{ins.opcode} takes 2 operands", ins.line)
    t = _type(ins, f)
    dt = DTYPE[t]
    space = f.space
    vec = f.vec
    dst, addr = ins.operands
    targets = dst[1] if dst[0] == "vec" else [dst]
    if len(targets) != vec:
        raise PtxError(f"{ins.opcode}: vector size does not match the operand", ins.line)
    writers = [ctx.writer(o, t) for o in targets]
    w = dt.itemsize
    if space == "param" and addr[0] == "addr" and addr[1] is not None and addr[1][0] == "reg":
        # Through a register: an address in the kernel's parameter space (`mov %rd, k_param_0`).
        rd_p = ctx.address(addr)
        text_p = ins.text

        def run_param_reg(st: Any, lanes: Any) -> None:
            n = st.L if lanes is None else len(lanes)
            ids = access.lane_ids(st, lanes)
            base = np.broadcast_to(np.asarray(rd_p(st, lanes), np.uint64), (n,))
            for i, wr in enumerate(writers):
                wr(st, lanes, access.param_load(st, ids, base + np.uint64(i * w), dt, text_p))
        return run_param_reg
    if space == "param":
        ref = ctx.param_ref(addr)
        loads = [_param_load(type(ref)(ref.space, ref.offset + i * w), dt) for i in range(vec)]

        def run_param(st: Any, lanes: Any) -> None:
            for wr, ld in zip(writers, loads):
                wr(st, lanes, ld(st, lanes))
        return run_param
    rd = ctx.address(addr)
    text = ins.text
    if vec == 1:
        def run(st: Any, lanes: Any) -> None:
            writers[0](st, lanes, access.load(st, lanes, space, rd(st, lanes), dt, text))
        return run

    def run_vec(st: Any, lanes: Any) -> None:
        base = np.asarray(rd(st, lanes), np.uint64)
        vals = [access.load(st, lanes, space, base + np.uint64(i * w), dt, text,
                            align=vec * w if i == 0 else 0)
                for i in range(vec)]
        for wr, v in zip(writers, vals):
            wr(st, lanes, v)
    return run_vec


def b_st(ins: Instr, f: Form, ctx: Any) -> Callable:
    if len(ins.operands) != 2:
        raise PtxError(f"{ins.opcode} takes 2 operands", ins.line)
    t = _type(ins, f)
    dt = DTYPE[t]
    space = f.space
    vec = f.vec
    addr, src = ins.operands
    sources = src[1] if src[0] == "vec" else [src]
    if len(sources) != vec:
        raise PtxError(f"{ins.opcode}: vector size does not match the operand", ins.line)
    readers = [ctx.reader(o, t) for o in sources]
    w = dt.itemsize
    if space == "param":
        ref = ctx.param_ref(addr)
        if ref.space != "pparam":
            raise PtxError("kernel parameters are read-only", ins.line)
        off = ref.offset

        def run_param(st: Any, lanes: Any) -> None:
            pm = st.parmem.reshape(st.L, st.param_stride)
            n = st.L if lanes is None else len(lanes)
            for i, rd in enumerate(readers):
                v = np.broadcast_to(np.asarray(rd(st, lanes), dt), (n,))
                raw = np.ascontiguousarray(v).view(np.uint8).reshape(n, w)
                o = off + i * w
                if lanes is None:
                    pm[:, o:o + w] = raw
                else:
                    pm[lanes, o:o + w] = raw
        return run_param
    rd = ctx.address(addr)
    text = ins.text

    def run(st: Any, lanes: Any) -> None:
        base = np.asarray(rd(st, lanes), np.uint64)
        for i, r in enumerate(readers):
            access.store(st, lanes, space, base + np.uint64(i * w) if i else base, r(st, lanes),
                         dt, text, align=vec * w if vec > 1 and i == 0 else 0)
    return run


def _atomic_apply(op: str, dt: np.dtype, line: int) -> Callable:
    if op == "add":
        return lambda old, b, c: (old + b).astype(dt)
    if op in ("min", "max") and dt.kind == "f":
        pick = fpexact.fminmax(op == "min", False)
        return lambda old, b, c: pick(old, b).astype(dt)
    if op == "min":
        return lambda old, b, c: np.minimum(old, b)
    if op == "max":
        return lambda old, b, c: np.maximum(old, b)
    if op == "and":
        return lambda old, b, c: old & b
    if op == "or":
        return lambda old, b, c: old | b
    if op == "xor":
        return lambda old, b, c: old ^ b
    if op == "exch":
        return lambda old, b, c: b
    if op == "cas":
        return lambda old, b, c: np.where(old == b, c, old).astype(dt)
    if op == "inc":
        return lambda old, b, c: np.where(old >= b, dt.type(0), old + dt.type(1)).astype(dt)
    if op == "dec":
        return lambda old, b, c: np.where((old == 0) | (old > b), b, old - dt.type(1)).astype(dt)
    raise PtxError(f"unsupported atomic operation .{op}", line)


# vector and half-precision atomics, and .noftz, are not supported
ATOM_UNSUPPORTED = frozenset({"v2", "v4", "v8", "f16", "bf16", "f16x2", "bf16x2", "b128",
                               "noftz"})


def b_atom(ins: Instr, f: Form, ctx: Any) -> Callable:
    red = f.base == "red"
    op = f.mode
    if op is None or f.flags & ATOM_UNSUPPORTED:
        raise PtxError(f"unsupported instruction {ins.opcode}", ins.line)
    t = _type(ins, f)
    dt = DTYPE[t]
    space = f.space
    if space == "param":
        raise PtxError("atomics on parameters are not supported", ins.line)
    ops = ins.operands
    want = (2 if red else 3) + (op == "cas")
    if len(ops) != want:
        raise PtxError(f"{ins.opcode} takes {want} operands", ins.line)
    if red:
        dst, addr, rest = None, ops[0], ops[1:]
    else:
        dst, addr, rest = ctx.writer(ops[0], t), ops[1], ops[2:]
    rd = ctx.address(addr)
    rb = ctx.reader(rest[0], t)
    rc = ctx.reader(rest[1], t) if op == "cas" else None
    apply = _atomic_apply(op, dt, ins.line)
    int_add = op == "add" and dt.kind in "iu"
    text = ins.text

    def run(st: Any, lanes: Any) -> None:
        old = access.atomic(st, lanes, space, rd(st, lanes), dt, rb(st, lanes),
                            None if rc is None else rc(st, lanes), apply, int_add, text)
        if dst is not None:
            dst(st, lanes, old)
    return run


def b_cvta(ins: Instr, f: Form, ctx: Any) -> Callable:
    to = f.has("to")
    space = f.space_mod
    t = next((t for t in f.types if t in ("u32", "u64", "b32", "b64", "s64")), "u64")
    if space is None or len(ins.operands) != 2:
        raise PtxError(f"unsupported instruction {ins.opcode}", ins.line)
    window = {"shared": SHARED_WINDOW, "local": LOCAL_WINDOW, "param": PARAM_WINDOW}.get(space, 0)
    dst = ctx.writer(ins.operands[0], t)
    src = ctx.reader(ins.operands[1], t)
    dt = DTYPE[t]
    mask = (1 << (8 * dt.itemsize)) - 1
    delta = dt.type((-window if to else window) & mask)
    if window == 0:
        return lambda st, lanes: dst(st, lanes, src(st, lanes))
    return lambda st, lanes: dst(st, lanes, np.asarray(src(st, lanes), dt) + delta)


def b_isspacep(ins: Instr, f: Form, ctx: Any) -> Callable:
    space = f.space_mod
    if space is None or len(ins.operands) != 2:
        raise PtxError(f"unsupported instruction {ins.opcode}", ins.line)
    dst = ctx.writer(ins.operands[0], "pred")
    src = ctx.reader(ins.operands[1], "u64")
    tag = {"shared": SHARED_TAG, "local": LOCAL_TAG, "param": PARAM_TAG}.get(space)

    def run(st: Any, lanes: Any) -> None:
        t = np.asarray(src(st, lanes)) >> np.uint64(WINDOW_SHIFT)
        if tag is None:
            dst(st, lanes, (t != SHARED_TAG) & (t != LOCAL_TAG) & (t != PARAM_TAG))
        else:
            dst(st, lanes, t == tag)
    return run


BUILDERS: dict[str, Callable] = {"ld": b_ld, "ldu": b_ld, "st": b_st, "atom": b_atom,
                                 "red": b_atom, "cvta": b_cvta, "isspacep": b_isspacep}
_ = SIZE
