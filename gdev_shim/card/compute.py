"""The card's compute engine: loads a code object from device memory and runs a kernel."""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Callable

from .. import log
from ..settings import settings
from ..common.image import Image, ImageError, parsed_image
from . import console, warmup
from .memory import CardMemory, MemoryView
from .sched import EngineArbiter, VirtualGpu


_log = log.get("gdev.card")


class LaunchError(Exception):
    """The launch itself is invalid (bad code object, entry, shape or parameters)."""


@dataclass(frozen=True)
class ComputeLimits:
    max_threads_per_block: int
    max_block_dim: tuple[int, int, int]
    max_grid_dim: tuple[int, int, int]
    shared_mem_per_block: int


class ImageCache:
    """Parsed code objects by content hash, so relaunching a kernel does not reparse its PTX."""

    def __init__(self, capacity: int = 64) -> None:
        self.capacity = capacity
        self._images: OrderedDict[bytes, Image] = OrderedDict()
        self._last: dict[int, tuple[bytes, Image]] = {}      # code address -> its last code, image
        self._lock = threading.Lock()

    def at(self, code_addr: int, code: bytes) -> Image:
        """get(code), for code read at `code_addr`: a relaunch from the same place compares
        the bytes with the last ones seen there rather than hashing them again."""
        last = self._last.get(code_addr)
        if last is not None and last[0] == code:
            return last[1]
        image = self.get(code)
        with self._lock:
            self._last[code_addr] = (code, image)
            while len(self._last) > self.capacity:
                del self._last[next(iter(self._last))]
        return image

    def get(self, code: bytes) -> Image:
        warmup.wait()                       # before this thread imports the PTX front end
        key = hashlib.blake2b(code, digest_size=16).digest()
        with self._lock:
            image = self._images.get(key)
            if image is not None:
                self._images.move_to_end(key)
                return image
        image = parsed_image(code)           # the PTX too, now, outside any engine lock holder's way
        with self._lock:
            self._images[key] = image
            while len(self._images) > self.capacity:
                self._images.popitem(last=False)
        return image


# Shared by every card of the process: a code object parses the same on all of them.
IMAGES = ImageCache()


class _Engines:
    """The kernel engines' entry points, imported by the first launch (an import statement
    costs a launch a microsecond every time)."""
    interpreter: Any = None
    jit: Any = None

    def load_interpreter(self) -> Any:
        from ..ptx import execute
        self.interpreter = execute
        return execute

    def load_jit(self) -> Any:
        from ..jit import JitUnsupported, execute
        self.jit = (JitUnsupported, execute)
        return self.jit


_engines = _Engines()


def run_kernel(module: Any, name: str, memory: MemoryView, grid: tuple[int, int, int],
               block: tuple[int, int, int], params: bytes, dynamic_shared: int, globals_addr: int,
               printf: Callable[[Any], None], checks: Any = None, grid_sync: int = 0) -> None:
    """The kernel engine; one seam so the engine choice stays here.

    GDEV_ENGINE: `interp` (the PTX interpreter), `jit` (native code only: a kernel it
    cannot compile fails its launch, naming what it could not compile), `auto` (default:
    the JIT, falling back to the interpreter for such a kernel with one warning).  The
    sanitizer (`checks`) runs on either: the JIT bounds buffers by their requested size for
    memcheck and compiles initcheck and racecheck into the kernel.  A cooperative launch's
    grid-wide barriers (`grid_sync`, read through %envreg1/2) need every block resident at
    once: the interpreter runs the grid as one lockstep batch, the JIT each block on a
    thread of its own.
    """
    execute = _engines.interpreter or _engines.load_interpreter()
    engine = settings.engine
    if engine == "interp":
        execute(module, name, memory, grid, block, params, dynamic_shared, globals_addr,
                printf=printf, checks=checks, grid_sync=grid_sync)
        return
    if engine in ("jit", "auto"):
        JitUnsupported, jit_execute = _engines.jit or _engines.load_jit()
        try:
            jit_execute(module, name, memory, grid, block, params, dynamic_shared, globals_addr,
                        printf=printf, checks=checks, grid_sync=grid_sync)
            return
        except JitUnsupported as exc:
            if engine == "jit":
                raise LaunchError(f"GDEV_ENGINE=jit cannot compile kernel {name}: {exc.reason}") from None
            _warn_fallback(name, exc.reason)
    execute(module, name, memory, grid, block, params, dynamic_shared, globals_addr, printf=printf,
            checks=checks, grid_sync=grid_sync)


_warned: set[tuple[str, str]] = set()


def _warn_fallback(kernel: str, reason: str) -> None:
    """One warning per kernel and reason; the debug line every time (tools read it)."""
    if (kernel, reason) not in _warned:
        _warned.add((kernel, reason))
        _log.warning("kernel %s runs on the interpreter: the JIT does not compile %s", kernel, reason)
    _log.debug("kernel %s runs on the interpreter: %s", kernel, reason)


def _native_engine() -> bool:
    return settings.engine in ("jit", "auto")


