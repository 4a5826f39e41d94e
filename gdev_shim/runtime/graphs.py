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

The SDAA runtime has no graphs, so the errors of capture carry CUDA's code names.
"""
from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import Callable

from ..log import get
from .errors import RT, CudaNamedError, SdaaError

log = get("gdev.runtime")
Step = Callable[[int], None]              # one captured operation, replayed on a stream handle
GLOBAL, THREAD_LOCAL, RELAXED = 0, 1, 2    # cudaStreamCaptureMode
NONE, ACTIVE, INVALIDATED = 0, 1, 2        # cudaStreamCaptureStatus


class CaptureError(CudaNamedError):
    """A capture rule broken, with CUDA's name for the code."""


@dataclass
class Graph:
    handle: int
    nodes: list[tuple[int, Step]] = field(default_factory=list)     # (node handle, step)
    deps: dict[int, list[int]] = field(default_factory=dict)        # node -> the nodes it follows

    def order(self) -> list[Step]:
        """The steps, each after its dependencies, else in the order they were added."""
        pending = {node: set(self.deps.get(node, ())) for node, _ in self.nodes}
        done: list[Step] = []
        left = list(self.nodes)
        while left:
            ready = next((i for i, (node, _) in enumerate(left) if not pending[node]), None)
            if ready is None:
                raise SdaaError(RT.sdaaErrorInvalidValue, f"graph {self.handle} has a cycle")
            node, step = left.pop(ready)
            done.append(step)
            for deps in pending.values():
                deps.discard(node)
        return done


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


_lock = threading.RLock()
_ids = itertools.count(1)
_captures: dict[int, Capture] = {}         # by runtime stream handle
_graphs: dict[int, Graph] = {}
_execs: dict[int, list[Step]] = {}
_marks: dict[int, tuple[Capture, int, int]] = {}   # event -> (capture, stream, its steps when recorded)


def _invalidate(cap: Capture, why: str) -> None:
    if cap.invalid is None:
        cap.invalid = why
        log.warning("stream capture %d invalidated: %s", cap.id, why)


def begin(stream: int, mode: int, blocking: bool) -> None:
    if stream == 0:
        raise CaptureError("cudaErrorStreamCaptureUnsupported", "the default stream cannot be captured")
    if mode not in (GLOBAL, THREAD_LOCAL, RELAXED):
        raise SdaaError(RT.sdaaErrorInvalidValue, f"stream capture mode {mode}")
    with _lock:
        if stream in _captures:
            raise CaptureError("cudaErrorIllegalState", f"stream {stream} is already capturing")
        cap = Capture(Graph(next(_ids)), stream, mode, threading.get_ident(), {stream: blocking},
                      id=next(_ids))
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
        last = cap.graph.nodes[-1][0] if cap.graph.nodes else 0
        return (INVALIDATED if cap.invalid else ACTIVE), cap.id, cap.graph.handle, last


def _check_legacy(what: str) -> None:
    """Work on the legacy default stream would wait for every blocking stream: a capturing
    one cannot be waited for, so its capture fails (CUDA's implicit dependency rule)."""
    caps = {id(c): c for s, c in _captures.items() if c.blocking[s] and c.invalid is None}
    for cap in caps.values():
        _invalidate(cap, f"{what} on the legacy stream")
    if caps:
        raise CaptureError("cudaErrorStreamCaptureImplicit",
                           f"{what} on the legacy stream while a blocking stream is capturing")


def legacy(what: str) -> None:
    with _lock:
        _check_legacy(what)


def record(stream: int, step: Step, what: str) -> bool:
    """Capture `step` if `stream` captures (True), else leave the work to the caller."""
    with _lock:
        if stream == 0:
            _check_legacy(what)
            return False
        cap = _captures.get(stream)
        if cap is None:
            return False
        if cap.invalid is not None:
            raise CaptureError("cudaErrorStreamCaptureInvalidated", f"{what}: the capture was invalidated")
        cap.graph.nodes.append((next(_ids), step))
        cap.ops[stream] += 1
        return True


def forbid(stream: int, what: str) -> None:
    """`what` cannot be captured: it fails and the capture with it."""
    with _lock:
        cap = _captures.get(stream)
        if cap is None:
            if stream == 0:
                _check_legacy(what)
            return
        _invalidate(cap, f"{what} is not allowed during capture")
        raise CaptureError("cudaErrorStreamCaptureUnsupported", f"{what} on a capturing stream")


def unsafe(what: str) -> None:
    """A call CUDA prohibits while this thread's capture (or any thread's global one) runs."""
    me = threading.get_ident()
    with _lock:
        caps = {id(c): c for c in _captures.values() if c.invalid is None and
                (c.mode == GLOBAL or (c.mode == THREAD_LOCAL and c.thread == me))}
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


def add_node(handle: int, deps: list[int], step: Step) -> int:
    """A node running `step` after the nodes `deps` of the same graph; its handle."""
    with _lock:
        graph = _graph(handle)
        _check_nodes(graph, deps)
        if len(set(deps)) != len(deps):
            raise SdaaError(RT.sdaaErrorInvalidValue, "a dependency is given twice")
        node = next(_ids)
        graph.nodes.append((node, step))
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


def _check_nodes(graph: Graph, nodes: list[int]) -> None:
    known = {node for node, _ in graph.nodes}
    for node in nodes:
        if node not in known:
            raise SdaaError(RT.sdaaErrorInvalidValue, f"0x{node:x} is not a node of graph {graph.handle}")


def nodes(handle: int) -> list[int]:
    with _lock:
        return [node for node, _ in _graph(handle).nodes]


def destroy(handle: int) -> None:
    with _lock:
        _graph(handle)
        del _graphs[handle]


def instantiate(handle: int) -> int:
    """An executable copy of the graph (the graph may change or go afterwards)."""
    with _lock:
        steps = _graph(handle).order()
        exec_handle = next(_ids)
        _execs[exec_handle] = steps
    return exec_handle


def exec_destroy(handle: int) -> None:
    with _lock:
        if _execs.pop(handle, None) is None:
            raise SdaaError(RT.sdaaErrorInvalidValue, f"0x{handle:x} is not an executable graph")


def launch(handle: int, stream: int) -> None:
    """Run the graph's steps in order on `stream` (captured too, if `stream` captures)."""
    with _lock:
        steps = _execs.get(handle)
    if steps is None:
        raise SdaaError(RT.sdaaErrorInvalidValue, f"0x{handle:x} is not an executable graph")
    log.debug("graph launch: %d steps on stream %d", len(steps), stream)
    for step in steps:
        step(stream)
