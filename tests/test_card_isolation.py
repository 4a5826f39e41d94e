"""What a client of the card daemon can map of VRAM: its own buffers' pages, nothing else.

The daemon hands a client a descriptor for each buffer it maps (CardFile.map_source).
VRAM is one memfd in the daemon; a mapped VRAM buffer gets pages of its own (a memfd of
the buffer's size, mapped where its range was), so the descriptor reaches no other
buffer, and after the buffer is freed no later owner of its range.
"""
from __future__ import annotations

import mmap
import os

import numpy as np
import pytest

from gdev_shim.card import Card, CardFile
from gdev_shim.common.contract import C
from helpers import MiB, VRAM, ioctl


@pytest.fixture
def card() -> Card:
    return Card(1, vram_size=64 * MiB)


def gem_new(f: CardFile, size: int):
    rc, arg = ioctl(f, C.AIDEV_NR_GEM_NEW, "aidev_gem_new", size=size, domain=VRAM)
    assert rc == 0
    return arg


def gem_free(f: CardFile, handle: int) -> None:
    assert ioctl(f, C.AIDEV_NR_GEM_FREE, "aidev_gem_free", handle=handle)[0] == 0


def fill(card: Card, addr: int, words: np.ndarray) -> None:
    card.memory.store(addr + 4 * np.arange(words.size, dtype=np.uint64), words)


def read(card: Card, addr: int, count: int) -> np.ndarray:
    return card.memory.load(addr + 4 * np.arange(count, dtype=np.uint64), np.uint32)


def client_map(file: CardFile, bo) -> tuple[int, np.ndarray]:
    """What a client of the daemon gets: the descriptor, and the buffer mapped from it."""
    fd, offset = file.map_source(bo.map_offset, bo.size)
    pages = mmap.mmap(fd, bo.size, flags=mmap.MAP_SHARED, offset=offset)
    return fd, np.frombuffer(pages, np.uint32)


def test_a_mapped_vram_buffer_has_pages_of_its_own_with_its_bytes(file, card):
    neighbour, bo = gem_new(file, 8192), gem_new(file, 8192)
    fill(card, neighbour.addr, np.full(2048, 0xBAD, np.uint32))
    fill(card, bo.addr, np.arange(2048, dtype=np.uint32))
    fd, view = client_map(file, bo)
    assert os.fstat(fd).st_size == bo.size                  # not the whole VRAM
    assert (view == np.arange(2048)).all()                  # what the buffer held before
    view[7] = 0xC0FFEE                                      # the client writes, the card reads
    assert read(card, bo.addr + 28, 1)[0] == 0xC0FFEE
    fill(card, bo.addr + 40, np.array([77], np.uint32))     # the card writes, the client reads
    assert view[10] == 77
    assert (read(card, neighbour.addr, 2048) == 0xBAD).all()
    again, _ = file.map_source(bo.map_offset, bo.size)      # later maps: the same pages
    assert os.fstat(again).st_ino == os.fstat(fd).st_ino


def test_a_freed_buffers_mapping_never_sees_the_next_owner_of_its_range(file, card):
    bo = gem_new(file, 8192)
    fill(card, bo.addr, np.full(2048, 5, np.uint32))
    _, view = client_map(file, bo)
    gem_free(file, bo.handle)
    later = gem_new(file, 8192)
    assert later.addr == bo.addr                            # the range is reused ...
    assert (read(card, later.addr, 2048) == 0).all()        # ... zeroed
    fill(card, later.addr, np.full(2048, 0x5EC12E7, np.uint32))
    assert (view == 5).all()                                # the old mapping keeps the old bytes only
    view[0] = 1                                             # and writing it reaches nobody
    assert read(card, later.addr, 1)[0] == 0x5EC12E7
