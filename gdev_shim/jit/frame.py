"""A warp's frame: what it keeps in memory while it waits at a barrier.

The scheduling state (program counters, live and waiting lanes, the barrier each lane
waits on, call depth and return stack) and the registers live across a barrier.  The
frame's size depends on the kernel's registers, never on the block size: a block of 1024
threads has 32 frames of the same size.
"""
from __future__ import annotations

from typing import Any

from llvmlite import ir

from .lanes import I1, I8, I64


class FrameLayout:
    """Byte offsets of a frame's fields; `save`/`restore` emit the copies at the builder."""

    def __init__(self, kc: Any, spilled: list[tuple[ir.AllocaInstr, ir.Type]]) -> None:
        self.kc = kc
        # (alloca, vector type as stored) in a fixed order
        fields: list[tuple[ir.AllocaInstr, ir.Type]] = [
            (kc.pc_a, kc.pc_a.type.pointee), (kc.alive_a, kc.alive_a.type.pointee),
            (kc.wait_a, kc.wait_a.type.pointee), (kc.which_a, kc.which_a.type.pointee),
            (kc.depth_a, kc.depth_a.type.pointee)]
        fields += [(a, a.type.pointee) for a in kc.stack_a]
        fields += spilled
        self.fields: list[tuple[ir.AllocaInstr, int]] = []
        offset = 0
        for alloca, ty in fields:
            self.fields.append((alloca, offset))
            offset += _stored_size(ty)
        self.size = max(64, (offset + 63) // 64 * 64)

    @staticmethod
    def _slot(b: ir.IRBuilder, base: ir.Value, offset: int, ty: ir.Type) -> ir.Value:
        p = b.gep(base, [ir.Constant(I64, offset)])
        return b.bitcast(p, ir.PointerType(_stored_type(ty)))

    def save(self, base: ir.Value) -> None:
        b = self.kc.b
        for alloca, offset in self.fields:
            ty = alloca.type.pointee
            v = b.load(alloca)
            if _is_mask(ty):
                v = b.zext(v, _stored_type(ty))
            b.store(v, self._slot(b, base, offset, ty), align=1)

    def restore(self, base: ir.Value) -> None:
        b = self.kc.b
        for alloca, offset in self.fields:
            ty = alloca.type.pointee
            v = b.load(self._slot(b, base, offset, ty), align=1)
            if _is_mask(ty):
                v = b.trunc(v, ty)
            b.store(v, alloca)

    def field_ptr_with(self, b: ir.IRBuilder, base: ir.Value, alloca: ir.AllocaInstr) -> ir.Value:
        """Where `alloca`'s saved value lies in the frame at `base` (as its stored type)."""
        offset = next(o for a, o in self.fields if a is alloca)
        return self._slot(b, base, offset, alloca.type.pointee)


def _is_mask(ty: ir.Type) -> bool:
    return isinstance(ty, ir.VectorType) and ty.element == I1


def _stored_type(ty: ir.Type) -> ir.Type:
    """Lane masks are kept as bytes: an <N x i1> has no byte-addressable layout."""
    if _is_mask(ty):
        return ir.VectorType(I8, ty.count)
    if ty == I1:
        return I8
    return ty


def _stored_size(ty: ir.Type) -> int:
    st = _stored_type(ty)
    if isinstance(st, ir.VectorType):
        return st.count * _scalar_bytes(st.element)
    return _scalar_bytes(st)


def _scalar_bytes(ty: ir.Type) -> int:
    if isinstance(ty, ir.IntType):
        return max(1, ty.width // 8)
    return 4 if isinstance(ty, ir.FloatType) else 8

