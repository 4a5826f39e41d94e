"""Correctly rounded floating point that numpy lacks: fma, directed rounding, round-to-odd.

Vectorised over lanes with error-free transformations (TwoSum, Dekker's TwoProduct);
lanes where those are not exact (overflow/underflow of the partial terms) fall back
to exact rational arithmetic one by one. The fma follows Boldo and Melquiond:
RN(a*b + c) = RN(uh + RO(ul + pl)) where c + ph = uh + ul and a*b = ph + pl exactly,
RO being rounding to odd.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Any, Callable

import numpy as np

F64 = np.float64
_SPLIT = F64(134217729.0)                 # 2**27 + 1 (Veltkamp)
_SAFE_MAX = F64(2.0 ** 995)               # splitting a*2**27 stays finite
_PROD_MIN = F64(2.0 ** -960)              # the product's error term stays normal
_PROD_MAX = F64(2.0 ** 1020)
_ONE = np.int64(1)


def two_sum(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    """s + e == a + b exactly, s = RN(a + b) (finite inputs, no overflow)."""
    s = a + b
    bb = s - a
    e = (a - (s - bb)) + (b - bb)
    return s, e


def _split(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = _SPLIT * a
    hi = t - (t - a)
    return hi, a - hi


def two_prod(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    """p + e == a * b exactly, p = RN(a * b) (when |a|,|b| < 2**995 and no underflow)."""
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, e


def round_odd(s: np.ndarray, e: np.ndarray) -> np.ndarray:
    """The value s + e (s = RN of it, e the exact error) rounded to odd in double."""
    inexact = (e != 0) & np.isfinite(s)
    # Truncate toward zero: step s back when it rounded away from zero.
    away = inexact & ((s > 0) & (e < 0) | (s < 0) & (e > 0))
    t = np.where(away, np.nextafter(s, F64(0)), s)
    bits = t.view(np.int64)
    return np.where(inexact, (bits | _ONE).view(F64), t)


def _frac_round(value: Fraction, mode: str) -> float:
    """A rational correctly rounded to double in a mode (rn rz rm rp)."""
    try:
        near = float(value)                # int/int true division rounds correctly
    except OverflowError:
        near = float("inf") if value > 0 else float("-inf")
    if mode == "rn":
        return near
    if np.isfinite(near) and Fraction(near) == value:
        return near
    # near is the nearest; step one ulp if it is on the wrong side for the mode.
    above = not np.isfinite(near) or Fraction(near) > value
    if mode == "rz":
        step = above if value > 0 else not above
        target = 0.0
    elif mode == "rm":
        step, target = above, float("-inf")
    else:
        step, target = not above, float("inf")
    if not np.isfinite(near):
        big = np.finfo(F64).max
        if mode == "rz" or (mode == "rm" and value > 0) or (mode == "rp" and value < 0):
            return float(np.copysign(big, near))
        return near
    return float(np.nextafter(near, target)) if step else near


def _scalar_fma(a: float, b: float, c: float, mode: str) -> float:
    if not (np.isfinite(a) and np.isfinite(b)):
        return float(F64(a) * F64(b) + F64(c))
    if not np.isfinite(c):
        return c
    exact = Fraction(a) * Fraction(b) + Fraction(c)
    if exact == 0:
        prod = F64(a) * F64(b)              # exact zero or the sign rule of an exact cancel
        if prod == 0:
            with np.errstate(all="ignore"):
                return float(prod + F64(c)) if mode != "rm" else float(-(-prod - F64(c)))
        return -0.0 if mode == "rm" else 0.0
    return _frac_round(exact, mode)


def fma64(a: Any, b: Any, c: Any, mode: str = "rn") -> np.ndarray:
    """Correctly rounded a*b + c in double, elementwise, in rounding mode rn/rz/rm/rp.

    Round-to-nearest is vectorised; the directed modes (rare: __fma_rz and friends)
    are computed exactly lane by lane.
    """
    a, b, c = np.broadcast_arrays(np.asarray(a, F64), np.asarray(b, F64), np.asarray(c, F64))
    if mode == "rn":
        with np.errstate(all="ignore"):
            ph, pl = two_prod(a, b)
            uh, ul = two_sum(c, ph)
            t = round_odd(*two_sum(ul, pl))
            r = np.array(uh + t, F64)
            aph = np.abs(ph)
            safe = ((np.abs(a) < _SAFE_MAX) & (np.abs(b) < _SAFE_MAX) & (np.abs(c) < _PROD_MAX)
                    & (((a == 0) | (b == 0)) & np.isfinite(c)
                       | (aph >= _PROD_MIN) & (aph <= _PROD_MAX)))
    else:
        r = np.empty(a.shape, F64)
        safe = np.zeros(a.shape, bool)
    bad = np.flatnonzero(~safe.reshape(-1))
    if bad.size:
        flat = r.reshape(-1)
        fa, fb, fc = a.reshape(-1), b.reshape(-1), c.reshape(-1)
        for i in bad.tolist():
            flat[i] = _scalar_fma(float(fa[i]), float(fb[i]), float(fc[i]), mode)
    return r


def _directed(r: np.ndarray, s: np.ndarray, e: np.ndarray, mode: str) -> np.ndarray:
    """Step the nearest result r one ulp where the exact value s+e lies on the other side.

    r must equal RN(s + e) (so r == s); e is the exact error of r.
    """
    if mode == "rz":
        step = (r > 0) & (e < 0) | (r < 0) & (e > 0)
        return np.where(step, np.nextafter(r, F64(0)), r)
    if mode == "rm":
        return np.where(e < 0, np.nextafter(r, F64(-np.inf)), r)
    if mode == "rp":
        return np.where(e > 0, np.nextafter(r, F64(np.inf)), r)
    return r


def _fix_overflow(r: np.ndarray, exact_inf: np.ndarray, mode: str) -> np.ndarray:
    """Directed modes round an overflow to the largest finite value on the toward-zero side."""
    if mode == "rn":
        return r
    big = F64(np.finfo(F64).max)
    ovf = np.isinf(r) & ~exact_inf
    if mode == "rz":
        keep = np.zeros_like(ovf)
    elif mode == "rm":
        keep = r < 0
    else:
        keep = r > 0
    return np.where(ovf & ~keep, np.copysign(big, r), r)


def _minus_zero_sum(s: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Where an exactly zero sum a + b is -0 when rounding toward -inf: every case but
    +0 + +0 (IEEE 754, 6.3)."""
    plus = (a == 0) & (b == 0) & ~np.signbit(a) & ~np.signbit(b)
    return (s == 0) & ~plus


