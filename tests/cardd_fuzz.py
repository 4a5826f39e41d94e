"""A protocol fuzzer of the card daemon: hostile clients against one daemon and one honest client.

    .venv/bin/python tests/cardd_fuzz.py [--seconds S] [--seed N] [--workers W]

A private daemon (its own runtime directory) serves an honest client (a subprocess that
holds a buffer of known bytes and runs a kernel whose result it checks) while worker
threads send it malformed and hostile messages on many connections: garbage, truncated
frames, unknown ops, every ioctl with random bytes, other clients' handles and mmap
offsets, bad mmap and PAGES ranges, descriptors where none belong, message and
connection floods, requests abandoned mid-flight, an endless fence wait.  Every few
seconds, and at the end, the fuzzer checks that the daemon is alive and answers HELLO,
that the honest client's memory is intact and its kernels still give the right result,
and at the end that every descriptor, buffer and channel the hostile clients made was
released and the daemon's memory did not grow without bound.

`run()` returns the problems found (an empty list when there are none);
tests/test_cardd_fuzz.py runs it bounded in `make check`, `make fuzz-cardd` longer.
"""
from __future__ import annotations

import argparse
import errno
import fcntl
import json
import os
import random
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gdev_shim.common import cardwire as wire  # noqa: E402
from gdev_shim.common.contract import IOCTL_STRUCTS, C, ffi, ioctl_request  # noqa: E402

CARDS = 2
ANSWER_S = 30.0                   # a request unanswered this long is a hang (a loaded machine is slow)
PAGE = 4096
STRUCTS = IOCTL_STRUCTS
REQUESTS = {nr: ioctl_request(nr, ctype) for nr, ctype in STRUCTS.items()}
SIZES = {nr: ffi.sizeof(ctype) for nr, ctype in STRUCTS.items()}
NR = {name: getattr(C, f"AIDEV_NR_{name}") for name in (
    "GET_INFO", "GEM_NEW", "GEM_FREE", "GEM_INFO", "CHANNEL_ALLOC", "CHANNEL_FREE", "FENCE_WAIT",
    "GEM_ALIAS", "GEM_USERPTR", "SHM_GET", "SHM_ATTACH", "SHM_CTL")}

SPIN_PTX = (ROOT / "tests" / "kernels" / "spin.ptx").read_text()
# The honest client: a buffer of known bytes and a kernel; each line n on stdin runs the
# kernel with n and answers "ok" when its result is 3n and the buffer still holds its bytes.
HONEST = f"""
import sys, numpy as np, gdev_shim
d = gdev_shim.Device(0)
pattern = (np.arange(1 << 20, dtype=np.uint64) * 2654435761 % 251).astype(np.uint8)
keep = d.malloc(pattern.size)
keep.copy_from(pattern)
out = d.malloc(4)
spin = d.load_module({SPIN_PTX!r}).spin
print("ready", flush=True)
for line in sys.stdin:
    n = int(line)
    spin(out, np.uint32(n))
    d.synchronize()
    got = int(out.to_numpy(np.uint32)[0])
    intact = np.array_equal(keep.to_numpy(np.uint8), pattern)
    print("ok" if got == 3 * n and intact else f"BAD result {{got}} for {{n}}, intact {{intact}}", flush=True)
"""


class Hang(Exception):
    """The daemon did not answer in time."""


@dataclass
class Reply:
    rc: int
    arg0: int
    arg1: int
    payload: bytes
    fds: list[int] = field(default_factory=list)


