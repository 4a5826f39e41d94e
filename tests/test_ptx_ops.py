"""Single PTX instructions on the interpreter: hand-computed values and properties vs numpy.

Each case is a one-instruction kernel: thread i loads its operands from arrays, runs
the instruction, and stores the destination.
"""
from __future__ import annotations

import math
import struct
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from gdev_shim.ptx import DEVICE_BASE, KernelFault, PtxError, execute, parse_module
from helpers import FakeMemory

HEADER = ".version 8.0\n.target sm_80\n.address_size 64\n"
LD = {"pred": "u8", "f16": "b16", "bf16": "b16", "f16x2": "b32", "bf16x2": "b32"}
REG = {"f16": "b16", "bf16": "b16", "f16x2": "b32", "bf16x2": "b32"}
NP = {"u8": np.uint8, "s8": np.int8, "u16": np.uint16, "s16": np.int16, "b16": np.uint16,
      "u32": np.uint32, "s32": np.int32, "b32": np.uint32, "f32": np.float32,
      "u64": np.uint64, "s64": np.int64, "b64": np.uint64, "f64": np.float64,
      "f16": np.uint16, "bf16": np.uint16, "f16x2": np.uint32, "bf16x2": np.uint32,
      "pred": np.uint8}
_cache: dict[str, object] = {}


def op(instr: str, dst: str, srcs: list[str], *inputs, extra: str = "") -> np.ndarray:
    """Run `instr` ({d} {a} {b} {c} {e} are the operands) once per element of the inputs."""
    n = len(inputs[0])
    names = "abce"
    regs = [f".reg .{REG.get(dst, dst)} %d;"] + [f".reg .{REG.get(t, t)} %{names[i]};"
                                                 for i, t in enumerate(srcs)]
    loads = []
    for i, t in enumerate(srcs):
        if t == "pred":
            loads.append(f"ld.global.u8 %w, [%p{i}]; setp.ne.u32 %{names[i]}, %w, 0;")
        else:
            loads.append(f"ld.global.{LD.get(t, t)} %{names[i]}, [%p{i}];")
    if dst == "pred":
        store = "selp.u32 %w, 1, 0, %d; st.global.u8 [%po], %w;"
    else:
        store = f"st.global.{LD.get(dst, dst)} [%po], %d;"
    body = instr.format(d="%d", a="%a", b="%b", c="%c", e="%e")
    size_d = np.dtype(NP[dst]).itemsize
    addr = []
    for i, t in enumerate(srcs):
        addr.append(f"ld.param.u64 %p{i}, [in{i}]; mad.wide.u32 %p{i}, %t, "
                    f"{np.dtype(NP[t]).itemsize}, %p{i};")
    text = HEADER + f"""
.entry k(.param .u64 out, .param .u64 in0, .param .u64 in1, .param .u64 in2, .param .u64 in3)
{{
    .reg .u32 %t, %w;
    .reg .u64 %po, %p0, %p1, %p2, %p3;
    {' '.join(regs)}
    {extra}
    mov.u32 %t, %tid.x;
    ld.param.u64 %po, [out]; mad.wide.u32 %po, %t, {size_d}, %po;
    {' '.join(addr)}
    {' '.join(loads)}
    {body}
    {store}
    ret;
}}
"""
    mod = _cache.get(text)
    if mod is None:
        mod = _cache[text] = parse_module(text)
    mem = FakeMemory(1 << 20)
    ptrs = []
    for arr, t in zip(inputs, srcs):
        ptrs.append(mem.put(_typed(arr, t)))
    ptrs += [0] * (4 - len(ptrs))
    po = mem.alloc(size_d * n)
    execute(mod, "k", mem, (1, 1, 1), (n, 1, 1), struct.pack("<5Q", po, *ptrs), 0, DEVICE_BASE)
    return mem.get(po, NP[dst], n)


def _typed(arr, t: str) -> np.ndarray:
    """Values as the operand type; integers wrap to its width (so 2**64-1 is a u64)."""
    dt = np.dtype(NP[t])
    if dt.kind in "iu":
        unsigned = np.dtype(f"u{dt.itemsize}")
        return np.array([int(v) & ((1 << (8 * dt.itemsize)) - 1) for v in arr], unsigned).view(dt)
    return np.asarray(arr).astype(dt)


