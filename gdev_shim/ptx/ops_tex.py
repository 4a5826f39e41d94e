"""Texture fetches (tex.1d / tex.2d / tex.3d) through the card contract's texture descriptor
(include/aidev_drm.h, struct aidev_texture): the handle operand is the descriptor's device
address, read by the kernel like any global memory.

Lanes are grouped by handle (a kernel usually reads one texture); each group's texels are
read channel by channel and converted to the destination type: floats as they are,
integers as they are or, under AIDEV_TEX_NORMALIZED_READ, scaled to [0, 1] or [-1, 1].
Point sampling reads the texel the coordinate falls in; under AIDEV_TEX_LINEAR a float
fetch blends the two (1-D), four (2-D) or eight (3-D) texels around the coordinate less half a texel,
with weights in CUDA's 9-bit fixed point (8 fractional bits, the nearest of 256 steps).
"""
from __future__ import annotations

import itertools
from typing import Any, Callable

import numpy as np

from ..common.contract import C, ffi
from . import access
from .errors import PtxError
from .form import Form
from .ptxast import Instr
from .ptxtypes import DTYPE

GEOMETRY = {"1d": 1, "2d": 2, "3d": 3}
_FIELDS = {name: ffi.offsetof("struct aidev_texture", name)
           for name in ("base", "pitch", "width", "height", "depth", "channels", "channel_bytes", "kind", "flags",
                        "address_mode", "border")}
_CHANNEL_TYPES = {(C.AIDEV_TEX_SIGNED, 1): np.int8, (C.AIDEV_TEX_SIGNED, 2): np.int16,
                  (C.AIDEV_TEX_SIGNED, 4): np.int32, (C.AIDEV_TEX_UNSIGNED, 1): np.uint8,
                  (C.AIDEV_TEX_UNSIGNED, 2): np.uint16, (C.AIDEV_TEX_UNSIGNED, 4): np.uint32,
                  (C.AIDEV_TEX_FLOAT, 2): np.float16, (C.AIDEV_TEX_FLOAT, 4): np.float32}


def b_tex(ins: Instr, f: Form, ctx: Any) -> Callable:
    dims = next((GEOMETRY[m] for m in f.mods if m in GEOMETRY), None)
    if dims is None or f.vec != 4 or len(f.types) != 2 or len(ins.operands) != 2:
        raise PtxError(f"{ins.opcode}: only tex.1d/2d/3d .v4 fetches with a handle operand are supported",
                       ins.line)
    dst_t, coord_t = f.types
    if dst_t not in ("f32", "s32", "u32") or coord_t not in ("f32", "s32"):
        raise PtxError(f"{ins.opcode}: types .{dst_t}.{coord_t}", ins.line)
    dst, src = ins.operands
    if dst[0] != "vec" or len(dst[1]) != 4 or src[0] != "tex" or src[1][0] != "reg" or len(src[2]) < dims:
        raise PtxError(f"{ins.opcode}: expected {{d0, d1, d2, d3}}, [handle, {{coordinates}}]", ins.line)
    writers = [ctx.writer(o, dst_t) for o in dst[1]]
    handle = ctx.reader(src[1], "u64")
    coords = [ctx.reader(o, coord_t) for o in src[2][:dims]]
    text = ins.text

    def run(st: Any, lanes: Any) -> None:
        n = access.count(st, lanes)
        handles = np.broadcast_to(np.asarray(handle(st, lanes), np.uint64), (n,))
        xy = [np.broadcast_to(np.asarray(c(st, lanes)), (n,)) for c in coords]
        out = np.zeros((4, n), DTYPE[dst_t])
        for h in np.unique(handles):
            pos = np.nonzero(handles == h)[0]
            sub = pos if lanes is None else np.asarray(lanes)[pos]
            _fetch(st, sub, int(h), [c[pos] for c in xy], coord_t, out, pos, text)
        for wr, values in zip(writers, out):
            wr(st, lanes, values)
    return run


