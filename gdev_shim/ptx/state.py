"""Per-batch machine state: registers, shared/local/param memory, special registers.

A batch is `nblk` consecutive blocks of `T` threads; lane = block_in_batch * T + tid.
"""
from __future__ import annotations

import weakref
from functools import cached_property
from typing import Callable

import numpy as np

from .errors import KernelFault
from .memory import DeviceMemory
from .operands import sm_count


class State:
    def __init__(self, *, kernel: str, mem: DeviceMemory, reg_dtypes: list[np.dtype],
                 block: tuple[int, int, int], grid: tuple[int, int, int], first_block: int,
                 nblk: int, shared_stride: int, local_stride: int, param_stride: int,
                 kparams: bytes, globals_addr: int, dynamic_shared: int,
                 printf: Callable[[str], None] | None) -> None:
        self.kernel = kernel
        self.mem = mem
        self.reg_dtypes = reg_dtypes
        self.regs: list[np.ndarray | None] = [None] * len(reg_dtypes)
        self.block = block
        self.grid = grid
        self.T = block[0] * block[1] * block[2]
        self.nblk = nblk
        self.L = L = self.T * nblk
        self.kparams = kparams
        self.globals_addr = globals_addr
        self.printf = printf
        self.printed: list[tuple[int, int, str]] = []    # (lane, sequence, text)
        self.shared_stride = shared_stride
        self.local_stride = local_stride
        self.param_stride = param_stride
        self.shared = np.zeros(nblk * shared_stride, np.uint8)
        self.local = np.zeros(L * local_stride, np.uint8)
        self.parmem = np.zeros(L * param_stride, np.uint8)
        self.clock_steps = 0                           # instructions issued (statistics)
        self.fp = np.zeros(L, np.int64)                # frame pointer into local memory
        self.cc = np.zeros(L, np.uint64)               # carry flag of add.cc and friends
        self.program: object = None
        self.grid_sync = 0                             # a cooperative launch's grid-barrier word

        self.first_block = first_block
        # Lane geometry; the rest (thread/block ids, special registers) is computed on use.
        lane = np.arange(L, dtype=np.int64)
        self.blk = lane // self.T                      # block within the batch
        self.tid_linear = lane - self.blk * self.T
        self.warps_per_block = (self.T + 31) // 32
        self.dynamic_shared = dynamic_shared
        self.special = _Specials(self)
        self.checks = None                             # sanitizer hooks (GDEV_MEMCHECK), set by execute

    @cached_property
    def gblk(self) -> np.ndarray:
        return self.blk + self.first_block             # linear block id in the grid

    @cached_property
    def tid(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        t, (bx, by, _) = self.tid_linear, self.block
        return (t % bx, (t // bx) % by, t // (bx * by))

    @cached_property
    def ctaid(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        g, (gx, gy, _) = self.gblk, self.grid
        return (g % gx, (g // gx) % gy, g // (gx * gy))

    @cached_property
    def shared_rows(self) -> np.ndarray:
        return self.blk * self.shared_stride           # each lane's block's first shared byte

    @cached_property
    def warp_in_block(self) -> np.ndarray:
        return self.tid_linear // 32

    @cached_property
    def warp(self) -> np.ndarray:
        return self.blk * self.warps_per_block + self.warp_in_block

    @cached_property
    def laneid(self) -> np.ndarray:
        return self.tid_linear % 32

    @cached_property
    def lane_base(self) -> np.ndarray:
        return np.arange(self.L, dtype=np.int64) - self.laneid   # global lane of warp lane 0

    def compute_special(self, name: str) -> np.ndarray | np.generic:
        """The value of a special register (KeyError if there is no such register)."""
        u32 = np.uint32
        bx, by, bz = self.block
        gx, gy, gz = self.grid
        dims = {".x": 0, ".y": 1, ".z": 2}
        base, _, dim = name.partition(".")
        if base in ("%tid", "%ctaid") and "." + dim in dims:
            src = self.tid if base == "%tid" else self.ctaid
            return src[dims["." + dim]].astype(u32)
        if base in ("%ntid", "%nctaid") and "." + dim in dims:
            return u32((self.block if base == "%ntid" else self.grid)[dims["." + dim]])
        lid = self.laneid.astype(np.uint64) if name.startswith("%lanemask") else None
        one = np.uint64(1)
        nsm = sm_count()
        table: dict[str, Callable[[], np.ndarray | np.generic]] = {
            "%laneid": lambda: self.laneid.astype(u32),
            "%warpid": lambda: self.warp_in_block.astype(u32),
            "%nwarpid": lambda: u32(self.warps_per_block),
            "%smid": lambda: (self.gblk % nsm).astype(u32),
            "%nsmid": lambda: u32(nsm),
            "%gridid": lambda: np.uint64(0),
            "%lanemask_eq": lambda: (one << lid).astype(u32),
            "%lanemask_lt": lambda: ((one << lid) - one).astype(u32),
            "%lanemask_le": lambda: ((one << (lid + one)) - one).astype(u32),
            "%lanemask_gt": lambda: (~((one << (lid + one)) - one)).astype(u32),
            "%lanemask_ge": lambda: (~((one << lid) - one)).astype(u32),
            "%dynamic_smem_size": lambda: u32(self.dynamic_shared),
            "%total_smem_size": lambda: u32(self.shared_stride),
            # environment registers: a cooperative launch's grid-barrier word (others read 0)
            "%envreg1": lambda: u32(self.grid_sync >> 32),
            "%envreg2": lambda: u32(self.grid_sync & 0xFFFF_FFFF),
        }
        if name.startswith("%envreg") and name not in table:
            return u32(0)
        return table[name]()

    def reg(self, slot: int) -> np.ndarray:
        arr = self.regs[slot]
        if arr is None:
            arr = self.regs[slot] = np.zeros(self.L, self.reg_dtypes[slot])
        return arr

    def where(self, lane: int) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
        return ((int(self.ctaid[0][lane]), int(self.ctaid[1][lane]), int(self.ctaid[2][lane])),
                (int(self.tid[0][lane]), int(self.tid[1][lane]), int(self.tid[2][lane])))

    def fault(self, lane: int, instruction: str, address: int | None, reason: str) -> KernelFault:
        block, thread = self.where(lane)
        return KernelFault(self.kernel, block, thread, instruction, address, reason)


class _Specials(dict):
    """Special registers, each computed for the batch the first time it is read."""

    def __init__(self, st: State) -> None:
        super().__init__()
        self.st = weakref.proxy(st)       # no cycle: a batch's arrays are freed at once

    def __missing__(self, name: str) -> np.ndarray | np.generic:
        value = self.st.compute_special(name)
        self[name] = value
        return value
