"""Virtual-GPU scheduling across processes: clients of one card daemon share a card's
compute engine by the daemon's policy (GDEV_SCHED) and their priorities (GDEV_PRIORITY).

Bounds are loose: the machine is shared and small; tight figures belong to the
benchmark (bench/vgpu_sched.py).  Each test's processes reach a daemon of their own.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from gdev_shim.common import cardwire as wire
from helpers import ENV, ROOT, daemon_status
from test_cardd import SPIN_PTX

# Each process: warm up, say ready, wait for "go", then launch argv[4] kernels of argv[1]
# iterations on each of its argv[3] streams and wait for them, again and again, for
# argv[2] seconds.
_CLIENT_START = f"""
import sys, time, numpy as np, gdev_shim
d = gdev_shim.Device(0)
out = d.malloc(4)
k = d.load_module({SPIN_PTX!r}).spin
n = np.uint32(int(sys.argv[1]))
streams = [d.stream(non_blocking=True) for _ in range(int(sys.argv[3]))]
k(out, n); d.synchronize()
print("ready", flush=True)
sys.stdin.readline()
def batch():
    for _ in range(int(sys.argv[4])):
        for s in streams:
            k(out, n, stream=s)
stop = time.monotonic() + float(sys.argv[2])
"""
CLIENT = _CLIENT_START + """
while time.monotonic() < stop:
    batch()
    for s in streams:
        s.synchronize()
print("done", flush=True)
"""
# The same, but each stream always keeps between argv[4] and twice argv[4] kernels queued:
# a batch is queued before the previous one is waited for, so a client that the host is
# slow to reschedule (a loaded machine) still has work waiting when each kernel ends.
QUEUED_CLIENT = _CLIENT_START + """
batch()
pending = [s.record() for s in streams]
while time.monotonic() < stop:
    batch()
    queued = [s.record() for s in streams]
    for event in pending:
        event.synchronize()
    pending = queued
