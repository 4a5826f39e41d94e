"""Every GDEV_* setting, in one live object: `settings`.

Every module reads a setting the same way, `settings.<name>` on the object
imported with `from ..settings import settings`; the object is never replaced,
so binding it at import is safe.  A value comes from, in order:

- the innermost `settings.override(name=value, ...)` block that sets it.  The
  layers are process-wide, not per thread, so the card's own threads (command
  processors, engines) see what a test overrides;
- the environment, read the first time the setting is used and again after
  `settings.reload()`;
- the default.

A variable whose value its setting does not accept is an error, never the
default in disguise: reading that setting raises SettingsError, which names the
variable, the value and what it accepts, and `settings.check()` raises it for
every bad variable at once (the host stack calls it before it touches a card,
so the first API call reports it).  docs/environment.md lists every variable.
"""
from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .common import faultspec
from .common.units import parse_size

MAX_SIM_CARDS = 16            # AIDEV_MAX_CARDS of include/aidev_drm.h (a test checks they agree)
MAX_SIM_VRAM = 1 << 47         # a card's VRAM window (card/card.py: GART_OFFSET)
MAX_MEMCPY_PIPELINE = 8       # bounce buffers one copy may keep in flight (also gtune's limits)
MIN_MEMCPY_CHUNK, MAX_MEMCPY_CHUNK = 4 << 10, 256 << 20
LOG_WORDS = ("debug", "info", "warning", "error", "off", "api")
TRANSPORTS = ("", "sim", "dev", "cardd")
# the card schedulers (card/sched/) and Gdev's priority range, named here so settings stay light
SCHED_POLICIES = ("fifo", "credit", "band")
PRIO_MIN, PRIO_MAX, PRIO_DEFAULT = 0, 40, 20
ENGINES = ("auto", "jit", "interp")
JIT_TIERS = ("tiered", "fast", "opt")
MEMCHECK_TOOLS = frozenset({"memcheck", "leakcheck", "initcheck", "racecheck"})
_MEMCHECK_WORDS = {"": frozenset(), "0": frozenset(), "off": frozenset(), "no": frozenset(),
                   "1": frozenset({"memcheck", "leakcheck"}), "on": frozenset({"memcheck", "leakcheck"}),
                   "yes": frozenset({"memcheck", "leakcheck"}),
                   "memcheck": frozenset({"memcheck", "leakcheck"}), "all": MEMCHECK_TOOLS}


