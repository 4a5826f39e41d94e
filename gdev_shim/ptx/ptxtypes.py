"""PTX fundamental types and the numpy dtypes that carry them."""
from __future__ import annotations

import numpy as np

from .errors import PtxError

SIZE = {"pred": 1, "b8": 1, "u8": 1, "s8": 1, "b16": 2, "u16": 2, "s16": 2, "f16": 2, "bf16": 2,
        "b32": 4, "u32": 4, "s32": 4, "f32": 4, "b64": 8, "u64": 8, "s64": 8, "f64": 8,
        "b128": 16}

DTYPE = {"pred": np.dtype(np.bool_),
         "b8": np.dtype(np.uint8), "u8": np.dtype(np.uint8), "s8": np.dtype(np.int8),
         "b16": np.dtype(np.uint16), "u16": np.dtype(np.uint16), "s16": np.dtype(np.int16),
         "f16": np.dtype(np.float16),
         "b32": np.dtype(np.uint32), "u32": np.dtype(np.uint32), "s32": np.dtype(np.int32),
         "f32": np.dtype(np.float32),
         "b64": np.dtype(np.uint64), "u64": np.dtype(np.uint64), "s64": np.dtype(np.int64),
         "f64": np.dtype(np.float64)}

UINT = {1: np.dtype(np.uint8), 2: np.dtype(np.uint16), 4: np.dtype(np.uint32), 8: np.dtype(np.uint64)}
SINT = {1: np.dtype(np.int8), 2: np.dtype(np.int16), 4: np.dtype(np.int32), 8: np.dtype(np.int64)}
FLOAT = {2: np.dtype(np.float16), 4: np.dtype(np.float32), 8: np.dtype(np.float64)}

TYPES = frozenset(SIZE)


def dtype_of(t: str, line: int | None = None) -> np.dtype:
    try:
        return DTYPE[t]
    except KeyError:
        raise PtxError(f"unsupported type .{t}", line) from None


def storage_of(t: str, line: int | None = None) -> np.dtype:
    """Registers keep raw bits: unsigned of the type's width (bool for predicates)."""
    if t == "pred":
        return DTYPE["pred"]
    if t not in SIZE or SIZE[t] not in UINT:
        raise PtxError(f"unsupported register type .{t}", line)
    return UINT[SIZE[t]]


def is_signed(t: str) -> bool:
    return t.startswith("s")


def is_float(t: str) -> bool:
    return t.startswith("f") or t == "bf16"
