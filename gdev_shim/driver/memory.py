"""Device and host memory of the driver API: allocation and pointer validation.

Device addresses name their card, so a pointer is routed to the context that
owns it (unified addressing).  Copies are queued on streams (stream.py).
"""
from __future__ import annotations

from ..common.contract import C
from ..gdev import api as gdev
from ..gdev.vas import DeviceMem
from ..log import get
from .context import Context, registry
from .errors import SD, fail

log = get("gdev.driver")


def alloc(ctx: Context, size: int) -> int:
    if size <= 0:
        raise fail(SD.SDAA_ERROR_INVALID_VALUE, f"allocation of {size} bytes")
    total = ctx.info["vram_size"]
    if size > total:
        raise fail(SD.SDAA_ERROR_OUT_OF_MEMORY, f"{size} bytes exceed the card's {total} bytes")
    addr = ctx.gdev_call(gdev.gmalloc, size)
    ctx.user_allocs.add(addr)
    return addr


def free(ctx: Context | None, addr: int) -> None:
    owner, mem = registry.owner(addr)
    # only what sdMemAlloc handed out: module code and bounce buffers share the address space
    if owner is None or mem.addr != addr or addr not in owner.user_allocs:
        raise fail(SD.SDAA_ERROR_INVALID_VALUE, f"0x{addr:x} is not an allocated device pointer")
    owner.user_allocs.discard(addr)
    owner.gdev_call(gdev.gfree, addr)


def _user_alloc(ctx: Context, size: int, what: str, allocate) -> int:
    """An allocation the user frees by its address (host-side ones: pinned, managed)."""
    if size <= 0:
        raise fail(SD.SDAA_ERROR_INVALID_VALUE, f"{what} allocation of {size} bytes")
    addr = ctx.gdev_call(allocate, size)
    ctx.user_allocs.add(addr)
    return addr


def alloc_host(ctx: Context, size: int) -> int:
    return _user_alloc(ctx, size, "host", gdev.gmalloc_dma)


def alloc_managed(ctx: Context, size: int) -> int:
    """Managed memory: one address for the host and the card (gdev's gmalloc_managed)."""
    return _user_alloc(ctx, size, "managed", gdev.gmalloc_managed)


def shared_address(addr: int) -> int:
    """The address at which the host and kernels both reach device memory `addr`."""
    owner, _ = device_range(addr, 1, "shared address")
    return owner.gdev_call(gdev.gshare, addr)


def host_register(ctx: Context, host_addr: int, size: int) -> int:
    """Pin [host_addr, +size) for ctx's card; returns its device address."""
    if host_addr == 0 or size <= 0:
        raise fail(SD.SDAA_ERROR_INVALID_VALUE, f"host registration of {size} bytes at 0x{host_addr:x}")
    return ctx.gdev_call(gdev.ghost_register, host_addr, size)


def host_unregister(host_addr: int) -> None:
    found = pinned(host_addr)
    if found is None or found[1].host_addr != host_addr or found[1].domain != C.AIDEV_GEM_DOMAIN_USER:
        raise fail(SD.SDAA_ERROR_INVALID_VALUE, f"0x{host_addr:x} is not registered host memory")
    found[0].gdev_call(gdev.ghost_unregister, host_addr)


def pinned(host_addr: int) -> tuple[Context, DeviceMem] | None:
    """(context, buffer) of the page-locked host memory holding host_addr, if any."""
    with registry.lock:
        contexts = list(registry.contexts)
    for ctx in contexts:
        mem = ctx.handle.dma_containing(host_addr, 1)
        if mem is not None:
            return ctx, mem
    return None


def _host_owner(host_addr: int) -> tuple[Context, DeviceMem]:
    found = pinned(host_addr)
    if found is None:
        raise fail(SD.SDAA_ERROR_INVALID_VALUE, f"0x{host_addr:x} is not page-locked host memory")
    return found


def free_host(host_addr: int) -> None:
    ctx, mem = _host_owner(host_addr)
    if mem.host_addr != host_addr or host_addr not in ctx.user_allocs:
        raise fail(SD.SDAA_ERROR_INVALID_VALUE, f"0x{host_addr:x} is not a host allocation of sdMemAllocHost")
    ctx.user_allocs.discard(host_addr)
    ctx.gdev_call(gdev.gfree_dma, host_addr)


def host_device_pointer(host_addr: int) -> int:
    ctx, _ = _host_owner(host_addr)
    return ctx.gdev_call(gdev.gvirtget, host_addr)


def device_range(addr: int, size: int, what: str) -> tuple[Context, DeviceMem]:
    """The context owning [addr, addr+size); INVALID_VALUE if no single allocation holds it."""
    owner, mem = registry.owner(addr)
    if owner is None:
        raise fail(SD.SDAA_ERROR_INVALID_VALUE, f"{what}: 0x{addr:x} is not device memory")
    if addr + size > mem.end:
        raise fail(SD.SDAA_ERROR_INVALID_VALUE,
                   f"{what}: 0x{addr:x}+0x{size:x} runs 0x{addr + size - mem.end:x} bytes past its allocation")
    return owner, mem


def phys_addr(addr: int) -> int:
    ctx, _ = device_range(addr, 1, "physical address")
    return addr - ctx.info["vram_base"]
