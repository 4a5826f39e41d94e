"""One simulated aicard: its memory, engines, channels and device information."""
from __future__ import annotations

import errno
import threading
from typing import Any

from ..common.contract import C
from ..common.findings import tools as sanitizer_tools
from ..settings import settings
from ..trace.device import EngineActivity
from .buffers import BufferManager, BufferObject
from .channel import FENCE_BYTES, Channel
from .compute import ComputeEngine, ComputeLimits
from .console import LOCAL, Console
from .dma import DmaEngine
from .errors import CardError
from .faults import FaultHooks
from .memory import CardMemory
from .processor import CommandProcessor
from .sanitizer import CardSanitizer
from .sched import CardScheduler, VirtualGpu, make_policy
from .shm import Segments
from .space import AddressSpace, AddressSpaces
from .swap import SwapClient

# Device address map: each card owns a 2**48-byte slice, so an address names its card, and
# the slices sit above the 47-bit canonical range, so a host dereference of one faults.
DEVICE_SPACE_BASE = 0x0010_0000_0000_0000
CARD_SPACE = 0x0001_0000_0000_0000
GART_OFFSET = 0x0000_8000_0000_0000      # host buffers, within the card's slice
GART_SIZE = CARD_SPACE - GART_OFFSET

MAX_CHANNELS = 64
# mmap offsets of a channel's pages (host buffers use buffers.HOST_MAP_BASE and up)
CHANNEL_MAP_BASE = 1 << 32
CHANNEL_MAP_STRIDE = 1 << 24
PB_MAP, REGS_MAP, FENCE_MAP = 0, 1 << 20, 2 << 20

CHIP_ID = 0xA1C0
NAME = b"aicard-sim"
LIMITS = ComputeLimits(max_threads_per_block=1024, max_block_dim=(1024, 1024, 64),
                       max_grid_dim=(0x7FFF_FFFF, 65535, 65535), shared_mem_per_block=48 << 10)


def vram_base(index: int) -> int:
    return DEVICE_SPACE_BASE + index * CARD_SPACE


