"""Buffer objects: VRAM ranges and host (GART) pages, each a region of device memory."""
from __future__ import annotations

import errno
import threading
from dataclasses import dataclass

import numpy as np

from ..common.contract import C
from .allocator import ChunkedAllocator, RangeAllocator
from .errors import CardError
from .memory import CardMemory, Region
from .swap import Residency, SwapClient
from .vram import PAGE, SharedPages, Vram, host_pages

# mmap offsets of HOST buffers: their GART offset above this base (channel pages sit below it)
HOST_MAP_BASE = 1 << 40
# mmap offsets of VRAM buffers (the card's memory aperture): their VRAM offset above this base,
# which lies beyond every HOST offset (GART offsets stay below 2**47).
VRAM_MAP_BASE = 1 << 48
# a buffer's alias (a host address) lies below this: user space of a 47-bit address space
ALIAS_LIMIT = 1 << 47
# VRAM buffers get device addresses in a space of this many chunks of the VRAM's size
# (swap.py keeps the resident ones within the VRAM), up to OVERCOMMIT_CAP bytes of it.
OVERCOMMIT = 4
OVERCOMMIT_CAP = 1 << 42


def vram_chunks(vram_size: int) -> int:
    """Chunks of VRAM addresses, each as large as the VRAM, of a card with `vram_size` bytes."""
    return max(1, min(OVERCOMMIT, OVERCOMMIT_CAP // max(vram_size, 1)))


@dataclass(eq=False)
class BufferObject:
    domain: int
    size: int
    addr: int
    map_offset: int                   # mmap offset of the host view
    pages: SharedPages | None = None  # the host pages of a HOST buffer
    separate: SharedPages | None = None  # a mapped VRAM buffer's own pages (Vram.separate)
    separating: threading.Event | None = None  # set when a first map's separation ends
    freed: bool = False


class BufferManager:
    """Allocates buffer objects of one card and publishes them as device memory."""

    def __init__(self, memory: CardMemory, vram_base: int, vram_size: int,
                 gart_base: int, gart_size: int) -> None:
        self.memory = memory
        self.vram_base, self.gart_base = vram_base, gart_base
        self.vram_size = vram_size
        self.vram = Vram(vram_size, vram_chunks(vram_size))
        self.address_span = self.vram.size
        self._vram_alloc = ChunkedAllocator(vram_size, self.vram.chunk, vram_chunks(vram_size), PAGE)
        self._gart_alloc = RangeAllocator(gart_size, PAGE)
        self._lock = threading.Lock()
        self.residency = Residency(memory, self.vram, vram_base, vram_size)
        self._vram_limit: int | None = None
        self._aliases: dict[int, int] = {}     # buffer address -> its second device address

    @property
    def vram_limit(self) -> int | None:
        """An injected smaller VRAM (GDEV_SIM_FAULT=vram:...)."""
        return self._vram_limit

    @vram_limit.setter
    def vram_limit(self, limit: int | None) -> None:
        self._vram_limit = limit
        self.residency.capacity = self.vram_size if limit is None else min(limit, self.vram_size)

    @property
    def vram_used(self) -> int:
        """Bytes of VRAM that resident buffers occupy (swapped-out buffers are elsewhere)."""
        return self.residency.resident

    def new(self, size: int, domain: int, flags: int = 0, owner: SwapClient | None = None) -> BufferObject:
        """A buffer; a VRAM one belongs to `owner` for the swap (None: pinned in VRAM)."""
        if size <= 0 or flags != 0:
            raise CardError(errno.EINVAL, f"bad buffer size {size} / flags {flags:#x}")
        if domain == C.AIDEV_GEM_DOMAIN_VRAM:
            return self._new_vram(size, owner)
        if domain == C.AIDEV_GEM_DOMAIN_HOST:
            return self._new_host(size)
        raise CardError(errno.EINVAL, f"unknown memory domain {domain}")

    def _new_vram(self, size: int, owner: SwapClient | None) -> BufferObject:
        with self._lock:
            offset = self._vram_alloc.alloc(size)
            if offset is None:
                raise CardError(errno.ENOMEM, f"no {size}-byte range of VRAM addresses free "
                                              f"({self._vram_alloc.used} of {self.address_span} in use)")
            bo = BufferObject(C.AIDEV_GEM_DOMAIN_VRAM, self._vram_alloc.size_of(offset),
                              self.vram_base + offset, VRAM_MAP_BASE + offset)
        try:
            region = Region(bo.addr, bo.size, self.vram.array_of(offset // self.vram.chunk),
                            self.vram_base + self.vram.base_of(offset), size)
            self.residency.place(bo, region, owner)
        except CardError:
            placed = self.residency.drop(bo)        # a pin of an unowned buffer found no room
            if placed is not None and placed.resident:
                self.memory.remove(bo.addr)
                self.vram.release(offset, bo.size)
            with self._lock:
                self._vram_alloc.free(offset)
            raise
        return bo

    def _new_host(self, size: int) -> BufferObject:
        with self._lock:
            offset = self._gart_alloc.alloc(size)
            if offset is None:
                raise CardError(errno.ENOMEM, f"GART window has no {size}-byte range free")
            length = self._gart_alloc.size_of(offset)
            try:
                pages = host_pages(length)
            except (OSError, OverflowError, ValueError) as exc:
                self._gart_alloc.free(offset)
                raise CardError(errno.ENOMEM, f"cannot allocate {length} host bytes: {exc}") from exc
        addr = self.gart_base + offset
        bo = BufferObject(C.AIDEV_GEM_DOMAIN_HOST, length, addr, HOST_MAP_BASE + offset, pages)
        self.memory.add(Region(addr, length, np.frombuffer(pages.map, dtype=np.uint8), addr, size))
        return bo

    def host_view(self, bo: BufferObject) -> memoryview:
        """The bytes of a buffer as the host maps them (VRAM through the aperture)."""
        if bo.pages is not None:
            return memoryview(bo.pages.map)
        self.residency.pin(bo)            # the card cannot take pages back from a mapping
        offset = bo.addr - self.vram_base
        return self.vram.window(offset, bo.size).data

    def map_source(self, bo: BufferObject) -> tuple[int, int]:
        """(memfd, file offset) of a buffer's pages, for another process to map: a HOST
        buffer's own, a VRAM buffer's separated from the VRAM's (vram.py) on its first map."""
        if bo.pages is not None:
            return bo.pages.fd, 0
        self.residency.pin(bo)            # the card cannot take pages back from a mapping
        while True:
            with self._lock:
                if bo.separate is not None:
                    return bo.separate.fd, 0
                if bo.freed:
                    raise CardError(errno.EINVAL, f"buffer {bo.addr:#x} is freed")
                ongoing = bo.separating
                if ongoing is None:
                    ongoing = bo.separating = threading.Event()
                    break
            ongoing.wait()                # another first map of it: take its pages
        try:
            pages = self._separate(bo)
        except BaseException:
            with self._lock:
                bo.separating = None
            ongoing.set()
            raise
        with self._lock:
            bo.separate, bo.separating = pages, None
        ongoing.set()
        return pages.fd, 0

    def _separate(self, bo: BufferObject) -> SharedPages:
        """Give a buffer pages of its own, outside the lock: copying 1 GiB takes seconds,
        which every other client's allocation would wait for.  Meanwhile the buffer stays
        where it is: it is pinned (the swap leaves it), and freeing it waits for the end
        (free), since its range could otherwise be another buffer's under the new pages."""
        offset = bo.addr - self.vram_base
        try:
            pages = self.vram.copy_out(offset, bo.size)
        except OSError as exc:
            raise CardError(errno.ENOMEM, f"cannot give buffer {bo.addr:#x} pages of its own: {exc}") from exc
        try:
            self.vram.move_to(offset, bo.size, pages)
        except OSError as exc:
            pages.map.close()
            pages.close()
            raise CardError(errno.ENOMEM, f"cannot give buffer {bo.addr:#x} pages of its own: {exc}") from exc
        return pages

    def alias(self, bo: BufferObject, addr: int) -> None:
        """Answer device addresses [addr, addr + size) with the buffer's bytes too (the host's
        mapping of it, so one pointer works on both sides); see struct aidev_gem_alias."""
        end = addr + bo.size
        if addr <= 0 or addr % PAGE or end > ALIAS_LIMIT:
            raise CardError(errno.EINVAL, f"alias at {addr:#x} is not a page-aligned host address")
        if bo.domain == C.AIDEV_GEM_DOMAIN_VRAM:
            self.residency.pin(bo)        # the alias shares the pages: they must stay put
        region = self.memory.region_at(bo.addr)
        assert region is not None                      # a live buffer is mapped at its address
        with self._lock:
            if bo.addr in self._aliases:
                raise CardError(errno.EBUSY, f"buffer at {bo.addr:#x} already has an alias")
            if any(r.start < end and addr < r.end for r in self.memory.regions()):
                raise CardError(errno.EEXIST, f"alias {addr:#x}+{bo.size:#x} overlaps mapped memory")
            self._aliases[bo.addr] = addr
            self.memory.add(Region(addr, region.length, region.backing,
                                   region.backing_base + addr - bo.addr, region.requested, bo.addr))

    def userptr(self, addr: int, size: int, backing: np.ndarray | None = None) -> BufferObject:
        """A buffer of host memory the caller has, reached at its own addresses (GEM_USERPTR).

        `backing` holds those bytes when the caller is another process (shared pages it
        handed over); without it they are this process's own memory at `addr`.
        """
        end = addr + size
        if addr <= 0 or size <= 0 or end > ALIAS_LIMIT:
            raise CardError(errno.EINVAL, f"{size} bytes at {addr:#x} are no host range")
        if backing is None:
            from ..common.contract import ffi
            backing = np.frombuffer(ffi.buffer(ffi.cast("uint8_t *", addr), size), dtype=np.uint8)
        with self._lock:
            if any(r.start < end and addr < r.end for r in self.memory.regions()):
                raise CardError(errno.EEXIST, f"{addr:#x}+{size:#x} overlaps mapped memory")
            self.memory.add(Region(addr, size, backing, addr, size))
        return BufferObject(C.AIDEV_GEM_DOMAIN_USER, size, addr, 0)

    def free(self, bo: BufferObject) -> int:
        """Release a buffer; returns its size.  Host pages live on while a host mapping holds them.
        A first map of it in progress (map_source) ends first, and no other starts."""
        with self._lock:
            alias = self._aliases.pop(bo.addr, None)
            bo.freed = True
            ongoing = bo.separating
        if ongoing is not None:
            ongoing.wait()
        if alias is not None:
            self.memory.remove(alias)
        placed = self.residency.drop(bo) if bo.domain == C.AIDEV_GEM_DOMAIN_VRAM else None
        if placed is not None and not placed.resident:
            self.memory.forget(placed.region)     # swapped out: no region, but it is freed all the same
        else:
            self.memory.remove(bo.addr)
        with self._lock:
            if bo.domain == C.AIDEV_GEM_DOMAIN_USER:
                pass                                       # the caller's memory: only forgotten
            elif bo.domain == C.AIDEV_GEM_DOMAIN_VRAM:
                offset = bo.addr - self.vram_base
                if bo.separate is not None:
                    self.vram.rejoin(offset, bo.size, bo.separate)
                    bo.separate = None
                self._vram_alloc.free(offset)
                if placed is None or placed.resident:
                    self.vram.release(offset, bo.size)     # an evicted range holds no pages already
            else:
                self._gart_alloc.free(bo.addr - self.gart_base)
        if bo.pages is not None:
            bo.pages.close()
        return bo.size
