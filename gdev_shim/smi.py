"""gdev-smi: the cards, their memory, channels, contexts and engine utilisation.

    gdev-smi [--json] [--status-dir DIR]        (also: python -m gdev_shim.smi)

With the card daemon (the default), the daemon answers: per card its scheduler
(GDEV_SCHED), per process its priority (GDEV_PRIORITY), its engines' utilisation
(the time the card's schedulers granted it) and its share of the compute time the
card gave its clients over the sampling interval.

Real cards (/dev/aicardN) answer AIDEV_IOCTL_GET_INFO: memory used and channels
in use card-wide; the kernel interface has no per-process accounting, so
processes and utilisation are not shown for them.

Simulated cards live inside each process that uses them: every such process
has cards of its own.  gdev-smi shows the card model's static description
(opening the cards itself, as any process may) and, per process, what that
process publishes in its status file (gdev_shim.trace.status): memory used,
channels, contexts (open device files) and engine utilisation over the last
publishing interval.  Card totals add the processes up (utilisation capped at
100 %).
"""
from __future__ import annotations

import argparse
import errno
import json
import os
import time
import sys
from pathlib import Path
from typing import Any

from .aidev.device import AidevDevice, AidevError, device_count, transport
from .aidev.daemon import DaemonTransport
from .aidev.sim import SimTransport
from .settings import SettingsError, settings
from .trace import status

ENGINES = ("copy", "compute")


def _static(minor: int) -> dict[str, Any]:
    dev = AidevDevice.open(minor)
    try:
        return dev.info()
    finally:
        dev.close()


def _own_process(tr: SimTransport) -> dict[str, Any] | None:
    """This process's cards, live (when it uses any)."""
    cards = [c for c in tr.cards_status() if c["opens"]]
    if not cards:
        return None
    for card in cards:
        card.setdefault("utilization", None)
    return {"pid": os.getpid(), "command": status.command_name(), "cards": cards}


def _utilization(before: dict[str, int], after: dict[str, int], span_ns: int) -> dict[str, float]:
    return {e: round(min(1.0, max(0, after.get(e, 0) - before.get(e, 0)) / span_ns), 4) for e in ENGINES}


def _daemon_snapshot(tr: DaemonTransport, interval_s: float) -> dict[str, Any]:
    """The daemon's cards and clients; utilisation is the engines' busy share over `interval_s`."""
    first = tr.status()
    time.sleep(interval_s)
    second = tr.status()
    span = max(1, int(interval_s * 1e9))
    earlier = {c["id"]: c.get("busy_ns", {}) for card in first["cards"] for c in card["clients"]}
    cards = []
    for old, new in zip(first["cards"], second["cards"]):
        info = _static(new["index"])
        processes: dict[int, dict[str, Any]] = {}
        for client in new["clients"]:
            proc = processes.setdefault(client["pid"], {
                "pid": client["pid"], "command": client["command"], "vram_used": 0, "vram_swapped": 0,
                "host_used": 0, "channels": 0, "contexts": 0, "utilization": {e: 0.0 for e in ENGINES},
                "priority": client.get("sched", {}).get("priority"), "share": {e: 0.0 for e in ENGINES}})
            proc["vram_used"] += client.get("vram", 0)
            proc["vram_swapped"] += client.get("swapped", 0)
            proc["host_used"] += client.get("host", 0)
            proc["channels"] += client.get("channels", 0)
            proc["contexts"] += 1
            share = _utilization(earlier.get(client["id"], client.get("busy_ns", {})), client.get("busy_ns", {}),
                                 span)
            proc["utilization"] = {e: round(min(1.0, proc["utilization"][e] + share[e]), 4) for e in ENGINES}
        # each process's share of what the card's engines did for its clients in the interval
        granted = {e: sum(p["utilization"][e] for p in processes.values()) for e in ENGINES}
        for proc in processes.values():
            proc["share"] = {e: round(proc["utilization"][e] / granted[e], 4) if granted[e] else 0.0
                             for e in ENGINES}
        cards.append({
            "index": new["index"], "name": info["name"], "chip_id": info["chip_id"],
            "vram_total": info["vram_size"], "max_channels": info["max_channels"],
            "spe_arrays": info["spe_arrays"], "spes_per_array": info["spes_per_array"],
            "vram_used": new.get("vram_used", 0), "vram_swapped": new.get("vram_swapped", 0),
            "swap": new.get("swap"), "channels": new.get("channels", 0),
            "contexts": len(new["clients"]),
            "sched": new.get("sched") or {"policy": second.get("sched")},
            "utilization": _utilization(old.get("busy_ns", {}), new.get("busy_ns", {}), span),
            "processes": sorted(processes.values(), key=lambda p: p["pid"])})
    return {"transport": "daemon", "daemon_pid": second["pid"], "status_dir": None, "cards": cards}


