"""The timeline trace (GDEV_TRACE / gdev_shim.trace) and the API call log (GDEV_LOG=api)."""
from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import gdev_shim
from gdev_shim import trace
from gdev_shim.trace import recorder
from helpers import ADD_TEST, ROOT

LIB = ROOT / "build" / "lib"


def validate(doc: dict) -> list[dict]:
    """Check a document against the trace-event format; returns its events."""
    assert isinstance(doc, dict) and isinstance(doc["traceEvents"], list)
    events = doc["traceEvents"]
    slices: dict[tuple[int, int], list[tuple[float, float]]] = {}
    flows: dict[int, Counter] = {}
    for e in events:
        assert e["ph"] in ("X", "M", "s", "f"), e
        assert isinstance(e["pid"], int) and isinstance(e["tid"], int) and isinstance(e["name"], str)
        if e["ph"] == "M":
            assert e["name"] in ("process_name", "thread_name", "process_sort_index", "thread_sort_index")
            assert isinstance(e["args"], dict)
            continue
        assert isinstance(e["ts"], (int, float))
        if e["ph"] == "X":
            assert e["dur"] >= 0 and isinstance(e["args"], dict)
            slices.setdefault((e["pid"], e["tid"]), []).append((e["ts"], e["ts"] + e["dur"]))
        else:
            assert isinstance(e["id"], int)
            flows.setdefault(e["id"], Counter())[e["ph"]] += 1
            if e["ph"] == "f":
                assert e["bp"] == "e"
    for e in events:        # each flow end point lies inside a slice of its own track
        if e["ph"] in ("s", "f"):
            spans = slices.get((e["pid"], e["tid"]), [])
            assert any(a - 0.002 <= e["ts"] <= b + 0.002 for a, b in spans), e
    assert all(c == Counter({"s": 1, "f": 1}) for c in flows.values()), flows
    return events


def overlaps(a: dict, b: dict) -> bool:
    return a["ts"] < b["ts"] + b["dur"] and b["ts"] < a["ts"] + a["dur"]


@pytest.fixture
def tracing(tmp_path):
    recorder.clear()
    trace.start(tmp_path / "trace.json")
    yield tmp_path / "trace.json"
    trace.stop()
    recorder.clear()


@pytest.fixture
def slow_kernels():
    """Kernels on the interpreter: long enough that copies on another stream overlap them."""
    from gdev_shim.settings import settings
    with settings.override(engine="interp"):
        yield


def test_two_streams_show_overlapping_device_slices(tracing, slow_kernels, compile_ptx):
    compile_ptx([ADD_TEST])
    dev = gdev_shim.Device(2)
    mod = dev.load_module(ADD_TEST)
    n = 1 << 16
    a, b = dev.to_device(np.arange(n, dtype=np.int32)), dev.to_device(np.ones(n, np.int32))
    out = dev.malloc(4 * n)
    src, dst = dev.malloc(16 << 20), dev.malloc(16 << 20)
    with dev.stream() as compute, dev.stream() as copy:
        mod.add_test(a, b, out, np.int32(n), arrays=1, stream=compute)     # one SPE array: a long kernel
        for _ in range(6):
            src.copy_to(dst, stream=copy)
    assert np.array_equal(out.to_numpy(np.int32), np.arange(n) + 1)
    path = trace.flush()
    assert path == tracing
    events = validate(json.loads(path.read_text()))

    card = recorder.card_pid(2)
    kernels = [e for e in events if e["ph"] == "X" and e["pid"] == card and e["cat"] == "compute"]
    copies = [e for e in events if e["ph"] == "X" and e["pid"] == card and e["cat"] == "copy"
              and e["args"]["bytes"] == 16 << 20]
    assert [k["args"]["kernel"] for k in kernels] == ["add_test"]
    assert kernels[0]["args"]["grid"] == [1, 1, 1] and kernels[0]["args"]["block"] == [32, 1, 1]
    assert len(copies) == 6 and {c["tid"] for c in copies} != {kernels[0]["tid"]}
    assert any(overlaps(kernels[0], c) for c in copies), "the streams' device work did not overlap"

    names = {e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"
             and e["pid"] == card}
    assert any(n.endswith("compute") for n in names) and any(n.endswith("copy") for n in names)
    # the launch call's flow arrow ends at the kernel's slice
    calls = [e for e in events if e["ph"] == "X" and e["pid"] == os.getpid() and e["name"] == "py:Kernel.__call__"]
    assert len(calls) == 1
    starts = [e for e in events if e["ph"] == "s" and e["tid"] == calls[0]["tid"]
              and calls[0]["ts"] <= e["ts"] <= calls[0]["ts"] + calls[0]["dur"]]
    ends = {e["id"]: e for e in events if e["ph"] == "f"}
    assert any(ends[s["id"]]["tid"] == kernels[0]["tid"] and ends[s["id"]]["ts"] == kernels[0]["ts"]
               for s in starts)


def test_nothing_is_recorded_when_off(compile_ptx):
    recorder.clear()
    assert not trace.enabled()
    dev = gdev_shim.Device(0)
    with dev.malloc(4096) as mem:
        mem.copy_from(np.arange(1024, dtype=np.int32))
    assert [e for e in trace.events() if e["ph"] != "M"] == []


