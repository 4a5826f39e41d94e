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
(`request`, from a scan of its instructions) and they are built on the optimiser's thread
while it generates its IR, then published to LLVM's symbol table; kernels declare them
and call them by name, and are compiled once they are built (`available`).  Other shapes
keep copies of their own, as does a kernel whose shapes failed to build.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, TimeoutError
from typing import Any

from llvmlite import ir

from . import abi
from .lanes import Lanes

PREFIX = "gdev_quick_"
WIDTH = 32                          # bits of the shapes built here
CODES = (abi.GLOBAL, abi.SHARED_SP, abi.GENERIC)
# A quick compilation whose IR calls shapes still being built waits this long for them
# (`available`): the IR is generated meanwhile, and LLVM runs one call at a time in a
# process, so its compilation would wait for most of the build anyway.
WAIT_S = 5.0

Shape = tuple[bool, int, bool]      # (store, space code, rows)

_lock = threading.Lock()
_builds: dict[str, Future] = {}     # symbol -> the build that makes it (True when published)
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


def request(shapes: set[Shape], submit: Callable[[Callable[[], None]], None],
            builder: Callable[[list[Shape]], None]) -> None:
    """Have `builder` build the shapes not built or asked for yet, as a job handed to
    `submit` (the optimiser's queue)."""
    with _lock:
        missing = sorted(s for s in shapes if s[1] in CODES and _symbol_of(s) not in _builds)
        if not missing:
            return
        fut: Future = Future()
        for s in missing:
            _builds[_symbol_of(s)] = fut

    def job() -> None:
        try:
            builder(missing)
        except BaseException:
            fut.set_result(False)
            raise
        fut.set_result(True)
    try:
        submit(job)
    except RuntimeError:            # no new threads while the interpreter shuts down
        fut.set_result(False)


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
    """Wait for the builds of `symbols` (at most WAIT_S); whether all were published."""
    with _lock:
        futs = {_builds[s] for s in symbols if s in _builds}
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
    module = ir.Module(name="gdev_quick_lib")
    module.triple = llvm.get_process_triple()
    module.data_layout = str(machine.target_data)
    unit = _Unit(module)
    entries = []
    for store, code, rows in shapes:
        fn = quickcall.wrapper(unit, code, store, ir.IntType(WIDTH), rows)
        fn.linkage = "external"
        entries.append(fn.name)
    mod = llvm.parse_assembly(str(module), context)
    pipeline(llvm, machine, mod, True)
    obj = machine.emit_object(mod)
    mod.close()
    engine = load(obj, context)
    _engines.append(engine)
    for name in entries:
        llvm.add_symbol(PREFIX + name, engine.get_function_address(name))
