"""Graphs built node by node (cudaGraphAdd*Node): each node is the step its stream
operation would capture, made from what CUDA copies when the node is added (kernel
arguments, copy and fill parameters), after the nodes it depends on (graphs.add_node)."""
from __future__ import annotations

from functools import partial
from typing import Callable

from ..driver.launch import Words
from . import graphs, kernels, memory, streams
from .errors import RT, SdaaError, translated

Dim3 = tuple[int, int, int]


def kernel(graph: int, deps: list[int], host_fun: int, grid: Dim3, block: Dim3, shared: int,
           kernel_params: Words | None, extra: Words | None) -> int:
    node, step = kernels.kernel_node(host_fun, grid, block, shared, kernel_params, extra)
    return graphs.add_node(graph, deps, step, graphs.KERNEL, node)


@translated
def memcpy_1d(graph: int, deps: list[int], dst: int, src: int, count: int, kind: int) -> int:
    kind = memory.resolve_kind(dst, src, kind)
    memory.check_memcpy(dst, src, count, kind)
    return graphs.add_node(graph, deps, partial(streams.memcpy_async, dst, src, count, kind), graphs.MEMCPY)


def memcpy_3d(graph: int, deps: list[int], dst: memory.Pitched, src: memory.Pitched, extent: Dim3,
              kind: int) -> int:
    return graphs.add_node(graph, deps, partial(streams.memcpy_3d_async, dst, src, extent, kind), graphs.MEMCPY)


def memset(graph: int, deps: list[int], dst: int, pitch: int, value: int, elem: int, width: int,
           height: int) -> int:
    if elem not in (1, 2, 4) or width == 0 or height == 0 or (height > 1 and pitch < width * elem):
        raise SdaaError(RT.sdaaErrorInvalidValue, f"memset node of {height} rows of {width} "
                                                  f"{elem}-byte elements, pitch {pitch}")
    memory.require_device(dst, "memset node")
    value &= (1 << (8 * elem)) - 1
    return graphs.add_node(graph, deps, partial(streams.memset_rows_async, dst, pitch, value, elem, width, height),
                           graphs.MEMSET)


def host(graph: int, deps: list[int], call: Callable[[], None]) -> int:
    return graphs.add_node(graph, deps, partial(streams.host_callback, call=call), graphs.HOST)


def empty(graph: int, deps: list[int]) -> int:
    return graphs.add_node(graph, deps, _nothing, graphs.EMPTY)


def _nothing(stream: int) -> None:
    """An empty node: an ordering point only."""
