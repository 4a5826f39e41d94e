"""Kernels through the runtime against the same computation in C -O2 (bench/c/kernels.c).

Every case runs in its own process per engine (GDEV_ENGINE=jit / interp: settings
are read at import).  A figure is the median launch+sync time; its reference is
the C implementation timed in the same process, and the card's result must equal it.
"""
from __future__ import annotations

from dataclasses import dataclass

from common import BenchError, Results
from images import KernelImage
import programs

FAMILY = "kernels"


@dataclass(frozen=True)
class Case:
    key: str            # case name understood by bench/c/kernels.c
    kernel: str
    label: str          # how the figure names the shape
    size_label: str     # how the figure names `size`


CASES = {
    "add_cuda": Case("add_cuda", "add_test", "add_test CUDA shape (sdLaunchKernel, 256-thread blocks)", "bytes"),
    "add_sdaa": Case("add_sdaa", "add_test", "add_test SDAA shape (sdaaConfigureCall(1) = 32 SPE threads)",
                     "bytes"),
    "matmul": Case("matmul", "matmul_tiled", "matmul_tiled 16x16 tiles", "n"),
    "reduce": Case("reduce", "reduce_sum", "reduce_sum shared-memory tree, 256-thread blocks", "n"),
    "branches": Case("branches", "branches", "branches (divergent integer loops)", "n"),
}

# engine -> [(case, size)]; the interpreter gets sizes it can afford
FULL = {
    "jit": [("add_cuda", 0xF000000), ("add_sdaa", 0xF000000), ("matmul", 512), ("reduce", 1 << 22),
            ("branches", 1 << 22)],
    # add_test SDAA shape: 32 lanes per step make the interpreter ~1 s per MiB, so 1 MiB
    "interp": [("add_cuda", 0xF000000), ("add_sdaa", 0x100000), ("matmul", 256), ("reduce", 1 << 22),
               ("branches", 1 << 20)],
}
QUICK = {
    "jit": [("add_cuda", 0xF000000), ("add_sdaa", 0xF000000), ("matmul", 128), ("reduce", 1 << 20),
            ("branches", 1 << 20)],
    "interp": [("add_cuda", 0x400000), ("add_sdaa", 0x10000), ("matmul", 64), ("reduce", 1 << 18),
               ("branches", 1 << 16)],
}


def size_text(case: Case, size: int) -> str:
    return f"{size:#x} bytes" if case.size_label == "bytes" else f"n={size}"


def measure(case: str, size: int, repeats: int, images: dict[str, KernelImage],
            **env: str) -> dict[str, float]:
    """One run of bench/c/kernels.c: first_ms, kernel_ms, ref_ms, threads."""
    exe = programs.build("kernels")
    got = programs.run([str(exe), case, str(size), str(repeats), str(images[CASES[case].kernel].cubin)],
                       programs.environment(**{**programs.CARD_IN_PROCESS, **env}), timeout=600)
    if got.get("checked") != 1:
        raise BenchError(f"kernels {case} {size}: result not checked")
    return got


def run(results: Results, images: dict[str, KernelImage], quick: bool) -> dict[tuple[str, str], tuple[int, dict]]:
    """Figures for both engines; returns {(case, engine): (size, measurements)} for later families."""
    plan = QUICK if quick else FULL
    measured: dict[tuple[str, str], tuple[int, dict]] = {}
    for engine, cases in plan.items():
        repeats = 3 if quick or engine == "interp" else 5
        for key, size in cases:
            case = CASES[key]
            try:
                got = measure(key, size, repeats, images, GDEV_ENGINE=engine)
            except BenchError as exc:
                results.fail(FAMILY, str(exc))
                continue
            measured[(key, engine)] = (size, got)
            results.add(FAMILY, f"{case.label} {size_text(case, size)} [{engine}]", got["kernel_ms"], "ms",
                        "C -O2 in the same process", got["ref_ms"],
                        notes=f"first launch (with compile) {got['first_ms']:.1f} ms; "
                              f"{int(got['threads'])} threads; median of {repeats}")
    return measured