def _field(st: Any, lanes: np.ndarray, handle: int, name: str, dt: Any, text: str, index: int = 0) -> Any:
    addr = np.uint64(handle + _FIELDS[name] + index * np.dtype(dt).itemsize)
    return access.load(st, lanes[:1], "global", addr, np.dtype(dt), text)[0]    # one read for the group


class _Texture:
    """One descriptor, read once for a group of lanes."""

    def __init__(self, st: Any, lanes: np.ndarray, handle: int, text: str) -> None:
        self.field = lambda name, dt=np.uint32, index=0: _field(st, lanes, handle, name, dt, text, index)  # noqa: E731
        field = self.field
        self.st, self.lanes, self.text = st, lanes, text
        self.base, self.pitch = int(field("base", np.uint64)), int(field("pitch", np.uint64))
        self.size = (int(field("width")), int(field("height")), max(1, int(field("depth"))))
        self.channels, self.cbytes, kind = int(field("channels")), int(field("channel_bytes")), int(field("kind"))
        self.flags = int(field("flags"))
        self.modes = tuple(int(field("address_mode", index=axis)) for axis in range(3))
        ctype = _CHANNEL_TYPES.get((kind, self.cbytes))
        if ctype is None or not 1 <= self.channels <= 4:
            raise PtxError(f"{text}: texture descriptor at 0x{handle:x} has {self.channels} channels of kind "
                           f"{kind}, {self.cbytes} bytes")
        self.ctype = ctype

    def texels(self, index: list[np.ndarray], inside: np.ndarray, dt: np.dtype) -> list[np.ndarray]:
        """Each channel of the texels at `index` (one array per axis), as `dt`; the border
        colour (or 0) where `inside` is false."""
        addrs = np.uint64(self.base) + index[0].astype(np.uint64) * np.uint64(self.channels * self.cbytes)
        if len(index) > 1:
            addrs = addrs + index[1].astype(np.uint64) * np.uint64(self.pitch)
        if len(index) > 2:
            addrs = addrs + index[2].astype(np.uint64) * np.uint64(self.pitch * self.size[1])
        channels = []
        for ch in range(self.channels):
            raw = np.zeros(len(inside), self.ctype)
            if inside.any():
                raw[inside] = access.load(self.st, self.lanes[inside], "global",
                                          addrs[inside] + np.uint64(ch * self.cbytes), np.dtype(self.ctype), self.text)
            values = _converted(raw, dt, self.flags, self.ctype)
            if not inside.all():
                values = np.where(inside, values, _outside(self.field, self.flags, ch, dt))
            channels.append(values)
        return channels


def _fetch(st: Any, lanes: np.ndarray, handle: int, xy: list[np.ndarray], coord_t: str, out: np.ndarray,
           pos: np.ndarray, text: str) -> None:
    """Texels of the lanes `lanes` (at `pos` of `out`) through the descriptor at `handle`."""
    tex = _Texture(st, lanes, handle, text)
    if tex.flags & C.AIDEV_TEX_LINEAR and not tex.flags & C.AIDEV_TEX_INDEXED and out.dtype == np.float32:
        for ch, values in enumerate(_filtered(tex, xy)):
            out[ch, pos] = values
        return
    index, inside = [], np.ones(len(pos), bool)
    for axis, c in enumerate(xy):
        i, ok = _texel_index(c, coord_t, tex.size[axis], tex.modes[axis], tex.flags)
        index.append(i)
        inside &= ok
    for ch, values in enumerate(tex.texels(index, inside, out.dtype)):
        out[ch, pos] = values


