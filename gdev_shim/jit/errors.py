"""Exceptions of the JIT engine."""
from __future__ import annotations


class JitUnsupported(Exception):
    """The kernel (or this launch of it) uses something the JIT does not compile.

    Raised before anything runs, so the caller can hand the launch to the interpreter.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)