d.synchronize()
print("done", flush=True)
"""
SPIN_N = 10_000_000          # tens of ms a kernel: far longer than a client takes to come back
WINDOW_S = 2.0


@pytest.fixture
def run_dir():
    # not under pytest's basetemp: another pytest run of the same user may prune that
    # while these clients still talk to the daemon whose socket lies there
    path = Path(tempfile.mkdtemp(prefix="gdev-sched-test-"))
    yield path
    for sock in (path / "gdev-shim").glob("cardd-*.sock"):
        try:
            os.kill(daemon_status(sock)["pid"], signal.SIGTERM)
        except OSError:
            pass
    shutil.rmtree(path, ignore_errors=True)


def _env(run_dir: Path, policy: str | None) -> dict[str, str]:
    env = {**ENV, "GDEV_TRANSPORT": "cardd", "XDG_RUNTIME_DIR": str(run_dir), "GDEV_CARDD_IDLE_S": "30",
           "GDEV_JIT_TIER": "opt"}
    env.pop("GDEV_SCHED", None)
    if policy is not None:
        env["GDEV_SCHED"] = policy
    return env


def _daemon_status(run_dir: Path) -> dict:
    [sock] = (run_dir / "gdev-shim").glob("cardd-*.sock")
    return daemon_status(sock)


def _compute_ns(status: dict) -> dict[int, int]:
    [card] = [c for c in status["cards"] if c["index"] == 0]
    return {c["pid"]: c["sched"]["compute"]["busy_ns"] for c in card["clients"] if "sched" in c}


def card_times(env: dict[str, str], priorities: list[int], streams: int = 1, depth: int = 1,
               spin: int = SPIN_N, client: str = CLIENT) -> list[float]:
    """Card seconds each client process was granted over a window in which all run."""
    run_dir = Path(env["XDG_RUNTIME_DIR"])
    procs = [subprocess.Popen([sys.executable, "-c", client, str(spin), str(WINDOW_S + 1.5), str(streams),
                               str(depth)],
                              cwd=ROOT, env={**env, "GDEV_PRIORITY": str(p)}, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for p in priorities]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready", \
                proc.stderr.read() if proc.stderr else ""
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        time.sleep(0.5)
        before = _compute_ns(_daemon_status(run_dir))
        time.sleep(WINDOW_S)
        after = _compute_ns(_daemon_status(run_dir))
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0 and out.split()[-1] == "done", err
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    return [(after[p.pid] - before[p.pid]) / 1e9 for p in procs]


def test_two_processes_of_equal_priority_share_the_card(run_dir):
    times = card_times(_env(run_dir, None), [20, 20])
    assert _daemon_status(run_dir)["sched"] == "band"           # Gdev's default
    assert sum(times) > 0.3 * WINDOW_S, times                   # they did compete for it
    assert min(times) / max(times) > 0.7, times


def test_band_honours_priorities_of_closed_loops(run_dir):
    # launch, wait, launch: BAND holds the engine for the loop's return
    times = card_times(_env(run_dir, "band"), [40, 20])
    share = times[0] / sum(times)
    assert share > 0.56, times                                 # 2/3 promised; 1/2 when ignored


def test_credit_honours_priorities_of_queued_work(run_dir):
    # CREDIT needs a request of each process waiting whenever a kernel ends (two streams
    # with eight to sixteen kernels queued each) and kernels shorter than a period, as Gdev
    # assumes (a debt past one period is forgiven)
    times = card_times(_env(run_dir, "credit"), [40, 20], streams=2, depth=8, spin=SPIN_N // 5,
                       client=QUEUED_CLIENT)
    share = times[0] / sum(times)
    assert share > 0.56, times                                 # 2/3 promised; 1/2 when ignored


def test_fifo_ignores_priorities(run_dir):
    env = _env(run_dir, "fifo")
    times = card_times(env, [40, 20], streams=2)
    assert 0.35 < times[0] / sum(times) < 0.62, times
    status = _daemon_status(run_dir)
    assert status["sched"] == "fifo"
    [card] = [c for c in status["cards"] if c["index"] == 0]
    assert card["sched"] == {"policy": "fifo", "period_us": 30000, "yield_us": None}


def test_the_policy_and_the_priority_are_checked(run_dir):
    env = _env(run_dir, "lottery")
    proc = subprocess.run([sys.executable, "-c", "import gdev_shim; gdev_shim.Device(0)"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "GDEV_SCHED='lottery' is not accepted" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "gdev_shim.cardd", "--sched", "lottery", "--socket",
                           str(run_dir / "x.sock")], cwd=ROOT, env=_env(run_dir, None), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and "GDEV_SCHED='lottery'" in proc.stderr
    env = {**_env(run_dir, None), "GDEV_PRIORITY": "41"}
    proc = subprocess.run([sys.executable, "-c", "import gdev_shim; gdev_shim.Device(0)"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "GDEV_PRIORITY='41' is not accepted" in proc.stderr


def test_open_refuses_a_priority_outside_gdevs_range(run_dir):
    # a client that skips the settings: the daemon checks the OPEN message itself
    out = subprocess.run([sys.executable, "-c", "import gdev_shim; gdev_shim.Device(0).mem_info()"], cwd=ROOT,
                         env=_env(run_dir, None), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    [sock_path] = (run_dir / "gdev-shim").glob("cardd-*.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as sock:
        sock.connect(str(sock_path))
        sock.send(wire.request(wire.HELLO, wire.PROTOCOL))
        sock.recv(wire.MAX_MESSAGE)
        for priority, expected in ((41, -22), (2**63, -22), (0, 0)):     # -EINVAL, then accepted
            sock.send(wire.request(wire.OPEN, 0, 0, priority))
            rc = wire.REPLY.unpack_from(sock.recv(wire.MAX_MESSAGE))[0]
            assert rc == expected, (priority, rc)


def test_smi_shows_the_policy_and_each_process_priority_and_share(run_dir):
    env = _env(run_dir, "credit")
    procs = [subprocess.Popen([sys.executable, "-c", CLIENT, str(SPIN_N), "6", "1", "1"], cwd=ROOT,
                              env={**env, "GDEV_PRIORITY": str(p)}, text=True, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for p in (33, 7)]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        time.sleep(1.0)
        smi = subprocess.run([sys.executable, "-m", "gdev_shim.smi", "--json"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
        shown = subprocess.run([sys.executable, "-m", "gdev_shim.smi"], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=120)
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    assert smi.returncode == 0, smi.stderr
    card = json.loads(smi.stdout)["cards"][0]
    assert card["sched"]["policy"] == "credit" and card["sched"]["period_us"] == 30000
    by_pid = {p["pid"]: p for p in card["processes"]}
    high, low = by_pid[procs[0].pid], by_pid[procs[1].pid]
    assert (high["priority"], low["priority"]) == (33, 7)
    assert high["share"]["compute"] + low["share"]["compute"] == pytest.approx(1.0, abs=0.01)
    assert high["share"]["compute"] > 0
    assert "scheduler: card 0 credit (period 30 ms)" in shown.stdout, shown.stderr
    assert " prio share" in shown.stdout
