"""The benchmark suite (`make bench`): every figure next to a reference measured in the same run.

    .venv/bin/python bench/run.py [--quick] [--only FAMILY,...] [--classes CLASS,...]

Families, one module each: startup (a C program's first API call, as a process),
api_cost (C microbenchmark of single calls), copy_bw
(sdaaMemcpy vs memcpy), kernels (jit and interp vs C -O2), interp_rate
(interpreter thread-instructions/s), end_to_end (the seed program), sanitizer
(GDEV_MEMCHECK=all overhead), kernels2 (eight kernel classes under the default
engine vs C twins: steady state, first-launch overhead, peak RSS), swap (device memory
overcommit: ms per MiB swapped out and in, three processes needing 60% of VRAM each run
together vs one after another), sched (processes sharing a card under each virtual-GPU
scheduler: fairness, priority shares).  Figures are
medians of repeats; all of them go to bench/results.json, and a table of the
speed targets ends the run.  Speed targets live here, never in unit tests.
--quick: smaller sizes, fewer repeats.  --classes: only these kernels2 classes (in the
kernels2 family and in the sanitizer family's figures on them).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BenchError, Results  # noqa: E402
import api_cost  # noqa: E402
import copy_bw  # noqa: E402
import end_to_end  # noqa: E402
import images as images_module  # noqa: E402
import interp_rate  # noqa: E402
import kernels  # noqa: E402
import kernels2  # noqa: E402
import sanitizer  # noqa: E402
import startup  # noqa: E402
import swap  # noqa: E402
import vgpu_sched  # noqa: E402

FAMILIES = ["startup", "api", "copy", "kernels", "interp", "e2e", "sanitizer", "kernels2", "swap", "sched"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer repeats (< 2 min)")
    parser.add_argument("--only", default=",".join(FAMILIES),
                        help=f"comma-separated families to run (default: all of {','.join(FAMILIES)})")
    parser.add_argument("--classes", default="",
                        help="comma-separated kernels2 classes to run (default: all of "
                             f"{','.join(c.key for c in kernels2.CLASSES)})")
    args = parser.parse_args(argv)
    only = [f for f in args.only.split(",") if f]
    unknown = sorted(set(only) - set(FAMILIES))
    if unknown:
        parser.error(f"unknown families {unknown}; choose from {FAMILIES}")

    classes = [c for c in args.classes.split(",") if c]
    unknown = sorted(set(classes) - {c.key for c in kernels2.CLASSES})
    if unknown:
        parser.error(f"unknown kernels2 classes {unknown}")
    results = Results(quick=args.quick)
    t0 = time.perf_counter()
    try:
        images = images_module.build_all()
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1

    def family(name: str, fn, *fargs) -> object:
        if name not in only:
            return None
        print(f"\n== {name} ==", flush=True)
        t = time.perf_counter()
        try:
            return fn(results, images, *fargs)
        except BenchError as exc:
            results.fail(name, str(exc))
            return None
        finally:
            print(f"({name}: {time.perf_counter() - t:.1f} s)", flush=True)

    family("startup", startup.run, args.quick)
    family("api", api_cost.run, args.quick)
    family("copy", copy_bw.run, args.quick)
    # the interpreter rates divide by the kernels family's interpreter timings
    measured = family("kernels", kernels.run, args.quick)
    if "interp" in only and "kernels" not in only:
        only.append("kernels")
        measured = family("kernels", kernels.run, args.quick)
    family("interp", interp_rate.run, measured or {})
    family("e2e", end_to_end.run, args.quick)
    family("sanitizer", sanitizer.run, args.quick, classes)
    family("kernels2", kernels2.run, args.quick, classes)
    family("swap", swap.run, args.quick)
    family("sched", vgpu_sched.run, args.quick)

    print("\n== targets ==")
    print(results.targets_table())
    results.write()
    print(f"\n{len(results.figures)} figures in {time.perf_counter() - t0:.0f} s -> bench/results.json"
          + (f"; {len(results.failures)} FAILED: " + "; ".join(results.failures) if results.failures else ""))
    return 1 if results.failures else 0


if __name__ == "__main__":
    sys.exit(main())
