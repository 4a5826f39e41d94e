"""gdev-smi: the card daemon's view, status files of processes with private cards, engine
activity, the CLI."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from gdev_shim import smi
from gdev_shim.trace import status
from gdev_shim.trace.device import COMPUTE, COPY, EngineActivity
from helpers import ROOT

USER = r"""
import sys
from gdev_shim.gdev import api as g
h = g.gopen(1)
mem = g.gmalloc(h, 3 << 20)
q = g.gqueue_open(h)                       # a stream: a second channel
print("ready", flush=True)
sys.stdin.readline()
"""


def _env(status_dir: Path, transport: str = "sim") -> dict[str, str]:
    """Private cards publish status files into `status_dir`; the daemon's runtime directory
    is there too, so a test's daemon is its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GDEV_")}
    run_dir = status_dir / "run"
    run_dir.mkdir(mode=0o700, exist_ok=True)
    env.update(PYTHONPATH=str(ROOT), GDEV_STATUS_DIR=str(status_dir), GDEV_STATUS_INTERVAL_MS="50",
               GDEV_TRANSPORT=transport, XDG_RUNTIME_DIR=str(run_dir), GDEV_CARDD_IDLE_S="5")
    return env


def _smi(status_dir: Path, *args: str, transport: str = "sim") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gdev_shim.smi", "--status-dir", str(status_dir), *args],
                          env=_env(status_dir, transport), capture_output=True, text=True, timeout=60)


def _wait_for_publication(status_dir: Path, pid: int, vram_used: int) -> None:
    """Until the process's status file shows its allocation: it is rewritten every interval,
    and gdev-smi starts faster than that on an idle machine, slower on a busy one."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        docs = [d for d in status.read_all(status_dir) if d["pid"] == pid]
        if docs and any(c["vram_used"] >= vram_used for c in docs[0]["cards"]):
            return
        time.sleep(0.02)
    raise AssertionError(f"process {pid} published no status with {vram_used} bytes in use")


def test_smi_shows_another_process_using_a_card(tmp_path):
    user = subprocess.Popen([sys.executable, "-c", USER], env=_env(tmp_path), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert user.stdout.readline().strip() == "ready"
        _wait_for_publication(tmp_path, user.pid, 3 << 20)
        snap = json.loads(_smi(tmp_path, "--json").stdout)
        text = _smi(tmp_path).stdout
    finally:
        user.communicate("\n", timeout=30)
    assert snap["transport"] == "simulated" and len(snap["cards"]) == 4
    card = snap["cards"][1]
    assert card["vram_total"] == 4 << 30 and card["max_channels"] == 64
    assert card["vram_used"] >= 3 << 20 and card["channels"] == 2 and card["contexts"] == 1
    assert [p["pid"] for p in card["processes"]] == [user.pid]
    assert all(c["processes"] == [] and c["vram_used"] == 0 for i, c in enumerate(snap["cards"]) if i != 1)
    assert f"{user.pid:>8}" in text and "3.0 MiB" in text and " 2/64 " in text
    # gone with the process, and smi itself published nothing
    assert user.returncode == 0 and list(tmp_path.glob("*.json")) == []
    after = json.loads(_smi(tmp_path, "--json").stdout)
    assert all(c["processes"] == [] for c in after["cards"])


BUSY_USER = USER.replace('print("ready", flush=True)', """
import numpy as np
src = g.gmalloc(h, 64 << 20)
for _ in range(3):
    g.gmemcpy(h, mem, src, 3 << 20)
print("ready", flush=True)""")


def test_smi_asks_the_daemon_for_every_process_on_a_card(tmp_path):
    user = subprocess.Popen([sys.executable, "-c", USER], env=_env(tmp_path, "cardd"), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert user.stdout.readline().strip() == "ready"
        snap = json.loads(_smi(tmp_path, "--json", transport="cardd").stdout)
        text = _smi(tmp_path, transport="cardd").stdout
    finally:
        user.communicate("\n", timeout=30)
    assert snap["transport"] == "daemon" and len(snap["cards"]) == 4 and snap["daemon_pid"] > 0
    card = snap["cards"][1]
    assert card["vram_total"] == 4 << 30 and card["max_channels"] == 64
    assert card["vram_used"] >= 3 << 20 and card["channels"] == 2 and card["contexts"] == 1
    [proc] = card["processes"]
    assert proc["pid"] == user.pid and proc["vram_used"] >= 3 << 20 and proc["channels"] == 2
    assert all(c["processes"] == [] and c["vram_used"] == 0 for i, c in enumerate(snap["cards"]) if i != 1)
    assert f"{user.pid:>8}" in text and "daemon transport" in text and " 2/64 " in text
    after = json.loads(_smi(tmp_path, "--json", transport="cardd").stdout)
    assert all(c["processes"] == [] and c["vram_used"] == 0 for c in after["cards"])


def test_stale_status_files_are_dropped(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    pid = int(dead.stdout)
    (tmp_path / f"{pid}.json").write_text(json.dumps({"format": status.FORMAT, "pid": pid, "cards": []}))
    (tmp_path / "garbage.json").write_text("{not json")
    live = {"format": status.FORMAT, "pid": os.getpid(), "cards": []}
    (tmp_path / f"{os.getpid()}.json").write_text(json.dumps(live))
    assert [d["pid"] for d in status.read_all(tmp_path)] == [os.getpid()]
    assert not (tmp_path / f"{pid}.json").exists()


def test_engine_activity_counts_overlap_once():
    act = EngineActivity()
    act.begin(COPY, 1000)
    act.begin(COPY, 1500)            # a second channel's copy overlapping the first
    act.end(COPY, 2000, nbytes=64)
    act.end(COPY, 3000, nbytes=32)
    act.begin(COMPUTE, 3000)
    snap = act.snapshot(3500)        # the kernel is still running
    assert snap["busy_ns"] == {"copy": 2000, "compute": 500}
    assert snap["commands"] == {"copy": 2, "compute": 0} and snap["copy_bytes"] == 96


def test_publisher_reports_utilisation_since_its_last_sample(tmp_path):
    samples = iter([[{"index": 0, "busy_ns": {"copy": 0, "compute": 0}}],
                    [{"index": 0, "busy_ns": {"copy": 0, "compute": 10**12}}]])
    pub = status.Publisher(lambda: next(samples), tmp_path, 1.0)
    first = pub.document()
    second = pub.document()
    assert first["cards"][0]["utilization"] == {"copy": 0.0, "compute": 0.0}
    assert second["cards"][0]["utilization"]["compute"] == 1.0      # capped at 100 %
    assert second["pid"] == os.getpid() and second["format"] == status.FORMAT


def test_render_lists_cards_and_processes():
    snap = {"transport": "simulated", "status_dir": "/x", "cards": [
        {"index": 0, "name": "aicard-sim", "vram_total": 4 << 30, "vram_used": 1 << 20, "channels": 1,
         "max_channels": 64, "contexts": 1, "utilization": {"copy": 0.25, "compute": 0.5},
         "processes": [{"pid": 42, "command": "user_test", "vram_used": 1 << 20, "channels": 1,
                        "contexts": 1, "utilization": {"copy": 0.25, "compute": 0.5}}]}]}
    text = smi.render(snap)
    assert "1.0 MiB / 4.0 GiB" in text and "25%" in text and "50%" in text
    assert "      42  user_test" in text
