"""initcheck's shadow of VRAM: one bit per VRAM byte, set once the byte is written.

Bit `off & 7` of shadow byte `off >> 3` stands for VRAM byte `off` (so, little-endian,
bit `off & 63` of 64-bit word `off >> 6`: the JIT reads and sets it a word at a time).
An eighth of the bytes a byte per byte would cost: a streaming kernel's shadow traffic
is small beside its data's.

Setting bits is a read-modify-write of a byte shared by eight VRAM bytes, which may
belong to different threads' stores: compiled kernels set them with atomic ORs
(jit/sanitize.py), and the host side here holds a lock for the partial bytes at a
range's ends (whole bytes are stored outright: an OR done meanwhile sets bits that are
set anyway).  A host write racing a kernel store into the same eight bytes could still
lose the kernel's bit; no ordering makes that a correct program.
"""
from __future__ import annotations

import contextlib
import mmap
import threading

import numpy as np

from .vram import MAP_NORESERVE

# readable bytes after the last shadow byte: the JIT loads the 64-bit word after a span's
# last one (its mask then empty) without testing where it lies
PAD = 16
_BIT = np.left_shift(np.uint8(1), np.arange(8, dtype=np.uint8))


def _low_bits(n: int) -> int:
    return (1 << n) - 1


class InitShadow:
    """The written bits of `size` VRAM bytes (offsets from the VRAM base)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._map = mmap.mmap(-1, (size + 7) // 8 + PAD,
                              flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | MAP_NORESERVE)
        with contextlib.suppress(AttributeError, OSError):
            # a kernel striding through VRAM touches a shadow page per stride: huge pages keep
            # those from doubling its TLB misses (one covers 16 MiB of VRAM)
            self._map.madvise(mmap.MADV_HUGEPAGE)
        self.bits = np.frombuffer(self._map, dtype=np.uint8)
        self.address = self.bits.ctypes.data
        self._lock = threading.Lock()

    # ---- ranges (copies, memsets, frees) ----------------------------------------------
    def mark(self, off: int, n: int) -> None:
        self._range(off, n, True)

    def forget(self, off: int, n: int) -> None:
        self._range(off, n, False)

    def _range(self, off: int, n: int, on: bool) -> None:
        end = min(off + n, self.size)
        if off >= end:
            return
        first, last = off >> 3, (end - 1) >> 3
        head = _low_bits(8) & ~_low_bits(off & 7)
        tail = _low_bits(((end - 1) & 7) + 1)
        with self._lock:
            if first == last:
                self._edge(first, head & tail, on)
                return
            self._edge(first, head, on)
            self._edge(last, tail, on)
            if last > first + 1:
                self.bits[first + 1:last] = 0xFF if on else 0

    def _edge(self, i: int, mask: int, on: bool) -> None:
        self.bits[i] = (int(self.bits[i]) | mask) if on else (int(self.bits[i]) & ~mask & 0xFF)

    # ---- the lanes of one access (the interpreter) ------------------------------------
    # Lanes mostly touch a dense range (a warp, a batch of blocks): their bits are unpacked
    # into, or packed from, a byte per VRAM byte over that range alone, and indexed as the
    # byte-per-byte shadow was; scattered lanes use the bits themselves.
    def mark_lanes(self, offs: np.ndarray, width: int) -> None:
        """Set the bits of `width` bytes at each offset (lanes may share shadow bytes)."""
        if offs.size == 0:
            return
        dense = self._dense(offs, width)
        if dense is None:
            byte = (offs[:, None] + np.arange(width, dtype=np.int64)).ravel()
            with self._lock:
                np.bitwise_or.at(self.bits, byte >> 3, _BIT[byte & 7])
            return
        first, span = dense
        hit = np.zeros(span * 8, np.uint8)
        rel = offs - first * 8
        for k in range(width):
            hit[rel + k] = 1
        packed = np.packbits(hit, bitorder="little")
        with self._lock:
            self.bits[first:first + span] |= packed

    def unset_lanes(self, offs: np.ndarray, width: int) -> np.ndarray:
        """Per offset: whether any of its `width` bytes was never written."""
        dense = self._dense(offs, width)
        if dense is None:
            byte = offs[:, None] + np.arange(width, dtype=np.int64)
            return ((self.bits[byte >> 3] & _BIT[byte & 7]) == 0).any(axis=1)
        first, span = dense
        written = np.unpackbits(self.bits[first:first + span], bitorder="little")
        rel = offs - first * 8
        unset = written[rel] == 0
        for k in range(1, width):
            unset |= written[rel + k] == 0
        return unset

    def _dense(self, offs: np.ndarray, width: int) -> tuple[int, int] | None:
        """(first shadow byte, shadow bytes) covering the lanes' bytes, if few enough."""
        lo, hi = int(offs.min()), int(offs.max()) + width
        first, end = lo >> 3, (hi + 7) >> 3
        if (end - first) * 8 > 64 * offs.size * width + 4096:
            return None
        return first, end - first

    def written(self, off: int, n: int) -> np.ndarray:
        """Per byte of [off, off + n): whether it was written (tests, reports)."""
        byte = np.arange(off, off + n, dtype=np.int64)
        return (self.bits[byte >> 3] & _BIT[byte & 7]) != 0
