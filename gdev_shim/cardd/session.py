"""One client connection of the card daemon: one open of a card, as a descriptor of /dev/aicardN.

Every message is checked before it reaches the card: its length, the op, an
ioctl's request number and struct size; a descriptor the client sends where none
is expected is closed at once.  Whatever the client does, the answer is an errno
in the reply, never an exception out of the session; when the connection ends
(close, exit, SIGKILL) the open's buffers and channels are released.
"""
from __future__ import annotations

import errno
import fcntl
import mmap
import os
import select
import socket
import struct
import time
from typing import TYPE_CHECKING, Any

from .. import log
from ..card import CardError, CardFile
from ..card.console import Console
from ..common import cardwire as wire
from ..common.contract import C, ffi, ioctl_request
from ..settings import PRIO_MAX, PRIO_MIN

if TYPE_CHECKING:
    from .server import CardDaemon

_log = log.get("gdev.cardd")
_CRED = struct.Struct("3i")
_FENCE_WAIT = ioctl_request(C.AIDEV_NR_FENCE_WAIT, "struct aidev_fence_wait")
# A fence wait in the daemon sleeps this long at a time and then looks whether its client is
# still connected: a client that asks for a 49-day wait and exits must not pin its channels
# and buffers (released only when its session ends) until the wait is over.
WAIT_SLICE_MS = 200
PAGES_LIMIT = 1 << 47            # host addresses of PAGES lie in a 47-bit user address space


class Hangup(OSError):
    """The client closed its connection while the daemon worked on its request."""


class Refused(Exception):
    """The request is answered with -errno."""

    def __init__(self, err: int, message: str) -> None:
        super().__init__(message)
        self.errno = err