def test_flush_without_a_path_is_an_error():
    if recorder._path is None:
        with pytest.raises(trace.TraceError):
            trace.flush()
    with pytest.raises(trace.TraceError):
        trace.flush("/proc/no/such/dir/trace.json")


def _c_program(tmp_path: Path, compile_ptx) -> tuple[Path, Path]:
    """A C program with two streams (driver API): a kernel on one, copies on the other."""
    if not (LIB / "libusdaa.so").exists():
        pytest.skip("build/lib is not built (make all)")
    ptx = tmp_path / "add_test.ptx"
    ptx.write_text(compile_ptx([ADD_TEST])[ADD_TEST])
    (tmp_path / "two.c").write_text(r"""
#include <stdio.h>
#include <sdaa.h>
int main(int argc, char **argv) {
    SDdevice dev; SDcontext ctx; SDmodule mod; SDfunction fn; SDstream s1, s2;
    SDdeviceptr a, b, c, x, y; int n = 65536;
    if (sdInit(0) || sdDeviceGet(&dev, 3) || sdCtxCreate(&ctx, 0, dev)) return 1;
    if (sdModuleLoad(&mod, argv[1]) || sdModuleGetFunction(&fn, mod, "add_test")) return 1;
    if (sdMemAlloc(&a, 4 * n) || sdMemAlloc(&b, 4 * n) || sdMemAlloc(&c, 4 * n)) return 1;
    if (sdMemAlloc(&x, 8 << 20) || sdMemAlloc(&y, 8 << 20)) return 1;
    if (sdStreamCreate(&s1, 0) || sdStreamCreate(&s2, 0)) return 1;
    void *params[] = { &a, &b, &c, &n };
    if (sdLaunchKernel(fn, 1, 1, 1, 32, 1, 1, 0, s1, params, NULL)) return 1;
    /* enough copies to outlast the hand-over of the interpreter lock to the kernel's channel */
    for (int i = 0; i < 32; i++)
        if (sdMemcpyDtoDAsync(y, x, 8 << 20, s2)) return 1;
    if (sdCtxSynchronize() || sdMemFree(x) != 0) return 1;
    if (sdMemFree(x) == 0) return 1;                 /* a failing call, for the log */
    printf("done\n");
    return 0;                                        /* the trace is written at exit */
}
""")
    subprocess.run(["gcc", "-Wall", "-Werror", "-I", str(ROOT / "include"), "two.c", "-o", "two",
                    f"-L{LIB}", "-lusdaa", f"-Wl,-rpath,{LIB}"], cwd=tmp_path, check=True)
    return tmp_path / "two", ptx


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GDEV_", "PYTHONPATH"))}
    env.update(extra)
    return env


def test_c_program_writes_the_trace_at_exit(tmp_path, compile_ptx):
    program, ptx = _c_program(tmp_path, compile_ptx)
    out = tmp_path / "c.json"
    run = subprocess.run([str(program), str(ptx)], env=_env(GDEV_TRACE=str(out), GDEV_ENGINE="interp"),
                         capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0 and "done" in run.stdout, run.stderr
    events = validate(json.loads(out.read_text()))
    host = [e for e in events if e["ph"] == "X" and e["cat"] == "api"]
    launch = [e for e in host if e["name"] == "sdLaunchKernel"]
    assert len(launch) == 1 and launch[0]["args"]["result"] == "0 SDAA_SUCCESS"
    failed = [e for e in host if e["name"] == "sdMemFree"]
    assert [e["args"]["result"] for e in failed] == ["0 SDAA_SUCCESS", "1 SDAA_ERROR_INVALID_VALUE"]
    kernel = [e for e in events if e["ph"] == "X" and e["cat"] == "compute"]
    copies = [e for e in events if e["ph"] == "X" and e["cat"] == "copy" and e["args"]["bytes"] == 8 << 20]
    assert [k["name"] for k in kernel] == ["add_test"] and len(copies) == 32
    assert any(overlaps(kernel[0], c) for c in copies)
    assert sum(e["ph"] == "f" for e in events) >= 33     # launch + 32 copies, each linked to its call


def test_api_log_prints_one_line_per_call(tmp_path, compile_ptx):
    program, ptx = _c_program(tmp_path, compile_ptx)
    run = subprocess.run([str(program), str(ptx)], env=_env(GDEV_LOG="api"), capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    calls = [line for line in run.stderr.splitlines() if "gdev.calls:" in line]
    names = [line.split("gdev.calls: ", 1)[1].split("(", 1)[0] for line in calls]
    assert names[:3] == ["sdInit", "sdDeviceGet", "sdCtxCreate"]
    assert names.count("sdMemcpyDtoDAsync") == 32 and names.count("sdMemFree") == 2
    get = next(line for line in calls if "sdDeviceGet(" in line)
    assert "ordinal=3" in get and "= 0 SDAA_SUCCESS" in get and "*device=3" in get
    load = next(line for line in calls if "sdModuleLoad(" in line)
    assert f"fname='{ptx}'" in load
    frees = [line for line in calls if "sdMemFree(" in line]
    assert "= 0 SDAA_SUCCESS" in frees[0] and "= 1 SDAA_ERROR_INVALID_VALUE" in frees[1]
    quiet = subprocess.run([str(program), str(ptx)], env=_env(), capture_output=True, text=True, timeout=120)
    assert "gdev.calls" not in quiet.stderr
