"""CUDA graphs: made by stream capture, or node by node (runtime/graph_nodes.py).

While a stream captures, the runtime's stream operations hand this module a step (a
callable taking the stream to run on) instead of doing their work; a graph is the list of
steps in the order they were captured, and launching it runs each step on the launch
stream.  Steps call the same runtime functions a direct call would, with what CUDA
copies at capture time (kernel arguments) bound in.  Streams that wait on an event
recorded in a capture join it (CUDA's fork); their steps go into the same list, whose
capture order respects every dependency, so replay on one stream keeps them.

A graph built node by node also has edges (each node's dependencies); instantiation
orders its nodes so that every node follows its dependencies (and otherwise keeps the
order they were added in), and a launch runs them in that order on one stream.

Each node has CUDA's type, and a kernel node keeps its parameters (`Kernel`) so that they
can be read and replaced, in the graph or in an executable graph; an executable graph
takes the steps of another graph of the same shape (cudaGraphExecUpdate).

The SDAA runtime has no graphs, so the errors of capture carry CUDA's code names.
"""
from __future__ import annotations

import functools
import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from ..log import get
from .errors import RT, CudaNamedError, SdaaError

log = get("gdev.runtime")
Step = Callable[[int], None]              # one captured operation, replayed on a stream handle
GLOBAL, THREAD_LOCAL, RELAXED = 0, 1, 2    # cudaStreamCaptureMode
NONE, ACTIVE, INVALIDATED = 0, 1, 2        # cudaStreamCaptureStatus
KERNEL, MEMCPY, MEMSET, HOST, CHILD_GRAPH, EMPTY, WAIT_EVENT = 0, 1, 2, 3, 4, 5, 6    # cudaGraphNodeType
# cudaGraphExecUpdateResult
UPDATE_SUCCESS, UPDATE_TOPOLOGY_CHANGED, UPDATE_NODE_TYPE_CHANGED, UPDATE_UNSUPPORTED_FUNCTION_CHANGE = 0, 2, 3, 7
Dim3 = tuple[int, int, int]


class CaptureError(CudaNamedError):
    """A capture rule broken, with CUDA's name for the code."""


@dataclass(frozen=True)
class Kernel:
    """A kernel node's parameters: the kernel (`func`: the face's handle of it, `fn`: the
    driver function), its shape, and its arguments as CUDA copies them (packed bytes)."""
    func: int
    fn: Any
    grid: Dim3
    block: Dim3
    shared: int
    params: bytes


@dataclass
class Node:
    kind: int
    step: Step
    kernel: Kernel | None = None


@dataclass
class Graph:
    handle: int
    nodes: dict[int, Node] = field(default_factory=dict)            # node handle -> node, in order added
    deps: dict[int, list[int]] = field(default_factory=dict)        # node -> the nodes it follows
    origins: dict[int, int] = field(default_factory=dict)           # of a clone: original node -> its copy

    def order(self) -> list[int]:
        """The nodes, each after its dependencies, else in the order they were added."""
        pending = {node: set(self.deps.get(node, ())) for node in self.nodes}
        done: list[int] = []
        left = list(self.nodes)
        while left:
            ready = next((i for i, node in enumerate(left) if not pending[node]), None)
            if ready is None:
                raise SdaaError(RT.sdaaErrorInvalidValue, f"graph {self.handle} has a cycle")
            node = left.pop(ready)
            done.append(node)
            for deps in pending.values():
                deps.discard(node)
        return done

    def shape(self) -> list[tuple[int, list[int]]]:
        """Each node's type and its dependencies by position: what cudaGraphExecUpdate compares."""
        position = {node: i for i, node in enumerate(self.nodes)}
        return [(n.kind, sorted(position[d] for d in self.deps.get(node, ()))) for node, n in self.nodes.items()]


@dataclass
class Exec:
    """An executable graph: its nodes (copies) in launch order, by the graph's node handles."""
    nodes: dict[int, Node]
    order: list[int]
    shape: list[tuple[int, list[int]]]


@dataclass
class Capture:
    graph: Graph
    origin: int
    mode: int
    thread: int
    blocking: dict[int, bool]              # streams in the capture -> do they sync with the legacy stream
    ops: dict[int, int] = field(default_factory=dict)       # steps each stream captured
    joined: dict[int, int] = field(default_factory=dict)    # of a forked stream's steps, those joined back
    invalid: str | None = None
    id: int = 0
    ctx: object = None                     # whose legacy stream waits for its blocking streams


