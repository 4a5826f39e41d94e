"""The contract between generated kernels and the launcher: environment slots, fault record.

A compiled kernel is `int32 fn(int64 *env, int64 first_block, int64 end_block)`; it returns 0,
or 1 after filling the fault record that env[FAULT] points to.
"""
from __future__ import annotations

(PARAMS, PAGES, PAGE_BASE, NPAGES, EXTRAS, NEXTRAS, GLOBALS, GX, GY, GZ, BX, BY, BZ, SHARED,
 SHARED_SIZE, LOCAL, LOCAL_STRIDE, PARMEM, PARAM_STRIDE, FAULT, DYN_SHARED, NPARAMS) = range(22)
ENV_SLOTS = 22

PAGE_SHIFT = 12

# fault record: int64 slots
F_REASON, F_LANE, F_ADDR, F_PC, F_BLOCK, F_WARP = range(6)
FAULT_SLOTS = 8

# reasons
MISALIGNED_GLOBAL, UNBACKED, MISALIGNED_VECTOR, MISALIGNED_WINDOW, WINDOW_BOUNDS, TRAP, \
    PREDICATED_BAR = range(1, 8)

# state spaces of memory instructions
GLOBAL, SHARED_SP, LOCAL_SP, GENERIC = range(4)
SPACE_NAMES = {SHARED_SP: "shared", LOCAL_SP: "local"}
