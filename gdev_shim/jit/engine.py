"""Compiling generated IR to native code with llvmlite, off the launch path, in two tiers.

`prepare` compiles a module's kernels when the module is loaded (as a CUDA driver compiles
PTX at module load), so a launch finds them ready; a launch of a kernel not compiled yet
compiles it, and one compiling in another thread is waited for (`compile_kernel`).

Tiers (`GDEV_JIT_TIER`): under `tiered` (the default) a kernel's IR is compiled first by
LLVM's quick code generator, and the same IR is handed to a background thread
(`tiers.py`) that builds the optimised code, stores it in the disk cache and swaps it in
for later launches; `fast` keeps the quick code only, `opt` builds the optimised code at
once.  Object code is cached in memory and, optimised only, on disk, keyed by a hash of
the kernel's PTX syntax tree, the lane count, the code generator version and the host CPU;
a disk hit loads the object file directly, without generating or optimising IR again.
"""
from __future__ import annotations

import contextlib
import ctypes
import gc
import hashlib
import json
import os
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from .. import log
from ..settings import settings
from ..ptx.module import Module
from ..ptx.operands import sm_count
from . import abi, accesslib, retire
from .errors import JitUnsupported
from .retire import Held
from .tiers import Gate, Optimiser

CODEGEN_VERSION = "jit-58-halo2"
WARP = abi.WARP
_log = log.get("gdev.jit")

# an optimisation to queue, and its gate (tiers.py)
Job = tuple[Callable[[], None], Gate]
KernelFn = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64)


@dataclass
class Compiled:
    fn: ctypes._CFuncPtr        # the kernel entry
    width: int
    max_kparam_read: int
    frame_bytes: int            # per warp, for kernels with barriers
    engine: Held                # keeps the machine code alive
    flat: object
    optimised: bool = True      # False: the quick tier
    # the quick tier under `tiered`: the optimised Compiled once built (None if that failed)
    upgrade: Future | None = None
    # ... and when its optimisation may start (its first launch reports to it)
    first_launch: Gate | None = None


class _Slot(Future):
    """A kernel's compilation; `compiled` is its result once set, which a launch reads
    without the future's lock."""
    compiled: Compiled | None = None

    def finish(self, compiled: Compiled) -> None:
        self.set_result(compiled)
        self.compiled = compiled


