"""The card's sanitizer (GDEV_MEMCHECK): memcheck, initcheck and racecheck of kernels.

The interpreter calls a KernelChecks object at every global and shared access and
at every barrier (`ptx.execute(..., checks=...)`); everything is vectorised over
the lanes of the access, so the cost is a few numpy operations per memory
instruction.
- memcheck: a global access outside every live buffer, misaligned, into freed
  memory or into another card's memory is reported (per bad lane, kernel, block,
  thread, PTX line, nearest allocation) and the kernel is aborted as on hardware.
- initcheck: a global read of VRAM bytes nothing ever wrote (copy, memset or
  kernel store) is reported; the kernel goes on.  Host (GART) memory counts as
  written: the host may have written it through its mapping.
- racecheck: within a barrier interval, two threads of different warps touching
  the same shared byte with at least one write is a hazard (RAW, WAR, WAW).
  Threads of one warp run in lockstep here, so they are not reported.  A hazard is
  reported once per launch, when it ends (`finish`), at the lowest block and thread that met
  it (on the JIT blocks run on several host threads: the first to meet it varies): its
  kind and its two accesses (PTX lines, in program order)
  name it.  Every block running the same racy code would otherwise repeat it, as many
  times as the engine happens to meet it (per batch of blocks here, per warp and block
  on the JIT).
"""
from __future__ import annotations

import threading
import weakref
from collections import deque
from typing import Any

import numpy as np

from ..common.findings import REPORT, Finding, hazard_kind, hazard_lines, line_of
from .initshadow import InitShadow
from .memory import CardMemory, MemoryView, Region
from .raceshadow import RaceShadow

MAX_LANES_REPORTED = 4        # findings per access instruction; the rest are counted
_U64 = np.uint64


