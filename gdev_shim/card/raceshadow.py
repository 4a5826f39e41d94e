"""racecheck's shadow of one batch's shared memory on the interpreter.

Per shared byte, two 64-bit words: the last writer (its warp in the high half, its PTX
line in the low half) and the reader(s) since the last barrier (the warp, -2 for
several, and the line of the last read).  -1 is "none".  A warp and its line share a
word so that an access gathers and scatters two arrays, not four.

The words are kept per cell of `grain` bytes (4 at first), all of whose bytes would have
the same records: every access so far covered whole cells.  The first access that does
not (a byte or a 16-bit store, an odd offset) splits the cells into bytes, each a copy of
its cell, so findings are those of a record per byte; a kernel moving whole words keeps a
quarter of the records.  An access's lanes are aligned to its width (the interpreter
faults the others), so two lanes' cells are the same or disjoint: the shadow is viewed as
rows of a lane's cells and every cell of every lane is looked at in one gather per array.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

NONE = -1
SEVERAL = -2
_LINE = np.int64(0xFFFF_FFFF)
_SHIFT = np.int64(32)


class Hit(NamedTuple):
    """The first hazard of an access (its lowest byte, then its lowest lane)."""
    lane: int             # position in the access's lanes
    against_write: bool
    earlier_line: int
    lanes_hit: int        # lanes of that byte with a hazard


def written_by_another_warp(key: np.ndarray, warp: np.ndarray) -> np.ndarray:
    """Lanes of one store whose byte a lane of a lower warp also writes: the warps run this
    instruction in lockstep here, one after another on the JIT; either way a WAW hazard."""
    out = np.zeros(key.shape, bool)
    if key.size > 32 and not (key[1:] > key[:-1]).all():    # increasing keys: no byte twice
        order = np.lexsort((warp, key))
        k, w = key[order], warp[order]
        out[order[1:][(k[1:] == k[:-1]) & (w[1:] != w[:-1])]] = True
    return out


class RaceShadow:
    """The writer and reader words of `size` shared bytes, blocks of `stride` bytes each."""

    def __init__(self, size: int, stride: int) -> None:
        self.size = size
        self.grain = 4 if size % 4 == 0 and stride % 4 == 0 else 1
        self.writer = np.full(size // self.grain, NONE, np.int64)
        self.reader = np.full(size // self.grain, NONE, np.int64)

    def _split(self) -> None:
        """Records per byte from now on: each byte starts with its cell's."""
        self.writer = np.repeat(self.writer, self.grain)
        self.reader = np.repeat(self.reader, self.grain)
        self.grain = 1

    def _rows(self, keys: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(writer, reader, index): views and an index that select the lanes' cells as rows."""
        grain = self.grain
        if grain > 1 and (width % grain or (keys % grain).any()):
            self._split()
            grain = 1
        cells, per_lane = keys // grain if grain > 1 else keys, width // grain
        if self.writer.size % per_lane == 0 and not (cells % per_lane).any():
            return (self.writer.reshape(-1, per_lane), self.reader.reshape(-1, per_lane),
                    cells // per_lane if per_lane > 1 else cells)
        index = cells[:, None] + np.arange(per_lane, dtype=np.int64)
        return self.writer, self.reader, index

    def access(self, keys: np.ndarray, warp: np.ndarray, width: int, write: bool,
               line: int) -> Hit | None:
        """Record an access of `width` bytes at each key by each lane's warp; its first hazard."""
        writer, reader, index = self._rows(keys, width)
        w = writer[index]
        r = reader[index]
        wwarp, rwarp = w >> _SHIFT, r >> _SHIFT
        lane_warp = warp[:, None]
        other_writer = (wwarp != NONE) & (wwarp != lane_warp)
        stamp = (warp << _SHIFT) | np.int64(line)
        if write:
            same = written_by_another_warp(keys, warp)[:, None] & ~other_writer
            against_write = other_writer | same
            hit = against_write | ((rwarp >= 0) & (rwarp != lane_warp)) | (rwarp == SEVERAL)
            writer[index] = stamp[:, None]
        else:
            same = None
            against_write = hit = other_writer
            fresh = (rwarp == NONE) | (rwarp == lane_warp)
            reader[index] = np.where(fresh, lane_warp, SEVERAL) << _SHIFT | np.int64(line)
        if not hit.any():
            return None
        k = int(np.flatnonzero(hit.any(axis=0))[0])
        column = hit[:, k]
        p = int(np.flatnonzero(column)[0])
        if same is not None and same[p, k]:
            earlier = line
        elif other_writer[p, k]:
            earlier = int(w[p, k] & _LINE)
        else:
            earlier = int(r[p, k] & _LINE)
        return Hit(p, bool(against_write[p, k]), earlier, int(column.sum()))

    def barrier(self, blocks: np.ndarray | None) -> None:
        """A new hazard interval in the given blocks of the batch (a mask; None: all)."""
        if blocks is None or blocks.all():
            self.writer.fill(NONE)
            self.reader.fill(NONE)
        elif self.writer.size:
            self.writer.reshape(blocks.size, -1)[blocks] = NONE
            self.reader.reshape(blocks.size, -1)[blocks] = NONE
