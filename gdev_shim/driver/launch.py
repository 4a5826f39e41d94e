"""Kernel launches: CUDA-style grids and SDAA array style, checked against the card's limits."""
from __future__ import annotations

from typing import Callable

from ..gdev import api as gdev, hostmem
from ..gdev.kernel import KernelLaunch
from ..log import get
from .errors import SD, fail
from .module import Function

log = get("gdev.driver")


def check_shape(f: Function, grid: tuple[int, int, int], block: tuple[int, int, int], shared: int) -> None:
    """The launch shape against the card's and the kernel's limits, which never change: a
    shape that passed once passes again."""
    shape = (tuple(grid), tuple(block), shared)
    if shape in f.launch_shapes:
        return
    _check_shape(f, grid, block, shared)
    if len(f.launch_shapes) >= 64:
        f.launch_shapes.clear()
    f.launch_shapes.add(shape)


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
           params: bytes, q=None, cooperative: bool = False) -> int:
    """Queue the kernel; errors of its execution surface at the next synchronising call.
    `cooperative`: every block resident at once, with a word for its grid-wide barriers."""
    check_shape(f, grid, block, shared)
    if len(params) < f.meta.param_size:
        raise fail(SD.SDAA_ERROR_INVALID_VALUE,
                   f"launch of {f.name}: {len(params)} parameter bytes, the kernel takes {f.meta.param_size}")
    m = f.module
    k = KernelLaunch(code_addr=m.code_addr, code_size=m.code_size, entry=f.index,
                     params=bytes(params[:f.meta.param_size]), grid=grid, block=block,
                     shared_size=shared, local_size=f.meta.local_size, globals_addr=m.globals_addr,
                     grid_sync=grid_sync_word(m.ctx, q) if cooperative else 0)
    seq = m.ctx.gdev_call(gdev.glaunch, k, q=q)
    log.debug("launch: %s card=%d grid=%s block=%s -> id=%d", f.name, m.ctx.device, grid, block, seq)
    return seq


def grid_sync_word(ctx, q) -> int:
    """The zeroed word pair a channel's cooperative launches count their grid-wide barriers
    in: one per channel, since its launches run one after another, and each barrier leaves
    the count where it found it (it adds 2**31 in all)."""
    channel = (q or ctx.handle.ctx).channel.id
    addr = ctx.grid_sync_words.get(channel)
    if addr is None:
        addr = ctx.gdev_call(gdev.gmalloc, 8)
        ctx.gdev_call(gdev.gmemset_async, addr, 0, 4, 2, q=q)     # ordered before the launch
        ctx.grid_sync_words[channel] = addr
    return addr


def pack_params(f: Function, pointers: list[int]) -> bytes:
    """The parameter buffer from kernelParams: one host pointer per parameter."""
    buf = bytearray(f.meta.param_size)
    for desc, ptr in zip(f.meta.params, pointers):
        if ptr == 0:
            raise fail(SD.SDAA_ERROR_INVALID_VALUE, f"launch of {f.name}: kernelParams entry is NULL")
        buf[desc.offset:desc.offset + desc.size] = hostmem.view(ptr, desc.size).tobytes()
    return bytes(buf)


LAUNCH_PARAM_END, LAUNCH_PARAM_BUFFER_POINTER, LAUNCH_PARAM_BUFFER_SIZE = 0, 1, 2
MAX_EXTRA_WORDS = 64            # a longer `extra` list is one that was never terminated

Words = Callable[[int], int]    # entry i of a caller's array of pointers


def launch_params(f: Function, kernel_params: Words | None, extra: Words | None) -> bytes:
    """The parameter bytes of a grid launch: from kernelParams (one host pointer per
    parameter) or from extra (key/value pairs naming a packed buffer and its size)."""
    if kernel_params is not None and extra is not None:
        raise fail(SD.SDAA_ERROR_INVALID_VALUE, f"launch of {f.name}: both kernelParams and extra given")
    if kernel_params is not None:
        return pack_params(f, [kernel_params(i) for i in range(len(f.meta.params))])
    if extra is not None:
        return _extra_params(f, extra)
    if f.meta.param_size:
        raise fail(SD.SDAA_ERROR_INVALID_VALUE, f"{f.name} takes parameters, none given")
    return b""


def _extra_params(f: Function, extra: Words) -> bytes:
    buf = size = None
    for i in range(0, MAX_EXTRA_WORDS, 2):
        key = extra(i)
        if key == LAUNCH_PARAM_END:
            break
        if key == LAUNCH_PARAM_BUFFER_POINTER:
            buf = extra(i + 1)
        elif key == LAUNCH_PARAM_BUFFER_SIZE:
            size_ptr = extra(i + 1)
            size = int.from_bytes(hostmem.view(size_ptr, 8).tobytes(), "little") if size_ptr else None
        else:
            raise fail(SD.SDAA_ERROR_INVALID_VALUE, f"unknown launch extra key {key}")
    else:
        raise fail(SD.SDAA_ERROR_INVALID_VALUE, "launch extra list is not terminated")
    if not buf or size is None:
        raise fail(SD.SDAA_ERROR_INVALID_VALUE, "launch extra needs BUFFER_POINTER and BUFFER_SIZE")
    if size != f.meta.param_size:
        raise fail(SD.SDAA_ERROR_INVALID_VALUE,
                   f"parameter buffer of {size} bytes, {f.name} takes {f.meta.param_size}")
    return hostmem.view(buf, size).tobytes() if size else b""


def array_shape(f: Function, arrays: int) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """SDAA array style: `arrays` blocks of the card's SPE count."""
    if arrays < 1:
        raise fail(SD.SDAA_ERROR_INVALID_VALUE, f"launch of {f.name} on {arrays} SPE arrays")
    return (arrays, 1, 1), (f.module.ctx.info["spes_per_array"], 1, 1)