NAN, INF = float("nan"), float("inf")


# -- integer ------------------------------------------------------------------------------------

def test_shifts_by_width_or_more():
    a = [0x80000001, 0x80000001, 0x80000001, 0xF0000000, 0xF0000000]
    n = [1, 31, 32, 40, 0xFFFFFFFF]
    assert op("shl.b32 {d}, {a}, {b};", "u32", ["u32", "u32"], a, n).tolist() == \
        [2, 0x80000000, 0, 0, 0]
    assert op("shr.u32 {d}, {a}, {b};", "u32", ["u32", "u32"], a, n).tolist() == \
        [0x40000000, 1, 0, 0, 0]
    # arithmetic shift: by >= width gives all sign bits
    assert op("shr.s32 {d}, {a}, {b};", "u32", ["u32", "u32"], a, n).tolist() == \
        [0xC0000000, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF]
    assert op("shl.b64 {d}, {a}, {b};", "u64", ["u64", "u32"], [1, 1, 3], [63, 64, 100]).tolist() == \
        [1 << 63, 0, 0]


def test_integer_division_by_zero_and_overflow():
    a = [7, -7, -2**31, 5, -5]
    b = [0, 0, -1, 3, 3]
    assert op("div.s32 {d}, {a}, {b};", "s32", ["s32", "s32"], a, b).tolist() == [-1, -1, -2**31, 1, -1]
    assert op("rem.s32 {d}, {a}, {b};", "s32", ["s32", "s32"], a, b).tolist() == [7, -7, 0, 2, -2]
    assert op("div.u32 {d}, {a}, {b};", "u32", ["u32", "u32"], [7, 0, 9], [0, 0, 2]).tolist() == \
        [0xFFFFFFFF, 0xFFFFFFFF, 4]
    assert op("div.s64 {d}, {a}, {b};", "s64", ["s64", "s64"], [-2**63, 9, -9], [-1, 0, 2]).tolist() == \
        [-2**63, -1, -4]
    assert op("rem.s64 {d}, {a}, {b};", "s64", ["s64", "s64"], [-2**63, 9, -9], [-1, 0, 2]).tolist() == \
        [0, 9, -1]


def test_integer_overflow_wraps_and_saturates():
    assert op("add.s32 {d}, {a}, {b};", "s32", ["s32", "s32"], [2**31 - 1], [1]).tolist() == [-2**31]
    assert op("add.sat.s32 {d}, {a}, {b};", "s32", ["s32", "s32"], [2**31 - 1, -2**31], [1, -1]).tolist() \
        == [2**31 - 1, -2**31]
    assert op("mul.hi.s32 {d}, {a}, {b};", "s32", ["s32", "s32"], [-2**31, 0x7FFFFFFF], [-2**31, 2]).tolist() \
        == [2**30, 0]
    assert op("mul.wide.s32 {d}, {a}, {b};", "s64", ["s32", "s32"], [-2**31], [-2**31]).tolist() == [2**62]
    assert op("mul.hi.u64 {d}, {a}, {b};", "u64", ["u64", "u64"], [2**64 - 1], [2**64 - 1]).tolist() == \
        [2**64 - 2]
    assert op("abs.s32 {d}, {a};", "s32", ["s32"], [-2**31, -5]).tolist() == [-2**31, 5]
    assert op("neg.s32 {d}, {a};", "s32", ["s32"], [-2**31, 5]).tolist() == [-2**31, -5]


