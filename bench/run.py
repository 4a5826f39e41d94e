"""Benchmarks with a reference measured in the same run; writes bench/results.json.

    .venv/bin/python bench/run.py [--quick]

Figures are medians of repeats. Speed targets live here, never in unit tests.
"""
from __future__ import annotations

import ctypes
import json
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gdev_shim.card.card import Card  # noqa: E402
from gdev_shim.common.contract import C  # noqa: E402
from gdev_shim.ptx import execute as interp_execute, parse_module  # noqa: E402
from gdev_shim.tools.nvcc import compile_ptx  # noqa: E402

C_LOOP = r"""
#include <stddef.h>
void add(const int *a, const int *b, int *c, size_t n) { for (size_t i = 0; i < n; i++) c[i] = a[i] + b[i]; }
"""


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def c_add() -> ctypes.CDLL:
    tmp = Path(tempfile.mkdtemp())
    (tmp / "add.c").write_text(C_LOOP)
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", str(tmp / "add.c"), "-o", str(tmp / "add.so")],
                   check=True)
    lib = ctypes.CDLL(str(tmp / "add.so"))
    lib.add.argtypes = [ctypes.c_void_p] * 3 + [ctypes.c_size_t]
    return lib


def main() -> None:
    quick = "--quick" in sys.argv
    reps = 3 if quick else 5
    results: dict[str, dict] = {}

    def report(name: str, value: float, ref_name: str, ref: float, unit: str = "ms") -> None:
        ratio = value / ref if ref else float("inf")
        results[name] = {"value": value, "unit": unit, "reference": ref_name, "reference_value": ref,
                         "ratio": ratio}
        print(f"{name:44s} {value:10.2f} {unit}   {ref_name}: {ref:10.2f} {unit}   ratio {ratio:6.2f}")

    from gdev_shim import jit
    src = ROOT / "c_tests" / "kernels" / "add_test.cu"
    module = parse_module(compile_ptx([src], "sm_80", "-O3")[src])
    n = 0xF000000 // 4
    card = Card(0, vram_size=1 << 30)
    bos = [card.gem_new(n * 4, C.AIDEV_GEM_DOMAIN_VRAM) for _ in range(3)]
    a = np.arange(n, dtype=np.int32)
    b = 2 * a
    card.memory.write(bos[0].addr, a.tobytes())
    card.memory.write(bos[1].addr, b.tobytes())
    card.memory.fill(bos[2].addr, 0, 4, n)
    params = struct.pack("<QQQi", bos[0].addr, bos[1].addr, bos[2].addr, n)
    lib = c_add()
    out = np.empty_like(a)
    c_ms = median_time(lambda: lib.add(a.ctypes.data, b.ctypes.data, out.ctypes.data, n), reps) * 1e3
    np_ms = median_time(lambda: np.add(a, b, out=out), reps) * 1e3
    for label, grid, block in (("sdaa (4 arrays x 32)", (4, 1, 1), (32, 1, 1)),
                               ("cuda (n/256 x 256)", ((n + 255) // 256, 1, 1), (256, 1, 1))):
        jit.execute(module, "add_test", card.memory, grid, block, params, 0, 0)   # compile
        ms = median_time(lambda: jit.execute(module, "add_test", card.memory, grid, block,
                                             params, 0, 0), reps) * 1e3
        report(f"add_test 0xf000000 jit {label}", ms, "C -O2 loop", c_ms)
        report(f"add_test 0xf000000 jit {label} vs numpy", ms, "numpy a+b", np_ms)
    got = np.frombuffer(card.memory.read(bos[2].addr, n * 4), np.int32)
    assert np.array_equal(got, a + b)

    # H2D / D2H through the card's DMA byte path vs numpy copies of the same size
    for size in [4 << 10, 1 << 20, 16 << 20, 256 << 20]:
        if quick and size > 16 << 20:
            continue
        host = np.ones(size, np.uint8)
        dst = np.empty(size, np.uint8)
        bo = card.gem_new(size, C.AIDEV_GEM_DOMAIN_VRAM)
        span = card.memory.span(bo.addr, size)
        h2d = median_time(lambda: np.copyto(card.memory.span(bo.addr, size), host), reps)
        d2h = median_time(lambda: np.copyto(dst, card.memory.span(bo.addr, size)), reps)
        ref = median_time(lambda: np.copyto(dst, host), reps)
        gbs = lambda t: size / t / 1e9  # noqa: E731
        report(f"H2D {size >> 10} KiB (card span copy)", gbs(h2d), "numpy copy", gbs(ref), "GB/s")
        report(f"D2H {size >> 10} KiB (card span copy)", gbs(d2h), "numpy copy", gbs(ref), "GB/s")
        _ = span
        card.gem_free(bo)

    # interpreter throughput on the shared-memory reduction
    rsrc = ROOT / "tests" / "kernels" / "reduce.cu"
    rmod = parse_module(compile_ptx([rsrc], "sm_80", "-O3")[rsrc])
    rn = 1 << 16
    inb = card.gem_new(rn * 4, C.AIDEV_GEM_DOMAIN_VRAM)
    outb = card.gem_new(rn // 256 * 4, C.AIDEV_GEM_DOMAIN_VRAM)
    card.memory.write(inb.addr, np.ones(rn, np.float32).tobytes())
    rparams = struct.pack("<QQi", inb.addr, outb.addr, rn)
    ninstr = sum(1 for item in rmod.functions["reduce_sum"].body if hasattr(item, "opcode"))
    t = median_time(lambda: interp_execute(rmod, "reduce_sum", card.memory, (rn // 256, 1, 1),
                                           (256, 1, 1), rparams, 0, 0), reps)
    # thread-instructions: a lower bound (static count per thread; loops run 8 times)
    report("interp reduce_sum thread-instr/s (x1e6)", rn * ninstr / t / 1e6, "static count",
           float(ninstr), "M/s")
    (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