class SettingsError(ValueError):
    """One or more GDEV_* variables hold values their settings do not accept."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


# ---- parsers: text of a variable -> value, ValueError when it is not accepted ------
def _choice(options: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        word = text.strip().lower()
        if word not in options:
            raise ValueError(word)
        return word
    return parse


def _integer(low: int, high: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text.strip(), 0)
        if value < low or (high is not None and value > high):
            raise ValueError(value)
        return value
    return parse


def _size(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = parse_size(text)
        if not low <= value <= high:
            raise ValueError(value)
        return value
    return parse


def _log_words(text: str) -> str:
    words = [w.strip() for w in text.lower().split(",") if w.strip()]
    if any(w not in LOG_WORDS for w in words):
        raise ValueError(text)
    return ",".join(words)


def _memcheck(text: str) -> frozenset[str]:
    raw = text.strip().lower()
    if raw in _MEMCHECK_WORDS:
        return _MEMCHECK_WORDS[raw]
    chosen = frozenset(t.strip() for t in raw.split(",") if t.strip())
    if not chosen or not chosen <= MEMCHECK_TOOLS:
        raise ValueError(raw)
    return chosen


def _fault_spec(text: str) -> str:
    faultspec.parse(text)
    return text.strip()


def _text(text: str) -> str:
    return text


def _seconds(text: str) -> float:
    value = float(text.strip())
    if not 0 <= value < float("inf"):
        raise ValueError(value)
    return value


def _path(text: str) -> Path:
    return Path(text)


@dataclass(frozen=True)
class Setting:
    name: str                          # attribute of `settings`
    variable: str                      # the environment variable
    parse: Callable[[str], Any]
    default: Callable[[], Any]
    accepts: str                       # what the variable takes, for error messages


_SIZES = "an integer, or one with a K, M or G suffix"


def _const(value: Any) -> Callable[[], Any]:
    return lambda: value


SETTINGS = {s.name: s for s in (
    Setting("log", "GDEV_LOG", _log_words, _const(""),
            f"a comma-separated list of {', '.join(LOG_WORDS)}"),
    Setting("transport", "GDEV_TRANSPORT", _choice(TRANSPORTS), _const(""), "sim, dev, cardd or nothing"),
    Setting("cardd_idle_s", "GDEV_CARDD_IDLE_S", _seconds, _const(10.0), "seconds (0: never leave)"),
    Setting("sched", "GDEV_SCHED", _choice(SCHED_POLICIES), _const("band"), ", ".join(SCHED_POLICIES)),
    Setting("priority", "GDEV_PRIORITY", _integer(PRIO_MIN, PRIO_MAX), _const(PRIO_DEFAULT),
            f"an integer from {PRIO_MIN} to {PRIO_MAX}"),
    Setting("engine", "GDEV_ENGINE", _choice(ENGINES), _const("auto"), ", ".join(ENGINES)),
    Setting("jit_tier", "GDEV_JIT_TIER", _choice(JIT_TIERS), _const("tiered"), ", ".join(JIT_TIERS)),
    Setting("jit_dump", "GDEV_JIT_DUMP", _text, _const(""), "a directory"),
    Setting("sim_cards", "GDEV_SIM_CARDS", _integer(0, MAX_SIM_CARDS), _const(4),
            f"an integer from 0 to {MAX_SIM_CARDS}"),
    Setting("sim_vram", "GDEV_SIM_VRAM", _size(1, MAX_SIM_VRAM), _const(4 << 30),
            f"a byte size from 1 to 2**47: {_SIZES} (8G)"),
    Setting("sim_spe_arrays", "GDEV_SIM_SPE_ARRAYS", _integer(1), _const(4), "a positive integer"),
    Setting("sim_spes_per_array", "GDEV_SIM_SPES", _integer(1), _const(32), "a positive integer"),
    Setting("sync_timeout_ms", "GDEV_SYNC_TIMEOUT_MS", _integer(0), _const(600_000),
            "milliseconds, an integer >= 0"),
    Setting("sim_fault", "GDEV_SIM_FAULT", _fault_spec, _const(""), faultspec.GRAMMAR),
    Setting("memcheck", "GDEV_MEMCHECK", _memcheck, _const(frozenset()),
            f"1, all, 0, or a comma-separated list of {', '.join(sorted(MEMCHECK_TOOLS))}"),
    Setting("memcheck_report", "GDEV_MEMCHECK_REPORT", _text, _const(""), "a file name"),
    Setting("memcpy_chunk", "GDEV_MEMCPY_CHUNK", _size(MIN_MEMCPY_CHUNK, MAX_MEMCPY_CHUNK), _const(4 << 20),
            f"a byte size from 4K to 256M: {_SIZES} (4M)"),
    Setting("memcpy_pipeline", "GDEV_MEMCPY_PIPELINE", _integer(1, MAX_MEMCPY_PIPELINE), _const(2),
            f"an integer from 1 to {MAX_MEMCPY_PIPELINE}"),
    Setting("memcpy_one_copy", "GDEV_MEMCPY_ONE_COPY", _integer(0, 1), _const(0), "0 or 1"),
    Setting("trace", "GDEV_TRACE", _text, _const(""), "a file name"),
    Setting("status_dir", "GDEV_STATUS_DIR", _path, lambda: Path(f"/tmp/gdev-shim-{os.getuid()}"),
            "a directory"),
    Setting("status_interval_ms", "GDEV_STATUS_INTERVAL_MS", _integer(0), _const(500),
            "milliseconds, an integer >= 0"),
    Setting("cache_dir", "GDEV_CACHE_DIR", _path, lambda: Path.home() / ".cache" / "gdev-shim",
            "a directory"),
)}


def _problem(setting: Setting, raw: str) -> str:
    return f"{setting.variable}={raw!r} is not accepted: it takes {setting.accepts}"


def _parse(setting: Setting, raw: str) -> Any:
    try:
        return setting.parse(raw)
    except ValueError:
        raise SettingsError([_problem(setting, raw)]) from None


class _Bad:
    """A cached reading of a variable the setting rejects."""
    __slots__ = ("error",)

    def __init__(self, error: SettingsError) -> None:
        self.error = error


class Settings:
    """The live settings: `settings.engine`, `settings.override(...)`, `settings.reload()`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._layers: tuple[dict[str, Any], ...] = ()      # override blocks, innermost last
        self._values: dict[str, Any] = {}                   # resolved values (or _Bad), per name

    def __getattr__(self, name: str) -> Any:
        # Only reached for the settings themselves: the instance has no such attributes.
        # The cache is taken once, before the layers are read, so a value resolved while
        # an override begins or ends lands in the cache that change discarded.
        values = self._values
        value = values.get(name, _MISSING)
        if value is _MISSING:
            value = values[name] = self._resolve(name)
        if type(value) is _Bad:
            raise value.error
        return value

    def _resolve(self, name: str) -> Any:
        setting = SETTINGS.get(name)
        if setting is None:
            raise AttributeError(f"no setting {name!r}")
        for layer in reversed(self._layers):
            if name in layer:
                return layer[name]
        raw = os.environ.get(setting.variable)
        if raw is None or raw.strip() == "":
            return setting.default()
        try:
            return _parse(setting, raw)
        except SettingsError as error:
            return _Bad(error)

    def check(self) -> None:
        """Raise SettingsError naming every variable whose value is not accepted."""
        values = self._values
        if values.get(_CHECKED):
            return
        problems = []
        for name in SETTINGS:
            try:
                getattr(self, name)
            except SettingsError as error:
                problems.extend(error.problems)
        if problems:
            raise SettingsError(problems)
        values[_CHECKED] = True

    def reload(self) -> Settings:
        """Read the environment again (at the next use of each setting)."""
        with self._lock:
            self._values = {}
        return self

    @contextlib.contextmanager
    def override(self, **values: Any) -> Iterator[Settings]:
        """Set some settings for the duration of a with-block, process-wide.

        A str value is read as the environment variable's text would be (and
        rejected the same way); any other value is taken as it is.
        """
        layer = {}
        for name, value in values.items():
            if name not in SETTINGS:
                raise AttributeError(f"no setting {name!r}")
            layer[name] = _parse(SETTINGS[name], value) if isinstance(value, str) else value
        with self._lock:
            self._layers += (layer,)
            self._values = {}
        try:
            yield self
        finally:
            with self._lock:
                # blocks may end out of order when threads override at once: drop this one
                self._layers = tuple(x for x in self._layers if x is not layer)
                self._values = {}


_MISSING = object()
_CHECKED = "<checked>"          # a key of Settings._values no setting has: every setting was read
settings = Settings()


def reload() -> Settings:
    """Re-read the environment: `settings.reload()`."""
    return settings.reload()