_lock = threading.RLock()
_ids = itertools.count(1)
_captures: dict[int, Capture] = {}         # by runtime stream handle
_graphs: dict[int, Graph] = {}
_execs: dict[int, Exec] = {}
_marks: dict[int, tuple[Capture, int, int]] = {}   # event -> (capture, stream, its steps when recorded)
_thread = threading.local()                # .mode: this thread's cudaStreamCaptureMode for unsafe calls;
                                           # .per_thread: in a call of a per-thread default stream build


def _invalidate(cap: Capture, why: str) -> None:
    if cap.invalid is None:
        cap.invalid = why
        log.warning("stream capture %d invalidated: %s", cap.id, why)


def begin(stream: int, mode: int, blocking: bool, ctx: object = None) -> None:
    """Start capturing `stream`; `ctx` keys the legacy-stream rule (the face's context of
    the stream: a legacy stream waits only for the blocking streams of its own context)."""
    if stream == 0:
        raise CaptureError("cudaErrorStreamCaptureUnsupported", "the default stream cannot be captured")
    if mode not in (GLOBAL, THREAD_LOCAL, RELAXED):
        raise SdaaError(RT.sdaaErrorInvalidValue, f"stream capture mode {mode}")
    with _lock:
        if stream in _captures:
            raise CaptureError("cudaErrorIllegalState", f"stream {stream} is already capturing")
        cap = Capture(Graph(next(_ids)), stream, mode, threading.get_ident(), {stream: blocking},
                      id=next(_ids), ctx=ctx)
        cap.ops[stream] = 0
        _captures[stream] = cap


def _close(cap: Capture) -> None:
    """Its streams stop capturing; its events mark nothing any more."""
    for s in cap.blocking:
        _captures.pop(s, None)
    for event in [e for e, mark in _marks.items() if mark[0] is cap]:
        del _marks[event]


def end(stream: int) -> int:
    """End the capture `stream` began; the handle of its graph."""
    with _lock:
        cap = _captures.get(stream)
        if cap is None:
            raise CaptureError("cudaErrorIllegalState", f"stream {stream} is not capturing")
        if cap.origin != stream:
            raise CaptureError("cudaErrorStreamCaptureUnmatched",
                               f"stream {stream} joined a capture begun on stream {cap.origin}")
        if cap.mode != RELAXED and cap.thread != threading.get_ident():
            raise CaptureError("cudaErrorStreamCaptureWrongThread",
                               "the capture was begun on another thread")
        _close(cap)
        if cap.invalid is not None:
            raise CaptureError("cudaErrorStreamCaptureInvalidated", f"the capture was invalidated: {cap.invalid}")
        unjoined = [s for s in cap.blocking if s != stream and cap.ops[s] > cap.joined.get(s, 0)]
        if unjoined:
            raise CaptureError("cudaErrorStreamCaptureUnjoined",
                               f"work captured on stream(s) {unjoined} was not joined back into stream {stream}")
        _graphs[cap.graph.handle] = cap.graph
        log.debug("capture %d: graph %d of %d nodes", cap.id, cap.graph.handle, len(cap.graph.nodes))
        return cap.graph.handle


def forget(stream: int) -> None:
    """A stream destroyed: a capture it began fails; one it joined keeps counting its work
    (unjoined work still fails the capture's end)."""
    with _lock:
        cap = _captures.pop(stream, None)
        if cap is not None and cap.origin == stream:
            _invalidate(cap, f"stream {stream} was destroyed while capturing")
            _close(cap)


def status(stream: int) -> tuple[int, int, int, int]:
    """(cudaStreamCaptureStatus, capture id, graph handle, last node handle) of `stream`."""
    with _lock:
        cap = _captures.get(stream)
        if cap is None:
            return NONE, 0, 0, 0
        last = next(reversed(cap.graph.nodes), 0)
        return (INVALIDATED if cap.invalid else ACTIVE), cap.id, cap.graph.handle, last


def _check_legacy(what: str, ctx: object = None, explicit: bool = False) -> None:
    """Work on the legacy default stream would wait for every blocking stream of its
    context: a capturing one cannot be waited for, so its capture fails (CUDA's implicit
    dependency rule, whatever the capture mode).  The default stream of a per-thread
    default stream build's call is the thread's own stream, which waits for no other, unless
    the call named the legacy stream itself (`explicit`)."""
    if getattr(_thread, "per_thread", False) and not explicit:
        return
    caps = {id(c): c for s, c in _captures.items() if c.blocking[s] and c.invalid is None and c.ctx is ctx}
    for cap in caps.values():
        _invalidate(cap, f"{what} on the legacy stream")
    if caps:
        raise CaptureError("cudaErrorStreamCaptureImplicit",
                           f"{what} on the legacy stream while a blocking stream is capturing")


