"""The JIT's warp, atomic, half-precision, carry, rounding and clock instructions against the
interpreter on chosen edge cases, bit for bit, and against values worked out here."""
from __future__ import annotations

import struct
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("llvmlite")

from gdev_shim import jit  # noqa: E402
from gdev_shim.card.card import Card  # noqa: E402
from gdev_shim.common.contract import C  # noqa: E402
from gdev_shim.ptx import KernelFault, Module, execute as interp_execute, parse_module  # noqa: E402
from gdev_shim.ptx.memory import PARAM_WINDOW  # noqa: E402

SOURCE = Path(__file__).resolve().parent / "jit_kernels" / "isa.cu"
U32 = 0xFFFF_FFFF


# each test gets its own JIT disk cache
pytestmark = pytest.mark.usefixtures("fresh_jit_cache")


@pytest.fixture(scope="module")
def module(compile_ptx) -> Module:
    return parse_module(compile_ptx([SOURCE])[SOURCE])


def _launch(engine, module: Module, kernel: str, args: list, grid=(1, 1, 1), block=(32, 1, 1)):
    """Run with each array in its own buffer (bytes arguments are passed by value); returns
    the arrays as the kernel left them and the fault, if any."""
    card = Card(0, vram_size=64 << 20)
    info = module.kernels[kernel]
    params = bytearray(info.param_size)
    bufs = []
    for p, a in zip(info.params, args):
        if isinstance(a, bytes):
            params[p.offset:p.offset + len(a)] = a
            continue
        bo = card.gem_new(max(a.nbytes, 64), C.AIDEV_GEM_DOMAIN_VRAM)
        card.memory.write(bo.addr, np.ascontiguousarray(a).tobytes())
        struct.pack_into("<Q", params, p.offset, bo.addr)
        bufs.append((bo, a))
    fault = None
    try:
        engine(module, kernel, card.memory, grid, block, bytes(params), 0, 0)
    except KernelFault as exc:
        fault = (exc.block, exc.thread, exc.instruction, exc.address, exc.reason)
    out = [np.frombuffer(card.memory.read(bo.addr, a.nbytes), a.dtype).reshape(a.shape).copy()
           for bo, a in bufs]
    return out, fault


def both(module: Module, kernel: str, args: list, **shape) -> tuple[list[np.ndarray], tuple | None]:
    """The JIT's results, after checking they equal the interpreter's bit for bit."""
    got, gfault = _launch(jit.execute, module, kernel, args, **shape)
    want, wfault = _launch(interp_execute, module, kernel, args, **shape)
    assert gfault == wfault
    for i, (g, w) in enumerate(zip(got, want)):
        if g.tobytes() != w.tobytes():
            raw_g, raw_w = g.reshape(-1).view(np.uint8), w.reshape(-1).view(np.uint8)
            first = int(np.flatnonzero(raw_g != raw_w)[0]) // g.itemsize
            pytest.fail(f"buffer {i} differs first at element {first}: jit "
                        f"{g.reshape(-1)[first]!r}, interpreter {w.reshape(-1)[first]!r}")
    return got, gfault


def bits16(x: float) -> int:
    return int(np.array(x, np.float16).view(np.uint16))


# ------------------------------------------------------------------ warp instructions

