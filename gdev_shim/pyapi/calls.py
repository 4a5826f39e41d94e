"""How every public Python API call runs: traced when the timeline trace is on,
driver and runtime failures turned into DeviceError."""
from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

from ..driver.errors import SdError
from ..runtime.errors import SdaaError
from ..trace import recorder
from .errors import DeviceError

F = TypeVar("F", bound=Callable[..., Any])


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _run(fn: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    try:
        return fn(*args, **kwargs)
    except SdError as e:
        raise DeviceError(e.code, e.name, str(e)) from None
    except SdaaError as e:
        raise DeviceError(e.code, e.name, str(e)) from None


def api(fn: F) -> F:
    """Decorate a public method: one trace slice per call (one flag check when off)."""
    name = f"py:{fn.__qualname__}"

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        if not recorder.on:
            return _run(fn, args, kwargs)
        span = recorder.enter(name)
        result: Any = None
        try:
            result = _run(fn, args, kwargs)
            return result
        finally:
            shown = {f"arg{i}": _short(a) for i, a in enumerate(args[1:], 1)}
            shown.update({k: _short(v) for k, v in kwargs.items()})
            recorder.leave(span, shown, None if result is None else _short(result))
    return call  # type: ignore[return-value]
