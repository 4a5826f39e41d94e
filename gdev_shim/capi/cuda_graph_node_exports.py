"""libcuda.so.1: graphs built node by node (cuGraphAdd*Node), their edges, clones and nodes removed.

The graphs are the runtime's (runtime/graphs.py), shared with libcudart.so.13's
cudaGraphAdd*Node: a node is the step this face's stream operation would capture
(cuda_exports), made from what CUDA copies when the node is added.  This module only
converts the C structures.
"""
from __future__ import annotations

from functools import partial

from ..driver import context as drv_ctx, memory as drv_mem, stream as drv_stream
from ..gdev import hostmem
from ..runtime import graphs, memory as rt_memory
from . import cuda_exports as cx, cuda_graph_exports as gx, graph_lists
from .boundary import address, required
from .cuda_codes import CU, CuError

OK = CU.CUDA_SUCCESS
HOST, DEVICE, ARRAY, UNIFIED = (CU.CU_MEMORYTYPE_HOST, CU.CU_MEMORYTYPE_DEVICE, CU.CU_MEMORYTYPE_ARRAY,
                                CU.CU_MEMORYTYPE_UNIFIED)


def _graph(hgraph) -> int:
    return address(required(hgraph, "hGraph"))


def _dependencies(pdeps, num: int) -> list[int]:
    if num and pdeps == cx.ffi.NULL:
        raise CuError(CU.CUDA_ERROR_INVALID_VALUE, f"{num} dependencies and no array of them")
    return [address(pdeps[i]) for i in range(num)]


def _new_node(pnode, make) -> int:
    required(pnode, "phGraphNode")
    pnode[0] = cx.ffi.cast("CUgraphNode", make())
    return OK


def _check_context(hctx) -> None:
    """The node's context: NULL is the current one (which must exist)."""
    if hctx == cx.ffi.NULL:
        cx._current()
    else:
        cx._context(hctx).check()


@cx._api()
def cuGraphAddKernelNode_v2(pnode, hgraph, pdeps, num, params):
    graph, deps = _graph(hgraph), _dependencies(pdeps, num)
    kernel, step = gx._kernel(params)
    return _new_node(pnode, lambda: graphs.add_node(graph, deps, step, graphs.KERNEL, kernel))


# ---- copies --------------------------------------------------------------------------------
def _side(p, prefix: str) -> tuple[bool, rt_memory.Pitched]:
    """(is device memory, the pitched pointer) of one side of a CUDA_MEMCPY3D."""
    kind = getattr(p, f"{prefix}MemoryType")
    if kind == ARRAY:
        raise CuError(CU.CUDA_ERROR_NOT_SUPPORTED, "CUDA arrays are not supported by this face")
    if kind not in (HOST, DEVICE, UNIFIED):
        raise CuError(CU.CUDA_ERROR_INVALID_VALUE, f"{prefix}MemoryType {kind}")
    if getattr(p, f"{prefix}LOD") != 0:
        raise CuError(CU.CUDA_ERROR_INVALID_VALUE, f"{prefix}LOD must be 0")
    ptr = address(getattr(p, f"{prefix}Host")) if kind == HOST else getattr(p, f"{prefix}Device")
    device = kind == DEVICE or (kind == UNIFIED and drv_ctx.registry.owner(ptr)[0] is not None)
    x, y, z = getattr(p, f"{prefix}XInBytes"), getattr(p, f"{prefix}Y"), getattr(p, f"{prefix}Z")
    pitch, height = getattr(p, f"{prefix}Pitch"), getattr(p, f"{prefix}Height")
    if p.Height == 1 and p.Depth == 1 and pitch == 0:
        pitch = x + p.WidthInBytes                   # one row: the pitch is not used
    return device, rt_memory.Pitched(ptr, pitch, pitch, height, (x, y, z))


def _copy_rows(rows: list[tuple[int, int, int]], dst_device: bool, src_device: bool, key: int) -> None:
    stream = cx._stream(key)
    for dst, src, n in rows:
        if dst_device and src_device:
            drv_stream.copy_dtod(stream, dst, src, n)
        elif dst_device:
            drv_stream.copy_htod(stream, dst, src, n)
        elif src_device:
            drv_stream.copy_dtoh(stream, dst, src, n)
        else:                                         # host to host, after the stream's earlier work
            drv_stream.synchronize(cx._stream_or_default(key))
            hostmem.view(dst, n)[:] = hostmem.view(src, n)


def _copy_step(params):
    p = required(params, "copyParams")
    if p.reserved0 != cx.ffi.NULL or p.reserved1 != cx.ffi.NULL:
        raise CuError(CU.CUDA_ERROR_INVALID_VALUE, "CUDA_MEMCPY3D reserved fields must be NULL")
    (src_device, src), (dst_device, dst) = _side(p, "src"), _side(p, "dst")
    rows = rt_memory.rows_3d(dst, src, (p.WidthInBytes, p.Height, p.Depth))
    for device, side, index in ((dst_device, "destination", 0), (src_device, "source", 1)):
        if device:                                    # device ranges checked now, not at launch
            for row in rows:
                drv_mem.device_range(row[index], row[2], f"copy node {side}")
    return graphs.MEMCPY, partial(_copy_rows, rows, dst_device, src_device)


