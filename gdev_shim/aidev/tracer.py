"""Letting the card daemon reach this process's memory where Yama restricts ptrace.

The daemon copies pageable memory with process_vm_readv/writev (AIDEV_IOCTL_HOST_COPY),
which the kernel allows a process of the same user only under ptrace's rules; with
Yama's ptrace_scope 1 only a declared tracer may, so the client names the daemon once
(PR_SET_PTRACER).  Without Yama nothing is needed; where even that is refused the
daemon says EPERM and copies go through bounce buffers.
"""
from __future__ import annotations

import ctypes
import socket
import struct

from .. import log

_log = log.get("gdev.aidev")
PR_SET_PTRACER = 0x59616D61
_SCOPE = "/proc/sys/kernel/yama/ptrace_scope"
_CRED = struct.Struct("3i")                  # struct ucred: pid, uid, gid
_allowed: set[int] = set()


def _scope() -> int:
    try:
        with open(_SCOPE) as f:
            return int(f.read().strip() or 0)
    except (OSError, ValueError):
        return 0                             # no Yama: same-user access needs nothing


def allow_peer(sock: socket.socket) -> None:
    """Make the process at the other end of `sock` (the daemon) a permitted tracer."""
    if _scope() != 1:
        return
    try:
        pid = _CRED.unpack(sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _CRED.size))[0]
    except OSError as exc:
        _log.debug("no peer credentials of the card daemon: %s", exc)
        return
    if pid in _allowed:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PTRACER, ctypes.c_ulong(pid), 0, 0, 0) != 0:
        _log.debug("PR_SET_PTRACER %d refused (errno %d): pageable copies use bounce buffers",
                   pid, ctypes.get_errno())
        return
    _allowed.add(pid)
