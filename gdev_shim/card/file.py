"""One open of a card (what a file descriptor of /dev/aicardN is): ioctls, mmaps, its objects.

Buffer handles and channels belong to the open that made them and go away when
it closes, as with a DRM device file.  ioctl returns 0 or -errno, never raises.
"""
from __future__ import annotations

import errno
import os
import threading
from typing import Any, Callable, Hashable

from .. import log
from ..common.contract import C, IOCTL_STRUCTS, ffi, request_of
from ..settings import settings
from .buffers import BufferObject
from .card import Card
from .channel import FENCE_BYTES, PB_BYTES, Channel
from ..trace.device import EngineActivity
from .console import LOCAL, Console
from . import remote
from .errors import CardError
from .swap import SwapClient
from .shm import Segment
from .vram import PAGE

_log = log.get("gdev.card")
# What one open may pin of the host's memory, in HOST buffers and in a client's shared pages
# (PAGES): the machine's memory.  Beyond it a mapping would only reserve address space, and
# a client asking for terabytes would exhaust the daemon's for every other client.
HOST_LIMIT = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
MAX_PROVIDED = 1024              # shared page ranges handed over and not yet used by GEM_USERPTR


class CardFile:
    def __init__(self, card: Card, console: Console = LOCAL, local: bool = True,
                 priority: int | None = None, label: str = "", client: Hashable | None = None,
                 pid: int | None = None) -> None:
        """`priority` (0..40, GDEV_PRIORITY by default) weighs this open's share of the card's
        engines: each open is a virtual GPU of the card's scheduler (ValueError outside 0..40).
        `client` names the process the open belongs to: its opens share one address space
        (space.py), which reaches only the buffers they hold.  By default a local open is
        this process's, a remote one a client of its own.  `pid`: a remote client's process,
        whose memory HOST_COPY reaches (none: HOST_COPY is refused with ENOSYS)."""
        self.card = card
        self.vgpu = card.sched.attach(settings.priority if priority is None else priority, label)
        if client is None:
            client = ("process", os.getpid()) if local else object()
        self.client = client
        self.space = card.spaces.join(client, label)
        self.console = console
        # A client in another process: its addresses mean nothing here, so GEM_USERPTR
        # needs the shared pages it hands over first (provide_pages).
        self.local = local
        self.pid = None if local else pid
        self.host_copies = self.host_copy_bytes = 0   # HOST_COPY: one-copy pageable transfers
        self._provided: dict[int, Any] = {}      # host address -> uint8 view of shared pages
        self.activity = EngineActivity()         # this open's engine time (its share of the card)
        self._lock = threading.Lock()
        self._buffers: dict[int, BufferObject] = {}
        self._channels: dict[int, Channel] = {}
        # this open's VRAM buffers as the swap sees them: brought in before its commands run
        self.swap = SwapClient()
        self.swap.busy = self._busy
        self._attached: dict[int, Segment] = {}  # handles of shared segments this open attached
        self._claimed: set[int] = set()          # handles of buffers it made (its address space's)
        self._next_handle = 1
        self.closed = False
        handlers: dict[int, Callable[[Any], None]] = {
            C.AIDEV_NR_GET_INFO: self._get_info, C.AIDEV_NR_GEM_NEW: self._gem_new,
            C.AIDEV_NR_GEM_FREE: self._gem_free, C.AIDEV_NR_GEM_INFO: self._gem_info,
            C.AIDEV_NR_CHANNEL_ALLOC: self._channel_alloc, C.AIDEV_NR_CHANNEL_FREE: self._channel_free,
            C.AIDEV_NR_FENCE_WAIT: self._fence_wait, C.AIDEV_NR_GEM_ALIAS: self._gem_alias,
            C.AIDEV_NR_GEM_USERPTR: self._gem_userptr, C.AIDEV_NR_SHM_GET: self._shm_get,
            C.AIDEV_NR_SHM_ATTACH: self._shm_attach, C.AIDEV_NR_SHM_CTL: self._shm_ctl,
            C.AIDEV_NR_HOST_COPY: self._host_copy,
        }
        self._ioctls: dict[int, tuple[str, Callable[[Any], None]]] = {
            request_of(nr): (f"{IOCTL_STRUCTS[nr]} *", handler) for nr, handler in handlers.items()}

    # ---- ioctl ----
    def arg_type(self, request: int) -> str | None:
        """The C type of `request`'s argument (a struct pointer), None for an unknown request."""
        entry = self._ioctls.get(request)
        return entry[0] if entry else None

    def ioctl(self, request: int, arg: Any) -> int:
        entry = self._ioctls.get(request)
        if entry is None:
            return -errno.ENOTTY
        ctype, handler = entry
        if self.closed:
            return -errno.EBADF
        if not isinstance(arg, ffi.CData) or ffi.typeof(arg) is not ffi.typeof(ctype):
            return -errno.EFAULT
        try:
            handler(arg)
        except CardError as exc:
            _log.debug("aicard%d ioctl %#x: %s", self.card.index, request, exc)
            return -exc.errno
        return 0

    def _get_info(self, arg: Any) -> None:
        self.card.fill_info(arg)

    def _gem_new(self, arg: Any) -> None:
        if arg.domain == C.AIDEV_GEM_DOMAIN_HOST and arg.size + self.usage()["host"] > HOST_LIMIT:
            raise CardError(errno.ENOMEM, f"{arg.size} more host bytes exceed this open's {HOST_LIMIT}")
        bo = self.card.gem_new(arg.size, arg.domain, arg.flags, self.swap)
        arg.handle, arg.addr, arg.map_offset = self._own_handle(bo), bo.addr, bo.map_offset

    def _own_handle(self, bo: BufferObject) -> int:
        """A handle of a buffer this open made, which its address space reaches (its alias
        too) while the handle lives; shared segments are claimed by the card's table of
        them (shm.py), for as long as the open got or attached them."""
        self.card.memory.claim(self.space, bo.addr)
        with self._lock:
            handle = self._next_handle
            self._next_handle += 1
            self._buffers[handle] = bo
            self._claimed.add(handle)
        return handle

    def _let_go(self, bo: BufferObject) -> None:
        """Before a handle's buffer is freed or detached: its address may soon be another's."""
        self.card.memory.unclaim(self.space, bo.addr)

    def _buffer(self, handle: int) -> BufferObject:
        bo = self._buffers.get(handle)
        if bo is None:
            raise CardError(errno.ENOENT, f"no buffer handle {handle}")
        return bo

    def _gem_free(self, arg: Any) -> None:
        with self._lock:
            bo = self._buffers.pop(arg.handle, None)
            seg = self._attached.pop(arg.handle, None)
            claimed = arg.handle in self._claimed
            self._claimed.discard(arg.handle)
        if bo is None:
            raise CardError(errno.ENOENT, f"no buffer handle {arg.handle}")
        if claimed:
            self._let_go(bo)
        if seg is not None:                 # a shared segment: this open lets go of it
            self.card.segments.detach(self, seg)
            arg.size = seg.size
        else:
            arg.size = self.card.gem_free(bo)

    # ---- shared segments (see struct aidev_shm_get) ----
    def _shm_get(self, arg: Any) -> None:
        if arg.flags & C.AIDEV_SHM_EXPORT:
            seg = self._export(arg.handle, arg.flags & ~C.AIDEV_SHM_EXPORT)
        else:
            seg = self.card.segments.get(self, arg.key, arg.size, arg.flags)
        arg.id, arg.seg_size = seg.id, seg.size

    def _export(self, handle: int, flags: int) -> Segment:
        """A segment of this open's buffer `handle`, which becomes an attachment of it."""
        if flags:
            raise CardError(errno.EINVAL, f"shm export takes no other flags ({flags:#x})")
        with self._lock:
            bo = self._buffer(handle)
            seg = self._attached.get(handle)
            if seg is not None:             # exported (or attached) already: that segment
                return seg
            if bo.domain != C.AIDEV_GEM_DOMAIN_VRAM:
                raise CardError(errno.EINVAL, f"buffer handle {handle} is no VRAM buffer")
            seg = self._attached[handle] = self.card.segments.export(self, bo)
            return seg          # the handle, now an attachment, keeps its claim on the buffer

    def _shm_attach(self, arg: Any) -> None:
        seg = self.card.segments.attach(self, arg.id)
        with self._lock:
            handle = self._next_handle
            self._next_handle += 1
            self._buffers[handle] = seg.bo
            self._attached[handle] = seg
        arg.handle, arg.size, arg.addr, arg.map_offset = handle, seg.size, seg.bo.addr, seg.bo.map_offset

    def _shm_ctl(self, arg: Any) -> None:
        arg.size, arg.attached = self.card.segments.control(arg.id, arg.cmd)

    def _gem_info(self, arg: Any) -> None:
        bo = self._buffer(arg.handle)
        arg.domain, arg.size, arg.addr, arg.map_offset = bo.domain, bo.size, bo.addr, bo.map_offset

    def _gem_alias(self, arg: Any) -> None:
        with self._lock:
            bo = self._buffer(arg.handle)
        if bo.domain == C.AIDEV_GEM_DOMAIN_USER:
            raise CardError(errno.EINVAL, "host memory of the caller is reached at its own address already")
        self.card.buffers.alias(bo, arg.host_addr)
        arg.size = bo.size

    def provide_pages(self, host_addr: int, pages: Any) -> None:
        """Shared pages (a uint8 array) that hold the client's memory at `host_addr`, for the
        next GEM_USERPTR in them (ENOSPC beyond MAX_PROVIDED ranges or HOST_LIMIT bytes)."""
        with self._lock:
            held = sum(len(p) for a, p in self._provided.items() if a != host_addr)
            if len(self._provided) >= MAX_PROVIDED and host_addr not in self._provided:
                raise CardError(errno.ENOSPC, f"{MAX_PROVIDED} shared page ranges are waiting already")
            if held + len(pages) > HOST_LIMIT:
                raise CardError(errno.ENOSPC, f"shared pages of {held + len(pages)} bytes exceed {HOST_LIMIT}")
            self._provided[host_addr] = pages

    def _client_pages(self, addr: int, size: int) -> tuple[int, Any]:
        with self._lock:
            for start, pages in self._provided.items():
                if start <= addr and addr + size <= start + len(pages):
                    return start, pages[addr - start:addr + size - start]
        raise CardError(errno.EFAULT, f"no shared pages of the client hold {addr:#x}+{size:#x}")

    def _gem_userptr(self, arg: Any) -> None:
        start, backing = (0, None) if self.local else self._client_pages(arg.host_addr, arg.size)
        bo = self.card.buffers.userptr(arg.host_addr, arg.size, backing)
        if backing is not None:
            with self._lock:            # the buffer holds its pages now; the client sends them anew
                self._provided.pop(start, None)
        arg.handle, arg.addr = self._own_handle(bo), bo.addr

    def _host_copy(self, arg: Any) -> None:
        if self.pid is None:
            raise CardError(errno.ENOSYS, "HOST_COPY: the client's memory is this process's")
        if arg.flags & ~C.AIDEV_HOST_COPY_TO_HOST:
            raise CardError(errno.EINVAL, f"HOST_COPY flags {arg.flags:#x}")
        if arg.size:
            remote.copy_with_client(self.card, self.space, self.swap, self.vgpu, self.pid, arg,
                                    lambda: self.closed)
            with self._lock:
                self.host_copies += 1
                self.host_copy_bytes += arg.size

    def _channel(self, channel_id: int) -> Channel:
        channel = self._channels.get(channel_id)
        if channel is None:
            raise CardError(errno.ENOENT, f"no channel {channel_id} on this open")
        return channel

    def _channel_alloc(self, arg: Any) -> None:
        channel = self.card.channel_alloc(self.console, self.activity, self.swap, self.vgpu,
                                          remote_hosts=not self.local, space=self.space)
        with self._lock:
            self._channels[channel.id] = channel
        arg.channel, arg.pb_words = channel.id, channel.pb_words
        arg.pb_offset, arg.regs_offset = channel.pb_offset, channel.regs_offset
        arg.fence_offset, arg.fence_addr = channel.fence_offset, channel.fence_addr

    def _channel_free(self, arg: Any) -> None:
        with self._lock:
            channel = self._channels.pop(arg.channel, None)
        if channel is None:
            raise CardError(errno.ENOENT, f"no channel {arg.channel} on this open")
        self.card.channel_free(channel)

    def _fence_wait(self, arg: Any) -> None:
        channel = self._channel(arg.channel)
        if arg.slot >= C.AIDEV_FENCE_SLOTS:
            raise CardError(errno.EINVAL, f"fence slot {arg.slot} out of range")
        rc = channel.wait_fence(arg.slot, arg.seq, arg.timeout_ms)
        arg.status = channel.status()
        if rc:
            raise CardError(-rc, f"fence wait on channel {channel.id} slot {arg.slot} seq {arg.seq}")

    def _busy(self) -> bool:
        """Commands are queued or executing on one of this open's channels.  Called under the
        swap's lock, so it takes no lock of its own (copying a dict's values is atomic)."""
        channels = tuple(self._channels.values())
        return any(ch.pending() or ch.outstanding for ch in channels)

    def usage(self) -> dict[str, int]:
        """What this open holds: bytes of VRAM (and of it swapped out to host memory) and
        host buffers, channels."""
        with self._lock:
            buffers, channels = list(self._buffers.values()), len(self._channels)
        vram = sum(bo.size for bo in buffers if bo.domain == C.AIDEV_GEM_DOMAIN_VRAM)
        residency = self.card.buffers.residency
        swapped = sum(bo.size for bo in buffers
                      if bo.domain == C.AIDEV_GEM_DOMAIN_VRAM and not residency.is_resident(bo))
        return {"vram": vram, "swapped": swapped, "host": sum(bo.size for bo in buffers) - vram,
                "host_copies": self.host_copies, "host_copy_bytes": self.host_copy_bytes,
                "channels": channels}

    # ---- mmap ----
    def mmap(self, offset: int, length: int) -> memoryview:
        """Host view of a buffer or a channel page; offset must be the object's own offset."""
        target, size = self._mappable(offset)
        if not 0 < length <= size:
            raise CardError(errno.EINVAL, f"mmap length {length} at {offset:#x} exceeds {size}")
        return memoryview(target)[:length]

    def map_source(self, offset: int, length: int) -> tuple[int, int]:
        """(memfd, file offset) of what mmap(offset, length) maps, for a host in another process."""
        fd, file_offset, size = self._source(offset)
        if not 0 < length <= size:
            raise CardError(errno.EINVAL, f"mmap length {length} at {offset:#x} exceeds {size}")
        return fd, file_offset

    def _mapped_buffer(self, offset: int, user: bool) -> BufferObject | None:
        """The buffer mapped at `offset`; its view is made outside this open's lock, since a
        VRAM buffer may first have to be brought in (and pinned) by the swap."""
        with self._lock:
            return next((bo for bo in self._buffers.values() if bo.map_offset == offset
                         and (user or bo.domain != C.AIDEV_GEM_DOMAIN_USER)), None)

    def _mappable(self, offset: int) -> tuple[Any, int]:
        bo = self._mapped_buffer(offset, user=False)
        if bo is not None:
            return self.card.buffers.host_view(bo), bo.size
        with self._lock:
            for ch in self._channels.values():
                if offset == ch.pb_offset:
                    return ch.pb_map, PB_BYTES
                if offset == ch.regs_offset:
                    return ch.regs_map, PAGE
                if offset == ch.fence_offset:
                    return self.card.buffers.host_view(ch.fence), FENCE_BYTES
        raise CardError(errno.EINVAL, f"nothing to map at offset {offset:#x}")

    def _source(self, offset: int) -> tuple[int, int, int]:
        bo = self._mapped_buffer(offset, user=True)
        if bo is not None:
            return (*self.card.buffers.map_source(bo), bo.size)
        with self._lock:
            for ch in self._channels.values():
                if offset == ch.pb_offset:
                    return ch.pb_pages.fd, 0, PB_BYTES
                if offset == ch.regs_offset:
                    return ch.regs_pages.fd, 0, PAGE
                if offset == ch.fence_offset:
                    return (*self.card.buffers.map_source(ch.fence), FENCE_BYTES)
        raise CardError(errno.EINVAL, f"nothing to map at offset {offset:#x}")

    def channel_by_regs(self, offset: int) -> Channel:
        """The channel whose register page is at `offset` (for MMIO access with doorbell)."""
        with self._lock:
            for ch in self._channels.values():
                if offset == ch.regs_offset:
                    return ch
        raise CardError(errno.EINVAL, f"no register page at offset {offset:#x}")

    # ---- close ----
    def close(self) -> None:
        """Release every channel and buffer this open still holds."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            channels, self._channels = list(self._channels.values()), {}
            attached, self._attached = self._attached, {}
            held = [bo for handle, bo in self._buffers.items() if handle in self._claimed]
            buffers = [bo for handle, bo in self._buffers.items() if handle not in attached]
            self._claimed = set()
            self._buffers = {}
        for channel in channels:
            self.card.channel_free(channel)
        for bo in held:
            self._let_go(bo)
        for bo in buffers:
            self.card.gem_free(bo)
        self.card.segments.forget(self)     # and the segments it attached or got
        self.card.spaces.leave(self.client)
        self.card.sched.detach(self.vgpu)      # its channels' processors have ended: nothing waits
