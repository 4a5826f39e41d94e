"""Decode a kernel once into a flat program of closures (the kernel, then its callees).

Registers get slots, variables get addresses in their state space, branch targets
become program counters. Instruction semantics live in the ops_* modules.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from . import barrier, calls, ops_alu, ops_mem, ops_tex, ops_warp
from .errors import PtxError
from .form import Form, form_of
from .module import Kernel, Module, align_up
from .operands import (Reader, Writer, imm_value, is_special, reg_reader, reg_writer,
                       special_reader)
from .parser import address_taken, callees, indirect_callees, reachable, split_call
from .ptxast import Function, Instr, Label
from .ptxtypes import DTYPE, TYPES, storage_of

ALU, BRA, RET, EXIT, CALL, BAR, TRAP, NOP, BRX, ICALL = range(10)

BUILDERS: dict[str, Callable[[Instr, Form, "Ctx"], Callable]] = {}
for _mod in (ops_alu, ops_mem, ops_tex, ops_warp):
    BUILDERS.update(_mod.BUILDERS)


@dataclass
class Op:
    kind: int
    fn: Any                    # ALU: f(st, lanes); CALL/RET: side effect; BAR: BarrierSpec;
                               # BRX: per-lane target pcs; ICALL: [(lanes, pc)] after the call
    guard: int | None          # predicate register slot
    neg: bool
    target: Any                # pc (after fix-up) for BRA/CALL
    text: str
    skip: int = 1              # how far lanes whose guard is false advance


@dataclass
class VarRef:
    space: str                 # global shared local kparam pparam func
    offset: int
    size: int = 0
    entry: bool = True         # local: declared in the kernel itself (frame at offset 0)


class Program:
    def __init__(self, module: Module, kernel: Kernel, funcs: list[Function],
                 taken: set[str] | None = None) -> None:
        self.kernel = kernel
        self.module = module
        self.ops: list[Op] = []
        self.reg_dtypes: list[np.dtype] = []
        self.slots: dict[tuple[str, str], int] = {}
        self.vars: dict[tuple[str, str], VarRef] = {}
        self.taken = taken or set()
        layout = module.global_layout()
        self.globals = {n: VarRef("global", off, module.globals[n].size)
                        for n, off in layout.offsets.items()}
        self.relocs = layout.relocs
        # Static shared: module scope first, then each function's own declarations.
        shared_end = 0
        dynamic: list[str] = []
        self.module_shared: dict[str, VarRef] = {}
        for var in module.shared_vars:
            if var.extern:
                dynamic.append(var.name)
                continue
            shared_end = align_up(shared_end, var.align)
            self.module_shared[var.name] = VarRef("shared", shared_end, var.size)
            shared_end += var.size
        self.functions = {f.name: f for f in funcs}
        self.all_functions = module.functions
        # Parameter memory: the return buffer first, then one region per function.
        retbuf = 0
        for fn in funcs:
            if not fn.is_entry:
                retbuf = max(retbuf, _packed(fn.rets)[1])
        param_end = align_up(retbuf, 16)
        self.frames: dict[str, calls.Frame] = {}
        self.reach = _reach(funcs, self.functions, self.taken)
        # Without recursion every function's locals get a fixed place (frames never move);
        # with it, each call pushes a frame and callee locals are frame-relative.
        self.recursive = any(f.name in self.reach[f.name] for f in funcs)
        static_end = 0
        for fn in funcs:
            frame = self.frames[fn.name] = calls.Frame(fn.name, param_start=param_end)
            local_end = 0 if self.recursive else align_up(static_end, 16)
            for var in fn.vars:
                key = (fn.name, var.name)
                if var.space == "shared":
                    if var.extern:
                        self.vars[key] = VarRef("shared", -1)
                        continue
                    shared_end = align_up(shared_end, var.align)
                    self.vars[key] = VarRef("shared", shared_end, var.size)
                    shared_end += var.size
                elif var.space == "local":
                    # Frames start 16-aligned, so a variable's .align holds in every frame.
                    local_end = align_up(local_end, max(var.align, 1))
                    self.vars[key] = VarRef("local", local_end, var.size,
                                            fn.is_entry or not self.recursive)
                    local_end += var.size
                elif var.space == "param":
                    param_end = align_up(param_end, max(var.align, 1))
                    self.vars[key] = VarRef("pparam", param_end, var.size)
                    param_end += var.size
                else:
                    raise PtxError(f".{var.space} variable inside a function", var.line)
            if max((v.align for v in fn.vars if v.space == "local"), default=1) > 16:
                raise PtxError(f".local alignment above 16 in {fn.name}", fn.line)
            if self.recursive:
                frame.locals_size = local_end
            else:
                static_end = local_end
            if fn.is_entry:
                off = 0
                for p in fn.params:
                    off = align_up(off, p.align)
                    self.vars[(fn.name, p.name)] = VarRef("kparam", off, p.size)
                    off += p.size
            else:
                for p in fn.params + fn.rets:
                    param_end = align_up(param_end, max(p.align, 1))
                    self.vars[(fn.name, p.name)] = VarRef("pparam", param_end, p.size)
                    param_end += p.size
            frame.param_end = param_end
        self.dynamic_shared_offset = align_up(shared_end, 16)
        for name in dynamic:
            self.module_shared[name] = VarRef("shared", self.dynamic_shared_offset)
        for key, ref in self.vars.items():
            if ref.space == "shared" and ref.offset < 0:
                ref.offset = self.dynamic_shared_offset
        self.shared_static = shared_end
        self.param_size = align_up(param_end, 16)
        self.max_depth = len(funcs)
        self.func_pc: dict[str, int] = {}
        # id(instruction) -> (registers it reads, registers it writes), for the JIT
        self.uses: dict[int, tuple[frozenset[str], frozenset[str]]] = {}
        labels: dict[tuple[str, str], int] = {}
        for fn in funcs:
            self.func_pc[fn.name] = len(self.ops)
            ctx = Ctx(self, fn)
            for item in fn.body:
                if isinstance(item, Label):
                    labels[(fn.name, item.name)] = len(self.ops)
                else:
                    ctx.emit(item)
            # Falling off the end of a body returns.
            self.ops.append(Op(EXIT if fn.is_entry else RET,
                               None if fn.is_entry else ctx.returner(), None, False, None,
                               f"end of {fn.name}"))
        for fn in funcs:
            slots = [(slot, self.reg_dtypes[slot]) for (fname, _), slot in self.slots.items()
                     if fname == fn.name]
            if self.recursive:
                self.frames[fn.name].finish(slots)
        for op in self.ops:
            if op.kind == BRA:
                fname, label, line = op.target
                if (fname, label) not in labels:
                    raise PtxError(f"branch to unknown label {label}", line)
                op.target = labels[(fname, label)]
            elif op.kind == BRX:
                fname, names, line = op.target
                for label in names:
                    if (fname, label) not in labels:
                        raise PtxError(f"branch to unknown label {label}", line)
                op.target = np.array([labels[(fname, n)] for n in names], np.int64)
            elif op.kind == CALL:
                op.target = self.func_pc[op.target]
        # Per-thread local memory: the deepest chain of frames, or a fixed stack if recursive.
        if self.recursive:
            need, _ = _stack_need(funcs[0].name, self.frames, self.functions, self.taken)
            self.local_size = align_up(max(need, calls.RECURSION_STACK), 16)
        else:
            self.local_size = align_up(static_end, 16)
        self.bytes_per_lane = (sum(dt.itemsize for dt in self.reg_dtypes) + self.local_size
                               + self.param_size + 160)

    def function_pc(self, address: int) -> str | None:
        """The reachable, defined function at a function address, or None."""
        name = self.module.function_at(address)
        if name is None or name not in self.functions or self.functions[name].is_entry:
            return None
        return name


def _packed(decls: list[Any]) -> tuple[list[int], int]:
    """Offsets of parameters packed in order, each at its alignment; and the end."""
    offs, end = [], 0
    for d in decls:
        end = align_up(end, max(d.align, 1))
        offs.append(end)
        end += d.size
    return offs, end


def _reach(funcs: list[Function], functions: dict[str, Function], taken: set[str]
           ) -> dict[str, set[str]]:
    """For every function, the functions it may reach through one or more calls."""
    direct = {f.name: {c for c in callees(f, taken) if c in functions} for f in funcs}
    out: dict[str, set[str]] = {}
    for name in direct:
        seen: set[str] = set()
        todo = list(direct[name])
        while todo:
            c = todo.pop()
            if c not in seen:
                seen.add(c)
                todo.extend(direct.get(c, ()))
        out[name] = seen
    return out


def _stack_need(entry: str, frames: dict[str, calls.Frame], functions: dict[str, Function],
                taken: set[str]) -> tuple[int, bool]:
    """Bytes of the deepest frame chain from entry, and whether a cycle exists."""
    memo: dict[str, int] = {}
    active: set[str] = set()
    cyclic = False

    def need(name: str) -> int:
        nonlocal cyclic
        if name in memo:
            return memo[name]
        if name in active:
            cyclic = True
            return 0
        active.add(name)
        deepest = max((need(c) for c in callees(functions[name], taken) if c in functions),
                      default=0)
        active.discard(name)
        memo[name] = frames[name].size + deepest
        return memo[name]

    return need(entry), cyclic


class Ctx:
    """Decoding context of one function: resolves names to slots and addresses."""

    def __init__(self, prog: Program, fn: Function) -> None:
        self.prog = prog
        self.fn = fn
        self.line = fn.line
        # registers the instruction being decoded reads and writes (prog.uses)
        self.reads: set[str] = set()
        self.writes: set[str] = set()

    # -- names ---------------------------------------------------------------
    def slot(self, name: str) -> tuple[int, np.dtype, str]:
        t = self.fn.regs.get(name)
        if t is None:
            raise PtxError(f"undeclared register {name}", self.line)
        key = (self.fn.name, name)
        slot = self.prog.slots.get(key)
        if slot is None:
            slot = self.prog.slots[key] = len(self.prog.reg_dtypes)
            self.prog.reg_dtypes.append(storage_of(t, self.line))
        return slot, self.prog.reg_dtypes[slot], t

    def var(self, name: str) -> VarRef:
        ref = self.prog.vars.get((self.fn.name, name))
        if ref is None:
            ref = self.prog.module_shared.get(name) or self.prog.globals.get(name)
        if ref is None and name in self.prog.all_functions:
            ref = VarRef("func", 0)
        if ref is None:
            raise PtxError(f"unknown symbol {name}", self.line)
        return ref

    # -- operands ------------------------------------------------------------
    def reader(self, op: tuple, t: str) -> Reader:
        kind = op[0]
        if t not in DTYPE:
            raise PtxError(f"unsupported type .{t}", self.line)
        if kind == "reg":
            name = op[1]
            if name in self.fn.regs:
                slot, storage, _ = self.slot(name)
                self.reads.add(name)
                return reg_reader(slot, storage, t)
            if is_special(name):
                self.reads.add(name)
                return special_reader(name, t, self.line)
            raise PtxError(f"undeclared register {name}", self.line)
        if kind in ("imm", "fimm", "fval"):
            value = imm_value(op, t, self.line)
            return lambda st, lanes: value
        if kind == "sym":
            return self.sym_address(op[1], op[2], t)
        if kind == "not":
            inner = self.reader(op[1], "pred")
            return lambda st, lanes: ~inner(st, lanes)
        raise PtxError(f"unsupported operand {op[0]}", self.line)

    def writer(self, op: tuple, t: str) -> Writer:
        if op[0] == "sink":
            return lambda st, lanes, value: None
        if op[0] != "reg" or op[1] not in self.fn.regs:
            raise PtxError(f"destination must be a register, found {op!r}", self.line)
        slot, storage, _ = self.slot(op[1])
        self.writes.add(op[1])
        return reg_writer(slot, storage, t)

    def reg_type(self, op: tuple) -> str | None:
        return self.fn.regs.get(op[1]) if op[0] == "reg" else None

    def sym_address(self, name: str, extra: int, t: str) -> Reader:
        ref = self.var(name)
        dt = DTYPE[t]
        mask = (1 << (8 * dt.itemsize)) - 1
        if ref.space == "global":
            off = ref.offset + extra

            def read(st: Any, lanes: Any) -> Any:
                return dt.type((st.globals_addr + off) & mask)
            return read
        if ref.space == "local" and not ref.entry:
            # A callee's frame moves with the call depth of each lane.
            off_l = np.int64(ref.offset + extra)

            def read_frame(st: Any, lanes: Any) -> Any:
                fp = st.fp if lanes is None else st.fp[lanes]
                return (fp + off_l).astype(dt)
            return read_frame
        if ref.space in ("shared", "local", "kparam"):
            # kparam: an address in the kernel's parameter space (ld.param through a register).
            value = dt.type((ref.offset + extra) & mask)
            return lambda st, lanes: value
        if ref.space == "func":
            fvalue = dt.type((self.prog.module.function_address(name) + extra) & mask)
            return lambda st, lanes: fvalue
        raise PtxError(f"taking the address of {name} ({ref.space}) is not supported", self.line)

    def address(self, op: tuple) -> Reader:
        """A `[base+offset]` operand as uint64 addresses in the instruction's space."""
        if op[0] != "addr":
            raise PtxError("expected an address operand [..]", self.line)
        base, off = op[1], op[2]
        offset = np.uint64(off & 0xFFFF_FFFF_FFFF_FFFF)
        if base is None:
            return lambda st, lanes: offset
        if base[0] == "sym":
            return self.sym_address(base[1], off, "u64")
        rd = self.reader(base, "u64")
        if off == 0:
            return rd
        return lambda st, lanes: rd(st, lanes) + offset

    def param_ref(self, op: tuple) -> VarRef:
        """A param-space address: a parameter variable plus a constant offset."""
        if op[0] != "addr" or op[1] is None or op[1][0] != "sym":
            raise PtxError("param-space access through a register is not supported", self.line)
        ref = self.var(op[1][1])
        if ref.space not in ("kparam", "pparam"):
            raise PtxError(f"{op[1][1]} is not a parameter", self.line)
        return VarRef(ref.space, ref.offset + op[2], ref.size)

    # -- instructions --------------------------------------------------------
    def emit(self, ins: Instr) -> None:
        self.reads, self.writes = set(), set()
        self.decode(ins)
        self.prog.uses[id(ins)] = (frozenset(self.reads), frozenset(self.writes))

    def decode(self, ins: Instr) -> None:
        self.line = ins.line
        ops = self.prog.ops
        form = form_of(ins)
        base = form.base
        guard, neg = None, False
        if ins.guard is not None:
            gname, neg = ins.guard
            slot, storage, t = self.slot(gname)
            self.reads.add(gname)
            if t != "pred":
                raise PtxError(f"guard {gname} is not a predicate", ins.line)
            guard = slot

        def add(kind: int, fn: Callable | None = None, target: Any = None) -> None:
            ops.append(Op(kind, fn, guard, neg, target, ins.text))

        if base == "bra":
            if not ins.operands or ins.operands[0][0] != "sym":
                raise PtxError("unsupported branch form", ins.line)
            add(BRA, target=(self.fn.name, ins.operands[0][1], ins.line))
        elif base == "brx":
            self.emit_brx(ins, add)
        elif base == "ret":
            add(EXIT if self.fn.is_entry else RET, self.returner())
        elif base == "exit":
            add(EXIT)
        elif base in ("trap", "brkpt"):
            add(TRAP)
        elif base in ("bar", "barrier") and form.has("warp"):
            add(NOP)
        elif base in ("bar", "barrier") and form.has("cluster"):
            raise PtxError(f"unsupported barrier form {ins.opcode}", ins.line)
        elif base in ("bar", "barrier"):
            add(BAR, barrier.build(ins, form, self))
        elif form.noop:
            add(NOP)
        elif base == "call":
            self.emit_call(ins, add)
        elif base in BUILDERS:
            add(ALU, BUILDERS[base](ins, form, self))
        else:
            raise PtxError(f"unsupported instruction {ins.opcode}", ins.line)

    def returner(self) -> Callable | None:
        """Copies of this function's return values into the return buffer."""
        offs, _ = _packed(self.fn.rets)
        copies = [(self.prog.vars[(self.fn.name, r.name)].offset, off, r.size)
                  for r, off in zip(self.fn.rets, offs)]
        return calls.returner(copies)

    def emit_brx(self, ins: Instr, add: Callable) -> None:
        """brx.idx index, targets: `targets` names a .branchtargets list."""
        ops = ins.operands
        if len(ops) != 2 or ops[1][0] != "sym" or ops[1][1] not in self.fn.targets:
            raise PtxError("brx.idx needs an index and a .branchtargets list", ins.line)
        rd = self.reader(ops[0], "u32")
        names = self.fn.targets[ops[1][1]]
        op_ref: list[Op] = []
        text = ins.text

        def targets(st: Any, lanes: Any) -> np.ndarray:
            table = op_ref[0].target
            n = st.L if lanes is None else len(lanes)
            idx = np.broadcast_to(np.asarray(rd(st, lanes)).astype(np.int64), (n,))
            bad = idx >= len(table)
            if bad.any():
                k = int(np.flatnonzero(bad)[0])
                lane = k if lanes is None else int(lanes[k])
                raise st.fault(lane, text, None,
                               f"brx.idx index {int(idx[k])} out of range ({len(table)} targets)")
            return table[idx]
        add(BRX, targets, target=(self.fn.name, names, ins.line))
        op_ref.append(self.prog.ops[-1])

    def arg_copies(self, args: list, formals: list) -> list[tuple[int, int, int]]:
        copies = []
        for arg, (formal, dst) in zip(args, formals):
            src = self.param_ref(("addr", arg, 0))
            copies.append((src.offset, dst, min(formal.size, src.size or formal.size)))
        return copies

    def _reenters(self, names: list[str]) -> bool:
        me = self.fn.name
        return any(n == me or me in self.prog.reach.get(n, ()) for n in names)

    def emit_call(self, ins: Instr, add: Callable) -> None:
        rets, target, args = split_call(ins)
        caller = self.prog.frames[self.fn.name]
        if target[0] == "reg":
            self.emit_indirect(ins, rets, target, args, add)
            return
        name = target[1]
        callee = self.prog.functions.get(name)
        if callee is None or not callee.defined:
            if name == "vprintf":
                from .printf import build_vprintf
                add(ALU, build_vprintf(ins, rets, args, self))
                return
            raise PtxError(f"call to undefined function {name}", ins.line)
        if len(args) != len(callee.params) or len(rets) != len(callee.rets):
            raise PtxError(f"call to {name} with the wrong number of parameters", ins.line)
        ret_dsts = [self.param_ref(("addr", r, 0)) for r in rets]
        recursive = self._reenters([name])
        caller.saves |= recursive
        formals = [(p, self.prog.vars[(name, p.name)].offset) for p in callee.params]
        copies = self.arg_copies(args, formals)
        back = _ret_copies(callee, ret_dsts)
        add(CALL, calls.precall(caller, self.prog.frames[name], copies, recursive, ins.text),
            target=name)
        self._post_call(ins, caller, back, recursive)

    def _post_call(self, ins: Instr, caller: calls.Frame, back: list, recursive: bool) -> None:
        # Lanes whose guard is false skip the call and this op both (skip=2), so the
        # op after the call runs exactly for the lanes that return from it.
        ops = self.prog.ops
        ops[-1].skip = 2
        ops.append(Op(ALU, calls.postcall(caller, back, recursive), None, False, None, ins.text))

    def emit_indirect(self, ins: Instr, rets: list, target: tuple, args: list,
                      add: Callable) -> None:
        names = indirect_callees(self.fn, ins, self.prog.taken)
        caller = self.prog.frames[self.fn.name]
        recursive = self._reenters(names)
        caller.saves |= recursive
        ret_dsts = [self.param_ref(("addr", r, 0)) for r in rets]
        rd = self.reader(target, "u64")
        pres: dict[int, tuple[Callable, str]] = {}
        back: list[tuple[int, int, int]] | None = None
        for name in names:
            callee = self.prog.functions.get(name)
            if callee is None or not callee.defined:
                continue
            if len(args) != len(callee.params) or len(rets) != len(callee.rets):
                continue            # another prototype: calling it from this site faults
            formals = [(p, self.prog.vars[(name, p.name)].offset) for p in callee.params]
            pre = calls.precall(caller, self.prog.frames[name], self.arg_copies(args, formals),
                                recursive, ins.text)
            pres[self.prog.module.function_address(name)] = (pre, name)
            if back is None:
                back = _ret_copies(callee, ret_dsts)
        prog = self.prog
        text = ins.text

        def dispatch(st: Any, lanes: Any) -> list[tuple[np.ndarray, int]]:
            ids = np.arange(st.L) if lanes is None else lanes
            addr = np.broadcast_to(np.asarray(rd(st, lanes), np.uint64), ids.shape)
            groups = []
            for value in np.unique(addr).tolist():
                hit = pres.get(value)
                sub = ids[addr == np.uint64(value)]
                if hit is None:
                    raise st.fault(int(sub[0]), text, value,
                                   "indirect call to an address that is no callable function")
                hit[0](st, sub)
                groups.append((sub, prog.func_pc[hit[1]]))
            return groups
        add(ICALL, dispatch)
        self._post_call(ins, caller, back or [], recursive)


def _ret_copies(callee: Function, dsts: list[VarRef]) -> list[tuple[int, int, int]]:
    offs, _ = _packed(callee.rets)
    return [(off, d.offset, min(f.size, d.size or f.size))
            for f, off, d in zip(callee.rets, offs, dsts)]


def program_for(module: Module, name: str) -> Program:
    prog = module._programs.get(name)
    if prog is None:
        entry = module.functions[name]
        taken = address_taken(module.functions, module.globals)
        prog = Program(module, module.kernels[name], reachable(entry, module.functions, taken),
                       taken)
        module._programs[name] = prog
    return prog


__all__ = ["Program", "Op", "program_for", "ALU", "BRA", "RET", "EXIT", "CALL", "BAR", "TRAP",
           "NOP", "BRX", "ICALL", "TYPES"]
