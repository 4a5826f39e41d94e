"""A Gdev handle (gopen): one card, its address space, DMA buffers and contexts."""
from __future__ import annotations

import errno
import threading
import weakref
from typing import TYPE_CHECKING

from ..aidev.device import AidevDevice, AidevError, private_card_reason
from ..common.contract import C
from ..log import get
from ..settings import settings
from .aidev_backend import AIDEV_COMPUTE
from .context import GdevCtx
from . import hostmem
from .errors import DeviceLost, GdevError, invalid
from .suballoc import SubAllocator
from .vas import DeviceMem, Vas

if TYPE_CHECKING:
    import numpy as np

log = get("gdev.handle")
_handles: weakref.WeakSet[GdevHandle] = weakref.WeakSet()     # for trim_all


def trim_all(minor: int) -> None:
    """Give the card back the empty slabs of every handle of this process on card `minor`
    (before its free memory is read: what the program does not use is free)."""
    for h in list(_handles):
        if h.minor == minor and not h.closed:
            h.trim()


def _open(minor: int) -> AidevDevice:
    try:
        return AidevDevice.open(minor)
    except AidevError as e:
        raise _opening_failed(minor, e) from None


def _opening_failed(minor: int, e: AidevError) -> GdevError:
    """What gopen raises: the device lost (its daemon died) stays DeviceLost, for its own code."""
    if e.errno == errno.ESHUTDOWN:
        return DeviceLost(f"card {minor}: {e}")
    return GdevError(e.errno, f"card {minor}: {e}")


