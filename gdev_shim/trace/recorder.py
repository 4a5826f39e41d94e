"""The timeline recorder: a Chrome/Perfetto trace-event file of API calls and card work.

Tracks (trace-event `pid`/`tid`):
- the host process, one track per host thread: every API call as a complete
  ("X") slice with its arguments, result and duration;
- one process per card (`aicardN`), one track per channel and engine (copy,
  compute, control): every ring command as the card executed it;
- flow arrows ("s" -> "f") from the call that wrote a command into the ring to
  the slice of that command on the card.

Hooks check the module flag `on` and nothing else when tracing is off.  The
file is written at exit (atexit; the C libraries run Python's exit handlers
from a C `atexit`) and whenever `flush()` is called.
"""
from __future__ import annotations

import atexit
import itertools
import json
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..settings import settings
from ..common.contract import C

on: bool = False          # the one flag every hook checks

# Card tracks live in processes of their own; real pids stay below 2**22 (pid_max).
CARD_PID_BASE = 1 << 22
ENGINES = ("copy", "compute", "control")
_LINKED_OPS = frozenset((C.AIDEV_OP_MEMCPY, C.AIDEV_OP_MEMSET, C.AIDEV_OP_COMPUTE, C.AIDEV_OP_ACQUIRE))


class TraceError(Exception):
    """The trace cannot be written (no path given, or the file system refused)."""


@dataclass
class Call:
    """An API call in progress on one host thread."""
    name: str
    start_ns: int
    tid: int
    flows: list[tuple[int, int]] = field(default_factory=list)    # (flow id, submit time)


_lock = threading.Lock()
_events: list[dict[str, Any]] = []
_path: Path | None = None
_epoch_ns = time.monotonic_ns()
_flow_ids = itertools.count(1)
_pending: dict[tuple[int, int, int], int] = {}    # (card, channel, ring position) -> flow id
_host_threads: dict[int, str] = {}
_card_tracks: set[tuple[int, int, int]] = set()   # (card, channel, engine index)
_tls = threading.local()
_atexit_registered = False


def now_ns() -> int:
    """The trace clock: CLOCK_MONOTONIC, the clock of the card's fence timestamps."""
    return time.monotonic_ns()


def _us(ns: int) -> float:
    return round((ns - _epoch_ns) / 1000.0, 3)


def enabled() -> bool:
    return on


def start(path: str | os.PathLike[str] | None = None) -> None:
    """Begin recording (again); `path` is where flush() and exit write the file."""
    global on, _path, _atexit_registered
    with _lock:
        if path is not None:
            _path = Path(path)
        if not _atexit_registered:
            atexit.register(_at_exit)
            _atexit_registered = True
        on = True


def stop() -> None:
    """Stop recording; what was recorded stays and is still written by flush()."""
    global on
    on = False


def clear() -> None:
    """Forget every recorded event (a new timeline from here on)."""
    with _lock:
        _events.clear()
        _pending.clear()
        _host_threads.clear()
        _card_tracks.clear()


def events() -> list[dict[str, Any]]:
    """A copy of the trace events recorded so far, metadata first (the file's `traceEvents`)."""
    with _lock:
        body = list(_events)
    return _metadata() + body


def flush(path: str | os.PathLike[str] | None = None) -> Path:
    """Write the trace file now and return its path; recording goes on."""
    target = Path(path) if path is not None else _path
    if target is None:
        raise TraceError("no trace file: set GDEV_TRACE or pass a path")
    document = {"traceEvents": events(), "displayTimeUnit": "ms",
                "otherData": {"producer": "gdev-shim", "clock": "CLOCK_MONOTONIC",
                              "epoch_ns": _epoch_ns, "pid": os.getpid()}}
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(document, separators=(",", ":")))
        tmp.replace(target)
    except OSError as exc:
        raise TraceError(f"cannot write trace {target}: {exc.strerror or exc}") from exc
    return target


def _at_exit() -> None:
    if _path is None or not (on or _events):
        return
    try:
        flush()
    except TraceError as exc:
        from ..log import get
        get("gdev.trace").warning("%s", exc)


# ---- host side ------------------------------------------------------------------
def _stack() -> list[Call]:
    stack = getattr(_tls, "calls", None)
    if stack is None:
        stack = _tls.calls = []
    return stack


