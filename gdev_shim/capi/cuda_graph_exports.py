"""libcuda.so.1: host functions on streams, stream capture and graphs.

The runtime's graph code (runtime/graphs.py) keeps the graphs: this face hands it the
steps its stream operations capture (cuda_exports._queued) under its own stream and event
keys; CUDA's capture rules and their codes are the runtime's, translated by name
(cudaErrorStreamCaptureUnsupported is CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED).
"""
from __future__ import annotations

from functools import partial

from ..driver import stream as drv_stream
from ..runtime import graphs
from . import cuda_exports as cx
from .boundary import address, required
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
    graphs.begin(cx._key(hstream), mode, stream.blocking)
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