def _write_stdout(chunks: list[Any]) -> None:
    """Device printf output, to the stdout of the program that launched the kernel."""
    data = b"".join(c if isinstance(c, (bytes, bytearray)) else str(c).encode() for c in chunks)
    if data:
        console.write_all(console.current().out_fd, data)


def _never() -> bool:
    return False


def _nothing() -> None:
    pass


class ComputeEngine:
    """One per card; the compute engine's scheduler (or, without one, a lock) serialises
    kernels but not the DMA engine."""

    def __init__(self, memory: CardMemory, limits: ComputeLimits, images: ImageCache | None = None,
                 arbiter: EngineArbiter | None = None) -> None:
        self.memory = memory
        self.limits = limits
        self.images = images if images is not None else IMAGES
        self.arbiter = arbiter
        self.lock = threading.Lock()
        self.sanitizer = None        # a CardSanitizer under GDEV_MEMCHECK
        self._checked: tuple[Any, ...] | None = None     # the last launch shape check_shape passed
        if _native_engine():
            warmup.start()

    def prepare(self, code_addr: int, code_size: int, memory: MemoryView | None = None) -> None:
        """AIDEV_OP_PREPARE: parse the code object and compile its kernels now, so that
        their launches start at once.  A bad object is reported by its launch, not here."""
        try:
            image = self.images.get((memory or self.memory).read(code_addr, code_size))
        except Exception as exc:
            _log.debug("PREPARE of %#x+%d skipped: %s", code_addr, code_size, exc)
            return
        if self.sanitizer is None and _native_engine():
            from ..jit.engine import prepare
            prepare(image.module, [k.name for k in image.kernels])

    def entry_of(self, code_addr: int, code_size: int, entry: int,
                 memory: MemoryView | None = None) -> tuple[Image, str]:
        """The code object and kernel name a launch names (LaunchError if either is bad)."""
        code = (memory or self.memory).read(code_addr, code_size)
        try:
            image = self.images.at(code_addr, code)
        except ImageError as exc:
            raise LaunchError(f"bad code object at {code_addr:#x}: {exc}") from exc
        if entry >= len(image.kernels):
            raise LaunchError(f"entry {entry} out of range (code object has {len(image.kernels)} kernels)")
        return image, image.kernels[entry].name

    def check_shape(self, image: Image, entry: int, grid: tuple[int, int, int],
                    block: tuple[int, int, int], shared: int, param_size: int) -> None:
        kernel = image.kernels[entry]
        lim = self.limits
        threads = block[0] * block[1] * block[2]
        if min(grid) < 1 or min(block) < 1:
            raise LaunchError(f"empty launch shape grid {grid} block {block}")
        if any(b > m for b, m in zip(block, lim.max_block_dim)) or threads > lim.max_threads_per_block:
            raise LaunchError(f"block {block} exceeds the card's limits")
        if kernel.max_threads and threads > kernel.max_threads:
            raise LaunchError(f"block of {threads} threads exceeds {kernel.name}'s .maxntid {kernel.max_threads}")
        if any(g > m for g, m in zip(grid, lim.max_grid_dim)):
            raise LaunchError(f"grid {grid} exceeds the card's limits")
        if shared + kernel.shared_size > lim.shared_mem_per_block:
            raise LaunchError(f"{shared}+{kernel.shared_size} bytes of shared memory exceed "
                              f"{lim.shared_mem_per_block}")
        if param_size < kernel.param_size:
            raise LaunchError(f"{param_size} parameter bytes given, {kernel.name} takes {kernel.param_size}")

    def launch(self, code_addr: int, code_size: int, entry: int, grid: tuple[int, int, int],
               block: tuple[int, int, int], params: bytes, shared: int, globals_addr: int,
               grid_sync: int = 0, vgpu: VirtualGpu | None = None,
               abandoned: Callable[[], bool] = _never, memory: MemoryView | None = None,
               done: Callable[[], None] = _nothing) -> None:
        """Run a kernel once the scheduler gives `vgpu` the engine (EngineAbandoned if
        `abandoned()` turns true first); a kernel runs to its end, never preempted.  It
        reaches `memory`: its client's address space (the card's whole memory by default).
        `done` is called when it has ended well, its printf output written, while the
        engine is still held."""
        memory = memory or self.memory
        image, name = self.entry_of(code_addr, code_size, entry, memory)
        # relaunches of one shape are checked once (the image is the code's, so new code checks again)
        shape = (image, entry, grid, block, shared, len(params))
        checked = self._checked
        if checked is None or checked[0] is not image or checked[1:] != shape[1:]:
            self.check_shape(image, entry, grid, block, shared, len(params))
            self._checked = shape
        printed: list[Any] = []
        engine: AbstractContextManager[Any] = (self.lock if self.arbiter is None or vgpu is None
                                               else self.arbiter.use(vgpu, abandoned))
        with engine:
            checks = self.sanitizer.kernel(name, memory) if self.sanitizer is not None else None
            try:
                run_kernel(image.module, name, memory, grid, block,
                           params[:image.kernels[entry].param_size], shared, globals_addr, printed.append,
                           checks, grid_sync)
            finally:
                if checks is not None:
                    checks.finish()
                # device printf output appears when the kernel ends, as on real hardware
                if printed:
                    _write_stdout(printed)
            done()
