"""The C boundary: every declared function is exported, codes come from the headers,
and no Python exception crosses into C."""
import cffi
import pytest

from gdev_shim.capi import boundary, cuda, cudart, gdev_exports, usdaa  # noqa: F401 - registers exports
from gdev_shim.common.contract import cdef_source
from gdev_shim.driver.errors import SD
from gdev_shim.runtime.errors import RT
from helpers import INCLUDE_DIR


def declared_functions(*headers: str) -> set[str]:
    ffi = cffi.FFI()
    ffi.cdef("\n".join(cdef_source((INCLUDE_DIR / h).read_text()) for h in headers))
    return {key.split(" ", 1)[1] for key in ffi._parser._declarations if key.startswith("function ")}


@pytest.mark.parametrize("library,headers", [
    ("usdaa", ("sdaa.h", "sdaa_runtime.h")),
    ("gdev", ("gdev_api.h",)),
    ("cudart", ("gdev_cudart.h",)),
    ("cuda", ("gdev_cuda.h",)),
])
def test_every_declared_function_has_an_export(library, headers):
    exported = {e.name for e in boundary._registry[library]}
    declared = declared_functions(*headers)
    assert declared - exported == set()
    assert exported - declared == set()


def test_error_codes_are_the_public_values():
    assert (SD.SDAA_SUCCESS, SD.SDAA_ERROR_INVALID_VALUE, SD.SDAA_ERROR_INVALID_IMAGE,
            SD.SDAA_ERROR_LAUNCH_FAILED, SD.SDAA_ERROR_UNKNOWN) == (0, 1, 200, 700, 999)
    assert (RT.sdaaErrorLaunchFailure, RT.sdaaErrorInvalidDevice, RT.sdaaErrorInvalidMemcpyDirection,
            RT.sdaaErrorNotReady, RT.sdaaErrorNoDevice) == (4, 10, 21, 34, 38)


def test_an_internal_exception_becomes_the_documented_failure_code(caplog):
    family = boundary.Family("t", 0, lambda e, name: (boundary.unexpected(e, name), -5)[1], -5)

    def broken():
        raise KeyError("internal bug")

    export = boundary.Export("broken", family, broken)
    onerror = boundary._translator(export)
    with caplog.at_level("ERROR", logger="gdev"):
        try:
            broken()
        except KeyError as e:
            assert onerror(KeyError, e, e.__traceback__) == -5
    assert "broken: internal error" in caplog.text


def test_handle_table_rejects_unknown_handles():
    table = boundary.HandleTable("SDthing")
    obj = object()
    key = table.new(obj)
    assert key != 0 and table.new(obj) == key
    assert table.get(key) is obj
    assert table.get(key + 8) is None
    assert table.drop(key) is obj and table.get(key) is None
