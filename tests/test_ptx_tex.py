"""Texture fetches on the interpreter (ptx/ops_tex.py) through the card contract's
texture descriptor: each address mode, indexed linear reads, normalized reads of signed
and unsigned channels, half-float texels, and per-lane handles naming two textures."""
from __future__ import annotations

import struct

import numpy as np
import pytest

from gdev_shim.common.contract import C, ffi
from gdev_shim.ptx import DEVICE_BASE, PtxError, execute, parse_module
from helpers import FakeMemory

HEADER = ".version 8.0\n.target sm_80\n.address_size 64\n"
KINDS = {np.int8: C.AIDEV_TEX_SIGNED, np.int16: C.AIDEV_TEX_SIGNED, np.uint8: C.AIDEV_TEX_UNSIGNED,
         np.uint16: C.AIDEV_TEX_UNSIGNED, np.int32: C.AIDEV_TEX_SIGNED, np.float16: C.AIDEV_TEX_FLOAT,
         np.float32: C.AIDEV_TEX_FLOAT}


def _texture(mem: FakeMemory, texels: np.ndarray, channels: int, flags: int = 0, modes=(1, 1),
             border=(0.0, 0.0, 0.0, 0.0), depth: int = 1) -> int:
    """A descriptor for `texels` ((depth x) rows x width x channels) in `mem`; its address."""
    height, width = texels.shape[-3] if texels.ndim == 4 else texels.shape[0], texels.shape[-2]
    base = mem.put(np.ascontiguousarray(texels))
    desc = ffi.new("struct aidev_texture *")
    desc.base, desc.pitch, desc.width, desc.height = base, width * channels * texels.itemsize, width, height
    desc.depth = depth
    desc.channels, desc.channel_bytes = channels, texels.itemsize
    desc.kind, desc.flags = KINDS[texels.dtype.type], flags
    desc.address_mode, desc.border = list(modes), list(border)
    return mem.put(np.frombuffer(ffi.buffer(desc), np.uint8).copy())


def _fetch(mem: FakeMemory, handles: list[int], coords: np.ndarray, geometry: str, dst: str, coord: str) -> np.ndarray:
    """Lane i fetches through handles[i % len] at coords[i]; the four channels it got."""
    n = len(coords)
    dims = {"1d": 1, "2d": 2, "3d": 3}[geometry]
    creg = "f" if coord == "f32" else "r"
    dreg = "f" if dst == "f32" else "r"
    cs = ", ".join(f"%{creg}{10 + d}" for d in range(4 if dims == 3 else dims))      # 3-D takes a .v4
    loads = " ".join(f"ld.global.{coord} %{creg}{10 + d}, [%rc+{4 * d}];" for d in range(dims))
    text = HEADER + f"""
.entry k(.param .u64 out, .param .u64 hs, .param .u64 cs)
{{
    .reg .u32 %t; .reg .u64 %po, %ph, %rc, %h;
    .reg .f32 %f<20>; .reg .b32 %r<20>;
    mov.u32 %t, %tid.x;
    ld.param.u64 %po, [out]; mad.wide.u32 %po, %t, 16, %po;
    ld.param.u64 %ph, [hs]; mad.wide.u32 %ph, %t, 8, %ph;
    ld.param.u64 %rc, [cs]; mad.wide.u32 %rc, %t, {4 * dims}, %rc;
    ld.global.u64 %h, [%ph];
    {loads}
    tex.{geometry}.v4.{dst}.{coord} {{%{dreg}0, %{dreg}1, %{dreg}2, %{dreg}3}}, [%h, {{{cs}}}];
    st.global.v4.{dst} [%po], {{%{dreg}0, %{dreg}1, %{dreg}2, %{dreg}3}};
    ret;
}}
"""
    mod = parse_module(text)
    hs = mem.put(np.array([handles[i % len(handles)] for i in range(n)], np.uint64))
    cs = mem.put(np.ascontiguousarray(coords.astype(np.float32 if coord == "f32" else np.int32)))
    out = mem.alloc(16 * n)
    execute(mod, "k", mem, (1, 1, 1), (n, 1, 1), struct.pack("<3Q", out, hs, cs), 0, DEVICE_BASE)
    return mem.get(out, np.float32 if dst == "f32" else np.int32, 4 * n).reshape(n, 4)


