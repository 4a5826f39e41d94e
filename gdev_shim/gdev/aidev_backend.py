"""The aicard backend: the compute table written as ring commands.

Command layouts (argument words per opcode) are the ones include/aidev_drm.h
documents; the descriptor of a launch is the header's struct aidev_compute,
laid out by cffi from that header.
"""
from __future__ import annotations

import errno
from typing import Any

from ..aidev.device import AidevError
from ..common.contract import C, ffi
from ..log import get
from ..settings import settings
from .compute import ComputeTable
from .context import GdevCtx
from .errors import ChannelFault, DeviceLost, FenceTimeout
from .kernel import KernelLaunch

log = get("gdev.aidev")
_DESC_WORDS = ffi.sizeof("struct aidev_compute") // 8


def _init(ctx: GdevCtx) -> None:
    _fence_reset(ctx, 0, 0)
    ctx.ring.begin(C.AIDEV_OP_NOP, 0, ctx.sid, 0)
    _fire(ctx)


def _launch(ctx: GdevCtx, k: KernelLaunch) -> None:
    key = (k.code_addr, k.code_size, k.entry, len(k.params), k.grid, k.block, k.shared_size, k.local_size,
           k.globals_addr, k.grid_sync)
    desc = _descriptors.get(key)
    if desc is None:
        desc = _descriptor(k)
        if len(_descriptors) >= _DESCRIPTORS_KEPT:
            _descriptors.clear()
        _descriptors[key] = desc
    words = _words(desc + k.params + b"\0" * (-len(k.params) % 8))
    ctx.ring.begin(C.AIDEV_OP_COMPUTE, 0, ctx.sid, len(words))
    ctx.ring.out_many(words)


# A program relaunches a few kernels with a few shapes: their descriptors' bytes are kept.
_descriptors: dict[tuple, bytes] = {}
_DESCRIPTORS_KEPT = 256


def _descriptor(k: KernelLaunch) -> bytes:
    """struct aidev_compute of a launch, as bytes."""
    desc = ffi.new("struct aidev_compute *")
    desc.code_addr, desc.code_size, desc.entry = k.code_addr, k.code_size, k.entry
    desc.param_size = len(k.params)
    desc.grid = list(k.grid)
    desc.block = list(k.block)
    desc.shared_size, desc.local_size, desc.globals_addr = k.shared_size, k.local_size, k.globals_addr
    desc.grid_sync = k.grid_sync
    return bytes(ffi.buffer(desc))


_numpy: Any = None


def _words(data: bytes) -> Any:
    """The bytes as ring words (numpy imported with the first launch, not at import)."""
    global _numpy
    if _numpy is None:
        import numpy
        _numpy = numpy
    return _numpy.frombuffer(data, dtype=_numpy.uint64)


def _memcpy(ctx: GdevCtx, dst: int, src: int, size: int) -> None:
    ctx.ring.begin(C.AIDEV_OP_MEMCPY, 0, ctx.sid, 3)
    ctx.ring.out(dst)
    ctx.ring.out(src)
    ctx.ring.out(size)


def _memset(ctx: GdevCtx, dst: int, value: int, elem: int, count: int) -> None:
    ctx.ring.begin(C.AIDEV_OP_MEMSET, elem, ctx.sid, 3)
    ctx.ring.out(dst)
    ctx.ring.out(value)
    ctx.ring.out(count)


def _fence_write(ctx: GdevCtx, slot: int, seq: int) -> None:
    ctx.ring.begin(C.AIDEV_OP_FENCE, 0, ctx.sid, 2)
    ctx.ring.out(slot)
    ctx.ring.out(seq)
    if slot == 0:
        ctx.ring.note_fence(seq)


def _fence_read(ctx: GdevCtx, slot: int) -> int:
    return int(ctx.channel.fence_seq[slot])


def _fence_reset(ctx: GdevCtx, slot: int, seq: int) -> None:
    ctx.channel.fence_seq[slot] = seq


def _fence_wait(ctx: GdevCtx, slot: int, seq: int, timeout_ms: int) -> int:
    """Block until the card reaches `seq` on `slot`; raise on timeout or fault."""
    if _fence_read(ctx, slot) >= seq:
        return 0
    if timeout_ms < 0:
        timeout_ms = settings.sync_timeout_ms
    try:
        rc = ctx.dev.fence_wait(ctx.channel, slot, seq, timeout_ms)
    except AidevError as exc:
        if exc.errno == errno.ESHUTDOWN:
            raise DeviceLost(f"card {ctx.dev.minor}: {exc}") from None
        raise
    if rc == -errno.ETIMEDOUT:
        raise FenceTimeout(f"card {ctx.dev.minor} channel {ctx.channel.id}: fence {seq} "
                           f"not reached within {timeout_ms} ms")
    if rc == -errno.EIO:
        status = int(ctx.channel.regs.read32(C.AIDEV_REG_STATUS))
        raise ChannelFault(status, f"card {ctx.dev.minor} channel {ctx.channel.id} faulted "
                                   f"(status {status})")
    return rc


def _acquire(ctx: GdevCtx, addr: int, value: int) -> None:
    ctx.ring.begin(C.AIDEV_OP_ACQUIRE, 0, ctx.sid, 2)
    ctx.ring.out(addr)
    ctx.ring.out(value)


def _membar(ctx: GdevCtx) -> None:
    ctx.ring.begin(C.AIDEV_OP_MEMBAR, 0, ctx.sid, 0)


def _notify(ctx: GdevCtx, slot: int) -> None:
    ctx.ring.begin(C.AIDEV_OP_NOTIFY, 0, ctx.sid, 1)
    ctx.ring.out(slot)


def _prepare(ctx: GdevCtx, code_addr: int, code_size: int) -> None:
    ctx.ring.begin(C.AIDEV_OP_PREPARE, 0, ctx.sid, 2)
    ctx.ring.out(code_addr)
    ctx.ring.out(code_size)


def _fire(ctx: GdevCtx) -> None:
    ctx.ring.fire()


AIDEV_COMPUTE = ComputeTable(
    init=_init, launch=_launch, memcpy=_memcpy, memset=_memset,
    fence_write=_fence_write, fence_read=_fence_read, fence_reset=_fence_reset,
    fence_wait=_fence_wait, acquire=_acquire, membar=_membar, notify_intr=_notify, prepare=_prepare,
    fire=_fire,
)