def add64(a: Any, b: Any, mode: str) -> np.ndarray:
    a, b = np.asarray(a, F64), np.asarray(b, F64)
    with np.errstate(all="ignore"):
        s, e = two_sum(a, b)
        r = _directed(s, s, np.where(np.isfinite(e), e, 0), mode)
        if mode == "rm":
            r = np.where(_minus_zero_sum(s, a, b), F64(-0.0), r)
        return _fix_overflow(r, np.isinf(a) | np.isinf(b), mode)


def mul64(a: Any, b: Any, mode: str) -> np.ndarray:
    a, b = np.broadcast_arrays(np.asarray(a, F64), np.asarray(b, F64))
    with np.errstate(all="ignore"):
        if mode == "rn":
            return a * b
        p, e = two_prod(a, b)
        r = _directed(p, p, np.where(np.isfinite(e), e, 0), mode)
        ap = np.abs(p)
        safe = ((np.abs(a) < _SAFE_MAX) & (np.abs(b) < _SAFE_MAX)
                & ((ap >= _PROD_MIN) & (ap <= _PROD_MAX) | (a == 0) | (b == 0)))
    r = np.array(r, F64)
    bad = np.flatnonzero(~safe.reshape(-1))
    if bad.size:
        flat, fa, fb = r.reshape(-1), a.reshape(-1), b.reshape(-1)
        for i in bad.tolist():
            x, y = float(fa[i]), float(fb[i])
            zero = -0.0 if np.signbit(x) != np.signbit(y) else 0.0
            flat[i] = _scalar_fma(x, y, zero, mode)
    return r


