"""Recursive-descent PTX parser: text -> Module (kernels, globals, function bodies).

Every loop consumes a token or raises, so arbitrary input terminates.
"""
from __future__ import annotations

import math
import struct

from .errors import PtxError
from .form import form_of
from .lexer import Token, tokenize
from .module import GlobalVar, Kernel, Module, Param, align_up
from .ptxast import Function, Instr, Label, Operand, VarDecl
from .ptxtypes import SIZE, TYPES

WARP_SZ = 32                     # the predefined constant; the engines run 32-lane warps
_SPACES = {".global", ".const", ".shared", ".local", ".param"}
_LINKAGE = {".visible", ".extern", ".weak", ".common"}
_SPECIAL_WITH_DIM = {"%tid", "%ntid", "%ctaid", "%nctaid", "%clusterid", "%nclusterid",
                     "%cluster_ctaid", "%cluster_nctaid"}
_LINE_DIRECTIVES = {".loc", ".file", ".version", ".target", ".address_size"}


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks: list[Token] = tokenize(text)
        self.lines = text.splitlines()
        self.i = 0
        self.scopes: list[dict[str, str]] = []
        self.unique = 0
        self.relocs: dict[str, list[tuple[int, str, int, int]]] = {}
        self.plain_regs: set[str] = set()

    # -- token helpers ------------------------------------------------------
    def peek(self, k: int = 0) -> Token:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def next(self) -> Token:
        tok = self.peek()
        if tok.kind == "eof":
            raise PtxError("unexpected end of input", tok.line)
        self.i += 1
        return tok

    def accept(self, text: str) -> bool:
        if self.peek().text == text and self.peek().kind != "str":
            self.i += 1
            return True
        return False

    def expect(self, text: str) -> Token:
        tok = self.peek()
        if tok.text != text or tok.kind == "str":
            raise PtxError(f"expected {text!r}, found {tok.text or 'end of input'!r}", tok.line)
        self.i += 1
        return tok

    def ident(self) -> str:
        tok = self.next()
        if tok.kind != "id":
            raise PtxError(f"expected a name, found {tok.text!r}", tok.line)
        return tok.text

    def integer(self) -> int:
        neg = self.accept("-")
        tok = self.next()
        if tok.kind != "num" or "." in tok.text:
            raise PtxError(f"expected an integer, found {tok.text!r}", tok.line)
        value = _int_literal(tok)
        return -value if neg else value

    def skip_line(self, line: int) -> None:
        while self.peek().kind != "eof" and self.peek().line == line:
            self.i += 1

    # -- module ---------------------------------------------------------------
    def module(self) -> Module:
        functions: dict[str, Function] = {}
        globals_: dict[str, GlobalVar] = {}
        shared: list[VarDecl] = []
        while self.peek().kind != "eof":
            tok = self.peek()
            if tok.text in _LINE_DIRECTIVES:
                self.i += 1
                self.skip_line(tok.line)
                continue
            if tok.text == ".pragma":
                self.i += 1
                self.next()
                self.expect(";")
                continue
            if tok.text == ".section":
                self.skip_section()
                continue
            extern = False
            while self.peek().text in _LINKAGE:
                extern |= self.next().text == ".extern"
            tok = self.peek()
            if tok.text in (".entry", ".func"):
                fn = self.function()
                old = functions.get(fn.name)
                if old is None or not old.defined:
                    functions[fn.name] = fn
                elif fn.defined:
                    raise PtxError(f"function {fn.name} defined twice", fn.line)
            elif tok.text in (".global", ".const", ".shared"):
                for var in self.var_decls(extern):
                    if var.space == "shared":
                        shared.append(var)
                    else:
                        if var.name in globals_:
                            raise PtxError(f"variable {var.name} declared twice", var.line)
                        globals_[var.name] = GlobalVar(var.name, var.space, var.size,
                                                       var.align, var.init,
                                                       self.relocs.get(var.name, []))
            else:
                raise PtxError(f"unexpected {tok.text or 'end of input'!r} at module scope",
                               tok.line)
        taken = address_taken(functions, globals_)
        kernels = {name: _kernel(fn, functions, shared, taken)
                   for name, fn in functions.items() if fn.is_entry}
        return Module(kernels=kernels, globals=globals_, functions=functions,
                      shared_vars=shared)

    def skip_section(self) -> None:
        self.next()
        self.next()
        self.expect("{")
        depth = 1
        while depth:
            tok = self.next()
            depth += (tok.text == "{") - (tok.text == "}")

    # -- declarations ---------------------------------------------------------
    def var_decls(self, extern: bool) -> list[VarDecl]:
        """`.space [.align N] [.vN] .type name[dims] [= init] {, name...} ;`"""
        line = self.peek().line
        space = self.next().text[1:]
        align, vec, typ = 0, 1, None
        while self.peek().kind == "dir":
            d = self.next().text
            if d == ".align":
                align = self.integer()
            elif d in (".v2", ".v4", ".v8"):
                vec = int(d[2:])
            elif d[1:] in TYPES:
                typ = d[1:]
            elif d in (".ptr", ".global", ".shared", ".const", ".local", ".attribute",
                       ".managed", ".unified"):
                if d == ".attribute":
                    self.expect("(")
                    while not self.accept(")"):
                        self.next()
            else:
                raise PtxError(f"unsupported declaration qualifier {d}", line)
        if typ is None:
            raise PtxError(f"declaration without a type in .{space}", line)
        elem = SIZE[typ] * vec
        out = []
        while True:
            name = self.ident()
            count, sized = 1, True
            while self.accept("["):
                if self.accept("]"):
                    sized = False
                    continue
                dim = self.integer()
                if dim < 0 or dim > 1 << 34:
                    raise PtxError(f"bad array size {dim}", line)
                count *= dim
                self.expect("]")
            init = None
            if self.accept("="):
                values = self.initializer(line)
                if not sized:
                    count = max(1, math.ceil(len(values) / vec))
                init = _encode_init(values, typ, elem * count, line)
            size = elem * count if sized else 0
            out.append(VarDecl(self.declare(name) if self.scopes else name, space, typ, size,
                               align or SIZE[typ] * vec, init, extern or not sized, line))
            if init is not None:
                width = SIZE[typ]
                self.relocs[out[-1].name] = [(k * width, v[1], v[2], width)
                                             for k, v in enumerate(values)
                                             if isinstance(v, tuple) and v[0] == "sym"]
            if not self.accept(","):
                break
        self.expect(";")
        return out

    def initializer(self, line: int) -> list[int | float | tuple]:
        values: list = []
        if self.accept("{"):
            if not self.accept("}"):
                while True:
                    values.extend(self.initializer(line))
                    if self.accept("}"):
                        break
                    self.expect(",")
            return values
        if self.peek().kind == "id":
            # An address: `name`, `name+4`, `generic(name)`; resolved when the module is laid out.
            name = self.ident()
            if name in ("generic", "global", "shared", "const") and self.accept("("):
                name = self.ident()
                self.expect(")")
            addend = 0
            if self.peek().text in ("+", "-"):
                neg = self.next().text == "-"
                addend = -self.integer() if neg else self.integer()
            return [("sym", name, addend)]
        neg = self.accept("-")
        tok = self.next()
        if tok.kind == "num":
            v = float(tok.text) if ("." in tok.text or "e" in tok.text.lower()) and \
                not tok.text.lower().startswith("0x") else _int_literal(tok)
            return [-v if neg else v]
        if tok.kind == "hexf":
            bits = int(tok.text[2:], 16)
            return [("bits", bits ^ (1 << (len(tok.text[2:]) * 4 - 1)) if neg else bits)]
        raise PtxError(f"unsupported initializer {tok.text!r}", tok.line)

    def param_decl(self) -> VarDecl:
        line = self.expect(".param").line
        align, typ, vec = 0, None, 1
        while self.peek().kind == "dir":
            d = self.next().text
            if d == ".align":
                align = self.integer()
            elif d in (".v2", ".v4"):
                vec = int(d[2:])
            elif d[1:] in TYPES:
                typ = d[1:]
            elif d in (".ptr", ".global", ".shared", ".const", ".local"):
                pass
            else:
                raise PtxError(f"unsupported parameter qualifier {d}", line)
        if typ is None:
            raise PtxError("parameter without a type", line)
        name = self.ident()
        count = 1
        while self.accept("["):
            count *= self.integer()
            self.expect("]")
        size = SIZE[typ] * vec * count
        return VarDecl(name, "param", typ, size, align or SIZE[typ] * vec, line=line)

    def param_list(self) -> list[VarDecl]:
        self.expect("(")
        params: list[VarDecl] = []
        if self.accept(")"):
            return params
        while True:
            params.append(self.param_decl())
            if self.accept(")"):
                return params
            self.expect(",")

    # -- functions ------------------------------------------------------------
    def function(self) -> Function:
        kind = self.next()
        rets: list[VarDecl] = []
        if kind.text == ".func" and self.peek().text == "(":
            rets = self.param_list()
        name = self.ident()
        params = self.param_list() if self.peek().text == "(" else []
        fn = Function(name, kind.text == ".entry", params, rets, kind.line)
        while self.peek().kind == "dir":
            d = self.next().text
            if d in (".maxntid", ".reqntid"):
                dims = [self.integer()]
                while self.accept(","):
                    dims.append(self.integer())
                fn.max_threads = math.prod(dims)
            elif d in (".minnctapersm", ".maxnreg", ".maxnctapersm", ".maxclusterrank"):
                self.integer()
            elif d in (".reqnctapercluster", ".explicitcluster", ".noreturn"):
                if d == ".reqnctapercluster":
                    self.integer()
                    while self.accept(","):
                        self.integer()
            elif d == ".pragma":
                self.next()
                self.expect(";")
            else:
                raise PtxError(f"unsupported function directive {d}", kind.line)
        if self.accept(";"):
            return fn
        self.scopes = [{}]
        self.expect("{")
        self.block(fn)
        self.scopes = []
        fn.defined = True
        return fn

    def declare(self, name: str) -> str:
        """Names in nested blocks get a unique spelling so bodies can be flattened."""
        if len(self.scopes) <= 1:
            self.scopes[-1][name] = name
            return name
        self.unique += 1
        alias = f"{name}${self.unique}"
        self.scopes[-1][name] = alias
        return alias

    def resolve(self, name: str) -> str:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return name

    def block(self, fn: Function) -> None:
        """Statements up to the matching '}' (the '{' is consumed)."""
        while True:
            tok = self.peek()
            if tok.kind == "eof":
                raise PtxError(f"unterminated body of {fn.name}", tok.line)
            if tok.text == "}":
                self.i += 1
                return
            if tok.text == "{":
                self.i += 1
                self.scopes.append({})
                self.block(fn)
                self.scopes.pop()
            elif tok.text == ".reg":
                self.reg_decl(fn)
            elif tok.text in (".local", ".shared", ".param", ".const", ".global"):
                if tok.text == ".param":
                    var = self.param_decl()
                    var.name = self.declare(var.name)
                    self.expect(";")
                    fn.vars.append(var)
                else:
                    fn.vars.extend(self.var_decls(False))
            elif tok.text == ".pragma":
                self.i += 1
                self.next()
                self.expect(";")
            elif tok.text in (".loc", ".file"):
                self.i += 1
                self.skip_line(tok.line)
            elif tok.kind == "id" and self.peek(1).text == ":" and \
                    self.peek(2).text in (".branchtargets", ".calltargets", ".callprototype"):
                self.i += 2
                self.target_list(fn, tok.text)
            elif tok.kind == "id" and self.peek(1).text == ":":
                self.i += 2
                fn.body.append(Label(tok.text, tok.line))
            elif tok.kind == "id" or tok.text == "@":
                fn.body.append(self.instruction())
            else:
                raise PtxError(f"unexpected {tok.text!r} in function body", tok.line)

    def target_list(self, fn: Function, name: str) -> None:
        """`.branchtargets L, ...;` / `.calltargets f, ...;` / `.callprototype ...;`"""
        kind = self.next()
        if kind.text == ".callprototype":
            fn.prototypes.add(name)
            while not self.accept(";"):
                self.next()
            return
        names = [self.ident()]
        while self.accept(","):
            names.append(self.ident())
        self.expect(";")
        fn.targets[name] = names

    def reg_decl(self, fn: Function) -> None:
        line = self.expect(".reg").line
        typ = None
        while self.peek().kind == "dir":
            d = self.next().text[1:]
            if d in TYPES:
                typ = d
            elif d in ("v2", "v4"):
                raise PtxError("vector registers are not supported", line)
            else:
                raise PtxError(f"unsupported register qualifier .{d}", line)
        if typ is None:
            raise PtxError("register declaration without a type", line)
        while True:
            name = self.ident()
            if self.accept("<"):
                count = self.integer()
                self.expect(">")
                if not 0 <= count <= 1 << 20:
                    raise PtxError(f"bad register count {count}", line)
                for k in range(count):
                    fn.regs[self.declare(f"{name}{k}")] = typ
            else:
                alias = self.declare(name)
                fn.regs[alias] = typ
                if not name.startswith("%"):
                    self.plain_regs.add(alias)      # e.g. `.reg .f16 low;` in inline asm
            if not self.accept(","):
                break
        self.expect(";")

    def instruction(self) -> Instr:
        start = self.peek()
        guard = None
        if self.accept("@"):
            neg = self.accept("!")
            guard = (self.resolve(self.ident()), neg)
        op_tok = self.next()
        if op_tok.kind != "id":
            raise PtxError(f"expected an instruction, found {op_tok.text!r}", op_tok.line)
        parts = [op_tok.text]
        while self.peek().kind == "dir":
            part = self.next().text[1:]
            while self.peek().text == ":" and self.peek(1).text == ":" and \
                    self.peek(2).kind in ("id", "num") and self.peek(2).line == op_tok.line:
                self.i += 3
                part += "::" + self.toks[self.i - 1].text
            parts.append(part)
        operands: list[Operand] = []
        if not self.accept(";"):
            while True:
                operands.append(self.operand())
                if self.accept(";"):
                    break
                self.expect(",")
        line = start.line
        text = self.lines[line - 1].strip() if 0 < line <= len(self.lines) else ".".join(parts)
        return Instr(".".join(parts), operands, guard, line, f"line {line}: {text}")

    def operand(self) -> Operand:
        tok = self.peek()
        if tok.text == "{" and tok.kind == "punct":
            self.i += 1
            items = [self.operand()]
            while self.accept(","):
                items.append(self.operand())
            self.expect("}")
            return ("vec", items)
        if tok.text == "(":
            self.i += 1
            items = []
            if not self.accept(")"):
                items.append(self.operand())
                while self.accept(","):
                    items.append(self.operand())
                self.expect(")")
            return ("list", items)
        if tok.text == "[":
            self.i += 1
            base = None
            offset = 0
            if self.peek().kind == "id":
                base = self.name_operand()
                if base[0] == "sym":
                    offset, base = base[2], ("sym", base[1], 0)
                if self.peek().text in ("+", "-"):
                    neg = self.next().text == "-"
                    value = self.integer()
                    offset += -value if neg else value
            else:
                offset = self.integer()
            if base is not None and offset == 0 and self.accept(","):
                coords = self.operand()     # a texture fetch: [handle, {coordinates}]
                if coords[0] != "vec":
                    raise PtxError("texture coordinates must be a {...} vector", tok.line)
                self.expect("]")
                return ("tex", base, coords[1])
            self.expect("]")
            return ("addr", base, offset)
        if tok.text == "!":
            self.i += 1
            return ("not", self.operand())
        if tok.kind in ("num", "hexf") or (tok.text == "-" and self.peek(1).kind in ("num", "hexf")):
            neg = self.accept("-")
            tok = self.next()
            if tok.kind == "hexf":
                width = 32 if tok.text[1] in "fF" else 64
                bits = int(tok.text[2:], 16)
                return ("fimm", bits ^ (1 << (width - 1)) if neg else bits, width)
            if "." in tok.text or ("e" in tok.text.lower() and not tok.text.lower().startswith("0x")):
                return ("fval", -float(tok.text) if neg else float(tok.text))
            value = _int_literal(tok)
            return ("imm", -value if neg else value)
        if tok.kind == "id" and tok.text == "WARP_SZ":
            self.i += 1                 # PTX's predefined constant: what warpSize compiles to
            return ("imm", WARP_SZ)
        if tok.kind == "id":
            op = self.name_operand()
            if op[0] == "reg" and self.accept("|"):
                return ("pair", op, self.name_operand())
            return op
        raise PtxError(f"unexpected operand {tok.text!r}", tok.line)

    def name_operand(self) -> Operand:
        name = self.ident()
        if name == "_":
            return ("sink",)
        if name in _SPECIAL_WITH_DIM and self.peek().text in (".x", ".y", ".z", ".w"):
            return ("reg", name + self.next().text)
        if name.startswith("%"):
            return ("reg", self.resolve(name))
        name = self.resolve(name)
        if name in self.plain_regs:
            return ("reg", name)
        offset = 0
        if self.peek().text == "+" and self.peek(1).kind == "num":
            self.i += 1
            offset = self.integer()
        return ("sym", name, offset)


