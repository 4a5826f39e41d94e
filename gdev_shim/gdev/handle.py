"""A Gdev handle (gopen): one card, its address space, DMA buffers and contexts."""
from __future__ import annotations

import errno
import threading
from typing import TYPE_CHECKING

from ..aidev.device import AidevDevice, AidevError, private_card_reason
from ..common.contract import C
from ..log import get
from ..settings import settings
from .aidev_backend import AIDEV_COMPUTE
from .context import GdevCtx
from . import hostmem
from .errors import DeviceLost, GdevError, invalid
from .vas import DeviceMem, Vas

if TYPE_CHECKING:
    import numpy as np

log = get("gdev.handle")


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
        # small synchronous copies through the host's mapping of VRAM, unless a tool watches
        # this program's copies on its own cards (sanitizer shadow, injected DMA faults, traces)
        self.direct_copies = private_card_reason() is None
        self.lock = threading.RLock()
        self.closed = False

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

    def host_view(self, mem: DeviceMem) -> np.ndarray:
        """The host's mapping of a buffer (mapped on first use: a VRAM buffer mapped into the
        host stays resident from then on, see docs/cardd.md "Overcommit")."""
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
            self.dev.gem_free(mem.gem)
        for q in self.queues:
            q.close()
        self.dev.close()
