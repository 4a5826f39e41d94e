"""The Gdev API (g*) with Gdev's semantics, in Python terms.

Host pointers are integers (addresses), device memory is addressed by device
address.  Failures raise GdevError; the C glue turns them into Gdev's return
conventions (0 pointers, negative errno).
"""
from __future__ import annotations

import errno
import logging

from ..aidev.device import AidevDevice, AidevError, device_count, forked
from ..common.contract import C
from ..log import get
from ..settings import MAX_MEMCPY_CHUNK, MAX_MEMCPY_PIPELINE, MIN_MEMCPY_CHUNK, SettingsError, settings
from . import hostmem, memcpy
from .aidev_backend import AIDEV_COMPUTE
from .context import GdevCtx
from .errors import BadSettings, GdevError, invalid
from .handle import GdevHandle, trim_all
from .kernel import KernelLaunch
from .shm import registry as shm

log = get("gdev.api")

QUERY_DEVICE_MEM_SIZE, QUERY_DMA_MEM_SIZE, QUERY_CHIPSET, QUERY_BUS_TYPE = 1, 2, 3, 4
QUERY_AGGR_TYPE, QUERY_PCI_VENDOR, QUERY_PCI_DEVICE = 5, 6, 7
TUNE_MEMCPY_PIPELINE_COUNT, TUNE_MEMCPY_CHUNK_SIZE = 1, 2
PCI_VENDOR_AIDEV = 0x1E3E          # vendor id the card reports


def check_settings() -> None:
    """Every call that reaches for a card first checks the GDEV_* variables, so the first
    such call of a program reports a bad one."""
    try:
        settings.check()
    except SettingsError as e:
        raise BadSettings(str(e)) from None


def gdevice_count() -> int:
    check_settings()
    return device_count()


def check_unforked() -> None:
    if forked():
        raise GdevError(errno.ENODEV, "the cards were opened by the parent process; "
                                      "they are not usable after fork")


def gopen(minor: int) -> GdevHandle:
    check_unforked()
    check_settings()
    count = device_count()
    if not 0 <= minor < count:
        raise GdevError(errno.ENODEV, f"gopen: no card {minor} (have {count})")
    h = GdevHandle(minor)
    log.debug("gopen: minor=%d channel=%d", minor, h.ctx.channel.id)
    return h


def gclose(h: GdevHandle) -> None:
    log.debug("gclose: minor=%d", h.minor)
    h.close()


def gmalloc(h: GdevHandle, size: int) -> int:
    addr = h.alloc(size).addr
    log.debug("gmalloc: card=%d size=0x%x -> 0x%x", h.minor, size, addr)
    return addr


def gfree(h: GdevHandle, addr: int) -> int:
    size = h.free(addr)
    log.debug("gfree: card=%d 0x%x -> %d bytes", h.minor, addr, size)
    return size


def gmalloc_dma(h: GdevHandle, size: int) -> int:
    """Host memory the card reaches by DMA; returns its host address."""
    return h.alloc(size, C.AIDEV_GEM_DOMAIN_HOST).host_addr


def gmalloc_managed(h: GdevHandle, size: int) -> int:
    """Managed memory: host pages whose host address is their device address too."""
    addr = h.alloc_managed(size).addr
    log.debug("gmalloc_managed: card=%d size=0x%x -> 0x%x", h.minor, size, addr)
    return addr


def gshare(h: GdevHandle, addr: int) -> int:
    """The host address of device memory `addr`, which kernels may use as well: its
    allocation is mapped into the host and the card answers the mapping's addresses."""
    mem = h.vas.find(addr)
    if mem is None:
        raise invalid(f"gshare: 0x{addr:x} is not memory of this handle")
    return h.share(mem) + (addr - mem.addr)


def ghost_register(h: GdevHandle, host_addr: int, size: int) -> int:
    """Pin host memory the caller has; returns its device address (the same address)."""
    return h.register_host(host_addr, size).addr


def ghost_unregister(h: GdevHandle, host_addr: int) -> int:
    return h.unregister_host(host_addr)