def test_carry_chain_instructions():
    body = "add.cc.u32 %x, {a}, {b}; addc.u32 {d}, 0, 0;"
    extra = ".reg .u32 %x;"
    assert op(body, "u32", ["u32", "u32"], [0xFFFFFFFF, 5, 0], [1, 6, 0], extra=extra).tolist() == [1, 0, 0]
    body = "sub.cc.u32 %x, {a}, {b}; subc.u32 {d}, 10, 0;"
    assert op(body, "u32", ["u32", "u32"], [0, 5], [1, 5], extra=extra).tolist() == [9, 10]
    body = "mad.lo.cc.u32 %x, {a}, {b}, {c}; madc.hi.u32 {d}, {a}, {b}, 0;"
    # 0x10001**2 = 0x1_0002_0001: the low word plus 0xFFFFFFFF carries into the high word
    assert op(body, "u32", ["u32", "u32", "u32"], [0x10001, 0x10000, 3], [0x10001, 0x10000, 3],
              [0xFFFFFFFF, 0xFFFFFFFF, 1], extra=extra).tolist() == [1 + 1, 1, 0]
    body = "add.cc.u64 %y, {a}, {b}; addc.cc.u32 %x, 0, 0; addc.u32 {d}, %x, 7;"
    extra = ".reg .u32 %x; .reg .u64 %y;"
    assert op(body, "u32", ["u64", "u64"], [2**64 - 1, 1], [1, 1], extra=extra).tolist() == [8, 7]


def test_bit_field_extract_and_insert():
    assert op("bfe.u32 {d}, {a}, {b}, {c};", "u32", ["u32", "u32", "u32"],
              [0xABCD1234] * 4, [4, 28, 40, 8], [8, 8, 4, 0]).tolist() == [0x23, 0xA, 0, 0]
    assert op("bfe.s32 {d}, {a}, {b}, {c};", "s32", ["s32", "u32", "u32"],
              [0x0000F000, 0x0000F000, -1], [12, 12, 40], [4, 5, 3]).tolist() == [-1, 15, -1]
    assert op("bfi.b32 {d}, {a}, {b}, {c}, {e};", "u32", ["u32", "u32", "u32", "u32"],
              [0xF, 0xFF, 1], [0, 0xFFFFFFFF, 0], [4, 28, 40], [4, 8, 1]).tolist() == \
        [0xF0, 0xFFFFFFFF, 0]


def test_prmt_modes():
    a, b = 0x33221100, 0x77665544
    cases = {"": (0x7531, 0x00000000 | 0x77553311), "f4e": (1, 0x44332211), "b4e": (1, 0x66770011),
             "rc8": (2, 0x22222222), "ecl": (1, 0x33221111), "ecr": (2, 0x22221100),
             "rc16": (1, 0x33223322)}
    for mode, (sel, want) in cases.items():
        m = f".{mode}" if mode else ""
        got = op(f"prmt.b32{m} {{d}}, {{a}}, {{b}}, {{c}};", "u32", ["u32", "u32", "u32"], [a], [b], [sel])
        assert got.tolist() == [want], mode
    # sign replication (selector bit 3)
    assert op("prmt.b32 {d}, {a}, {b}, {c};", "u32", ["u32"] * 3, [0x80], [0], [0x8888]).tolist() == \
        [0xFFFFFFFF]


def test_lop3_dp4a_sad_popc_clz_brev_bfind():
    a, b, c = 0xF0F0F0F0, 0xCCCCCCCC, 0xAAAAAAAA
    assert op("lop3.b32 {d}, {a}, {b}, {c}, 0x96;", "u32", ["u32"] * 3, [a], [b], [c]).tolist() == [a ^ b ^ c]
    assert op("lop3.b32 {d}, {a}, {b}, {c}, 0xE8;", "u32", ["u32"] * 3, [a], [b], [c]).tolist() == \
        [(a & b) | (a & c) | (b & c)]
    assert op("dp4a.s32.s32 {d}, {a}, {b}, {c};", "s32", ["u32", "u32", "s32"],
              [0xFF01FF02], [0x7F800203], [10]).tolist() == [10 + 2 * 3 - 1 * 2 + 1 * -128 - 127]
    assert op("dp2a.hi.u32.u32 {d}, {a}, {b}, {c};", "u32", ["u32", "u32", "u32"],
              [0x00030002], [0x05040000], [1]).tolist() == [1 + 2 * 4 + 3 * 5]
    assert op("sad.u32 {d}, {a}, {b}, {c};", "u32", ["u32"] * 3, [3, 10], [10, 3], [1, 1]).tolist() == [8, 8]
    assert op("sad.s32 {d}, {a}, {b}, {c};", "s32", ["s32"] * 3, [-3], [4], [0]).tolist() == [7]
    assert op("popc.b64 {d}, {a};", "u32", ["u64"], [2**64 - 1, 0]).tolist() == [64, 0]
    assert op("clz.b32 {d}, {a};", "u32", ["u32"], [0, 1, 0x80000000]).tolist() == [32, 31, 0]
    assert op("brev.b32 {d}, {a};", "u32", ["u32"], [1, 0x80000000, 0x12345678]).tolist() == \
        [0x80000000, 1, 0x1E6A2C48]
    assert op("bfind.u32 {d}, {a};", "u32", ["u32"], [0, 1, 0x80000000]).tolist() == [0xFFFFFFFF, 0, 31]
    assert op("bfind.s32 {d}, {a};", "u32", ["s32"], [-1, -2, 5]).tolist() == [0xFFFFFFFF, 0, 2]