class CardSanitizer:
    """Per-card state: which VRAM bytes were written (a bit each), and recently freed buffers."""

    def __init__(self, card_index: int, memory: CardMemory, vram_base: int, vram_size: int,
                 card_space: int, tools: frozenset[str]) -> None:
        self.card_index = card_index
        self.memory = memory
        self.vram_base, self.vram_size = vram_base, vram_size
        self.card_space = card_space
        self.tools = tools
        self.lock = threading.Lock()
        self.freed: deque[tuple[int, int]] = deque(maxlen=4096)
        self.written: InitShadow | None = None
        self._bounds_for: object = None
        self._bounds = (np.zeros(0, _U64), np.zeros(0, _U64))
        if "initcheck" in tools:
            self.written = InitShadow(vram_size)
        memory.observer = self

    # ---- CardMemory observer -------------------------------------------------
    def on_write(self, addr: int, n: int) -> None:
        if self.written is not None and self.vram_base <= addr < self.vram_base + self.vram_size:
            self.written.mark(addr - self.vram_base, n)

    def on_remove(self, region: Region) -> None:
        with self.lock:
            self.freed.append((region.start, region.length))
        self.on_forget(region.start, region.length)

    def on_forget(self, addr: int, n: int) -> None:
        if self.written is not None and self.vram_base <= addr < self.vram_base + self.vram_size:
            self.written.forget(addr - self.vram_base, n)

    # ---- describing an address --------------------------------------------------
    def describe(self, addr: int, memory: MemoryView | None = None) -> tuple[str, str]:
        """(kind of bad access, allocation text) for an address no live buffer of `memory`
        (the launching client's address space; the card's by default) holds."""
        memory = memory or self.memory
        card = (addr - 0x0010_0000_0000_0000) // self.card_space if addr >= 0x0010_0000_0000_0000 else -1
        if card >= 0 and card != self.card_index:
            return "access to another card's memory", f"address of card {card}"
        with self.lock:
            for start, length in reversed(self.freed):
                if start <= addr < start + length:
                    if memory.region_at(addr) is None:
                        return "use after free", f"{addr - start} bytes into a freed {length}-byte buffer at {start:#x}"
        return "out-of-bounds access", self.nearest(addr, memory)

    def nearest(self, addr: int, memory: MemoryView | None = None) -> str:
        """The allocation nearest `addr` among those `memory` reaches: another client's
        buffers are none of the faulting client's business."""
        regions = (memory or self.memory).regions()
        if not regions:
            return "no live allocation"
        def span(r: Region) -> tuple[int, int]:
            return r.start, r.start + (r.requested or r.length)

        def distance(r: Region) -> int:
            lo, hi = span(r)
            return 0 if lo <= addr < hi else min(abs(addr - lo), abs(addr - hi))
        best = min(regions, key=distance)
        lo, hi = span(best)
        if lo <= addr < hi:
            return f"{addr - lo} bytes into a {hi - lo}-byte buffer at {lo:#x}"
        if addr >= hi:
            return f"{addr - hi} bytes after the {hi - lo}-byte buffer at {lo:#x}"
        return f"{lo - addr} bytes before the {hi - lo}-byte buffer at {lo:#x}"

    def bounds(self, memory: MemoryView | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Starts and ends of the live allocations of `memory` as they were requested (not
        page-rounded)."""
        memory = memory or self.memory
        table = memory.regions_version()
        if self._bounds_for is not table:
            regions = memory.regions()
            ends = [r.start + (r.requested or r.length) for r in regions]
            self._bounds = (table.starts, np.array(ends, dtype=_U64))
            self._bounds_for = table
        return self._bounds

    def kernel(self, name: str, memory: MemoryView | None = None) -> "KernelChecks":
        return KernelChecks(self, name, memory or self.memory)


class KernelChecks:
    """The hooks of one launch; the interpreter calls them with its batch state `st`.
    Bounds are those of the memory the launch reaches (its client's address space)."""

    def __init__(self, card: CardSanitizer, kernel: str, memory: MemoryView | None = None) -> None:
        self.card = card
        self.memory = memory or card.memory
        self.kernel = kernel
        self.tools = card.tools
        # batch state -> its shared memory's shadow (dropped with the batch)
        self.race: weakref.WeakKeyDictionary[Any, RaceShadow] = weakref.WeakKeyDictionary()
        # (kind, accesses) -> the finding of the lowest block and thread that met the hazard
        # in this launch, reported when it ends (finish)
        self._hazards: dict[tuple, Finding] = {}
        self._hazards_lock = threading.Lock()   # the JIT reports from every block's thread

    def nearest(self, addr: int) -> str:
        return self.card.nearest(addr, self.memory)

    # ---- global memory --------------------------------------------------------------
    def global_access(self, st: Any, lanes: np.ndarray, addrs: np.ndarray, width: int,
                      write: bool, text: str) -> None:
        if "memcheck" in self.tools:
            self._memcheck(st, lanes, addrs, width, write, text)
        if write:
            if self.card.written is not None:
                self._mark(addrs, width)
        elif "initcheck" in self.tools and self.card.written is not None:
            self._initcheck(st, lanes, addrs, width, text)

    def _memcheck(self, st, lanes, addrs, width, write, text) -> None:
        starts, ends = self.card.bounds(self.memory)
        lo, hi = int(addrs.min()), int(addrs.max())
        i = int(np.searchsorted(starts, _U64(lo), side="right")) - 1 if len(starts) else -1
        aligned = width == 1 or not (addrs & _U64(width - 1)).any()    # widths are powers of two
        if i >= 0 and hi + width <= int(ends[i]) and aligned:
            return                     # the common case: every lane inside one allocation
        bad = addrs % _U64(width) != 0
        if len(starts):
            idx = np.searchsorted(starts, addrs, side="right").astype(np.intp) - 1
            safe = np.maximum(idx, 0)
            inside = (idx >= 0) & (addrs >= starts[safe]) & (addrs + _U64(width) <= ends[safe])
        else:
            inside = np.zeros(addrs.shape, bool)
        bad |= ~inside
        if not bad.any():
            return
        positions = np.flatnonzero(bad)
        for p in positions[:MAX_LANES_REPORTED]:
            a = int(addrs[p])
            if a % width:
                kind, alloc = "misaligned access", self.nearest(a)
            else:
                kind, alloc = self.card.describe(a, self.memory)
            self._report(st, int(lanes[p]), "memcheck", f"{kind} ({'write' if write else 'read'})",
                         text, a, width, alloc, extra_lanes=len(positions) - 1 if p == positions[0] else 0)
        first = int(positions[0])
        raise st.fault(int(lanes[first]), text, int(addrs[first]), "sanitizer: invalid global access")

    def _vram_offsets(self, addrs: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
        base, size = _U64(self.card.vram_base), self.card.vram_size
        in_vram = (addrs >= base) & (addrs < base + _U64(size))
        return in_vram, (addrs[in_vram] - base).astype(np.int64)

    def _written(self) -> InitShadow:
        """The card's initcheck shadow (a bit per VRAM byte); only initcheck asks, and it made one."""
        written = self.card.written
        assert written is not None
        return written

    def _mark(self, addrs: np.ndarray, width: int) -> None:
        _, off = self._vram_offsets(addrs, width)
        self._written().mark_lanes(off, width)

    def _initcheck(self, st, lanes, addrs, width, text) -> None:
        in_vram, off = self._vram_offsets(addrs, width)
        if off.size == 0:
            return
        unset = self._written().unset_lanes(off, width)
        if not unset.any():
            return
        positions = np.flatnonzero(in_vram)[np.flatnonzero(unset)]
        for p in positions[:MAX_LANES_REPORTED]:
            a = int(addrs[p])
            self._report(st, int(lanes[p]), "initcheck", "uninitialized global read", text, a, width,
                         self.nearest(a), extra_lanes=len(positions) - 1 if p == positions[0] else 0)

    # ---- shared memory: racecheck ------------------------------------------------------
    def shared_access(self, st: Any, lanes: np.ndarray, keys: np.ndarray, width: int,
                      write: bool, text: str) -> None:
        if "racecheck" not in self.tools:
            return
        shadow = self.race.get(st)
        if shadow is None or shadow.size != st.shared.size:
            shadow = self.race[st] = RaceShadow(st.shared.size, st.shared_stride)
        line = line_of(text)
        hit = shadow.access(keys, st.warp[lanes], width, write, line)
        if hit is None:
            return
        block, thread = st.where(int(lanes[hit.lane]))
        self._record(block, thread, "racecheck", f"{hazard_kind(write, hit.against_write, hit.earlier_line, line)}"
                     " on shared memory", text, None, width,
                     f"shared byte offset {int(keys[hit.lane]) % st.shared_stride}", hit.lanes_hit - 1,
                     hazard_lines(write, hit.against_write, hit.earlier_line, line))

    def barrier(self, st: Any, lanes: np.ndarray | None) -> None:
        """Threads of the given lanes' blocks passed a barrier: a new hazard interval there."""
        shadow = self.race.get(st)
        if shadow is None:
            return
        blocks = None
        if lanes is not None:
            blocks = np.zeros(st.nblk, bool)
            blocks[st.blk[lanes]] = True
        shadow.barrier(blocks)

    # ---- reporting ----------------------------------------------------------------------
    def _hazard(self, finding: Finding) -> None:
        """Keep a hazard's finding if no lower block and thread met it in this launch: which
        thread meets it first follows the engine's order (and, on the JIT, the host threads'
        race), the lowest does not."""
        key = (finding.kind, tuple(tuple(a) for a in finding.extra.get("accesses", ())))
        with self._hazards_lock:
            kept = self._hazards.get(key)
            if kept is None or _order(finding) < _order(kept):
                self._hazards[key] = finding

    def finish(self) -> None:
        """The launch ended: report its hazards, each once."""
        with self._hazards_lock:
            found, self._hazards = sorted(self._hazards.values(), key=_order), {}
        for finding in found:
            REPORT.add(finding)

    # ---- kernels on the native engine ---------------------------------------------------
    def native_fault(self, block: tuple[int, int, int], thread: tuple[int, int, int], text: str,
                     addr: int, width: int, write: bool) -> None:
        """The JIT faulted on a global access: report it as _memcheck reports a bad lane."""
        if addr % width:
            kind, alloc = "misaligned access", self.nearest(addr)
        else:
            kind, alloc = self.card.describe(addr, self.memory)
        self._record(block, thread, "memcheck", f"{kind} ({'write' if write else 'read'})", text,
                     addr, width, alloc)

    def _report(self, st, lane: int, tool: str, kind: str, text: str, addr: int | None, width: int,
                alloc: str, extra_lanes: int = 0) -> None:
        block, thread = st.where(lane)
        self._record(block, thread, tool, kind, text, addr, width, alloc, extra_lanes)

    def _record(self, block: tuple[int, int, int], thread: tuple[int, int, int], tool: str, kind: str,
                text: str, addr: int | None, width: int, alloc: str, extra_lanes: int = 0,
                extra: dict | None = None) -> None:
        finding = Finding(tool=tool, kind=kind, kernel=self.kernel, block=block, thread=thread,
                          instruction=text, address=addr, size=width, allocation=alloc,
                          detail=f"and {extra_lanes} more lanes of this access" if extra_lanes else "",
                          extra=extra or {})
        if tool == "racecheck":
            self._hazard(finding)
        else:
            REPORT.add(finding)


def _order(finding: Finding) -> tuple:
    """Blocks, then threads, in their linear order (x fastest)."""
    return tuple(reversed(finding.block or ())), tuple(reversed(finding.thread or ()))
