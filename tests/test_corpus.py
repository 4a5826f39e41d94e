"""The kernel corpus (tests/kernels/corpus_*.cu) on the PTX interpreter against numpy.

Every source of tests/kernels is compiled in one cached nvcc batch; each kernel runs on
random inputs with edge shapes (n not a multiple of the block, one thread, many blocks)
and is compared with a reference computed here.
"""
from __future__ import annotations

import math
import struct
import time
from fractions import Fraction

import numpy as np
import pytest

from gdev_shim.ptx import DEVICE_BASE, KernelFault, Module, execute, parse_module
from helpers import KERNELS, FakeMemory, pack
rng = np.random.default_rng(20240611)
U32 = 0xFFFFFFFF
U64 = 0xFFFFFFFFFFFFFFFF


@pytest.fixture(scope="module")
def mods(compile_ptx) -> dict[str, Module]:
    sources = sorted(KERNELS.glob("*.cu"))        # the same batch as every other PTX test
    ptx = compile_ptx(sources)
    return {src.stem: parse_module(text) for src, text in ptx.items() if src.stem.startswith("corpus")}


def run(mod: Module, name: str, mem: FakeMemory, grid, block, params: bytes, shared: int = 0,
        printf=None) -> None:
    layout = mod.global_layout()
    gaddr = mem.put(np.frombuffer(layout.init, np.uint8)) if layout.size else DEVICE_BASE
    execute(mod, name, mem, grid, block, params, shared, gaddr, printf)