_lock = threading.Lock()
_llvm_lock = threading.Lock()
_codegen_lock = threading.Lock()
_compiled: dict[str, _Slot] = {}            # kernel key|tier setting -> Future[Compiled]
_llvm = None
_shared_machines: dict[int, object] = {}    # code generator level -> target machine (_machine)
_features: str | None = None
_optimiser = Optimiser()
_optimiser_state: tuple | None = None
_gc_lock = threading.Lock()
_gc_pauses = 0
# Kernels with more basic blocks than this keep registers in their stack slots (_pipeline).
LARGE_KERNEL_LEADERS = 96
# Quick tiers of kernels up to this many instructions take the optimising code generator
# at level 0 for the kernel's code (_build): measured, it costs 15-30 ms more to compile
# than the quick one on such a kernel and runs a 16x16 tiled matmul 40% faster; on an
# unrolled 622-instruction bitonic sort it cost 70 ms more, for a first launch of 15 ms.
QUICK_PLAIN_MAX = 400
# Optimised code of kernels up to this many instructions also gets global value numbering
# (_pipeline): measured on the 16x16 stencil, it runs 5% faster for 130 ms more compile
# (in the background); the 622-instruction bitonic sort took 2 s more, late for its
# launches.
NUMBERING_MAX = 400
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
    One that cannot be compiled is left for its launch to report.  Their optimised tiers
    are queued once every quick tier is built: llvmlite runs one LLVM call at a time, so a
    quick compilation started after them would wait for an optimisation in progress."""
    jobs: list[Job] = []
    for name in kernels:
        try:
            compile_kernel(module, name, WARP, jobs=jobs)
        except JitUnsupported as exc:
            _log.debug("kernel %s is not compiled at load: %s", name, exc.reason)
    for job in jobs:
        _queue(*job)
    accesslib.resume(_after_first_launches)     # after the optimisations: the warm-up's rest


def compile_kernel(module: Module, kernel: str, width: int = WARP,
                   instrument: frozenset[str] = frozenset(),
                   jobs: list[Job] | None = None) -> Compiled:
    """The best native code of `kernel` for `width` lanes so far, with the sanitizer checks
    `instrument` compiled in (JitUnsupported if it cannot be built).

    Waits when another thread is already compiling the same kernel.  Under the tiered
    setting the first answer is the quick tier and later ones the optimised code once the
    background thread has built it (a launch of the quick tier moves to it between chunks
    of blocks, launch.run_blocks).  The job building it is queued at once, or appended to
    `jobs` for the caller to queue."""
    tier = settings.jit_tier
    slot = f"{kernel_key(module, kernel, width, instrument)}|{tier}"
    with _lock:
        fut = _compiled.get(slot)
        mine = fut is None
        if mine:
            fut = _compiled[slot] = _Slot()
    if not mine:
        return fut.compiled or fut.result()
    try:
        compiled, job = _build(module, kernel, width, slot, instrument, tier, fut)
    except BaseException as exc:
        fut.set_exception(exc)
        with _lock:
            _compiled.pop(slot, None)       # a later launch retries (and reports) it
        raise
    fut.finish(compiled)
    if job is not None:
        if jobs is None:
            _queue(*job)
        else:
            jobs.append(job)
    if jobs is None:
        accesslib.resume(_after_first_launches)
    return compiled


def warm_up(build_library: bool) -> None:
    """The compiler's warm-up (card/warmup.py), on its thread: start LLVM (which registers
    no exit handler of its own: measured) and, with `build_library` (the program's exit
    waits for the optimiser's jobs, common/exitguard.py), have the optimiser's thread build
    the quick tier's common access functions (accesslib.COMMON) before a module load asks."""
    _llvm_state()
    if not build_library or settings.jit_tier == "opt":
        return
    for shapes in accesslib.COMMON:
        accesslib.request(set(shapes), _optimiser.submit, _build_library, warm=True)


def _after_first_launches(job: Callable[[], None]) -> None:
    """Queue `job` for the optimiser's thread after the optimisations queued so far, once
    the kernels just compiled have had a first launch (at most tiers.HOLD_S later): the
    warm-up's access functions that their compilation made wait."""
    _optimiser.submit(job, _optimiser.gate())


def _request_library(flat: object) -> None:
    """Have the optimiser's thread build the quick tier's access functions this kernel
    will call (accesslib.py) while this thread generates its IR.  LLVM is started here
    first, on the loading thread: the optimiser's exit guard must be registered after
    LLVM's own exit handlers, and this thread cannot exit meanwhile."""
    from .memops import scalar_shapes
    _llvm_state()
    accesslib.request(scalar_shapes(flat), _optimiser.submit, _build_library)


def _build_library(shapes: list) -> None:
    llvm, context, machine = _optimiser_llvm()
    accesslib.build(shapes, llvm, context, machine, _pipeline, _load)


def wait_for_optimised(timeout: float | None = None) -> bool:
    """Wait until the background thread has built every optimised tier asked for so far."""
    return _optimiser.wait_idle(timeout)


def _cache_paths(key: str) -> tuple[Path, Path]:
    d = Path(settings.cache_dir) / "jit"
    return d / f"{key}.o", d / f"{key}.json"


def _read_cache(key: str) -> tuple[bytes, dict] | None:
    obj_path, meta_path = _cache_paths(key)
    try:
        return obj_path.read_bytes(), json.loads(meta_path.read_text())
    except (OSError, ValueError):
        return None


def _write_cache(paths: tuple[Path, Path], obj: bytes, meta: dict) -> None:
    obj_path, meta_path = paths
    _store(obj_path, obj)
    _store(meta_path, json.dumps(meta).encode())


def _build(module: Module, kernel: str, width: int, slot: str, instrument: frozenset[str],
           tier: str, fut: Future) -> tuple[Compiled, Job | None]:
    """The kernel's code for the `tier` setting: the disk cache's optimised object if it
    has one (unless `fast`), else generated IR compiled by the quick code generator
    (`fast`, `tiered`) or the optimising one (`opt`).  Under `tiered`, also the job that
    builds the optimised code from the same IR and replaces `fut`, the slot's first
    answer, with it."""
    from .layout import flatten
    flat = flatten(module, kernel)
    if len(flat.code) > MAX_INSTRUCTIONS:
        raise JitUnsupported(f"kernels of more than {MAX_INSTRUCTIONS} instructions "
                             f"({kernel} has {len(flat.code)})")
    key = slot.rsplit("|", 1)[0]
    cached = None if tier == "fast" else _read_cache(key)
    if cached is not None:
        return _finish(cached[0], cached[1], flat, kernel, width, "disk cache", optimised=True), None
    optimise = tier == "opt"
    with contextlib.nullcontext() if optimise else accesslib.compiling():
        if not optimise:
            _request_library(flat)
        # a small kernel's quick tier: its own code unoptimised, but selected by the optimising
        # code generator (at level 0: better vector code than the quick code generator's, which
        # a long first launch runs), and its helpers optimised
        plain = not optimise and len(flat.code) <= QUICK_PLAIN_MAX
        with _yielding():                   # the library's build needs the interpreter lock too
            text, meta = _generate_ir(flat, width, key, instrument, compact=not optimise, plain_kernel=plain)
        if meta["library"] and not accesslib.available(set(meta["library"])):  # failed: copies of its own
            text, meta = _generate_ir(flat, width, key, instrument, compact=True, plain_kernel=plain,
                                      library=False)
        llvm = _llvm_state()[0]
        with _codegen_lock:                 # the global context and the shared target machines
            mod = _parse_verified(llvm, text)
            tm = _machine(2 if optimise or plain else 0, shared=True)
            if optimise or plain:
                _pipeline(llvm, tm, mod, meta["ssa"], optimise and len(flat.code) <= NUMBERING_MAX)
            else:
                _quick_pipeline(llvm, tm, mod, meta["ssa"])
            _dump(kernel, key, "opt" if optimise else "quick", text, mod, tm)
            obj = tm.emit_object(mod)       # type: ignore[attr-defined]
            mod.close()                     # type: ignore[attr-defined]  # in the context's lock
    if optimise:
        _write_cache(_cache_paths(key), obj, meta)
        compiled = _finish(obj, meta, flat, kernel, width, "built", optimised=True)
        _optimiser.follow_llvm()
        return compiled, None
    compiled = _finish(obj, meta, flat, kernel, width, "built, quick tier", optimised=False)
    _optimiser.follow_llvm()
    if tier != "tiered":
        return compiled, None
    upgrade = compiled.upgrade = Future()
    gate = compiled.first_launch = _optimiser.gate()
    paths = _cache_paths(key)           # the cache directory in effect now, not when it runs
    return compiled, (lambda: _optimise(slot, fut, upgrade, paths, instrument, flat, kernel, width), gate)


def _queue(job: Callable[[], None], gate: Gate) -> None:
    try:
        _optimiser.submit(job, gate)
    except RuntimeError as exc:             # no new threads while the interpreter shuts down
        _log.debug("optimised tier not queued: %s", exc)


def _optimise(slot: str, fut: Future, upgrade: Future, paths: tuple[Path, Path],
              instrument: frozenset[str], flat: object, kernel: str, width: int) -> None:
    """Background job: the optimised tier of a kernel whose quick tier is being built or
    running, stored in the disk cache and then swapped in for later launches (and handed
    to launches running the quick tier through `upgrade`).  Its IR is generated again,
    with every memory access inline (the quick tier's calls one function per shape)."""
    try:
        with _yielding():
            text, meta = _generate_ir(flat, width, slot.rsplit("|", 1)[0], instrument, compact=False)
        compiled = _build_optimised(paths, text, meta, flat, kernel, width)
    except BaseException:
        upgrade.set_result(None)
        raise
    finally:
        retire.bury(_codegen_lock)      # replaced quick tiers, on this thread, in the exit guard
    upgrade.set_result(compiled)
    done = _Slot()
    done.finish(compiled)
    with _lock:
        if _compiled.get(slot) is fut:  # else failed or forgotten meanwhile (a test reset)
            _compiled[slot] = done


def _build_optimised(paths: tuple[Path, Path], text: str, meta: dict, flat: object, kernel: str,
                     width: int) -> Compiled:
    llvm, ctx, tm = _optimiser_llvm()
    mod = llvm.parse_assembly(text, ctx)
    _pipeline(llvm, tm, mod, meta["ssa"], len(flat.code) <= NUMBERING_MAX)  # type: ignore[attr-defined]
    _dump(kernel, paths[0].stem, "opt", text, mod, tm)
    obj = tm.emit_object(mod)
    _write_cache(paths, obj, meta)
    return _finish(obj, meta, flat, kernel, width, "optimised in the background", optimised=True,
                   context=ctx)


def _dump(kernel: str, key: str, tier: str, text: str, mod: object, tm: object) -> None:
    """GDEV_JIT_DUMP=<dir>: a kernel's generated IR, the IR its tier's passes left and the
    host assembly, as <kernel>.<key>.<tier>.{ir.ll,final.ll,s}, to read what a kernel runs."""
    where = settings.jit_dump
    if not where:
        return
    stem = Path(where) / f"{kernel}.{key[:16]}.{tier}"
    try:
        stem.parent.mkdir(parents=True, exist_ok=True)
        stem.with_name(stem.name + ".ir.ll").write_text(text)
        stem.with_name(stem.name + ".final.ll").write_text(str(mod))
        stem.with_name(stem.name + ".s").write_text(tm.emit_assembly(mod))  # type: ignore[attr-defined]
    except OSError as exc:
        _log.warning("cannot dump kernel %s to %s: %s", kernel, where, exc)


def _generate_ir(flat: object, width: int, key: str, instrument: frozenset[str],
                 compact: bool, plain_kernel: bool = False, library: bool = True) -> tuple[str, dict]:
    """The kernel's LLVM IR as text, and what its launches need to know of it; `compact`:
    the quick tier's (KernelCompiler.compact)."""
    llvm, tm, _cpu = _llvm_state()
    from .codegen import KernelCompiler
    from .irtext import module_text
    with _gc_paused():
        kc = KernelCompiler(flat, width, f"k{key}", instrument=instrument,  # type: ignore[arg-type]
                            compact=compact, plain_kernel=plain_kernel, library=compact and library)
        ir_module = kc.compile()
        ir_module.triple = llvm.get_process_triple()
        ir_module.data_layout = str(tm.target_data)
        text = module_text(ir_module)
    return text, {"max_kparam_read": kc.max_kparam_read, "frame_bytes": kc.frame_bytes,
                  "ssa": len(kc.bbs) <= LARGE_KERNEL_LEADERS, "library": sorted(kc.library_symbols)}


# The interpreter lock's switch interval while the optimiser thread generates IR: a launch
# of the quick tier takes the lock back between its chunks of blocks (launch.run_blocks),
# and at Python's default (5 ms) waited that long at each of them, 80 ms in a launch.
YIELD_INTERVAL_S = 0.0005


_yield_lock = threading.Lock()
_yielders = 0
_yield_before = 0.0


@contextlib.contextmanager
def _yielding() -> Iterator[None]:
    """IR generation hands the interpreter lock over sooner: the optimiser thread's, to
    launches of quick code; a loading thread's, to the optimiser thread building the access
    library (each of its LLVM calls takes the lock back, and at the default interval waited
    up to 5 ms for it: the library, which the loading thread then waits for, came 50 ms
    after the kernel's IR).  Counted, since both may generate IR at once."""
    global _yielders, _yield_before
    with _yield_lock:
        if _yielders == 0:
            _yield_before = sys.getswitchinterval()
            sys.setswitchinterval(min(_yield_before, YIELD_INTERVAL_S))
        _yielders += 1
    try:
        yield
    finally:
        with _yield_lock:
            _yielders -= 1
            if _yielders == 0:
                sys.setswitchinterval(_yield_before)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Python's cycle collector off while IR is built: the IR is a large graph of young
    objects, and the collections it triggers walk every object of the process (measured:
    about half of a large kernel's IR construction and printing).  Counted, since
    several threads may compile at once; whatever cycles the IR left are collected after."""
    global _gc_pauses
    with _gc_lock:
        if _gc_pauses == 0:
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0:
                gc.enable()


def _parse_verified(llvm: object, text: str) -> object:
    try:
        mod = llvm.parse_assembly(text)     # type: ignore[attr-defined]
        mod.verify()
    except RuntimeError as exc:
        raise JitUnsupported(f"generated code does not verify: {exc}") from None
    return mod


def _pipeline(llvm: object, tm: object, mod: object, registers_to_ssa: bool, numbering: bool = False) -> None:
    """The optimised tier: registers to SSA and local clean-up, then the code generator's
    own optimisation (the target machine's level 2).
    The generated code is already specialised (uniform registers, lane masks); measured
    here, LLVM's full -O2 pipeline costs 0.3-10 s per kernel, growing superlinearly with
    the dispatch targets, and made barrier kernels about three times slower.  A kernel
    with very many blocks keeps its registers in their stack slots: in SSA form register
    allocation over it takes seconds, while the slots cost it little (an unrolled
    1024-thread bitonic sort: 3.4 s to compile and 6.5 ms to run, against 7 s and 7 ms
    in SSA form, or 1.5 s and 74 ms with LLVM's quick code generator).  With `numbering`,
    value numbering (NewGVN) then merges what the generated code computes twice (the
    checks and page lookups an access repeats after another through the same address,
    a divergent region's lane masks), and a second clean-up follows."""
    fpm = _function_passes(llvm, registers_to_ssa)
    fpm.add_instruction_combine_pass()
    fpm.add_simplify_cfg_pass()
    fpm.add_dead_code_elimination_pass()
    if numbering:
        fpm.add_new_gvn_pass()                          # type: ignore[attr-defined]
        fpm.add_instruction_combine_pass()
        fpm.add_simplify_cfg_pass()
    _run_function_passes(llvm, tm, mod, fpm)


def _quick_pipeline(llvm: object, tm: object, mod: object, registers_to_ssa: bool) -> None:
    """The quick tier: registers to SSA only, for the level-0 code generator (FastISel).
    Measured on the kernels2 classes, it compiles in a quarter to a third of the time of
    the optimised tier; SSA form costs it nothing more and keeps registers out of memory."""
    _run_function_passes(llvm, tm, mod, _function_passes(llvm, registers_to_ssa))


def _function_passes(llvm: object, registers_to_ssa: bool) -> object:
    fpm = llvm.create_new_function_pass_manager()       # type: ignore[attr-defined]
    if registers_to_ssa:
        fpm.add_sroa_pass()
    return fpm


def _run_function_passes(llvm: object, tm: object, mod: object, fpm: object) -> None:
    pb = llvm.create_pass_builder(tm, llvm.create_pipeline_tuning_options(speed_level=0))  # type: ignore[attr-defined]
    for fn in mod.functions:                            # type: ignore[attr-defined]
        if not fn.is_declaration:
            fpm.run(fn, pb)                             # type: ignore[attr-defined]


def _finish(obj: bytes, meta: dict, flat: object, kernel: str, width: int, source: str,
            optimised: bool, context: object = None) -> Compiled:
    """Load an object file and wrap its entry point."""
    if context is None:
        with _codegen_lock:
            ee = _load(obj)
    else:
        ee = _load(obj, context)
    addr = ee.get_function_address("kernel")    # type: ignore[attr-defined]
    if not addr:
        raise JitUnsupported("no kernel symbol in the compiled object")
    _log.debug("jit compiled %s width %d (%s)", kernel, width, source)
    return Compiled(KernelFn(addr), width, meta["max_kparam_read"], meta["frame_bytes"], Held(ee), flat,
                    optimised)


def _load(obj: bytes, context: object = None) -> object:
    """An execution engine holding the object's code.  Each gets a target machine of its
    own: the engine owns it and frees it when it is disposed (a replaced quick tier)."""
    llvm = _llvm_state()[0]
    ee = llvm.create_mcjit_compiler(llvm.parse_assembly("", context), _machine(2))
    ee.add_object_file(llvm.ObjectFileRef.from_data(obj))
    ee.finalize_object()
    return ee


def _machine(opt: int, shared: bool = False) -> object:
    """A host target machine at code generator level `opt`; `shared`: the one kept for the
    loading threads' code generation (used under _codegen_lock)."""
    llvm, _tm, _cpu = _llvm_state()
    if shared and opt in _shared_machines:
        return _shared_machines[opt]
    target = llvm.Target.from_triple(llvm.get_process_triple())
    tm = target.create_target_machine(cpu=llvm.get_host_cpu_name(), features=_host_features(),
                                      opt=opt, reloc="default", codemodel="jitdefault")
    if shared:
        _shared_machines[opt] = tm
    return tm


def _host_features() -> str:
    global _features
    if _features is None:
        _features = _llvm_state()[0].get_host_cpu_features().flatten()
    return _features


def _optimiser_llvm() -> tuple:
    """(binding module, LLVM context, target machine) of the background thread: its own
    context and machine, so it never shares LLVM state with a loading thread."""
    global _optimiser_state
    if _optimiser_state is None:
        llvm = _llvm_state()[0]
        _optimiser_state = (llvm, llvm.create_context(), _machine(2))
    return _optimiser_state


def _store(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        _log.debug("cannot write JIT cache %s: %s", path, exc)
