"""What a pointer is (cuPointerGetAttribute): which context's memory, on which side, and
the addresses at which the host and kernels reach it.

Device addresses name their card (unified addressing); host memory the card reaches
(page-locked, registered) is found by its host address; managed memory has one address
for both sides.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..common.contract import C
from . import memory as drv_mem
from .context import Context, registry


@dataclass(frozen=True)
class Pointer:
    ctx: Context
    on_host: bool                    # host memory (page-locked or registered), else device memory
    managed: bool
    start: int                       # the allocation holding the pointer, as the caller names it
    size: int
    device_addr: int                 # where kernels reach the pointer's byte
    host_addr: int                   # where the host reaches it (0: nowhere)


def describe(addr: int) -> Pointer | None:
    """The memory holding `addr`; None for an address no context knows."""
    if addr == 0:
        return None
    owner, mem = registry.owner(addr)
    if owner is not None:
        offset = addr - mem.addr
        if mem.shared == mem.addr:                     # managed: the same address on both sides
            return Pointer(owner, False, True, mem.addr, mem.size, addr, addr)
        on_host = mem.domain != C.AIDEV_GEM_DOMAIN_VRAM
        host = mem.host_addr + offset if on_host and mem.host_addr else 0
        return Pointer(owner, on_host, False, mem.addr, mem.size, addr, host)
    found = drv_mem.pinned(addr)
    if found is None:
        return None
    ctx, mem = found
    offset = addr - mem.host_addr
    return Pointer(ctx, True, False, mem.host_addr, mem.size, mem.addr + offset, addr)