def legacy(what: str, ctx: object = None, explicit: bool = False) -> None:
    if not _captures:
        return
    with _lock:
        _check_legacy(what, ctx, explicit)


@contextmanager
def per_thread_default() -> Iterator[None]:
    """Within: the calls of a program built with per-thread default streams (their _ptds and
    _ptsz exports), whose default stream is not the legacy one."""
    before = getattr(_thread, "per_thread", False)
    _thread.per_thread = True
    try:
        yield
    finally:
        _thread.per_thread = before


def per_thread_calls(fn: Callable) -> Callable:
    """`fn` (an export of a per-thread default stream name) run under per_thread_default."""
    @functools.wraps(fn)
    def call(*args):
        with per_thread_default():
            return fn(*args)
    return call


def record(stream: int, step: Step, what: str, kind: int, kernel: Kernel | None = None) -> bool:
    """Capture `step` (a node of type `kind`) if `stream` captures (True), else leave the
    work to the caller."""
    if not _captures:                   # no capture runs: the common case, without the lock
        return False
    with _lock:
        if stream == 0:
            _check_legacy(what)
            return False
        cap = _captures.get(stream)
        if cap is None:
            return False
        if cap.invalid is not None:
            raise CaptureError("cudaErrorStreamCaptureInvalidated", f"{what}: the capture was invalidated")
        cap.graph.nodes[next(_ids)] = Node(kind, step, kernel)
        cap.ops[stream] += 1
        return True


def forbid(stream: int, what: str) -> None:
    """`what` cannot be captured: it fails and the capture with it."""
    if not _captures:
        return
    with _lock:
        cap = _captures.get(stream)
        if cap is None:
            if stream == 0:
                _check_legacy(what)
            return
        _invalidate(cap, f"{what} is not allowed during capture")
        raise CaptureError("cudaErrorStreamCaptureUnsupported", f"{what} on a capturing stream")


def exchange_mode(mode: int) -> int:
    """Set this thread's capture interaction mode (cudaThreadExchangeStreamCaptureMode); the old one."""
    if mode not in (GLOBAL, THREAD_LOCAL, RELAXED):
        raise SdaaError(RT.sdaaErrorInvalidValue, f"stream capture mode {mode}")
    old = getattr(_thread, "mode", GLOBAL)
    _thread.mode = mode
    return old


def unsafe(what: str) -> None:
    """A potentially unsafe call (one that is not stream-ordered: allocation, freeing,
    device-wide synchronisation) while a capture it could break runs: under this thread's
    mode global, this thread's captures not begun relaxed and other threads' global ones;
    under thread-local, this thread's not begun relaxed; under relaxed, none."""
    if not _captures:                   # no capture runs: the common case, without the lock
        return
    me, mode = threading.get_ident(), getattr(_thread, "mode", GLOBAL)
    if mode == RELAXED:
        return
    with _lock:
        caps = {id(c): c for c in _captures.values() if c.invalid is None and
                ((c.thread == me and c.mode != RELAXED) or (mode == GLOBAL and c.mode == GLOBAL))}
        for cap in caps.values():
            _invalidate(cap, f"{what} during capture")
        if caps:
            raise CaptureError("cudaErrorStreamCaptureUnsupported", f"{what} is not allowed during stream capture")


def mark_event(event: int, stream: int) -> bool:
    """An event recorded on a capturing stream marks a point of the capture (True), no card work."""
    with _lock:
        cap = _captures.get(stream)
        if cap is None:
            _marks.pop(event, None)
            return False
        if cap.invalid is not None:
            raise CaptureError("cudaErrorStreamCaptureInvalidated", "event record: the capture was invalidated")
        _marks[event] = (cap, stream, cap.ops[stream])
        return True


def wait_event(stream: int, event: int, blocking: bool) -> bool:
    """A wait on a captured event: the stream joins that capture (True); False when the
    event was not recorded in a capture."""
    with _lock:
        mark = _marks.get(event)
        if mark is None:
            return False
        cap, source, ops = mark
        if stream == 0:
            raise CaptureError("cudaErrorStreamCaptureIsolation", "the legacy stream cannot join a capture")
        own = _captures.get(stream)
        if own is None:
            _captures[stream] = cap                     # fork: later work on `stream` is captured
            cap.blocking[stream] = blocking
            cap.ops[stream] = 0
        elif own is not cap:
            raise CaptureError("cudaErrorStreamCaptureMerge", "the event belongs to another capture")
        elif source != stream:
            cap.joined[source] = max(cap.joined.get(source, 0), ops)
        return True


