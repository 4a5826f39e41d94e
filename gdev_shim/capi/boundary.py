"""The C boundary: how Python functions become exported C functions.

Each export is declared once with the family it belongs to; `install` binds
them to a cffi embedding module.  No Python exception crosses into C: the
family's translator (cffi's onerror handler) turns known errors into return
codes, and anything else is logged with its traceback and answered with the
family's documented failure value.

The argument helpers every export module uses live here too: a pointer's
address, a required pointer (NULL raises NullArgument, which each family's
translator answers with its invalid-value code), a C string, and strings
handed back to C that must stay alive.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..common.contract import ffi as _ffi
from ..log import get
from ..trace import apicall

log = get("gdev.capi")


@dataclass(frozen=True)
class Family:
    """How one API family reports failures."""
    name: str
    success: Any
    translate: Callable[[BaseException, str], Any]   # (exception, function name) -> return value
    failure: Any                                      # value for anything unexpected


def recorded(ctype: str, translate: Callable[[BaseException, str], Any]) -> Family:
    """The family of functions whose result cannot carry a code (void, pointers, strings):
    a failure is translated, so logged and recorded as the last error, and C gets 0/NULL."""
    def quiet(e: BaseException, name: str) -> None:
        translate(e, name)
    return Family(ctype, None, quiet, None)


@dataclass
class Export:
    name: str
    family: Family
    fn: Callable


_registry: dict[str, list[Export]] = {}


def exported(library: str, family: Family, *aliases: str) -> Callable[[Callable], Callable]:
    """Export fn under its own name and under each alias (the same call, another C name)."""
    def register(fn: Callable) -> Callable:
        for name in (fn.__name__, *aliases):
            _registry.setdefault(library, []).append(Export(name, family, fn))
        return fn
    return register


def export_as(library: str, family: Family, fn: Callable, *names: str) -> None:
    """Export an existing function again, under other names (another face of the same call)."""
    for name in names:
        _registry.setdefault(library, []).append(Export(name, family, fn))


PER_THREAD_SUFFIXES = ("_ptds", "_ptsz")     # what CUDA_API_PER_THREAD_DEFAULT_STREAM builds import


def wrap_exports(library: str, suffixes: tuple[str, ...], wrap: Callable[[Callable], Callable]) -> None:
    """Each export of `library` whose name ends with one of `suffixes` runs through `wrap`
    (the per-thread default stream forms of calls that share their plain name's code)."""
    for export in _registry.get(library, []):
        if export.name.endswith(suffixes):
            export.fn = wrap(export.fn)


def _translator(export: Export) -> Callable:
    """cffi's onerror handler for one export: its return value becomes the C result."""
    translate, name = export.family.translate, export.name

    def onerror(exc_type, exc, tb):
        try:
            return translate(exc, name)
        except Exception:  # noqa: BLE001 - a failing translator must not hide the original error
            log.error("%s: internal error escaped the API layer", name, exc_info=(exc_type, exc, tb))
            return None    # cffi answers with the family's `error` value
    return onerror


def exported_names(library: str) -> set[str]:
    return {export.name for export in _registry.get(library, [])}


def install(library: str, ffi) -> int:
    """Bind every export of `library` to the embedding module's `ffi`.

    The functions are bound as they are: a failure raises out of them and the
    family's translator, as cffi's onerror handler, turns it into the return
    value, so a successful call pays for no wrapper.
    """
    exports = _registry.get(library, [])
    observed = apicall.wanted()         # GDEV_LOG=api or GDEV_TRACE, decided once here
    for export in exports:
        onerror = _translator(export)
        kwargs = {} if export.family.failure is None else {"error": export.family.failure}
        fn = apicall.observe(export.fn, export.name, export.family.name, export.family.success,
                             onerror) if observed else export.fn
        ffi.def_extern(name=export.name, onerror=onerror, **kwargs)(fn)
    return len(exports)


class NullArgument(ValueError):
    """A pointer argument the function requires is NULL (each family's invalid-value code)."""


def address(p: Any) -> int:
    """The address a C pointer (or a handle passed as one) holds."""
    return int(_ffi.cast("uintptr_t", p))


def required(p: Any, what: str) -> Any:
    """p itself, or NullArgument naming the parameter when it is NULL."""
    if p == _ffi.NULL:
        raise NullArgument(f"{what} is NULL")
    return p


def words(array: Any) -> Callable[[int], int] | None:
    """Entry i of a C array of pointers as an address (None for a NULL array)."""
    if array == _ffi.NULL:
        return None
    return lambda i: address(array[i])


def string(p: Any, what: str) -> str:
    """The NUL-terminated string at a required char pointer (undecodable bytes replaced)."""
    return _ffi.string(required(p, what)).decode(errors="replace")


_static: dict[str, Any] = {}


def static_string(text: str) -> Any:
    """A char array holding text that C may keep for the life of the process (error strings)."""
    cell = _static.get(text)
    if cell is None:
        cell = _static[text] = _ffi.new("char[]", text.encode())
    return cell


def unexpected(e: BaseException, name: str) -> None:
    """Log an exception no layer documented (a bug), with its traceback."""
    log.error("%s: internal error: %s", name, e, exc_info=e)


class HandleTable:
    """Opaque C handles (SDcontext, gdev_handle *...) for Python objects.

    Each handle is the address of a small allocation we keep alive, so handles
    are unique, never NULL, and an unknown value is looked up instead of being
    dereferenced.
    """
    _cells = _ffi          # any ffi allocates; this one exists without parsing a header

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

    def drop_where(self, predicate: Callable[[Any], bool]) -> None:
        """Drop every handle whose object satisfies predicate (a module's functions when it goes)."""
        for key, (obj, _) in list(self._objects.items()):
            if predicate(obj):
                self.drop(key)

    def __len__(self) -> int:
        return len(self._objects)