class GdevHandle:
    def __init__(self, minor: int) -> None:
        self.minor = minor
        self.dev = _open(minor)
        try:
            self.info = self.dev.info()
            self.ctx = GdevCtx(self.dev, AIDEV_COMPUTE)
        except AidevError as e:
            self.dev.close()
            raise _opening_failed(minor, e) from None
        self.queues: list[GdevCtx] = [self.ctx]
        self.vas = Vas()
        self.dma_by_host: dict[int, DeviceMem] = {}
        self.chunk_size = settings.memcpy_chunk
        self.pipeline_count = max(1, settings.memcpy_pipeline)
        # small synchronous copies through the host's mapping of VRAM, and small allocations
        # carved out of slabs, unless a tool watches this program on its own cards (the
        # sanitizer's bounds and shadow, injected DMA faults, traces see every buffer and copy)
        watched = private_card_reason() is not None
        self.direct_copies = not watched
        # large pageable copies by the card daemon (memcpy.py), where asked for
        self.one_copy = bool(settings.memcpy_one_copy) and not watched
        self.suballoc = None if watched else SubAllocator(self._new_slab, self._free_slab,
                                                         self.info["vram_size"])
        self.lock = threading.RLock()
        self.closed = False
        self.launch_shapes: set[tuple] = set()   # (grid, block, shared) glaunch has checked
        _handles.add(self)

    # ---- contexts (queues) ----------------------------------------------------
    def open_queue(self) -> GdevCtx:
        """Another channel on this card, for a stream."""
        try:
            q = GdevCtx(self.dev, AIDEV_COMPUTE, sid=len(self.queues))
        except AidevError as e:
            raise GdevError(e.errno, f"card {self.minor}: no channel for another stream: {e}") from None
        with self.lock:
            self.queues.append(q)
        return q

    def close_queue(self, q: GdevCtx) -> None:
        if q is self.ctx:
            raise invalid("the handle's own context cannot be closed alone")
        self._drain(q)
        with self.lock:
            self.queues.remove(q)
        self._release_bounce(q)
        q.close()

    def _drain(self, q: GdevCtx) -> None:
        try:
            if q.seq:
                q.wait(q.seq, min(5000, settings.sync_timeout_ms))
        except GdevError as e:
            log.debug("card %d channel %d: pending work not finished: %s", self.minor, q.channel.id, e)

    # ---- device memory -------------------------------------------------
    def alloc(self, size: int, domain: int = C.AIDEV_GEM_DOMAIN_VRAM) -> DeviceMem:
        if size <= 0:
            raise invalid(f"allocation size {size}")
        if domain == C.AIDEV_GEM_DOMAIN_VRAM and self.suballoc is not None and self.suballoc.takes(size):
            piece = self._alloc_piece(size)
            if piece is not None:
                return piece
        try:
            gem, addr, map_offset = self.dev.gem_new(size, domain)
        except AidevError as e:
            raise GdevError(e.errno, f"card {self.minor}: cannot allocate {size} bytes: {e}") from None
        mem = DeviceMem(addr, size, gem, domain, map_offset=map_offset)
        if domain == C.AIDEV_GEM_DOMAIN_HOST:
            mem.host = self.dev.map(map_offset, size)
            self.dma_by_host[mem.host_addr] = mem
        with self.lock:
            self.vas.add(mem)
        return mem

    def _alloc_piece(self, size: int) -> DeviceMem | None:
        """A piece of a slab, None when the card has no room for another slab (the caller
        asks for a buffer of the exact size, which may still fit)."""
        assert self.suballoc is not None
        with self.lock:
            try:
                mem = self.suballoc.alloc(size)
            except GdevError as e:
                if e.errno != errno.ENOMEM or not self.suballoc.trim():
                    return None
                try:
                    mem = self.suballoc.alloc(size)
                except GdevError:
                    return None
            self.vas.add(mem)
        return mem

    def _new_slab(self, size: int) -> DeviceMem:
        """A slab, mapped into the host now, before any kernel can use a piece of it (a
        buffer's first map moves its bytes in the card, see memcpy.direct_view): small
        copies of its pieces are direct, and mapped, it stays resident."""
        try:
            gem, addr, map_offset = self.dev.gem_new(size, C.AIDEV_GEM_DOMAIN_VRAM)
        except AidevError as e:
            raise GdevError(e.errno, f"card {self.minor}: cannot allocate {size} bytes: {e}") from None
        mem = DeviceMem(addr, size, gem, C.AIDEV_GEM_DOMAIN_VRAM, map_offset=map_offset)
        try:
            self.host_view(mem)
        except AidevError as e:
            self._gem_free(mem)
            raise GdevError(e.errno, f"card {self.minor}: cannot map a {size}-byte slab: {e}") from None
        return mem

    def _free_slab(self, mem: DeviceMem) -> None:
        self._gem_free(mem)

    def trim(self) -> None:
        if self.suballoc is not None:
            with self.lock:
                self.suballoc.trim()

    def host_view(self, mem: DeviceMem) -> np.ndarray:
        """The host's mapping of a buffer (mapped on first use: a VRAM buffer mapped into the
        host stays resident from then on, see docs/cardd.md "Overcommit").  A piece of a
        slab is a window of the slab's mapping."""
        if mem.host is None and mem.slab is not None:
            offset = mem.addr - mem.slab.mem.addr
            mem.host = self.host_view(mem.slab.mem)[offset:offset + mem.size]
        if mem.host is None:
            map_offset = mem.map_offset or self.dev.gem_info(mem.gem)[3]
            mem.host = self.dev.map(map_offset, mem.size)
        return mem.host

    def share(self, mem: DeviceMem) -> int:
        """One address for host and card: map the buffer into the host and have the card
        answer the host mapping's addresses with it too (AIDEV_IOCTL_GEM_ALIAS); returns
        the host (and now also device) address of its first byte."""
        if mem.shared:
            return mem.shared
        if mem.slab is not None:
            # the slab is mapped and aliased as a whole: the piece is the same window of both
            base = self.share(mem.slab.mem)
            self.host_view(mem)
            mem.shared = base + (mem.addr - mem.slab.mem.addr)
            return mem.shared
        self.host_view(mem)
        try:
            self.dev.gem_alias(mem.gem, mem.host_addr)
        except AidevError as e:
            raise GdevError(e.errno, f"card {self.minor}: cannot reach host address "
                                     f"0x{mem.host_addr:x} from the card: {e}") from None
        mem.shared = mem.host_addr
        return mem.shared

    def alloc_managed(self, size: int) -> DeviceMem:
        """Host pages at one address for host and card (managed memory): a HOST buffer
        known to this handle by its host address alone."""
        mem = self.alloc(size, C.AIDEV_GEM_DOMAIN_HOST)
        try:
            host = self.share(mem)
        except GdevError:
            self.free(mem.addr)
            raise
        with self.lock:
            self.vas.remove(mem.addr)
            self.dma_by_host.pop(host, None)
            managed = DeviceMem(host, size, mem.gem, mem.domain, mem.host, shared=host)
            self.vas.add(managed)
        return managed

    def register_host(self, addr: int, size: int) -> DeviceMem:
        """Pin host memory the caller has: the card reaches it at its own addresses, and
        copies use it as they use a DMA buffer."""
        if size <= 0:
            raise invalid(f"host registration of {size} bytes")
        try:
            gem, dev_addr = self.dev.gem_userptr(addr, size)
        except AidevError as e:
            raise GdevError(e.errno, f"card {self.minor}: cannot reach host range 0x{addr:x}+0x{size:x}: {e}") \
                from None
        mem = DeviceMem(dev_addr, size, gem, C.AIDEV_GEM_DOMAIN_USER, hostmem.view(addr, size), shared=addr)
        with self.lock:
            self.dma_by_host[addr] = mem
        return mem

    def unregister_host(self, addr: int) -> int:
        with self.lock:
            mem = self.dma_by_host.get(addr)
            if mem is None or mem.domain != C.AIDEV_GEM_DOMAIN_USER:
                raise invalid(f"card {self.minor}: 0x{addr:x} is not registered host memory")
            del self.dma_by_host[addr]
        self._gem_free(mem)
        return mem.size

    def free(self, addr: int) -> int:
        with self.lock:
            mem = self.vas.remove(addr)
        if mem is None:
            raise invalid(f"card {self.minor}: 0x{addr:x} is not an allocation of this handle")
        if mem.slab is not None:
            with self.lock:
                assert self.suballoc is not None
                self.suballoc.free(mem)
            return mem.size
        if mem.domain == C.AIDEV_GEM_DOMAIN_HOST:
            self.dma_by_host.pop(mem.host_addr, None)
        self._gem_free(mem)
        return mem.size

    def _gem_free(self, mem: DeviceMem) -> None:
        try:
            self.dev.gem_free(mem.gem)
        except AidevError as e:
            raise GdevError(e.errno, f"card {self.minor}: cannot free 0x{mem.addr:x}: {e}") from None

    def dma_containing(self, host_addr: int, size: int) -> DeviceMem | None:
        """The DMA (pinned) buffer holding [host_addr, host_addr+size), if any."""
        for mem in list(self.dma_by_host.values()):
            if mem.host_addr <= host_addr and host_addr + size <= mem.host_addr + mem.size:
                return mem
        return None

    def bounce_buffers(self, q: GdevCtx) -> list[list]:
        """The context's bounce buffers at the handle's tuned chunk size and count."""
        if len(q.bounce) != self.pipeline_count or (q.bounce and q.bounce[0][0].size != self.chunk_size):
            self._release_bounce(q)
            q.bounce = [[self.alloc(self.chunk_size, C.AIDEV_GEM_DOMAIN_HOST), 0]
                        for _ in range(self.pipeline_count)]
        return q.bounce

    def _release_bounce(self, q: GdevCtx) -> None:
        for mem, seq in q.bounce:
            if seq:
                try:
                    q.wait(seq)
                except GdevError as e:     # a faulted channel moves nothing more: free anyway
                    log.debug("card %d channel %d: bounce buffer in use at a fault: %s",
                              self.minor, q.channel.id, e)
            self.free(mem.addr)
        q.bounce = []

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for q in self.queues:
            self._drain(q)
        for mem in self.vas:
            if mem.slab is None:
                self.dev.gem_free(mem.gem)
        for slab in self.suballoc.slabs if self.suballoc is not None else []:
            self.dev.gem_free(slab.mem.gem)
        for q in self.queues:
            q.close()
        self.dev.close()