# -- float -----------------------------------------------------------------------------------------

def test_float_specials_nan_inf_zero():
    a = [NAN, 1.0, INF, INF, 0.0, -0.0, 1.0]
    b = [1.0, NAN, -INF, INF, -0.0, 0.0, 0.0]
    add = op("add.f32 {d}, {a}, {b};", "f32", ["f32", "f32"], a, b)
    assert np.isnan(add[:3]).all() and add[3] == INF and add[4] == 0 and not np.signbit(add[4])
    mn = op("min.f32 {d}, {a}, {b};", "f32", ["f32", "f32"], a, b)
    assert mn.tolist()[:4] == [1.0, 1.0, -INF, INF] and np.signbit(mn[4]) and np.signbit(mn[5])
    assert np.isnan(op("min.NaN.f32 {d}, {a}, {b};", "f32", ["f32", "f32"], [NAN], [1.0])[0])
    mx = op("max.f32 {d}, {a}, {b};", "f32", ["f32", "f32"], a, b)
    assert not np.signbit(mx[4]) and not np.signbit(mx[5])
    div = op("div.rn.f32 {d}, {a}, {b};", "f32", ["f32", "f32"], [1.0, -1.0, 0.0], [0.0, 0.0, 0.0])
    assert div[0] == INF and div[1] == -INF and np.isnan(div[2])
    assert op("sqrt.rn.f32 {d}, {a};", "f32", ["f32"], [-1.0, -0.0, INF]).tolist()[1:] == [-0.0, INF]
    assert np.isnan(op("sqrt.rn.f32 {d}, {a};", "f32", ["f32"], [-1.0])[0])
    ovf = op("mul.rn.f32 {d}, {a}, {b};", "f32", ["f32", "f32"], [3e38, 3e38], [10.0, -10.0])
    assert ovf.tolist() == [INF, -INF]
    rz = op("mul.rz.f32 {d}, {a}, {b};", "f32", ["f32", "f32"], [3e38], [10.0])
    assert rz[0] == np.finfo(np.float32).max           # toward zero an overflow stays finite


def test_float_to_int_conversions_saturate():
    x = [NAN, INF, -INF, 3e9, -3e9, 2.5, -2.5, 0.5]
    assert op("cvt.rzi.s32.f32 {d}, {a};", "s32", ["f32"], x).tolist() == \
        [0, 2**31 - 1, -2**31, 2**31 - 1, -2**31, 2, -2, 0]
    assert op("cvt.rni.s32.f32 {d}, {a};", "s32", ["f32"], x).tolist()[5:] == [2, -2, 0]
    assert op("cvt.rzi.u32.f32 {d}, {a};", "u32", ["f32"], [-5.0, 5e9]).tolist() == [0, 2**32 - 1]
    assert op("cvt.sat.f32.f32 {d}, {a};", "f32", ["f32"], [NAN, -1.0, 0.5, 7.0]).tolist() == \
        [0.0, 0.0, 0.5, 1.0]


def test_ftz_flushes_subnormals():
    sub = float(np.float32(1e-40))
    r = op("add.ftz.f32 {d}, {a}, {b};", "f32", ["f32", "f32"], [sub, 1.0], [0.0, sub])
    assert r.tolist() == [0.0, 1.0]
    assert op("add.f32 {d}, {a}, {b};", "f32", ["f32", "f32"], [sub], [0.0])[0] == np.float32(sub)