def gfree_dma(h: GdevHandle, host_addr: int) -> int:
    mem = h.dma_by_host.get(host_addr)
    if mem is None:
        raise invalid(f"gfree_dma: 0x{host_addr:x} is not a DMA buffer of this handle")
    return h.free(mem.addr)


def gmap(h: GdevHandle, addr: int, size: int) -> int:
    """Host address through which device memory [addr, addr+size) is reached."""
    mem = h.vas.find(addr)
    if mem is None or addr + size > mem.end:
        raise invalid(f"gmap: 0x{addr:x}+{size} is not memory of this handle")
    try:
        host = h.host_view(mem)
    except AidevError as e:
        raise GdevError(e.errno, f"gmap: card {h.minor}: cannot map 0x{addr:x}: {e}") from None
    return int(host.ctypes.data) + (addr - mem.addr)


def gunmap(h: GdevHandle, host_addr: int) -> None:
    for mem in h.vas:
        if mem.host is not None and mem.host_addr <= host_addr < mem.host_addr + mem.size:
            return
    raise invalid(f"gunmap: 0x{host_addr:x} is not a mapping of this handle")


def _checked(h: GdevHandle, addr: int, size: int, what: str) -> None:
    mem = h.vas.find(addr)
    if mem is None or addr + size > mem.end:
        raise invalid(f"{what}: device range 0x{addr:x}+0x{size:x} is outside this handle's memory")


def gmemcpy_to_device_async(h: GdevHandle, dst: int, src_host: int, size: int,
                            q: GdevCtx | None = None) -> int:
    _checked(h, dst, size, "gmemcpy_to_device")
    seq = memcpy.to_device(h, q or h.ctx, dst, src_host, size) if size else 0
    log.debug("gmemcpy_to_device: card=%d dst=0x%x src=0x%x size=0x%x id=%d", h.minor, dst, src_host, size, seq)
    return seq


def gmemcpy_from_device_async(h: GdevHandle, dst_host: int, src: int, size: int,
                              q: GdevCtx | None = None) -> int:
    _checked(h, src, size, "gmemcpy_from_device")
    seq = memcpy.from_device(h, q or h.ctx, dst_host, src, size) if size else 0
    log.debug("gmemcpy_from_device: card=%d dst=0x%x src=0x%x size=0x%x id=%d", h.minor, dst_host, src, size, seq)
    return seq


def gmemcpy_to_device_direct(h: GdevHandle, dst: int, src_host: int, size: int) -> bool:
    """Copy host -> device now, through the host's mapping of the buffer, if this copy may
    go that way (small, no tool watching); False: queue it on the card instead.  The
    caller orders it: nothing queued may still touch the range."""
    _checked(h, dst, size, "gmemcpy_to_device")
    view = memcpy.direct_view(h, dst, size)
    if view is None:
        return False
    view[:] = hostmem.view(src_host, size)
    log.debug("gmemcpy_to_device (direct): card=%d dst=0x%x src=0x%x size=0x%x", h.minor, dst, src_host, size)
    return True


def gmemcpy_from_device_direct(h: GdevHandle, dst_host: int, src: int, size: int) -> bool:
    """Device -> host now, as gmemcpy_to_device_direct."""
    _checked(h, src, size, "gmemcpy_from_device")
    view = memcpy.direct_view(h, src, size)
    if view is None:
        return False
    hostmem.view(dst_host, size)[:] = view
    log.debug("gmemcpy_from_device (direct): card=%d dst=0x%x src=0x%x size=0x%x", h.minor, dst_host, src, size)
    return True


def gmemcpy_async(h: GdevHandle, dst: int, src: int, size: int, q: GdevCtx | None = None) -> int:
    _checked(h, dst, size, "gmemcpy dst")
    _checked(h, src, size, "gmemcpy src")
    return memcpy.device_to_device(q or h.ctx, dst, src, size) if size else 0


def gmemset_async(h: GdevHandle, dst: int, value: int, elem: int, count: int,
                  q: GdevCtx | None = None) -> int:
    _checked(h, dst, elem * count, "gmemset")
    return memcpy.memset(q or h.ctx, dst, value, elem, count) if count else 0


