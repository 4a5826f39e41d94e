"""Syntax tree of PTX functions as the parser produces them."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class VarDecl:
    name: str
    space: str                 # 'global' 'const' 'shared' 'local' 'param'
    type: str
    size: int                  # bytes; 0 for an unsized extern array
    align: int
    init: bytes | None = None
    extern: bool = False
    line: int = 0


# Operands: plain tuples keep the parser small.
#   ('reg', name)  ('imm', int)  ('fimm', bits, width)  ('fval', float)
#   ('sym', name, offset)      name that is not a register (variable, label, function)
#   ('vec', [operands])  ('addr', base|None, offset)  ('pair', a, b)  ('not', a)
#   ('list', [operands])  ('sink',)
Operand = tuple


@dataclass
class Instr:
    opcode: str                # dotted, e.g. 'ld.global.u32'
    operands: list[Operand]
    guard: tuple[str, bool] | None   # (predicate register, negated)
    line: int
    text: str


@dataclass
class Label:
    name: str
    line: int


@dataclass
class Function:
    name: str
    is_entry: bool
    params: list[VarDecl]
    rets: list[VarDecl]
    line: int
    regs: dict[str, str] = field(default_factory=dict)       # name -> type
    vars: list[VarDecl] = field(default_factory=list)        # .local/.shared/.param in the body
    body: list[Instr | Label] = field(default_factory=list)
    defined: bool = False
    max_threads: int = 0
    # `name: .branchtargets L1, L2;` and `name: .calltargets f, g;` lists, by name.
    targets: dict[str, list[str]] = field(default_factory=dict)
    prototypes: set[str] = field(default_factory=set)    # `name: .callprototype ...;`