def _shfl_inputs(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = rng.integers(0, 2**32, n, dtype=np.uint32)
    d = rng.integers(0, 40, n, dtype=np.uint32)               # past 31: only the low 5 bits count
    clamp = rng.integers(0, 32, n, dtype=np.uint32)
    seg = rng.choice(np.array([0, 0x10, 0x18, 0x1C, 0x1F, 0x07], np.uint32), n)
    c = clamp | seg << 8
    take = (rng.random(n) < 0.7).astype(np.uint32)
    return np.stack([v, d, c, take], 1).astype(np.uint32)


@pytest.mark.parametrize("block", [32, 40, 20, 96])
def test_shfl_partial_masks_and_short_warps(module: Module, block: int) -> None:
    n = 2 * block
    inp = _shfl_inputs(n, block)
    both(module, "shfl_modes", [inp, np.zeros(9 * n, np.uint32)], grid=(2, 1, 1), block=(block, 1, 1))


def test_shfl_values(module: Module) -> None:
    n = 40                                    # a full warp and one of 8 lanes
    v = np.arange(n, dtype=np.uint32) * 11 + 5
    inp = np.stack([v, np.full(n, 1), np.full(n, 0x1F), np.ones(n)], 1).astype(np.uint32)
    inp[3, 3] = 0                             # lane 3 does not take part
    (_, out), _ = both(module, "shfl_modes", [inp, np.zeros(9 * n, np.uint32)], block=(n, 1, 1))
    r = out.reshape(n, 9)
    # down by 1: the next lane's value, also from lane 3 outside the mask; lane 31 keeps its own
    assert r[2, 1] == v[3] and r[30, 1] == v[31] and r[31, 1] == v[31] and r[31, 5] == 0
    # the second warp has lanes 0..7: lane 7's source (lane 8) does not exist
    assert r[38, 1] == v[39] and r[39, 1] == v[39] and r[39, 5] == 1
    # butterfly with 1 swaps pairs; idx 1 reads lane 1 of the own warp
    assert r[4, 2] == v[5] and r[5, 2] == v[4] and r[20, 3] == v[1] and r[35, 3] == v[33]
    # up with the bound word 0x1f: the lowest source allowed is lane 31, below every lane's
    # source, so each lane keeps its own value (up shuffles take c = 0)
    assert r[31, 0] == v[31] and r[31, 4] == 0 and r[10, 0] == v[10] and r[10, 4] == 0
    # a lane outside the mask keeps its outputs untouched
    assert list(r[3]) == [0xDEADBEEF] * 4 + [7] * 4 + [v[3]]


@pytest.mark.parametrize("block", [32, 50, 7])
def test_votes_match_redux_among_branch_lanes(module: Module, block: int) -> None:
    n = 3 * block
    rng = np.random.default_rng(block)
    v = rng.integers(0, 64, n, dtype=np.uint32)
    take = (rng.random(n) < 0.6).astype(np.uint32)
    both(module, "warp_votes", [np.stack([v, take], 1), np.zeros(12 * n, np.uint32)],
         grid=(3, 1, 1), block=(block, 1, 1))


def test_vote_values(module: Module) -> None:
    v = np.arange(32, dtype=np.uint32) + 3
    take = np.ones(32, np.uint32)
    take[[0, 5]] = 0
    (_, out), _ = both(module, "warp_votes", [np.stack([v, take], 1), np.zeros(12 * 32, np.uint32)])
    o = out.reshape(32, 12)
    m = U32 & ~0x21
    on = v[take == 1]
    assert o[1, 0] == m
    assert o[1, 1] == sum(1 << i for i in range(32) if take[i] and v[i] & 1)
    assert (o[1, 2], o[1, 3], o[1, 4]) == (0, 1, 0)
    assert o[1, 5] == sum(1 << i for i in range(32) if take[i] and v[i] & 3 == v[1] & 3)
    assert (o[1, 6], o[1, 7]) == (m, 1)                    # every v >> 6 is 0
    assert o[1, 8] == on.sum() and o[1, 9] == on.min() and o[1, 10] == on.max() - 30
    assert o[1, 11] == np.bitwise_xor.reduce(on)
    assert list(o[0]) == [0] * 12


# ------------------------------------------------------------------ atomics

def test_global_atomics_under_contention(module: Module, monkeypatch) -> None:
    from gdev_shim.jit import launch
    monkeypatch.setattr(launch, "WORKERS", 8)
    grid, block = 48, 64
    n = grid * block
    counters = np.zeros(9, np.uint32)
    counters[6] = U32
    minmax = np.array([-2**31, 2**31 - 1], np.int32)
    args = [counters, np.zeros(n, np.uint32), np.zeros(1, np.float32), minmax,
            np.zeros(2, np.uint64), np.zeros(1, np.float64)]
    (c, tickets, fsum, mm, wide, dsum), fault = _launch(jit.execute, module, "atomic_contention",
                                                       args, grid=(grid, 1, 1), block=(block, 1, 1))
    assert fault is None
    t = np.arange(n, dtype=np.uint64)
    assert np.array_equal(np.sort(tickets), np.arange(n, dtype=np.uint32))
    assert list(c) == [n, int(t.sum()) & U32, n % 100, (-n) % 8, U32,
                       int(np.bitwise_xor.reduce((t * 2654435761) & U32)), 0xE0000000, n, 0x55]
    assert fsum[0] == n * 0.5 and dsum[0] == n * 0.25
    assert mm[0] == ((t * 2654435761) & U32).astype(np.uint32).view(np.int32).max()
    assert mm[1] == ((t * 2246822519) & U32).astype(np.uint32).view(np.int32).min()
    assert wide[0] == int((t << np.uint64(33)).sum()) & (2**64 - 1)
    assert wide[1] == max((i * 0x9E3779B97F4A7C15) % 2**64 for i in range(n))
    want, _ = _launch(interp_execute, module, "atomic_contention", args, grid=(grid, 1, 1),
                      block=(block, 1, 1))
    for g, w in zip((c, fsum, mm, wide, dsum), want[:1] + want[2:]):
        assert g.tobytes() == w.tobytes()


@pytest.mark.parametrize("block", [64, 50, 32])
def test_shared_atomics_in_lane_order(module: Module, block: int) -> None:
    grid = 4
    n = grid * block
    x = np.random.default_rng(block).uniform(-1e4, 1e4, n).astype(np.float32)
    (_, out, old, g), _ = both(module, "atomic_shared",
                               [x, np.zeros(3 * grid, np.float32), np.zeros(4 * n, np.uint32),
                                np.zeros(2 * grid, np.uint32)],
                               grid=(grid, 1, 1), block=(block, 1, 1))
    t = np.arange(block, dtype=np.uint32)
    old = old.reshape(grid, block, 4)
    for blk in range(grid):
        xs = x[blk * block:(blk + 1) * block]
        total = np.float32(0)
        for v in xs:                            # lane order, one rounding per lane
            total = np.float32(total + v)
        assert out[3 * blk] == total
        assert np.array_equal(old[blk, :, 0], np.concatenate([[0], np.cumsum(t)[:-1]]))
        assert np.array_equal(old[blk, :, 2], t % 6)
        odd = t[t & 1 == 1]
        assert np.array_equal(old[blk, odd, 3], np.concatenate([[0], np.cumsum(odd + 1)[:-1]]))


def test_atomic_fault_names_first_bad_lane(module: Module) -> None:
    offs = np.arange(32, dtype=np.uint64) * 4
    offs[5] = 2                                 # misaligned
    offs[3] = 1 << 30                           # unbacked
    _, fault = both(module, "atomic_at", [np.zeros(128, np.uint8), offs])
    assert fault[1] == (5, 0, 0) and fault[4] == "misaligned 4-byte access"
    offs[5] = 20
    offs[9] = 1 << 31
    _, fault = both(module, "atomic_at", [np.zeros(128, np.uint8), offs])
    assert fault[1] == (3, 0, 0) and fault[4] == "address not backed by a buffer object"


def test_shared_atomic_collisions_and_faults(module: Module) -> None:
    # lanes colliding on a few words, two lanes sitting out: old values in lane order
    offs = (np.arange(32, dtype=np.uint32) % 5) * 4 + 128
    offs[[7, 30]] = U32
    (_, out), fault = both(module, "atomic_shared_at", [offs, np.zeros(96, np.uint32)])
    assert fault is None
    seen: dict[int, int] = {}
    for t, o in enumerate(offs.tolist()):
        if o != U32:
            assert out[t] == seen.get(o, 0)
            seen[o] = seen.get(o, 0) + t + 1
    words = out[32:]
    assert all(words[o // 4] == v for o, v in seen.items()) and words.sum() == sum(seen.values())
    offs[5] = 130                               # misaligned
    offs[3] = 256                               # past the window
    _, fault = both(module, "atomic_shared_at", [offs, np.zeros(96, np.uint32)])
    assert fault is not None and fault[1] == (3, 0, 0)
    offs[3] = 4
    _, fault = both(module, "atomic_shared_at", [offs, np.zeros(96, np.uint32)])
    assert fault is not None and fault[1] == (5, 0, 0)


# ------------------------------------------------------------------ half precision

def _half_patterns(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    special = np.array([0x0000, 0x8000, 0x3C00, 0xBC00, 0x7C00, 0xFC00, 0x7E00, 0x7C01, 0x0001,
                        0x03FF, 0x0400, 0x7BFF, 0x3C01, 0x1000, 0x3F80, 0x3B80, 0x3F81],
                       np.uint16)
    return np.concatenate([special, rng.integers(0, 2**16, n - len(special), dtype=np.uint16)])


def test_half_forms_and_ties(module: Module) -> None:
    n = 256
    a, b, c = (_half_patterns(n, s) for s in (1, 2, 3))
    # ties: 1 + 2**-11 rounds to even (1.0), (1 + 2**-10) + 2**-11 up to 1 + 2**-9
    a[:4] = [0x3C00, 0x3C01, 0x3F80, 0x3F81]
    b[:4] = [0x1000, 0x1000, 0x3B80, 0x3B80]
    (_, _, _, out), _ = both(module, "half_forms", [a, b, c, np.zeros(12 * n, np.uint16)],
                             grid=(8, 1, 1))
    o = out.reshape(n, 12)
    assert (o[0, 0], o[1, 0]) == (0x3C00, 0x3C02)
    # as bf16 the same bits are other numbers: 0x3F80 + 0x3B80 = 1 + 2**-8, a tie to 1.0
    assert (o[2, 6], o[3, 6]) == (0x3F80, 0x3F82)
    assert o[0, 8] == a[0] ^ 0x8000 and o[3, 9] == 0x3B80


def test_half_conversions_round_to_nearest_even(module: Module) -> None:
    f = np.array([1 + 2**-11, 1 + 3 * 2**-11, 65519.0, 65520.0, 2**-25, 3 * 2**-25, -0.0,
                  np.nan, 1 + 2**-8, 1 + 3 * 2**-8, -3.0e38, 1e-40] + [0.1 * i for i in range(20)],
                 np.float32)
    d = f.astype(np.float64) * (1 + 2**-40)
    n = len(f)
    (_, _, h, packed, back, ints), _ = both(
        module, "half_convert", [f, d, np.zeros(4 * n, np.uint16), np.zeros(2 * n, np.uint32),
                                 np.zeros(2 * n, np.float32), np.zeros(4 * n, np.int32)],
        block=(n, 1, 1))
    h = h.reshape(n, 4)
    assert list(h[:6, 0]) == [0x3C00, 0x3C02, 0x7BFF, 0x7C00, 0x0000, 0x0002]
    # just above the ties in double: up
    assert list(h[:2, 1]) == [0x3C01, 0x3C02]
    assert list(h[8:10, 2]) == [0x3F80, 0x3F82]
    # the first source in the upper half; the double operand went through float first
    assert packed[0] == 0x3C003C00 and packed[2] == 0x3C023C02
    assert back[0] == 1.0 and back[2 * 3] == np.inf
    ints = ints.reshape(n, 4)
    assert list(ints[:2, 0]) == [1, 1] and ints[2, 0] == 65504 and ints[3, 0] == 2**31 - 1
    assert ints[12 + 15, 2] & 0xFFFF == bits16(1500.0)       # 1.5 * 1000 as f16
    # f16x2 comparison of the two packed words: one predicate per half
    x16, y16 = (np.ascontiguousarray(packed[k::2]).view(np.float16).reshape(n, 2) for k in (0, 1))
    with np.errstate(invalid="ignore"):
        want = (x16[:, 0] < y16[:, 0]) | (x16[:, 1] < y16[:, 1]) << 1
    assert np.array_equal(ints[:, 3] >> 16, want)


# ------------------------------------------------------------------ carries, dots

def test_carry_chains_overflow(module: Module) -> None:
    rng = np.random.default_rng(9)
    n = 64
    a = rng.integers(0, 2**32, 4 * n, dtype=np.uint64).astype(np.uint32)
    b = rng.integers(0, 2**32, 4 * n, dtype=np.uint64).astype(np.uint32)
    a[:4], b[:4] = U32, [1, 0, 0, 0]            # the carry runs through every word
    a[4:8], b[4:8] = 0, [1, 0, 0, 0]            # the borrow does
    a[8:12], b[8:12] = U32, U32
    (_, _, out), _ = both(module, "carry_chains", [a, b, np.zeros(16 * n, np.uint32)], block=(n, 1, 1))
    out = out.reshape(n, 16)

    def word(x: np.ndarray, i: int, k: int) -> int:
        return sum(int(x[4 * i + j]) << (32 * j) for j in range(k))
    for i in range(n):
        x, y = word(a, i, 4), word(b, i, 4)
        s, d = x + y, (x - y) % 2**128
        p = word(a, i, 2) * word(b, i, 2)
        o = [int(v) for v in out[i]]
        assert o[:5] == [(s >> (32 * j)) & U32 for j in range(5)]
        assert o[5:9] == [(d >> (32 * j)) & U32 for j in range(4)] and o[9] == (U32 if x < y else 0)
        assert o[10:14] == [(p >> (32 * j)) & U32 for j in range(4)]
        w = word(a, i, 2) + word(b, i, 2)
        assert o[14:16] == [w & U32, w >> 64]


def test_dp4a_dp2a(module: Module) -> None:
    rng = np.random.default_rng(4)
    n = 64
    a, b, c = (rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32) for _ in range(3))
    a[0], b[0] = 0x80FF7F01, 0xFF80017F
    (_, _, _, out), _ = both(module, "dots", [a, b, c, np.zeros(6 * n, np.uint32)], block=(n, 1, 1))
    out = out.reshape(n, 6)

    def parts(x: int, size: int, signed: bool) -> list[int]:
        vals = [(x >> (size * i)) & ((1 << size) - 1) for i in range(32 // size)]
        return [v - (1 << size) if signed and v >> (size - 1) else v for v in vals]
    for i in range(n):
        x, y, z = int(a[i]), int(b[i]), int(c[i])
        zs = z - (1 << 32) if z >> 31 else z
        want = [sum(p * q for p, q in zip(parts(x, 8, sa), parts(y, 8, sb))) + (zs if sa or sb else z)
                for sa, sb in ((False, False), (True, False), (True, True))]
        for hi, sa, sb in ((False, False, True), (True, True, False), (True, True, True)):
            yb = parts(y, 8, sb)[2:] if hi else parts(y, 8, sb)[:2]
            want.append(sum(p * q for p, q in zip(parts(x, 16, sa), yb)) + (zs if sa or sb else z))
        assert [int(v) for v in out[i]] == [w & U32 for w in want]


# ------------------------------------------------------------------ directed rounding

def _float_cases(dt: type, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    fi = np.finfo(dt)
    edge = np.array([0.0, -0.0, 1.0, -1.0, fi.max, -fi.max, fi.tiny, fi.smallest_subnormal,
                     -fi.smallest_subnormal, np.inf, -np.inf, np.nan, 3.0, 1.0 / 3.0], dt)
    a = np.concatenate([edge, np.repeat(edge[:9], 2)])
    b = np.concatenate([edge[::-1], -np.repeat(edge[:9], 2)])      # x + (-x): exact zeros
    m = n - len(a)
    ints = dt(0).view(np.uint32 if dt == np.float32 else np.uint64).dtype
    rand = lambda: rng.integers(0, np.iinfo(ints).max, m, dtype=ints, endpoint=True).view(dt)  # noqa: E731
    mixed = lambda: np.where(rng.random(m) < 0.5, rand(), rng.uniform(-8, 8, m).astype(dt))  # noqa: E731
    return (np.concatenate([a, mixed()]), np.concatenate([b, mixed()]),
            np.concatenate([b[::-1], mixed()]))


def test_directed_rounding_f32(module: Module) -> None:
    n = 1024
    a, b, c = _float_cases(np.float32, n, 5)
    a[-1], b[-1] = 1.0, 2.0**-30
    with np.errstate(all="ignore"):
        (_, _, _, out), _ = both(module, "directed_f32", [a, b, c, np.zeros(16 * n, np.float32)],
                                 grid=(n // 64, 1, 1), block=(64, 1, 1))
    o = out.reshape(n, 16)
    # 1 and 2**-30: the sums round back to 1 toward zero, down, and (1 - 2**-30) up
    assert list(o[-1, :4]) == [1.0, 1.0, 1.0, 2.0**-30] and o[-1, 5] == 2.0**30
    fmax = np.finfo(np.float32).max
    assert a[22] == fmax and b[22] == -fmax
    assert (o[22, 3], o[22, 4]) == (-fmax, -np.inf)   # overflow: toward zero, and down
    zero_sums = [i for i in range(14, 32) if a[i] == -b[i] and a[i] == a[i] and abs(a[i]) < np.inf]
    assert zero_sums and all(np.signbit(o[i, 1]) for i in zero_sums)    # .rm: -0
    assert all(not np.signbit(o[i, 0]) for i in zero_sums)              # .rz: +0
    assert (o[2, 12], o[4, 12], o[5, 12], o[7, 12]) == (2.0, np.inf, 0.0, 1.0)     # ex2


def test_directed_rounding_f64(module: Module) -> None:
    n = 1024
    a, b, c = _float_cases(np.float64, n, 6)
    with np.errstate(all="ignore"):
        (_, _, _, out), _ = both(module, "directed_f64", [a, b, c, np.zeros(10 * n, np.float64)],
                                 grid=(n // 64, 1, 1), block=(64, 1, 1))
    o = out.reshape(n, 10)
    for i in range(14, n):
        x, y = a[i], b[i]
        if not (np.isfinite(x) and np.isfinite(y) and y != 0 and x != 0):
            continue
        q = Fraction(float(x)) / Fraction(float(y))
        r = Fraction(float(o[i, 5])) if np.isfinite(o[i, 5]) else None
        if r is not None and abs(q) < Fraction(2) ** 1000:
            # div.rm: at or below the quotient, within one ulp
            assert r <= q and q - r < abs(Fraction(float(np.spacing(o[i, 5]))))


def _round_int(v: int, bits: int, mode: str) -> float:
    mag = abs(v)
    shift = max(0, mag.bit_length() - bits)
    q, r = divmod(mag, 1 << shift)
    if r and ((mode == "rp" and v > 0) or (mode == "rm" and v < 0)):
        q += 1
    return float(-q if v < 0 else q) * 2.0 ** shift


def test_directed_conversions(module: Module) -> None:
    s = np.array([2**24 + 1, -(2**24 + 1), 2**53 + 1, -(2**53 + 3), 2**63 - 1, -2**63, 2**62 + 2**38 + 1,
                  -1, 0, 12345, 2**31 - 1, -2**31] + list(range(-10, 10)), np.int64)
    n = len(s)
    d = np.array([1 + 2**-24, 1 - 2**-25, -(1 + 2**-24), 3.4028235677973366e38, 1e-46, -1e-46,
                  np.nan, 0.1] + [0.1 * i for i in range(n - 8)], np.float64)
    (_, _, f, g), _ = both(module, "directed_cvt", [d, s, np.zeros(9 * n, np.float32),
                                                   np.zeros(2 * n, np.float64)], block=(n, 1, 1))
    f, g = f.reshape(n, 9), g.reshape(n, 2)
    for i, v in enumerate(s.tolist()):
        assert f[i, 3] == np.float32(_round_int(v, 24, "rz"))
        assert f[i, 4] == np.float32(_round_int(v, 24, "rm"))
        assert f[i, 5] == np.float32(_round_int(v % 2**64, 24, "rp"))
        assert g[i, 0] == _round_int(v, 53, "rm")
        assert g[i, 1] == _round_int(v % 2**64, 53, "rp")
    assert (f[0, 0], f[0, 2]) == (1.0, np.nextafter(np.float32(1), np.float32(2)))
    assert f[3, 0] == np.finfo(np.float32).max and f[3, 2] == np.inf
    assert f[4, 2] == np.float32(2.0**-149) and f[4, 0] == 0.0 and np.signbit(f[5, 1]) \
        and f[5, 1] == -np.float32(2.0**-149)


# ------------------------------------------------------------------ clocks, parameters

def test_clock_registers(module: Module) -> None:
    before = time.time_ns()
    (out,), _ = _launch(jit.execute, module, "clocks", [np.zeros(3 * 64, np.int64)],
                        grid=(2, 1, 1))
    after = time.time_ns()
    out = out.reshape(64, 3)
    assert (out[:, 0] >= 0).all() and (out[:, 2] == 1).all()
    assert ((out[:, 1] >= before) & (out[:, 1] <= after)).all()


def test_parameters_through_a_register(module: Module) -> None:
    table = np.arange(16, dtype=np.int32) * 1000 + 7
    idx = np.arange(32, dtype=np.int32) % 16
    (_, out), fault = both(module, "param_through_register",
                           [table.tobytes(), idx, np.zeros(64, np.int32)])
    assert fault is None and np.array_equal(out[:32], table[idx]) and (out[32:] == 1).all()
    idx[9], idx[20] = 100, 3000
    _, fault = both(module, "param_through_register", [table.tobytes(), idx, np.zeros(64, np.int32)])
    assert fault[1] == (9, 0, 0) and fault[3] == PARAM_WINDOW + 400
    assert fault[4] == "parameter access out of bounds or misaligned"


def test_mul24_prmt_modes_saturation_and_ftz(module: Module) -> None:
    rng = np.random.default_rng(12)
    n = 256
    a, b, c = (rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32) for _ in range(3))
    a[:4] = [0x00FFFFFF, 0x00800000, 0x00000001, 0x80000001]     # 24-bit edges, subnormal bits
    b[:4] = [0x00000002, 0x00800000, 0x807FFFFF, 0x00000003]
    c[:4] = [0, 1, 2, 3]
    (_, _, _, out), _ = both(module, "misc_forms", [a, b, c, np.zeros(20 * n, np.uint32)],
                             grid=(4, 1, 1), block=(64, 1, 1))
    o = out.reshape(n, 20)
    assert o[0, 0] == 0x01FFFFFE                 # 0xffffff * 2, unsigned
    assert o[0, 1] == 0xFFFFFFFF                 # -1 * 2 = -2: bits 47..16 of the product
    assert o[1, 3] == 0x40000000 + 1             # 2**23 * 2**23 = 2**46: bits 47..16, plus c
    # saturated to s8 (the 16-bit register holds it sign-extended) and to u16
    assert list(o[:4, 10]) == [127, 127, 1, 0xFF80] and o[2, 11] == 0 and o[3, 12] == 3
    # ftz: both subnormal operands compare as zeros, and a subnormal equals zero
    assert (o[2, 14], o[2, 15], o[3, 15]) == (0, 1, 1)


def test_carry_flag_survives_a_barrier(module: Module) -> None:
    n = 128
    a = np.random.default_rng(2).integers(0, 2**32, n + 1, dtype=np.uint64).astype(np.uint32)
    (_, out), _ = both(module, "carry_across_barrier", [a, np.zeros(2 * n, np.uint32)],
                       grid=(2, 1, 1), block=(64, 1, 1))
    s = a[:n].astype(np.uint64) + a[1:].astype(np.uint64)
    assert np.array_equal(out[0::2], (s & U32).astype(np.uint32))
    assert np.array_equal(out[1::2], (s >> np.uint64(32)).astype(np.uint32))


@pytest.mark.parametrize("lo,hi", [(-0.0, 0.0), (-3.5, 7.25)])
def test_float_min_max_atomics_on_global_memory(module: Module, monkeypatch, lo: float, hi: float) -> None:
    from gdev_shim.jit import launch
    monkeypatch.setattr(launch, "WORKERS", 8)
    n = 16 * 64
    x = np.random.default_rng(8).uniform(lo, hi, n).astype(np.float32)
    x[::7] = np.nan
    x[5], x[900] = lo, hi                       # the extremes, zeros of both signs included
    f = np.array([np.nan, np.nan], np.float32)   # a NaN in memory yields to the first operand
    d = np.array([np.nan, np.nan], np.float64)
    (_, f, d), fault = _launch(jit.execute, module, "atomic_float_extremes", [x, f, d],
                               grid=(16, 1, 1), block=(64, 1, 1))
    assert fault is None
    assert f.tobytes() == np.array([hi, lo], np.float32).tobytes()
    assert d.tobytes() == np.array([hi, lo], np.float64).tobytes()
    (_, f2, d2), _ = _launch(interp_execute, module, "atomic_float_extremes",
                             [x, np.array([np.nan, np.nan], np.float32),
                              np.array([np.nan, np.nan], np.float64)],
                             grid=(16, 1, 1), block=(64, 1, 1))
    assert (f2.tobytes(), d2.tobytes()) == (f.tobytes(), d.tobytes())