class Card:
    def __init__(self, index: int, vram_size: int | None = None, spe_arrays: int | None = None,
                 spes_per_array: int | None = None, sched: str | None = None) -> None:
        if not 0 <= index < C.AIDEV_MAX_CARDS:
            raise ValueError(f"card index {index} outside 0..{C.AIDEV_MAX_CARDS - 1}")
        self.index = index
        self.vram_base = vram_base(index)
        self.vram_size = vram_size if vram_size is not None else settings.sim_vram
        if not 0 < self.vram_size <= GART_OFFSET:
            raise ValueError(f"VRAM size {self.vram_size} out of range")
        self.gart_base = self.vram_base + GART_OFFSET
        self.spe_arrays = spe_arrays if spe_arrays is not None else settings.sim_spe_arrays
        self.spes_per_array = spes_per_array if spes_per_array is not None else settings.sim_spes_per_array
        self.memory = CardMemory()
        self.buffers = BufferManager(self.memory, self.vram_base, self.vram_size, self.gart_base, GART_SIZE)
        self.memory.preferred_span = (self.vram_base, self.buffers.address_span)
        self.spaces = AddressSpaces(self.memory)   # what each client's commands reach (space.py)
        # Gdev's virtual-GPU scheduler (GDEV_SCHED): each open is a virtual GPU; the compute
        # and copy engines are shared among them by the policy, each engine on its own
        self.sched = CardScheduler(sched if sched is not None else settings.sched, make_policy)
        self.dma = DmaEngine(self.memory, self.sched.copy)
        self.compute = ComputeEngine(self.memory, LIMITS, arbiter=self.sched.compute)
        tools = sanitizer_tools()
        if tools:
            # ComputeEngine declares the attribute as None, its value without GDEV_MEMCHECK
            self.compute.sanitizer = CardSanitizer(  # type: ignore[assignment]
                index, self.memory, self.vram_base, self.buffers.address_span, CARD_SPACE, tools)
        self.faults = FaultHooks(index)
        self.buffers.vram_limit = self.faults.vram_limit
        self.activity = EngineActivity()         # engine busy time, read by gdev-smi
        self.progress = threading.Condition()   # signalled whenever an engine finishes work
        self.progress_waiters = 0               # threads that wait on it (ACQUIREs), counted under it
        self._lock = threading.Lock()
        self._channels: dict[int, tuple[Channel, CommandProcessor]] = {}
        self.segments = Segments(self)           # shared segments (gshm*, gref), card-wide

    def notify_progress(self) -> None:
        # A waiter counts itself, under the condition, before it first looks at what it
        # waits for: a count of 0 read after the change means nobody could have missed it.
        if self.progress_waiters:
            with self.progress:
                self.progress.notify_all()

    # ---- device information ----
    def fill_info(self, info: Any) -> None:
        info.card_index = self.index
        info.chip_id = CHIP_ID
        info.vram_base = self.vram_base
        info.vram_size = self.vram_size
        info.vram_used = self.buffers.vram_used
        info.gart_base = self.gart_base
        info.gart_size = GART_SIZE
        info.spe_arrays = self.spe_arrays
        info.spes_per_array = self.spes_per_array
        info.warp_size = 32
        info.max_threads_per_block = LIMITS.max_threads_per_block
        info.max_block_dim = list(LIMITS.max_block_dim)
        info.max_grid_dim = list(LIMITS.max_grid_dim)
        info.shared_mem_per_block = LIMITS.shared_mem_per_block
        info.const_mem_size = 64 << 10
        info.regs_per_block = 65536
        info.clock_khz = 1_500_000
        info.memory_clock_khz = 1_200_000
        info.memory_bus_width = 256
        info.compute_major, info.compute_minor = 8, 0
        info.pci_bus = self.index
        info.pci_device = 0
        info.max_channels = MAX_CHANNELS
        with self._lock:
            info.channels_in_use = len(self._channels)
        info.name = NAME

    # ---- channels ----
    def channel_alloc(self, console: Console = LOCAL, owner: EngineActivity | None = None,
                      client: SwapClient | None = None, vgpu: VirtualGpu | None = None,
                      remote_hosts: bool = False, space: AddressSpace | None = None) -> Channel:
        """A new channel; its commands print to `console`, count their engine time to `owner`
        too, bring `client`'s VRAM buffers in before they run (swap.py), ask for the engines
        as `vgpu` (the card's own virtual GPU by default) and reach the memory of `space`
        (the whole card's by default: the card's own channels); `remote_hosts`: its host is
        another process (channel.py: how the two wake each other)."""
        with self._lock:
            free = next((i for i in range(MAX_CHANNELS) if i not in self._channels), None)
            if free is None:
                raise CardError(errno.EBUSY, f"all {MAX_CHANNELS} channels are in use")
            fence = self.buffers.new(FENCE_BYTES, C.AIDEV_GEM_DOMAIN_HOST)
            base = CHANNEL_MAP_BASE + free * CHANNEL_MAP_STRIDE
            channel = Channel(self.index, free, fence, base + PB_MAP, base + REGS_MAP, base + FENCE_MAP,
                              remote_hosts)
            processor = CommandProcessor(self, channel, console, owner, client, vgpu or self.sched.internal,
                                         space)
            self._channels[free] = (channel, processor)
        processor.start()
        return channel

    def channel_free(self, channel: Channel) -> None:
        with self._lock:
            entry = self._channels.get(channel.id)
            if entry is None or entry[0] is not channel:
                raise CardError(errno.ENOENT, f"channel {channel.id} is not allocated")
            del self._channels[channel.id]
        channel.stop()
        self.notify_progress()            # an ACQUIRE of this channel sleeps on the card's condition
        self.buffers.residency.wake()     # so does a command waiting for VRAM
        self.sched.wake()                 # or for an engine
        entry[1].join()
        channel.release_pages()
        self.buffers.free(channel.fence)

    def channels_in_use(self) -> int:
        with self._lock:
            return len(self._channels)

    def gem_new(self, size: int, domain: int, flags: int = 0, owner: SwapClient | None = None) -> BufferObject:
        return self.buffers.new(size, domain, flags, owner)

    def gem_free(self, bo: BufferObject) -> int:
        return self.buffers.free(bo)
