"""The C boundary: how Python functions become exported C functions.

Each export is declared once with the family it belongs to; `install` binds
them to a cffi embedding module.  No Python exception crosses into C: the
family's translator turns known errors into return codes, and anything else is
logged with its traceback and answered with the family's documented failure
value (cffi's `error=` catches even what escapes the translator).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable

import cffi

from ..log import get

log = get("gdev.capi")


@dataclass(frozen=True)
class Family:
    """How one API family reports failures."""
    name: str
    success: Any
    translate: Callable[[BaseException, str], Any]   # (exception, function name) -> return value
    failure: Any                                      # value for anything unexpected


@dataclass
class Export:
    name: str
    family: Family
    fn: Callable


_registry: dict[str, list[Export]] = {}


def exported(library: str, family: Family) -> Callable[[Callable], Callable]:
    def register(fn: Callable) -> Callable:
        _registry.setdefault(library, []).append(Export(fn.__name__, family, fn))
        return fn
    return register


def _guarded(export: Export) -> Callable:
    fn, family, name = export.fn, export.family, export.name

    @functools.wraps(fn)
    def call(*args):
        try:
            return fn(*args)
        except Exception as e:    # noqa: BLE001 - the C boundary answers every failure
            return family.translate(e, name)
    return call


def install(library: str, ffi) -> int:
    """Bind every export of `library` to the embedding module's `ffi`."""
    exports = _registry.get(library, [])
    for export in exports:
        onerror = functools.partial(_unexpected, export.name)
        kwargs = {} if export.family.failure is None else {"error": export.family.failure}
        ffi.def_extern(name=export.name, onerror=onerror, **kwargs)(_guarded(export))
    return len(exports)


def _unexpected(name: str, exc_type, exc, tb) -> None:
    log.error("%s: internal error escaped the API layer", name, exc_info=(exc_type, exc, tb))


def unexpected(e: BaseException, name: str) -> None:
    """Log an exception no layer documented (a bug), with its traceback."""
    log.error("%s: internal error: %s", name, e, exc_info=e)


class HandleTable:
    """Opaque C handles (SDcontext, gdev_handle *...) for Python objects.

    Each handle is the address of a small allocation we keep alive, so handles
    are unique, never NULL, and an unknown value is looked up instead of being
    dereferenced.
    """
    _cells = cffi.FFI()

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._objects: dict[int, tuple[Any, Any]] = {}
        self._by_object: dict[int, int] = {}

    def new(self, obj: Any) -> int:
        key = self._by_object.get(id(obj))
        if key is None:
            cell = self._cells.new("char[8]")
            key = int(self._cells.cast("uintptr_t", cell))
            self._objects[key] = (obj, cell)
            self._by_object[id(obj)] = key
        return key

    def get(self, key: int) -> Any | None:
        entry = self._objects.get(key)
        return None if entry is None else entry[0]

    def drop(self, key: int) -> Any | None:
        entry = self._objects.pop(key, None)
        if entry is None:
            return None
        self._by_object.pop(id(entry[0]), None)
        return entry[0]

    def __len__(self) -> int:
        return len(self._objects)
