"""Copy bandwidth: sdaaMemcpy H2D/D2H/D2D, pageable and pinned, against libc memcpy
of the same size in the same C process (bench/c/copy_bw.c)."""
from __future__ import annotations

from common import Results, Target
from images import KernelImage
import programs

FAMILY = "copy"
FULL_SIZES = [(4 << 10) << (2 * i) for i in range(9)]      # 4 KiB, 16 KiB, ... 256 MiB
QUICK_SIZES = [4 << 10, 256 << 10, 16 << 20, 256 << 20]
KINDS = [("h2d_pageable", "H2D pageable"), ("d2h_pageable", "D2H pageable"),
         ("h2d_pinned", "H2D pinned"), ("d2h_pinned", "D2H pinned"), ("d2d", "D2D")]
TARGET_SIZE = 256 << 20
TARGET = Target("ratio", ">=", 0.8)
# The opt-in one-copy path (GDEV_MEMCPY_ONE_COPY=1: the daemon copies with the caller's
# memory through process_vm_readv/writev), measured beside the default at the target size.
ONE_COPY_KINDS = [("h2d_pageable", "H2D pageable one-copy"), ("d2h_pageable", "D2H pageable one-copy")]


def size_text(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 else f"{n >> 10} KiB"


def run(results: Results, images: dict[str, KernelImage], quick: bool) -> None:
    del images
    exe = programs.build("copy_bw")
    sizes = QUICK_SIZES if quick else FULL_SIZES
    got = programs.run([str(exe), "3" if quick else "7", *map(str, sizes)], programs.environment(),
                       timeout=600)
    for n in sizes:
        ref = got[f"memcpy:{n}"]
        for key, label in KINDS:
            target = TARGET if n == TARGET_SIZE and key != "d2d" else None
            results.add(FAMILY, f"sdaaMemcpy {label} {size_text(n)}", got[f"{key}:{n}"], "GB/s",
                        f"libc memcpy {size_text(n)}", ref, target=target)
    one = programs.run([str(exe), "3" if quick else "7", str(TARGET_SIZE)],
                       programs.environment(GDEV_MEMCPY_ONE_COPY="1"), timeout=600)
    for key, label in ONE_COPY_KINDS:
        results.add(FAMILY, f"sdaaMemcpy {label} {size_text(TARGET_SIZE)}", one[f"{key}:{TARGET_SIZE}"],
                    "GB/s", f"libc memcpy {size_text(TARGET_SIZE)}", one[f"memcpy:{TARGET_SIZE}"])
