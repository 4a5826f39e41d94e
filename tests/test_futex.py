"""common/futex.py: the compiled calls and the ctypes fallback behave alike."""
from __future__ import annotations

import mmap
import os
import threading
import time

import numpy as np
import pytest

from gdev_shim.common import futex

ALL_CPUS = os.sched_getaffinity(0)
IMPLEMENTATIONS = {
    "compiled": (futex.wait, futex.wake),
    "ctypes": (futex._ctypes_wait, futex._ctypes_wake),
}


def _shared_words(dtype):
    """Two words at the start of a fresh page (futex words must not straddle pages)."""
    pages = mmap.mmap(-1, mmap.PAGESIZE)
    words = np.frombuffer(pages, dtype=dtype, count=2)
    yield words
    del words


@pytest.fixture
def word():
    yield from _shared_words(np.uint32)


def test_the_compiled_calls_are_built():
    assert futex._lib is not None, "gdev_shim._futex is missing: run build_ffi.py --header-modules"
    assert futex._spin_lib is not None, "gdev_shim._futex predates the spins: run build_ffi.py --header-modules"


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_wait_returns_at_once_when_the_word_differs(word, impl):
    wait, _ = IMPLEMENTATIONS[impl]
    word[0] = 7
    start = time.monotonic()
    assert wait(word.ctypes.data, 6, 5.0) is True
    assert time.monotonic() - start < 1.0


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_wait_times_out_when_nobody_wakes(word, impl):
    wait, _ = IMPLEMENTATIONS[impl]
    word[0] = 3
    start = time.monotonic()
    assert wait(word.ctypes.data, 3, 0.05) is False
    assert time.monotonic() - start >= 0.04


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_wake_ends_a_sleep(word, impl):
    wait, wake = IMPLEMENTATIONS[impl]
    word[0] = 0
    woke: list[bool] = []
    sleeper = threading.Thread(target=lambda: woke.append(wait(word.ctypes.data, 0, 10.0)))
    sleeper.start()
    time.sleep(0.05)                      # asleep by now (or it returns on the changed word)
    word[0] = 1
    wake(word.ctypes.data)
    sleeper.join(5.0)
    assert not sleeper.is_alive() and woke == [True]


@pytest.fixture
def wide():
    yield from _shared_words(np.uint64)


@pytest.fixture
def cpus():
    """Two u32 words: this side's CPU (written by a spin) and the other side's."""
    pages = mmap.mmap(-1, mmap.PAGESIZE)
    words = np.frombuffer(pages, dtype=np.uint32, count=2)
    yield words, words.ctypes.data, words.ctypes.data + 4
    del words


def test_spin_reached_sees_a_fence_already_there(wide, cpus):
    words, mine, theirs = cpus
    wide[0] = 9
    assert futex.spin_reached(wide.ctypes.data, 9, 1_000_000, mine, theirs) == futex.REACHED
    assert futex.spin_reached(wide.ctypes.data, 10, 0, mine, theirs) == futex.TIMED_OUT
    assert words[0] >= 1                  # 1 + the CPU it ran on


def test_spin_reached_gives_up_after_its_bound(wide, cpus):
    _, mine, theirs = cpus
    wide[0] = 1
    start = time.monotonic_ns()
    assert futex.spin_reached(wide.ctypes.data, 2, 2_000_000, mine, theirs) == futex.TIMED_OUT
    assert time.monotonic_ns() - start >= 2_000_000


def test_spin_reached_sees_a_store_of_another_thread(wide, cpus):
    _, mine, theirs = cpus
    wide[0] = 0
    writer = threading.Timer(0.01, lambda: wide.__setitem__(0, 1 << 40))
    writer.start()
    # the spin releases the interpreter lock, so the writer runs meanwhile
    assert futex.spin_reached(wide.ctypes.data, 1 << 40, 5_000_000_000, mine, theirs) == futex.REACHED
    writer.join()


def test_no_spin_when_the_other_side_shares_the_cpu(wide, word, cpus):
    words, mine, theirs = cpus
    wide[0], word[0] = 0, 5
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})   # this thread stays on one CPU
    try:
        futex.spin_reached(wide.ctypes.data, 1, 0, mine, theirs)
        words[1] = words[0]               # the other side last ran here too
        start = time.monotonic_ns()
        assert futex.spin_reached(wide.ctypes.data, 1, 1_000_000_000, mine, theirs) == futex.SHARED_CPU
        assert futex.spin_changed(word.ctypes.data, 5, 1_000_000_000, mine, theirs) == futex.SHARED_CPU
        assert time.monotonic_ns() - start < 500_000_000
    finally:
        os.sched_setaffinity(0, ALL_CPUS)


def test_spin_changed(word, cpus):
    _, mine, theirs = cpus
    word[0] = 5
    assert futex.spin_changed(word.ctypes.data, 4, 1_000_000, mine, theirs) == futex.REACHED
    start = time.monotonic_ns()
    assert futex.spin_changed(word.ctypes.data, 5, 2_000_000, mine, theirs) == futex.TIMED_OUT
    assert time.monotonic_ns() - start >= 2_000_000
    writer = threading.Timer(0.01, lambda: word.__setitem__(0, 6))
    writer.start()
    assert futex.spin_changed(word.ctypes.data, 5, 5_000_000_000, mine, theirs) == futex.REACHED
    writer.join()


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs")
def test_leave_cpu_moves_the_thread_and_keeps_its_affinity():
    from gdev_shim._futex import lib
    allowed = os.sched_getaffinity(0)
    before = lib.sched_getcpu()
    assert futex.leave_cpu() is True
    assert lib.sched_getcpu() != before
    assert os.sched_getaffinity(0) == allowed