def test_testp_and_copysign():
    x = [NAN, INF, 1.0, float(np.float32(1e-40)), 0.0]
    for kind, want in {"finite": [0, 0, 1, 1, 1], "infinite": [0, 1, 0, 0, 0],
                       "number": [0, 1, 1, 1, 1], "notanumber": [1, 0, 0, 0, 0],
                       "normal": [0, 0, 1, 0, 0], "subnormal": [0, 0, 0, 1, 0]}.items():
        assert op(f"testp.{kind}.f32 {{d}}, {{a}};", "pred", ["f32"], x).tolist() == want, kind
    assert op("copysign.f32 {d}, {a}, {b};", "f32", ["f32", "f32"], [-1.0, 1.0], [2.0, -3.0]).tolist() == \
        [-2.0, 3.0]


def test_fma_f64_is_correctly_rounded():
    # a*b = 1 + 2**-29 + 2**-60 + ..., the naive product+sum loses the last bits.
    a = 1 + 2.0 ** -30
    b = 1 + 2.0 ** -30 + 2.0 ** -52
    c = -1.0
    exact = Fraction(a) * Fraction(b) + Fraction(c)
    got = op("fma.rn.f64 {d}, {a}, {b}, {c};", "f64", ["f64"] * 3, [a], [b], [c])[0]
    assert got == float(exact) and got != a * b + c
    # overflowing product brought back by c; infinite c with a finite product
    got = op("fma.rn.f64 {d}, {a}, {b}, {c};", "f64", ["f64"] * 3, [1e308, 1e300], [3.0, 1.0],
             [-1.5e308, -INF])
    assert got[0] == float(Fraction(1e308) * 3 - Fraction(1.5e308)) and got[1] == -INF


def test_f64_directed_rounding():
    one_third = Fraction(1, 3)
    lo = op("div.rm.f64 {d}, {a}, {b};", "f64", ["f64", "f64"], [1.0], [3.0])[0]
    hi = op("div.rp.f64 {d}, {a}, {b};", "f64", ["f64", "f64"], [1.0], [3.0])[0]
    assert Fraction(lo) < one_third < Fraction(hi) and np.nextafter(lo, 1.0) == hi
    assert op("add.rz.f64 {d}, {a}, {b};", "f64", ["f64", "f64"], [1.0], [-2.0 ** -80])[0] == \
        np.nextafter(1.0, 0.0)
    assert op("add.rn.f64 {d}, {a}, {b};", "f64", ["f64", "f64"], [1.0], [-2.0 ** -80])[0] == 1.0
    s = op("sqrt.rp.f64 {d}, {a};", "f64", ["f64"], [2.0])[0]
    assert Fraction(s) ** 2 > 2 and Fraction(float(np.nextafter(s, 0))) ** 2 < 2
    assert op("add.rm.f64 {d}, {a}, {b};", "f64", ["f64", "f64"], [1.0], [-1.0]).tolist() == [-0.0]
    assert np.signbit(op("add.rm.f64 {d}, {a}, {b};", "f64", ["f64", "f64"], [1.0], [-1.0])[0])


def test_f32_directed_add_with_far_apart_operands():
    # 1 - 2**-100 rounds toward zero to the float just below 1 (a double sum would hide it)
    got = op("add.rz.f32 {d}, {a}, {b};", "f32", ["f32", "f32"], [1.0], [-2.0 ** -100])[0]
    assert got == np.nextafter(np.float32(1), np.float32(0))
    got = op("add.rp.f32 {d}, {a}, {b};", "f32", ["f32", "f32"], [1.0], [2.0 ** -100])[0]
    assert got == np.nextafter(np.float32(1), np.float32(2))


