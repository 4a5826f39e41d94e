"""How a launch shares its blocks out to its host threads (jit/launch.py: _Chunks)."""
from __future__ import annotations

import threading
import time

import pytest

pytest.importorskip("llvmlite")

from gdev_shim.jit.launch import _Chunks  # noqa: E402


class _Kernel:
    """Stands for compiled code: records the block ranges it ran, faults at `bad` blocks."""

    upgrade = None

    def __init__(self, bad: set[int] = frozenset(), slow_env: int = -1) -> None:
        self.ran: list[tuple[int, int, int]] = []
        self.bad, self.slow_env = bad, slow_env
        self.lock = threading.Lock()

    def fn(self, env: int, lo: int, hi: int) -> int:
        if env == self.slow_env:
            time.sleep(0.05)                  # a thread the host has descheduled
        for blk in range(lo, hi):
            if blk in self.bad:
                with self.lock:
                    self.ran.append((env, lo, blk))
                return 1
        with self.lock:
            self.ran.append((env, lo, hi))
        return 0


def _launch(chunks: _Chunks, kernel: _Kernel, nworkers: int) -> list[int]:
    status = [0] * nworkers

    def work(i: int) -> None:
        status[i] = chunks.run(kernel, i, i)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(nworkers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return status


def test_every_block_runs_once_and_a_slow_thread_leaves_its_share() -> None:
    kernel = _Kernel(slow_env=1)
    chunks = _Chunks(1000, 2, 8)          # 16 ranges of 62 or 63 blocks
    assert _launch(chunks, kernel, 2) == [0, 0]
    covered = sorted((lo, hi) for _env, lo, hi in kernel.ran)
    assert covered[0][0] == 0 and covered[-1][1] == 1000
    assert all(a[1] == b[0] for a, b in zip(covered, covered[1:]))
    # thread 1 sleeps in each of its ranges: thread 0 runs most of the 16
    assert sum(1 for env, _lo, _hi in kernel.ran if env == 0) > 8


def test_the_lowest_faulting_block_is_reported_first() -> None:
    kernel = _Kernel(bad={700, 130}, slow_env=0)
    chunks = _Chunks(1000, 2, 8)          # 16 ranges of 62 or 63 blocks
    status = _launch(chunks, kernel, 2)
    first = min(range(2), key=lambda w: chunks.failed[w])
    assert status[first] == 1
    faulted = [blk for env, _lo, blk in kernel.ran if env == first and blk in kernel.bad]
    assert faulted == [130]
    # no range past the faulting one was started after it failed
    assert all(lo <= 700 for _env, lo, _hi in kernel.ran)


def test_fixed_ranges_keep_one_range_per_thread() -> None:
    kernel = _Kernel()
    chunks = _Chunks(4, 4, 0)
    assert _launch(chunks, kernel, 4) == [0, 0, 0, 0]
    assert sorted(kernel.ran) == [(0, 0, 1), (1, 1, 2), (2, 2, 3), (3, 3, 4)]


def test_a_small_launch_keeps_one_range_per_thread() -> None:
    assert _Chunks(4, 2, 8).bounds == [0, 2, 4]
    assert len(_Chunks(16384, 2, 8).bounds) == 17
