"""The command processor of one channel: a thread that decodes ring words and drives the engines.

It sleeps (a futex on REG_PB_PUT) until the host rings the doorbell (writes
REG_PB_PUT), runs every complete command up to PUT in order, and advances
REG_PB_GET after each.  A failing command faults the channel: status and
faulting opcode go to the registers, one warning is logged, waiters wake and no
later command runs.
"""
from __future__ import annotations

import struct
import threading
from typing import TYPE_CHECKING, Callable, NamedTuple

import numpy as np

from .. import log
from ..common.contract import C, ffi, split_header
from ..trace import device as trace_device, recorder
from . import console as consoles, faults
from .channel import Channel
from .compute import LaunchError
from .errors import CardError
from .memory import MemoryView, memory_fault
from .sched import EngineAbandoned, VirtualGpu
from .swap import Cancelled, SwapClient

if TYPE_CHECKING:
    from .card import Card

_log = log.get("gdev.card")
_COMPUTE_WORDS = ffi.sizeof("struct aidev_compute") // 8
_U32 = 0xFFFF_FFFF
_NO_POSITION = -1
_FENCE_WORDS = 3                         # a FENCE's header, slot and sequence
# ACQUIRE sleeps on the card's progress condition, which every engine completion signals.
# Host stores into host buffers signal nothing, so the sleep is bounded to notice those too.
ACQUIRE_RECHECK_S = 0.01
# Commands that reach VRAM: their client's buffers are brought in first (swap.py), and how
# the channel faults when they cannot be.
_VRAM_FAULTS = {C.AIDEV_OP_MEMCPY: C.AIDEV_STATUS_DMA_FAULT, C.AIDEV_OP_MEMSET: C.AIDEV_STATUS_DMA_FAULT,
                C.AIDEV_OP_COMPUTE: C.AIDEV_STATUS_COMPUTE_FAULT,
                C.AIDEV_OP_PREPARE: C.AIDEV_STATUS_COMPUTE_FAULT}


class _Launch(NamedTuple):
    """The fields of a COMPUTE's struct aidev_compute the card uses."""
    code_addr: int
    code_size: int
    entry: int
    param_size: int
    grid: tuple[int, int, int]
    block: tuple[int, int, int]
    shared_size: int
    globals_addr: int
    grid_sync: int


