"""LLVM IR helpers for lane vectors: types, splats, masks and reductions over W lanes."""
from __future__ import annotations

from llvmlite import ir

I1, I8, I16, I32, I64, I128 = (ir.IntType(n) for n in (1, 8, 16, 32, 64, 128))
F32, F64 = ir.FloatType(), ir.DoubleType()
INT = {1: I8, 2: I16, 4: I32, 8: I64}
PTR8 = ir.PointerType(I8)


class VectorConstant(ir.Constant):
    """A vector constant whose lanes agree printed as `splat (i32 5)` or `undef` rather
    than lane by lane: kernels are full of them, and the IR text LLVM parses shrinks by a
    third."""

    _text: str | None = None

    def _get_reference(self) -> str:
        # printed once: a constant is immutable, and lane by lane its text costs as much
        # as a few instructions' (`iota` is printed at every first-lane search)
        if self._text is None:
            self._text = self._reference()
        return self._text

    def _reference(self) -> str:
        elems = self.constant
        if isinstance(elems, (list, tuple)) and elems:
            head = elems[0]
            first = head.get_reference()
            # (a splat is most often one constant object repeated: no lane printed twice)
            if all(e is head for e in elems) or all(e.get_reference() == first for e in elems[1:]):
                return "undef" if first == "undef" else f"splat ({elems[0].type} {first})"
        return super()._get_reference()


class Builder(ir.IRBuilder):
    """llvmlite's builder, whose `not_` of a lane vector xors with a splat rather than
    with a constant spelled lane by lane (kernels negate masks everywhere)."""

    def not_(self, value: ir.Value, name: str = "") -> ir.Value:
        if isinstance(value.type, ir.VectorType):
            ones = VectorConstant(value.type, [ir.Constant(value.type.element, -1)] * value.type.count)
            return self.xor(value, ones, name=name)
        return super().not_(value, name=name)


def undef(ty: ir.Type) -> ir.Constant:
    return VectorConstant(ty, ir.Undefined) if isinstance(ty, ir.VectorType) else ir.Constant(ty, ir.Undefined)


def zeros(ty: ir.Type) -> ir.Constant:
    return VectorConstant(ty, None) if isinstance(ty, ir.VectorType) else ir.Constant(ty, None)


def scalar_type(t: str) -> ir.Type:
    """The LLVM scalar type carrying PTX type t (raw bits for .b/.u/.s, floats for .f)."""
    if t == "pred":
        return I1
    if t in ("f32",):
        return F32
    if t in ("f64",):
        return F64
    width = int(t[1:]) // 8
    return INT[width]


def width_of(t: str) -> int:
    return 1 if t == "pred" else int(t[1:]) // 8


