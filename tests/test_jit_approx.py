"""Approximate float math (sin, cos, lg2, tanh, ex2 .approx.f32) on both engines: the same
bits from each, and values within the hardware's documented error of the true functions."""
from __future__ import annotations

import math
import struct

import numpy as np
import pytest

pytest.importorskip("llvmlite")

from gdev_shim import jit  # noqa: E402
from gdev_shim.card.card import Card  # noqa: E402
from gdev_shim.common.contract import C  # noqa: E402
from gdev_shim.ptx import execute as interp_execute, parse_module  # noqa: E402

pytestmark = pytest.mark.usefixtures("fresh_jit_cache")

OPS = ("sin", "cos", "lg2", "tanh", "ex2", "tanh_f16", "tanh_bf16")
PTX = """.version 8.0
.target sm_80
.address_size 64
.visible .entry approx(.param .u64 pin, .param .u64 pout, .param .u32 n)
{
    .reg .pred %p; .reg .b32 %r<4>; .reg .f32 %f<10>; .reg .b64 %d<6>; .reg .b16 %h<3>;
    mov.u32 %r1, %ctaid.x; mov.u32 %r2, %ntid.x; mov.u32 %r3, %tid.x;
    mad.lo.u32 %r1, %r1, %r2, %r3;
    ld.param.u32 %r2, [n];
    setp.ge.u32 %p, %r1, %r2;
    @%p ret;
    ld.param.u64 %d1, [pin]; ld.param.u64 %d2, [pout];
    mul.wide.u32 %d3, %r1, 4;
    add.u64 %d4, %d1, %d3;
    ld.global.f32 %f1, [%d4];
    sin.approx.f32 %f2, %f1;
    cos.approx.f32 %f3, %f1;
    lg2.approx.f32 %f4, %f1;
    tanh.approx.f32 %f5, %f1;
    ex2.approx.ftz.f32 %f6, %f1;
    cvt.rn.f16.f32 %h1, %f1;
    tanh.approx.f16 %h2, %h1;
    cvt.f32.f16 %f7, %h2;
    cvt.rn.bf16.f32 %h1, %f1;
    tanh.approx.bf16 %h2, %h1;
    cvt.f32.bf16 %f8, %h2;
    mul.wide.u32 %d5, %r2, 4;
    add.u64 %d4, %d2, %d3;
    st.global.f32 [%d4], %f2; add.u64 %d4, %d4, %d5;
    st.global.f32 [%d4], %f3; add.u64 %d4, %d4, %d5;
    st.global.f32 [%d4], %f4; add.u64 %d4, %d4, %d5;
    st.global.f32 [%d4], %f5; add.u64 %d4, %d4, %d5;
    st.global.f32 [%d4], %f6; add.u64 %d4, %d4, %d5;
    st.global.f32 [%d4], %f7; add.u64 %d4, %d4, %d5;
    st.global.f32 [%d4], %f8;
    ret;
}
"""
EDGES = [0.0, -0.0, 1e-30, -1e-30, 1e-5, 0.0624, 0.0626, 0.5, 0.7071, 1.0, 1.4142, 1.5, 2.0,
         3.14159265, -3.14159265, 1.5707963, 10.0, -100.0, 1000.5, 123456.7, 3e38, -3e38,
         float("inf"), float("-inf"), float("nan"), 1.17e-38, 1e-45]


def _run(engine, module, x: np.ndarray) -> np.ndarray:
    card = Card(0, vram_size=16 << 20)
    n = len(x)
    inb = card.gem_new(4 * n, C.AIDEV_GEM_DOMAIN_VRAM)
    out = card.gem_new(4 * n * len(OPS), C.AIDEV_GEM_DOMAIN_VRAM)
    card.memory.write(inb.addr, x.astype(np.float32).tobytes())
    params = struct.pack("<QQI4x", inb.addr, out.addr, n)
    engine(module, "approx", card.memory, (-(-n // 64), 1, 1), (64, 1, 1), params, 0, 0)
    return np.frombuffer(card.memory.read(out.addr, 4 * n * len(OPS)), np.uint32).reshape(len(OPS), n)


def test_approximate_math_is_the_same_on_both_engines_and_close_to_the_truth() -> None:
    module = parse_module(PTX)
    rng = np.random.default_rng(3)
    x = np.concatenate([np.array(EDGES, np.float32), rng.uniform(-20, 20, 300).astype(np.float32),
                        (rng.standard_normal(100) * 1e-3).astype(np.float32),
                        np.exp(rng.uniform(-80, 80, 100)).astype(np.float32)])
    got, want = _run(jit.execute, module, x), _run(interp_execute, module, x)
    for name, g, w in zip(OPS, got, want):
        bad = np.flatnonzero(g != w)
        assert bad.size == 0, f"{name}({x[bad[0]]}): jit {g[bad[0]]:#x} interp {w[bad[0]]:#x}"
    values = dict(zip(OPS, got.view(np.float32)))
    xd = x.astype(np.float64)
    ordinary = np.isfinite(xd) & (np.abs(xd) < 100)
    np.testing.assert_allclose(values["sin"][ordinary], np.sin(xd[ordinary]), atol=2 ** -20)
    np.testing.assert_allclose(values["cos"][ordinary], np.cos(xd[ordinary]), atol=2 ** -20)
    pos = np.isfinite(xd) & (xd > 0)
    np.testing.assert_allclose(values["lg2"][pos], np.log2(xd[pos]), rtol=2 ** -22, atol=2 ** -22)
    fin = np.isfinite(xd)
    np.testing.assert_allclose(values["tanh"][fin], np.tanh(xd[fin]), rtol=2 ** -11)
    ordinary16 = fin & (np.abs(xd) < 60000) & (np.abs(xd) > 1e-4)
    np.testing.assert_allclose(values["tanh_f16"][ordinary16], np.tanh(xd[ordinary16]), rtol=2 ** -9)
    np.testing.assert_allclose(values["tanh_bf16"][ordinary16], np.tanh(xd[ordinary16]), rtol=2 ** -6)
    # the special cases the PTX ISA lists
    by_x = {float(v): i for i, v in enumerate(x[:len(EDGES)]) if not math.isnan(v)}
    assert values["lg2"][by_x[0.0]] == -np.inf and values["lg2"][by_x[float("inf")]] == np.inf
    assert np.isnan(values["lg2"][by_x[-100.0]]) and np.isnan(values["sin"][by_x[float("inf")]])
    assert np.signbit(values["tanh"][by_x[-0.0]]) and values["tanh"][by_x[float("-inf")]] == -1.0
    nan_at = next(i for i, v in enumerate(EDGES) if math.isnan(v))
    assert all(np.isnan(values[op][nan_at]) for op in OPS)
    assert np.all(np.abs(values["sin"][fin]) <= 1) and np.all(np.abs(values["cos"][fin]) <= 1)
