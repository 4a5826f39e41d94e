"""The L1 API used by Gdev (L2): one open card, its buffer objects and channels.

Everything goes through a Transport, so L2 never knows whether a kernel driver
or the simulated card answers.  A failing request raises AidevError carrying
the errno, after a debug log line.
"""
from __future__ import annotations

import errno as _errno
import os
import threading
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from .. import log
from ..settings import settings
from ..common.contract import C, IOCTL_STRUCTS, ffi, request_of
from .kernel import KernelTransport, device_minors
from .sim import SimTransport
from .transport import Mmio, Transport

if TYPE_CHECKING:
    import numpy as np

_log = log.get("gdev.aidev")


class AidevError(Exception):
    def __init__(self, errno: int, message: str) -> None:
        super().__init__(f"{message}: {os.strerror(errno)}")
        self.errno = errno


_owner_pid: int | None = None      # the process whose cards (and card threads) exist


def _note_use() -> None:
    global _owner_pid
    if _owner_pid is None:
        _owner_pid = os.getpid()


_forked_after_use = False


def _in_child() -> None:
    global _forked_after_use
    _forked_after_use = _owner_pid is not None


# Every call that reaches for a card asks, so the answer is kept rather than asked of the OS.
os.register_at_fork(after_in_child=_in_child)


def forked() -> bool:
    """True in a child forked after the cards were used: their threads did not come along."""
    return _forked_after_use


def require_unforked() -> None:
    if forked():
        raise AidevError(_errno.ENODEV, "the cards were opened by the parent process and are "
                                        "not usable after fork")


@cache
def _sim() -> SimTransport:
    return SimTransport()


@cache
def _kernel() -> KernelTransport:
    return KernelTransport()


@cache
def _daemon() -> Transport:
    from .daemon import DaemonTransport        # sockets and subprocess: only when used
    return DaemonTransport()


def private_card_reason() -> str | None:
    """Why this process keeps simulated cards of its own rather than the shared daemon's.

    The sanitizer, injected faults and device tracing observe one program's cards and
    report into that program, so a process that asks for them gets private cards.
    """
    if settings.memcheck:
        return "GDEV_MEMCHECK"
    if settings.sim_fault:
        return "GDEV_SIM_FAULT"
    if settings.trace:
        return "GDEV_TRACE"
    return None


def transport() -> Transport:
    """The kernel driver when /dev/aicard* exists (or GDEV_TRANSPORT=dev); else the simulated
    cards: the user's card daemon, or this process's own ones for GDEV_TRANSPORT=sim and
    the settings that observe one program (private_card_reason)."""
    choice = settings.transport.strip().lower()
    if choice == "dev" or (choice == "" and device_minors()):
        return _kernel()
    if choice == "cardd" or (choice == "" and private_card_reason() is None):
        return _daemon()
    return _sim()


def device_count() -> int:
    return transport().count()


@dataclass(eq=False)
class Channel:
    id: int
    pb: np.ndarray             # uint64 ring words
    regs: Mmio
    fence_seq: np.ndarray      # uint64[AIDEV_FENCE_SLOTS], written by the card
    fence_time: np.ndarray     # uint64[AIDEV_FENCE_SLOTS], monotonic ns of each fence
    fence_addr: int            # device address of the fence page
    pb_words: int


_REQUESTS = {struct.removeprefix("struct aidev_"): request_of(nr) for nr, struct in IOCTL_STRUCTS.items()}


def _fields(value: Any) -> Any:
    """Plain Python value of a cffi struct field (arrays become lists, char arrays str)."""
    ctype = ffi.typeof(value) if isinstance(value, ffi.CData) else None
    if ctype is not None and ctype.kind == "array":
        if ctype.item.cname == "char":
            return ffi.string(value).decode(errors="replace")
        return [_fields(v) for v in value]
    return value


