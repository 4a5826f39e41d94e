"""CUDA-style kernel launches: kernels named by their launch stubs, grid x block shapes,
arguments passed as one pointer per parameter, and the `<<<...>>>` configuration stack."""
from __future__ import annotations

import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

from ..driver import launch as drv_launch, stream as drv_stream
from ..driver.launch import Words
from ..driver.errors import SD, SdError
from ..driver.module import Function
from ..gdev import hostmem
from ..log import get
from . import device_api, devices, fatbin, graphs, streams
from .errors import RT, CudaNamedError, SdaaError, translated

log = get("gdev.runtime")
Dim3 = tuple[int, int, int]


@dataclass(frozen=True)
class CallConfig:
    grid: Dim3
    block: Dim3
    shared: int
    stream: int                  # a runtime stream handle


_tls = threading.local()


def _configs() -> list[CallConfig]:
    stack = getattr(_tls, "cuda_configs", None)
    if stack is None:
        stack = _tls.cuda_configs = []
    return stack


def push_config(config: CallConfig) -> None:
    """`<<<grid, block, shared, stream>>>`: kept until the launch stub pops it."""
    _configs().append(config)


def pop_config() -> CallConfig:
    stack = _configs()
    if not stack:
        raise SdaaError(RT.sdaaErrorMissingConfiguration, "launch without a <<<...>>> configuration")
    return stack.pop()


def function(host_fun: int) -> Function:
    """The kernel of the launch stub `host_fun` on this thread's card."""
    return fatbin.function_at(host_fun, devices.current())


@translated
def launch(host_fun: int, grid: Dim3, block: Dim3, shared: int, stream: int,
           arg_pointers: int, cooperative: bool = False) -> None:
    """Queue the kernel of `host_fun`; `arg_pointers` is the host array of argument addresses.
    `cooperative`: every block resident at once, so that grid-wide barriers work."""
    f = function(host_fun)
    pointers = _argument_pointers(f, arg_pointers)
    params = drv_launch.pack_params(f, pointers)
    log.debug("launch: %s grid=%s block=%s shared=%d stream=%d", f.name, grid, block, shared, stream)
    with _shape_errors():
        drv_launch.check_shape(f, grid, block, shared)    # before capture too, as CUDA checks it
    if cooperative:
        check_coresident(f, grid, block, shared)
    # captured with the argument values of now, as CUDA copies them into the kernel node
    run = partial(launch_packed, f, grid, block, shared, params, cooperative=cooperative)
    node = graphs.Kernel(host_fun, f, grid, block, shared, params)
    if not graphs.record(stream, run, "kernel launch", graphs.KERNEL, node):
        run(stream)


@translated
def kernel_node(host_fun: int, grid: Dim3, block: Dim3, shared: int, kernel_params: Words | None,
                extra: Words | None) -> tuple[graphs.Kernel, graphs.Step]:
    """A kernel node's parameters and what it runs: the kernel of `host_fun` with the
    arguments of now (CUDA copies them when the node is made), its shape checked now."""
    f = function(host_fun)
    params = drv_launch.launch_params(f, kernel_params, extra)
    with _shape_errors():
        drv_launch.check_shape(f, grid, block, shared)
    return graphs.Kernel(host_fun, f, grid, block, shared, params), partial(launch_packed, f, grid, block, shared,
                                                                           params)


def check_coresident(f: Function, grid: Dim3, block: Dim3, shared: int) -> None:
    """A cooperative grid must fit the card at once: the occupancy of one SPE array times
    the arrays (what CUDA programs compute to size such a grid)."""
    blocks = grid[0] * grid[1] * grid[2]
    most = blocks_per_array(f, block[0] * block[1] * block[2], shared) * f.module.ctx.info["spe_arrays"]
    if blocks > most:
        raise CudaNamedError("cudaErrorCooperativeLaunchTooLarge",
                             f"cooperative launch of {f.name}: {blocks} blocks, at most {most} resident at once")


