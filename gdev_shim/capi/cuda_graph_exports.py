"""libcuda.so.1: host functions on streams, stream capture, graphs and their nodes' parameters.

The runtime's graph code (runtime/graphs.py) keeps the graphs: this face hands it the
steps its stream operations capture (cuda_exports._queued) under its own stream and event
keys; CUDA's capture rules and their codes are the runtime's, translated by name
(cudaErrorStreamCaptureUnsupported is CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED).
"""
from __future__ import annotations

from functools import partial
from typing import Any

from ..driver import launch as drv_launch, stream as drv_stream
from ..runtime import graphs
from . import cuda_exports as cx
from .boundary import address, required, words
from .cuda_codes import CU, CuError

OK = CU.CUDA_SUCCESS
CAPTURE_MODES = (CU.CU_STREAM_CAPTURE_MODE_GLOBAL, CU.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL,
                 CU.CU_STREAM_CAPTURE_MODE_RELAXED)
# auto-free and node priority change nothing here (no memory nodes, one priority)
INSTANTIATE_FLAGS = (CU.CUDA_GRAPH_INSTANTIATE_FLAG_AUTO_FREE_ON_LAUNCH
                     | CU.CUDA_GRAPH_INSTANTIATE_FLAG_USE_NODE_PRIORITY)


# ---- host functions -------------------------------------------------------------------------
def _host_step(call, key: int) -> None:
    """Run `call` once the stream's earlier work is done; on the calling thread, before the
    API call returns, so later work on the stream follows it."""
    drv_stream.synchronize(cx._stream_or_default(key))
    call()


@cx._api("cuStreamAddCallback_ptsz")
def cuStreamAddCallback(hstream, callback, user_data, flags):
    if flags != 0:
        raise CuError(CU.CUDA_ERROR_INVALID_VALUE, "cuStreamAddCallback flags must be 0")
    required(callback, "callback")
    cx._stream_or_default(hstream)
    cx._queued(hstream, "host callback", partial(_host_step, lambda: callback(hstream, OK, user_data)), graphs.HOST)
    return OK


@cx._api("cuLaunchHostFunc_ptsz")
def cuLaunchHostFunc(hstream, fn, user_data):
    required(fn, "fn")
    cx._stream_or_default(hstream)
    cx._queued(hstream, "host function", partial(_host_step, lambda: fn(user_data)), graphs.HOST)
    return OK


# ---- stream capture ---------------------------------------------------------------------------
@cx._api("cuStreamBeginCapture_v2_ptsz")
def cuStreamBeginCapture_v2(hstream, mode):
    stream = cx._stream_or_default(hstream)
    if mode not in CAPTURE_MODES:
        raise CuError(CU.CUDA_ERROR_INVALID_VALUE, f"stream capture mode {mode}")
    graphs.begin(cx._key(hstream), mode, stream.blocking, stream.ctx)
    return OK


@cx._api("cuStreamEndCapture_ptsz")
def cuStreamEndCapture(hstream, pgraph):
    required(pgraph, "phGraph")[0] = cx.ffi.NULL
    cx._stream_or_default(hstream)
    pgraph[0] = cx.ffi.cast("CUgraph", graphs.end(cx._key(hstream)))
    return OK


@cx._api("cuStreamIsCapturing_ptsz")
def cuStreamIsCapturing(hstream, pstatus):
    required(pstatus, "captureStatus")
    cx._stream_or_default(hstream)
    pstatus[0] = graphs.status(cx._key(hstream))[0]
    return OK


@cx._api()
def cuThreadExchangeStreamCaptureMode(pmode):
    required(pmode, "mode")
    pmode[0] = graphs.exchange_mode(pmode[0])
    return OK


# ---- graphs ---------------------------------------------------------------------------------------
@cx._api()
def cuGraphCreate(pgraph, flags):
    required(pgraph, "phGraph")
    if flags != 0:
        raise CuError(CU.CUDA_ERROR_INVALID_VALUE, "cuGraphCreate flags must be 0")
    pgraph[0] = cx.ffi.cast("CUgraph", graphs.create())
    return OK


@cx._api()
def cuGraphGetNodes(hgraph, nodes, pnum):
    required(pnum, "numNodes")
    handles = graphs.nodes(address(required(hgraph, "hGraph")))
    if nodes != cx.ffi.NULL:
        for i in range(pnum[0]):
            nodes[i] = cx.ffi.cast("CUgraphNode", handles[i]) if i < len(handles) else cx.ffi.NULL
    pnum[0] = len(handles)
    return OK