def _filtered(tex: _Texture, xy: list[np.ndarray]) -> list[np.ndarray]:
    """Linear filtering: along each axis the texels i and i+1 around x - 0.5, weighted
    1 - a and a, where a is the fraction rounded to 8 bits; the corners of 2-D blended in
    one sum, as CUDA's programming guide writes it."""
    normalized = bool(tex.flags & C.AIDEV_TEX_NORMALIZED_COORDS)
    corners, weights = [], []
    for axis, c in enumerate(xy):
        size = tex.size[axis]
        x = c.astype(np.float64) * (size if normalized else 1) - 0.5
        x = np.nan_to_num(x, nan=0.0, posinf=size, neginf=-2)
        i = np.floor(x).astype(np.int64)
        a = (np.floor((x - i) * 256 + 0.5) / 256).astype(np.float32)
        corners.append([_wrapped(i, size, tex.modes[axis], normalized), _wrapped(i + 1, size, tex.modes[axis],
                                                                                 normalized)])
        weights.append([np.float32(1) - a, a])
    total: list[np.ndarray] | None = None
    for pick in itertools.product((0, 1), repeat=len(xy)):     # x varies fastest: (i,j), (i+1,j), ...
        pick = pick[::-1]
        index = [corners[axis][p][0] for axis, p in enumerate(pick)]
        inside = np.logical_and.reduce([corners[axis][p][1] for axis, p in enumerate(pick)])
        w = np.prod([weights[axis][p] for axis, p in enumerate(pick)], axis=0).astype(np.float32)
        texels = tex.texels(index, inside, np.dtype(np.float32))
        total = [w * t for t in texels] if total is None else [s + w * t for s, t in zip(total, texels)]
    assert total is not None
    return total


def _texel_index(c: np.ndarray, coord_t: str, size: int, mode: int, flags: int) -> tuple[np.ndarray, np.ndarray]:
    """The element index along one axis, and which lanes read inside the texture."""
    if coord_t == "s32" and flags & C.AIDEV_TEX_INDEXED:
        i = c.astype(np.int64)
        return np.clip(i, 0, size - 1), (i >= 0) & (i < size)
    x = c.astype(np.float64)
    normalized = bool(flags & C.AIDEV_TEX_NORMALIZED_COORDS)
    if normalized:
        x = x * size
    i = np.floor(np.nan_to_num(x, nan=0.0, posinf=size, neginf=-1)).astype(np.int64)
    return _wrapped(i, size, mode, normalized)


def _wrapped(i: np.ndarray, size: int, mode: int, normalized: bool) -> tuple[np.ndarray, np.ndarray]:
    """An element index along one axis through the address mode, and which lanes read
    inside the texture (wrap and mirror apply to normalized coordinates only)."""
    if normalized and mode == C.AIDEV_TEX_WRAP:
        return np.mod(i, size), np.ones(len(i), bool)
    if normalized and mode == C.AIDEV_TEX_MIRROR:
        period = np.mod(i, 2 * size)
        return np.where(period < size, period, 2 * size - 1 - period), np.ones(len(i), bool)
    if mode == C.AIDEV_TEX_BORDER:
        return np.clip(i, 0, size - 1), (i >= 0) & (i < size)
    return np.clip(i, 0, size - 1), np.ones(len(i), bool)          # clamp (and wrap/mirror unnormalized)


def _converted(raw: np.ndarray, dt: np.dtype, flags: int, ctype: Any) -> np.ndarray:
    if flags & C.AIDEV_TEX_NORMALIZED_READ and np.issubdtype(ctype, np.integer):
        info = np.iinfo(ctype)
        scaled = raw.astype(np.float32) / np.float32(info.max)
        return np.maximum(scaled, np.float32(-1.0)).astype(dt)
    if dt == np.float32:
        return raw.astype(np.float32)
    if np.issubdtype(ctype, np.floating):
        return raw.astype(np.float32).view(np.uint32).view(dt)          # the bits, as the hardware returns
    return raw.astype(np.int64).astype(dt)


def _outside(field: Callable, flags: int, ch: int, dt: np.dtype) -> Any:
    """What a read outside the texture gives: 0 (indexed), else the border colour."""
    if flags & C.AIDEV_TEX_INDEXED:
        return dt.type(0)
    border = np.float32(field("border", np.float32, ch))
    return border if dt == np.float32 else dt.type(int(border))


BUILDERS: dict[str, Callable] = {"tex": b_tex}
