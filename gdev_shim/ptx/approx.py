"""Approximate math instructions as fixed sequences of IEEE double operations.

numpy's exp2 and friends take different code paths on different CPUs (a vector math
library where the CPU has one), so their last bits are not a property of the kernel.
Written out as plain double arithmetic, the same steps give the same bits on every host
and in every engine: the JIT (jit/approx.py) emits exactly these operations.

exp2(x): x = n + f with n = rint(x), |f| <= 1/2 (exact); 2**f by its Taylor series in
f*ln2 to degree 12 (relative error about 2e-16, below half an ulp of a float by 2**-29),
scaled by 2**n built from its exponent bits.

sin(x), cos(x): x = k*pi/2 + r, |r| <= pi/4, by a three-part Cody-Waite reduction; sine
and cosine of r by their Taylor series to degree 19 and 18; the quadrant k mod 4 picks
and signs one of them; clamped to [-1, 1] (far from zero the reduction loses the
argument, as the hardware's approximation does).  lg2(x): x = m * 2**e, m in
[sqrt(1/2), sqrt(2)) from the exponent bits; ln m = 2 atanh((m-1)/(m+1)) by its series;
e + ln m / ln 2.  tanh(x): x - x**3/3 + 2x**5/15 - 17x**7/315 below 1/16, else
1 - 2/(exp2(2|x| log2 e) + 1) with x's sign.  NaN in gives the default NaN out.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

F64 = np.float64
# Taylor coefficients of 2**f = exp(f ln 2), highest degree first (Horner)
EXP2_COEFFS = tuple(math.log(2.0) ** k / math.factorial(k) for k in range(12, -1, -1))
EXP2_LIMIT = 200.0            # |x| beyond which a float result is 0 or infinity anyway


def exp2(x: Any) -> np.ndarray:
    """2**x in double for arguments of float (or half) range; NaN gives the default NaN
    (whose bits, unlike a NaN operand's, no conversion on the way changes)."""
    x = np.asarray(x, F64)
    with np.errstate(invalid="ignore"):
        c = np.minimum(np.maximum(x, F64(-EXP2_LIMIT)), F64(EXP2_LIMIT))
        n = np.rint(c)
        f = c - n
        p = np.full(f.shape, F64(EXP2_COEFFS[0]))
        for k in EXP2_COEFFS[1:]:
            p = p * f + F64(k)
        scale = ((np.nan_to_num(n).astype(np.int64) + 1023) << 52).view(F64)
        return np.where(np.isnan(x), F64(np.nan), p * scale)


def exp2_f32(x: Any) -> np.ndarray:
    """ex2.approx.f32: the double 2**x rounded to float."""
    with np.errstate(over="ignore"):
        return exp2(np.asarray(x, np.float32)).astype(np.float32)


# pi/2 in three parts, each exact in few enough bits that k * part is exact for |k| < 2**20
PIO2 = (1.5707963267341256, 6.077100506506192e-11, 2.0222662487959506e-21)
TWO_OVER_PI = 2.0 / math.pi
# Taylor coefficients in z = r*r, highest degree first: sin r = r + r*z*P(z), cos r = 1 + z*Q(z)
SIN_COEFFS = tuple((-1) ** k / math.factorial(2 * k + 1) for k in range(9, 0, -1))
COS_COEFFS = tuple((-1) ** k / math.factorial(2 * k) for k in range(9, 0, -1))
# ln m = 2s * (1 + z/3 + z**2/5 + ...), s = (m-1)/(m+1), z = s*s: 1/(2k+1), highest first
LOG_COEFFS = tuple(1.0 / (2 * k + 1) for k in range(11, -1, -1))
SQRT2 = math.sqrt(2.0)
INV_LN2 = 1.0 / math.log(2.0)
LOG2E2 = 2.0 / math.log(2.0)        # exp(2a) = 2**(2a log2 e)
TANH_SMALL = 0.0625
TANH_COEFFS = (-17.0 / 315.0, 2.0 / 15.0, -1.0 / 3.0)       # x + x*z*T(z)
MANTISSA = 0x000F_FFFF_FFFF_FFFF
ONE_BITS = 1023 << 52
NAN = F64(np.nan)


def _horner(z: np.ndarray, coeffs: tuple[float, ...]) -> np.ndarray:
    p = np.full(z.shape, F64(coeffs[0]))
    for c in coeffs[1:]:
        p = p * z + F64(c)
    return p


def _f32_in(x: Any) -> np.ndarray:
    return np.asarray(np.asarray(x, np.float32), F64)


def _f32_out(v: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        return v.astype(np.float32)


def _sincos(x: Any, cosine: bool) -> np.ndarray:
    c = _f32_in(x)
    with np.errstate(invalid="ignore", over="ignore"):
        k = np.rint(c * F64(TWO_OVER_PI))
        r = ((c - k * F64(PIO2[0])) - k * F64(PIO2[1])) - k * F64(PIO2[2])
        z = r * r
        sin_r = r + r * z * _horner(z, SIN_COEFFS)
        cos_r = F64(1.0) + z * _horner(z, COS_COEFFS)
        q = k - F64(4.0) * np.floor(k * F64(0.25))
        if cosine:
            q = q + F64(1.0)
            q = np.where(q == F64(4.0), F64(0.0), q)
        v = np.where(q == F64(0.0), sin_r, np.where(q == F64(1.0), cos_r,
                     np.where(q == F64(2.0), -sin_r, -cos_r)))
        v = np.minimum(np.maximum(v, F64(-1.0)), F64(1.0))
        return _f32_out(np.where(np.isfinite(c), v, NAN))


def sin_f32(x: Any) -> np.ndarray:
    """sin.approx.f32."""
    return _sincos(x, False)


def cos_f32(x: Any) -> np.ndarray:
    """cos.approx.f32."""
    return _sincos(x, True)


def lg2_f32(x: Any) -> np.ndarray:
    """lg2.approx.f32."""
    c = _f32_in(x)
    bits = c.view(np.int64)
    e = ((bits >> 52) & 0x7FF).astype(F64) - F64(1023.0)
    m = ((bits & MANTISSA) | ONE_BITS).view(F64)
    big = m > F64(SQRT2)
    m = np.where(big, m * F64(0.5), m)
    e = np.where(big, e + F64(1.0), e)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        s = (m - F64(1.0)) / (m + F64(1.0))
        ln_m = F64(2.0) * s * _horner(s * s, LOG_COEFFS)
        v = e + ln_m * F64(INV_LN2)
        v = np.where(c == F64(0.0), F64(-np.inf), np.where(c == F64(np.inf), F64(np.inf), v))
        return _f32_out(np.where(np.isnan(c) | (c < F64(0.0)), NAN, v))


def tanh64(c: Any) -> np.ndarray:
    """tanh of doubles holding float or half values, as a double (the f16 forms round it)."""
    c = np.asarray(c, F64)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        a = np.abs(c)
        z = c * c
        small = c + c * z * _horner(z, TANH_COEFFS)
        t = F64(1.0) - F64(2.0) / (exp2(a * F64(LOG2E2)) + F64(1.0))
        v = np.copysign(np.where(a < F64(TANH_SMALL), small, t), c)     # tanh(-0) = -0
        return np.where(np.isnan(c), NAN, v)


def tanh_f32(x: Any) -> np.ndarray:
    """tanh.approx.f32."""
    return _f32_out(tanh64(_f32_in(x)))


__all__ = ["EXP2_COEFFS", "EXP2_LIMIT", "exp2", "exp2_f32", "sin_f32", "cos_f32", "lg2_f32",
           "tanh64", "tanh_f32"]