@cx._api()
def cuGraphAddMemcpyNode(pnode, hgraph, pdeps, num, params, hctx):
    _check_context(hctx)
    graph, deps = _graph(hgraph), _dependencies(pdeps, num)
    kind, step = _copy_step(params)
    return _new_node(pnode, lambda: graphs.add_node(graph, deps, step, kind))


# ---- fills ---------------------------------------------------------------------------------
def _fill_rows(dst: int, pitch: int, value: int, elem: int, width: int, height: int, key: int) -> None:
    stream = cx._stream(key)
    if height == 1 or pitch == width * elem:
        drv_stream.memset(stream, dst, value, elem, width * height)
        return
    for row in range(height):
        drv_stream.memset(stream, dst + row * pitch, value, elem, width)


@cx._api()
def cuGraphAddMemsetNode(pnode, hgraph, pdeps, num, params, hctx):
    _check_context(hctx)
    p = required(params, "memsetParams")
    graph, deps = _graph(hgraph), _dependencies(pdeps, num)
    elem, width, height, pitch = p.elementSize, p.width, p.height, p.pitch
    if elem not in (1, 2, 4) or width == 0 or height == 0 or (height > 1 and pitch < width * elem):
        raise CuError(CU.CUDA_ERROR_INVALID_VALUE,
                      f"memset node of {height} rows of {width} {elem}-byte elements, pitch {pitch}")
    span = (height - 1) * pitch + width * elem if height > 1 else width * elem
    drv_mem.device_range(p.dst, span, "memset node")
    step = partial(_fill_rows, p.dst, pitch, p.value & ((1 << (8 * elem)) - 1), elem, width, height)
    return _new_node(pnode, lambda: graphs.add_node(graph, deps, step, graphs.MEMSET))


# ---- host functions and empty nodes ------------------------------------------------------------
@cx._api()
def cuGraphAddHostNode(pnode, hgraph, pdeps, num, params):
    p = required(params, "nodeParams")
    fn, user_data = required(p.fn, "fn"), p.userData
    graph, deps = _graph(hgraph), _dependencies(pdeps, num)
    step = partial(gx._host_step, lambda: fn(user_data))
    return _new_node(pnode, lambda: graphs.add_node(graph, deps, step, graphs.HOST))


def _nothing(key: int) -> None:
    """An empty node: an ordering point only."""


@cx._api()
def cuGraphAddEmptyNode(pnode, hgraph, pdeps, num):
    graph, deps = _graph(hgraph), _dependencies(pdeps, num)
    return _new_node(pnode, lambda: graphs.add_node(graph, deps, _nothing, graphs.EMPTY))


# ---- edges ------------------------------------------------------------------------------------
def _edges(pfrom, pto, edge_data, num: int) -> list[tuple[int, int]]:
    return graph_lists.edges(cx.ffi, pfrom, pto, edge_data, num, lambda why: CuError(CU.CUDA_ERROR_NOT_SUPPORTED, why))


@cx._api()
def cuGraphAddDependencies_v2(hgraph, pfrom, pto, edge_data, num):
    graphs.add_dependencies(_graph(hgraph), _edges(pfrom, pto, edge_data, num))
    return OK


@cx._api()
def cuGraphRemoveDependencies_v2(hgraph, pfrom, pto, edge_data, num):
    graphs.remove_dependencies(_graph(hgraph), _edges(pfrom, pto, edge_data, num))
    return OK


def _fill(arrays, pcount, items: list[tuple[int, ...]], edge_data=None) -> int:
    graph_lists.fill(cx.ffi, "CUgraphNode", arrays, pcount, items, edge_data)
    return OK


@cx._api()
def cuGraphGetEdges_v2(hgraph, pfrom, pto, edge_data, pnum):
    return _fill((pfrom, pto), pnum, graphs.edges(_graph(hgraph)), edge_data)


@cx._api()
def cuGraphGetRootNodes(hgraph, proots, pnum):
    return _fill((proots,), pnum, [(n,) for n in graphs.roots(_graph(hgraph))])


@cx._api()
def cuGraphNodeGetDependencies_v2(hnode, pdeps, edge_data, pnum):
    node = address(required(hnode, "hNode"))
    return _fill((pdeps,), pnum, [(n,) for n in graphs.dependencies(node)], edge_data)


@cx._api()
def cuGraphNodeGetDependentNodes_v2(hnode, pdeps, edge_data, pnum):
    node = address(required(hnode, "hNode"))
    return _fill((pdeps,), pnum, [(n,) for n in graphs.dependents(node)], edge_data)


# ---- clones and removal -----------------------------------------------------------------------
@cx._api()
def cuGraphClone(pclone, hgraph):
    required(pclone, "phGraphClone")[0] = cx.ffi.cast("CUgraph", graphs.clone(_graph(hgraph)))
    return OK


@cx._api()
def cuGraphNodeFindInClone(pnode, horiginal, hclone):
    required(pnode, "phNode")
    found = graphs.find_in_clone(address(required(horiginal, "hOriginalNode")), _graph(hclone))
    pnode[0] = cx.ffi.cast("CUgraphNode", found)
    return OK


@cx._api()
def cuGraphDestroyNode(hnode):
    node = address(required(hnode, "hNode"))
    graphs.destroy_node(node)
    gx._argument_copies.pop(node, None)
    return OK