def test_half_precision_ops():
    h = lambda v: np.array(v, np.float16).view(np.uint16)  # noqa: E731
    r = op("add.f16 {d}, {a}, {b};", "f16", ["f16", "f16"], h([65504.0, 1.0, np.nan]), h([32.0, 2.0 ** -11, 1.0]))
    got = r.view(np.float16)
    assert got[0] == np.inf and got[1] == 1.0 and np.isnan(got[2])      # overflow; tie to even
    r = op("fma.rn.f16x2 {d}, {a}, {b}, {c};", "f16x2", ["f16x2"] * 3,
           [int(h(2.0)) | int(h(3.0)) << 16], [int(h(0.5)) | int(h(-1.0)) << 16],
           [int(h(1.0)) | int(h(0.25)) << 16])
    assert np.array([r[0] & 0xFFFF, r[0] >> 16], np.uint16).view(np.float16).tolist() == [2.0, -2.75]
    bf = lambda v: (np.array(v, np.float32).view(np.uint32) >> 16).astype(np.uint16)  # noqa: E731
    r = op("mul.rn.bf16 {d}, {a}, {b};", "bf16", ["bf16", "bf16"], bf([1.5, 3.0]), bf([1.5, 1.0 / 3]))
    assert r.tolist() == [int(bf(2.25)[()]), 0x3F7F]               # 3 * 0x3EAA = 255/256 exactly
    r = op("mul.rn.bf16 {d}, {a}, {b};", "bf16", ["bf16", "bf16"], [0x3F81], [0x3F81])
    assert r.tolist() == [0x3F82]                                   # (1+2**-7)**2 rounds up
    p = op("setp.gt.f16 {d}, {a}, {b};", "pred", ["f16", "f16"], h([1.0, np.nan]), h([0.5, 0.5]))
    assert p.tolist() == [1, 0]
    c = op("cvt.rn.bf16.f32 {d}, {a};", "bf16", ["f32"], [1.0 + 2.0 ** -8, 1.0 + 3 * 2.0 ** -8])
    assert c.tolist() == [0x3F80, 0x3F82]                             # ties to even


# -- control, warps --------------------------------------------------------------------------------

def test_brx_idx_and_bad_index_faults():
    body = """
    ts: .branchtargets L0, L1, L2;
    brx.idx {a}, ts;
L0: mov.u32 {d}, 100; bra.uni Ldone;
L1: mov.u32 {d}, 200; bra.uni Ldone;
L2: mov.u32 {d}, 300;
Ldone:
"""
    assert op(body, "u32", ["u32"], [2, 0, 1, 1]).tolist() == [300, 100, 200, 200]
    with pytest.raises(KernelFault, match="brx.idx"):
        op(body, "u32", ["u32"], [0, 3])


def test_match_sync_and_redux():
    v = np.arange(32) % 3
    got = op("match.any.sync.b32 {d}, {a}, 0xffffffff;", "u32", ["u32"], v)
    masks = [sum(1 << k for k in range(32) if v[k] == v[i]) for i in range(32)]
    assert got.tolist() == masks
    body = "match.all.sync.b32 {d}|%q, {a}, 0xffffffff;"
    assert op(body, "u32", ["u32"], [5] * 32, extra=".reg .pred %q;").tolist() == [0xFFFFFFFF] * 32
    assert op(body, "u32", ["u32"], [5] * 31 + [6], extra=".reg .pred %q;").tolist() == [0] * 32
    assert op("redux.sync.max.s32 {d}, {a}, 0xffffffff;", "s32", ["s32"], list(range(-40, -8))).tolist() == \
        [-9] * 32


def test_unsupported_forms_raise_ptx_error():
    with pytest.raises(PtxError, match="mul.wide"):
        op("mul.wide.u64 {d}, {a}, {b};", "u64", ["u64", "u64"], [1], [1])
    with pytest.raises(PtxError):
        op("tex.2d.v4.f32.f32 {d}, [{a}, {b}];", "f32", ["u64", "u64"], [1], [1])


# -- properties against numpy --------------------------------------------------------------------

u32s = st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=64)
i64s = st.integers(-2**63, 2**63 - 1)
f32s = st.floats(width=32, allow_nan=True, allow_infinity=True)
f64s = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e30, max_value=1e30)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)), min_size=1, max_size=64))
def test_property_u32_arithmetic(pairs):
    a = np.array([p[0] for p in pairs], np.uint32)
    b = np.array([p[1] for p in pairs], np.uint32)
    with np.errstate(all="ignore"):
        assert (op("add.u32 {d}, {a}, {b};", "u32", ["u32", "u32"], a, b) == a + b).all()
        assert (op("mul.lo.u32 {d}, {a}, {b};", "u32", ["u32", "u32"], a, b) == a * b).all()
        hi = ((a.astype(np.uint64) * b.astype(np.uint64)) >> np.uint64(32)).astype(np.uint32)
        assert (op("mul.hi.u32 {d}, {a}, {b};", "u32", ["u32", "u32"], a, b) == hi).all()
        q = np.where(b == 0, np.uint32(0xFFFFFFFF), a // np.maximum(b, 1))
        assert (op("div.u32 {d}, {a}, {b};", "u32", ["u32", "u32"], a, b) == q).all()
        sh = np.where(b % 64 >= 32, 0, a << (b % 64 % 32)).astype(np.uint32)
        assert (op("shl.b32 {d}, {a}, {b};", "u32", ["u32", "u32"], a, b % 64) == sh).all()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(i64s, i64s), min_size=1, max_size=32))