class Client:
    """One raw connection to the daemon."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.connect(str(path))          # blocking: a full backlog waits, as clients do
        self.sock.settimeout(ANSWER_S)

    def send(self, message: bytes, fds: list[int] | None = None) -> None:
        if fds:
            socket.send_fds(self.sock, [message], fds)
        else:
            self.sock.send(message)

    def recv(self) -> Reply | None:
        """The reply, None when the daemon closed the connection; Hang when it did not answer."""
        try:
            data, fds, _, _ = socket.recv_fds(self.sock, wire.MAX_MESSAGE, 4)
        except socket.timeout as exc:
            raise Hang("no answer") from exc
        except ConnectionResetError:
            return None
        if not data:
            return None
        if len(data) < wire.REPLY.size:
            raise AssertionError(f"a {len(data)}-byte reply is shorter than its header")
        rc, _, arg0, arg1 = wire.REPLY.unpack_from(data)
        return Reply(rc, arg0, arg1, data[wire.REPLY.size:], fds)

    def call(self, message: bytes, fds: list[int] | None = None) -> Reply:
        self.send(message, fds)
        reply = self.recv()
        if reply is None:
            raise AssertionError("the daemon closed the connection")
        for fd in reply.fds:
            os.close(fd)
        return reply

    def hello(self) -> Reply:
        return self.call(wire.request(wire.HELLO, wire.PROTOCOL))

    def open(self, minor: int = 0) -> Reply:
        self.hello()
        return self.call(wire.request(wire.OPEN, minor, 30))

    def ioctl(self, nr: int, **fields: int) -> tuple[Reply, Any]:
        arg = ffi.new(STRUCTS[nr] + " *")
        for name, value in fields.items():
            setattr(arg, name, value)
        reply = self.call(wire.request(wire.IOCTL, REQUESTS[nr], payload=bytes(ffi.buffer(arg))))
        if len(reply.payload) == SIZES[nr]:
            ffi.memmove(arg, reply.payload, SIZES[nr])
        return reply, arg

    def close(self) -> None:
        self.sock.close()


class Fuzzer:
    def __init__(self, path: Path, seed: int) -> None:
        self.path = path
        self.seed = seed
        self.problems: list[str] = []
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}

    def problem(self, text: str) -> None:
        with self._lock:
            if len(self.problems) < 50 or text.startswith(("daemon log", "honest")):
                self.problems.append(text)

    def expect(self, what: str, reply: Reply, *codes: int) -> None:
        """The reply's rc must be one of `codes` (negative errnos, or 0)."""
        if reply.rc not in codes:
            self.problem(f"{what}: rc {reply.rc}, expected one of {codes}")

    # ---- scenarios: each makes its own connections and closes them ----
    def garbage(self, rng: random.Random) -> None:
        c = Client(self.path)
        try:
            for _ in range(rng.randint(1, 8)):
                message = rng.randbytes(rng.randint(1, 96))
                c.send(message)
                reply = c.recv()
                if reply is None:
                    return
                if reply.rc > 0:
                    self.problem(f"garbage {message[:8].hex()}: positive rc {reply.rc}")
                for fd in reply.fds:          # a random MMAP may hit nothing: it must not map
                    os.close(fd)
        finally:
            c.close()

    def frames(self, rng: random.Random) -> None:
        c = Client(self.path)
        try:
            short = rng.randbytes(rng.randint(1, wire.REQUEST.size - 1))
            self.expect("truncated header", c.call(short), -errno.EINVAL)
            self.expect("wrong protocol", c.call(wire.request(wire.HELLO, rng.choice([0, 2, 0xFFFFFFFF]))),
                        -errno.EPROTO)
            op = rng.choice([0, 7, 99, 0xFFFF])
            self.expect(f"unknown op {op} before OPEN", c.call(wire.request(op)), -errno.EBADF)
            self.expect("IOCTL before OPEN", c.call(wire.request(wire.IOCTL, REQUESTS[NR["GET_INFO"]],
                                                                 payload=bytes(SIZES[NR["GET_INFO"]]))),
                        -errno.EBADF)
            self.expect("bad minor", c.call(wire.request(wire.OPEN, rng.choice([CARDS, 16, 0xFFFFFFFF]))),
                        -errno.ENODEV)
            self.expect("OPEN", c.call(wire.request(wire.OPEN, 1)), 0)
            self.expect("second OPEN", c.call(wire.request(wire.OPEN, 0)), -errno.EBUSY)
            self.expect(f"unknown op {op}", c.call(wire.request(op)), -errno.ENOSYS)
            try:
                c.send(wire.request(wire.IOCTL, 0) + bytes(wire.MAX_MESSAGE + rng.randint(1, 4096)))
                reply = c.recv()
                self.expect("huge message", reply or Reply(1, 0, 0, b""), -errno.EMSGSIZE)
            except OSError as exc:            # the kernel may refuse to send it at all
                if exc.errno != errno.EMSGSIZE:
                    raise
            self.expect("still served", c.ioctl(NR["GET_INFO"])[0], 0)
        finally:
            c.close()

    def ioctls(self, rng: random.Random) -> None:
        """Every ioctl with random bytes, wrong sizes and unknown requests."""
        c = Client(self.path)
        try:
            self.expect("OPEN", c.open(rng.randrange(CARDS)), 0)
            for _ in range(rng.randint(4, 24)):
                nr = rng.choice(list(REQUESTS))
                if nr == NR["FENCE_WAIT"]:        # random bytes would wait up to 49 days
                    c.ioctl(nr, channel=rng.getrandbits(32), slot=rng.getrandbits(32),
                            seq=rng.getrandbits(64), timeout_ms=rng.randint(0, 20))
                    continue
                roll = rng.random()
                if roll < 0.7:
                    reply = c.call(wire.request(wire.IOCTL, REQUESTS[nr], payload=rng.randbytes(SIZES[nr])))
                    if reply.rc > 0 or (reply.rc == 0 and len(reply.payload) != SIZES[nr]):
                        self.problem(f"ioctl {nr}: rc {reply.rc} with {len(reply.payload)} bytes")
                elif roll < 0.85:
                    size = rng.choice([0, SIZES[nr] - 1, SIZES[nr] + 1, 4000])
                    self.expect(f"ioctl {nr} of {size} bytes",
                                c.call(wire.request(wire.IOCTL, REQUESTS[nr], payload=bytes(size))),
                                -errno.EINVAL)
                else:
                    request = rng.getrandbits(32)
                    if request not in REQUESTS.values():
                        self.expect(f"ioctl {request:#x}", c.call(wire.request(wire.IOCTL, request)),
                                    -errno.ENOTTY)
        finally:
            c.close()

    def buffers(self, rng: random.Random) -> None:
        """GEM_NEW of every odd size, domain and flag; frees, infos and aliases of them."""
        sizes = [0, 1, PAGE, 1 << 20, 1 << 40, 1 << 63, (1 << 64) - 1, rng.getrandbits(64)]
        c = Client(self.path)
        try:
            self.expect("OPEN", c.open(rng.randrange(CARDS)), 0)
            handles = []
            for _ in range(rng.randint(1, 10)):
                reply, arg = c.ioctl(NR["GEM_NEW"], size=rng.choice(sizes), domain=rng.choice([0, 1, 2, 3, 7]),
                                     flags=rng.choice([0, 0, 0, 1, 0xFFFFFFFF]))
                if reply.rc == 0:
                    handles.append(arg.handle)
                elif reply.rc not in (-errno.EINVAL, -errno.ENOMEM):
                    self.problem(f"GEM_NEW size {arg.size:#x} domain {arg.domain}: rc {reply.rc}")
            for handle in handles:
                if rng.random() < 0.5:
                    c.ioctl(NR["GEM_ALIAS"], handle=handle, host_addr=rng.choice([0, 1, PAGE << 20, 1 << 47,
                                                                                 rng.getrandbits(64)]))
                if rng.random() < 0.5:
                    self.expect("GEM_FREE", c.ioctl(NR["GEM_FREE"], handle=handle)[0], 0)
                    self.expect("GEM_FREE twice", c.ioctl(NR["GEM_FREE"], handle=handle)[0], -errno.ENOENT)
            c.ioctl(NR["GEM_USERPTR"], host_addr=rng.getrandbits(47) & ~(PAGE - 1), size=rng.choice(sizes))
        finally:
            c.close()          # what is left is released with the connection

    def foreign(self, rng: random.Random) -> None:
        """Another connection's handles, channels and mmap offsets do not exist on this one."""
        minor = rng.randrange(CARDS)
        owner, stranger = Client(self.path), Client(self.path)
        try:
            self.expect("OPEN", owner.open(minor), 0)
            self.expect("OPEN", stranger.open(minor), 0)
            reply, bo = owner.ioctl(NR["GEM_NEW"], size=PAGE, domain=rng.choice([1, 2]))
            self.expect("GEM_NEW", reply, 0)
            reply, ch = owner.ioctl(NR["CHANNEL_ALLOC"])
            self.expect("CHANNEL_ALLOC", reply, 0, -errno.EBUSY)
            self.expect("foreign GEM_INFO", stranger.ioctl(NR["GEM_INFO"], handle=bo.handle)[0], -errno.ENOENT)
            self.expect("foreign GEM_ALIAS", stranger.ioctl(NR["GEM_ALIAS"], handle=bo.handle,
                                                            host_addr=PAGE << 24)[0], -errno.ENOENT)
            self.expect("foreign GEM_FREE", stranger.ioctl(NR["GEM_FREE"], handle=bo.handle)[0], -errno.ENOENT)
            self.expect("foreign mmap", stranger.call(wire.request(wire.MMAP, 0, bo.map_offset, PAGE)),
                        -errno.EINVAL)
            if reply.rc == 0:
                for what, offset in (("push buffer", ch.pb_offset), ("registers", ch.regs_offset),
                                     ("fence page", ch.fence_offset)):
                    self.expect(f"foreign mmap of the {what}",
                                stranger.call(wire.request(wire.MMAP, 0, offset, PAGE)), -errno.EINVAL)
                self.expect("foreign FENCE_WAIT", stranger.ioctl(NR["FENCE_WAIT"], channel=ch.channel)[0],
                            -errno.ENOENT)
                self.expect("foreign CHANNEL_FREE", stranger.ioctl(NR["CHANNEL_FREE"], channel=ch.channel)[0],
                            -errno.ENOENT)
            self.expect("own GEM_INFO after the stranger", owner.ioctl(NR["GEM_INFO"], handle=bo.handle)[0], 0)
        finally:
            owner.close()
            stranger.close()

    def mmaps(self, rng: random.Random) -> None:
        c = Client(self.path)
        try:
            self.expect("OPEN", c.open(rng.randrange(CARDS)), 0)
            reply, bo = c.ioctl(NR["GEM_NEW"], size=2 * PAGE, domain=rng.choice([1, 2]))
            self.expect("GEM_NEW", reply, 0)
            for length in (0, 2 * PAGE + 1, 1 << 40, (1 << 64) - 1):
                self.expect(f"mmap of {length} bytes", c.call(wire.request(wire.MMAP, 0, bo.map_offset, length)),
                            -errno.EINVAL)
            for _ in range(rng.randint(1, 6)):
                offset = rng.choice([0, bo.map_offset + PAGE, bo.map_offset - PAGE, rng.getrandbits(64),
                                     1 << 32, 1 << 40, 1 << 48])
                if offset == bo.map_offset:
                    continue
                self.expect(f"mmap at {offset:#x}", c.call(wire.request(wire.MMAP, 0, offset, PAGE)), -errno.EINVAL)
            c.send(wire.request(wire.MMAP, 0, bo.map_offset, 2 * PAGE))
            reply = c.recv()
            assert reply is not None
            self.expect("mmap", reply, 0)
            for fd in reply.fds:               # memory a client maps must keep its size
                try:
                    os.ftruncate(fd, 0)
                    self.problem("a client could shrink the memory the card uses (SIGBUS in the daemon)")
                except OSError:
                    pass
                finally:
                    os.close(fd)
        finally:
            c.close()

    def pages(self, rng: random.Random) -> None:
        """PAGES with bad ranges and descriptors that are not sealed memfds."""
        c = Client(self.path)
        base = (rng.getrandbits(30) + 1) * PAGE
        memfd = os.memfd_create("fuzz", os.MFD_ALLOW_SEALING)
        r, w = os.pipe()
        try:
            self.expect("OPEN", c.open(rng.randrange(CARDS)), 0)
            os.ftruncate(memfd, 4 * PAGE)
            for what, addr, length, fds in (
                    ("no descriptor", base, PAGE, []), ("two descriptors", base, PAGE, [memfd, memfd]),
                    ("unaligned address", base + 1, PAGE, [memfd]), ("empty range", base, 0, [memfd]),
                    ("unaligned length", base, PAGE + 3, [memfd]), ("a pipe", base, PAGE, [r]),
                    ("beyond the memfd", base, 1 << 40, [memfd]), ("huge range", base, (1 << 64) - PAGE, [memfd]),
                    ("an unsealed memfd", base, PAGE, [memfd])):
                self.expect(f"PAGES with {what}", c.call(wire.request(wire.PAGES, 0, addr, length), fds),
                            -errno.EINVAL)
            fcntl.fcntl(memfd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK)
            self.expect("PAGES", c.call(wire.request(wire.PAGES, 0, base, 4 * PAGE), [memfd]), 0)
            reply, _ = c.ioctl(NR["GEM_USERPTR"], host_addr=base + PAGE, size=2 * PAGE)
            self.expect("GEM_USERPTR of shared pages", reply, 0, -errno.EEXIST)
            self.expect("GEM_USERPTR past shared pages",
                        c.ioctl(NR["GEM_USERPTR"], host_addr=base + 2 * PAGE, size=4 * PAGE)[0], -errno.EFAULT)
        finally:
            for fd in (memfd, r, w):
                os.close(fd)
            c.close()

    def descriptors(self, rng: random.Random) -> None:
        """Descriptors where none belong, and more than any message takes."""
        c = Client(self.path)
        fds = [os.open("/dev/null", os.O_RDONLY) for _ in range(rng.randint(1, 12))]
        try:
            op = rng.choice([wire.HELLO, wire.IOCTL, wire.MMAP, wire.STATUS, wire.OPEN, wire.PAGES, 77])
            c.send(wire.request(op, wire.PROTOCOL if op == wire.HELLO else 0), fds)
            reply = c.recv()
            if reply is None or reply.rc >= 0 and op not in (wire.OPEN,) or reply.rc > 0:
                self.problem(f"op {op} with {len(fds)} descriptors: {reply and reply.rc}")
            if reply:
                for fd in reply.fds:
                    os.close(fd)
        finally:
            for fd in fds:
                os.close(fd)
            c.close()

    def crowd(self, rng: random.Random) -> None:
        """Many connections at once, most left mid-request."""
        clients = []
        try:
            for _ in range(rng.randint(20, 120)):
                c = Client(self.path)
                clients.append(c)
                roll = rng.random()
                if roll < 0.3:
                    c.send(wire.request(wire.HELLO, wire.PROTOCOL))
                elif roll < 0.6:
                    c.send(wire.request(wire.OPEN, rng.randrange(CARDS)))
                    c.send(wire.request(wire.IOCTL, REQUESTS[NR["GEM_NEW"]],
                                        payload=struct.pack("<QII", PAGE, 1, 0) + bytes(SIZES[NR["GEM_NEW"]] - 16)))
        finally:
            for c in clients:
                c.close()

    def endless_wait(self, rng: random.Random) -> None:
        """A fence wait of 49 days, then the client goes: its session must end with it."""
        c = Client(self.path)
        try:
            self.expect("OPEN", c.open(rng.randrange(CARDS)), 0)
            reply, ch = c.ioctl(NR["CHANNEL_ALLOC"])
            if reply.rc == 0:
                arg = ffi.new("struct aidev_fence_wait *", {"channel": ch.channel, "slot": 1, "seq": 1 << 60,
                                                            "timeout_ms": 0xFFFFFFFF})
                c.send(wire.request(wire.IOCTL, REQUESTS[NR["FENCE_WAIT"]], payload=bytes(ffi.buffer(arg))))
                time.sleep(rng.uniform(0, 0.2))
        finally:
            c.close()

    def segments(self, rng: random.Random) -> None:
        """Shared segments between connections closed in any order: none may outlive them all."""
        minor, key = rng.randrange(CARDS), rng.choice([0, 1, 2, 0xFFFFFFFF])
        a, b = Client(self.path), Client(self.path)
        try:
            self.expect("OPEN", a.open(minor), 0)
            self.expect("OPEN", b.open(minor), 0)
            reply, got = a.ioctl(NR["SHM_GET"], key=key, size=rng.choice([1, PAGE, 1 << 20]), flags=1)
            # another worker's segment of the key may be smaller than asked for (EINVAL)
            self.expect("SHM_GET create", reply, 0, -errno.ENOMEM, -errno.EINVAL)
            if reply.rc:
                return
            reply, att = b.ioctl(NR["SHM_ATTACH"], id=got.id)
            self.expect("SHM_ATTACH from another connection", reply, 0, -errno.ENOENT)
            for _ in range(rng.randint(0, 4)):
                c, roll = rng.choice([a, b]), rng.randrange(5)
                if roll == 0:
                    c.ioctl(NR["SHM_ATTACH"], id=rng.choice([got.id, rng.getrandbits(32)]))
                elif roll == 1:
                    c.ioctl(NR["SHM_CTL"], id=got.id, cmd=rng.choice([0, 2, 9]))
                elif roll == 2:
                    c.ioctl(NR["GEM_FREE"], handle=rng.randint(1, 4))
                elif roll == 3:
                    c.ioctl(NR["SHM_GET"], flags=4, handle=rng.randint(0, 4))
                else:
                    c.ioctl(NR["SHM_GET"], key=key, size=rng.getrandbits(64), flags=rng.getrandbits(3))
        finally:
            for c in rng.sample([a, b], 2):
                c.close()

    SCENARIOS: list[tuple[str, float]] = [
        ("garbage", 3), ("frames", 2), ("ioctls", 3), ("buffers", 2), ("foreign", 2), ("mmaps", 2),
        ("pages", 2), ("descriptors", 2), ("crowd", 0.5), ("endless_wait", 0.5), ("segments", 2)]

    def worker(self, index: int, deadline: float) -> None:
        rng = random.Random(self.seed * 1000 + index)
        names = [name for name, _ in self.SCENARIOS]
        weights = [weight for _, weight in self.SCENARIOS]
        while time.monotonic() < deadline and len(self.problems) < 50:
            name = rng.choices(names, weights)[0]
            scenario: Callable[[random.Random], None] = getattr(self, name)
            try:
                scenario(rng)
            except Hang:
                self.problem(f"{name}: the daemon did not answer within {ANSWER_S:g} s")
            except ConnectionRefusedError:
                self.problem(f"{name}: the daemon no longer accepts connections")
                return
            except (AssertionError, OSError) as exc:
                self.problem(f"{name}: {type(exc).__name__}: {exc}")
            with self._lock:
                self.counts[name] = self.counts.get(name, 0) + 1