def snapshot(status_dir: Path | None = None, interval_s: float = 0.2) -> dict[str, Any]:
    """Everything gdev-smi shows, as one JSON-ready dict."""
    tr = transport()
    if isinstance(tr, DaemonTransport):
        try:
            return _daemon_snapshot(tr, interval_s)
        except OSError as exc:
            raise AidevError(exc.errno or errno.EIO, "cannot reach the card daemon") from exc
    simulated = isinstance(tr, SimTransport)
    processes: list[dict[str, Any]] = []
    if isinstance(tr, SimTransport):
        own = _own_process(tr)
        processes = [p for p in status.read_all(status_dir) if p["pid"] != os.getpid()]
        if own is not None:
            processes.append(own)
    cards = []
    for minor in range(device_count()):
        try:
            info = _static(minor)
        except AidevError as exc:
            cards.append({"index": minor, "error": str(exc)})
            continue
        card: dict[str, Any] = {
            "index": minor, "name": info["name"], "chip_id": info["chip_id"],
            "vram_total": info["vram_size"], "max_channels": info["max_channels"],
            "spe_arrays": info["spe_arrays"], "spes_per_array": info["spes_per_array"],
        }
        if simulated:
            users = []
            for proc in processes:
                for entry in proc["cards"]:
                    if entry["index"] == minor:
                        users.append({"pid": proc["pid"], "command": proc.get("command", "?"),
                                      "vram_used": entry["vram_used"], "channels": entry["channels"],
                                      "contexts": entry["opens"], "utilization": entry.get("utilization")})
            card["vram_used"] = sum(u["vram_used"] for u in users)
            card["channels"] = sum(u["channels"] for u in users)
            card["contexts"] = sum(u["contexts"] for u in users)
            card["utilization"] = {e: round(min(1.0, sum((u["utilization"] or {}).get(e, 0.0) for u in users)), 4)
                                   for e in ENGINES}
            card["processes"] = users
        else:
            card["vram_used"] = info["vram_used"]
            card["channels"] = info["channels_in_use"]
            card["contexts"] = None
            card["utilization"] = None
            card["processes"] = []
        cards.append(card)
    return {"transport": "simulated" if simulated else "kernel",
            "status_dir": str(status_dir or status.status_dir()) if simulated else None,
            "cards": cards}


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(n)


def _percent(util: dict[str, float] | None, engine: str) -> str:
    return "-" if not util else f"{100 * util.get(engine, 0.0):.0f}%"


def _swapped(entry: dict[str, Any], extra: bool = False) -> str:
    """Bytes of VRAM buffers swapped out to host memory (overcommit): beyond a card's used
    VRAM (`extra`), or part of a process's."""
    swapped = entry.get("vram_swapped", 0)
    return f" ({'+' if extra else ''}{_size(swapped)} swapped)" if swapped else ""


def render(snap: dict[str, Any]) -> str:
    """The human-readable table."""
    where = (f" (status files in {snap['status_dir']})" if snap["status_dir"]
             else f" (daemon pid {snap['daemon_pid']})" if snap.get("daemon_pid") else "")
    lines = [f"gdev-smi: {len(snap['cards'])} card(s), {snap['transport']} transport{where}"]
    lines.append(f"{'card':>4}  {'name':<12} {'memory used / total':>24}  {'chan':>7}  {'ctx':>3}  "
                 f"{'copy':>5} {'compute':>7}")
    for card in snap["cards"]:
        if "error" in card:
            lines.append(f"{card['index']:>4}  {card['error']}")
            continue
        memory = f"{_size(card['vram_used'])} / {_size(card['vram_total'])}" + _swapped(card, extra=True)
        contexts = "-" if card["contexts"] is None else str(card["contexts"])
        lines.append(f"{card['index']:>4}  {card['name']:<12} {memory:>24}  "
                     f"{card['channels']:>3}/{card['max_channels']:<3}  {contexts:>3}  "
                     f"{_percent(card['utilization'], 'copy'):>5} {_percent(card['utilization'], 'compute'):>7}")
    scheduled = [c for c in snap["cards"] if c.get("sched")]
    if scheduled:
        lines.append("scheduler: " + ", ".join(
            f"card {c['index']} {c['sched']['policy']}"
            + (f" (period {c['sched']['period_us'] / 1000:g} ms)" if c["sched"].get("period_us") else "")
            for c in scheduled))
    users = [(c["index"], p) for c in snap["cards"] for p in c.get("processes", [])]
    lines.append("")
    if not users:
        lines.append("per-process use is not reported by the kernel driver" if snap["transport"] == "kernel"
                     else "no processes are using the cards")
    else:
        lines.append(f"{'pid':>8}  {'command':<16} {'card':>4} {'memory':>10}  {'chan':>4}  {'ctx':>3}  "
                     f"{'copy':>5} {'compute':>7}  {'prio':>4} {'share':>5}")
        for index, p in users:
            prio = "-" if p.get("priority") is None else str(p["priority"])
            lines.append(f"{p['pid']:>8}  {p['command'][:16]:<16} {index:>4} {_size(p['vram_used']):>10}  "
                         f"{p['channels']:>4}  {p['contexts']:>3}  {_percent(p['utilization'], 'copy'):>5} "
                         f"{_percent(p['utilization'], 'compute'):>7}  {prio:>4} "
                         f"{_percent(p.get('share'), 'compute'):>5}{_swapped(p)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gdev-smi", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the snapshot as JSON")
    parser.add_argument("--status-dir", type=Path, default=None,
                        help="where processes publish status files (default: GDEV_STATUS_DIR)")
    parser.add_argument("--watch", type=float, metavar="SECONDS", default=None,
                        help="print the status again every SECONDS until interrupted")
    args = parser.parse_args(argv)
    status.disable_publishing()         # opening the cards to describe them is not using them
    try:
        settings.check()
        while True:
            snap = snapshot(args.status_dir)
            sys.stdout.write((json.dumps(snap, indent=2) if args.json else render(snap)) + "\n")
            if args.watch is None:
                return 0
            sys.stdout.flush()
            time.sleep(max(args.watch, 0.1))
    except (AidevError, SettingsError) as exc:
        sys.stderr.write(f"gdev-smi: {exc}\n")
        return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