def gprepare_code(h: GdevHandle, code_addr: int, code_size: int) -> int:
    """Ask the card to ready (compile) the kernels of the code object at code_addr, so
    their launches start at once; returns the id to gsync on."""
    _checked(h, code_addr, code_size, "gprepare_code")
    q = h.ctx
    with q.lock:
        AIDEV_COMPUTE.prepare(q, code_addr, code_size)
        seq = q.fence()
    log.debug("gprepare_code: card=%d code=0x%x size=%d id=%d", h.minor, code_addr, code_size, seq)
    return seq


def _check_launch(h: GdevHandle, k: KernelLaunch) -> None:
    """Refuse on the host what the card would fault on: shapes beyond its limits, code elsewhere."""
    shape = (k.grid, k.block, k.shared_size)
    if shape not in h.launch_shapes:            # the card's limits never change: once per shape
        _check_shape(h, k)
        if len(h.launch_shapes) >= 256:
            h.launch_shapes.clear()
        h.launch_shapes.add(shape)
    _checked(h, k.code_addr, max(k.code_size, 1), "glaunch code object")


def _check_shape(h: GdevHandle, k: KernelLaunch) -> None:
    info = h.info
    if min(k.grid) < 1 or min(k.block) < 1 or any(
            v > m for v, m in zip(k.grid + k.block, tuple(info["max_grid_dim"]) + tuple(info["max_block_dim"]))):
        raise invalid(f"glaunch: grid {k.grid} / block {k.block} outside the card's limits")
    if k.block[0] * k.block[1] * k.block[2] > info["max_threads_per_block"]:
        raise invalid(f"glaunch: {k.block} is more than {info['max_threads_per_block']} threads per block")
    if k.shared_size > info["shared_mem_per_block"]:
        raise invalid(f"glaunch: {k.shared_size} bytes of shared memory exceed the card's")


def glaunch(h: GdevHandle, kernel: KernelLaunch, q: GdevCtx | None = None) -> int:
    _check_launch(h, kernel)
    q = q or h.ctx
    with q.lock:
        AIDEV_COMPUTE.launch(q, kernel)
        seq = q.fence()
    if log.isEnabledFor(logging.DEBUG):
        log.debug("glaunch: card=%d channel=%d entry=%d grid=%s block=%s params=%d -> id=%d",
                  h.minor, q.channel.id, kernel.entry, kernel.grid, kernel.block, len(kernel.params), seq)
    return seq


def gsync(h: GdevHandle, seq: int, timeout_ms: int = -1, q: GdevCtx | None = None) -> None:
    """Wait for the operation `seq` (0: nothing to wait for)."""
    q = q or h.ctx
    if seq == 0:
        return
    if seq > q.seq:
        raise invalid(f"gsync: id {seq} was never issued on this context")
    q.wait(seq, timeout_ms)


def gbarrier(h: GdevHandle) -> None:
    """Order everything issued so far on every context of h, and wait for it."""
    for q in list(h.queues):
        with q.lock:
            AIDEV_COMPUTE.membar(q)
            seq = q.fence()
        q.wait(seq)


def gquery(h: GdevHandle, kind: int) -> int:
    info = h.info
    answers = {
        QUERY_DEVICE_MEM_SIZE: info["vram_size"],
        QUERY_DMA_MEM_SIZE: info["gart_size"],
        QUERY_CHIPSET: info["chip_id"],
        QUERY_BUS_TYPE: 1,                 # PCIe
        QUERY_AGGR_TYPE: 1,
        QUERY_PCI_VENDOR: PCI_VENDOR_AIDEV,
        QUERY_PCI_DEVICE: info["chip_id"],
    }
    if kind not in answers:
        raise invalid(f"gquery: unknown query {kind}")
    return int(answers[kind])


def gtune(h: GdevHandle, kind: int, value: int) -> None:
    if kind == TUNE_MEMCPY_PIPELINE_COUNT and 1 <= value <= MAX_MEMCPY_PIPELINE:
        h.pipeline_count = value
    elif kind == TUNE_MEMCPY_CHUNK_SIZE and MIN_MEMCPY_CHUNK <= value <= MAX_MEMCPY_CHUNK:
        h.chunk_size = value
    else:
        raise invalid(f"gtune: type {kind} value {value} out of range")