# ---- the daemon and the honest client ----
def _status(path: Path) -> dict[str, Any]:
    c = Client(path)
    try:
        c.hello()
        return dict(json.loads(c.call(wire.request(wire.STATUS)).payload))
    finally:
        c.close()


def _fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        line = next(line for line in f if line.startswith("VmRSS:"))
    return int(line.split()[1]) << 10


class Honest:
    """The honest client: a subprocess whose data and kernels the fuzzer checks."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", HONEST], cwd=ROOT, env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise RuntimeError(f"the honest client did not start: {err}")

    def check(self, n: int) -> str | None:
        """None when the client's kernel and memory are right, else what is wrong."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(f"{n}\n")
            self.proc.stdin.flush()
        except OSError as exc:
            return f"the honest client is gone: {exc}"
        line = self.proc.stdout.readline().strip()
        return None if line == "ok" else f"honest client: {line or 'no answer (it died)'}"

    def stop(self) -> str:
        try:
            _, err = self.proc.communicate("", timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return err


def _settle(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def run(seconds: float, seed: int = 1, workers: int = 4, log: Callable[[str], None] = lambda _: None) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="cardd-fuzz-") as tmp:
        run_dir = Path(tmp) / "run"
        run_dir.mkdir(mode=0o700)
        env = {**os.environ, "GDEV_TRANSPORT": "cardd", "XDG_RUNTIME_DIR": str(run_dir),
               "GDEV_CARDD_IDLE_S": "120", "GDEV_SIM_CARDS": str(CARDS), "GDEV_SIM_VRAM": "256M",
               "GDEV_ENGINE": "interp", "GDEV_LOG": os.environ.get("FUZZ_LOG", ""), "PYTHONPATH": str(ROOT)}
        honest = Honest(env)
        [path] = (run_dir / "gdev-shim").glob("cardd-*.sock")
        status = _status(path)
        pid = status["pid"]
        base_vram = [card.get("vram_used", 0) for card in status["cards"]]
        base_fds, base_rss = _fd_count(pid), _rss(pid)
        fuzzer = Fuzzer(path, seed)
        try:
            _fuzz(fuzzer, honest, pid, seconds, workers, log)
            _check_after(fuzzer, honest, path, pid, base_vram, base_fds, base_rss, log)
        finally:
            err = honest.stop()
            try:
                os.kill(pid, 15)
            except ProcessLookupError:
                pass
        if fuzzer.problems:
            if err:
                fuzzer.problem(f"honest client's stderr: {err[-2000:]}")
            for daemon_log in (run_dir / "gdev-shim").glob("cardd-*.log"):
                fuzzer.problem(f"daemon log: {daemon_log.read_text(errors='replace')[-3000:]}")
        log(f"scenarios run: {fuzzer.counts}")
        return fuzzer.problems


def _fuzz(fuzzer: Fuzzer, honest: Honest, pid: int, seconds: float, workers: int,
          log: Callable[[str], None]) -> None:
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=fuzzer.worker, args=(i, deadline), daemon=True) for i in range(workers)]
    for t in threads:
        t.start()
    n = 1
    while any(t.is_alive() for t in threads):
        time.sleep(min(2.0, max(0.0, deadline - time.monotonic())))
        n += 1
        if not _alive(pid):
            fuzzer.problem("the daemon died")
            break
        problem = honest.check(100 + n)
        if problem:
            fuzzer.problem(f"during the fuzzing: {problem}")
            break
    for t in threads:
        t.join(ANSWER_S * 4)
        if t.is_alive():
            fuzzer.problem("a fuzzing thread never finished (the daemon hangs)")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def _check_after(fuzzer: Fuzzer, honest: Honest, path: Path, pid: int, base_vram: list[int],
                 base_fds: int, base_rss: int, log: Callable[[str], None]) -> None:
    if not _alive(pid):
        fuzzer.problem("the daemon died")
        return
    start = time.monotonic()
    try:
        _status(path)
    except (OSError, Hang, AssertionError) as exc:
        fuzzer.problem(f"the daemon does not answer HELLO afterwards: {exc}")
        return
    log(f"HELLO answered in {time.monotonic() - start:.3f} s")
    problem = honest.check(1000)
    if problem:
        fuzzer.problem(f"afterwards: {problem}")

    def released() -> bool:
        cards = _status(path)["cards"]
        return (len([c for card in cards for c in card["clients"]]) == 1
                and [card.get("vram_used", 0) for card in cards] == base_vram
                and all(card.get("channels", 0) == (1 if card["index"] == 0 else 0) for card in cards
                        if "channels" in card))
    if not _settle(released, 20):
        fuzzer.problem(f"the hostile clients' objects were not all released: {json.dumps(_status(path)['cards'])}")
    # the card and its engines may open a few descriptors of their own on first use
    if not _settle(lambda: _fd_count(pid) <= base_fds + 8, 20):
        fuzzer.problem(f"the daemon leaks descriptors: {base_fds} before, {_fd_count(pid)} after")
    grown = _rss(pid) - base_rss
    log(f"daemon: {_fd_count(pid)} descriptors ({base_fds} before), resident memory grew {grown >> 20} MiB")
    if grown > 512 << 20:
        fuzzer.problem(f"the daemon's resident memory grew by {grown >> 20} MiB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--workers", type=int, default=4)
    options = parser.parse_args()
    print(f"fuzzing the card daemon for {options.seconds:g} s, seed {options.seed}", flush=True)
    problems = run(options.seconds, options.seed, options.workers, log=lambda text: print(text, flush=True))
    for problem in problems:
        print("PROBLEM", problem)
    print("no problems found" if not problems else f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