class CommandFault(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _bad(message: str) -> CommandFault:
    return CommandFault(C.AIDEV_STATUS_BAD_COMMAND, message)


def describe_memory_fault(exc: BaseException) -> str:
    address = getattr(exc, "address", None)
    where = f"{address:#x}" if isinstance(address, int) else "?"
    return f"address {where}: {getattr(exc, 'reason', exc)}"


def describe_kernel_fault(exc: BaseException) -> str:
    """One line naming kernel, block, thread, instruction, address and reason (as far as known)."""
    if not hasattr(exc, "kernel"):
        return f"{type(exc).__name__}: {exc}"
    address = getattr(exc, "address", None)
    where = f"{address:#x}" if isinstance(address, int) else "-"
    return (f"kernel {getattr(exc, 'kernel', '?')} block {getattr(exc, 'block', '?')} "
            f"thread {getattr(exc, 'thread', '?')} instruction {getattr(exc, 'instruction', '?')} "
            f"address {where}: {getattr(exc, 'reason', exc)}")


def _ring_words(ring: np.ndarray, position: int, n: int) -> list[int]:
    """The n words from ring position `position` on, across the ring's end if need be."""
    size = len(ring)
    start = position % size
    if start + n <= size:
        return list(ring[start:start + n].tolist())
    return list(ring[start:].tolist()) + list(ring[:start + n - size].tolist())


class CommandProcessor:
    def __init__(self, card: Card, channel: Channel, console: consoles.Console = consoles.LOCAL,
                 owner: trace_device.EngineActivity | None = None, client: SwapClient | None = None,
                 vgpu: VirtualGpu | None = None, space: MemoryView | None = None) -> None:
        self.card = card
        # what the channel's copies and kernels reach: its client's address space (space.py)
        self.memory = space if space is not None else card.memory
        self.vgpu = vgpu                     # whom the engines' schedulers serve this channel as
        self.channel = channel
        self.console = console
        self.owner = owner
        self.client = client
        self.thread = threading.Thread(target=self._run, daemon=True,
                                       name=f"aicard{card.index}-ch{channel.id}")
        self._next = _NO_POSITION             # ring position of the command after the current one
        self._fenced = False                  # the FENCE at _next was written ahead (_fence_ahead)
        # the last COMPUTE descriptor decoded, and its parameter words' packing
        self._desc: tuple[tuple[int, ...], _Launch, struct.Struct] | None = None

    def start(self) -> None:
        self.thread.start()

    def join(self) -> None:
        if self.thread is not threading.current_thread():
            self.thread.join()

    # ---- the loop ----
    def _run(self) -> None:
        consoles.attach(self.console)       # printf and fault reports go to the channel's client
        ch = self.channel
        need = 1                     # words that must be published before the next step
        while True:
            if not ch.wait_published(need):
                return
            get = int(ch.regs[C.AIDEV_REG_PB_GET])
            pending = ch.pending()
            op = -1
            try:
                if pending > ch.pb_words:
                    raise _bad(f"PB_PUT is {pending} words ahead of PB_GET; the ring holds {ch.pb_words}")
                header = int(ch.pb[get % ch.pb_words])
                op, fn, sid, n = split_header(header)
                if pending < 1 + n:
                    need = 1 + n     # the host has published only part of this command
                    continue
                need = 1
                if header >> 56:
                    raise _bad(f"header word {header:#x} sets reserved bits")
                words = _ring_words(ch.pb, get + 1, n)
                self._next = (get + 1 + n) & _U32
                self._fenced = False
                resident = self._bring_in(op)
                try:
                    # through the activity/trace hook: engine busy time for gdev-smi, slices for GDEV_TRACE
                    trace_device.execute(self.card, ch.id, get, op, fn, words, self._execute, self.owner)
                finally:
                    if resident:
                        self.card.buffers.residency.release(resident)
            except Cancelled:
                return                     # the channel is being freed; its queued commands are dropped
            except CommandFault as fault:
                self._fault(fault.status, op, str(fault))
                continue
            except Exception as exc:       # an engine bug must fault the channel, not kill the thread
                self._fault(C.AIDEV_STATUS_BAD_COMMAND, op, f"internal error: {type(exc).__name__}: {exc}")
                continue
            # the FENCE after a kernel, written as the kernel ended (_fence_ahead), is consumed with it
            ch.consumed(get + 1 + n + (_FENCE_WORDS if self._fenced else 0))

    def _bring_in(self, op: int) -> SwapClient | None:
        """Make the client's VRAM buffers resident for a command that reaches VRAM (the
        client to release after it), waiting for room while other clients run."""
        if self.client is None or op not in _VRAM_FAULTS:
            return None
        try:
            self.card.buffers.residency.acquire(self.client, self._stopped)
        except CardError as exc:
            raise CommandFault(_VRAM_FAULTS[op], f"out of VRAM: {exc}") from exc
        return self.client

    def _fault(self, status: int, op: int, message: str) -> None:
        ch = self.channel
        _log.warning("aicard%d channel %d: %s (op %s): %s", self.card.index, ch.id,
                     {C.AIDEV_STATUS_DMA_FAULT: "DMA fault", C.AIDEV_STATUS_COMPUTE_FAULT: "compute fault",
                      C.AIDEV_STATUS_BAD_COMMAND: "bad command"}.get(status, "fault"),
                     op if op >= 0 else "-", message)
        ch.set_fault(status, op if op >= 0 else 0, message)
        self.card.notify_progress()

    def _inject(self, engine: str, op: int, status: int) -> None:
        reason = self.card.faults.check(engine, self.card.index, self.channel.id, op)
        if reason == faults.HANG:
            # an engine that never finishes: nothing more runs on this channel until it is freed
            with self.channel.cond:
                while not self.channel.stopped:
                    self.channel.cond.wait()
            raise CommandFault(status, "injected: hung command abandoned when the channel was freed")
        if reason is not None:
            raise CommandFault(status, f"injected: {reason}")

    # ---- the commands ----
    def _execute(self, op: int, fn: int, args: list[int]) -> None:
        handler = _HANDLERS.get(op)
        if handler is None:
            raise _bad(f"unknown opcode {op}")
        if self.card.faults.faults:          # injected faults (GDEV_SIM_FAULT) only
            self._inject("cp", op, C.AIDEV_STATUS_BAD_COMMAND)
        handler(self, fn, args)

    @staticmethod
    def _argc(args: list[int], count: int, name: str) -> None:
        if len(args) != count:
            raise _bad(f"{name} takes {count} argument words, got {len(args)}")

    def _nop(self, fn: int, args: list[int]) -> None:
        pass

    def _dma(self, op: int, work: Callable[[], None]) -> None:
        if self.card.faults.faults:          # injected faults (GDEV_SIM_FAULT) only
            self._inject("dma", op, C.AIDEV_STATUS_DMA_FAULT)
        self.channel.begin()
        try:
            work()
        except EngineAbandoned:              # the channel stopped while the copy waited for the engine
            return
        except memory_fault() as exc:        # evaluated only when something was raised
            raise CommandFault(C.AIDEV_STATUS_DMA_FAULT, describe_memory_fault(exc)) from exc
        finally:
            self.channel.end()
        self.card.notify_progress()

    def _memcpy(self, fn: int, args: list[int]) -> None:
        self._argc(args, 3, "MEMCPY")
        dst, src, n = args
        self._dma(C.AIDEV_OP_MEMCPY, lambda: self.card.dma.copy(dst, src, n, self.vgpu, self._stopped,
                                                                        self.memory))

    def _memset(self, fn: int, args: list[int]) -> None:
        self._argc(args, 3, "MEMSET")
        if fn not in (1, 2, 4):
            raise _bad(f"MEMSET element size {fn}")
        dst, value, count = args
        self._dma(C.AIDEV_OP_MEMSET, lambda: self.card.dma.fill(dst, value, fn, count, self.vgpu,
                                                                        self._stopped, self.memory))

    def _compute(self, fn: int, args: list[int]) -> None:
        if len(args) < _COMPUTE_WORDS:
            raise _bad(f"COMPUTE needs {_COMPUTE_WORDS} descriptor words, got {len(args)}")
        desc, words = self._descriptor(args)
        if len(args) != _COMPUTE_WORDS + words.size // 8:
            raise _bad(f"COMPUTE with {desc.param_size} parameter bytes must have "
                       f"{_COMPUTE_WORDS + words.size // 8} argument words, got {len(args)}")
        params = words.pack(*args[_COMPUTE_WORDS:])[:desc.param_size]
        if self.card.faults.faults:          # injected faults (GDEV_SIM_FAULT) only
            self._inject("compute", C.AIDEV_OP_COMPUTE, C.AIDEV_STATUS_COMPUTE_FAULT)
        self.channel.begin()
        try:
            self.card.compute.launch(desc.code_addr, desc.code_size, desc.entry, desc.grid, desc.block,
                                     params, desc.shared_size, desc.globals_addr, desc.grid_sync, self.vgpu,
                                     self._stopped, self.memory, self._fence_ahead)
        except EngineAbandoned:              # the channel stopped while the kernel waited for the engine
            return
        except (LaunchError, memory_fault()) as exc:
            raise CommandFault(C.AIDEV_STATUS_COMPUTE_FAULT, f"launch failed: {exc}") from exc
        except Exception as exc:         # KernelFault, or a fault the engine did not wrap
            raise CommandFault(C.AIDEV_STATUS_COMPUTE_FAULT, describe_kernel_fault(exc)) from exc
        finally:
            self.channel.end()
        if not self._fenced:                 # the fence written ahead told the waiters already
            self.card.notify_progress()

    def _descriptor(self, args: list[int]) -> tuple[_Launch, struct.Struct]:
        """The launch descriptor of a COMPUTE's words and the packing of its parameter
        words; a channel relaunching one kernel sends the same words again, so the last
        one decoded is kept."""
        key = tuple(args[:_COMPUTE_WORDS])
        last = self._desc
        if last is not None and last[0] == key:
            return last[1], last[2]
        raw = ffi.new("struct aidev_compute *")
        ffi.memmove(raw, struct.pack(f"<{_COMPUTE_WORDS}Q", *key), _COMPUTE_WORDS * 8)
        desc = _Launch(raw.code_addr, raw.code_size, raw.entry, raw.param_size, tuple(raw.grid),
                       tuple(raw.block), raw.shared_size, raw.globals_addr, raw.grid_sync)
        words = struct.Struct(f"<{-(-desc.param_size // 8)}Q")
        self._desc = (key, desc, words)
        return desc, words

    def _fence_ahead(self) -> None:
        """A kernel just ended: when the command after it is a FENCE already published,
        write that fence now, before the engine's and the ring's bookkeeping, so a host
        waiting for the kernel wakes while this thread finishes that (on another CPU).
        Every command before the fence has completed, so the order the host sees is the
        ring's; the loop then consumes the fence with the kernel.  Not while faults are
        injected or commands traced, which count and record each fence."""
        ch = self.channel
        at = self._next
        if at == _NO_POSITION or recorder.on or self.card.faults.faults:
            return
        if (int(ch.regs[C.AIDEV_REG_PB_PUT]) - at) & _U32 < _FENCE_WORDS:
            return
        size = ch.pb_words
        header = int(ch.pb[at % size])
        op, _, _, n = split_header(header)
        if header >> 56 or op != C.AIDEV_OP_FENCE or n != 2:
            return
        slot, seq = int(ch.pb[(at + 1) % size]), int(ch.pb[(at + 2) % size])
        if slot >= C.AIDEV_FENCE_SLOTS:
            return                            # the loop faults the channel on it
        ch.signal_fence(slot, seq)
        self._fenced = True
        self.card.notify_progress()

    def _stopped(self) -> bool:
        return self.channel.stopped

    def _slot(self, slot: int, name: str) -> int:
        if slot >= C.AIDEV_FENCE_SLOTS:
            raise _bad(f"{name} slot {slot} out of range")
        return slot

    def _fence(self, fn: int, args: list[int]) -> None:
        self._argc(args, 2, "FENCE")
        if self.card.faults.check("fence", self.card.index, self.channel.id, C.AIDEV_OP_FENCE) == faults.LOST:
            return
        self.channel.signal_fence(self._slot(args[0], "FENCE"), args[1])
        self.card.notify_progress()

    def _acquire(self, fn: int, args: list[int]) -> None:
        self._argc(args, 2, "ACQUIRE")
        addr, value = args
        where = np.array([addr], dtype=np.uint64)
        progress = self.card.progress
        buffers = self.card.buffers
        # a word in VRAM is read with the client's buffers resident, one read at a time, so
        # the wait holds no VRAM from clients that must run to release it; it must be the
        # client's own (a host word elsewhere is another channel's fence page, the card's)
        in_vram = buffers.vram_base <= addr < buffers.vram_base + buffers.address_span
        memory = self.memory if in_vram else self.card.memory
        with progress:
            self.card.progress_waiters += 1      # before the first look (Card.notify_progress)
        try:
            if not in_vram:
                with progress:
                    while int(memory.load(where, np.uint64)[0]) < value:
                        if self.channel.stopped:
                            return
                        progress.wait(ACQUIRE_RECHECK_S)
                return
            while True:
                with buffers.residency.hold(self.client, lambda: self.channel.stopped):
                    reached = int(memory.load(where, np.uint64)[0]) >= value
                if reached or self.channel.stopped:
                    return
                with progress:
                    progress.wait(ACQUIRE_RECHECK_S)
        except memory_fault() as exc:        # evaluated only when something was raised
            raise CommandFault(C.AIDEV_STATUS_DMA_FAULT, f"ACQUIRE {describe_memory_fault(exc)}") from exc
        except CardError as exc:
            raise CommandFault(C.AIDEV_STATUS_DMA_FAULT, f"ACQUIRE out of VRAM: {exc}") from exc
        finally:
            with progress:
                self.card.progress_waiters -= 1

    def _membar(self, fn: int, args: list[int]) -> None:
        # Commands run to completion in order today, so nothing is outstanding here;
        # the drain keeps MEMBAR correct should an engine ever work asynchronously.
        self.channel.drain()

    def _prepare(self, fn: int, args: list[int]) -> None:
        self._argc(args, 2, "PREPARE")
        self.card.compute.prepare(args[0], args[1], self.memory)

    def _notify(self, fn: int, args: list[int]) -> None:
        self._argc(args, 1, "NOTIFY")
        self._slot(args[0], "NOTIFY")
        self.channel.notify()


# The commands' handlers, by opcode: one table for every processor (bound methods kept per
# processor would tie it in a reference cycle, and its channel's mappings, which hold
# descriptors, would outlive the channel until the garbage collector ran).
_HANDLERS: dict[int, Callable[[CommandProcessor, int, list[int]], None]] = {
    C.AIDEV_OP_NOP: CommandProcessor._nop, C.AIDEV_OP_MEMCPY: CommandProcessor._memcpy,
    C.AIDEV_OP_MEMSET: CommandProcessor._memset, C.AIDEV_OP_COMPUTE: CommandProcessor._compute,
    C.AIDEV_OP_FENCE: CommandProcessor._fence, C.AIDEV_OP_ACQUIRE: CommandProcessor._acquire,
    C.AIDEV_OP_MEMBAR: CommandProcessor._membar, C.AIDEV_OP_NOTIFY: CommandProcessor._notify,
    C.AIDEV_OP_PREPARE: CommandProcessor._prepare}
