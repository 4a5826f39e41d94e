"""Approximate math instructions as fixed sequences of IEEE double operations.

numpy's exp2 and friends take different code paths on different CPUs (a vector math
library where the CPU has one), so their last bits are not a property of the kernel.
Written out as plain double arithmetic, the same steps give the same bits on every host
and in every engine: the JIT (jit/approx.py) emits exactly these operations.

exp2(x): x = n + f with n = rint(x), |f| <= 1/2 (exact); 2**f by its Taylor series in
f*ln2 to degree 12 (relative error about 2e-16, below half an ulp of a float by 2**-29),
scaled by 2**n built from its exponent bits.
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


__all__ = ["EXP2_COEFFS", "EXP2_LIMIT", "exp2", "exp2_f32"]
