"""DaemonTransport: the cards of the user's card daemon (gdev-cardd), shared by every process.

An open is a connection to the daemon; ioctls travel as messages (the struct's
bytes both ways); an mmap receives the object's memfd and maps the very pages the
card uses, so rings, fence pages and host buffers are shared memory.  Ringing a
doorbell is a store to the register page and a futex wake; a fence wait sleeps on
the channel's REG_WAKE futex here in the caller, not in the daemon.

When the daemon is gone, every call fails with ESHUTDOWN from then on (the
device is lost for this process; the next process starts a new daemon).
"""
from __future__ import annotations

import errno
import fcntl
import json
import mmap
import os
import select
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import log
from ..cardd.address import daemon_socket
from ..common import cardwire as wire
from ..common import futex, shared
from ..common.contract import C, ffi, request_of
from ..settings import settings
from . import tracer

_log = log.get("gdev.aidev")
START_TIMEOUT_S = 60.0        # a cold daemon imports the card package and numpy first
CONNECT_ATTEMPTS = 3          # a daemon that leaves as this process connects is replaced
LIVENESS_S = 0.05             # a fence wait looks at the connection this often
# A fence wait spins this long before it sleeps: an empty kernel's fence arrives within
# tens of microseconds, and then neither side pays a futex call or a context switch.
HOST_SPIN_NS = 50_000
SPIN_BACKOFF = 8              # waits that sleep at once after a spin in vain
_FENCE_WAIT = request_of(C.AIDEV_NR_FENCE_WAIT)
_CHANNEL_ALLOC = request_of(C.AIDEV_NR_CHANNEL_ALLOC)
_CHANNEL_FREE = request_of(C.AIDEV_NR_CHANNEL_FREE)
_GEM_USERPTR = request_of(C.AIDEV_NR_GEM_USERPTR)
_U32 = 0xFFFF_FFFF


class DeviceLost(OSError):
    def __init__(self, what: str) -> None:
        super().__init__(errno.ESHUTDOWN, f"the card daemon is gone ({what})")


class SharedMmio:
    """A channel's register page, mapped from the daemon; PB_PUT writes wake its processor."""

    def __init__(self, view: memoryview) -> None:
        import numpy as np
        self.view = view
        self.regs = np.frombuffer(view, dtype=np.uint32, count=C.AIDEV_REG_COUNT)
        self.base = self.regs.ctypes.data

    def read32(self, reg: int) -> int:
        return int(self.regs[reg])

    def write32(self, reg: int, value: int) -> None:
        self.regs[reg] = value & _U32
        if reg == C.AIDEV_REG_PB_PUT and self.regs[C.AIDEV_REG_CP_IDLE]:
            futex.wake(self.base + 4 * reg)     # only a sleeping processor needs the wake


@dataclass
class _Waiter:
    """What a host-side fence wait reads: the channel's registers and fence page."""
    mmio: SharedMmio
    seq: Any                       # uint64[AIDEV_FENCE_SLOTS]
    seq_base: int = 0              # its address
    spin_skip: int = 0             # waits left that sleep without spinning (_spin)


@dataclass(eq=False)
class _Open:
    sock: socket.socket
    lock: threading.Lock = field(default_factory=threading.Lock)
    channels: dict[int, tuple[int, int]] = field(default_factory=dict)   # id -> regs, fence offsets
    waiters: dict[int, _Waiter] = field(default_factory=dict)


