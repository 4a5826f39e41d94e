"""The contract between generated kernels and the launcher: environment slots, fault record.

A compiled kernel is `int32 fn(int64 *env, int64 first_block, int64 end_block)`; it returns 0,
or 1 after filling the fault record that env[FAULT] points to.

LOCAL and PARMEM are the running warp's rows of per-lane memory: the kernel itself points
them into LOCAL_ALL / PARMEM_ALL (one row set per warp of the block) whenever a warp starts
or resumes.  PRINTF is the launch's device-printf callback (jit/printf.py); SANITIZER, VRAM_BASE/SIZE,
INIT_SHADOW, RACE and RACE_EPOCH serve the compiled-in sanitizer checks (jit/sanitize.py).
CALLSTACK holds the running warp's return addresses in a recursive program (jit/calls.py),
a row per lane, inside CALLSTACK_ALL.  THREAD_IDS holds, per warp of the block, its lanes' %tid.x, %tid.y and %tid.z (three
rows of WARP uint32): the same for every block, so computed once per launch.  FRAMES holds one frame per warp (what a warp keeps while it waits at a
barrier), BARSTATE the block's barrier counters followed by one status byte per warp.
GRID_SYNC is a cooperative launch's grid-barrier word (%envreg1:%envreg2), 0 otherwise.
"""
from __future__ import annotations

(PARAMS, PAGES, PAGE_BASE, NPAGES, EXTRAS, NEXTRAS, GLOBALS, GX, GY, GZ, BX, BY, BZ, SHARED,
 SHARED_SIZE, LOCAL, LOCAL_STRIDE, PARMEM, PARAM_STRIDE, FAULT, DYN_SHARED, NPARAMS, FRAMES,
 BARSTATE, LOCAL_ALL, PARMEM_ALL, THREAD_IDS, PRINTF, SANITIZER, VRAM_BASE, VRAM_SIZE,
 INIT_SHADOW, RACE, CALLSTACK, CALLSTACK_ALL, RACE_EPOCH, GRID_SYNC) = range(37)
ENV_SLOTS = 37

# barrier state of the running block: int32 words, then a status byte per warp
NBARRIERS = 16
BAR_ARRIVED, BAR_EXPECT, BAR_RED_TRUE, BAR_SNAP_TRUE, BAR_SNAP_TOTAL = (
    i * NBARRIERS for i in range(5))
BAR_LIVE = 5 * NBARRIERS
BAR_STATUS_BYTE = 4 * (BAR_LIVE + 4)
# A warp is fresh, ready to resume, done, has lanes waiting at barriers (released lane by
# lane), or parked whole at barrier b (status WARP_PARKED + b: released by flipping it).
WARP_FRESH, WARP_READY, WARP_DONE, WARP_LANES = 0, 1, 2, 3
WARP_PARKED = 16


def barstate_bytes(nwarps: int) -> int:
    return BAR_STATUS_BYTE + nwarps


# lanes of a warp: the width of every compiled kernel's vectors
WARP = 32
# "no other lane is pending": the program counter bound of a group running alone
INF_PC = 0x7FFF_FFFF

PAGE_SHIFT = 12

# fault record: int64 slots
F_REASON, F_LANE, F_ADDR, F_PC, F_BLOCK, F_WARP = range(6)
FAULT_SLOTS = 8

# reasons
MISALIGNED_GLOBAL, UNBACKED, MISALIGNED_VECTOR, MISALIGNED_WINDOW, WINDOW_BOUNDS, TRAP, \
    PREDICATED_BAR, BARRIER_DEADLOCK, BARRIER_NUMBER, PARAM_ATOMIC, PARAM_STORE, \
    PARAM_BOUNDS, PRINTF_FAULT, STACK_OVERFLOW, BAD_CALL, BRX_RANGE = range(1, 17)

# state spaces of memory instructions
GLOBAL, SHARED_SP, LOCAL_SP, GENERIC = range(4)
SPACE_NAMES = {SHARED_SP: "shared", LOCAL_SP: "local"}
