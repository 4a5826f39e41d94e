"""Integer constants (enums, #defines) of a public header in include/, read with cffi.

The driver and runtime take their error codes and attribute numbers from the
same headers C programs compile against, so the values exist only there.
"""
from __future__ import annotations

from functools import cache
from types import SimpleNamespace

import cffi

from ..settings import INCLUDE_DIR
from .contract import cdef_source


@cache
def constants(header: str) -> SimpleNamespace:
    ffi = cffi.FFI()
    ffi.cdef(cdef_source((INCLUDE_DIR / header).read_text()))
    lib = ffi.dlopen(None)
    names = {name: getattr(lib, name) for name in dir(lib)
             if isinstance(getattr(lib, name, None), int)}
    return SimpleNamespace(**names, _names=names)


def name_of(header: str, value: int, prefix: str) -> str:
    """The constant of `header` starting with `prefix` whose value is `value`."""
    for name, v in constants(header)._names.items():
        if v == value and name.startswith(prefix):
            return name
    return f"{prefix}<{value}>"
