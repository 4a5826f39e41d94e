"""Decode a kernel once into a flat program of closures (the kernel, then its callees).

Registers get slots, variables get addresses in their state space, branch targets
become program counters. Instruction semantics live in the ops_* modules.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from . import ops_alu, ops_mem, ops_warp
from .errors import PtxError
from .module import Kernel, Module, align_up
from .operands import (Reader, Writer, imm_value, is_special, reg_reader, reg_writer,
                       special_reader)
from .parser import reachable, split_call
from .ptxast import Function, Instr, Label
from .ptxtypes import DTYPE, TYPES, storage_of

ALU, BRA, RET, EXIT, CALL, BAR, TRAP, NOP = range(8)

BUILDERS: dict[str, Callable[[Instr, list[str], "Ctx"], Callable]] = {}
for _mod in (ops_alu, ops_mem, ops_warp):
    BUILDERS.update(_mod.BUILDERS)

_NOPS = {"membar", "fence", "prefetch", "prefetchu", "bar.warp", "nanosleep", "pmevent",
         "griddepcontrol", "discard", "applypriority", "createpolicy"}


@dataclass
class Op:
    kind: int
    fn: Callable | None
    guard: int | None          # predicate register slot
    neg: bool
    target: Any                # pc (after fix-up) for BRA/CALL
    text: str


@dataclass
class VarRef:
    space: str                 # global shared local kparam pparam func
    offset: int
    size: int = 0


class Program:
    def __init__(self, module: Module, kernel: Kernel, funcs: list[Function]) -> None:
        self.kernel = kernel
        self.ops: list[Op] = []
        self.reg_dtypes: list[np.dtype] = []
        self.slots: dict[tuple[str, str], int] = {}
        self.vars: dict[tuple[str, str], VarRef] = {}
        layout = module.global_layout()
        self.globals = {n: VarRef("global", off, module.globals[n].size)
                        for n, off in layout.offsets.items()}
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
        local_end = param_end = 0
        for fn in funcs:
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
                    local_end = align_up(local_end, var.align)
                    self.vars[key] = VarRef("local", local_end, var.size)
                    local_end += var.size
                elif var.space == "param":
                    param_end = align_up(param_end, max(var.align, 1))
                    self.vars[key] = VarRef("pparam", param_end, var.size)
                    param_end += var.size
                else:
                    raise PtxError(f".{var.space} variable inside a function", var.line)
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
        self.dynamic_shared_offset = align_up(shared_end, 16)
        for name in dynamic:
            self.module_shared[name] = VarRef("shared", self.dynamic_shared_offset)
        for key, ref in self.vars.items():
            if ref.space == "shared" and ref.offset < 0:
                ref.offset = self.dynamic_shared_offset
        self.shared_static = shared_end
        self.local_size = align_up(local_end, 16)
        self.param_size = align_up(param_end, 16)
        self.functions = {f.name: f for f in funcs}
        self.all_functions = module.functions
        self.max_depth = len(funcs)
        self.func_pc: dict[str, int] = {}
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
            self.ops.append(Op(EXIT if fn.is_entry else RET, None, None, False, None,
                               f"end of {fn.name}"))
        for op in self.ops:
            if op.kind == BRA:
                fname, label, line = op.target
                if (fname, label) not in labels:
                    raise PtxError(f"branch to unknown label {label}", line)
                op.target = labels[(fname, label)]
            elif op.kind == CALL:
                op.target = self.func_pc[op.target]
        self.bytes_per_lane = (sum(dt.itemsize for dt in self.reg_dtypes) + self.local_size
                               + self.param_size + 160)


class Ctx:
    """Decoding context of one function: resolves names to slots and addresses."""

    def __init__(self, prog: Program, fn: Function) -> None:
        self.prog = prog
        self.fn = fn
        self.line = fn.line

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
                return reg_reader(slot, storage, t)
            if is_special(name):
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
        return reg_writer(slot, storage, t)

    def reg_type(self, op: tuple) -> str | None:
        return self.fn.regs.get(op[1]) if op[0] == "reg" else None

    def sym_address(self, name: str, extra: int, t: str) -> Reader:
        ref = self.var(name)
        dt = DTYPE[t]
        if ref.space == "global":
            off = ref.offset + extra

            def read(st: Any, lanes: Any) -> Any:
                return dt.type((st.globals_addr + off) & ((1 << (8 * dt.itemsize)) - 1))
            return read
        if ref.space in ("shared", "local"):
            value = dt.type(ref.offset + extra)
            return lambda st, lanes: value
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
        self.line = ins.line
        ops = self.prog.ops
        parts = ins.opcode.split(".")
        base = parts[0]
        guard, neg = None, False
        if ins.guard is not None:
            gname, neg = ins.guard
            slot, storage, t = self.slot(gname)
            if t != "pred":
                raise PtxError(f"guard {gname} is not a predicate", ins.line)
            guard = slot
        mods = parts[1:]

        def add(kind: int, fn: Callable | None = None, target: Any = None) -> None:
            ops.append(Op(kind, fn, guard, neg, target, ins.text))

        if base == "bra" or base == "brx":
            if base == "brx" or not ins.operands or ins.operands[0][0] != "sym":
                raise PtxError("unsupported branch form", ins.line)
            add(BRA, target=(self.fn.name, ins.operands[0][1], ins.line))
        elif base == "ret":
            add(EXIT if self.fn.is_entry else RET)
        elif base == "exit":
            add(EXIT)
        elif base in ("trap", "brkpt"):
            add(TRAP)
        elif base in ("bar", "barrier") and (not mods or mods[0] in ("sync", "cta", "aligned")
                                             or mods[-1] in ("sync", "aligned")):
            if "warp" in mods:
                add(NOP)
            elif "arrive" in mods or "red" in mods:
                raise PtxError(f"unsupported barrier form {ins.opcode}", ins.line)
            else:
                add(BAR)
        elif base in _NOPS or ".".join(parts[:2]) in _NOPS:
            add(NOP)
        elif base == "call":
            self.emit_call(ins, add)
        elif base in BUILDERS:
            add(ALU, BUILDERS[base](ins, mods, self))
        else:
            raise PtxError(f"unsupported instruction {ins.opcode}", ins.line)

    def emit_call(self, ins: Instr, add: Callable) -> None:
        rets, target, args = split_call(ins)
        if target[0] != "sym":
            raise PtxError("indirect calls are not supported", ins.line)
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
        copies = []
        for arg, formal in zip(args, callee.params):
            src = self.param_ref(("addr", arg, 0))
            dst = self.prog.vars[(name, formal.name)]
            copies.append((src.offset, dst.offset, min(formal.size, src.size or formal.size)))
        back = []
        for ret, formal in zip(rets, callee.rets):
            dst = self.param_ref(("addr", ret, 0))
            src = self.prog.vars[(name, formal.name)]
            back.append((src.offset, dst.offset, min(formal.size, dst.size or formal.size)))
        add(CALL, _param_copier(copies), target=name)
        self.prog.ops.append(Op(ALU, _param_copier(back), None, False, None, ins.text))


def _param_copier(copies: list[tuple[int, int, int]]) -> Callable:
    def run(st: Any, lanes: Any) -> None:
        pm = st.parmem.reshape(st.L, st.param_stride)
        for src, dst, size in copies:
            if lanes is None:
                pm[:, dst:dst + size] = pm[:, src:src + size]
            else:
                pm[lanes, dst:dst + size] = pm[lanes, src:src + size]
    return run


def _check_recursion(entry: Function, functions: dict[str, Function]) -> None:
    from .parser import _callees
    state: dict[str, int] = {}

    def visit(name: str, line: int) -> None:
        if state.get(name) == 1:
            raise PtxError(f"recursive call to {name} is not supported", line)
        if state.get(name) == 2 or name not in functions:
            return
        state[name] = 1
        for callee in sorted(_callees(functions[name])):
            visit(callee, functions[name].line)
        state[name] = 2

    visit(entry.name, entry.line)


def program_for(module: Module, name: str) -> Program:
    prog = module._programs.get(name)
    if prog is None:
        entry = module.functions[name]
        _check_recursion(entry, module.functions)
        prog = Program(module, module.kernels[name], reachable(entry, module.functions))
        module._programs[name] = prog
    return prog


__all__ = ["Program", "Op", "program_for", "ALU", "BRA", "RET", "EXIT", "CALL", "BAR", "TRAP",
           "NOP", "TYPES"]
