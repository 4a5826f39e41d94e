"""Compiling generated IR to native code with llvmlite, off the launch path.

`prepare` compiles a module's kernels when the module is loaded (as a CUDA driver compiles
PTX at module load), so a launch finds them ready; a launch of a kernel not compiled yet
compiles it, and one compiling in another thread is waited for (`compile_kernel`).  Object
code is cached in memory and on disk, keyed by a hash of the kernel's PTX syntax tree,
the lane count, the code generator version and the host CPU; a disk hit loads the object
file directly, without generating or optimising IR again.
"""
from __future__ import annotations

import ctypes
import hashlib
import json
import os
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from .. import log
from ..settings import settings
from ..ptx.module import Module
from ..ptx.operands import sm_count
from . import abi
from .errors import JitUnsupported

CODEGEN_VERSION = "jit-36"
WARP = abi.WARP
_log = log.get("gdev.jit")

KernelFn = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64)


@dataclass
class Compiled:
    fn: ctypes._CFuncPtr        # the kernel entry
    width: int
    max_kparam_read: int
    frame_bytes: int            # per warp, for kernels with barriers
    engine: object              # keeps the machine code alive
    flat: object


_lock = threading.Lock()
_llvm_lock = threading.Lock()
_codegen_lock = threading.Lock()
_compiled: dict[str, Future] = {}           # kernel key -> Future[Compiled]
_llvm = None
# Kernels with more basic blocks than this keep registers in their stack slots (_pipeline).
LARGE_KERNEL_LEADERS = 96
# Beyond this many instructions generating the IR alone takes longer than interpreting.
MAX_INSTRUCTIONS = 12_000


def _llvm_state() -> tuple:
    """(binding module, target machine, host CPU description), created once."""
    global _llvm
    with _llvm_lock:
        if _llvm is None:
            try:
                import llvmlite.binding as llvm
            except ImportError as exc:
                raise JitUnsupported(f"llvmlite is not installed ({exc})") from None
            llvm.initialize_native_target()
            llvm.initialize_native_asmprinter()
            cpu, features = llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten()
            target = llvm.Target.from_triple(llvm.get_process_triple())
            tm = target.create_target_machine(cpu=cpu, features=features, opt=2,
                                              reloc="default", codemodel="jitdefault")
            _llvm = (llvm, tm, f"{llvm.get_process_triple()}|{cpu}|{features}")
    return _llvm


def kernel_key(module: Module, kernel: str, width: int, instrument: frozenset[str] = frozenset()) -> str:
    """Hash of everything the generated code depends on (cached on the module)."""
    cache = module.__dict__.setdefault("_jit_keys", {})
    key = cache.get((kernel, width, instrument))
    if key is not None:
        return key
    from ..ptx.parser import reachable
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{CODEGEN_VERSION}|{_llvm_state()[2]}|{kernel}|{width}|{sm_count()}|"
             f"{sorted(instrument)}|".encode())
    for fn in reachable(module.functions[kernel], module.functions):
        h.update(repr((fn.name, fn.is_entry, fn.params, fn.rets, sorted(fn.regs.items()),
                       fn.vars, [(getattr(i, "opcode", None), getattr(i, "operands", None),
                                  getattr(i, "guard", None), getattr(i, "name", None))
                                 for i in fn.body])).encode())
    h.update(repr(module.global_layout().offsets).encode())
    h.update(repr([(v.name, v.size, v.align, v.extern) for v in module.shared_vars]).encode())
    key = cache[(kernel, width, instrument)] = h.hexdigest()
    return key


def prepare(module: Module, kernels: list[str]) -> None:
    """Compile `kernels` now (their module is being loaded), so launches find them ready.
    One that cannot be compiled is left for its launch to report."""
    for name in kernels:
        try:
            compile_kernel(module, name, WARP)
        except JitUnsupported as exc:
            _log.debug("kernel %s is not compiled at load: %s", name, exc.reason)


def compile_kernel(module: Module, kernel: str, width: int = WARP,
                   instrument: frozenset[str] = frozenset()) -> Compiled:
    """The native code of `kernel` for `width` lanes, with the sanitizer checks `instrument`
    compiled in (JitUnsupported if it cannot be built).

    Waits when another thread is already compiling the same kernel."""
    key = kernel_key(module, kernel, width, instrument)
    with _lock:
        fut = _compiled.get(key)
        mine = fut is None
        if mine:
            fut = _compiled[key] = Future()
    if not mine:
        return fut.result()
    try:
        compiled = _build(module, kernel, width, key, instrument)
    except BaseException as exc:
        fut.set_exception(exc)
        with _lock:
            _compiled.pop(key, None)       # a later launch retries (and reports) it
        raise
    fut.set_result(compiled)
    return compiled


