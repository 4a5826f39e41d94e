"""The card side of observability: engine activity counters and traced ring commands.

Every simulated card keeps an EngineActivity (busy time per engine, commands,
bytes moved) that gdev-smi reports as utilisation; when the timeline trace is
on, each executed command also becomes a slice on its channel's engine track.
"""
from __future__ import annotations

import threading
from time import monotonic_ns as _now_ns
from typing import Any, Callable

from ..common.contract import C, ffi
from . import recorder

COPY, COMPUTE, CONTROL = 0, 1, 2
ENGINE_NAMES = ("copy", "compute")
_ENGINE_OF = {C.AIDEV_OP_MEMCPY: COPY, C.AIDEV_OP_MEMSET: COPY, C.AIDEV_OP_COMPUTE: COMPUTE}
_OP_NAMES = {C.AIDEV_OP_NOP: "NOP", C.AIDEV_OP_MEMCPY: "MEMCPY", C.AIDEV_OP_MEMSET: "MEMSET",
             C.AIDEV_OP_COMPUTE: "COMPUTE", C.AIDEV_OP_FENCE: "FENCE", C.AIDEV_OP_ACQUIRE: "ACQUIRE",
             C.AIDEV_OP_MEMBAR: "MEMBAR", C.AIDEV_OP_NOTIFY: "NOTIFY",
             C.AIDEV_OP_PREPARE: "PREPARE"}
_DESC_WORDS = ffi.sizeof("struct aidev_compute") // 8


def engine_of(op: int) -> int:
    """COPY, COMPUTE, or CONTROL for commands that occupy no engine (fences, waits)."""
    return _ENGINE_OF.get(op, CONTROL)


def op_name(op: int) -> str:
    return _OP_NAMES.get(op, f"OP{op}")


class EngineActivity:
    """Busy time of a card's copy and compute engines, counted while any channel uses them.

    Overlapping commands of several channels count once, so busy time never
    exceeds wall time and utilisation stays within 0..100 %.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = [0, 0]
        self._since = [0, 0]
        self.busy_ns = [0, 0]
        self.commands = [0, 0]
        self.bytes = 0                  # moved by the copy engine

    def begin(self, engine: int, at_ns: int) -> None:
        with self._lock:
            if self._active[engine] == 0:
                self._since[engine] = at_ns
            self._active[engine] += 1

    def end(self, engine: int, at_ns: int, nbytes: int = 0) -> None:
        with self._lock:
            self._active[engine] -= 1
            self.commands[engine] += 1
            self.bytes += nbytes
            if self._active[engine] == 0:
                self.busy_ns[engine] += at_ns - self._since[engine]

    def snapshot(self, at_ns: int) -> dict[str, Any]:
        """Busy ns per engine up to `at_ns` (running commands included), commands, bytes."""
        with self._lock:
            busy = [self.busy_ns[e] + (at_ns - self._since[e] if self._active[e] else 0) for e in (COPY, COMPUTE)]
            return {"busy_ns": dict(zip(ENGINE_NAMES, busy)),
                    "commands": dict(zip(ENGINE_NAMES, self.commands)),
                    "copy_bytes": self.bytes}


def _copy_bytes(op: int, fn: int, args: list[int]) -> int:
    if len(args) != 3:
        return 0
    return args[2] if op == C.AIDEV_OP_MEMCPY else args[2] * fn


def execute(card: Any, channel: int, position: int, op: int, fn: int, args: list[int],
            run: Callable[[int, int, list[int]], None], owner: EngineActivity | None = None) -> None:
    """Run one ring command through `run`, counting engine time (the card's, and the
    channel owner's when given) and tracing it when on."""
    engine = _ENGINE_OF.get(op, CONTROL)
    start = _now_ns()                   # recorder.now_ns's clock, without its call
    if engine != CONTROL:
        card.activity.begin(engine, start)
        if owner is not None:
            owner.begin(engine, start)
    failed = True
    try:
        run(op, fn, args)
        failed = False
    finally:
        end = _now_ns()
        if engine != CONTROL:
            nbytes = _copy_bytes(op, fn, args) if engine == COPY and not failed else 0
            card.activity.end(engine, end, nbytes)
            if owner is not None:
                owner.end(engine, end, nbytes)
        if recorder.on:
            name, details = describe(card, op, fn, args)
            if failed:
                details["fault"] = True
            recorder.device_slice(card.index, channel, position, engine, name, start, end, details)


def describe(card: Any, op: int, fn: int, args: list[int]) -> tuple[str, dict[str, Any]]:
    """Slice name and arguments of a command, from its ring words."""
    if op == C.AIDEV_OP_COMPUTE and len(args) >= _DESC_WORDS:
        desc = ffi.new("struct aidev_compute *")
        ffi.memmove(desc, b"".join(w.to_bytes(8, "little") for w in args[:_DESC_WORDS]), _DESC_WORDS * 8)
        kernel = _kernel_name(card, desc.code_addr, desc.code_size, desc.entry)
        return kernel, {"op": "COMPUTE", "kernel": kernel, "grid": list(desc.grid), "block": list(desc.block),
                        "shared": desc.shared_size, "param_bytes": desc.param_size}
    if op == C.AIDEV_OP_MEMCPY and len(args) == 3:
        return "memcpy", {"op": "MEMCPY", "dst": hex(args[0]), "src": hex(args[1]), "bytes": args[2]}
    if op == C.AIDEV_OP_MEMSET and len(args) == 3:
        return "memset", {"op": "MEMSET", "dst": hex(args[0]), "value": args[1], "count": args[2],
                          "bytes": args[2] * fn}
    if op in (C.AIDEV_OP_FENCE, C.AIDEV_OP_ACQUIRE) and len(args) == 2:
        first = "slot" if op == C.AIDEV_OP_FENCE else "address"
        return op_name(op).lower(), {"op": op_name(op), first: args[0] if first == "slot" else hex(args[0]),
                                     "value": args[1]}
    return op_name(op).lower(), {"op": op_name(op), "words": len(args)}


def _kernel_name(card: Any, code_addr: int, code_size: int, entry: int) -> str:
    # The code object is parsed once per content (the engine's cache), so this is a lookup.
    try:
        return str(card.compute.entry_of(code_addr, code_size, entry)[1])
    except Exception:                     # a bad launch faults on its own; the slice still needs a name
        return f"entry {entry}"