class Session:
    def __init__(self, daemon: CardDaemon, conn: socket.socket) -> None:
        self.daemon = daemon
        self.conn = conn
        self.pid = self.uid = -1
        self.file: CardFile | None = None
        self.console_fds: list[int] = []
        self.log_level: int | None = None        # the client's, once it opened a card
        self.command = "?"

    # ---- the connection ----
    def run(self) -> None:
        try:
            if self._admit():
                self._serve()
        except OSError as exc:
            _log.debug("client %d: connection ended: %s", self.pid, exc)
        finally:
            self._release()

    def _admit(self) -> bool:
        """Only the daemon's user may use its cards (the peer's credentials, from the kernel)."""
        self.pid, self.uid, _ = _CRED.unpack(self.conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                                  _CRED.size))
        if self.uid != self.daemon.owner_uid:
            _log.warning("refused a client of user %d (pid %d): this daemon serves user %d",
                         self.uid, self.pid, self.daemon.owner_uid)
            self.conn.settimeout(1.0)            # its first request gets the answer, then it is closed
            try:
                for fd in socket.recv_fds(self.conn, wire.MAX_MESSAGE, wire.MAX_FDS)[1]:
                    os.close(fd)
                self.conn.send(wire.reply(-errno.EACCES))
            except OSError:
                pass
            return False
        self.command = _command_of(self.pid)
        return True

    def _serve(self) -> None:
        while True:
            message, fds, flags, _ = socket.recv_fds(self.conn, wire.MAX_MESSAGE, wire.MAX_FDS)
            if not message:
                return
            try:
                if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC):
                    raise Refused(errno.EMSGSIZE, f"message over {wire.MAX_MESSAGE} bytes or "
                                                  f"{wire.MAX_FDS} descriptors")
                answer, out_fds = self._handle(message, fds)     # OPEN takes its descriptors out
            except Refused as exc:
                _log.debug("client %d: %s", self.pid, exc)
                answer, out_fds = wire.reply(-exc.errno), []
            except (Hangup, ConnectionError):
                raise
            except Exception as exc:       # a daemon bug must cost one request, never the daemon
                _log.error("client %d (%s): request %s failed: %s: %s", self.pid, self.command,
                           message[:wire.REQUEST.size].hex(), type(exc).__name__, exc)
                _log.debug("the failure", exc_info=True)
                answer, out_fds = wire.reply(-errno.EIO), []
            finally:
                for fd in fds:
                    os.close(fd)
            socket.send_fds(self.conn, [answer], out_fds) if out_fds else self.conn.send(answer)

    def _release(self) -> None:
        if self.file is not None:
            self.file.close()
            self.daemon.forget(self)
        for fd in self.console_fds:
            os.close(fd)
        self.conn.close()

    # ---- requests ----
    def _handle(self, message: bytes, fds: list[int]) -> tuple[bytes, list[int]]:
        if len(message) < wire.REQUEST.size:
            raise Refused(errno.EINVAL, f"request of {len(message)} bytes is shorter than its header")
        op, _, word, arg0, arg1 = wire.REQUEST.unpack_from(message)
        payload = message[wire.REQUEST.size:]
        if op not in wire.DESCRIPTOR_OPS and fds:
            raise Refused(errno.EINVAL, f"{wire.OP_NAMES.get(op, op)} carries no descriptors")
        if op == wire.HELLO:
            return self._hello(word), []
        if op == wire.OPEN:
            return self._open(word, arg0, arg1, fds), []
        if op == wire.STATUS:
            return wire.reply(0, payload=self.daemon.status_json()), []
        file = self._opened()
        if op == wire.IOCTL:
            return self._ioctl(file, word, payload), []
        if op == wire.MMAP:
            return self._mmap(file, arg0, arg1)
        if op == wire.PAGES:
            return self._pages(file, arg0, arg1, fds), []
        raise Refused(errno.ENOSYS, f"unknown op {op}")

    def _hello(self, protocol: int) -> bytes:
        if protocol != wire.PROTOCOL:
            raise Refused(errno.EPROTO, f"protocol {protocol}, this daemon speaks {wire.PROTOCOL}")
        return wire.reply(0, self.daemon.card_count(), os.getpid())

    def _open(self, minor: int, level: int, priority: int, fds: list[int]) -> bytes:
        if self.file is not None:
            raise Refused(errno.EBUSY, "this connection already has a card open")
        if not 0 <= minor < self.daemon.card_count():
            raise Refused(errno.ENODEV, f"no aicard{minor}")
        if not PRIO_MIN <= priority <= PRIO_MAX:
            raise Refused(errno.EINVAL, f"priority {priority} outside {PRIO_MIN}..{PRIO_MAX}")
        if len(fds) == 2:
            self.console_fds = list(fds)
            fds.clear()                      # kept until the session ends
            console = Console(self.console_fds[0], self.console_fds[1], level)
        else:
            console = Console(1, 2, level)   # no terminal handed over: the daemon's log
        self.file = CardFile(self.daemon.card(minor), console, local=False, priority=priority,
                             label=f"{self.command}[{self.pid}]", client=_process_of(self.pid),
                             pid=self.pid)
        self.log_level = level
        self.daemon.adopt(self)
        return wire.reply(0)

    def _opened(self) -> CardFile:
        if self.file is None:
            raise Refused(errno.EBADF, "no card is open on this connection")
        return self.file

    def _ioctl(self, file: CardFile, request: int, payload: bytes) -> bytes:
        ctype = file.arg_type(request)
        if ctype is None:
            raise Refused(errno.ENOTTY, f"unknown ioctl {request:#x}")
        arg = ffi.new(ctype)
        size = ffi.sizeof(arg[0])
        if len(payload) != size:
            raise Refused(errno.EINVAL, f"ioctl {request:#x} takes {size} bytes, got {len(payload)}")
        ffi.memmove(arg, payload, size)
        rc = self._fence_wait(file, arg) if request == _FENCE_WAIT else file.ioctl(request, arg)
        return wire.reply(rc, payload=bytes(ffi.buffer(arg)))

    def _fence_wait(self, file: CardFile, arg: Any) -> int:
        """FENCE_WAIT as the card does it, in slices, ending with the connection (Hangup).

        A long wait blocks only this client's session thread, as a blocking ioctl blocks
        only its caller; clients wait on their fence pages themselves and never send it.
        """
        deadline = time.monotonic() + arg.timeout_ms / 1000.0
        while True:
            remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
            arg.timeout_ms = min(remaining_ms, WAIT_SLICE_MS)
            rc = file.ioctl(_FENCE_WAIT, arg)
            if rc != -errno.ETIMEDOUT or remaining_ms <= WAIT_SLICE_MS:
                return rc
            if self._hung_up():
                raise Hangup(errno.ECONNRESET, "the client left during a fence wait")

    def _hung_up(self) -> bool:
        poller = select.poll()
        poller.register(self.conn, select.POLLRDHUP)
        return any(events & (select.POLLHUP | select.POLLRDHUP | select.POLLERR)
                   for _, events in poller.poll(0))

    def _mmap(self, file: CardFile, offset: int, length: int) -> tuple[bytes, list[int]]:
        try:
            fd, file_offset = file.map_source(offset, length)
        except CardError as exc:
            raise Refused(exc.errno, str(exc)) from exc
        return wire.reply(0, file_offset), [fd]

    def _pages(self, file: CardFile, host_addr: int, length: int, fds: list[int]) -> bytes:
        """The client's memory at [host_addr, +length) now lives in the memfd it sent.

        Only a memfd sealed against shrinking (F_SEAL_SHRINK) of at least `length` bytes is
        taken: any other file could shrink or stall under the card, and the card's next
        access to it would kill the daemon with SIGBUS or block it.
        """
        import numpy as np
        if len(fds) != 1 or host_addr % mmap.PAGESIZE or length <= 0 or length % mmap.PAGESIZE \
                or host_addr + length > PAGES_LIMIT:
            raise Refused(errno.EINVAL, f"PAGES needs one memfd and a page-aligned host range, got "
                                        f"{len(fds)} descriptors for {host_addr:#x}+{length:#x}")
        try:
            seals = fcntl.fcntl(fds[0], fcntl.F_GET_SEALS)
            size = os.fstat(fds[0]).st_size
        except OSError as exc:
            raise Refused(errno.EINVAL, f"PAGES: the descriptor is no memfd: {exc}") from exc
        if not seals & fcntl.F_SEAL_SHRINK or size < length:
            raise Refused(errno.EINVAL, f"PAGES: the memfd must be sealed against shrinking and hold "
                                        f"{length} bytes (seals {seals:#x}, {size} bytes)")
        try:
            pages = mmap.mmap(fds[0], length, flags=mmap.MAP_SHARED)
        except (OSError, ValueError, OverflowError) as exc:
            raise Refused(errno.EINVAL, f"PAGES: cannot map the memfd: {exc}") from exc
        try:
            file.provide_pages(host_addr, np.frombuffer(pages, dtype=np.uint8))
        except CardError as exc:
            raise Refused(exc.errno, str(exc)) from exc
        return wire.reply(0)

    def describe(self, at_ns: int) -> dict[str, Any]:
        """This client for gdev-smi: process, card, what it holds, its engine time."""
        if self.file is None or self.file.closed:     # a client on its way out holds nothing
            return {"id": id(self), "pid": self.pid, "command": self.command, "card": None}
        try:
            sched = self.file.card.sched.describe(self.file.vgpu)
        except ValueError:                            # it closed while we looked
            return {"id": id(self), "pid": self.pid, "command": self.command, "card": None}
        # engine time is what the scheduler granted: time spent waiting for a busy engine
        # is not this client's use of the card
        return {"id": id(self), "pid": self.pid, "command": self.command, "card": self.file.card.index,
                **self.file.usage(), "busy_ns": {e: sched[e]["busy_ns"] for e in ("copy", "compute")},
                "sched": sched}


def _process_of(pid: int) -> tuple[str, int, str]:
    """Who a client is, for its address space (card/space.py): its process, told apart from
    a later one that gets the same pid by the time it started."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            started = f.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        started = "?"
    return ("process", pid, started)


def _command_of(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return os.path.basename(f.read().split(b"\0")[0].decode(errors="replace")) or "?"
    except OSError:
        return "?"