class Lanes:
    """Vector helpers bound to one builder and lane count W."""

    def __init__(self, module: ir.Module, width: int) -> None:
        self.m = module
        self.W = width
        self.b: ir.IRBuilder = None  # type: ignore[assignment]
        self._fns: dict[str, ir.Function] = {}
        self._consts: dict[str, ir.Constant] = {}

    def vt(self, scalar: ir.Type) -> ir.VectorType:
        return ir.VectorType(scalar, self.W)

    def vty(self, t: str) -> ir.VectorType:
        return self.vt(scalar_type(t))

    def const(self, scalar: ir.Type, value: int | float) -> ir.Constant:
        key = f"{scalar}={value!r}"         # (constants are immutable: shared, printed once)
        c = self._consts.get(key)
        if c is None:
            c = self._consts[key] = VectorConstant(self.vt(scalar), [ir.Constant(scalar, value)] * self.W)
        return c

    def iconst_bits(self, t: str, bits: int) -> ir.Value:
        """A splat of raw bits as type t (floats get their exact bit pattern)."""
        w = width_of(t)
        if t == "pred":
            return self.const(I1, bits & 1)
        c = self.const(INT[w], bits & ((1 << (8 * w)) - 1))
        if t in ("f32", "f64"):
            return self.b.bitcast(c, self.vty(t))
        return c

    def splat(self, value: ir.Value) -> ir.Value:
        vt = self.vt(value.type)
        v = self.b.insert_element(undef(vt), value, ir.Constant(I32, 0))
        return self.b.shuffle_vector(v, undef(vt), self.const(I32, 0))

    def iota(self, scalar: ir.Type = I32) -> ir.Constant:
        key = f"iota {scalar}"
        c = self._consts.get(key)
        if c is None:
            c = self._consts[key] = VectorConstant(self.vt(scalar), [ir.Constant(scalar, i)
                                                                     for i in range(self.W)])
        return c

    def intrinsic(self, name: str, ret: ir.Type, args: list[ir.Type]) -> ir.Function:
        fn = self._fns.get(name)
        if fn is None:
            fn = self.m.globals.get(name)
            if fn is None:
                fn = ir.Function(self.m, ir.FunctionType(ret, args), name=name)
            self._fns[name] = fn
        return fn

    @staticmethod
    def suffix(ty: ir.Type) -> str:
        if isinstance(ty, ir.VectorType):
            return f"v{ty.count}{Lanes.suffix(ty.element)}"
        if isinstance(ty, ir.IntType):
            return f"i{ty.width}"
        return "f32" if isinstance(ty, ir.FloatType) else "f64"

    def call(self, base: str, args: list[ir.Value], ret: ir.Type | None = None,
             overload: ir.Type | None = None) -> ir.Value:
        ty = overload or args[0].type
        fn = self.intrinsic(f"llvm.{base}.{self.suffix(ty)}", ret or args[0].type,
                            [a.type for a in args])
        return self.b.call(fn, args)

    def any(self, mask: ir.Value) -> ir.Value:
        return self.call("vector.reduce.or", [mask], I1)

    def all(self, mask: ir.Value) -> ir.Value:
        return self.call("vector.reduce.and", [mask], I1)

    def umin(self, v: ir.Value) -> ir.Value:
        return self.call("vector.reduce.umin", [v], v.type.element)

    def first_lane(self, mask: ir.Value) -> ir.Value:
        """Index of the lowest set lane of a mask (W if none)."""
        idx = self.b.select(mask, self.iota(), self.const(I32, self.W))
        return self.umin(idx)

    def select_lane(self, mask: ir.Value, a: ir.Value, b: ir.Value) -> ir.Value:
        return self.b.select(mask, a, b)


def const_like(ty: ir.Type, value: int | float) -> ir.Constant:
    """A constant of a scalar type, or splat over a vector type."""
    if isinstance(ty, ir.VectorType):
        return VectorConstant(ty, [ir.Constant(ty.element, value)] * ty.count)
    return ir.Constant(ty, value)


def call_intrinsic(b: ir.IRBuilder, base: str, args: list[ir.Value]) -> ir.Value:
    """llvm.<base> overloaded on its first operand's type (scalar or vector), without a
    Lanes object, so that helper functions of any lane count can use it too."""
    ty = args[0].type
    name = f"llvm.{base}.{Lanes.suffix(ty)}"
    fn = b.module.globals.get(name)
    if fn is None:
        fn = ir.Function(b.module, ir.FunctionType(ty, [a.type for a in args]), name=name)
    return b.call(fn, args)


def entry_alloca(fn: ir.Function, ty: ir.Type, name: str = "") -> ir.AllocaInstr:
    """A fixed stack slot: appended to the function's first block, which holds only allocas
    until `finish_entry` closes it (no builder ever works in that block)."""
    return ir.IRBuilder(fn.entry_basic_block).alloca(ty, name=name)


def start_function(fn: ir.Function) -> ir.IRBuilder:
    """A builder for a new function whose first block is reserved for entry_alloca."""
    fn.append_basic_block("allocas")
    return Builder(fn.append_basic_block("start"))


def finish_entry(fn: ir.Function) -> None:
    ir.IRBuilder(fn.entry_basic_block).branch(fn.basic_blocks[1])
