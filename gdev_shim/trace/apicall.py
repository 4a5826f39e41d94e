"""API calls as the C caller made them: one log line (GDEV_LOG=api) and one trace slice each.

The C boundary wraps an export with `observe` only when the call log or the
trace is wanted when the library binds, so a plain run pays nothing.  Arguments
are shown as the C caller passed them (integers, pointers in hex, input
strings); out-parameters a successful call wrote are shown after it.
"""
from __future__ import annotations

import errno
import functools
import inspect
from typing import Any, Callable

from .. import log
from . import recorder

_log = log.get(log.API_CALLS)
_STRING_INPUTS = {"fname", "entry", "device_fun", "func", "name"}
# Pointer parameters that are input arrays, never written by the call: not dereferenced.
_INPUT_ARRAYS = {"kernel_params", "extra", "options", "values"}
_OUTPUT_STRING_BUFFERS = {("sdDeviceGetName", "name")}


def wanted() -> bool:
    """Should exports be wrapped: the call log or the trace is on."""
    return log.api_calls_enabled() or recorder.on


def _is_cdata(value: Any) -> bool:
    return isinstance(value, _plain_ffi().CData)


def format_value(value: Any) -> str:
    """An argument or result as C shows it: integers, hex pointers, NULL, floats."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return hex(value) if abs(value) >= 0x10000 else str(value)
    if isinstance(value, float):
        return f"{value:g}"
    if value is None:
        return "void"
    if _is_cdata(value):
        ffi = _plain_ffi()
        ctype = ffi.typeof(value)
        if ctype.kind == "pointer":
            address = int(ffi.cast("uintptr_t", value))
            return "NULL" if address == 0 else hex(address)
        return f"<{ctype.cname}>"
    return repr(value)


@functools.cache
def _plain_ffi() -> Any:
    import cffi
    return cffi.FFI()


def _string(value: Any) -> str | None:
    ffi = _plain_ffi()
    try:
        if ffi.typeof(value).cname not in ("char *", "const char *"):
            return None
        if int(ffi.cast("uintptr_t", value)) == 0:
            return None
        return ffi.string(value, 256).decode(errors="replace")
    except (TypeError, ValueError):
        return None


def _out_value(value: Any) -> str | None:
    """What a pointer out-parameter points at after the call, if it is a scalar or pointer."""
    ffi = _plain_ffi()
    ctype = ffi.typeof(value)
    if ctype.kind != "pointer" or int(ffi.cast("uintptr_t", value)) == 0:
        return None
    item = ctype.item
    if item.kind == "primitive" and item.cname not in ("char", "signed char", "unsigned char"):
        return format_value(value[0])
    if item.kind == "pointer":
        inner = value[0]
        text = _string(inner) if item.item.cname == "char" else None
        return repr(text) if text is not None else format_value(inner)
    return None


def describe_args(name: str, params: list[str], args: tuple, succeeded: bool) -> tuple[dict[str, str], dict[str, str]]:
    """({param: value as passed}, {param: value written through it}) of one call."""
    shown: dict[str, str] = {}
    written: dict[str, str] = {}
    for i, value in enumerate(args):
        param = params[i] if i < len(params) else f"arg{i}"
        text = format_value(value)
        if _is_cdata(value):
            if (name, param) in _OUTPUT_STRING_BUFFERS:
                string = _string(value) if succeeded else None
                if string is not None:
                    written[param] = repr(string)
            elif param in _STRING_INPUTS:
                string = _string(value)
                if string is not None:
                    text = repr(string)
            elif succeeded and param not in _INPUT_ARRAYS:
                out = _out_value(value)
                if out is not None:
                    written[param] = out
        shown[param] = text
    return shown, written


def describe_result(family_name: str, result: Any) -> str:
    """The return value with the name of its code (sdaaSuccess, SDAA_ERROR_..., -EINVAL)."""
    text = format_value(result)
    if _is_cdata(result):
        ffi = _plain_ffi()
        if ffi.typeof(result).kind == "array" and ffi.typeof(result).item.cname == "char":
            return repr(ffi.string(result).decode(errors="replace"))
        string = _string(result)
        return text if string is None else repr(string)
    if not isinstance(result, int) or isinstance(result, bool):
        return text
    from ..common.cheader import name_of
    if family_name == "sdaaError_t":
        return f"{result} " + ("sdaaSuccess" if result == 0 else name_of("sdaa_runtime.h", result, "sdaaError"))
    if family_name == "SDresult":
        return f"{result} " + ("SDAA_SUCCESS" if result == 0 else name_of("sdaa.h", result, "SDAA_ERROR_"))
    if family_name == "int" and result < 0:
        return f"{result} -{errno.errorcode.get(-result, '?')}"
    return text


def observe(fn: Callable, name: str, family_name: str, success: Any,
            onerror: Callable[[type, BaseException, Any], Any]) -> Callable:
    """The export `fn` with the call log and the trace; failures are translated by
    `onerror` (the family's translator) exactly as cffi would without the wrapper."""
    params = list(inspect.signature(fn).parameters)
    to_log = log.api_calls_enabled()

    @functools.wraps(fn)
    def observed(*args):
        traced = recorder.enter(name) if recorder.on else None
        start = recorder.now_ns()
        result = None
        try:
            try:
                result = fn(*args)
            except Exception as e:    # noqa: BLE001 - translated as the unwrapped export would be
                result = onerror(type(e), e, e.__traceback__)
            return result
        finally:
            took_us = (recorder.now_ns() - start) / 1000.0
            succeeded = success is not None and result == success
            shown, written = describe_args(name, params, args, succeeded)
            outcome = describe_result(family_name, result)
            if traced is not None:
                recorder.leave(traced, {**shown, **{f"*{k}": v for k, v in written.items()}}, outcome)
            if to_log:
                after = "".join(f" *{k}={v}" for k, v in written.items())
                _log.info("%s(%s) = %s%s (%.1f us)", name,
                          ", ".join(f"{k}={v}" for k, v in shown.items()), outcome, after, took_us)
    return observed