def div64(a: Any, b: Any, mode: str) -> np.ndarray:
    a, b = np.broadcast_arrays(np.asarray(a, F64), np.asarray(b, F64))
    with np.errstate(all="ignore"):
        q = a / b
        if mode == "rn":
            return q
        # Remainder a - q*b, correctly rounded: its sign tells which side q lies on.
        rem = fma64(-q, b, a)
        e = np.where(np.isfinite(q) & (b != 0), rem * np.sign(b), 0)
        r = _directed(q, q, e, mode)
        r = np.array(_fix_overflow(r, np.isinf(a) | (b == 0), mode), F64)
        # Near the subnormal range the remainder itself may not fit a double (and round
        # to zero): those quotients are rounded exactly, lane by lane.
        tiny = (np.isfinite(a) & np.isfinite(b) & (a != 0) & (b != 0)
                & ((np.abs(a) < _PROD_MIN) | (np.abs(q) < _PROD_MIN)))
    bad = np.flatnonzero(tiny.reshape(-1))
    if bad.size:
        flat, fa, fb = r.reshape(-1), a.reshape(-1), b.reshape(-1)
        for i in bad.tolist():
            flat[i] = _frac_round(Fraction(float(fa[i])) / Fraction(float(fb[i])), mode)
    return r


def sqrt64(a: Any, mode: str) -> np.ndarray:
    a = np.asarray(a, F64)
    with np.errstate(all="ignore"):
        r = np.sqrt(a)
        if mode == "rn":
            return r
        rem = fma64(-r, r, a)
        e = np.where(np.isfinite(r) & (r > 0), rem, 0)
        r = _directed(r, r, e, mode)
        # a subnormal operand's remainder may not fit a double: scale by an even power of
        # two (exact both ways, the root stays normal)
        small = (a > 0) & (a < _PROD_MIN)
        if np.any(small):
            r = np.where(small, sqrt64(a * F64(2.0 ** 600), mode) * F64(2.0 ** -300), r)
        return r


def round_f32(x64: Any, mode: str) -> np.ndarray:
    """A double rounded to float in a mode (x64 exact or already rounded to odd)."""
    x64 = np.asarray(x64, F64)
    f = x64.astype(np.float32)
    if mode in ("rn", ""):
        return f
    back = f.astype(F64)
    if mode == "rz":
        adjust = np.abs(back) > np.abs(x64)
        toward = np.float32(0)
    elif mode == "rm":
        adjust = back > x64
        toward = np.float32(-np.inf)
    elif mode == "rp":
        adjust = back < x64
        toward = np.float32(np.inf)
    else:
        return f
    return np.where(adjust, np.nextafter(f, toward), f).astype(np.float32)


def _int_to_float(v: int, bits: int, mode: str) -> float:
    """The integer v rounded to a float with a `bits`-bit significand, in a mode."""
    mag = abs(v)
    shift = max(0, mag.bit_length() - bits)
    q, r = divmod(mag, 1 << shift)
    up = False
    if r:
        if mode == "rn":
            half = 1 << (shift - 1)
            up = r > half or (r == half and q & 1 == 1)
        elif mode == "rp":
            up = v > 0
        elif mode == "rm":
            up = v < 0
    q += up
    return float(-q if v < 0 else q) * 2.0 ** shift


def int_to_float(x: Any, dtype: np.dtype, mode: str) -> np.ndarray:
    """Integers to float32/float64, correctly rounded in mode rn/rz/rm/rp.

    Integers that fit the significand convert exactly; the others (beyond 2**24 for
    float, 2**53 for double) are rounded lane by lane.
    """
    dt = np.dtype(dtype)
    bits = 24 if dt == np.float32 else 53
    x = np.asarray(x)
    out = np.array(x.astype(dt), dt)
    wide = np.flatnonzero(((x > (1 << bits)) | (x < -(1 << bits))).reshape(-1))
    if wide.size:
        flat, fx = out.reshape(-1), x.reshape(-1)
        for i in wide.tolist():
            flat[i] = _int_to_float(int(fx[i]), bits, mode)
    return out


