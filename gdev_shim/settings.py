"""Every GDEV_* setting, read once from the environment.

One place so that the layers never call os.environ themselves and the docs
(docs/environment.md) can list exactly what is here.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_ROOT.parent
INCLUDE_DIR = REPO_ROOT / "include"


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw.strip(), 0)
    except ValueError:
        return default


def _size(name: str, default: int) -> int:
    """Byte sizes accept plain integers or a K/M/G suffix (GDEV_SIM_VRAM=8G)."""
    raw = os.environ.get(name, "").strip().upper()
    if not raw:
        return default
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(raw[-1], 1)
    digits = raw[:-1] if scale != 1 else raw
    try:
        return int(digits, 0) * scale
    except ValueError:
        return default


@dataclass(frozen=True)
class Settings:
    log: str = field(default_factory=lambda: os.environ.get("GDEV_LOG", ""))
    sim_cards: int = field(default_factory=lambda: _int("GDEV_SIM_CARDS", 4))
    sim_vram: int = field(default_factory=lambda: _size("GDEV_SIM_VRAM", 4 << 30))
    sim_spe_arrays: int = field(default_factory=lambda: _int("GDEV_SIM_SPE_ARRAYS", 4))
    sim_spes_per_array: int = field(default_factory=lambda: _int("GDEV_SIM_SPES", 32))
    # "sim" forces the simulated cards, "dev" the kernel driver, "" picks /dev/aicard* if present.
    transport: str = field(default_factory=lambda: os.environ.get("GDEV_TRANSPORT", ""))
    engine: str = field(default_factory=lambda: os.environ.get("GDEV_ENGINE", "auto"))
    sync_timeout_ms: int = field(default_factory=lambda: _int("GDEV_SYNC_TIMEOUT_MS", 600_000))
    # Faults the simulated cards inject (card/faults.py), e.g. "dma:3,vram:64M@1"; "" = none.
    sim_fault: str = field(default_factory=lambda: os.environ.get("GDEV_SIM_FAULT", ""))
    # Sanitizer tools: "1" (memcheck + leak check), "all", or a list such as "memcheck,racecheck".
    memcheck: str = field(default_factory=lambda: os.environ.get("GDEV_MEMCHECK", ""))
    memcheck_report: str = field(default_factory=lambda: os.environ.get("GDEV_MEMCHECK_REPORT", ""))
    memcpy_chunk: int = field(default_factory=lambda: _size("GDEV_MEMCPY_CHUNK", 4 << 20))
    memcpy_pipeline: int = field(default_factory=lambda: _int("GDEV_MEMCPY_PIPELINE", 2))
    # Timeline trace file (Chrome/Perfetto trace events), written at exit; "" = off.
    trace: str = field(default_factory=lambda: os.environ.get("GDEV_TRACE", ""))
    # Where processes using simulated cards publish their status for gdev-smi.
    status_dir: Path = field(
        default_factory=lambda: Path(os.environ.get("GDEV_STATUS_DIR", f"/tmp/gdev-shim-{os.getuid()}"))
    )
    status_interval_ms: int = field(default_factory=lambda: _int("GDEV_STATUS_INTERVAL_MS", 500))
    cache_dir: Path = field(
        default_factory=lambda: Path(
            os.environ.get("GDEV_CACHE_DIR", str(Path.home() / ".cache" / "gdev-shim"))
        )
    )


settings = Settings()


def reload() -> Settings:
    """Re-read the environment (tests change variables between cases)."""
    global settings
    settings = Settings()
    return settings
