"""Host<->device copies: the DMA engine through bounce buffers, pipelined.

Like Gdev, a copy from pageable host memory is cut into chunks; while the card
moves chunk i out of one bounce buffer the host fills the next one.  Memory the
card can already reach (a DMA buffer from gmalloc_dma) is copied directly, and
then the copy is truly asynchronous.

A small synchronous copy whose context has nothing outstanding goes through the host's
mapping of the buffer instead, as Gdev writes small transfers through the mapped BAR
with direct I/O rather than DMA: no ring command, no fence, no wait for the card.

A large pageable copy to a card in another process (the card daemon) is one copy, as a
driver's copy_from_user: the card reads or writes this process's memory itself
(AIDEV_IOCTL_HOST_COPY) once the context has executed everything queued before it.
Only above what the bounce buffers hold at once: a copy that large waits for the
context's earlier work through the bounce pipeline anyway, so its ordering is unchanged.
Where the system refuses (ptrace rules, seccomp, a card in this process) the bounce
buffers serve, as they do for a host range the card could not reach (then the host's
own copy meets the bad address as before).
"""
from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from ..aidev.device import AidevError
from ..log import get
from . import hostmem
from .context import GdevCtx
from .handle import GdevHandle

if TYPE_CHECKING:
    import numpy as np

# Direct copies: at most this many bytes, of memory the host has mapped already (small
# allocations: their slabs are mapped when made; see direct_view).
DIRECT_COPY_BYTES = 64 << 10


log = get("gdev")
# errors saying the card may never reach this process's memory: the handle stops trying
_REFUSED = (errno.EPERM, errno.ENOSYS, errno.ESRCH, errno.EACCES)


def _one_copy(h: GdevHandle, q: GdevCtx, addr: int, host: int, size: int, to_host: bool) -> int | None:
    """The copy done by the card with this process's memory (a fence that has passed), or
    None when the bounce buffers must do it."""
    if not h.one_copy or size <= h.chunk_size * h.pipeline_count:
        return None
    with q.copy_lock:
        seq = q.fence()
        q.wait(seq)                       # everything queued before the copy has run
        try:
            h.dev.host_copy(addr, host, size, to_host)
        except AidevError as e:
            if e.errno in _REFUSED:
                h.one_copy = False
                log.debug("card %d: pageable copies through bounce buffers: the card cannot "
                          "reach this process's memory (%s)", h.minor, e)
            else:
                log.debug("card %d: one-copy transfer of %#x bytes at host %#x: %s; through bounce "
                          "buffers", h.minor, size, host, e)
            return None
    return seq


def _dma(q: GdevCtx, dst: int, src: int, size: int) -> int:
    """Queue one DMA copy and a fence; returns the fence sequence."""
    with q.lock:
        q.compute.memcpy(q, dst, src, size)
        return q.fence()


def to_device(h: GdevHandle, q: GdevCtx, dst: int, src_host: int, size: int) -> int:
    """Copy host -> device; returns the fence that completes it.  The host buffer
    may be reused on return unless it is a DMA buffer (then the copy is in flight)."""
    pinned = h.dma_containing(src_host, size)
    if pinned is not None:
        return _dma(q, dst, pinned.addr + (src_host - pinned.host_addr), size)
    done = _one_copy(h, q, dst, src_host, size, False)
    if done is not None:
        return done
    src = hostmem.view(src_host, size)
    seq = 0
    with q.copy_lock:
        bufs = h.bounce_buffers(q)
        for i, off in enumerate(range(0, size, h.chunk_size)):
            n = min(h.chunk_size, size - off)
            slot = bufs[i % len(bufs)]
            if slot[1]:
                q.wait(slot[1])
            slot[0].host[:n] = src[off:off + n]
            seq = slot[1] = _dma(q, dst + off, slot[0].addr, n)
    return seq


def from_device(h: GdevHandle, q: GdevCtx, dst_host: int, src: int, size: int) -> int:
    """Device -> host.  Through bounce buffers the host copies out, so this completes
    before returning unless the destination is a DMA buffer."""
    pinned = h.dma_containing(dst_host, size)
    if pinned is not None:
        return _dma(q, pinned.addr + (dst_host - pinned.host_addr), src, size)
    done = _one_copy(h, q, src, dst_host, size, True)
    if done is not None:
        return done
    dst = hostmem.view(dst_host, size)
    chunks = [(off, min(h.chunk_size, size - off)) for off in range(0, size, h.chunk_size)]
    seq = 0
    with q.copy_lock:
        bufs = h.bounce_buffers(q)
        for slot in bufs:                      # earlier users of the buffers must be done
            if slot[1]:
                q.wait(slot[1])
                slot[1] = 0
        in_flight = [_dma(q, bufs[i][0].addr, src + off, n) for i, (off, n) in enumerate(chunks[:len(bufs)])]
        for i, (off, n) in enumerate(chunks):
            slot = bufs[i % len(bufs)]
            q.wait(in_flight[i])
            dst[off:off + n] = slot[0].host[:n]
            following = i + len(bufs)
            if following < len(chunks):
                f_off, f_n = chunks[following]
                in_flight.append(_dma(q, slot[0].addr, src + f_off, f_n))
            seq = in_flight[i]
    return seq


def device_to_device(q: GdevCtx, dst: int, src: int, size: int) -> int:
    return _dma(q, dst, src, size)


def memset(q: GdevCtx, dst: int, value: int, elem: int, count: int) -> int:
    with q.lock:
        q.compute.memset(q, dst, value, elem, count)
        return q.fence()


def direct_view(h: GdevHandle, addr: int, size: int) -> np.ndarray | None:
    """The host's view of device range [addr, addr + size) for a direct copy, or None when
    the copy must go to the card (too large, a tool watches copies, not mapped).

    Only memory mapped already: a VRAM buffer's first map moves its bytes into pages of
    their own in the card (docs/cardd.md, "Security"), which must not happen under a
    kernel of another stream writing the buffer; a slab is mapped before any of its
    pieces is handed out."""
    if size > DIRECT_COPY_BYTES or not h.direct_copies:
        return None
    mem = h.vas.find(addr)
    if mem is None or addr + size > mem.end or (mem.host is None and mem.slab is None):
        return None
    offset = addr - mem.addr
    return h.host_view(mem)[offset:offset + size]
