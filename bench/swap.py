"""Device memory overcommit: what swapping VRAM buffers to host memory costs (card/swap.py).

Two figures:
- the swap cost, in ms per MiB swapped out and swapped in, from the card's own swap
  counters while two clients of an in-process card, each needing 3/4 of its VRAM, take
  turns (every turn evicts one and restores the other); reference: a host memcpy of the
  same size, ms per MiB;
- three processes each needing 60% of a 64 MiB card's VRAM, sharing one card daemon,
  each writing a pattern and running kernels over it with a synchronize after each: the
  wall time of running them together against running them one after another (same
  daemon, warmed up; each process's start-up is in both).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from common import ROOT, BenchError, Results
from images import KernelImage
import programs

FAMILY = "swap"
MiB = 1 << 20

# the test suite's kernel (tests/test_overcommit.py runs the same programs, smaller)
STEP_PTX = (programs.ROOT / "tests" / "kernels" / "step.ptx").read_text()

PROGRAM = f"""
import sys, numpy as np, gdev_shim
tag, rounds = int(sys.argv[1]), int(sys.argv[2])
n = (38 << 20) // 4
d = gdev_shim.Device(0)
step = d.load_module({STEP_PTX!r}).step
expect = np.arange(n, dtype=np.uint32) * np.uint32(7) + np.uint32(tag)
buf = d.malloc(4 * n)
buf.copy_from(expect)
for r in range(rounds):
    step(buf, np.uint32(n), np.uint32(r + tag), grid=n // 256, block=256)
    d.synchronize()
    expect = expect * np.uint32(3) + np.uint32(r + tag)
print("ok" if np.array_equal(buf.to_numpy(np.uint32), expect) else "wrong", flush=True)
"""


def _swap_cost(turns: int) -> tuple[float, float, float]:
    """(ms per MiB out, ms per MiB in, host memcpy ms per MiB) with two clients taking turns."""
    sys.path.insert(0, str(ROOT / "tests"))
    from gdev_shim.card import Card, CardFile
    from gdev_shim.common.contract import C
    from helpers import Ring, gem

    vram, need = 256 * MiB, 192 * MiB
    card = Card(0, vram_size=vram)
    files = [CardFile(card), CardFile(card)]
    try:
        bufs = [gem(f, need) for f in files]
        rings = [Ring(f) for f in files]
        seqs = [0, 0]

        def touch(i: int) -> None:
            seqs[i] += 1
            rings[i].emit(C.AIDEV_OP_MEMSET, bufs[i].addr, seqs[i], need // 4, fn=4)
            rings[i].emit(C.AIDEV_OP_FENCE, 0, seqs[i])
            rings[i].fire()
            rc, status = rings[i].wait(0, seqs[i], timeout_ms=120_000)
            if rc or status:
                raise BenchError(f"swap turn failed: {rings[i].channel.fault_text}")

        touch(0)
        touch(1)                    # both hold bytes now: every later turn moves real data
        stats = card.buffers.residency.stats
        base = (stats.out_bytes, stats.out_ns, stats.in_bytes, stats.in_ns)
        for t in range(turns):
            touch(t % 2)
        moved_out, out_ns = stats.out_bytes - base[0], stats.out_ns - base[1]
        moved_in, in_ns = stats.in_bytes - base[2], stats.in_ns - base[3]
        if not moved_out or not moved_in:
            raise BenchError("the clients never swapped")
    finally:
        for f in files:
            f.close()
    src, dst = np.ones(need, np.uint8), np.zeros(need, np.uint8)
    start = time.perf_counter()
    np.copyto(dst, src)
    memcpy_ms = (time.perf_counter() - start) * 1e3 / (need / MiB)
    return out_ns / 1e6 / (moved_out / MiB), in_ns / 1e6 / (moved_in / MiB), memcpy_ms


def _status(run_dir: Path) -> dict:
    from gdev_shim.aidev.daemon import status_at
    [path] = (run_dir / "gdev-shim").glob("cardd-*.sock")
    return status_at(path)


def _programs(env: dict[str, str], tags: list[int], rounds: int, together: bool) -> float:
    """Wall seconds of running the program once per tag, together or one after another."""
    cmd = [sys.executable, "-c", PROGRAM]
    t = time.perf_counter()
    if together:
        procs = [subprocess.Popen(cmd + [str(tag), str(rounds)], cwd=ROOT, env=env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) for tag in tags]
        outs = [p.communicate(timeout=600) for p in procs]
        codes = [p.returncode for p in procs]
    else:
        done = [subprocess.run(cmd + [str(tag), str(rounds)], cwd=ROOT, env=env, capture_output=True,
                               text=True, timeout=600) for tag in tags]
        outs = [(d.stdout, d.stderr) for d in done]
        codes = [d.returncode for d in done]
    elapsed = time.perf_counter() - t
    for code, (out, err) in zip(codes, outs):
        if code != 0 or out.strip() != "ok":
            raise BenchError(f"overcommit program failed ({code}): {out.strip()} {err.strip()[-300:]}")
    return elapsed


def _three_processes(rounds: int) -> tuple[float, float, float]:
    """(together s, one after another s, MiB swapped out while together)."""
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        run_dir.mkdir(mode=0o700)
        env = programs.environment(GDEV_TRANSPORT="cardd", XDG_RUNTIME_DIR=str(run_dir),
                                   GDEV_SIM_VRAM="64M", GDEV_CARDD_IDLE_S="60")
        try:
            _programs(env, [9], 1, together=False)            # the daemon starts, the kernel compiles
            apart = _programs(env, [1, 2, 3], rounds, together=False)
            before = _status(run_dir)["cards"][0]["swap"]["out_bytes"]
            together = _programs(env, [1, 2, 3], rounds, together=True)
            swapped = (_status(run_dir)["cards"][0]["swap"]["out_bytes"] - before) / MiB
        finally:
            try:
                os.kill(_status(run_dir)["pid"], signal.SIGTERM)
            except (OSError, ValueError):
                pass
    return together, apart, swapped


def run(results: Results, images: dict[str, KernelImage], quick: bool) -> None:
    out_ms, in_ms, memcpy_ms = _swap_cost(4 if quick else 10)
    reference = "host memcpy of the same size, ms per MiB"
    results.add(FAMILY, "swap out: VRAM buffer to host memory, per MiB", out_ms, "ms/MiB", reference, memcpy_ms,
                notes="two clients of 192 MiB on a 256 MiB card taking turns")
    results.add(FAMILY, "swap in: host memory back to VRAM, per MiB", in_ms, "ms/MiB", reference, memcpy_ms)
    together, apart, swapped = _three_processes(3 if quick else 8)
    results.add(FAMILY, "three processes needing 60% of VRAM each, run together", together, "s",
                "the same three run one after another", apart,
                notes=f"{swapped:.0f} MiB swapped out while together")
