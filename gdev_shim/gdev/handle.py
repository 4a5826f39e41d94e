"""A Gdev handle (gopen): one card, one context, its address space and DMA buffers."""
from __future__ import annotations

import threading

from ..aidev.device import AidevDevice, AidevError
from ..common.contract import C
from ..log import get
from ..settings import settings
from .aidev_backend import AIDEV_COMPUTE
from .context import CTX_FENCE_SLOT, GdevCtx
from .errors import GdevError, invalid
from .vas import DeviceMem, Vas

log = get("gdev.handle")


class GdevHandle:
    def __init__(self, minor: int) -> None:
        self.minor = minor
        self.dev = AidevDevice.open(minor)
        self.info = self.dev.info()
        self.ctx = GdevCtx(self.dev)
        self.ctx.compute = AIDEV_COMPUTE
        AIDEV_COMPUTE.init(self.ctx)
        self.vas = Vas()
        self.dma_by_host: dict[int, DeviceMem] = {}
        self.chunk_size = settings.memcpy_chunk
        self.pipeline_count = max(1, settings.memcpy_pipeline)
        self.bounce: list[tuple[DeviceMem, int]] = []   # (buffer, seq that last used it)
        self.lock = threading.RLock()
        self.closed = False

    # ---- device memory -------------------------------------------------
    def alloc(self, size: int, domain: int = C.AIDEV_GEM_DOMAIN_VRAM) -> DeviceMem:
        if size <= 0:
            raise invalid(f"allocation size {size}")
        try:
            gem, addr, map_offset = self.dev.gem_new(size, domain)
        except AidevError as e:
            raise GdevError(e.errno, f"card {self.minor}: cannot allocate {size} bytes: {e}") from None
        mem = DeviceMem(addr, size, gem, domain)
        if domain == C.AIDEV_GEM_DOMAIN_HOST:
            mem.host = self.dev.map(map_offset, size)
            self.dma_by_host[mem.host_addr] = mem
        with self.lock:
            self.vas.add(mem)
        return mem

    def free(self, addr: int) -> int:
        with self.lock:
            mem = self.vas.remove(addr)
        if mem is None:
            raise invalid(f"card {self.minor}: 0x{addr:x} is not an allocation of this handle")
        if mem.host is not None:
            self.dma_by_host.pop(mem.host_addr, None)
        self.dev.gem_free(mem.gem)
        return mem.size

    def dma_containing(self, host_addr: int, size: int) -> DeviceMem | None:
        """The DMA (pinned) buffer holding [host_addr, host_addr+size), if any."""
        for mem in self.dma_by_host.values():
            if mem.host_addr <= host_addr and host_addr + size <= mem.host_addr + mem.size:
                return mem
        return None

    # ---- ordering ----------------------------------------------------------
    def fence(self) -> int:
        """Emit a fence after everything submitted so far and publish the ring."""
        with self.ctx.lock:
            seq = self.ctx.next_seq()
            AIDEV_COMPUTE.fence_write(self.ctx, CTX_FENCE_SLOT, seq)
            AIDEV_COMPUTE.fire(self.ctx)
        return seq

    def wait(self, seq: int, timeout_ms: int = -1) -> None:
        AIDEV_COMPUTE.fence_wait(self.ctx, CTX_FENCE_SLOT, seq, timeout_ms)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            if self.ctx.seq:
                self.wait(self.ctx.seq, 5000)
        except GdevError as e:
            log.debug("gclose: pending work not finished: %s", e)
        for mem in self.vas:
            self.dev.gem_free(mem.gem)
        self.ctx.close()
        self.dev.close()
