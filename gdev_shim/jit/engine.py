"""Compiling generated IR to native code with llvmlite, cached in memory and on disk.

The disk cache holds object code keyed by a hash of the kernel's PTX syntax tree, the
lane count and the code generator version; MCJIT loads a cached object instead of
running the optimiser and code generator again.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from .. import log, settings as settings_module
from ..ptx.module import Module
from .errors import JitUnsupported

CODEGEN_VERSION = "jit-6"
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
_memory_cache: dict[str, Compiled] = {}
_llvm = None


def _llvm_state() -> tuple:
    """(binding module, target machine), created once."""
    global _llvm
    if _llvm is None:
        try:
            import llvmlite.binding as llvm
        except ImportError as exc:
            raise JitUnsupported(f"llvmlite is not installed ({exc})") from None
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        target = llvm.Target.from_triple(llvm.get_process_triple())
        tm = target.create_target_machine(cpu=llvm.get_host_cpu_name(),
                                          features=llvm.get_host_cpu_features().flatten(),
                                          opt=3, reloc="default", codemodel="jitdefault")
        _llvm = (llvm, tm)
    return _llvm


def kernel_key(module: Module, kernel: str, width: int) -> str:
    """Hash of everything the generated code depends on."""
    from ..ptx.parser import reachable
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{CODEGEN_VERSION}|{kernel}|{width}|".encode())
    for fn in reachable(module.functions[kernel], module.functions):
        h.update(repr((fn.name, fn.is_entry, fn.params, fn.rets, sorted(fn.regs.items()),
                       fn.vars, [(getattr(i, "opcode", None), getattr(i, "operands", None),
                                  getattr(i, "guard", None), getattr(i, "name", None))
                                 for i in fn.body])).encode())
    h.update(repr(module.global_layout().offsets).encode())
    h.update(repr([(v.name, v.size, v.align, v.extern) for v in module.shared_vars]).encode())
    return h.hexdigest()


def _cache_dir() -> Path:
    return Path(settings_module.settings.cache_dir) / "jit"


def compile_kernel(module: Module, kernel: str, width: int) -> Compiled:
    """The native code of `kernel` for `width` lanes (JitUnsupported if it cannot be built)."""
    cache = module.__dict__.setdefault("_jit_keys", {})
    key = cache.get((kernel, width))
    if key is None:
        key = cache[(kernel, width)] = kernel_key(module, kernel, width)
    with _lock:
        hit = _memory_cache.get(key)
    if hit is not None:
        return hit
    llvm, tm = _llvm_state()
    from .codegen import KernelCompiler
    from .layout import flatten
    flat = flatten(module, kernel)
    kc = KernelCompiler(flat, width, f"k{key}")
    ir_module = kc.compile()
    ir_module.triple = llvm.get_process_triple()
    ir_module.data_layout = str(tm.target_data)
    path = _cache_dir() / f"{key}.o"
    cached = None
    try:
        cached = path.read_bytes()
    except OSError:
        pass
    text = str(ir_module)
    try:
        mod = llvm.parse_assembly(text)
        mod.verify()
    except RuntimeError as exc:
        raise JitUnsupported(f"generated code does not verify: {exc}") from None
    mod.name = f"k{key}"
    if cached is None:
        pto = llvm.create_pipeline_tuning_options(speed_level=2)
        pb = llvm.create_pass_builder(tm, pto)
        pb.getModulePassManager().run(mod, pb)
    ee = llvm.create_mcjit_compiler(mod, tm)

    def notify(_mod: object, data: bytes) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        except OSError as exc:
            _log.debug("cannot write JIT cache %s: %s", path, exc)

    def lookup(_mod: object) -> bytes | None:
        return cached

    ee.set_object_cache(notify, lookup)
    ee.finalize_object()
    addr = ee.get_function_address("kernel")
    if not addr:
        raise JitUnsupported("no kernel symbol in the compiled object")
    compiled = Compiled(KernelFn(addr), width, kc.max_kparam_read, kc.frame_bytes, ee, flat)
    _log.debug("jit compiled %s width %d (%s)", kernel, width, "disk cache" if cached else "built")
    with _lock:
        _memory_cache[key] = compiled
    return compiled
