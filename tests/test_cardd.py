"""The card daemon: one simulated card shared by every process, with a driver's release semantics.

Each test's processes reach a daemon of their own (a private runtime directory), so
killing it disturbs nothing else; the pytest process itself stays out of it (a lost
device is sticky for a process).
"""
from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from gdev_shim.common import cardwire as wire
from helpers import ROOT, daemon_pids

SPIN_PTX = (Path(__file__).resolve().parent / "kernels" / "spin.ptx").read_text()
MiB = 1 << 20


def _python(env: dict, code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _run(env: dict, code: str, timeout: float = 120) -> str:
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


USED_ON_CARD_2 = "import gdev_shim; free, total = gdev_shim.Device(2).mem_info(); print(total - free)"
HOLD_256M = """
import sys, numpy as np, gdev_shim
d = gdev_shim.Device(2)
m = d.malloc(256 << 20)
m.copy_from(np.full(1 << 20, 7, np.uint8))
print("holding", flush=True)
sys.stdin.readline()
"""


def test_memory_is_visible_across_processes_and_returns_on_exit(daemon_env):
    before = int(_run(daemon_env, USED_ON_CARD_2))
    holder = _python(daemon_env, HOLD_256M)
    assert holder.stdout.readline().strip() == "holding", holder.stderr.read()
    during = int(_run(daemon_env, USED_ON_CARD_2))
    assert during - before >= 256 * MiB
    holder.communicate("\n", timeout=60)
    assert holder.returncode == 0
    after = int(_run(daemon_env, USED_ON_CARD_2))
    assert after == before


def test_sigkill_of_a_client_mid_kernel_returns_its_memory(daemon_env):
    before = int(_run(daemon_env, USED_ON_CARD_2))
    victim = _python(daemon_env, f"""
import numpy as np, gdev_shim
d = gdev_shim.Device(2)
keep = d.malloc(128 << 20)
out = d.malloc(4)
k = d.load_module({SPIN_PTX!r}).spin
for _ in range(20):
    k(out, np.uint32(50_000_000))
print("launched", flush=True)
d.synchronize()
""")
    assert victim.stdout.readline().strip() == "launched", victim.stderr.read()
    victim.kill()
    victim.wait(timeout=30)
    # the others go on: a second client runs its own kernel and gets its result
    result = _run(daemon_env, f"""
import numpy as np, gdev_shim
d = gdev_shim.Device(2)
out = d.malloc(4)
d.load_module({SPIN_PTX!r}).spin(out, np.uint32(1000))
print(int(out.to_numpy(np.uint32)[0]))
""")
    assert int(result) == 3000
    deadline = time.monotonic() + 60
    while int(_run(daemon_env, USED_ON_CARD_2)) != before:
        assert time.monotonic() < deadline, "the killed client's memory never came back"
        time.sleep(0.2)


def test_daemon_death_is_a_prompt_sticky_error_and_the_next_process_starts_another(daemon_env):
    client = _python(daemon_env, f"""
import sys, time, numpy as np, gdev_shim
from gdev_shim.pyapi import DeviceError
d = gdev_shim.Device(0)
out = d.malloc(4)
k = d.load_module({SPIN_PTX!r}).spin
k(out, np.uint32(10))
d.synchronize()
print("ready", flush=True)
sys.stdin.readline()
codes = []
for attempt in range(2):
    start = time.monotonic()
    try:
        k(out, np.uint32(10))
        d.synchronize()
        codes.append("ok")
    except DeviceError as exc:
        codes.append(exc.name)
    print(codes[-1], round(time.monotonic() - start, 3), flush=True)
""")
    assert client.stdout.readline().strip() == "ready", client.stderr.read()
    [pid] = daemon_pids(Path(daemon_env["XDG_RUNTIME_DIR"]))
    os.kill(pid, signal.SIGKILL)
    out, err = client.communicate("\n", timeout=60)
    lines = [line.split() for line in out.splitlines()]
    assert [name for name, _ in lines] == ["SDAA_ERROR_DEVICE_UNAVAILABLE"] * 2, err
    assert all(float(seconds) < 2.0 for _, seconds in lines)
    assert "card daemon is gone" in err
    assert int(_run(daemon_env, USED_ON_CARD_2)) >= 0          # a new daemon serves the next process
    assert daemon_pids(Path(daemon_env["XDG_RUNTIME_DIR"])) != [pid]


def test_kernel_printf_and_fault_reports_reach_the_client(daemon_env):
    proc = subprocess.run([sys.executable, "-c", """
import gdev_shim
from gdev_shim.pyapi import DeviceError
d = gdev_shim.Device(1)
ptx = '''
.version 7.0
.target sm_80
.address_size 64
.visible .entry bad(.param .u64 p)
{
    .reg .b64 %rd<2>;
    .reg .b32 %r<2>;
    ld.param.u64 %rd1, [p];
    mov.u32 %r1, 5;
    st.global.u32 [%rd1], %r1;
    ret;
}
'''
try:
    d.load_module(ptx).bad(0x10)
    d.synchronize()
except DeviceError as exc:
    print("error", exc.name)
"""], cwd=ROOT, env=daemon_env, capture_output=True, text=True, timeout=120)
    assert "error SDAA_ERROR_LAUNCH_FAILED" in proc.stdout, proc.stderr
    assert "compute fault" in proc.stderr and "kernel bad" in proc.stderr


def _daemon_in_thread(tmp_path: Path, owner_uid: int) -> Path:
    from gdev_shim.cardd.server import CardDaemon
    path = tmp_path / "test.sock"
    daemon = CardDaemon(path, idle_s=float("inf"), owner_uid=owner_uid)
    ready_r, ready_w = os.pipe()
    threading.Thread(target=daemon.serve, args=(ready_w,), daemon=True).start()
    assert os.read(ready_r, 1) == b"1"
    os.close(ready_r)
    return path


def _exchange(sock: socket.socket, message: bytes, fds: list[int] | None = None) -> tuple[int, bytes]:
    socket.send_fds(sock, [message], fds) if fds else sock.send(message)
    data = sock.recv(wire.MAX_MESSAGE)
    rc = wire.REPLY.unpack_from(data)[0]
    return rc, data[wire.REPLY.size:]


def test_another_user_is_refused(tmp_path):
    path = _daemon_in_thread(tmp_path, owner_uid=os.getuid() + 1)
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as sock:
        sock.connect(str(path))
        rc, _ = _exchange(sock, wire.request(wire.HELLO, wire.PROTOCOL))
        assert rc == -errno.EACCES
        assert sock.recv(64) == b""            # and the connection is closed


def test_runtime_directory_of_another_mode_is_refused(tmp_path, monkeypatch):
    run = tmp_path / "open"
    (run / "gdev-shim").mkdir(parents=True)
    (run / "gdev-shim").chmod(0o777)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    with pytest.raises(PermissionError, match="mode 0700"):
        wire.runtime_dir()


def test_a_daemon_that_hangs_up_on_hello_is_tried_again(tmp_path, monkeypatch):
    """A daemon leaving after its idle period drops connections still queued; the client
    connects again rather than calling the device lost."""
    from gdev_shim.aidev import daemon as client
    path = tmp_path / "flaky.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(str(path))
    listener.listen(4)
    answered = []

    def serve() -> None:
        first, _ = listener.accept()
        first.close()                                   # hung up, as a leaving daemon does
        second, _ = listener.accept()
        second.recv(wire.MAX_MESSAGE)
        second.send(wire.reply(0, 4, os.getpid()))
        answered.append(second)

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    monkeypatch.setattr(client, "daemon_socket", lambda: path)
    sock = client.DaemonTransport()._connect()
    server.join(10)
    assert answered and sock.fileno() >= 0
    sock.close()
    listener.close()


def test_a_daemon_leaving_after_its_idle_period_leaves_only_the_directory_lock(daemon_env):
    """Keys change with every change of the code: a daemon that leaves normally takes its
    socket and its log (nothing worth reading in it) along; one lock serves the directory."""
    env = {**daemon_env, "GDEV_CARDD_IDLE_S": "0.3"}
    assert int(_run(env, USED_ON_CARD_2)) >= 0
    folder = Path(env["XDG_RUNTIME_DIR"]) / "gdev-shim"
    deadline = time.monotonic() + 30
    while list(folder.glob("cardd-*")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sorted(p.name for p in folder.iterdir()) == ["cardd.lock"]
