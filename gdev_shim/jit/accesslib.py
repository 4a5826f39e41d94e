"""The quick tier's common memory accesses, compiled once per process with optimisation.

A quick-tier kernel calls one function per access shape (`memops._access_helper`).
Compiled with the kernel by LLVM's quick code generator those functions run several times
slower than optimised ones, and they are where a quick-tier kernel spends its time
(measured on the 16x16 tiled matmul: 300 ms per launch with them quick, 125 ms with them
optimised, the kernel's own code still quick; 65 ms fully optimised).  They do not depend
on the kernel (everything they read comes through their arguments), so the common shapes,
32-bit loads and stores of global, shared and generic memory, are built here once, with
optimisation, on the optimiser's thread when the process first compiles a quick tier
(`engine._start_library`; that kernel's IR is generated meanwhile), and published to
LLVM's symbol table; kernels declare them and call them by name (compiled only once the
library is built).  Other shapes keep copies of their own, as do all kernels of a process
whose library failed to build.
"""
from __future__ import annotations

import threading
from typing import Any

from llvmlite import ir

from . import abi
from .lanes import Lanes

PREFIX = "gdev_quick_"
WIDTH = 32                          # bits of the shapes built here
_SHAPES = [(store, code, rows) for store in (False, True)
           for code in (abi.GLOBAL, abi.SHARED_SP, abi.GENERIC)
           for rows in ((False,) if code == abi.GENERIC else (False, True))]


def access_helper_name(code: int, store: bool, ity: ir.Type, rows: bool) -> str:
    """The name of memops' access function of a shape."""
    return f"mem_access_{'st' if store else 'ld'}_{code}_{ity.width}{'_rows' if rows else ''}"


_PLANNED = {PREFIX + access_helper_name(code, store, ir.IntType(WIDTH), rows) for store, code, rows in _SHAPES}

_queued = False                     # the warm-up has asked for the library
_done = threading.Event()           # built, or failed
_names: set[str] = set()
_engine: object = None              # holds the library's machine code for the process's life
# A quick compilation whose IR calls a library still being built waits this long for it
# (`available`): the IR is generated meanwhile, and LLVM runs one call at a time in a
# process, so its compilation would wait for most of the build anyway.
WAIT_S = 5.0


class _Unit:
    """What the access emitters use of a KernelCompiler: a module, the lane count and the
    helpers defined in it so far."""

    def __init__(self, module: ir.Module) -> None:
        self.m = module
        self.W = abi.WARP
        self.lanes = Lanes(module, self.W)
        self.helpers: dict[str, ir.Function] = {}


def queued() -> None:
    """The library will be built (engine._start_library): compilations wait for it."""
    global _queued
    _queued = True


def settle() -> None:
    """Whatever became of the build, compilations stop waiting for it."""
    _done.set()


def is_queued() -> bool:
    return _queued


def symbol(name: str) -> str | None:
    """The library's symbol for an access function `name` of memops, if it holds it or
    will (code calling it is compiled only once `available` says it does)."""
    if not _queued or (_done.is_set() and not _names):
        return None
    full = PREFIX + name
    return full if full in _PLANNED else None


def available() -> bool:
    """Wait for the library (at most WAIT_S); whether it was built."""
    _done.wait(WAIT_S)
    return bool(_names)


def build(llvm: Any, context: Any, machine: Any, pipeline: Any, load: Any) -> None:
    """Compile the library in `context` with `machine` and `pipeline` (the optimised
    tier's), load it with `load` and publish its entry points.  Once per process."""
    if _done.is_set():
        return
    try:
        _build(llvm, context, machine, pipeline, load)
    finally:
        _done.set()


def _build(llvm: Any, context: Any, machine: Any, pipeline: Any, load: Any) -> None:
    global _engine
    from . import memops
    module = ir.Module(name="gdev_quick_lib")
    module.triple = llvm.get_process_triple()
    module.data_layout = str(machine.target_data)
    unit = _Unit(module)
    entries = []
    for store, code, rows in _SHAPES:
        fn = memops._access_helper(unit, code, store, ir.IntType(WIDTH), rows)
        fn.linkage = "external"
        entries.append(fn.name)
    mod = llvm.parse_assembly(str(module), context)
    pipeline(llvm, machine, mod, True)
    obj = machine.emit_object(mod)
    mod.close()
    engine = load(obj, context)
    _engine = engine
    for name in entries:
        llvm.add_symbol(PREFIX + name, engine.get_function_address(name))
        _names.add(PREFIX + name)