def _int_literal(tok: Token) -> int:
    text = tok.text.rstrip("U")
    try:
        if text[:2] in ("0x", "0X"):
            return int(text[2:], 16)
        if text[:2] in ("0b", "0B"):
            return int(text[2:], 2)
        if len(text) > 1 and text.startswith("0"):
            return int(text, 8)
        return int(text)
    except ValueError:
        raise PtxError(f"bad integer literal {tok.text!r}", tok.line) from None


def _encode_init(values: list, typ: str, size: int, line: int) -> bytes:
    width = SIZE[typ]
    out = bytearray()
    for v in values:
        if isinstance(v, tuple) and v[0] == "sym":     # an address, filled in at layout time
            if width not in (4, 8):
                raise PtxError(f"address initialiser for .{typ}", line)
            out += bytes(width)
        elif isinstance(v, tuple):
            bits = v[1]
            if typ == "f32" and bits >= 1 << 32:    # a 0d literal for a float element
                bits = struct.unpack("<I", struct.pack("<f", struct.unpack("<d", bits.to_bytes(8, "little"))[0]))[0]
            out += (bits & ((1 << (8 * width)) - 1)).to_bytes(width, "little")
        elif isinstance(v, float) or typ.startswith("f"):
            if typ == "f32":
                out += struct.pack("<f", float(v))
            elif typ == "f64":
                out += struct.pack("<d", float(v))
            else:
                raise PtxError(f"float initializer for .{typ}", line)
        else:
            out += (int(v) & ((1 << (8 * width)) - 1)).to_bytes(width, "little")
    if len(out) > size:
        raise PtxError("initializer longer than the variable", line)
    return bytes(out) + bytes(size - len(out))


