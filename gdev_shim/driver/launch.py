"""Kernel launches: CUDA-style grids and SDAA array style, checked against the card's limits."""
from __future__ import annotations

from ..gdev import api as gdev, hostmem
from ..gdev.kernel import KernelLaunch
from ..log import get
from .errors import SD, fail
from .module import Function

log = get("gdev.driver")


def _check_shape(f: Function, grid: tuple[int, int, int], block: tuple[int, int, int], shared: int) -> None:
    info = f.module.ctx.info
    if min(grid) < 1 or min(block) < 1:
        raise fail(SD.SDAA_ERROR_INVALID_VALUE, f"launch of {f.name}: empty grid {grid} or block {block}")
    if any(b > m for b, m in zip(block, info["max_block_dim"])) or any(
            g > m for g, m in zip(grid, info["max_grid_dim"])):
        raise fail(SD.SDAA_ERROR_INVALID_VALUE,
                   f"launch of {f.name}: grid {grid} / block {block} beyond the card's limits")
    threads = block[0] * block[1] * block[2]
    limit = f.meta.max_threads or info["max_threads_per_block"]
    if threads > min(limit, info["max_threads_per_block"]):
        raise fail(SD.SDAA_ERROR_LAUNCH_OUT_OF_RESOURCES,
                   f"launch of {f.name}: {threads} threads per block > {limit}")
    if shared + f.meta.shared_size > info["shared_mem_per_block"]:
        raise fail(SD.SDAA_ERROR_LAUNCH_OUT_OF_RESOURCES,
                   f"launch of {f.name}: {shared + f.meta.shared_size} bytes of shared memory")


def launch(f: Function, grid: tuple[int, int, int], block: tuple[int, int, int], shared: int,
           params: bytes, q=None) -> int:
    """Queue the kernel; errors of its execution surface at the next synchronising call."""
    _check_shape(f, grid, block, shared)
    if len(params) < f.meta.param_size:
        raise fail(SD.SDAA_ERROR_INVALID_VALUE,
                   f"launch of {f.name}: {len(params)} parameter bytes, the kernel takes {f.meta.param_size}")
    m = f.module
    k = KernelLaunch(code_addr=m.code_addr, code_size=m.code_size, entry=f.index,
                     params=bytes(params[:f.meta.param_size]), grid=grid, block=block,
                     shared_size=shared, local_size=f.meta.local_size, globals_addr=m.globals_addr)
    seq = m.ctx.gdev_call(gdev.glaunch, k, q=q)
    log.debug("launch: %s card=%d grid=%s block=%s -> id=%d", f.name, m.ctx.device, grid, block, seq)
    return seq


def pack_params(f: Function, pointers: list[int]) -> bytes:
    """The parameter buffer from kernelParams: one host pointer per parameter."""
    buf = bytearray(f.meta.param_size)
    for desc, ptr in zip(f.meta.params, pointers):
        if ptr == 0:
            raise fail(SD.SDAA_ERROR_INVALID_VALUE, f"launch of {f.name}: kernelParams entry is NULL")
        buf[desc.offset:desc.offset + desc.size] = hostmem.view(ptr, desc.size).tobytes()
    return bytes(buf)


def array_shape(f: Function, arrays: int) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """SDAA array style: `arrays` blocks of the card's SPE count."""
    if arrays < 1:
        raise fail(SD.SDAA_ERROR_INVALID_VALUE, f"launch of {f.name} on {arrays} SPE arrays")
    return (arrays, 1, 1), (f.module.ctx.info["spes_per_array"], 1, 1)
