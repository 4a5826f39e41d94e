"""API cost: single calls through libusdaa.so against an empty embedded call (bench/c/api_cost.c).

The reference is sdaaGetLastError, the cheapest export: what crossing from C into
the cffi-embedded interpreter and back costs with no work on the other side.
"""
from __future__ import annotations

from common import Results, Target
from images import KernelImage
import programs

FAMILY = "api"
EMPTY = "sdaaGetLastError = empty embedded call"

# key in the program's output -> figure name, target
FIGURES = [
    ("get_device", "sdaaGetDevice", Target("ratio", "<=", 3.0)),
    ("malloc_free", "sdaaMalloc+sdaaFree (4 KiB)", Target("value", "<=", 20.0)),
    ("mem_alloc_free", "sdMemAlloc+sdMemFree (4 KiB)", None),
    ("launch_enqueue", "launch enqueue (sdaaConfigureCall+4 SetupArgument+sdaaLaunchAsync, n=0)",
     Target("value", "<=", 20.0)),
    ("driver_launch_enqueue", "launch enqueue (sdLaunchKernel, n=0)", None),
    ("launch_sync", "launch+sync (sdaaLaunchAsync+sdaaDeviceSynchronize, n=0)", Target("value", "<=", 60.0)),
    ("launch_enqueue_busy", "launch enqueue while another stream's kernels run", Target("value", "<=", 30.0)),
    ("h2d_4k", "sdaaMemcpy H2D 4 KiB (pageable)", Target("value", "<=", 30.0)),
    ("malloc_240m", "sdaaMalloc (240 MiB)", Target("value", "<=", 1000.0)),
    ("empty_call_end", "empty embedded call, end of run (drift check)", None),
]


def run(results: Results, images: dict[str, KernelImage], quick: bool) -> None:
    exe = programs.build("api_cost")
    repeats, calls = (5, 1000) if quick else (9, 3000)
    got = programs.run([str(exe), str(images["add_test"].cubin), str(repeats), str(calls)],
                       programs.environment())
    empty_us = got["empty_call"] / 1e3
    for key, name, target in FIGURES:
        notes = ""
        if key == "launch_enqueue_busy" and not got.get("busy_after"):
            notes = "the other stream's kernels ended before the measurement did"
        results.add(FAMILY, name, got[key] / 1e3, "us", EMPTY, empty_us, target=target, notes=notes)
