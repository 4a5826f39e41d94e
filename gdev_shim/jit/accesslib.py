"""The quick tier's common memory accesses, compiled once per process with optimisation.

A quick-tier kernel calls one function per access shape (`memops._access_helper`,
through its wrapper of quickcall.py).
Compiled with the kernel by LLVM's quick code generator those functions run several times
slower than optimised ones, and they are where a quick-tier kernel spends its time
(measured on the 16x16 tiled matmul: 300 ms per launch with them quick, 125 ms with them
optimised, the kernel's own code still quick; 65 ms fully optimised).  They do not depend
on the kernel (everything they read comes through their arguments), so the common shapes,
32-bit loads and stores of global, shared and generic memory, are built here once per
process, with optimisation: a quick compilation asks for the shapes its kernel uses
(`request`, from a scan of its instructions; the compiler's warm-up asks for the COMMON
ones before any load) and they are built on the optimiser's thread while it generates its
IR, then published to LLVM's symbol table; kernels declare them
and call them by name, and are compiled once they are built (`available`).  Other shapes
keep copies of their own, as does a kernel whose shapes failed to build.
"""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, TimeoutError
from typing import Any

from llvmlite import ir

from .. import log
from . import abi
from .lanes import Lanes

_log = log.get("gdev.jit")

PREFIX = "gdev_quick_"
WIDTH = 32                          # bits of the shapes built here
CODES = (abi.GLOBAL, abi.SHARED_SP, abi.GENERIC)
# A quick compilation whose IR calls shapes still being built waits this long for them
# (`available`): the IR is generated meanwhile, and LLVM runs one call at a time in a
# process, so its compilation would wait for most of the build anyway.
WAIT_S = 5.0

Shape = tuple[bool, int, bool]      # (store, space code, rows)
# What the compiler's warm-up builds before any kernel asks (engine.warm_up), one build per
# group, in this order: 32-bit loads and stores of global and shared memory, by warps, then
# by rows (every kernels2 class uses one group or the other).
COMMON: tuple[tuple[Shape, ...], ...] = tuple(
    tuple((store, code, rows) for code in (abi.GLOBAL, abi.SHARED_SP) for store in (False, True))
    for rows in (False, True))

Submit = Callable[[Callable[[], None]], None]
Builder = Callable[[list[Shape]], None]

_lock = threading.Lock()
_builds: dict[str, Future] = {}     # symbol -> the build that makes it (True when published)
# asked for and not being built yet, in the order to build them, with their builds
_queue: list[tuple[Shape, Future]] = []
_wanted: set[Shape] = set()         # those of _queue a compilation asked for
_loading = 0                        # quick compilations in progress (`compiling`)
_runner: tuple[Submit, Builder] | None = None   # where the last request queued its job
_engines: list[object] = []         # hold the machine code for the process's life


def access_helper_name(code: int, store: bool, ity: ir.Type, rows: bool) -> str:
    """The name of memops' access function of a shape."""
    return f"mem_access_{'st' if store else 'ld'}_{code}_{ity.width}{'_rows' if rows else ''}"


def wrapper_name(code: int, store: bool, ity: ir.Type, rows: bool) -> str:
    """The name of the quick tier's call of a shape's access function (quickcall.py)."""
    return "call_" + access_helper_name(code, store, ity, rows)


def _symbol_of(shape: Shape) -> str:
    store, code, rows = shape
    return PREFIX + wrapper_name(code, store, ir.IntType(WIDTH), rows)


class _Unit:
    """What the access emitters use of a KernelCompiler: a module, the lane count and the
    helpers defined in it so far."""

    def __init__(self, module: ir.Module) -> None:
        self.m = module
        self.W = abi.WARP
        self.lanes = Lanes(module, self.W)
        self.helpers: dict[str, ir.Function] = {}


def request(shapes: set[Shape], submit: Submit, builder: Builder, warm: bool = False) -> None:
    """Have `builder` build the shapes not built yet, in jobs handed to `submit` (the
    optimiser's queue): a compilation's at once, ahead of the warm-up's (`warm`), which
    wait once a quick compilation has started (`compiling`, `resume`)."""
    global _runner
    with _lock:
        _runner = (submit, builder)
        mine = sorted(s for s in shapes if s[1] in CODES)
        new = [s for s in mine if _symbol_of(s) not in _builds]
        for s in new:
            _builds[_symbol_of(s)] = Future()
        added = [(s, _builds[_symbol_of(s)]) for s in new]
        if warm:
            _queue.extend(added)
            if not added:
                return
        elif not _urge_locked(set(mine), added):
            return
    _start(submit, builder)


