"""The interpreter's racecheck shadow (card/raceshadow.py): hazards, their lines, barriers."""
from __future__ import annotations

import numpy as np

from gdev_shim.card.raceshadow import RaceShadow, written_by_another_warp


def _keys(*k: int) -> np.ndarray:
    return np.array(k, np.int64)


def test_a_read_of_another_warps_write_is_a_hazard_against_that_write() -> None:
    sh = RaceShadow(256, 256)
    assert sh.access(_keys(0, 4), _keys(0, 1), 4, True, 10) is None
    hit = sh.access(_keys(4, 0), _keys(0, 0), 4, False, 12)     # warp 0 reads warp 1's word
    assert hit is not None
    assert (hit.lane, hit.against_write, hit.earlier_line, hit.lanes_hit) == (0, True, 10, 1)


def test_the_same_warp_meets_no_hazard() -> None:
    sh = RaceShadow(64, 64)
    assert sh.access(_keys(8), _keys(3), 4, True, 5) is None
    assert sh.access(_keys(8), _keys(3), 4, False, 6) is None
    assert sh.access(_keys(8), _keys(3), 4, True, 7) is None


def test_a_write_after_reads_of_several_warps_is_against_the_last_read() -> None:
    sh = RaceShadow(64, 64)
    sh.access(_keys(0), _keys(1), 4, False, 20)
    sh.access(_keys(0), _keys(2), 4, False, 21)
    hit = sh.access(_keys(0), _keys(2), 4, True, 22)    # warp 2 read it too, but so did warp 1
    assert hit is not None and not hit.against_write and hit.earlier_line == 21


def test_one_store_of_two_warps_to_one_byte_is_a_write_write_hazard_on_its_own_line() -> None:
    key = np.zeros(40, np.int64)
    warp = np.repeat(_keys(0, 1), 20)
    assert np.flatnonzero(written_by_another_warp(key, warp)).tolist() == [20]   # warp 1's first lane
    assert not written_by_another_warp(np.arange(40, dtype=np.int64) * 4, warp).any()
    hit = RaceShadow(64, 64).access(key, warp, 4, True, 30)
    assert hit is not None and hit.against_write and hit.earlier_line == 30


def test_a_barrier_clears_its_blocks_alone() -> None:
    sh = RaceShadow(128, 64)                                 # two blocks of 64 bytes
    sh.access(_keys(0, 64), _keys(0, 2), 4, True, 1)
    sh.barrier(np.array([True, False]))
    assert sh.access(_keys(0), _keys(1), 4, False, 2) is None
    hit = sh.access(_keys(64), _keys(3), 4, False, 2)
    assert hit is not None and hit.earlier_line == 1
    sh.barrier(None)
    assert sh.access(_keys(64), _keys(1), 4, True, 3) is None


def test_unaligned_widths_use_the_byte_index_and_find_the_same_bytes() -> None:
    sh = RaceShadow(30, 30)                                   # not a multiple of the width
    assert sh.access(_keys(8), _keys(0), 8, True, 1) is None
    hit = sh.access(_keys(12), _keys(1), 2, False, 4)
    assert hit is not None and hit.earlier_line == 1


def test_a_byte_access_after_word_accesses_sees_each_byte_as_its_word_left_it() -> None:
    sh = RaceShadow(64, 64)
    sh.access(_keys(0, 4), _keys(0, 1), 4, True, 1)
    assert sh.grain == 4
    assert sh.access(_keys(2), _keys(0), 1, False, 2) is None       # warp 0's own word
    assert sh.grain == 1
    hit = sh.access(_keys(7), _keys(0), 1, False, 3)                 # a byte of warp 1's word
    assert hit is not None and hit.against_write and hit.earlier_line == 1
    hit = sh.access(_keys(4), _keys(1), 4, True, 4)                  # its byte 7 read by warp 0
    assert hit is not None and not hit.against_write and hit.earlier_line == 3
