"""A module's LLVM IR text, as llvmlite prints it (str(module)), byte for byte, but sooner.

llvmlite prints an instruction through a cached-string lookup that fails first, a generic
`descr` into a buffer and str.format calls that format each type and operand through
further lookups: about 6 us an instruction, half of a large kernel's IR generation (an
unrolled 1024-thread bitonic sort: 8,800 instructions, 50 ms).  The instruction kinds a
kernel is made of (loads, stores, casts, arithmetic, compares, selects, address
arithmetic, branches) are printed here with one f-string each, the same text; every other
kind, and any instruction carrying metadata or already printed, goes through llvmlite."""
from __future__ import annotations

from typing import Callable

from llvmlite import ir
from llvmlite.ir import instructions as ins

_CACHED = "_StrCaching__cached_str"     # where llvmlite keeps an instruction's printed text


def module_text(module: ir.Module) -> str:
    """str(module), the same text (llvmlite's Module.__repr__ with a faster body)."""
    lines = [f'; ModuleID = "{module.name}"',
             f'target triple = "{module.triple}"',
             f'target datalayout = "{module.data_layout}"',
             '']
    lines += [it.get_declaration() for it in module.get_identified_types().values()]
    lines += [_function_text(v) if isinstance(v, ir.Function) and v.blocks else str(v)
              for v in module.globals.values()]
    lines += module._get_metadata_lines()
    return "\n".join(lines)


def _function_text(fn: ir.Function) -> str:
    buf: list[str] = []
    fn.descr_prototype(buf)
    buf.append("{\n")
    for blk in fn.blocks:
        buf.append(f"{blk._format_name()}:\n")
        buf += [f"  {instruction_text(i)}\n" for i in blk.instructions]
    buf.append("}\n")
    return "".join(buf)


def instruction_text(i: ins.Instruction) -> str:
    """str(i): llvmlite's own text where it has it or where the kind is not one of ours."""
    d = i.__dict__
    cached = d.get(_CACHED)
    if cached is not None:
        return cached
    body = _BODIES.get(type(i))
    if body is None or i.metadata:
        return str(i)
    text = body(i)
    if not isinstance(i.type, ir.VoidType):
        text = f"{i.get_reference()} = {text}"
    text = text.rstrip()
    d[_CACHED] = text                   # as llvmlite would have kept it
    return text


def _plain(i: ins.Instruction) -> str:
    opname = " ".join([i.opname, *i.flags]) if i.flags else i.opname
    return f"{opname} {i.type} {', '.join([op.get_reference() for op in i.operands])}"


def _cast(i: ins.CastInstr) -> str:
    op = i.operands[0]
    return f"{i.opname} {op.type} {op.get_reference()} to {i.type}"


def _compare(i: ins.CompareInstr) -> str:
    a, b = i.operands
    flags = "".join([" " + f for f in i.flags])
    return f"{i.opname}{flags} {i.op} {a.type} {a.get_reference()}, {b.get_reference()}"


def _load(i: ins.LoadInstr) -> str:
    [ptr] = i.operands
    align = "" if i.align is None else ", align %d" % i.align
    return f"load {i.type}, {ptr.type} {ptr.get_reference()}{align}"


def _store(i: ins.StoreInstr) -> str:
    val, ptr = i.operands
    align = "" if i.align is None else ", align %d" % i.align
    return f"store {val.type} {val.get_reference()}, {ptr.type} {ptr.get_reference()}{align}"


def _alloca(i: ins.AllocaInstr) -> str:
    text = f"{i.opname} {i.allocated_type}"
    if i.operands:
        op, = i.operands
        text += f", {op.type} {op.get_reference()}"
    if i.align is not None:
        text += f", align {i.align}"
    return text


def _select(i: ins.SelectInstr) -> str:
    c, a, b = i.operands
    return (f"select {' '.join(i.flags)} {c.type} {c.get_reference()}, {a.type} {a.get_reference()}, "
            f"{b.type} {b.get_reference()}")


def _gep(i: ins.GEPInstr) -> str:
    indices = ", ".join([f"{x.type} {x.get_reference()}" for x in i.indices])
    op = "getelementptr inbounds" if i.inbounds else "getelementptr"
    p = i.pointer
    return f"{op} {i.source_etype}, {p.type} {p.get_reference()}, {indices}"


def _terminator(i: ins.Terminator) -> str:
    return f"{i.opname} {', '.join([f'{op.type} {op.get_reference()}' for op in i.operands])}"


_BODIES: dict[type, Callable] = {
    ins.Instruction: _plain,
    ins.CastInstr: _cast,
    ins.ICMPInstr: _compare,
    ins.FCMPInstr: _compare,
    ins.LoadInstr: _load,
    ins.StoreInstr: _store,
    ins.AllocaInstr: _alloca,
    ins.SelectInstr: _select,
    ins.GEPInstr: _gep,
    ins.Branch: _terminator,
    ins.ConditionalBranch: _terminator,
}