def _cache_paths(key: str) -> tuple[Path, Path]:
    d = Path(settings.cache_dir) / "jit"
    return d / f"{key}.o", d / f"{key}.json"


def _build(module: Module, kernel: str, width: int, key: str, instrument: frozenset[str]) -> Compiled:
    from .layout import flatten
    flat = flatten(module, kernel)
    if len(flat.code) > MAX_INSTRUCTIONS:
        raise JitUnsupported(f"kernels of more than {MAX_INSTRUCTIONS} instructions "
                             f"({kernel} has {len(flat.code)})")
    obj_path, meta_path = _cache_paths(key)
    try:
        obj, meta = obj_path.read_bytes(), json.loads(meta_path.read_text())
        source = "disk cache"
    except (OSError, ValueError):
        with _codegen_lock:                 # the target machine is shared by every thread
            obj, meta = _generate(flat, width, key, instrument)
        _store(obj_path, obj)
        _store(meta_path, json.dumps(meta).encode())
        source = "built"
    with _codegen_lock:
        ee = _load(obj)
    addr = ee.get_function_address("kernel")
    if not addr:
        raise JitUnsupported("no kernel symbol in the compiled object")
    _log.debug("jit compiled %s width %d (%s)", kernel, width, source)
    return Compiled(KernelFn(addr), width, meta["max_kparam_read"], meta["frame_bytes"], ee, flat)


def _generate(flat: object, width: int, key: str, instrument: frozenset[str]) -> tuple[bytes, dict]:
    """IR for the kernel, optimised and compiled to an object file."""
    llvm, tm, _cpu = _llvm_state()
    from .codegen import KernelCompiler
    kc = KernelCompiler(flat, width, f"k{key}", instrument=instrument)  # type: ignore[arg-type]
    ir_module = kc.compile()
    ir_module.triple = llvm.get_process_triple()
    ir_module.data_layout = str(tm.target_data)
    try:
        mod = llvm.parse_assembly(str(ir_module))
        mod.verify()
    except RuntimeError as exc:
        raise JitUnsupported(f"generated code does not verify: {exc}") from None
    _pipeline(llvm, tm, mod, registers_to_ssa=len(kc.bbs) <= LARGE_KERNEL_LEADERS)
    return tm.emit_object(mod), {"max_kparam_read": kc.max_kparam_read,
                                 "frame_bytes": kc.frame_bytes}


def _pipeline(llvm: object, tm: object, mod: object, registers_to_ssa: bool) -> None:
    """Registers to SSA and local clean-up, then the code generator's own optimisation.
    The generated code is already specialised (uniform registers, lane masks); measured
    here, LLVM's full -O2 pipeline costs 0.3-10 s per kernel, growing superlinearly with
    the dispatch targets, and made barrier kernels about three times slower.  A kernel
    with very many blocks keeps its registers in their stack slots: in SSA form register
    allocation over it takes seconds, while the slots cost it little (an unrolled
    1024-thread bitonic sort: 3.4 s to compile and 6.5 ms to run, against 7 s and 7 ms
    in SSA form, or 1.5 s and 74 ms with LLVM's quick code generator)."""
    pb = llvm.create_pass_builder(tm, llvm.create_pipeline_tuning_options(speed_level=0))
    fpm = llvm.create_new_function_pass_manager()
    if registers_to_ssa:
        fpm.add_sroa_pass()
    fpm.add_instruction_combine_pass()
    fpm.add_simplify_cfg_pass()
    fpm.add_dead_code_elimination_pass()
    for fn in mod.functions:
        if not fn.is_declaration:
            fpm.run(fn, pb)


def _load(obj: bytes) -> object:
    llvm, tm, _cpu = _llvm_state()
    ee = llvm.create_mcjit_compiler(llvm.parse_assembly(""), tm)
    ee.add_object_file(llvm.ObjectFileRef.from_data(obj))
    ee.finalize_object()
    return ee


def _store(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        _log.debug("cannot write JIT cache %s: %s", path, exc)
