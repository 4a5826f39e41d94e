"""Which daemon a process uses: the socket for its card settings."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..common import cardwire
from ..settings import settings


def card_config() -> dict[str, Any]:
    """The settings a daemon's cards are made with; processes that agree on them share one."""
    return {"cards": settings.sim_cards, "vram": settings.sim_vram,
            "spe_arrays": settings.sim_spe_arrays, "spes": settings.sim_spes_per_array,
            "engine": settings.engine, "cache_dir": str(settings.cache_dir), "sched": settings.sched}


def daemon_socket() -> Path:
    return cardwire.socket_path(cardwire.config_key(card_config()))