def test_property_s64_division(pairs):
    a = [p[0] for p in pairs]
    b = [p[1] if p[1] != 0 else 1 for p in pairs]
    q = op("div.s64 {d}, {a}, {b};", "s64", ["s64", "s64"], a, b).tolist()
    r = op("rem.s64 {d}, {a}, {b};", "s64", ["s64", "s64"], a, b).tolist()
    for x, y, qq, rr in zip(a, b, q, r):
        if x == -2**63 and y == -1:
            assert (qq, rr) == (-2**63, 0)
            continue
        want = abs(x) // abs(y) * (1 if (x < 0) == (y < 0) else -1)
        assert qq == want and rr == x - want * y


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(f32s, f32s, f32s), min_size=1, max_size=32))
def test_property_f32_ops_match_numpy(triples):
    a = np.array([t[0] for t in triples], np.float32)
    b = np.array([t[1] for t in triples], np.float32)
    c = np.array([t[2] for t in triples], np.float32)
    with np.errstate(all="ignore"):
        for name, want in (("add", a + b), ("mul", a * b), ("sub", a - b), ("div.rn", a / b)):
            got = op(f"{name}.f32 {{d}}, {{a}}, {{b}};", "f32", ["f32", "f32"], a, b)
            np.testing.assert_array_equal(got, want, err_msg=name)
        got = op("fma.rn.f32 {d}, {a}, {b}, {c};", "f32", ["f32"] * 3, a, b, c)
        for x, y, z, g in zip(a.tolist(), b.tolist(), c.tolist(), got.tolist()):
            if all(math.isfinite(v) for v in (x, y, z)):
                exact = Fraction(x) * Fraction(y) + Fraction(z)
                try:
                    want = float(np.float32(float(exact))) if abs(exact) < 2**128 else math.copysign(INF, exact)
                except OverflowError:
                    want = math.copysign(INF, exact)
                # one rounding from the exact value (via a double only when that is exact)
                if Fraction(float(exact)) == exact:
                    assert g == want or (g == 0 and want == 0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(f64s, f64s, f64s), min_size=1, max_size=32))
def test_property_f64_fma_exact(triples):
    a, b, c = ([t[k] for t in triples] for k in range(3))
    got = op("fma.rn.f64 {d}, {a}, {b}, {c};", "f64", ["f64"] * 3, a, b, c).tolist()
    for x, y, z, g in zip(a, b, c, got):
        exact = Fraction(x) * Fraction(y) + Fraction(z)
        if exact == 0:
            assert g == 0
        else:
            assert g == float(exact)


def _kernel(body: str, regs: str = "") -> object:
    return parse_module(HEADER + f"""
.entry k(.param .u64 out)
{{
    .reg .pred %p<4>;
    .reg .u32 %r<8>;
    .reg .u64 %rd<4>;
    .shared .align 4 .b32 sh[64];
    {regs}
    ld.param.u64 %rd1, [out];
    mov.u32 %r1, %tid.x;
    mul.wide.u32 %rd2, %r1, 4;
    add.u64 %rd1, %rd1, %rd2;
    {body}
    ret;
}}
""")


