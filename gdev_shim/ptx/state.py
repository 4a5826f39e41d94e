"""Per-batch machine state: registers, shared/local/param memory, special registers.

A batch is `nblk` consecutive blocks of `T` threads; lane = block_in_batch * T + tid.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .errors import KernelFault
from .memory import DeviceMemory


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
        self.clock = 0

        lane = np.arange(L, dtype=np.int64)
        t = lane % self.T
        self.blk = lane // self.T                      # block within the batch
        gblk = self.blk + first_block                  # linear block id in the grid
        bx, by, _ = block
        gx, gy, _ = grid
        u32 = np.uint32
        self.tid = (t % bx, (t // bx) % by, t // (bx * by))
        self.ctaid = (gblk % gx, (gblk // gx) % gy, gblk // (gx * gy))
        self.warp_in_block = t // 32
        self.warps_per_block = (self.T + 31) // 32
        self.warp = self.blk * self.warps_per_block + self.warp_in_block
        self.laneid = t % 32
        self.lane_base = lane - self.laneid            # global lane of warp lane 0
        self.tid_linear = t
        lid = self.laneid.astype(np.uint64)
        one = np.uint64(1)
        self.special: dict[str, np.ndarray | np.generic] = {
            "%tid.x": self.tid[0].astype(u32), "%tid.y": self.tid[1].astype(u32),
            "%tid.z": self.tid[2].astype(u32),
            "%ntid.x": u32(bx), "%ntid.y": u32(by), "%ntid.z": u32(block[2]),
            "%ctaid.x": self.ctaid[0].astype(u32), "%ctaid.y": self.ctaid[1].astype(u32),
            "%ctaid.z": self.ctaid[2].astype(u32),
            "%nctaid.x": u32(gx), "%nctaid.y": u32(gy), "%nctaid.z": u32(grid[2]),
            "%laneid": self.laneid.astype(u32), "%warpid": self.warp_in_block.astype(u32),
            "%nwarpid": u32(self.warps_per_block), "%smid": u32(0), "%nsmid": u32(1),
            "%gridid": np.uint64(0),
            "%lanemask_eq": (one << lid).astype(u32),
            "%lanemask_lt": ((one << lid) - one).astype(u32),
            "%lanemask_le": ((one << (lid + one)) - one).astype(u32),
            "%lanemask_gt": (~((one << (lid + one)) - one)).astype(u32),
            "%lanemask_ge": (~((one << lid) - one)).astype(u32),
            "%dynamic_smem_size": u32(dynamic_shared),
            "%total_smem_size": u32(shared_stride),
        }

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
