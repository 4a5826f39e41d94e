"""Host<->device copies: the DMA engine through bounce buffers, pipelined.

Like Gdev, a copy from pageable host memory is cut into chunks; while the card
moves chunk i out of one bounce buffer the host fills the next one.  Memory the
card can already reach (a DMA buffer from gmalloc_dma) is copied directly.
"""
from __future__ import annotations

import numpy as np

from ..common.contract import C
from . import hostmem
from .aidev_backend import AIDEV_COMPUTE
from .handle import GdevHandle
from .vas import DeviceMem


def _bounce_buffers(h: GdevHandle) -> list[list]:
    want = (h.pipeline_count, h.chunk_size)
    if len(h.bounce) != want[0] or (h.bounce and h.bounce[0][0].size != want[1]):
        for mem, seq in h.bounce:
            if seq:
                h.wait(seq)
            h.free(mem.addr)
        h.bounce = [[h.alloc(h.chunk_size, C.AIDEV_GEM_DOMAIN_HOST), 0] for _ in range(want[0])]
    return h.bounce


def _dma(h: GdevHandle, dst: int, src: int, size: int) -> int:
    """Queue one DMA copy and a fence; returns the fence sequence."""
    with h.ctx.lock:
        AIDEV_COMPUTE.memcpy(h.ctx, dst, src, size)
        return h.fence()


def to_device_async(h: GdevHandle, dst: int, src_host: int, size: int) -> int:
    """Copy host -> device; returns the fence that completes it."""
    pinned = h.dma_containing(src_host, size)
    if pinned is not None:
        return _dma(h, dst, pinned.addr + (src_host - pinned.host_addr), size)
    src = hostmem.view(src_host, size)
    seq = 0
    with h.lock:
        bufs = _bounce_buffers(h)
        for i, off in enumerate(range(0, size, h.chunk_size)):
            n = min(h.chunk_size, size - off)
            slot = bufs[i % len(bufs)]
            mem: DeviceMem = slot[0]
            if slot[1]:
                h.wait(slot[1])
            np.copyto(mem.host[:n], src[off:off + n])
            seq = slot[1] = _dma(h, dst + off, mem.addr, n)
    return seq


def from_device_async(h: GdevHandle, dst_host: int, src: int, size: int) -> int:
    """Device -> host.  Through bounce buffers the host must copy out, so this
    completes before returning unless the destination is a DMA buffer."""
    pinned = h.dma_containing(dst_host, size)
    if pinned is not None:
        return _dma(h, pinned.addr + (dst_host - pinned.host_addr), src, size)
    dst = hostmem.view(dst_host, size)
    chunks = [(off, min(h.chunk_size, size - off)) for off in range(0, size, h.chunk_size)]
    seq = 0
    with h.lock:
        bufs = _bounce_buffers(h)
        for slot in bufs:                      # earlier users of the buffers must be done
            if slot[1]:
                h.wait(slot[1])
        in_flight: list[int] = []
        for i, (off, n) in enumerate(chunks[: len(bufs)]):
            in_flight.append(_dma(h, bufs[i][0].addr, src + off, n))
        for i, (off, n) in enumerate(chunks):
            slot = bufs[i % len(bufs)]
            h.wait(in_flight[i])
            np.copyto(dst[off:off + n], slot[0].host[:n])
            following = i + len(bufs)
            if following < len(chunks):
                f_off, f_n = chunks[following]
                in_flight.append(_dma(h, slot[0].addr, src + f_off, f_n))
            seq = in_flight[i]
        for slot in bufs:
            slot[1] = 0
    return seq


def device_to_device_async(h: GdevHandle, dst: int, src: int, size: int) -> int:
    return _dma(h, dst, src, size)


def memset_async(h: GdevHandle, dst: int, value: int, elem: int, count: int) -> int:
    with h.ctx.lock:
        AIDEV_COMPUTE.memset(h.ctx, dst, value, elem, count)
        return h.fence()