def captured_event(event: int, what: str) -> None:
    with _lock:
        if event in _marks:
            raise CaptureError("cudaErrorCapturedEvent", f"{what} of an event recorded in an active capture")


def create() -> int:
    graph = Graph(next(_ids))
    with _lock:
        _graphs[graph.handle] = graph
    return graph.handle


def _graph(handle: int) -> Graph:
    graph = _graphs.get(handle)
    if graph is None:
        raise SdaaError(RT.sdaaErrorInvalidValue, f"0x{handle:x} is not a graph")
    return graph


def add_node(handle: int, deps: list[int], step: Step, kind: int, kernel: Kernel | None = None) -> int:
    """A node of type `kind` running `step` after the nodes `deps` of the same graph; its handle."""
    with _lock:
        graph = _graph(handle)
        _check_nodes(graph, deps)
        if len(set(deps)) != len(deps):
            raise SdaaError(RT.sdaaErrorInvalidValue, "a dependency is given twice")
        node = next(_ids)
        graph.nodes[node] = Node(kind, step, kernel)
        graph.deps[node] = list(deps)
    return node


def add_dependencies(handle: int, edges: list[tuple[int, int]]) -> None:
    """Edges from -> to: each `to` node runs after its `from` node."""
    with _lock:
        graph = _graph(handle)
        for src, dst in edges:
            _check_nodes(graph, [src, dst])
            if src == dst or src in graph.deps.get(dst, ()):
                raise SdaaError(RT.sdaaErrorInvalidValue, f"edge {src:#x} -> {dst:#x} exists or is a loop")
        for src, dst in edges:
            graph.deps.setdefault(dst, []).append(src)


def remove_dependencies(handle: int, edges: list[tuple[int, int]]) -> None:
    """Remove edges from -> to; every one must exist (nothing changes otherwise)."""
    with _lock:
        graph = _graph(handle)
        for src, dst in edges:
            _check_nodes(graph, [src, dst])
            if src not in graph.deps.get(dst, ()):
                raise SdaaError(RT.sdaaErrorInvalidValue, f"no edge {src:#x} -> {dst:#x}")
        if len(set(edges)) != len(edges):
            raise SdaaError(RT.sdaaErrorInvalidValue, "an edge to remove is given twice")
        for src, dst in edges:
            graph.deps[dst].remove(src)


def edges(handle: int) -> list[tuple[int, int]]:
    """Every edge (from, to), grouped by the node they lead to, in the order nodes were added."""
    with _lock:
        graph = _graph(handle)
        return [(src, dst) for dst in graph.nodes for src in graph.deps.get(dst, ())]


def roots(handle: int) -> list[int]:
    with _lock:
        graph = _graph(handle)
        return [node for node in graph.nodes if not graph.deps.get(node)]


def _owner(node: int) -> Graph:
    for graph in _graphs.values():
        if node in graph.nodes:
            return graph
    raise SdaaError(RT.sdaaErrorInvalidValue, f"0x{node:x} is not a node of any graph")


def dependencies(node: int) -> list[int]:
    with _lock:
        return list(_owner(node).deps.get(node, ()))


def dependents(node: int) -> list[int]:
    with _lock:
        graph = _owner(node)
        return [dst for dst in graph.nodes if node in graph.deps.get(dst, ())]


def destroy_node(node: int) -> None:
    """Remove a node and every edge to or from it."""
    with _lock:
        graph = _owner(node)
        del graph.nodes[node]
        graph.deps.pop(node, None)
        for deps in graph.deps.values():
            while node in deps:
                deps.remove(node)


def clone(handle: int) -> int:
    """A copy of the graph with nodes of its own (same steps and parameters, same edges);
    the copy remembers which of its nodes each original node became (find_in_clone)."""
    with _lock:
        graph = _graph(handle)
        copy = Graph(next(_ids))
        renamed = {node: next(_ids) for node in graph.nodes}
        for node, n in graph.nodes.items():
            copy.nodes[renamed[node]] = replace(n)
            copy.deps[renamed[node]] = [renamed[d] for d in graph.deps.get(node, ())]
        copy.origins = renamed
        _graphs[copy.handle] = copy
    return copy.handle


def find_in_clone(node: int, clone_handle: int) -> int:
    with _lock:
        found = _graph(clone_handle).origins.get(node)
        if found is None or found not in _graphs[clone_handle].nodes:
            raise SdaaError(RT.sdaaErrorInvalidValue, f"0x{node:x} has no node in graph 0x{clone_handle:x}")
        return found