def split_call(ins: Instr) -> tuple[list[Operand], Operand, list[Operand]]:
    """`call (rets), target, (args)[, proto]` -> (rets, target, args)."""
    ops = list(ins.operands)
    rets: list[Operand] = []
    if ops and ops[0][0] == "list":
        rets = ops.pop(0)[1]
    if not ops or ops[0][0] not in ("sym", "reg"):
        raise PtxError("call without a target", ins.line)
    target = ops.pop(0)
    args = ops.pop(0)[1] if ops and ops[0][0] == "list" else []
    return rets, target, args


def _callees(fn: Function) -> set[str]:
    out = set()
    for ins in fn.body:
        if isinstance(ins, Instr) and form_of(ins).base == "call":
            target = split_call(ins)[1]
            if target[0] == "sym":
                out.add(target[1])
    return out


def address_taken(functions: dict[str, Function], globals_: dict[str, GlobalVar] | None = None
                  ) -> set[str]:
    """Functions whose name is used as a value (possible targets of indirect calls)."""
    out: set[str] = set()
    for f in functions.values():
        for ins in f.body:
            if isinstance(ins, Instr) and form_of(ins).base != "call":
                for op in ins.operands:
                    if op[0] == "sym" and op[1] in functions:
                        out.add(op[1])
    for var in (globals_ or {}).values():
        out.update(r[1] for r in var.relocs if r[1] in functions)
    return {n for n in out if functions[n].defined and not functions[n].is_entry}


