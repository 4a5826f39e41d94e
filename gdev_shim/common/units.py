"""Byte sizes as settings and fault specs write them: 4096, 0x1000, 64K, 4M, 8G."""
from __future__ import annotations

_SCALE = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def parse_size(text: str) -> int:
    """Bytes of a plain integer (any base Python reads) or one with a K/M/G suffix; ValueError otherwise."""
    raw = text.strip().upper()
    scale = _SCALE.get(raw[-1:], 1)
    return int(raw[:-1] if scale != 1 else raw, 0) * scale