class AidevDevice:
    """One open card."""

    def __init__(self, transport: Transport, minor: int, fd: int) -> None:
        self.transport = transport
        self.minor = minor
        self.fd = fd
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def open(cls, minor: int) -> AidevDevice:
        require_unforked()
        _note_use()
        tr = transport()
        try:
            fd = tr.open(minor)
        except OSError as exc:
            _log.debug("open aicard%d: %s", minor, exc)
            raise AidevError(exc.errno or _errno.ENODEV, f"cannot open aicard{minor}") from exc
        _log.debug("open aicard%d -> fd %d (%s)", minor, fd, type(tr).__name__)
        return cls(tr, minor, fd)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            self.transport.close(self.fd)
        except OSError as exc:
            _log.debug("close aicard%d: %s", self.minor, exc)
            raise AidevError(exc.errno or _errno.EIO, f"cannot close aicard{self.minor}") from exc

    def __enter__(self) -> AidevDevice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _arg(self, name: str, fields: dict[str, int]) -> Any:
        try:
            return ffi.new(f"struct aidev_{name} *", fields)
        except (OverflowError, TypeError) as exc:
            _log.debug("aicard%d %s(%s): %s", self.minor, name, fields, exc)
            raise AidevError(_errno.EINVAL, f"aicard{self.minor} {name} argument out of range") from exc

    def _ioctl(self, name: str, **fields: int) -> Any:
        require_unforked()
        arg = self._arg(name, fields)
        rc = self.transport.ioctl(self.fd, _REQUESTS[name], arg)
        if rc != 0:
            _log.debug("aicard%d ioctl %s(%s) -> %d", self.minor, name, fields, rc)
            raise AidevError(-rc, f"aicard{self.minor} {name}")
        return arg

    def _map(self, offset: int, length: int) -> memoryview:
        try:
            return self.transport.mmap(self.fd, offset, length)
        except (OSError, ValueError, OverflowError) as exc:
            _log.debug("aicard%d mmap(%#x, %d): %s", self.minor, offset, length, exc)
            code = getattr(exc, "errno", None) or _errno.EINVAL
            raise AidevError(code, f"aicard{self.minor} mmap at {offset:#x}") from exc

    # ---- queries ----
    def info(self) -> dict[str, Any]:
        arg = self._ioctl("device_info")
        return {name: _fields(getattr(arg, name)) for name, _ in ffi.typeof("struct aidev_device_info").fields}

    # ---- buffer objects ----
    def gem_new(self, size: int, domain: int) -> tuple[int, int, int]:
        """(handle, device address, mmap offset) of a new buffer object."""
        arg = self._ioctl("gem_new", size=size, domain=domain)
        return arg.handle, arg.addr, arg.map_offset

    def gem_free(self, handle: int) -> int:
        """Free a buffer object; returns the bytes released."""
        return self._ioctl("gem_free", handle=handle).size

    def gem_info(self, handle: int) -> tuple[int, int, int, int]:
        """(domain, size, device address, mmap offset)."""
        arg = self._ioctl("gem_info", handle=handle)
        return arg.domain, arg.size, arg.addr, arg.map_offset

    def gem_alias(self, handle: int, host_addr: int) -> int:
        """Make the card answer [host_addr, +size) with the buffer too; returns the size."""
        return self._ioctl("gem_alias", handle=handle, host_addr=host_addr).size

    def gem_userptr(self, host_addr: int, size: int) -> tuple[int, int]:
        """(handle, device address) of a buffer made of the caller's host memory."""
        arg = self._ioctl("gem_userptr", host_addr=host_addr, size=size)
        return arg.handle, arg.addr

    def host_copy(self, addr: int, host_addr: int, size: int, to_host: bool) -> None:
        """Copy between device memory and this process's memory in one step (HOST_COPY):
        done on return.  AidevError: EFAULT a bad host range, EPERM/ENOSYS not possible here."""
        self._ioctl("host_copy", addr=addr, host_addr=host_addr, size=size,
                    flags=C.AIDEV_HOST_COPY_TO_HOST if to_host else 0)

    # ---- shared segments (every open of the card, any process) ----
    def shm_get(self, key: int, size: int, flags: int) -> tuple[int, int]:
        """(id, size) of the card's segment of `key`, made with AIDEV_SHM_CREATE if missing."""
        arg = self._ioctl("shm_get", key=key, size=size, flags=flags)
        return arg.id, arg.seg_size

    def shm_export(self, handle: int) -> int:
        """The id of a keyless segment of this open's buffer `handle` (which now attaches it)."""
        return self._ioctl("shm_get", handle=handle, flags=C.AIDEV_SHM_EXPORT).id

    def shm_attach(self, shm_id: int) -> tuple[int, int, int, int]:
        """(handle, size, device address, mmap offset) of a segment; gem_free detaches."""
        arg = self._ioctl("shm_attach", id=shm_id)
        return arg.handle, arg.size, arg.addr, arg.map_offset

    def shm_ctl(self, shm_id: int, cmd: int) -> tuple[int, int]:
        """(size, attachments) after AIDEV_SHM_RMID or AIDEV_SHM_STAT."""
        arg = self._ioctl("shm_ctl", id=shm_id, cmd=cmd)
        return arg.size, arg.attached

    def map(self, offset: int, length: int) -> np.ndarray:
        """Writable host view (uint8) of a HOST buffer at its mmap offset."""
        import numpy as np                 # not at import: counting cards needs no numpy
        return np.frombuffer(self._map(offset, length), dtype=np.uint8)

    # ---- channels ----
    def channel_alloc(self) -> Channel:
        import numpy as np
        arg = self._ioctl("channel_alloc")
        try:
            pb = np.frombuffer(self._map(arg.pb_offset, arg.pb_words * 8), dtype=np.uint64)
            fence = self._map(arg.fence_offset, ffi.sizeof("struct aidev_fence_page"))
            try:
                regs = self.transport.mmio(self.fd, arg.regs_offset)
            except OSError as exc:
                raise AidevError(exc.errno or _errno.EINVAL, f"aicard{self.minor} register page") from exc
        except AidevError:
            self._ioctl("channel_free", channel=arg.channel)
            raise
        slots = C.AIDEV_FENCE_SLOTS
        return Channel(id=arg.channel, pb=pb, regs=regs,
                       fence_seq=np.frombuffer(fence, dtype=np.uint64, count=slots),
                       fence_time=np.frombuffer(fence, dtype=np.uint64, count=slots, offset=slots * 8),
                       fence_addr=arg.fence_addr, pb_words=arg.pb_words)

    def channel_free(self, ch: Channel) -> None:
        self._ioctl("channel_free", channel=ch.id)

    def fence_wait(self, ch: Channel, slot: int, seq: int, timeout_ms: int) -> int:
        """0 when fence[slot] >= seq, -ETIMEDOUT, or -EIO when the channel faulted."""
        require_unforked()
        timeout_ms = min(max(timeout_ms, 0), 0xFFFF_FFFF)
        direct = getattr(self.transport, "wait_fence", None)    # the daemon's: no struct to fill
        if direct is not None and 0 <= slot < C.AIDEV_FENCE_SLOTS and 0 <= seq < 1 << 64:
            rc = direct(self.fd, ch.id, slot, seq, timeout_ms)
        else:
            arg = self._arg("fence_wait", {"channel": ch.id, "slot": slot, "seq": seq, "timeout_ms": timeout_ms})
            rc = self.transport.ioctl(self.fd, _REQUESTS["fence_wait"], arg)
        if rc in (0, -_errno.ETIMEDOUT, -_errno.EIO):
            return rc
        _log.debug("aicard%d fence_wait(ch %d, slot %d, seq %d) -> %d", self.minor, ch.id, slot, seq, rc)
        raise AidevError(-rc, f"aicard{self.minor} fence_wait")
