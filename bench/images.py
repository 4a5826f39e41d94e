"""Code objects of the benchmark kernels, built once per run into build/bench/.

add_test comes from `make all` (build/kernels/add_test.cubin); the others are the
test corpus's kernels (tests/kernels/*.cu), compiled in one nvcc call through
gdev_shim.tools.nvcc (PTX cached by source hash) and wrapped by build_image.
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
        ptx = compile_ptx(sorted(set(SOURCES.values())))
    except NvccError as exc:
        raise BenchError(f"nvcc: {exc}") from exc
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    images = {"add_test": KernelImage(add, (KERNEL_DIR / "add_test.ptx").read_text())}
    for kernel, src in SOURCES.items():
        out = OUT_DIR / f"{src.stem}.cubin"
        out.write_bytes(build_image(ptx[src]))
        images[kernel] = KernelImage(out, ptx[src])
    return images