def _urge_locked(shapes: set[Shape], added: list[tuple[Shape, Future]]) -> bool:
    """Put `added` and the queued ones of `shapes` first, as wanted now; whether any is
    waiting to be built."""
    queued = [entry for entry in _queue if entry[0] in shapes]
    for entry in queued:
        _queue.remove(entry)
    _queue[:0] = added + queued
    _wanted.update(s for s, _ in added + queued)
    return bool(added or queued)


def _start(submit: Submit, builder: Builder) -> None:
    try:
        submit(lambda: _run(builder))
    except RuntimeError:            # no new threads while the interpreter shuts down
        for _shape, fut in _take(everything=True):
            fut.set_result(False)


def _take(everything: bool = False) -> list[tuple[Shape, Future]]:
    """The next shapes to build: every one a compilation waits for, else one of the
    warm-up's while no quick compilation is in progress."""
    with _lock:
        batch = [entry for entry in _queue if entry[0] in _wanted or everything]
        if not batch and _queue and _loading == 0:
            batch = _queue[:1]
        for entry in batch:
            _queue.remove(entry)
            _wanted.discard(entry[0])
        return batch


def _run(builder: Builder) -> None:
    """A job: build what `_take` hands out until it hands out nothing."""
    while batch := _take():
        try:
            builder([shape for shape, _fut in batch])
        except Exception as exc:    # those shapes' callers keep copies of their own
            _log.debug("quick tier access functions not built: %s", exc)
            for _shape, fut in batch:
                fut.set_result(False)
            continue
        for _shape, fut in batch:
            fut.set_result(True)


@contextlib.contextmanager
def compiling() -> Iterator[None]:
    """A quick compilation is in progress: the warm-up's shapes not built yet wait, until
    `resume` hands them on: LLVM runs one call at a time in a process, so building shapes
    that a loading kernel does not call would only delay it."""
    global _loading
    with _lock:
        _loading += 1
    try:
        yield
    finally:
        with _lock:
            _loading -= 1


def resume(submit: Submit) -> None:
    """Hand the warm-up's shapes not built yet to `submit` (a queue whose jobs wait for
    the first launches of the kernels just compiled), unless a compilation is in progress."""
    with _lock:
        builder = _runner[1] if _runner is not None and _loading == 0 and _queue else None
    if builder is not None:
        _start(submit, builder)


def symbol(name: str) -> str | None:
    """The library's symbol for a quick tier's call `name` (wrapper_name), if it holds it or
    was asked for it (code calling it is compiled only once `available` says it holds it)."""
    full = PREFIX + name
    with _lock:
        fut = _builds.get(full)
    if fut is None or (fut.done() and not fut.result()):
        return None
    return full


def available(symbols: set[str]) -> bool:
    """Wait for the builds of `symbols` (at most WAIT_S); whether all were published.
    Those still queued (the warm-up's, which IR may call too) are wanted now."""
    with _lock:
        futs = {_builds[s] for s in symbols if s in _builds}
        queued = {shape for shape, fut in _queue if fut in futs}
        runner = _runner if queued and _urge_locked(queued, []) else None
    if runner is not None:
        _start(*runner)
    if len(futs) == 0 and symbols:
        return False
    try:
        return all(f.result(timeout=WAIT_S) for f in futs)
    except TimeoutError:
        return False


def build(shapes: list[Shape], llvm: Any, context: Any, machine: Any, pipeline: Any, load: Any) -> None:
    """Compile `shapes` in `context` with `machine` and `pipeline` (the optimised tier's),
    load them with `load` and publish their entry points."""
    from . import quickcall
    from .irtext import module_text
    module = ir.Module(name="gdev_quick_lib")
    module.triple = llvm.get_process_triple()
    module.data_layout = str(machine.target_data)
    unit = _Unit(module)
    entries = []
    for store, code, rows in shapes:
        fn = quickcall.wrapper(unit, code, store, ir.IntType(WIDTH), rows)
        fn.linkage = "external"
        entries.append(fn.name)
    mod = llvm.parse_assembly(module_text(module), context)
    pipeline(llvm, machine, mod, True)
    obj = machine.emit_object(mod)
    mod.close()
    engine = load(obj, context)
    _engines.append(engine)
    for name in entries:
        llvm.add_symbol(PREFIX + name, engine.get_function_address(name))
