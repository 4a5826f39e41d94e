"""initcheck's shadow of VRAM (card/initshadow.py): a bit per byte, set and cleared by ranges
(copies, memsets, frees) and by the lanes of a store, read back byte by byte."""
import threading

import numpy as np

from gdev_shim.card.initshadow import InitShadow


def test_ranges_set_and_clear_exactly_their_bytes():
    s = InitShadow(1 << 12)
    s.mark(3, 10)                         # bytes 3..12: partial shadow bytes at both ends
    s.mark(64, 130)                       # whole shadow bytes between two partial ones
    s.forget(70, 3)
    want = np.zeros(256, bool)
    want[3:13] = True
    want[64:194] = True
    want[70:73] = False
    assert (s.written(0, 256) == want).all()


def test_a_range_at_the_end_of_vram_stops_there():
    s = InitShadow(100)
    s.mark(96, 50)
    assert s.written(90, 10).tolist() == [False] * 6 + [True] * 4
    assert not s.bits[len(s.bits) - 16:].any()       # the padding after the shadow stays clear


def test_lanes_of_one_store_sharing_shadow_bytes_all_count():
    s = InitShadow(1 << 12)
    offs = np.array([0, 1, 2, 5, 9, 9, 17], np.int64)    # neighbours and a repeated lane
    s.mark_lanes(offs, 1)
    assert np.flatnonzero(s.written(0, 24)).tolist() == [0, 1, 2, 5, 9, 17]
    s.mark_lanes(np.array([40], np.int64), 4)
    assert s.unset_lanes(np.array([0, 1, 3, 40, 42, 43], np.int64), 2).tolist() == \
        [False, False, True, False, False, True]


def test_threads_marking_adjacent_bytes_lose_none():
    s = InitShadow(1 << 16)
    n = 8

    def mark(k: int) -> None:             # thread k: bytes k, k + n, k + 2n, ... one at a time
        for off in range(k, 1 << 14, n):
            s.mark(off, 1)
    threads = [threading.Thread(target=mark, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert s.written(0, 1 << 14).all() and not s.written(1 << 14, 64).any()


def test_scattered_lanes_mark_and_read_the_same_bits_as_dense_ones():
    s = InitShadow(1 << 22)
    far = np.array([5, 1 << 21, (1 << 21) + 3, 5], np.int64)      # a range too wide to unpack
    s.mark_lanes(far, 2)
    assert np.flatnonzero(s.written(0, 8)).tolist() == [5, 6]
    assert np.flatnonzero(s.written(1 << 21, 8)).tolist() == [0, 1, 3, 4]
    assert s.unset_lanes(np.array([5, 6, 1 << 21, (1 << 21) + 1, (1 << 21) + 2], np.int64), 2).tolist() == \
        [False, True, False, True, True]
