"""docs/errors.md is the contract: every row of its table, run against the real libraries.

The rows run in a fresh process (tests/errors_abi.py) that loads
build/lib/libusdaa.so and libgdev.so through cffi's ABI mode, as a C program would.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import errors_abi as abi
from gdev_shim.driver.errors import SD
from gdev_shim.runtime.errors import RT
from helpers import ENV, ROOT, needs_build, run_python

TABLE = ROOT / "docs" / "errors.md"


def rows() -> list[abi.Row]:
    return abi.parse_table(TABLE.read_text())


def test_the_table_names_every_exported_function_and_only_real_parameters():
    protos = abi.prototypes()
    table = rows()
    assert len(table) > 400
    assert {r.function for r in table} == set(protos), "every declared function needs rows"
    for r in table:
        names = {n for _, n in protos[r.function].params}
        assert set(r.overrides) <= names, f"{r.function}: {r.args}"
        assert r.states <= {"before-init", "no-context", "configured", "after-reset"}, r.args


def test_parse_table_reads_cells_and_states():
    text = f"{abi.TABLE_BEGIN}\n| function | condition | arguments | code |\n|---|---|---|---|\n" \
           f"| sdFoo | why | `@configured a=NULL b=x+4` | CODE, last=OTHER |\n{abi.TABLE_END}"
    (row,) = abi.parse_table(text)
    assert (row.function, row.condition, row.code) == ("sdFoo", "why", "CODE, last=OTHER")
    assert row.states == {"configured"} and row.overrides == {"a": "NULL", "b": "x+4"}


@needs_build
def test_every_row_returns_its_documented_code_and_leaves_the_library_usable():
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "errors_abi.py"), str(TABLE)],
                          cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300)
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(results) == len(rows()), "the run stopped early"
    bad = [f"{r['row']['function']} [{r['row']['args']}]: {r['mismatch']}" for r in results if r["mismatch"]]
    assert bad == []
    # the harness really saw failures: most rows are error rows
    assert sum(r["got"] not in ("SDAA_SUCCESS", "sdaaSuccess", "0", "void") for r in results) > 350
    assert "internal error" not in proc.stderr


INTERNAL = textwrap.dedent("""
    import sys
    sys.path.insert(0, "tests")
    import errors_abi as abi
    ffi, u, g = abi.open_libraries()
    import gdev_shim.runtime.memory as rt_mem, gdev_shim.driver.memory as drv_mem
    import gdev_shim.gdev.api as gdev_api, gdev_shim.capi.runtime_exports as rx

    def boom(*args, **kwargs):
        raise ZeroDivisionError("injected bug")

    p = ffi.new("void **")
    d = ffi.new("SDdeviceptr *")
    out = []
    saved = rt_mem.malloc, drv_mem.alloc, gdev_api.gmalloc, gdev_api.gopen, rx.set_last
    rt_mem.malloc = boom
    out.append(u.sdaaMalloc(p, 64))
    out.append(u.sdaaGetLastError())
    assert u.sdInit(0) == 0
    c = ffi.new("SDcontext *")
    assert u.sdCtxCreate(c, 0, 0) == 0
    drv_mem.alloc = boom
    out.append(u.sdMemAlloc(d, 64))
    h = g.gopen(0)
    gdev_api.gmalloc = boom
    out.append(g.gmalloc(h, 64))
    gdev_api.gopen = boom
    out.append(int(g.gopen(0) == ffi.NULL))
    rx.set_last = boom             # the translator itself fails: cffi's last-resort handler answers
    out.append(u.sdaaMalloc(p, 64))
    rt_mem.malloc, drv_mem.alloc, gdev_api.gmalloc, gdev_api.gopen, rx.set_last = saved
    out.append(u.sdaaMalloc(p, 64))
    out.append(u.sdMemAlloc(d, 64))
    out.append(int(g.gmalloc(h, 64) != 0))
    print("RESULT", out)
""")


@needs_build
def test_an_internal_exception_becomes_the_documented_failure_value_and_a_log_line():
    proc = run_python(INTERNAL)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = eval(proc.stdout.split("RESULT", 1)[1])
    assert result == [RT.sdaaErrorUnknown, RT.sdaaErrorUnknown, SD.SDAA_ERROR_UNKNOWN, 0, 1,
                      RT.sdaaErrorUnknown, RT.sdaaSuccess, SD.SDAA_SUCCESS, 1]
    err = proc.stderr
    for name in ("sdaaMalloc", "sdMemAlloc", "gmalloc", "gopen"):
        assert f"{name}: internal error: injected bug" in err
    assert "sdaaMalloc: internal error escaped the API layer" in err
    assert "ZeroDivisionError" in err          # the traceback is logged
