"""A warp's frame: what it keeps in memory while it waits at a barrier.

The scheduling state (program counters, live and waiting lanes, the barrier each lane
waits on, call depth and return stack) and the registers live across a barrier.  The
frame's size depends on the kernel's registers, never on the block size: a block of 1024
threads has 32 frames of the same size.
"""
from __future__ import annotations

from typing import Any

from llvmlite import ir

from ..ptx.form import form_of
from .lanes import I1, I8, I32, I64


class FrameLayout:
    """Byte offsets of a frame's fields; `save`/`restore` emit the copies at the builder."""

    def __init__(self, kc: Any, spilled: list[ir.AllocaInstr]) -> None:
        """`spilled`: the vector registers to keep, after the scheduling state."""
        self.kc = kc
        state = [kc.pc_a, kc.alive_a, kc.wait_a]
        if numbered_barriers(kc.flat):
            state.append(kc.which_a)       # otherwise every lane waits on barrier 0
        if kc.flat.has_calls:
            state += kc.returns.state()
            if kc.flat.prog.recursive:
                state.append(kc.fp_a)
        self.fields: list[tuple[ir.AllocaInstr, int]] = []
        self.nstate = len(state)
        offset = 0
        for alloca in state + spilled:
            self.fields.append((alloca, offset))
            offset += _stored_size(alloca.type.pointee)
        # where a warp parked whole resumes (a scalar: its lanes' counters are all the same)
        self.resume_offset = offset
        offset += 4
        self.size = max(64, (offset + 63) // 64 * 64)

    @staticmethod
    def _slot(b: ir.IRBuilder, base: ir.Value, offset: int, ty: ir.Type) -> ir.Value:
        p = b.gep(base, [ir.Constant(I64, offset)])
        return b.bitcast(p, ir.PointerType(_stored_type(ty)))

    def save(self, base: ir.Value, only: set[ir.AllocaInstr] | None = None,
             skip: tuple[ir.AllocaInstr, ...] = ()) -> None:
        """Store the fields but `skip`; with `only`, the scheduling state and those
        registers alone (the others are known to equal their saved values)."""
        b = self.kc.b
        for i, (alloca, offset) in enumerate(self.fields):
            if (only is not None and i >= self.nstate and alloca not in only) or alloca in skip:
                continue
            self._store(b, base, alloca, offset)

    def _store(self, b: ir.IRBuilder, base: ir.Value, alloca: ir.AllocaInstr, offset: int) -> None:
        ty = alloca.type.pointee
        v = b.load(alloca)
        if _is_mask(ty):
            v = b.zext(v, _stored_type(ty))
        b.store(v, self._slot(b, base, offset, ty), align=1)

    def save_registers(self, base: ir.Value, slots: set[ir.AllocaInstr]) -> None:
        """Store the registers of `slots` that the frame keeps, and nothing else."""
        b = self.kc.b
        for alloca, offset in self.fields[self.nstate:]:
            if alloca in slots:
                self._store(b, base, alloca, offset)

    def resume_ptr(self, base: ir.Value) -> ir.Value:
        b = self.kc.b
        return b.bitcast(b.gep(base, [ir.Constant(I64, self.resume_offset)]), ir.PointerType(I32))

    def restore(self, base: ir.Value, skip: tuple[ir.AllocaInstr, ...] = ()) -> None:
        b = self.kc.b
        for alloca, offset in self.fields:
            if alloca in skip:
                continue
            ty = alloca.type.pointee
            v = b.load(self._slot(b, base, offset, ty), align=1)
            if _is_mask(ty):
                v = b.trunc(v, ty)
            b.store(v, alloca)

    def field_ptr_with(self, b: ir.IRBuilder, base: ir.Value,
                       alloca: ir.AllocaInstr) -> ir.Value | None:
        """Where `alloca`'s saved value lies in the frame at `base` (as its stored type),
        None if the frame does not keep it."""
        offset = next((o for a, o in self.fields if a is alloca), None)
        return None if offset is None else self._slot(b, base, offset, alloca.type.pointee)


def numbered_barriers(flat: Any) -> bool:
    """Whether some barrier names a number other than 0 (so lanes may wait on different ones)."""
    from .layout import is_barrier_wait
    for item in flat.code:
        if is_barrier_wait(item) and item.kind == "ins":
            ops = item.ins.operands
            ident = ops[1] if form_of(item.ins).has("red") else (ops[0] if ops else None)
            if ident is not None and ident != ("imm", 0):
                return True
    return False


def _is_mask(ty: ir.Type) -> bool:
    return ty.element == I1


def _stored_type(ty: ir.VectorType) -> ir.VectorType:
    """Lane masks are kept as bytes: an <N x i1> has no byte-addressable layout."""
    return ir.VectorType(I8, ty.count) if _is_mask(ty) else ty


def _stored_size(ty: ir.VectorType) -> int:
    st = _stored_type(ty)
    return st.count * st.element.width // 8