def test_named_barrier_producer_consumer():
    # Warp 0 fills shared memory and arrives at barrier 1; warp 1 waits there, then reads.
    mod = _kernel("""
    setp.ge.u32 %p1, %r1, 32;
    @%p1 bra CONSUME;
    mul.lo.u32 %r2, %r1, 7;
    shl.b32 %r3, %r1, 2;
    mov.u32 %r4, sh;
    add.u32 %r4, %r4, %r3;
    st.shared.u32 [%r4], %r2;
    bar.arrive 1, 64;
    st.global.u32 [%rd1], %r2;
    bra.uni DONE;
CONSUME:
    bar.sync 1, 64;
    sub.u32 %r5, %r1, 32;
    shl.b32 %r3, %r5, 2;
    mov.u32 %r4, sh;
    add.u32 %r4, %r4, %r3;
    ld.shared.u32 %r2, [%r4];
    add.u32 %r2, %r2, 1000;
    st.global.u32 [%rd1], %r2;
DONE:
""")
    mem = FakeMemory(1 << 20)
    po = mem.alloc(4 * 64 * 3)
    execute(mod, "k", mem, (3, 1, 1), (64, 1, 1), struct.pack("<Q", po), 0, DEVICE_BASE)
    t = np.arange(32)
    want = np.concatenate([t * 7, t * 7 + 1000])
    # every block writes its own 64 results over the same words: the last block's remain
    np.testing.assert_array_equal(mem.get(po, np.uint32, 64), want)


def test_barrier_counts_only_live_threads_of_its_block():
    # Threads >= 16 exit; the rest sync (their block's barrier completes without them),
    # then read what a neighbour wrote before the barrier.
    mod = _kernel("""
    setp.ge.u32 %p1, %r1, 16;
    @%p1 exit;
    shl.b32 %r3, %r1, 2;
    mov.u32 %r4, sh;
    add.u32 %r4, %r4, %r3;
    add.u32 %r2, %r1, 100;
    st.shared.u32 [%r4], %r2;
    bar.sync 0;
    xor.b32 %r5, %r1, 1;
    shl.b32 %r3, %r5, 2;
    mov.u32 %r4, sh;
    add.u32 %r4, %r4, %r3;
    ld.shared.u32 %r2, [%r4];
    st.global.u32 [%rd1], %r2;
""")
    mem = FakeMemory(1 << 20)
    po = mem.put(np.zeros(64, np.uint32))
    execute(mod, "k", mem, (2, 1, 1), (64, 1, 1), struct.pack("<Q", po), 0, DEVICE_BASE)
    got = mem.get(po, np.uint32, 64)
    np.testing.assert_array_equal(got[:16], (np.arange(16) ^ 1) + 100)
    assert (got[16:] == 0).all()


def test_barrier_that_can_never_complete_faults():
    mod = _kernel("bar.sync 0, 128;")          # expects more threads than the block has
    mem = FakeMemory(1 << 20)
    with pytest.raises(KernelFault, match="deadlock"):
        execute(mod, "k", mem, (1, 1, 1), (64, 1, 1), struct.pack("<Q", mem.alloc(256)), 0,
                DEVICE_BASE)


def test_address_of_kernel_parameter_generic_and_param_space():
    mod = parse_module(HEADER + """
.entry k(.param .u64 out, .param .align 4 .b8 tab[16])
{
    .reg .u32 %r<4>;
    .reg .u64 %rd<6>;
    ld.param.u64 %rd1, [out];
    mov.u32 %r1, %tid.x;
    mov.b64 %rd2, tab;
    mul.wide.u32 %rd3, %r1, 4;
    add.u64 %rd4, %rd2, %rd3;
    ld.param.u32 %r2, [%rd4];
    cvta.param.u64 %rd5, %rd4;
    ld.u32 %r3, [%rd5];
    add.u32 %r2, %r2, %r3;
    mul.wide.u32 %rd3, %r1, 4;
    add.u64 %rd1, %rd1, %rd3;
    st.global.u32 [%rd1], %r2;
    ret;
}
""")
    mem = FakeMemory(1 << 20)
    po = mem.alloc(16)
    execute(mod, "k", mem, (1, 1, 1), (4, 1, 1), struct.pack("<Q4I", po, 5, 6, 7, 8), 0, DEVICE_BASE)
    assert mem.get(po, np.uint32, 4).tolist() == [10, 12, 14, 16]
    with pytest.raises(KernelFault, match="parameter"):
        execute(mod, "k", mem, (1, 1, 1), (5, 1, 1), struct.pack("<Q4I", po, 5, 6, 7, 8), 0,
                DEVICE_BASE)
