"""Code objects of the benchmark kernels, built once per run into build/bench/.

add_test comes from `make all` (build/kernels/add_test.cubin); the others are the
test corpus's kernels (tests/kernels/*.cu) and the kernels2 family's own
(bench/cuda/*.cu, written to build/bench/kernels2_images/), all compiled in one nvcc
call through gdev_shim.tools.nvcc (PTX cached by source hash) and wrapped by
build_image.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from common import ROOT, BenchError
from programs import KERNEL_DIR, OUT_DIR

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gdev_shim.common.image import build_image  # noqa: E402
from gdev_shim.tools.nvcc import NvccError, compile_ptx  # noqa: E402

# benchmark kernel -> its source in the test corpus
SOURCES = {
    "matmul_tiled": ROOT / "tests" / "kernels" / "corpus_linalg.cu",
    "reduce_sum": ROOT / "tests" / "kernels" / "reduce.cu",
    "branches": ROOT / "tests" / "kernels" / "branches.cu",
}

KERNELS2_DIR = ROOT / "bench" / "cuda"
# the kernels2 family: kernel -> its source
KERNELS2_SOURCES = {
    "saxpy_stride": KERNELS2_DIR / "saxpy.cu",
    "reduce_tree512": KERNELS2_DIR / "reduce_tree.cu",
    "reduce_shfl": KERNELS2_DIR / "reduce_shfl.cu",
    "histogram256": KERNELS2_DIR / "histogram.cu",
    "bitonic_sort1024": KERNELS2_DIR / "bitonic.cu",
    "scan_hillis_steele1024": KERNELS2_DIR / "scan.cu",
    "stencil5": KERNELS2_DIR / "stencil.cu",
    "matmul16": KERNELS2_DIR / "matmul.cu",
}


@dataclass(frozen=True)
class KernelImage:
    cubin: Path
    ptx: str


def build_all() -> dict[str, KernelImage]:
    """kernel name -> its code object file and PTX (add_test included)."""
    add = KERNEL_DIR / "add_test.cubin"
    if not add.is_file():
        raise BenchError(f"{add} is missing: run `make all` first")
    try:
        ptx = compile_ptx(sorted({*SOURCES.values(), *KERNELS2_SOURCES.values()}))
    except NvccError as exc:
        raise BenchError(f"nvcc: {exc}") from exc
    images = {"add_test": KernelImage(add, (KERNEL_DIR / "add_test.ptx").read_text())}
    # a directory of their own: the two sets of sources may share file names
    for sources, out_dir in ((SOURCES, OUT_DIR), (KERNELS2_SOURCES, OUT_DIR / "kernels2_images")):
        out_dir.mkdir(parents=True, exist_ok=True)
        for kernel, src in sources.items():
            out = out_dir / f"{src.stem}.cubin"
            out.write_bytes(build_image(ptx[src]))
            images[kernel] = KernelImage(out, ptx[src])
    return images