class DaemonTransport:
    def __init__(self) -> None:
        self._files: dict[int, _Open] = {}
        self._lock = threading.Lock()
        self.lost: str | None = None           # why the device is lost, once it is

    # ---- connections ----
    def _connect(self) -> socket.socket:
        """A connection to the daemon that has said hello; starts the daemon if there is none."""
        if self.lost:
            raise DeviceLost(self.lost)
        path = daemon_socket()
        for attempt in range(1, CONNECT_ATTEMPTS + 1):
            sock = _try_connect(path) or _start_and_connect(path)
            try:
                rc = _exchange(sock, wire.request(wire.HELLO, wire.PROTOCOL))[0]
            except ConnectionError as exc:
                # a daemon leaving after its idle period closes connections still in its
                # queue; the next attempt reaches (or starts) its successor
                sock.close()
                _log.debug("card daemon at %s hung up on hello (%s)", path, exc)
                if attempt == CONNECT_ATTEMPTS:
                    raise
                continue
            except OSError:
                sock.close()
                raise
            if rc:
                sock.close()
                raise OSError(-rc, f"the card daemon at {path} refused this process: {os.strerror(-rc)}")
            tracer.allow_peer(sock)
            return sock
        raise AssertionError("unreachable")

    def _call(self, file: _Open, message: bytes, send_fds: list[int] | None = None
              ) -> tuple[int, int, bytes, list[int]]:
        """One request and its reply on an open's connection: rc, arg0, payload, descriptors."""
        if self.lost:
            raise DeviceLost(self.lost)
        with file.lock:
            try:
                rc, arg0, _, payload, fds = _exchange(file.sock, message, send_fds)
            except OSError as exc:
                self._lose(f"{exc}")
                raise DeviceLost(self.lost or "") from exc
        return rc, arg0, payload, fds

    def _lose(self, why: str) -> None:
        if self.lost is None:
            self.lost = why
            _log.error("the card daemon is gone (%s): the cards are lost to this process", why)

    def _file(self, fd: int) -> _Open:
        file = self._files.get(fd)
        if file is None:
            raise OSError(errno.EBADF, f"bad aicard descriptor {fd}")
        return file

    # ---- the transport ----
    def count(self) -> int:
        """The daemon's cards: as many as the settings say, since the daemon this process
        reaches is the one made with its settings (counting starts no daemon).  A lost
        device still counts its cards: calls on them say it is lost (ESHUTDOWN), not that
        there are none."""
        return max(0, min(settings.sim_cards, C.AIDEV_MAX_CARDS))

    def status(self) -> dict[str, Any]:
        """The daemon's view of its cards and clients (what gdev-smi shows)."""
        sock = self._connect()
        try:
            rc, _, _, payload, _ = _exchange(sock, wire.request(wire.STATUS))
        finally:
            sock.close()
        if rc:
            raise OSError(-rc, f"card daemon status: {os.strerror(-rc)}")
        return dict(json.loads(payload))

    def open(self, minor: int) -> int:
        sock = self._connect()
        try:
            level = log.root.getEffectiveLevel()
            # device printf and the card's words about this process's work go to its stdout
            # and stderr; a process without them gets the daemon's log instead.  The open is a
            # virtual GPU of the card's scheduler, weighed by this process's priority
            message = wire.request(wire.OPEN, minor, level, settings.priority)
            if all(_is_open(fd) for fd in (1, 2)):
                socket.send_fds(sock, [message], [1, 2])
            else:
                sock.send(message)
            rc = _reply(sock)[0]
        except OSError:
            sock.close()
            raise
        if rc:
            sock.close()
            raise OSError(-rc, f"aicard{minor}: {os.strerror(-rc)}")
        with self._lock:
            self._files[sock.fileno()] = _Open(sock)
        return sock.fileno()

    def close(self, fd: int) -> None:
        with self._lock:
            file = self._files.pop(fd, None)
        if file is None:
            raise OSError(errno.EBADF, f"bad aicard descriptor {fd}")
        with file.lock:
            file.sock.close()

    def ioctl(self, fd: int, request: int, arg: Any) -> int:
        file = self._files.get(fd)
        if file is None:
            return -errno.EBADF
        if self.lost:
            return -errno.ESHUTDOWN
        if request == _FENCE_WAIT:
            return self._fence_wait(file, arg)
        if request == _GEM_USERPTR:
            rc = self._share_pages(file, arg.host_addr, arg.size)
            if rc:
                return rc
        size = ffi.sizeof(arg[0])
        try:
            rc, _, payload, _ = self._call(file, wire.request(wire.IOCTL, request, payload=bytes(ffi.buffer(arg))))
        except OSError as exc:
            return -(exc.errno or errno.EIO)
        if len(payload) == size:
            ffi.memmove(arg, payload, size)
        if rc == 0 and request == _CHANNEL_ALLOC:
            file.channels[arg.channel] = (arg.regs_offset, arg.fence_offset)
        elif request == _CHANNEL_FREE:
            file.channels.pop(arg.channel, None)
            file.waiters.pop(arg.channel, None)
        return rc

    def mmap(self, fd: int, offset: int, length: int) -> memoryview:
        file = self._file(fd)
        rc, file_offset, _, fds = self._call(file, wire.request(wire.MMAP, 0, offset, length))
        try:
            if rc:
                raise OSError(-rc, f"mmap at {offset:#x}: {os.strerror(-rc)}")
            if len(fds) != 1:
                raise OSError(errno.EPROTO, "the card daemon sent no memory")
            return memoryview(mmap.mmap(fds[0], length, flags=mmap.MAP_SHARED, offset=file_offset))
        finally:
            for received in fds:
                os.close(received)

    def mmio(self, fd: int, offset: int) -> SharedMmio:
        return SharedMmio(self.mmap(fd, offset, mmap.PAGESIZE))

    # ---- host memory the caller already has ----
    def _share_pages(self, file: _Open, addr: int, size: int) -> int:
        """Put shared pages under [addr, addr + size) and hand them to the daemon.

        The card in the daemon cannot reach this process's private memory, so the pages
        holding the range are replaced, in place and with their contents, by a memfd
        mapping the daemon maps too (whole pages: bytes around the range come along).
        Another thread writing the range meanwhile may lose that write.
        """
        if addr <= 0 or size <= 0:
            return -errno.EINVAL
        start = addr // mmap.PAGESIZE * mmap.PAGESIZE
        length = -(-(addr + size - start) // mmap.PAGESIZE) * mmap.PAGESIZE
        try:
            fd = shared.replace_with_memfd(start, length)
        except OSError as exc:
            _log.debug("cannot share %#x+%#x with the card daemon: %s", addr, size, exc)
            return -(exc.errno or errno.EFAULT)
        try:
            rc = self._call(file, wire.request(wire.PAGES, 0, start, length), [fd])[0]
        except OSError as exc:
            return -(exc.errno or errno.EIO)
        finally:
            os.close(fd)
        return rc

    # ---- fence waits, here in the caller ----
    def _waiter(self, fd_file: _Open, fd: int, channel: int) -> _Waiter | None:
        waiter = fd_file.waiters.get(channel)
        if waiter is None and channel in fd_file.channels:
            import numpy as np
            regs_offset, fence_offset = fd_file.channels[channel]
            fence = self.mmap(fd, fence_offset, ffi.sizeof("struct aidev_fence_page"))
            seqs = np.frombuffer(fence, dtype=np.uint64, count=C.AIDEV_FENCE_SLOTS)
            waiter = _Waiter(self.mmio(fd, regs_offset), seqs, seqs.ctypes.data)
            fd_file.waiters[channel] = waiter
        return waiter

    def _fence_wait(self, file: _Open, arg: Any) -> int:
        rc, status = self._wait(file, arg.channel, arg.slot, arg.seq, arg.timeout_ms)
        if status is not None:
            arg.status = status
        return rc

    def wait_fence(self, fd: int, channel: int, slot: int, seq: int, timeout_ms: int) -> int:
        """FENCE_WAIT without its struct (what AidevDevice.fence_wait asks for): 0, -errno."""
        file = self._files.get(fd)
        if file is None:
            return -errno.EBADF
        if self.lost:
            return -errno.ESHUTDOWN
        return self._wait(file, channel, slot, seq, timeout_ms)[0]

    def _wait(self, file: _Open, channel: int, slot: int, seq: int, timeout_ms: int) -> tuple[int, int | None]:
        """Wait here for fence[slot] >= seq: (rc, the channel's status when read)."""
        try:
            waiter = self._waiter(file, file.sock.fileno(), channel)
        except OSError as exc:
            return -(exc.errno or errno.EIO), None
        if waiter is None:
            return -errno.ENOENT, None
        if slot >= C.AIDEV_FENCE_SLOTS:
            return -errno.EINVAL, None
        regs, fences = waiter.mmio.regs, waiter.seq
        if int(fences[slot]) >= seq:            # reached already: the usual case of a sync
            return 0, int(regs[C.AIDEV_REG_STATUS])
        if futex.SPIN and _spin(waiter, slot, seq):
            return 0, int(regs[C.AIDEV_REG_STATUS])
        wake_word = waiter.mmio.base + 4 * C.AIDEV_REG_WAKE
        deadline = time.monotonic() + timeout_ms / 1000.0
        while True:
            wake = int(regs[C.AIDEV_REG_WAKE])
            status = int(regs[C.AIDEV_REG_STATUS])
            if int(fences[slot]) >= seq:
                return 0, status
            if status != C.AIDEV_STATUS_OK or channel not in file.channels:
                return -errno.EIO, status
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return -errno.ETIMEDOUT, status
            # ask for the wake, then look once more: a fence written before the card saw the
            # request is seen here (the periodic liveness look bounds any race left)
            regs[C.AIDEV_REG_HOST_WAITING] = 1
            if int(fences[slot]) >= seq:
                continue
            futex.wait(wake_word, wake, min(remaining, LIVENESS_S))
            # woken by the fence (the usual case): no look at the connection, a system call
            if int(fences[slot]) < seq and (self.lost or _hung_up(file.sock)):
                self._lose("its connection closed")
                return -errno.ESHUTDOWN, status


def _spin(waiter: _Waiter, slot: int, seq: int) -> bool:
    """Spin a little for the fence (HOST_SPIN_NS): whether it came.  Not when the card's
    processor last ran on this CPU (the spin would only delay it; it moves away when it
    sees that, channel.py), and after a spin in vain the next few waits sleep at once (a
    long kernel, or a loaded machine)."""
    if waiter.spin_skip:
        waiter.spin_skip -= 1
        return False
    base = waiter.mmio.base
    seen = futex.spin_reached(waiter.seq_base + 8 * slot, seq, HOST_SPIN_NS,
                              base + 4 * C.AIDEV_REG_HOST_CPU, base + 4 * C.AIDEV_REG_CARD_CPU)
    if seen == futex.TIMED_OUT:
        waiter.spin_skip = SPIN_BACKOFF
    return seen == futex.REACHED


def _exchange(sock: socket.socket, message: bytes, send_fds: list[int] | None = None
              ) -> tuple[int, int, int, bytes, list[int]]:
    if send_fds:
        socket.send_fds(sock, [message], send_fds)
    else:
        sock.sendall(message)
    return _reply(sock)


def _reply(sock: socket.socket) -> tuple[int, int, int, bytes, list[int]]:
    data, fds, _, _ = socket.recv_fds(sock, wire.MAX_MESSAGE, wire.MAX_FDS)
    if len(data) < wire.REPLY.size:
        for fd in fds:
            os.close(fd)
        raise ConnectionResetError(errno.ECONNRESET, "the card daemon closed the connection")
    rc, _, arg0, arg1 = wire.REPLY.unpack_from(data)
    return rc, arg0, arg1, data[wire.REPLY.size:], fds


def status_at(path: Path) -> dict[str, Any]:
    """The STATUS of the daemon listening at `path`: its cards and their clients (JSON)."""
    sock = _try_connect(path)
    if sock is None:
        raise FileNotFoundError(errno.ENOENT, f"no card daemon listens at {path}")
    with sock:
        rc = _exchange(sock, wire.request(wire.HELLO, wire.PROTOCOL))[0]
        if rc == 0:
            rc, _, _, payload, _ = _exchange(sock, wire.request(wire.STATUS))
    if rc:
        raise OSError(-rc, f"card daemon status: {os.strerror(-rc)}")
    return dict(json.loads(payload))


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


def _hung_up(sock: socket.socket) -> bool:
    """The daemon closed the connection (a reply waiting for another thread is not that)."""
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def _try_connect(path: Path) -> socket.socket | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
    try:
        sock.connect(str(path))
        return sock
    except (FileNotFoundError, ConnectionRefusedError):
        sock.close()
        return None
    except OSError:
        sock.close()
        raise


def _python() -> tuple[str, str]:
    """The interpreter to run the daemon with and its module path: this process's own.

    Inside a C program sys.executable is the program and the library bakes its
    sys.path in, so the daemon gets the base interpreter of this very Python
    version and this process's sys.path: it imports the same packages.
    """
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    executable = next((str(p) for p in (Path(sys.base_prefix) / "bin" / version, Path(sys.executable))
                       if p.name.startswith("python") and os.access(p, os.X_OK)), version)
    return executable, os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))


