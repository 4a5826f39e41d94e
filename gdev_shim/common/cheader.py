"""Integer constants (enums, #defines) of a public header in include/.

The driver and runtime take their error codes and attribute numbers from the
same headers C programs compile against, so the values exist only there.
"""
from __future__ import annotations

from functools import cache
from types import SimpleNamespace

from .contract import HASH_DEFINE, header_ffi


@cache
def constants(header: str) -> SimpleNamespace:
    ffi, lib = header_ffi(header)
    # what reading a function no library of this process defines raises: AttributeError
    # from a header parsed now, ffi.error (where it exists) from a prebuilt module
    missing = (AttributeError, getattr(ffi, "error", AttributeError))
    names = {}
    for name in dir(lib):
        try:
            value = getattr(lib, name)
        except missing:
            continue
        if isinstance(value, int) and name != HASH_DEFINE:
            names[name] = value
    return SimpleNamespace(**names, _names=names)


def name_of(header: str, value: int, prefix: str) -> str:
    """The constant of `header` starting with `prefix` whose value is `value`."""
    for name, v in constants(header)._names.items():
        if v == value and name.startswith(prefix):
            return name
    return f"{prefix}<{value}>"
