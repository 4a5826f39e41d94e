"""gdev-smi: the cards, their memory, channels, contexts and engine utilisation.

    gdev-smi [--json] [--status-dir DIR]        (also: python -m gdev_shim.smi)

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
import json
import os
import sys
from pathlib import Path
from typing import Any

from .aidev.device import AidevDevice, AidevError, device_count, transport
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


def snapshot(status_dir: Path | None = None) -> dict[str, Any]:
    """Everything gdev-smi shows, as one JSON-ready dict."""
    tr = transport()
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


def render(snap: dict[str, Any]) -> str:
    """The human-readable table."""
    lines = [f"gdev-smi: {len(snap['cards'])} card(s), {snap['transport']} transport"
             + (f" (status files in {snap['status_dir']})" if snap["status_dir"] else "")]
    lines.append(f"{'card':>4}  {'name':<12} {'memory used / total':>24}  {'chan':>7}  {'ctx':>3}  "
                 f"{'copy':>5} {'compute':>7}")
    for card in snap["cards"]:
        if "error" in card:
            lines.append(f"{card['index']:>4}  {card['error']}")
            continue
        memory = f"{_size(card['vram_used'])} / {_size(card['vram_total'])}"
        contexts = "-" if card["contexts"] is None else str(card["contexts"])
        lines.append(f"{card['index']:>4}  {card['name']:<12} {memory:>24}  "
                     f"{card['channels']:>3}/{card['max_channels']:<3}  {contexts:>3}  "
                     f"{_percent(card['utilization'], 'copy'):>5} {_percent(card['utilization'], 'compute'):>7}")
    users = [(c["index"], p) for c in snap["cards"] for p in c.get("processes", [])]
    lines.append("")
    if not users:
        lines.append("no processes are using the cards" if snap["transport"] == "simulated"
                     else "per-process use is not reported by the kernel driver")
    else:
        lines.append(f"{'pid':>8}  {'command':<16} {'card':>4} {'memory':>10}  {'chan':>4}  {'ctx':>3}  "
                     f"{'copy':>5} {'compute':>7}")
        for index, p in users:
            lines.append(f"{p['pid']:>8}  {p['command'][:16]:<16} {index:>4} {_size(p['vram_used']):>10}  "
                         f"{p['channels']:>4}  {p['contexts']:>3}  {_percent(p['utilization'], 'copy'):>5} "
                         f"{_percent(p['utilization'], 'compute'):>7}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gdev-smi", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the snapshot as JSON")
    parser.add_argument("--status-dir", type=Path, default=None,
                        help="where processes publish status files (default: GDEV_STATUS_DIR)")
    args = parser.parse_args(argv)
    status.disable_publishing()         # opening the cards to describe them is not using them
    try:
        settings.check()
        snap = snapshot(args.status_dir)
    except (AidevError, SettingsError) as exc:
        sys.stderr.write(f"gdev-smi: {exc}\n")
        return 1
    sys.stdout.write((json.dumps(snap, indent=2) if args.json else render(snap)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
