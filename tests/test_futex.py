"""common/futex.py: the compiled calls and the ctypes fallback behave alike."""
from __future__ import annotations

import mmap
import threading
import time

import numpy as np
import pytest

from gdev_shim.common import futex

IMPLEMENTATIONS = {
    "compiled": (futex.wait, futex.wake),
    "ctypes": (futex._ctypes_wait, futex._ctypes_wake),
}


@pytest.fixture
def word():
    pages = mmap.mmap(-1, mmap.PAGESIZE)
    words = np.frombuffer(pages, dtype=np.uint32, count=2)
    yield words
    del words


def test_the_compiled_calls_are_built():
    assert futex._lib is not None, "gdev_shim._futex is missing: run build_ffi.py --header-modules"


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