def enter(name: str) -> Call:
    """An API call begins on this thread."""
    tid = threading.get_native_id()
    if tid not in _host_threads:
        _host_threads[tid] = threading.current_thread().name
    call = Call(name, now_ns(), tid)
    _stack().append(call)
    return call


def leave(call: Call, args: dict[str, Any], result: Any = None) -> None:
    """The call ends: one complete slice, and the start of each flow it caused."""
    end = now_ns()
    stack = _stack()
    if stack and stack[-1] is call:
        stack.pop()
    pid = os.getpid()
    slice_args = dict(args)
    if result is not None:
        slice_args["result"] = result
    _events.append({"ph": "X", "cat": "api", "name": call.name, "pid": pid, "tid": call.tid,
                    "ts": _us(call.start_ns), "dur": round((end - call.start_ns) / 1000.0, 3),
                    "args": slice_args})
    for flow, at in call.flows:
        _events.append({"ph": "s", "cat": "flow", "name": "ring", "id": flow, "pid": pid,
                        "tid": call.tid, "ts": _us(at)})


def submitted(card: int, channel: int, position: int, op: int) -> None:
    """The host wrote command `op` at ring `position` of (card, channel): link it to the current call.

    Only work and waits get arrows; the fence closing every operation would double them."""
    stack = _stack()
    if not stack or op not in _LINKED_OPS:
        return
    flow = next(_flow_ids)
    _pending[(card, channel, position & 0xFFFF_FFFF)] = flow
    stack[-1].flows.append((flow, now_ns()))


# ---- card side ---------------------------------------------------------------------
def card_pid(card: int) -> int:
    return CARD_PID_BASE + card


def card_tid(channel: int, engine: int) -> int:
    return channel * len(ENGINES) + engine


def device_slice(card: int, channel: int, position: int, engine: int, name: str,
                 start_ns: int, end_ns: int, args: dict[str, Any]) -> None:
    """A ring command the card executed from `start_ns` to `end_ns` on one engine."""
    pid, tid = card_pid(card), card_tid(channel, engine)
    _card_tracks.add((card, channel, engine))
    ts = _us(start_ns)
    _events.append({"ph": "X", "cat": ENGINES[engine], "name": name, "pid": pid, "tid": tid,
                    "ts": ts, "dur": round((end_ns - start_ns) / 1000.0, 3), "args": args})
    flow = _pending.pop((card, channel, position & 0xFFFF_FFFF), None)
    if flow is not None:
        _events.append({"ph": "f", "bp": "e", "cat": "flow", "name": "ring", "id": flow,
                        "pid": pid, "tid": tid, "ts": ts})


# ---- metadata --------------------------------------------------------------------------
def _command_line() -> str:
    argv = getattr(sys, "argv", None)
    if argv and argv[0]:
        return os.path.basename(argv[0])
    try:
        raw = Path("/proc/self/cmdline").read_bytes().split(b"\0")[0]
        return os.path.basename(raw.decode(errors="replace")) or "?"
    except OSError:
        return "?"


def _metadata() -> list[dict[str, Any]]:
    pid = os.getpid()
    meta: list[dict[str, Any]] = [
        {"ph": "M", "name": "process_name", "pid": pid, "tid": 0,
         "args": {"name": f"host {_command_line()} (pid {pid})"}},
        {"ph": "M", "name": "process_sort_index", "pid": pid, "tid": 0, "args": {"sort_index": 0}},
    ]
    for tid, name in sorted(_host_threads.items()):
        meta.append({"ph": "M", "name": "thread_name", "pid": pid, "tid": tid, "args": {"name": name}})
    for card in sorted({c for c, _, _ in _card_tracks}):
        meta.append({"ph": "M", "name": "process_name", "pid": card_pid(card), "tid": 0,
                     "args": {"name": f"aicard{card}"}})
        meta.append({"ph": "M", "name": "process_sort_index", "pid": card_pid(card), "tid": 0,
                     "args": {"sort_index": 1 + card}})
    for card, channel, engine in sorted(_card_tracks):
        tid = card_tid(channel, engine)
        meta.append({"ph": "M", "name": "thread_name", "pid": card_pid(card), "tid": tid,
                     "args": {"name": f"channel {channel} {ENGINES[engine]}"}})
        meta.append({"ph": "M", "name": "thread_sort_index", "pid": card_pid(card), "tid": tid,
                     "args": {"sort_index": tid}})
    return meta


if settings.trace:
    start(settings.trace)
