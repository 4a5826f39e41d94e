"""Resident memory stays flat over many create/destroy cycles through the C API.

Each workload runs in a fresh process that loads the real libraries (cffi ABI
mode).  After a warm-up (first allocations, caches, interpreter arenas) the
resident set may grow by at most BOUND over the measured cycles: with the
default counts that is under 210 bytes per malloc/free cycle and under 2 KiB
per context or module cycle, well below what one leaked buffer, channel or
parsed module (tens of KiB and up) would add.  GDEV_LEAK_CYCLES=10000 runs
every workload 10,000 times (the default keeps `make check` fast).
"""
from __future__ import annotations

import json
import os
import textwrap

import pytest

from helpers import needs_build, run_python

BOUND = 2 << 20
SCALE = int(os.environ.get("GDEV_LEAK_CYCLES", "0"))
CYCLES = {"malloc": SCALE or 10_000, "context": SCALE or 1_000, "module": SCALE or 1_000}

WORKLOAD = textwrap.dedent("""
    import json, os, sys
    sys.path.insert(0, "tests")
    import errors_abi as abi
    ffi, u, g = abi.open_libraries()
    PAGE = os.sysconf("SC_PAGE_SIZE")
    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * PAGE
    image = ffi.new("char[]", abi.CUBIN.read_bytes())
    host = ffi.new("char[]", 4096)
    assert u.sdInit(0) == 0
    ctx = ffi.new("SDcontext *")
    assert u.sdCtxCreate(ctx, 0, 0) == 0
    p = ffi.new("void **")
    d = ffi.new("SDdeviceptr *")
    m = ffi.new("SDmodule *")
    f = ffi.new("SDfunction *")
    c = ffi.new("SDcontext *")

    def malloc_cycle():
        assert u.sdaaMalloc(p, 4096) == 0
        assert u.sdaaMemcpy(p[0], host, 4096, 1) == 0
        assert u.sdaaFree(p[0]) == 0
        assert u.sdMemAlloc(d, 65536) == 0 and u.sdMemFree(d[0]) == 0

    def context_cycle():
        assert u.sdCtxCreate(c, 0, 1) == 0
        assert u.sdMemAlloc(d, 4096) == 0 and u.sdMemcpyHtoD(d[0], host, 4096) == 0
        assert u.sdCtxDestroy(c[0]) == 0
        h = g.gopen(2)
        assert h != ffi.NULL and g.gmalloc(h, 4096) != 0 and g.gclose(h) == 0

    def module_cycle():
        assert u.sdModuleLoadData(m, image) == 0
        assert u.sdModuleGetFunction(f, m[0], b"add_test") == 0
        assert u.sdModuleUnload(m[0]) == 0

    work = {"malloc": malloc_cycle, "context": context_cycle, "module": module_cycle}[sys.argv[1]]
    n = int(sys.argv[2])
    for _ in range(max(50, n // 10)):
        work()
    from gdev_shim.card import warmup
    warmup.settle()         # the compiler's one-time warm-up (card/warmup.py) is no leak
    start = rss()
    for _ in range(n):
        work()
    free_b, total_b = ffi.new("size_t *"), ffi.new("size_t *")
    u.sdMemGetInfo(free_b, total_b)
    print("RESULT", json.dumps({"growth": rss() - start, "start": start, "vram_used": total_b[0] - free_b[0]}))
""")


@needs_build
@pytest.mark.parametrize("workload", sorted(CYCLES))
def test_resident_memory_is_flat(workload):
    n = CYCLES[workload]
    proc = run_python(f"import sys; sys.argv = ['leak', {workload!r}, '{n}']\n" + WORKLOAD, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.split("RESULT", 1)[1])
    assert out["growth"] <= BOUND, f"{workload}: RSS grew {out['growth']} bytes over {n} cycles"
    assert out["vram_used"] == 0          # nothing of the cycles is left on card 0