def gshmget(h: GdevHandle, key: int, size: int, flags: int) -> int:
    return shm.get(h, key, size, flags)


def gshmat(h: GdevHandle, shm_id: int) -> int:
    return shm.attach(h, shm_id)


def gshmdt(h: GdevHandle, addr: int) -> None:
    shm.detach(h, addr)


def gshmctl(h: GdevHandle, shm_id: int, cmd: int) -> int:
    return shm.control(h, shm_id, cmd)


def gref(master: GdevHandle, addr: int, size: int, slave: GdevHandle) -> int:
    return shm.ref(master, addr, size, slave)


def gunref(h: GdevHandle, addr: int) -> None:
    shm.unref(h, addr)


def gphysget(h: GdevHandle, host_addr: int) -> int:
    """Bus address of a DMA buffer byte: the card's GART address for it."""
    mem = h.dma_containing(host_addr, 1)
    if mem is None:
        raise invalid(f"gphysget: 0x{host_addr:x} is not in a DMA buffer")
    return mem.addr + (host_addr - mem.host_addr) - h.info["gart_base"]


def gvirtget(h: GdevHandle, host_addr: int) -> int:
    """Device virtual address of a DMA buffer byte."""
    mem = h.dma_containing(host_addr, 1)
    if mem is None:
        raise invalid(f"gvirtget: 0x{host_addr:x} is not in a DMA buffer")
    return mem.addr + (host_addr - mem.host_addr)


def gdevice_info(minor: int) -> dict:
    """The card's aidev_device_info, without opening a context (not in Gdev's API)."""
    count = device_count()
    if not 0 <= minor < count:
        raise GdevError(errno.ENODEV, f"no card {minor} (have {count})")
    trim_all(minor)                     # memory this process keeps for small allocations is free
    dev = AidevDevice.open(minor)
    try:
        return dev.info()
    finally:
        dev.close()


# ---- streams, markers and cross-context waits (beyond Gdev's API) -----------------
def gqueue_open(h: GdevHandle) -> GdevCtx:
    """A further context (channel) on h's card: work on it runs independently of h.ctx."""
    return h.open_queue()


def gqueue_close(h: GdevHandle, q: GdevCtx) -> None:
    h.close_queue(q)


def gmarker_new(h: GdevHandle, q: GdevCtx | None = None) -> int:
    """Reserve a fence slot of q for a marker whose card timestamp can be read later."""
    q = q or h.ctx
    with q.lock:
        try:
            return q.slots.take()
        except RuntimeError:
            raise GdevError(errno.ENOSPC, "no free fence slot for another marker") from None


def gmarker_free(h: GdevHandle, slot: int, q: GdevCtx | None = None) -> None:
    q = q or h.ctx
    with q.lock:
        q.slots.give(slot)


def gmarker_record(h: GdevHandle, slot: int, q: GdevCtx | None = None) -> int:
    """Queue the marker after all earlier work of q; returns the id that completes it."""
    q = q or h.ctx
    with q.lock:
        AIDEV_COMPUTE.fence_write(q, slot, q.seq + 1)
        return q.fence()


def gmarker_time_ns(h: GdevHandle, slot: int, q: GdevCtx | None = None) -> int:
    """Card time (ns) at which the marker in `slot` was last reached."""
    return int((q or h.ctx).channel.fence_time[slot])


def gdone(h: GdevHandle, seq: int, q: GdevCtx | None = None) -> bool:
    """Has the card finished operation `seq` (non-blocking)?  Raises if the channel faulted."""
    return (q or h.ctx).done(seq)


def gacquire(h: GdevHandle, q: GdevCtx, other: GdevCtx, seq: int) -> None:
    """Make the card hold q's later work until `other` reached `seq` (a ring command)."""
    if other is q or seq == 0:
        return
    with q.lock:
        AIDEV_COMPUTE.acquire(q, other.fence_addr, seq)
        AIDEV_COMPUTE.fire(q)