def _check_nodes(graph: Graph, nodes: list[int]) -> None:
    for node in nodes:
        if node not in graph.nodes:
            raise SdaaError(RT.sdaaErrorInvalidValue, f"0x{node:x} is not a node of graph {graph.handle}")


def nodes(handle: int) -> list[int]:
    with _lock:
        return list(_graph(handle).nodes)


def destroy(handle: int) -> None:
    with _lock:
        _graph(handle)
        del _graphs[handle]


def instantiate(handle: int) -> int:
    """An executable copy of the graph (the graph may change or go afterwards)."""
    with _lock:
        graph = _graph(handle)
        order = graph.order()
        exec_handle = next(_ids)
        _execs[exec_handle] = Exec({node: replace(n) for node, n in graph.nodes.items()}, order, graph.shape())
    return exec_handle


def exec_destroy(handle: int) -> None:
    with _lock:
        if _execs.pop(handle, None) is None:
            raise SdaaError(RT.sdaaErrorInvalidValue, f"0x{handle:x} is not an executable graph")


def launch(handle: int, stream: int) -> None:
    """Run the graph's steps in order on `stream` (captured too, if `stream` captures)."""
    with _lock:
        exe = _execs.get(handle)
        steps = None if exe is None else [exe.nodes[node].step for node in exe.order]
    if steps is None:
        raise SdaaError(RT.sdaaErrorInvalidValue, f"0x{handle:x} is not an executable graph")
    log.debug("graph launch: %d steps on stream %d", len(steps), stream)
    for step in steps:
        step(stream)


# ---- node parameters --------------------------------------------------------------------
def _node(node: int) -> Node:
    return _owner(node).nodes[node]


def node_type(node: int) -> int:
    with _lock:
        return _node(node).kind


def _kernel_of(node: Node, handle: int) -> Kernel:
    if node.kernel is None:
        raise SdaaError(RT.sdaaErrorInvalidValue, f"node 0x{handle:x} is not a kernel node")
    return node.kernel


def kernel_params(node: int) -> Kernel:
    with _lock:
        return _kernel_of(_node(node), node)


def set_kernel(node: int, kernel: Kernel, step: Step) -> None:
    """New parameters for a kernel node of a graph (executables made from it keep theirs)."""
    with _lock:
        found = _node(node)
        _kernel_of(found, node)
        found.kernel, found.step = kernel, step


def _exec(handle: int) -> Exec:
    exe = _execs.get(handle)
    if exe is None:
        raise SdaaError(RT.sdaaErrorInvalidValue, f"0x{handle:x} is not an executable graph")
    return exe


def exec_set_kernel(handle: int, node: int, kernel: Kernel, step: Step) -> None:
    """New parameters for the kernel node an executable graph made of `node` (the graph's
    handle of it), for its later launches."""
    with _lock:
        found = _exec(handle).nodes.get(node)
        if found is None:
            raise SdaaError(RT.sdaaErrorInvalidValue, f"0x{node:x} is not a node of executable graph 0x{handle:x}")
        _kernel_of(found, node)
        found.kernel, found.step = kernel, step


def exec_update(handle: int, graph_handle: int) -> tuple[int, int]:
    """Give the executable graph the parameters of `graph`'s nodes, paired with its own by
    position, if the two have the same shape: (cudaGraphExecUpdateResult, the first node of
    `graph` that differs or 0).  Nothing changes unless every node pairs."""
    with _lock:
        exe, graph = _exec(handle), _graph(graph_handle)
        new = list(graph.nodes.items())
        if len(new) != len(exe.nodes):
            return UPDATE_TOPOLOGY_CHANGED, 0
        shape = graph.shape()
        for (node, n), (kind, deps), (old_kind, old_deps), old in zip(new, shape, exe.shape, exe.nodes.values()):
            if kind != old_kind:
                return UPDATE_NODE_TYPE_CHANGED, node
            if deps != old_deps:
                return UPDATE_TOPOLOGY_CHANGED, node
            if n.kernel is not None and old.kernel is not None and not _same_context(n.kernel, old.kernel):
                return UPDATE_UNSUPPORTED_FUNCTION_CHANGE, node
        for old, (_, n) in zip(exe.nodes.values(), new):
            old.step, old.kernel = n.step, n.kernel
        return UPDATE_SUCCESS, 0


def _same_context(a: Kernel, b: Kernel) -> bool:
    """A kernel node may change its kernel, not the context (card) it runs on."""
    return a.fn.module.ctx is b.fn.module.ctx