def indirect_callees(fn: Function, ins: Instr, taken: set[str]) -> list[str]:
    """Possible targets of an indirect call: its `.calltargets` list, else every taken address."""
    ops = ins.operands
    if ops and ops[-1][0] == "sym" and ops[-1][1] in fn.targets:
        return list(fn.targets[ops[-1][1]])
    return sorted(taken)


def callees(fn: Function, taken: set[str]) -> set[str]:
    """Direct and possible indirect callees of fn."""
    out = set()
    for ins in fn.body:
        if isinstance(ins, Instr) and form_of(ins).base == "call":
            target = split_call(ins)[1]
            if target[0] == "sym":
                out.add(target[1])
            else:
                out.update(indirect_callees(fn, ins, taken))
    return out


def reachable(fn: Function, functions: dict[str, Function],
              taken: set[str] | None = None) -> list[Function]:
    """The function and every function it may call, each once (entry first).

    `taken` (see `address_taken`) adds the possible targets of indirect calls.
    """
    seen: dict[str, Function] = {fn.name: fn}
    todo = [fn]
    while todo:
        cur = todo.pop()
        for name in sorted(callees(cur, taken or set())):
            callee = functions.get(name)
            if callee is not None and name not in seen:
                seen[name] = callee
                todo.append(callee)
    return list(seen.values())


def _kernel(fn: Function, functions: dict[str, Function], shared: list[VarDecl],
            taken: set[str] | None = None) -> Kernel:
    params: list[Param] = []
    offset = 0
    for p in fn.params:
        offset = align_up(offset, p.align)
        params.append(Param(p.name, p.size, p.align, offset))
        offset += p.size
    funcs = reachable(fn, functions, taken)
    shared_size = 0
    for var in shared + [v for f in funcs for v in f.vars if v.space == "shared"]:
        if not var.extern:
            shared_size = align_up(shared_size, var.align) + var.size
    local_size = 0
    for f in funcs:
        for var in f.vars:
            if var.space == "local":
                local_size = align_up(local_size, var.align) + var.size
    return Kernel(fn.name, params, offset, shared_size, local_size, fn.max_threads)


def parse_module(text: str) -> Module:
    """Parse PTX text; PtxError names the line of any syntax error or unsupported construct."""
    if not isinstance(text, str):
        raise PtxError("PTX must be text")
    try:
        module = _Parser(text).module()
    except RecursionError:
        raise PtxError("nesting too deep") from None
    # Decode every kernel now so unsupported instructions surface at parse time.
    from .decode import program_for
    for name in module.kernels:
        program_for(module, name)
    return module
