"""Exceptions of the PTX engine."""
from __future__ import annotations


class PtxError(Exception):
    """Bad or unsupported PTX; the message names the source line."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}" if line is not None else message)


class KernelFault(Exception):
    """A thread faulted while a kernel ran (bad address, trap)."""

    def __init__(self, kernel: str, block: tuple[int, int, int], thread: tuple[int, int, int],
                 instruction: str, address: int | None, reason: str) -> None:
        self.kernel = kernel
        self.block = block
        self.thread = thread
        self.instruction = instruction
        self.address = address
        self.reason = reason
        where = f" at address {address:#x}" if address is not None else ""
        super().__init__(f"kernel {kernel} block {block} thread {thread}: {reason}{where} "
                         f"in `{instruction}`")