def test_address_modes_along_a_row():
    mem = FakeMemory(1 << 20)
    row = np.arange(8, dtype=np.float32).reshape(1, 8, 1) * 10
    x = np.array([-1.5, 0.2, 7.9, 9.0], np.float32)
    coords = np.stack([x, np.full(4, 0.5, np.float32)], axis=1)
    clamp = _texture(mem, row, 1, modes=(C.AIDEV_TEX_CLAMP, C.AIDEV_TEX_CLAMP))
    border = _texture(mem, row, 1, modes=(C.AIDEV_TEX_BORDER, C.AIDEV_TEX_CLAMP), border=(-5, 0, 0, 0))
    assert list(_fetch(mem, [clamp], coords, "2d", "f32", "f32")[:, 0]) == [0, 0, 70, 70]
    assert list(_fetch(mem, [border], coords, "2d", "f32", "f32")[:, 0]) == [-5, 0, 70, -5]
    # normalized coordinates: wrap repeats the row, mirror reflects it
    nx = np.array([-0.0625, 0.0625, 1.0625, 1.9375], np.float32)          # texels -0.5, 0.5, 8.5, 15.5
    ncoords = np.stack([nx, np.full(4, 0.5, np.float32)], axis=1)
    wrap = _texture(mem, row, 1, C.AIDEV_TEX_NORMALIZED_COORDS, (C.AIDEV_TEX_WRAP, C.AIDEV_TEX_WRAP))
    mirror = _texture(mem, row, 1, C.AIDEV_TEX_NORMALIZED_COORDS, (C.AIDEV_TEX_MIRROR, C.AIDEV_TEX_MIRROR))
    assert list(_fetch(mem, [wrap], ncoords, "2d", "f32", "f32")[:, 0]) == [70, 0, 0, 70]
    assert list(_fetch(mem, [mirror], ncoords, "2d", "f32", "f32")[:, 0]) == [0, 0, 70, 0]


def test_indexed_reads_outside_give_zero_and_channels_beyond_the_format_are_zero():
    mem = FakeMemory(1 << 20)
    pairs = np.array([[[1, -1], [2, -2], [3, -3]]], np.int32)
    t = _texture(mem, pairs, 2, C.AIDEV_TEX_INDEXED)
    got = _fetch(mem, [t], np.array([[-1], [0], [2], [3]]), "1d", "s32", "s32")
    assert got.tolist() == [[0, 0, 0, 0], [1, -1, 0, 0], [3, -3, 0, 0], [0, 0, 0, 0]]


@pytest.mark.parametrize("dtype, values, expected", [
    (np.uint8, [0, 51, 255], [0.0, 0.2, 1.0]),
    (np.int8, [-128, -127, 127], [-1.0, -1.0, 1.0]),
    (np.uint16, [0, 65535, 13107], [0.0, 1.0, 0.2]),
])
def test_normalized_reads_scale_integer_channels(dtype, values, expected):
    mem = FakeMemory(1 << 20)
    t = _texture(mem, np.array(values, dtype).reshape(1, 3, 1), 1, C.AIDEV_TEX_NORMALIZED_READ)
    coords = np.stack([np.array([0.5, 1.5, 2.5], np.float32), np.full(3, 0.5, np.float32)], axis=1)
    got = _fetch(mem, [t], coords, "2d", "f32", "f32")[:, 0]
    assert np.allclose(got, expected, atol=1e-6)


def test_half_texels_and_two_textures_in_one_warp():
    mem = FakeMemory(1 << 20)
    halves = _texture(mem, np.array([[[0.5], [1.5], [-2.25]]], np.float16), 1)
    ints = _texture(mem, np.array([[[7], [8], [9]]], np.int32), 1)
    coords = np.array([[0.5], [0.5], [2.5], [2.5]], np.float32)
    got = _fetch(mem, [halves, ints], coords, "1d", "f32", "f32")[:, 0]
    assert got.tolist() == [0.5, 7.0, -2.25, 9.0]


def test_a_fetch_that_is_not_v4_is_refused_at_parse():
    text = HEADER + """
.entry k(.param .u64 t)
{
    .reg .u64 %h; .reg .f32 %f<4>; .reg .b32 %r1;
    ld.param.u64 %h, [t];
    tex.1d.v2.f32.s32 {%f0, %f1}, [%h, {%r1}];
    ret;
}
"""
    mem = FakeMemory(1 << 16)
    with pytest.raises(PtxError, match="tex"):
        execute(parse_module(text), "k", mem, (1, 1, 1), (1, 1, 1), struct.pack("<Q", 0), 0, DEVICE_BASE)


