"""Small device allocations carved out of larger buffers, as CUDA's runtime does.

Each buffer object costs the card a round trip to make and another to free; a program
that allocates and frees small buffers in a loop would pay both every time.  Small
allocations are pieces of a slab instead: one buffer object per slab, pieces of one
size class (powers of two from 256 bytes, so every piece is 256-byte aligned), handed
out and taken back here.  The card sees the slabs: what it accounts to the process
(`sdMemGetInfo`, gdev-smi) is the slabs' bytes, which the process does hold.

An empty slab stays for the next allocation of its class (one per class); `trim`
gives the empty ones back (before the card's free memory is read, and before an
allocation the card refused is tried again).  A slab one of whose pieces was handed
to another handle (`gref`) hands out no piece again: the other handle's hold must
not see a later allocation's bytes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..common.contract import C
from .vas import DeviceMem

MIN_PIECE = 256                  # CUDA's allocation alignment
MAX_PIECE = 64 << 10             # larger allocations are buffer objects of their own
PIECES_PER_SLAB = 16
MIN_SLAB = 64 << 10


def piece_size(size: int) -> int:
    """The size class of an allocation of `size` bytes (0: too large for a slab)."""
    if size > MAX_PIECE:
        return 0
    return max(MIN_PIECE, 1 << (size - 1).bit_length())


def slab_size(piece: int) -> int:
    return max(MIN_SLAB, PIECES_PER_SLAB * piece)


@dataclass(eq=False)
class Slab:
    mem: DeviceMem                               # the card's buffer object
    piece: int                                   # bytes per piece
    free: list[int] = field(default_factory=list)   # offsets of free pieces
    used: int = 0
    exported: bool = False                       # a piece was referenced by another handle

    @property
    def pieces(self) -> int:
        return self.mem.size // self.piece


class SubAllocator:
    """The slabs of one handle.  `new_buffer(size)` makes a VRAM buffer object (raising
    the handle's error when the card refuses), `free_buffer(mem)` frees one.  Not
    thread-safe: the handle's lock is held around every call."""

    def __init__(self, new_buffer: Callable[[int], DeviceMem], free_buffer: Callable[[DeviceMem], None],
                 vram_size: int) -> None:
        self._new_buffer = new_buffer
        self._free_buffer = free_buffer
        # a slab holds at most 1/64 of the card (small test cards get no slabs at all)
        self.max_slab = vram_size // 64
        self._partial: dict[int, list[Slab]] = {}   # piece size -> slabs with a free piece
        self._empty: dict[int, Slab] = {}           # piece size -> the empty slab kept
        self.slabs: list[Slab] = []

    def takes(self, size: int) -> bool:
        piece = piece_size(size)
        return piece != 0 and slab_size(piece) <= self.max_slab

    def alloc(self, size: int) -> DeviceMem:
        """A piece for `size` bytes (the caller checked `takes`)."""
        piece = piece_size(size)
        slab = self._slab_with_room(piece)
        offset = slab.free.pop()
        slab.used += 1
        if not slab.free:
            self._partial[piece].remove(slab)
        if self._empty.get(piece) is slab:
            del self._empty[piece]
        base = slab.mem
        return DeviceMem(base.addr + offset, size, base.gem, C.AIDEV_GEM_DOMAIN_VRAM, slab=slab)

    def _slab_with_room(self, piece: int) -> Slab:
        partial = self._partial.setdefault(piece, [])
        if partial:
            return partial[-1]
        mem = self._new_buffer(slab_size(piece))
        slab = Slab(mem, piece)
        slab.free = list(range((slab.pieces - 1) * piece, -1, -piece))   # lowest offset first
        self.slabs.append(slab)
        partial.append(slab)
        return slab

    def free(self, mem: DeviceMem) -> None:
        slab = mem.slab
        assert isinstance(slab, Slab)
        slab.used -= 1
        if slab.exported:
            if slab.used == 0:
                self._drop(slab)
            return
        if not slab.free:
            self._partial.setdefault(slab.piece, []).append(slab)
        slab.free.append(mem.addr - slab.mem.addr)
        if slab.used:
            return
        kept = self._empty.get(slab.piece)
        if kept is None:
            self._empty[slab.piece] = slab
        elif kept is not slab:
            self._drop(slab)

    def export(self, mem: DeviceMem) -> DeviceMem:
        """The slab buffer of a piece another handle is to reference: none of its pieces is
        handed out again."""
        slab = mem.slab
        assert isinstance(slab, Slab)
        if not slab.exported:
            slab.exported = True
            partial = self._partial.get(slab.piece, [])
            if slab in partial:
                partial.remove(slab)
            if self._empty.get(slab.piece) is slab:
                del self._empty[slab.piece]
        return slab.mem

    def trim(self) -> int:
        """Give every empty slab back to the card; returns the bytes given back."""
        empty, self._empty = list(self._empty.values()), {}
        for slab in empty:
            self._drop(slab)
        return sum(slab.mem.size for slab in empty)

    def _drop(self, slab: Slab) -> None:
        partial = self._partial.get(slab.piece, [])
        if slab in partial:
            partial.remove(slab)
        self.slabs.remove(slab)
        self._free_buffer(slab.mem)
