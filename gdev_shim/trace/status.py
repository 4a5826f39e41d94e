"""Status files: what each process using simulated cards publishes for gdev-smi.

Simulated cards live inside the process that uses them, so no other process
can ask them anything.  Instead each such process writes a small JSON file,
`<status_dir>/<pid>.json` (GDEV_STATUS_DIR, default /tmp/gdev-shim-$UID), every
GDEV_STATUS_INTERVAL_MS (500; 0 turns publishing off) and removes it at exit.
gdev-smi reads these files; a file whose process is gone is stale and removed.

File format (version 1):
    {"format": 1, "pid": 123, "command": "user_test", "updated": <unix time>,
     "interval_ms": 500,
     "cards": [{"index": 0, "name": "aicard-sim", "vram_total": ..., "vram_used": ...,
                "channels": 2, "max_channels": 64, "opens": 1,
                "busy_ns": {"copy": ..., "compute": ...},
                "commands": {"copy": ..., "compute": ...}, "copy_bytes": ...,
                "utilization": {"copy": 0.12, "compute": 0.80}}]}
`opens` counts open device files (one per Gdev handle / driver context);
`utilization` is the busy fraction of each engine over the last interval.
"""
from __future__ import annotations

import atexit
import json
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable

from ..settings import settings
from .recorder import now_ns

FORMAT = 1
Sample = Callable[[], list[dict[str, Any]]]

_lock = threading.Lock()
_publisher: "Publisher | None" = None
_disabled = False


def status_dir() -> Path:
    return settings.status_dir


def command_name() -> str:
    try:
        raw = Path("/proc/self/cmdline").read_bytes().split(b"\0")[0]
        return os.path.basename(raw.decode(errors="replace")) or "?"
    except OSError:
        return "?"


class Publisher:
    """A daemon thread writing this process's status file every interval."""

    def __init__(self, sample: Sample, directory: Path, interval_s: float) -> None:
        self.sample = sample
        self.path = directory / f"{os.getpid()}.json"
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._previous: dict[int, tuple[int, dict[str, int]]] = {}
        self._started_ns = now_ns()
        self.thread = threading.Thread(target=self._run, daemon=True, name="gdev-status")

    def start(self) -> None:
        self.thread.start()

    def document(self) -> dict[str, Any]:
        """The status as it would be written now (utilisation since the previous call)."""
        at = now_ns()
        cards = self.sample()
        for card in cards:
            before_at, before = self._previous.get(card["index"], (self._started_ns, {}))
            span = max(at - before_at, 1)
            card["utilization"] = {engine: round(min(1.0, (busy - before.get(engine, 0)) / span), 4)
                                   for engine, busy in card["busy_ns"].items()}
            self._previous[card["index"]] = (at, dict(card["busy_ns"]))
        return {"format": FORMAT, "pid": os.getpid(), "command": command_name(), "updated": time.time(),
                "interval_ms": int(self.interval_s * 1000), "cards": cards}

    def write(self) -> None:
        text = json.dumps(self.document())
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(text)
            tmp.replace(self.path)
        except OSError:
            self._stop.set()            # no place to publish: stay quiet rather than retry forever

    def _run(self) -> None:
        while not self._stop.is_set():
            self.write()
            self._stop.wait(self.interval_s)

    def close(self) -> None:
        self._stop.set()
        try:
            self.path.unlink()
        except OSError:
            pass


def watch(sample: Sample) -> None:
    """Start publishing `sample()` for this process (once; a no-op when turned off)."""
    global _publisher
    if _publisher is not None or _disabled:
        return
    interval_ms = settings.status_interval_ms
    if interval_ms <= 0:
        return
    with _lock:
        if _publisher is not None:
            return
        _publisher = Publisher(sample, status_dir(), interval_ms / 1000.0)
        atexit.register(_publisher.close)
        _publisher.start()


def disable_publishing() -> None:
    """This process shows no status (gdev-smi itself opens cards only to describe them)."""
    global _disabled
    _disabled = True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_all(directory: Path | None = None) -> list[dict[str, Any]]:
    """Every live process's status document (stale files of dead processes are removed)."""
    directory = directory if directory is not None else status_dir()
    found: list[dict[str, Any]] = []
    try:
        files = sorted(directory.glob("*.json"))
    except OSError:
        return found
    for path in files:
        try:
            doc = json.loads(path.read_text())
            pid = int(doc["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue                   # being replaced, or not one of ours
        if doc.get("format") != FORMAT:
            continue
        if not _alive(pid):
            try:
                path.unlink()
            except OSError:
                pass
            continue
        found.append(doc)
    return found
