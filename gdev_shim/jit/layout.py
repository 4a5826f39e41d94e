"""A kernel and its callees flattened into one instruction list, with the interpreter's layout.

Program counters index `Flat.code`; the placement of shared/local/param variables is taken
from the interpreter's decoded program so both engines agree on every address.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..ptx.decode import program_for
from ..ptx.errors import PtxError
from ..ptx.form import form_of
from ..ptx.module import Module
from ..ptx.parser import split_call
from ..ptx.ptxast import Function, Instr, Label
from .errors import JitUnsupported

_CONTROL = {"bra", "brx", "ret", "exit", "trap", "brkpt", "call", "bar", "barrier"}


@dataclass
class Item:
    """One program counter: a PTX instruction, or a synthetic step (end of a body, the
    copy-back after a call, the result write after a bar.red)."""
    fn: Function
    ins: Instr | None
    kind: str                   # 'ins' | 'end' | 'copyback' | 'barred'
    text: str
    call: tuple | None = None   # for 'copyback': (copies) after a call returns


@dataclass
class Flat:
    kernel: str
    code: list[Item] = field(default_factory=list)
    labels: dict[tuple[str, str], int] = field(default_factory=dict)
    func_pc: dict[str, int] = field(default_factory=dict)
    functions: dict[str, Function] = field(default_factory=dict)
    prog: Any = None            # the interpreter's decoded program (layout only)
    has_barrier: bool = False
    has_calls: bool = False
    indirect: bool = False      # a call through a function pointer

    def var(self, fn: Function, name: str) -> Any:
        """The VarRef of a symbol as seen from `fn` (same lookup order as the interpreter)."""
        prog = self.prog
        ref = prog.vars.get((fn.name, name))
        if ref is None:
            ref = prog.module_shared.get(name) or prog.globals.get(name)
        if ref is None:
            raise JitUnsupported(f"symbol {name} has no data address")
        return ref


def flatten(module: Module, kernel: str) -> Flat:
    try:
        prog = program_for(module, kernel)
    except PtxError as exc:
        raise JitUnsupported(f"not decodable: {exc}") from None
    for attr in ("vars", "module_shared", "globals", "dynamic_shared_offset", "local_size",
                 "param_size"):
        if not hasattr(prog, attr):
            raise JitUnsupported(f"interpreter program lacks {attr}")
    # the interpreter's functions: the kernel, then all it may reach (through pointers too)
    funcs = list(prog.functions.values())
    flat = Flat(kernel, prog=prog, functions=dict(prog.functions))
    for fn in funcs:
        flat.func_pc[fn.name] = len(flat.code)
        for item in fn.body:
            if isinstance(item, Label):
                flat.labels[(fn.name, item.name)] = len(flat.code)
                continue
            form = form_of(item)
            base = form.base
            flat.code.append(Item(fn, item, "ins", item.text))
            if base in ("bar", "barrier") and not form.has("warp"):
                flat.has_barrier = True
                if form.has("red"):
                    # released lanes resume here and read the block-wide reduction
                    flat.code.append(Item(fn, item, "barred", item.text))
            elif base == "call":
                rets, target, _ = split_call(item)
                callee = flat.functions.get(target[1]) if target[0] == "sym" else None
                if target[0] == "reg":
                    flat.indirect = True
                if target[0] == "reg" or (callee is not None and callee.defined):
                    flat.has_calls = True
                    flat.code.append(Item(fn, item, "copyback", item.text))
        flat.code.append(Item(fn, None, "end", f"end of {fn.name}"))
    return flat


def brx_targets(flat: Flat, item: Item) -> list[int]:
    """The program counters of a brx.idx's .branchtargets list, in order."""
    ops = item.ins.operands
    if len(ops) != 2 or ops[1][0] != "sym" or ops[1][1] not in item.fn.targets:
        raise JitUnsupported("brx.idx needs an index and a .branchtargets list")
    out = []
    for label in item.fn.targets[ops[1][1]]:
        if (item.fn.name, label) not in flat.labels:
            raise JitUnsupported(f"branch to unknown label {label}")
        out.append(flat.labels[(item.fn.name, label)])
    return out


def is_barrier_wait(item: Item) -> bool:
    """A block barrier at which the arriving lanes wait (bar.sync, barrier.sync, bar.red)."""
    if item.kind != "ins":
        return False
    form = form_of(item.ins)
    return form.base in ("bar", "barrier") and not form.has("warp") and not form.has("arrive")


def is_control(item: Item) -> bool:
    if item.kind == "end":
        return True
    if item.kind != "ins":
        return False
    return form_of(item.ins).base in _CONTROL