def blocks(n: int, b: int) -> tuple[int, int, int]:
    return ((n + b - 1) // b, 1, 1)


def s32(v: int) -> int:
    v &= U32
    return v - (1 << 32) if v >> 31 else v


def s64(v: int) -> int:
    v &= U64
    return v - (1 << 64) if v >> 63 else v


def rounded(value: Fraction, mode: str) -> float:
    """An exact rational rounded to double (rn rz rm rp), independent of the engine."""
    near = float(value)
    if Fraction(near) == value:
        return near
    if Fraction(near) > value:
        lo, hi = float(np.nextafter(near, -np.inf)), near
    else:
        lo, hi = near, float(np.nextafter(near, np.inf))
    return {"rn": near, "rz": lo if value > 0 else hi, "rm": lo, "rp": hi}[mode]


def round32(x64: np.ndarray, mode: str) -> np.ndarray:
    """Doubles (exact values) rounded to float in a direction."""
    f = x64.astype(np.float32)
    back = f.astype(np.float64)
    if mode == "rz":
        return np.where(np.abs(back) > np.abs(x64), np.nextafter(f, np.float32(0)), f)
    if mode == "rp":
        return np.where(back < x64, np.nextafter(f, np.float32(np.inf)), f)
    return np.where(back > x64, np.nextafter(f, np.float32(-np.inf)), f)


# -- reductions, scans, histograms, atomics ------------------------------------------------

@pytest.mark.parametrize("n,grid,block", [(100_000, 40, 256), (1, 1, 32), (777, 3, 96),
                                          (5000, 1, 1024)])
def test_reduce_warp_shuffles(mods, n, grid, block):
    mem = FakeMemory()
    x = rng.integers(-2**31, 2**31 - 1, n, dtype=np.int32)
    px, po = mem.put(x), mem.alloc(8 * grid)
    run(mods["corpus_reduce"], "reduce_warp", mem, (grid, 1, 1), (block, 1, 1),
        pack(("Q", px), ("Q", po), ("i", n)))
    owner = (np.arange(n) % (grid * block)) // block
    want = np.array([int(x[owner == b].astype(np.int64).sum()) for b in range(grid)], np.int64)
    np.testing.assert_array_equal(mem.get(po, np.int64, grid), want)


@pytest.mark.parametrize("n,block", [(10_000, 256), (1, 64), (1000, 1024), (333, 32)])
def test_inclusive_scan_two_pass(mods, n, block):
    mem = FakeMemory()
    x = rng.integers(-1000, 1000, n, dtype=np.int32)
    nb = (n + block - 1) // block
    px, po, ps = mem.put(x), mem.alloc(4 * n), mem.alloc(4 * nb)
    mod = mods["corpus_reduce"]
    run(mod, "scan_block", mem, (nb, 1, 1), (block, 1, 1),
        pack(("Q", px), ("Q", po), ("Q", ps), ("i", n)), shared=4 * block)
    sums = mem.get(ps, np.int32, nb)
    padded = np.zeros(nb * block, np.int64)
    padded[:n] = x
    np.testing.assert_array_equal(sums, padded.reshape(nb, block).sum(1))
    prefix = mem.put(np.cumsum(sums).astype(np.int32))
    run(mod, "scan_fixup", mem, (nb, 1, 1), (block, 1, 1), pack(("Q", po), ("Q", prefix), ("i", n)))
    np.testing.assert_array_equal(mem.get(po, np.int32, n), np.cumsum(x).astype(np.int32))


@pytest.mark.parametrize("n,block", [(4000, 512), (32, 32), (1500, 1024)])
def test_warp_scan(mods, n, block):
    mem = FakeMemory()
    x = rng.integers(0, 2**32, n, dtype=np.uint32)
    px, po = mem.put(x), mem.alloc(4 * n)
    run(mods["corpus_reduce"], "scan_warp", mem, blocks(n, block), (block, 1, 1),
        pack(("Q", px), ("Q", po), ("i", n)))
    want = np.concatenate([np.cumsum(x[i:i + block], dtype=np.uint32) for i in range(0, n, block)])
    np.testing.assert_array_equal(mem.get(po, np.uint32, n), want)


@pytest.mark.parametrize("n,grid,block", [(50_000, 7, 128), (1, 1, 1), (300, 2, 64)])
def test_histogram_shared_and_global_atomics(mods, n, grid, block):
    mem = FakeMemory()
    data = (rng.integers(0, 256, n) ** 2 % 256).astype(np.uint8)     # skewed: many collisions
    pi, ph = mem.put(data), mem.put(np.zeros(256, np.uint32))
    run(mods["corpus_reduce"], "hist256", mem, (grid, 1, 1), (block, 1, 1),
        pack(("Q", pi), ("Q", ph), ("i", n)))
    np.testing.assert_array_equal(mem.get(ph, np.uint32, 256), np.bincount(data, minlength=256))


def test_every_atomic_flavour(mods):
    n = 1000
    mem = FakeMemory()
    v = rng.integers(-10**6, 10**6, n, dtype=np.int32)
    acc0 = np.array([-2**31, 2**31 - 1, -1, 0, 0, 0, 0, 0], np.int32)
    pv, pa = mem.put(v), mem.put(acc0)
    pu, pf = mem.put(np.zeros(2, np.uint32)), mem.put(np.zeros(1, np.float32))
    run(mods["corpus_reduce"], "atomics_mix", mem, blocks(n, 128), (128, 1, 1),
        pack(("Q", pv), ("Q", pa), ("Q", pu), ("Q", pf), ("i", n)))
    acc = mem.get(pa, np.int32, 8)
    v64 = v.astype(np.int64)
    assert acc[0] == v.max() and acc[1] == v.min()
    assert acc[2] == np.bitwise_and.reduce(v | 0x0F0F0F0F) and acc[3] == np.bitwise_or.reduce(v & 0x01010101)
    assert acc[4] == np.bitwise_xor.reduce(v) and acc[5] == s32(int(v64.sum()))
    assert 1 <= acc[6] <= n and acc[7] == acc[6]
    u = mem.get(pu, np.uint32, 2)
    assert u[0] == n % 10 and u[1] == (6 - n % 6) % 6
    assert mem.get(pf, np.float32, 1)[0] == float((v & 7).sum())


@pytest.mark.parametrize("n,block", [(1000, 256), (5, 64)])
def test_syncthreads_count_and_or(mods, n, block):
    mem = FakeMemory()
    v = rng.integers(-3, 9, n, dtype=np.int32)
    nb = (n + block - 1) // block
    pv, po = mem.put(v), mem.alloc(12 * nb)
    run(mods["corpus_reduce"], "sync_votes", mem, (nb, 1, 1), (block, 1, 1),
        pack(("Q", pv), ("Q", po), ("i", n)))
    padded = np.zeros(nb * block, np.int32)
    padded[:n] = v
    p = padded.reshape(nb, block)
    want = np.stack([(p > 0).sum(1), (p != 3).all(1), (p == 7).any(1)], 1).astype(np.int32)
    np.testing.assert_array_equal(mem.get(po, np.int32, 3 * nb).reshape(nb, 3), want)


# -- linear algebra and sorting ---------------------------------------------------------------

@pytest.mark.parametrize("M,N,K", [(64, 48, 80), (1, 1, 1), (37, 53, 29)])
def test_tiled_matmul(mods, M, N, K):
    mem = FakeMemory()
    A = rng.integers(-4, 5, (M, K)).astype(np.float32)     # small integers: every order exact
    B = rng.integers(-4, 5, (K, N)).astype(np.float32)
    pa, pb, pc = mem.put(A), mem.put(B), mem.alloc(4 * M * N)
    run(mods["corpus_linalg"], "matmul_tiled", mem, ((N + 15) // 16, (M + 15) // 16, 1),
        (16, 16, 1), pack(("Q", pa), ("Q", pb), ("Q", pc), ("i", M), ("i", N), ("i", K)))
    np.testing.assert_array_equal(mem.get(pc, np.float32, M * N).reshape(M, N), A @ B)


@pytest.mark.parametrize("W,H", [(100, 70), (1, 1), (32, 33)])
def test_transpose_padded_tiles(mods, W, H):
    mem = FakeMemory()
    a = rng.standard_normal((H, W)).astype(np.float32)
    pi, po = mem.put(a), mem.alloc(4 * W * H)
    run(mods["corpus_linalg"], "transpose_padded", mem, ((W + 31) // 32, (H + 31) // 32, 1),
        (32, 8, 1), pack(("Q", pi), ("Q", po), ("i", W), ("i", H)))
    np.testing.assert_array_equal(mem.get(po, np.float32, W * H).reshape(W, H), a.T)


@pytest.mark.parametrize("n,block", [(3000, 512), (1, 32), (1024, 1024)])
def test_bitonic_sort(mods, n, block):
    mem = FakeMemory()
    x = rng.integers(-10**6, 10**6, n, dtype=np.int32)
    pd = mem.put(x)
    run(mods["corpus_linalg"], "bitonic_sort", mem, blocks(n, block), (block, 1, 1),
        pack(("Q", pd), ("i", n)), shared=4 * block)
    want = np.concatenate([np.sort(x[i:i + block]) for i in range(0, n, block)])
    np.testing.assert_array_equal(mem.get(pd, np.int32, n), want)


# -- float math -----------------------------------------------------------------------------

def test_softmax_and_layernorm_rows(mods):
    rows, cols = 13, 300
    mem = FakeMemory()
    x = (rng.standard_normal((rows, cols)) * 4).astype(np.float32)
    g = rng.standard_normal(cols).astype(np.float32)
    b = rng.standard_normal(cols).astype(np.float32)
    px, py, pg, pb, pz = mem.put(x), mem.alloc(4 * rows * cols), mem.put(g), mem.put(b), \
        mem.alloc(4 * rows * cols)
    mod = mods["corpus_float"]
    run(mod, "softmax_rows", mem, (rows, 1, 1), (128, 1, 1), pack(("Q", px), ("Q", py), ("i", cols)))
    x64 = x.astype(np.float64)
    e = np.exp(x64 - x64.max(1, keepdims=True))
    np.testing.assert_allclose(mem.get(py, np.float32, rows * cols).reshape(rows, cols),
                               e / e.sum(1, keepdims=True), rtol=2e-5, atol=1e-7)
    run(mod, "layernorm_rows", mem, (rows, 1, 1), (64, 1, 1),
        pack(("Q", px), ("Q", pg), ("Q", pb), ("Q", pz), ("i", cols), ("f", 1e-5)))
    mu = x64.mean(1, keepdims=True)
    ref = (x64 - mu) / np.sqrt(((x64 - mu) ** 2).mean(1, keepdims=True) + 1e-5) * g + b
    np.testing.assert_allclose(mem.get(pz, np.float32, rows * cols).reshape(rows, cols), ref,
                               rtol=1e-4, atol=1e-4)


def test_float_library_and_directed_rounding(mods):
    n = 700
    mem = FakeMemory()
    a = (rng.standard_normal(n) * 10).astype(np.float32)
    a[:6] = [0.0, -0.0, 1.0, -2.5, 1e-3, 3e4]
    pa, po = mem.put(a), mem.alloc(32 * n)
    run(mods["corpus_float"], "float_lib", mem, blocks(n, 128), (128, 1, 1),
        pack(("Q", pa), ("Q", po), ("i", n)))
    out = mem.get(po, np.float32, 8 * n).reshape(n, 8)
    a64 = a.astype(np.float64)
    np.testing.assert_allclose(out[:, 0], np.tanh(a64), rtol=2e-6, atol=1e-7)
    np.testing.assert_allclose(out[:, 1], np.log(np.abs(a64) + 1), rtol=2e-6, atol=1e-7)
    np.testing.assert_allclose(out[:, 2], np.abs(a64) ** 1.5, rtol=4e-6)
    np.testing.assert_allclose(out[:, 3], np.arctan2(a64, 1.5), rtol=2e-6, atol=1e-7)
    tenth = np.float64(np.float32(0.1))
    np.testing.assert_array_equal(out[:, 4], round32(a64 + tenth, "rz"))
    np.testing.assert_array_equal(out[:, 5], round32(a64 * np.float64(np.float32(3.3)), "rp"))
    np.testing.assert_array_equal(out[:, 6], round32(a64 / 7.0, "rm"))
    want7 = np.copysign(np.minimum(np.abs(a), np.float32(2)), -a) + np.clip(a, 0, 1)
    np.testing.assert_array_equal(out[:, 7], want7)


# -- integers ----------------------------------------------------------------------------------

def _np_fmix(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def _byte_perm(x: int, y: int, s: int) -> int:
    src = x | (y << 32)
    return sum(((src >> (8 * ((s >> (4 * k)) & 7))) & 0xFF) << (8 * k) for k in range(4))


def _dp(a: int, b: int, c: int, sa: bool, sb: bool, two: bool, hi: bool) -> int:
    def part(v: int, width: int, k: int, signed: bool) -> int:
        x = (v >> (width * k)) & ((1 << width) - 1)
        return x - (1 << width) if signed and x >> (width - 1) else x
    if two:
        return c + sum(part(a, 16, k, sa) * part(b, 8, k + (2 if hi else 0), sb) for k in range(2))
    return c + sum(part(a, 8, k, sa) * part(b, 8, k, sb) for k in range(4))


def test_hash_and_bit_tricks(mods):
    n = 400
    mem = FakeMemory()
    x = rng.integers(0, 2**32, n, dtype=np.uint32)
    x[:4] = [0, 0xFFFFFFFF, 0x80000000, 1]
    px, po = mem.put(x), mem.alloc(32 * n)
    run(mods["corpus_int"], "hash_bits", mem, blocks(n, 96), (96, 1, 1), pack(("Q", px), ("Q", po), ("i", n)))
    out = mem.get(po, np.uint32, 8 * n).reshape(n, 8)
    hs = _np_fmix(x ^ np.uint32(0x9E3779B9))
    np.testing.assert_array_equal(out[:, 0], hs)
    for i in range(n):
        xi, h = int(x[i]), int(hs[i])
        r = ((xi << 13) | (xi >> 19)) & U32
        fs_r = (((h << 32) | xi) >> ((xi & 63) & 31)) & U32
        sh = min(xi >> 27, 32)
        fs_l = ((((xi << 32) | h) << sh) >> 32) & U32
        ffs = (h & -h).bit_length()
        want = [h, r ^ (xi & ~h & U32) ^ ((xi | h) & r),
                _byte_perm(xi, h, 0x5140) ^ _byte_perm(xi, h, 0x3276),
                (fs_r + fs_l) & U32,
                bin(xi).count("1") | ((32 - xi.bit_length()) << 8) | (ffs << 16),
                (int(f"{h:032b}"[::-1], 2) + abs(s32(xi) - s32(h)) + 3) & U32,   # __sad is signed
                (_dp(xi, h, 17, True, True, False, False) & U32) ^ (_dp(xi, h, 5, False, False, False, False) & U32),
                (_dp(xi, h, -3, True, True, True, False) + _dp(xi, h, 9, False, False, True, True)) & U32]
        assert out[i].tolist() == want, i


def test_int64_arithmetic(mods):
    n = 300
    mem = FakeMemory()
    a = rng.integers(0, 2**64, n, dtype=np.uint64)
    b = rng.integers(0, 2**64, n, dtype=np.uint64)
    a[:4] = [0, U64, 1 << 63, 12345]
    b[:4] = [U64, 1 << 63, 3, 0]
    pa, pb, po = mem.put(a), mem.put(b), mem.alloc(64 * n)
    run(mods["corpus_int"], "int64_ops", mem, blocks(n, 128), (128, 1, 1),
        pack(("Q", pa), ("Q", pb), ("Q", po), ("i", n)))
    out = mem.get(po, np.uint64, 8 * n).reshape(n, 8)
    for i in range(n):
        x, y = int(a[i]), int(b[i]) | 1
        sx, sy = s64(x), s64(y)
        q = abs(sx) // abs(sy) * (1 if (sx < 0) == (sy < 0) else -1)
        r = sx - q * sy
        want = [(x * y + (x >> (y & 63)) + (x << (x & 63))) & U64,
                ((x * y) >> 64) ^ (((sx * sy) >> 64) & U64),
                (x // y + x % y) & U64,
                (q & U64) ^ (r & U64),
                (bin(x).count("1") + 100 * (64 - y.bit_length()) + 10000 * (x & -x).bit_length()) & U64,
                int(f"{x:064b}"[::-1], 2) ^ ((sx >> (y & 63)) & U64),
                ((x - y if x > y else y - x) + (1 if sx < sy else 2)) & U64,
                (int(float(x >> 11)) + int(float(np.float32(y & U32)))) & U64]
        assert out[i].tolist() == want, i


def test_carry_chains_128_bit(mods):
    n = 257
    mem = FakeMemory()
    a = rng.integers(0, 2**32, 4 * n, dtype=np.uint32)
    b = rng.integers(0, 2**32, 4 * n, dtype=np.uint32)
    a[:4], b[:4] = U32, 1                                   # carry ripples through every word
    a[4:8], b[4:8] = 0, [1, 0, 0, 0]                         # borrow ripples through every word
    pa, pb, po = mem.put(a), mem.put(b), mem.alloc(44 * n)
    run(mods["corpus_int"], "carry128", mem, blocks(n, 64), (64, 1, 1),
        pack(("Q", pa), ("Q", pb), ("Q", po), ("i", n)))
    out = mem.get(po, np.uint32, 11 * n).reshape(n, 11)
    for i in range(n):
        x = sum(int(a[4 * i + k]) << (32 * k) for k in range(4))
        y = sum(int(b[4 * i + k]) << (32 * k) for k in range(4))
        s, d = (x + y) % 2**128, (x - y) % 2**128
        m = (x % 2**64) * (y % 2**32)
        want = [(s >> (32 * k)) & U32 for k in range(4)] + [(d >> (32 * k)) & U32 for k in range(4)] \
            + [(m >> (32 * k)) & U32 for k in range(3)]
        assert out[i].tolist() == want, i


def test_integer_division_edge_cases(mods):
    xs = np.array([7, -7, 7, -7, -2**31, -2**31, 5, 0, 2**31 - 1, -1], np.int32)
    ys = np.array([2, 2, -2, -2, -1, 1, 0, 0, 0, -1], np.int32)
    n = len(xs)
    mem = FakeMemory()
    pa, pb, po = mem.put(xs), mem.put(ys), mem.alloc(16 * n)
    run(mods["corpus_int"], "div_edges", mem, (1, 1, 1), (32, 1, 1),
        pack(("Q", pa), ("Q", pb), ("Q", po), ("i", n)))
    out = mem.get(po, np.int32, 4 * n).reshape(n, 4)
    for i in range(n):
        x, y = int(xs[i]), int(ys[i])
        if y == 0:          # no trap: quotient all ones, remainder the dividend
            want = [-1, x, -1, x]
        else:
            q = abs(x) // abs(y) * (1 if (x < 0) == (y < 0) else -1)
            ux, uy = x & U32, y & U32
            want = [s32(q), s32(x - q * y), s32(ux // uy), s32(ux % uy)]
        assert out[i].tolist() == want, (x, y)


def test_warp_match_and_reduce(mods):
    nw = 6
    mem = FakeMemory()
    v = rng.integers(0, 2**32, 32 * nw, dtype=np.uint32)
    v[64:96] = (v[64:96] & np.uint32(0x3FFFFFFF)) | np.uint32(0x40000000)   # warp 2: all equal top bits
    pv, po = mem.put(v), mem.alloc(24 * 32 * nw)
    run(mods["corpus_int"], "warp_match", mem, (2, 1, 1), (96, 1, 1), pack(("Q", pv), ("Q", po)))
    out = mem.get(po, np.uint32, 6 * 32 * nw).reshape(nw, 32, 6)
    for w in range(nw):
        vals = [int(t) for t in v[32 * w:32 * w + 32]]
        top = {t >> 30 for t in vals}
        for lane in range(32):
            key = vals[lane] & 3
            any_mask = sum(1 << k for k in range(32) if vals[k] & 3 == key)
            same = len(top) == 1
            red_and = U32
            for t in vals:
                red_and &= t | 0xF0
            want = [any_mask, U32 if same else 0, int(same), sum(vals) & U32,
                    min(vals) ^ (max(s32(t) for t in vals) & U32),
                    int(np.bitwise_or.reduce(vals) ^ np.bitwise_xor.reduce(vals) ^ red_and)]
            assert out[w, lane].tolist() == want, (w, lane)


# -- double precision ----------------------------------------------------------------------------

def test_double_precision_exact_rounding(mods):
    n = 200
    mem = FakeMemory()
    a = rng.standard_normal(n) * 100
    b = rng.standard_normal(n) * 10
    c = -(a * b) * (1 + rng.standard_normal(n) * 1e-14)    # near-cancelling fma operands
    c[::4] = rng.standard_normal(n)[::4]
    pa, pb, pc, po = mem.put(a), mem.put(b), mem.put(c), mem.alloc(64 * n)
    run(mods["corpus_double"], "double_ops", mem, blocks(n, 64), (64, 1, 1),
        pack(("Q", pa), ("Q", pb), ("Q", pc), ("Q", po), ("i", n)))
    out = mem.get(po, np.float64, 8 * n).reshape(n, 8)
    naive_fma_wrong = 0
    for i in range(n):
        x, y, z = float(a[i]), float(b[i]), float(c[i])
        fx, fy, fz = Fraction(x), Fraction(y), Fraction(z)
        exact_fma = fx * fy + fz
        assert out[i, 0] == rounded(exact_fma, "rn"), i
        naive_fma_wrong += (x * y + z) != out[i, 0]
        assert out[i, 1] == x / y and out[i, 2] == math.sqrt(abs(x))
        assert out[i, 3] == 1 / y + rounded(fx + fz, "rz")
        assert out[i, 4] == rounded(fx * fy, "rp") - rounded(fx / fz, "rm")
        assert out[i, 5] == rounded(exact_fma, "rz")
        assert out[i, 6] == pytest.approx(math.exp(x * 0.01) + math.log(abs(y) + 1), rel=1e-15)
        assert out[i, 7] == float(math.trunc(x * 1e6)) + math.floor(y) + min(x, z) - max(y, z)
    assert naive_fma_wrong > 10          # the inputs do exercise the exact fma


def test_kahan_dot_matches_sequential_doubles(mods):
    n, grid = 1000, 4
    mem = FakeMemory()
    a, b = rng.standard_normal(n), rng.standard_normal(n) * 1e8
    pa, pb, po = mem.put(a), mem.put(b), mem.alloc(8 * grid)
    run(mods["corpus_double"], "kahan_dot", mem, (grid, 1, 1), (32, 1, 1),
        pack(("Q", pa), ("Q", pb), ("Q", po), ("i", n)))
    want = []
    for g in range(grid):
        s = comp = 0.0
        for i in range(g, n, grid):
            yv = float(a[i]) * float(b[i]) - comp
            t = s + yv
            comp = (t - s) - yv
            s = t
        want.append(s)
    assert mem.get(po, np.float64, grid).tolist() == want


# -- half precision --------------------------------------------------------------------------------

def _bf16_round(x64: np.ndarray) -> np.ndarray:
    """Doubles rounded to bfloat16 (nearest even), as bit patterns; normal range only."""
    e = np.floor(np.log2(np.abs(np.where(x64 == 0, 1.0, x64))))
    ulp = np.exp2(e - 7)
    r = np.where(x64 == 0, x64, np.round(x64 / ulp) * ulp)
    return (r.astype(np.float32).view(np.uint32) >> np.uint32(16)).astype(np.uint16)


def _bf16(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << np.uint32(16)).view(np.float32).astype(np.float64)


def test_half_and_bfloat16_arithmetic(mods):
    n = 500
    mem = FakeMemory()
    a = (rng.standard_normal(n) * 3).astype(np.float16)
    b = (rng.standard_normal(n) * 3).astype(np.float16)
    pa, pb, po = mem.put(a), mem.put(b), mem.alloc(12 * n)
    mod = mods["corpus_half"]
    run(mod, "half_ops", mem, blocks(n, 128), (128, 1, 1), pack(("Q", pa), ("Q", pb), ("Q", po), ("i", n)))
    out = mem.get(po, np.float16, 6 * n).reshape(n, 6)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    np.testing.assert_array_equal(out[:, 0], (a64 + b64).astype(np.float16))
    np.testing.assert_array_equal(out[:, 1], (a64 * b64).astype(np.float16))
    np.testing.assert_array_equal(out[:, 2], (a64 * b64 + 0.5).astype(np.float16))
    np.testing.assert_array_equal(out[:, 3], (a64 - b64).astype(np.float16))
    np.testing.assert_array_equal(out[:, 4], (a64 * b64 + a64).astype(np.float16))
    np.testing.assert_array_equal(out[:, 5], np.where(a > b, np.maximum(a, b), -np.abs(b)))
    ab = _bf16_round(rng.standard_normal(n) * 5)
    bb = _bf16_round(rng.standard_normal(n) * 5)
    pa2, pb2, po2 = mem.put(ab), mem.put(bb), mem.alloc(8 * n)
    run(mod, "bf16_ops", mem, blocks(n, 128), (128, 1, 1), pack(("Q", pa2), ("Q", pb2), ("Q", po2), ("i", n)))
    out2 = mem.get(po2, np.uint16, 4 * n).reshape(n, 4)
    x, y = _bf16(ab), _bf16(bb)
    np.testing.assert_array_equal(out2[:, 0], _bf16_round(x + y))
    np.testing.assert_array_equal(out2[:, 1], _bf16_round(x * y))
    np.testing.assert_array_equal(out2[:, 2], _bf16_round(x * y + x))
    three = (x.astype(np.float32) * np.float32(3)).astype(np.float64)
    np.testing.assert_array_equal(out2[:, 3], _bf16_round(three))


# -- calls --------------------------------------------------------------------------------------

def _fib(k: int) -> int:
    return k if k < 2 else _fib(k - 1) + _fib(k - 2)


def _tree(v: list[int], lo: int, hi: int) -> int:
    if hi - lo == 1:
        return v[lo]
    mid = (lo + hi) // 2
    return _tree(v, lo, mid) * 3 + _tree(v, mid, hi)


def test_recursion(mods):
    n = 70
    mem = FakeMemory()
    k = rng.integers(0, 11, n, dtype=np.int32)
    vals = rng.integers(-1000, 1000, n + 8, dtype=np.int32)
    pk, pv, pf, ps = mem.put(k), mem.put(vals), mem.alloc(4 * n), mem.alloc(8 * n)
    run(mods["corpus_calls"], "recursion", mem, blocks(n, 32), (32, 1, 1),
        pack(("Q", pk), ("Q", pv), ("Q", pf), ("Q", ps), ("i", n)))
    np.testing.assert_array_equal(mem.get(pf, np.int32, n), [_fib(int(t)) for t in k])
    vl = vals.tolist()
    np.testing.assert_array_equal(mem.get(ps, np.int64, n),
                                  [_tree(vl, i, i + 1 + (int(k[i]) & 7)) for i in range(n)])


def test_function_pointers(mods):
    n = 300
    mem = FakeMemory()
    sel = rng.integers(0, 100, n, dtype=np.int32)
    a = rng.integers(-10**4, 10**4, n, dtype=np.int32)
    b = rng.integers(-10**4, 10**4, n, dtype=np.int32)
    ps, pa, pb, po = mem.put(sel), mem.put(a), mem.put(b), mem.alloc(4 * n)
    run(mods["corpus_calls"], "fn_pointers", mem, blocks(n, 64), (64, 1, 1),
        pack(("Q", ps), ("Q", pa), ("Q", pb), ("Q", po), ("i", n)))
    ops = [np.add, np.multiply, np.bitwise_xor, np.subtract]
    want = [ops[s & 3](x, y) for s, x, y in zip(sel.tolist(), a.tolist(), b.tolist())]
    np.testing.assert_array_equal(mem.get(po, np.int32, n), want)


def test_local_arrays_passed_to_callee(mods):
    n = 200
    mem = FakeMemory()
    x = rng.integers(-10**4, 10**4, n, dtype=np.int32)
    px, po = mem.put(x), mem.alloc(4 * n)
    run(mods["corpus_calls"], "local_by_pointer", mem, blocks(n, 64), (64, 1, 1),
        pack(("Q", px), ("Q", po), ("i", n)))
    want = []
    for v in x.tolist():
        k = v & 15
        arr = [(v * (j + 1)) ^ k for j in range(12)]
        s = sum(arr[(j * 5 + k) % 12] for j in range(12))
        r = int(math.fmod(v, 3))
        d = v * 0.5 + (0 if r < 0 else r)
        want.append(s32(s + arr[v & 7] + math.trunc(d)))
    np.testing.assert_array_equal(mem.get(po, np.int32, n), want)


def test_printf_from_a_device_function(mods):
    mem = FakeMemory()
    lines: list[str] = []
    run(mods["corpus_calls"], "printf_callee", mem, (2, 1, 1), (40, 1, 1), pack(("i", 9)),
        printf=lines.append)
    want = []
    for blk in range(2):
        for t in range(40):
            if t % 16 == 3:
                who = 9 + blk * 100 + t
                want.append(f"who={who} big={9 << 33} val={t * 0.25:.3f} hex={who * 255:x}\n")
    assert lines == want


# -- grids, special registers ----------------------------------------------------------------------

@pytest.mark.parametrize("dims,block", [((20, 11, 6), (8, 4, 2)), ((1, 1, 1), (1, 1, 1)),
                                        ((33, 5, 3), (32, 1, 4))])
def test_3d_grids(mods, dims, block):
    X, Y, Z = dims
    grid = tuple((d + b - 1) // b for d, b in zip(dims, block))
    mem = FakeMemory()
    po = mem.put(np.full(X * Y * Z, 0xDEADBEEF, np.uint32))
    run(mods["corpus_grid"], "grid3d", mem, grid, block, pack(("Q", po), ("i", X), ("i", Y), ("i", Z)))
    z, y, x = np.meshgrid(np.arange(Z), np.arange(Y), np.arange(X), indexing="ij")
    tid = x % block[0] + block[0] * (y % block[1] + block[1] * (z % block[2]))
    bid = x // block[0] + grid[0] * (y // block[1] + grid[1] * (z // block[2]))
    np.testing.assert_array_equal(mem.get(po, np.uint32, X * Y * Z).reshape(Z, Y, X),
                                  (bid << 16) | tid)


@pytest.mark.parametrize("n,grid,block", [(100_003, 4, 32), (10, 1, 1), (5000, 300, 64),
                                          (2_000_000, 40_000, 64)])
def test_saxpy_grid_stride(mods, n, grid, block):
    mem = FakeMemory(64 << 20)
    x = rng.standard_normal(n).astype(np.float32)
    y = rng.standard_normal(n).astype(np.float32)
    px, py = mem.put(x), mem.put(y)
    run(mods["corpus_grid"], "saxpy_stride", mem, (grid, 1, 1), (block, 1, 1),
        pack(("f", 2.5), ("Q", px), ("Q", py), ("q", n)))
    exact = np.longdouble(2.5) * x.astype(np.longdouble) + y.astype(np.longdouble)   # fma: one rounding
    np.testing.assert_array_equal(mem.get(py, np.float32, n), exact.astype(np.float32))


def test_stencil_2d_grid_stride(mods):
    W, H = 70, 45
    mem = FakeMemory()
    a = rng.standard_normal((H, W)).astype(np.float32)
    pi, po = mem.put(a), mem.alloc(4 * W * H)
    run(mods["corpus_grid"], "stencil2d", mem, (2, 3, 1), (16, 8, 1),
        pack(("Q", pi), ("Q", po), ("i", W), ("i", H)))
    p = np.pad(a, 1)
    want = (((np.float32(4) * a - p[1:-1, :-2]) - p[1:-1, 2:]) - p[:-2, 1:-1]) - p[2:, 1:-1]
    np.testing.assert_array_equal(mem.get(po, np.float32, W * H).reshape(H, W), want)


def test_special_registers_and_clocks(mods):
    mem = FakeMemory()
    nthreads = 3 * 80
    po, pc = mem.alloc(24 * nthreads), mem.put(np.array([time.time_ns(), 0, 0], np.int64))
    run(mods["corpus_grid"], "specials", mem, (3, 1, 1), (80, 1, 1), pack(("Q", po), ("Q", pc)))
    out = mem.get(po, np.uint32, 6 * nthreads).reshape(3, 80, 6)
    t = np.arange(80)
    lane = t % 32
    for b in range(3):
        np.testing.assert_array_equal(out[b, :, 0], lane)
        np.testing.assert_array_equal(out[b, :, 1], t // 32)
        assert (out[b, :, 2] == 1).all() and (out[b, :, 5] >= 1).all()
        np.testing.assert_array_equal(out[b, :, 3], (1 << lane) - 1)
        np.testing.assert_array_equal(out[b, :, 4], (U32 << lane) & U32)
    # the kernel's clock checks: clock64 counts up, globaltimer is after the launch began
    # (and within the hour)
    assert mem.get(pc, np.int64, 3).tolist() == [1, 1, 1]


# -- parameters, pointer globals, switch ------------------------------------------------------------

def test_kernel_parameter_addressed_through_a_register(mods):
    n = 500
    mem = FakeMemory()
    table = rng.integers(-10**6, 10**6, 200, dtype=np.int32)
    idx = rng.integers(0, 10**6, n, dtype=np.int32)
    pi, po = mem.put(idx), mem.alloc(4 * n)
    params = table.tobytes() + struct.pack("<QQi", pi, po, n)
    run(mods["corpus_misc"], "param_big", mem, blocks(n, 128), (128, 1, 1), params)
    np.testing.assert_array_equal(mem.get(po, np.int32, n), table[np.fmod(idx, 200)])


def test_pointer_valued_global_initialisers(mods):
    mem = FakeMemory()
    po = mem.alloc(4 * 8)
    run(mods["corpus_misc"], "ptr_init", mem, (1, 1, 1), (8, 1, 1), pack(("Q", po)))
    t = np.arange(8)
    np.testing.assert_array_equal(mem.get(po, np.int32, 8), np.array([1, 2, 3, 4])[(t & 1) * 2 + ((t >> 1) & 1)])


def test_dense_switch(mods):
    n = 600
    mem = FakeMemory()
    x = rng.integers(-2**31, 2**31 - 1, n, dtype=np.int32)
    px, po = mem.put(x), mem.alloc(4 * n)
    run(mods["corpus_misc"], "switchy", mem, blocks(n, 128), (128, 1, 1), pack(("Q", px), ("Q", po), ("i", n)))

    def cdiv(a: int, b: int) -> int:
        return abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)

    want = []
    for r in x.tolist():
        c = r & 15
        if c == 0:
            r = s32(r * 3 + bin(r & U32).count("1"))
        elif c == 1:
            r = s32((r ^ 77) * 5)
        elif c == 2:
            r = s32(int(f"{(r - 9) & U32:032b}"[::-1], 2))
        elif c == 3:
            r = cdiv(s32(r << 2), 7)
        elif c == 4:
            v = r >> 1
            r = v - cdiv(v, 13) * 13
        elif c == 5:
            r = s32(~r + (32 - (r & U32).bit_length()))
        elif c == 6:
            r = cdiv(r, 9)
        elif c == 7:
            r = s32(1234 + cdiv(r, 3))
        elif c == 8:
            v = r | 5
            r = v - cdiv(v, 101) * 101
        else:
            r = 42
        want.append(r)
    np.testing.assert_array_equal(mem.get(po, np.int32, n), want)


# -- faults --------------------------------------------------------------------------------------

def test_out_of_bounds_store_faults_naming_the_thread(mods):
    mem = FakeMemory()
    pb = mem.alloc(4 * 100)
    with pytest.raises(KernelFault) as info:
        run(mods["corpus_fault"], "oob_store", mem, (2, 1, 1), (64, 1, 1),
            pack(("Q", pb), ("i", 128), ("i", 2)))
    f = info.value
    assert f.block == (0, 0, 0) and f.thread == (50, 0, 0) and f.address == pb + 400
    assert "st.global" in f.instruction


def test_deep_recursion_works_then_overflows_the_stack(mods):
    mem = FakeMemory()
    po = mem.alloc(4 * 32)
    mod = mods["corpus_fault"]
    run(mod, "deep_recursion", mem, (1, 1, 1), (32, 1, 1), pack(("i", 6), ("Q", po)))

    def deep(k: int, scratch: list[int]) -> int:
        local = [k + j + scratch[j & 3] for j in range(32)]
        return local[k & 31] if k == 0 else deep(k - 1, local) + local[k & 31]
    assert mem.get(po, np.int32, 32).tolist() == [deep(6, [1, 2, 3, 4])] * 32
    with pytest.raises(KernelFault, match="stack overflow"):
        run(mod, "deep_recursion", mem, (1, 1, 1), (32, 1, 1), pack(("i", 100_000), ("Q", po)))