def _lerp(t0: float, t1: float, x: float) -> float:
    """CUDA's linear filter along one axis at texel coordinate x (already less 0.5)."""
    i = np.floor(x)
    a = np.floor((x - i) * 256 + 0.5) / 256
    return (1 - a) * t0 + a * t1


def test_linear_filtering_weighs_neighbours_with_eight_fractional_bits():
    mem = FakeMemory(1 << 20)
    row = np.array([0, 10, 20, 30], np.float32).reshape(1, 4, 1)
    linear = C.AIDEV_TEX_LINEAR
    clamp = _texture(mem, row, 1, linear)
    border = _texture(mem, row, 1, linear, (C.AIDEV_TEX_BORDER, C.AIDEV_TEX_BORDER), border=(100, 0, 0, 0))
    x = np.array([1.8, 1.0, 0.2, 3.9], np.float32)
    got = _fetch(mem, [clamp], x.reshape(-1, 1), "1d", "f32", "f32")[:, 0]
    assert got[0] == np.float32(_lerp(10, 20, 1.3)) == np.float32(13.0078125)    # 0.3 is 77/256
    assert list(got[1:]) == [5.0, 0.0, 30.0]
    got = _fetch(mem, [border], x.reshape(-1, 1), "1d", "f32", "f32")[:, 0]
    assert got[2] == np.float32(_lerp(100, 0, 0.2 - 0.5 + 1)) and got[3] == np.float32(_lerp(30, 100, 3.4 - 3))
    # 2-D: the four corners around (x, y) less half a texel
    square = np.array([[0, 100], [200, 300]], np.float32).reshape(2, 2, 1)
    tex2 = _texture(mem, square, 1, linear)
    at = np.array([[1.0, 1.0], [0.75, 1.25], [0.5, 0.5]], np.float32)
    assert list(_fetch(mem, [tex2], at, "2d", "f32", "f32")[:, 0]) == [150.0, 175.0, 0.0]
    # normalized coordinates and normalized reads: halfway between 0 and 255 of a byte row
    bytes_row = np.array([0, 255], np.uint8).reshape(1, 2, 1)
    tb = _texture(mem, bytes_row, 1, linear | C.AIDEV_TEX_NORMALIZED_READ | C.AIDEV_TEX_NORMALIZED_COORDS)
    assert _fetch(mem, [tb], np.array([[0.5]], np.float32), "1d", "f32", "f32")[0, 0] == 0.5


def test_linear_filtering_leaves_integer_and_indexed_fetches_point_sampled():
    mem = FakeMemory(1 << 20)
    row = np.array([0, 10, 20, 30], np.int32).reshape(1, 4, 1)
    t = _texture(mem, row, 1, C.AIDEV_TEX_LINEAR)
    assert list(_fetch(mem, [t], np.array([[1.8]], np.float32), "1d", "s32", "f32")[:, 0]) == [10]
    ti = _texture(mem, row, 1, C.AIDEV_TEX_LINEAR | C.AIDEV_TEX_INDEXED)
    assert list(_fetch(mem, [ti], np.array([[2]], np.int32), "1d", "s32", "s32")[:, 0]) == [20]


def test_3d_fetches_point_and_trilinear():
    mem = FakeMemory(1 << 20)
    vol = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4, 1) * 8         # slices, rows, width
    modes = (C.AIDEV_TEX_CLAMP,) * 3
    point = _texture(mem, vol, 1, 0, modes, depth=2)
    xyz = np.array([[0.5, 0.5, 0.5], [3.5, 2.5, 1.5], [1.2, 1.9, 9.0]], np.float32)
    assert list(_fetch(mem, [point], xyz, "3d", "f32", "f32")[:, 0]) == [0, vol[1, 2, 3, 0], vol[1, 1, 1, 0]]
    linear = _texture(mem, vol, 1, C.AIDEV_TEX_LINEAR, modes, depth=2)
    mid = np.array([[1.0, 1.0, 1.0]], np.float32)                              # the eight around (0.5, 0.5, 0.5)
    assert _fetch(mem, [linear], mid, "3d", "f32", "f32")[0, 0] == vol[:, :2, :2, 0].mean()
