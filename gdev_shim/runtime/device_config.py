"""What a program sets on a device that changes nothing the card does: scheduling flags,
limits and the preferred cache split.  They are kept per device so a program reads back
what it set, and checked as CUDA checks them."""
from __future__ import annotations

from . import devices
from .errors import RT, SdaaError

DEVICE_FLAGS_MASK = 0x1F          # scheduling (0x7), map host (0x8), keep local memory (0x10)
MAP_HOST = 0x8                    # always on: every page-locked allocation is mapped here
# cudaLimit: stack bytes per thread, printf buffer, device heap, launch nesting (the defaults
# a CUDA device starts with); the L2 limits are not settable on a card without an L2.
_DEFAULT_LIMITS = {0: 1024, 1: 1 << 20, 2: 8 << 20, 3: 2, 4: 2048}
_flags: dict[int, int] = {}
_limits: dict[int, dict[int, int]] = {}
_cache_config: dict[int, int] = {}


def set_flags(flags: int) -> None:
    """Flags of this thread's device (scheduling hints; host memory is always mappable here)."""
    if flags & ~DEVICE_FLAGS_MASK or (flags & 0x7) not in (0, 1, 2, 4):
        raise SdaaError(RT.sdaaErrorInvalidValue, f"device flags 0x{flags:x}")
    _flags[devices.current()] = flags


def flags() -> int:
    return _flags.get(devices.current(), 0) | MAP_HOST


def _device_limits() -> dict[int, int]:
    return _limits.setdefault(devices.current(), dict(_DEFAULT_LIMITS))


def set_limit(limit: int, value: int) -> None:
    table = _device_limits()
    if limit not in table:
        raise SdaaError(RT.sdaaErrorUnsupportedLimit, f"limit {limit} is not supported")
    table[limit] = value


def limit(limit: int) -> int:
    table = _device_limits()
    if limit not in table:
        raise SdaaError(RT.sdaaErrorUnsupportedLimit, f"limit {limit} is not supported")
    return table[limit]


def check_cache_config(config: int) -> None:
    if config not in (0, 1, 2, 3):
        raise SdaaError(RT.sdaaErrorInvalidValue, f"cache configuration {config}")


def set_cache_config(config: int) -> None:
    check_cache_config(config)
    _cache_config[devices.current()] = config


def cache_config() -> int:
    return _cache_config.get(devices.current(), 0)