def _start_and_connect(path: Path) -> socket.socket:
    """Start the daemon for `path` (unless another process just did) and connect to it."""
    with open(wire.start_lock(path), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        sock = _try_connect(path)
        if sock is not None:
            return sock
        _spawn(path)
        sock = _try_connect(path)
    if sock is None:
        raise OSError(errno.ECONNREFUSED, f"the card daemon did not start (see {wire.daemon_log(path)})")
    return sock


def _spawn(path: Path) -> None:
    package_root = str(Path(__file__).resolve().parent.parent.parent)
    executable, module_path = _python()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([package_root, module_path]))
    env.pop("PYTHONHOME", None)
    # a C program run with LD_PRELOAD=libusdaa.so would preload the library into the
    # daemon's interpreter too, whose embedded interpreter then fails to start
    env.pop("LD_PRELOAD", None)
    read_end, write_end = os.pipe()
    command = [executable, "-m", "gdev_shim.cardd", "--detach", "--socket", str(path),
               "--ready-fd", str(write_end)]
    _log.debug("starting the card daemon: %s", " ".join(command))
    try:
        with open(wire.daemon_log(path), "ab") as daemon_log:
            subprocess.run(command, stdin=subprocess.DEVNULL, stdout=daemon_log, stderr=daemon_log,
                           pass_fds=(write_end,), env=env, check=True, timeout=START_TIMEOUT_S)
        os.close(write_end)
        write_end = -1
        ready, _, _ = select.select([read_end], [], [], START_TIMEOUT_S)
        if not ready or not os.read(read_end, 1):
            raise OSError(errno.ECONNREFUSED, f"the card daemon did not start (see {wire.daemon_log(path)})")
    except subprocess.SubprocessError as exc:
        raise OSError(errno.ECONNREFUSED, f"cannot start the card daemon: {exc}") from exc
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)
