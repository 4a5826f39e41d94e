"""The JIT's address translation table: which buffers its dense page table covers."""
from __future__ import annotations

import numpy as np

from gdev_shim.card.card import GART_OFFSET, Card
from gdev_shim.common.contract import C
from gdev_shim.jit import pages

MB = 1 << 20


def _region(start: int, length: int) -> tuple[int, int, int, object]:
    backing = np.zeros(1, np.uint8)
    return (start, length, 0x7000_0000_0000 + start % (1 << 40), backing)


def test_densest_cluster_without_preference() -> None:
    vram = [_region(1 << 52, MB), _region((1 << 52) + MB, MB)]
    staging = [_region((1 << 52) + GART_OFFSET, 8 * MB)]
    pm = pages.build(vram + staging)
    assert pm.base == staging[0][0]
    assert len(pm.extras) == 3 * len(vram)


def test_preferred_span_wins_over_a_larger_cluster() -> None:
    """Small VRAM buffers and a larger host-mapped staging area: the table covers VRAM."""
    vram = [_region(1 << 52, MB), _region((1 << 52) + MB, MB)]
    staging = [_region((1 << 52) + GART_OFFSET, 8 * MB)]
    pm = pages.build(vram + staging, prefer=(1 << 52, 64 * MB))
    assert pm.base == vram[0][0]
    assert len(pm.table) == 2 * MB // pages.PAGE
    assert np.all(pm.table != 0)
    assert list(pm.extras[:2]) == [staging[0][0], staging[0][0] + 8 * MB]


def test_preference_without_buffers_inside_falls_back() -> None:
    staging = [_region((1 << 52) + GART_OFFSET, 8 * MB)]
    pm = pages.build(staging, prefer=(1 << 52, 64 * MB))
    assert pm.base == staging[0][0]
    assert len(pm.extras) == 0


def test_card_memory_prefers_its_vram() -> None:
    card = Card(0, vram_size=64 << 20)
    small = card.buffers.new(MB, C.AIDEV_GEM_DOMAIN_VRAM)
    big = card.buffers.new(16 * MB, C.AIDEV_GEM_DOMAIN_HOST)
    pm = pages.page_map(card.memory)
    assert pm.base <= small.addr < pm.base + len(pm.table) * pages.PAGE
    assert not pm.base <= big.addr < pm.base + len(pm.table) * pages.PAGE