@cx._api()
def cuGraphInstantiateWithFlags(pexec, hgraph, flags):
    required(pexec, "phGraphExec")
    if flags & ~INSTANTIATE_FLAGS:
        raise CuError(CU.CUDA_ERROR_INVALID_VALUE, f"graph instantiate flags 0x{flags:x}")
    pexec[0] = cx.ffi.cast("CUgraphExec", graphs.instantiate(address(required(hgraph, "hGraph"))))
    return OK


@cx._api("cuGraphLaunch_ptsz")
def cuGraphLaunch(hexec, hstream):
    handle = address(required(hexec, "hGraphExec"))
    cx._stream_or_default(hstream)
    cx._queued(hstream, "graph launch", partial(graphs.launch, handle), graphs.CHILD_GRAPH)
    return OK


@cx._api()
def cuGraphExecDestroy(hexec):
    graphs.exec_destroy(address(required(hexec, "hGraphExec")))
    return OK


@cx._api()
def cuGraphDestroy(hgraph):
    graphs.destroy(address(required(hgraph, "hGraph")))
    return OK


# ---- nodes' parameters ------------------------------------------------------------------------
_argument_copies: dict[int, tuple[Any, Any]] = {}       # node -> (argument bytes, pointers into them)


@cx._api()
def cuGraphNodeGetType(hnode, ptype):
    required(ptype, "type")[0] = graphs.node_type(address(required(hnode, "hNode")))
    return OK


@cx._api()
def cuGraphKernelNodeGetParams_v2(hnode, params):
    required(params, "nodeParams")
    node = address(required(hnode, "hNode"))
    kernel = graphs.kernel_params(node)
    params.func = cx.ffi.cast("CUfunction", kernel.func)
    params.gridDimX, params.gridDimY, params.gridDimZ = kernel.grid
    params.blockDimX, params.blockDimY, params.blockDimZ = kernel.block
    params.sharedMemBytes = kernel.shared
    data = cx.ffi.new("char[]", kernel.params or b"\0")
    pointers = cx.ffi.new("void *[]", max(1, len(kernel.fn.meta.params)))
    for i, param in enumerate(kernel.fn.meta.params):
        pointers[i] = data + param.offset
    _argument_copies[node] = (data, pointers)
    params.kernelParams = pointers
    params.extra = cx.ffi.NULL
    params.kern = cx.ffi.NULL
    params.ctx = cx.ffi.cast("CUcontext", cx.contexts.new(kernel.fn.module.ctx))
    return OK


def _kernel(params) -> tuple[graphs.Kernel, graphs.Step]:
    p = required(params, "nodeParams")
    if p.kern != cx.ffi.NULL:
        raise CuError(CU.CUDA_ERROR_NOT_SUPPORTED, "library kernels (CUkernel) are not supported")
    fn = cx._function(p.func)
    grid, block = (p.gridDimX, p.gridDimY, p.gridDimZ), (p.blockDimX, p.blockDimY, p.blockDimZ)
    args = drv_launch.launch_params(fn, words(p.kernelParams), words(p.extra))
    drv_launch.check_shape(fn, grid, block, p.sharedMemBytes)
    kernel = graphs.Kernel(address(p.func), fn, grid, block, p.sharedMemBytes, args)
    return kernel, partial(cx._launch_step, fn, grid, block, p.sharedMemBytes, args, False)


@cx._api()
def cuGraphKernelNodeSetParams_v2(hnode, params):
    node = address(required(hnode, "hNode"))
    graphs.kernel_params(node)                       # a kernel node, before reading the new arguments
    graphs.set_kernel(node, *_kernel(params))
    _argument_copies.pop(node, None)
    return OK


@cx._api()
def cuGraphExecKernelNodeSetParams_v2(hexec, hnode, params):
    graphs.exec_set_kernel(address(required(hexec, "hGraphExec")), address(required(hnode, "hNode")),
                           *_kernel(params))
    return OK


@cx._api()
def cuGraphExecUpdate_v2(hexec, hgraph, info):
    required(info, "resultInfo")
    result, node = graphs.exec_update(address(required(hexec, "hGraphExec")), address(required(hgraph, "hGraph")))
    info.result = result
    info.errorNode = cx.ffi.cast("CUgraphNode", node)
    info.errorFromNode = cx.ffi.NULL
    if result != CU.CU_GRAPH_EXEC_UPDATE_SUCCESS:
        raise CuError(CU.CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE,
                      f"the graph does not match the executable graph (CUgraphExecUpdateResult {result})")
    return OK
