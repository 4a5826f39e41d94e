"""libcudart.so.13: graph nodes' types and kernel parameters, and updating an executable
graph from another graph (what programs use to launch a graph again with new arguments).

The graphs are the runtime's (runtime/graphs.py); this module only converts the C
structures.  A kernel node's arguments handed back by cudaGraphKernelNodeGetParams are a
copy this module keeps, one per node, until the node's next change.
"""
from __future__ import annotations

from typing import Any

from ..runtime import graphs, kernels
from . import cudart_exports as rx, graph_lists
from .boundary import address, exported, required
from .cudart_codes import CU, CudaError

OK = CU.cudaSuccess
_argument_copies: dict[int, tuple[Any, Any]] = {}       # node -> (argument bytes, pointers into them)


@exported(rx.LIB, rx.RUNTIME)
def cudaGraphNodeGetType(node, ptype):
    required(ptype, "pType")[0] = graphs.node_type(address(required(node, "node")))
    return OK


def _arguments(node: int, kernel: graphs.Kernel):
    """kernelParams for the node's arguments: one pointer per parameter into a kept copy."""
    data = rx.ffi.new("char[]", kernel.params or b"\0")
    layout = kernel.fn.meta.params
    pointers = rx.ffi.new("void *[]", max(1, len(layout)))
    for i, param in enumerate(layout):
        pointers[i] = data + param.offset
    _argument_copies[node] = (data, pointers)
    return pointers


@exported(rx.LIB, rx.RUNTIME)
def cudaGraphKernelNodeGetParams(node, params):
    required(params, "pNodeParams")
    handle = address(required(node, "node"))
    kernel = graphs.kernel_params(handle)
    params.func = rx.ffi.cast("void *", kernel.func)
    params.gridDim.x, params.gridDim.y, params.gridDim.z = kernel.grid
    params.blockDim.x, params.blockDim.y, params.blockDim.z = kernel.block
    params.sharedMemBytes = kernel.shared
    params.kernelParams = _arguments(handle, kernel)
    params.extra = rx.ffi.NULL
    return OK


def _kernel(params) -> tuple[graphs.Kernel, graphs.Step]:
    p = required(params, "pNodeParams")
    return kernels.kernel_node(address(required(p.func, "func")), rx._dim3(p.gridDim), rx._dim3(p.blockDim),
                               p.sharedMemBytes, rx._words(p.kernelParams), rx._words(p.extra))


@exported(rx.LIB, rx.RUNTIME)
def cudaGraphKernelNodeSetParams(node, params):
    handle = address(required(node, "node"))
    graphs.kernel_params(handle)                     # a kernel node, before reading the new arguments
    graphs.set_kernel(handle, *_kernel(params))
    _argument_copies.pop(handle, None)
    return OK


@exported(rx.LIB, rx.RUNTIME)
def cudaGraphExecKernelNodeSetParams(graph_exec, node, params):
    graphs.exec_set_kernel(address(required(graph_exec, "hGraphExec")), address(required(node, "node")),
                           *_kernel(params))
    return OK


@exported(rx.LIB, rx.RUNTIME)
def cudaGraphExecUpdate(graph_exec, graph, info):
    required(info, "resultInfo")
    result, node = graphs.exec_update(address(required(graph_exec, "hGraphExec")), address(required(graph, "hGraph")))
    info.result = result
    info.errorNode = rx.ffi.cast("cudaGraphNode_t", node)
    info.errorFromNode = rx.ffi.NULL
    if result != CU.cudaGraphExecUpdateSuccess:
        raise CudaError(CU.cudaErrorGraphExecUpdateFailure,
                        f"the graph does not match the executable graph (cudaGraphExecUpdateResult {result})")
    return OK


# ---- edges, clones and nodes removed -----------------------------------------------------------
def _edges(pfrom, pto, edge_data, num: int) -> list[tuple[int, int]]:
    return graph_lists.edges(rx.ffi, pfrom, pto, edge_data, num, lambda why: CudaError(CU.cudaErrorNotSupported, why))


@exported(rx.LIB, rx.RUNTIME)
def cudaGraphAddDependencies(graph, pfrom, pto, edge_data, num):
    graphs.add_dependencies(address(required(graph, "graph")), _edges(pfrom, pto, edge_data, num))
    return OK


@exported(rx.LIB, rx.RUNTIME)
def cudaGraphRemoveDependencies(graph, pfrom, pto, edge_data, num):
    graphs.remove_dependencies(address(required(graph, "graph")), _edges(pfrom, pto, edge_data, num))
    return OK


def _fill(arrays, pcount, items: list[tuple[int, ...]], edge_data=None) -> int:
    graph_lists.fill(rx.ffi, "cudaGraphNode_t", arrays, pcount, items, edge_data)
    return OK


@exported(rx.LIB, rx.RUNTIME)
def cudaGraphGetEdges(graph, pfrom, pto, edge_data, pnum):
    return _fill((pfrom, pto), pnum, graphs.edges(address(required(graph, "graph"))), edge_data)


@exported(rx.LIB, rx.RUNTIME)
def cudaGraphGetRootNodes(graph, proots, pnum):
    return _fill((proots,), pnum, [(n,) for n in graphs.roots(address(required(graph, "graph")))])


@exported(rx.LIB, rx.RUNTIME)
def cudaGraphNodeGetDependencies(node, pdeps, edge_data, pnum):
    handle = address(required(node, "node"))
    return _fill((pdeps,), pnum, [(n,) for n in graphs.dependencies(handle)], edge_data)


@exported(rx.LIB, rx.RUNTIME)
def cudaGraphNodeGetDependentNodes(node, pdeps, edge_data, pnum):
    handle = address(required(node, "node"))
    return _fill((pdeps,), pnum, [(n,) for n in graphs.dependents(handle)], edge_data)


@exported(rx.LIB, rx.RUNTIME)
def cudaGraphClone(pclone, graph):
    required(pclone, "pGraphClone")[0] = rx.ffi.cast("cudaGraph_t", graphs.clone(address(required(graph, "graph"))))
    return OK


@exported(rx.LIB, rx.RUNTIME)
def cudaGraphNodeFindInClone(pnode, original, cloned):
    required(pnode, "pNode")
    found = graphs.find_in_clone(address(required(original, "originalNode")), address(required(cloned, "clonedGraph")))
    pnode[0] = rx.ffi.cast("cudaGraphNode_t", found)
    return OK


@exported(rx.LIB, rx.RUNTIME)
def cudaGraphDestroyNode(node):
    handle = address(required(node, "node"))
    graphs.destroy_node(handle)
    _argument_copies.pop(handle, None)
    return OK


@exported(rx.LIB, rx.RUNTIME)
def cudaThreadExchangeStreamCaptureMode(pmode):
    required(pmode, "mode")
    pmode[0] = graphs.exchange_mode(pmode[0])
    return OK