@contextmanager
def _shape_errors() -> Iterator[None]:
    try:
        yield
    except SdError as e:
        if e.code == SD.SDAA_ERROR_INVALID_VALUE:       # the parameters are whole: it is the shape
            raise SdaaError(RT.sdaaErrorInvalidConfiguration, str(e)) from None
        raise


@translated
def launch_packed(f: Function, grid: Dim3, block: Dim3, shared: int, params: bytes, stream: int,
                  cooperative: bool = False) -> None:
    """Queue `f` with its parameter buffer already packed."""
    with _shape_errors():
        drv_stream.launch(streams.stream(stream), f, grid, block, shared, params, cooperative)


def _argument_pointers(f: Function, arg_pointers: int) -> list[int]:
    count = len(f.meta.params)
    if count == 0:
        return []
    if arg_pointers == 0:
        raise SdaaError(RT.sdaaErrorInvalidValue, f"launch of {f.name}: args is NULL for {count} parameters")
    return list(struct.unpack(f"<{count}Q", hostmem.view(arg_pointers, 8 * count).tobytes()))


@translated
def attributes(host_fun: int) -> dict[str, int]:
    """cudaFuncAttributes' fields the card knows, by name."""
    f = function(host_fun)
    info = f.module.ctx.info
    card = info["compute_major"] * 10 + info["compute_minor"]
    # the PTX's own target, which libraries such as CUB compare with what they were built for
    ptx = fatbin.ptx_arch(host_fun, devices.current()) or card
    return {"sharedSizeBytes": f.meta.shared_size, "constSizeBytes": 0,
            "localSizeBytes": f.meta.local_size,
            "maxThreadsPerBlock": min(f.meta.max_threads or info["max_threads_per_block"],
                                      info["max_threads_per_block"]),
            "numRegs": 32, "ptxVersion": ptx, "binaryVersion": card,
            "maxDynamicSharedSizeBytes": info["shared_mem_per_block"] - f.meta.shared_size}


FUNC_ATTR_MAX_DYNAMIC_SHARED, FUNC_ATTR_CARVEOUT = 8, 9


@translated
def set_attribute(host_fun: int, attr: int, value: int) -> None:
    """cudaFuncSetAttribute: checked against the card; the card needs nothing set to honour it."""
    f = function(host_fun)
    if attr == FUNC_ATTR_MAX_DYNAMIC_SHARED:
        room = f.module.ctx.info["shared_mem_per_block"] - f.meta.shared_size
        if not 0 <= value <= room:
            raise SdaaError(RT.sdaaErrorInvalidValue,
                            f"{f.name}: {value} bytes of dynamic shared memory (room: {room})")
    elif attr == FUNC_ATTR_CARVEOUT:
        if not -1 <= value <= 100:
            raise SdaaError(RT.sdaaErrorInvalidValue, f"{f.name}: shared memory carveout {value}")
    else:
        raise SdaaError(RT.sdaaErrorInvalidValue, f"{f.name}: function attribute {attr} cannot be set")


@translated
def max_active_blocks(host_fun: int, block_size: int, dynamic_shared: int) -> int:
    return blocks_per_array(function(host_fun), block_size, dynamic_shared)


def blocks_per_array(f: Function, block_size: int, dynamic_shared: int) -> int:
    """Blocks of `block_size` threads one SPE array holds at once, bounded by its threads,
    blocks and shared memory (device_api.multiprocessor); the occupancy both CUDA faces report."""
    if block_size <= 0:
        raise SdaaError(RT.sdaaErrorInvalidValue, f"block size {block_size}")
    info = f.module.ctx.info
    if block_size > min(f.meta.max_threads or info["max_threads_per_block"], info["max_threads_per_block"]):
        return 0
    sm = device_api.multiprocessor(info)
    shared = f.meta.shared_size + dynamic_shared
    by_shared = sm["sharedMemPerMultiprocessor"] // shared if shared else sm["maxBlocksPerMultiProcessor"]
    return min(sm["maxThreadsPerMultiProcessor"] // block_size, sm["maxBlocksPerMultiProcessor"], by_shared)
