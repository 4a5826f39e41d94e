"""Interpreter throughput: thread-instructions per second on matmul and the reduction.

The count comes from running the same launch shape once on the interpreter in
this process with every decoded work instruction (arithmetic, compares, moves,
loads, stores) wrapped to count the lanes it runs for.  Branches, exits and
barriers are not counted, so the rate is a lower bound.  Neither kernel's
instruction stream depends on the data, so zero-filled inputs count the same.
The time is the median launch+sync measured through the runtime with
GDEV_ENGINE=interp (kernels.py).

Reference: the rate the C -O2 implementation would retire the same thread-
instructions at (count / its time), measured in that same process.
"""
from __future__ import annotations

import struct
import sys
from typing import Any

from common import ROOT, Results, Target
from images import KernelImage

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gdev_shim.ptx.errors import KernelFault  # noqa: E402

FAMILY = "interp"
TARGET = Target("value", ">=", 1e8)


def _launch_of(case: str, size: int, addr: list[int]) -> tuple[str, tuple, tuple, bytes, list[int]]:
    """kernel, grid, block, parameters, buffer sizes: the shapes bench/c/kernels.c launches."""
    if case == "matmul":
        n = size
        return ("matmul_tiled", (n // 16, n // 16, 1), (16, 16, 1),
                struct.pack("<QQQiii", addr[0], addr[1], addr[2], n, n, n), [n * n * 4] * 3)
    if case == "reduce":
        return ("reduce_sum", (size // 256, 1, 1), (256, 1, 1),
                struct.pack("<QQi", addr[0], addr[1], size), [size * 4, size // 256 * 4])
    raise ValueError(f"no instruction count for case {case!r}")


def count_thread_instructions(ptx: str, case: str, size: int) -> int:
    """Lanes x executed work instructions of one launch, on the interpreter."""
    from gdev_shim.card.card import Card
    from gdev_shim.common.contract import C
    from gdev_shim.ptx import execute, parse_module
    from gdev_shim.ptx.decode import ALU, program_for

    module = parse_module(ptx)
    _, _, _, _, sizes = _launch_of(case, size, [0, 0, 0])
    card = Card(0, vram_size=max(64 << 20, 2 * sum(sizes)))
    bos = [card.gem_new(n, C.AIDEV_GEM_DOMAIN_VRAM) for n in sizes]
    for bo, n in zip(bos, sizes):
        card.memory.fill(bo.addr, 0, 4, n // 4)
    kernel, grid, block, params, _ = _launch_of(case, size, [bo.addr for bo in bos] + [0])
    counter = [0]

    def counting(fn: Any) -> Any:
        def run(st: Any, lanes: Any) -> Any:
            counter[0] += st.L if lanes is None else len(lanes)
            return fn(st, lanes)
        return run

    # the module is this function's own: wrapping its decoded program changes nothing else
    for op in program_for(module, kernel).ops:
        if op.kind == ALU:
            op.fn = counting(op.fn)
    execute(module, kernel, card.memory, grid, block, params, 0, 0)
    for bo in bos:
        card.gem_free(bo)
    return counter[0]


def run(results: Results, images: dict[str, KernelImage],
        measured: dict[tuple[str, str], tuple[int, dict]]) -> None:
    for case in ("matmul", "reduce"):
        entry = measured.get((case, "interp"))
        if entry is None:
            results.fail(FAMILY, f"no interpreter measurement of {case}")
            continue
        size, got = entry
        kernel = "matmul_tiled" if case == "matmul" else "reduce_sum"
        try:
            count = count_thread_instructions(images[kernel].ptx, case, size)
        except (KernelFault, KeyError, ValueError, RuntimeError, MemoryError) as exc:
            # the engine's failures (bad launch, kernel fault) end this figure, not the suite
            results.fail(FAMILY, f"counting {kernel}: {type(exc).__name__}: {exc}")
            continue
        rate = count / (got["kernel_ms"] / 1e3)
        results.add(FAMILY, f"interp thread-instr/s {kernel} n={size}", rate, "instr/s",
                    "C -O2 retiring the same count", count / (got["ref_ms"] / 1e3), target=TARGET,
                    notes=f"{count} thread-instructions (work instructions only: a lower bound)")
