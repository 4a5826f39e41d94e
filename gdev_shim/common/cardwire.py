"""The card daemon's wire protocol and where its socket lives (client and daemon share it).

One Unix SOCK_SEQPACKET connection is one open of a card, as a descriptor of
/dev/aicardN is: closing it (or the client dying) releases everything the open
made, as a driver's file release does.  Each request is one message, each reply
one message; a message is a fixed header and a payload:

    request  <HHI Q Q>  op, 0, word, arg0, arg1      then the payload
    reply    <iI Q Q>   0 or -errno, 0, arg0, arg1   then the payload (descriptors ride along)

| op     | word            | arg0, arg1        | payload in        | reply                          |
|--------|-----------------|-------------------|-------------------|--------------------------------|
| HELLO  | protocol        | log level, -      | -                 | arg0 cards, arg1 daemon pid    |
| OPEN   | minor           | log level, priority (0..40) | - (stdout, stderr descriptors) | -       |
| IOCTL  | request         | -                 | the struct's bytes | the struct's bytes after the call |
| MMAP   | -               | offset, length    | -                 | arg0 file offset; the memfd     |
| STATUS | -               | -                 | -                 | JSON: the cards and their clients |
| PAGES  | -               | host address, length | - (a memfd)    | - (the pages now hold the client's memory there) |

The socket is `<runtime dir>/cardd-<key>.sock`; the key hashes the card
configuration (cards, VRAM, SPEs, engine, JIT cache) and the package (its place and
its modules' newest modification time), so programs
that configure their cards alike share one daemon and an older or differently
configured daemon is never reached by mistake.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import stat
import struct
from pathlib import Path
from typing import Any

PROTOCOL = 1
REQUEST = struct.Struct("<HHIQQ")
REPLY = struct.Struct("<iIQQ")
MAX_MESSAGE = 64 << 10           # far above any ioctl struct; longer requests are refused
MAX_FDS = 2

HELLO, OPEN, IOCTL, MMAP, STATUS, PAGES = 1, 2, 3, 4, 5, 6
OP_NAMES = {HELLO: "HELLO", OPEN: "OPEN", IOCTL: "IOCTL", MMAP: "MMAP", STATUS: "STATUS", PAGES: "PAGES"}
DESCRIPTOR_OPS = (OPEN, PAGES)


def request(op: int, word: int = 0, arg0: int = 0, arg1: int = 0, payload: bytes = b"") -> bytes:
    return REQUEST.pack(op, 0, word, arg0, arg1) + payload


def reply(rc: int, arg0: int = 0, arg1: int = 0, payload: bytes = b"") -> bytes:
    return REPLY.pack(rc, 0, arg0, arg1) + payload


def runtime_dir() -> Path:
    """The per-user directory of sockets and locks (created 0700, refused if anyone else owns it)."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    path = Path(base) / "gdev-shim" if base and Path(base).is_dir() else Path(f"/tmp/gdev-shim-cardd-{os.getuid()}")
    try:
        path.mkdir(mode=0o700, exist_ok=True)
    except FileExistsError:
        pass
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise PermissionError(f"{path} must be a directory of user {os.getuid()} with mode 0700")
    return path


@functools.cache
def code_stamp() -> int:
    """The newest modification time of the package's modules: a daemon started before the
    code changed (a developer's tree, a reinstall) is not the one to reach."""
    newest, folders = 0, [str(Path(__file__).resolve().parent.parent)]
    while folders:
        with os.scandir(folders.pop()) as entries:
            for entry in entries:
                if entry.is_dir() and entry.name != "__pycache__":
                    folders.append(entry.path)
                elif entry.name.endswith(".py"):
                    newest = max(newest, entry.stat().st_mtime_ns)
    return newest


def config_key(config: dict[str, Any]) -> str:
    package = str(Path(__file__).resolve().parent.parent)
    text = json.dumps({"protocol": PROTOCOL, "package": package, "code": code_stamp(), **config},
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def socket_path(key: str) -> Path:
    return runtime_dir() / f"cardd-{key}.sock"


def start_lock(socket: Path) -> Path:
    """The flock that serialises starting and leaving daemons: one for the whole directory,
    so that a key (which changes with every change of the code) leaves no file behind."""
    return socket.parent / "cardd.lock"


def daemon_log(socket: Path) -> Path:
    """Where a daemon's output goes; removed when it leaves with nothing worth reading."""
    return socket.with_suffix(".log")