_MID_MASK = np.uint64((1 << 29) - 1)     # double bits below a float's last place
_MID = np.uint64(1 << 28)                 # ... exactly half a float ulp
_F32_NORMAL = F64(2.0 ** -126)


def fma32(a: Any, b: Any, c: Any, mode: str = "rn") -> np.ndarray:
    """Correctly rounded float fma: the exact product in double, the sum rounded to odd.

    Fast path: a double sum that is not exactly halfway between two floats (nor in
    the float subnormal range) rounds to the same float as the exact value.
    """
    with np.errstate(all="ignore"):
        p = np.asarray(a, F64) * np.asarray(b, F64)      # exact: 48 bits
        cc = np.asarray(c, F64)
        s = p + cc
        if mode == "rn":
            hard = ((s.view(np.uint64) & _MID_MASK) == _MID) | (np.abs(s) < _F32_NORMAL)
            if not hard.any():
                return s.astype(np.float32)
        s, e = two_sum(p, cc)
        ro = np.where(np.isfinite(s), round_odd(s, np.where(np.isfinite(e), e, 0)), s)
        r = round_f32(ro, mode)
        if mode == "rm":
            r = np.where(_minus_zero_sum(s, p, cc), np.float32(-0.0), r)
        return r


def add32(a: Any, b: Any, mode: str) -> np.ndarray:
    """Float add in a mode; a sum of floats rounded to odd in double rounds right to float."""
    with np.errstate(all="ignore"):
        s, e = two_sum(np.asarray(a, F64), np.asarray(b, F64))
        ro = np.where(np.isfinite(s), round_odd(s, np.where(np.isfinite(e), e, 0)), s)
        r = round_f32(ro, mode)
        if mode == "rm":
            r = np.where(_minus_zero_sum(s, np.asarray(a, np.float32), np.asarray(b, np.float32)),
                         np.float32(-0.0), r)
        return r.astype(np.float32)


def ro_to_f32(x64: Any) -> np.ndarray:
    """Double to float rounding to odd (for a second rounding to a narrower format)."""
    x64 = np.asarray(x64, F64)
    f = x64.astype(np.float32)
    back = f.astype(F64)
    inexact = (back != x64) & np.isfinite(x64) & np.isfinite(f)
    away = inexact & (np.abs(back) > np.abs(x64))
    t = np.where(away, np.nextafter(f, np.float32(0)), f)
    return np.where(inexact, (t.view(np.uint32) | np.uint32(1)).view(np.float32), t)


def fminmax(is_min: bool, nan: bool) -> Callable[[Any, Any], np.ndarray]:
    """PTX min/max: a NaN operand yields the other (both NaN: the first; .NaN: a NaN); -0 < +0.

    numpy's fmin/fmax leave the sign of a zero result and the NaN of two NaNs to the
    code path (scalar or SIMD), so both are fixed here.
    """
    def run(a: Any, b: Any) -> np.ndarray:
        a, b = np.asarray(a), np.asarray(b)
        r = np.fmin(a, b) if is_min else np.fmax(a, b)
        r = np.where(np.isnan(b), a, r)
        zeros = (a == 0) & (b == 0)
        if np.any(zeros):
            neg = (np.signbit(a) | np.signbit(b)) if is_min else (np.signbit(a) & np.signbit(b))
            r = np.where(zeros, np.where(neg, -0.0, 0.0).astype(r.dtype), r)
        if nan:
            r = np.where(np.isnan(a) | np.isnan(b), np.array(np.nan, r.dtype), r)
        return r
    return run


__all__ = ["fminmax", "int_to_float", "two_sum", "two_prod", "round_odd", "fma64", "add64", "mul64", "div64", "sqrt64",
           "round_f32", "fma32", "add32", "ro_to_f32"]
