"""The one exception type of the Python API for failures the stack reports.

Bad arguments raise the usual Python types instead: TypeError (wrong kind of
value, wrong number of kernel arguments), ValueError (out of range sizes,
shapes, offsets).
"""
from __future__ import annotations


class DeviceError(RuntimeError):
    """A driver or runtime call failed; `code` is the SDresult (`name` its header name)."""

    def __init__(self, code: int, name: str, message: str) -> None:
        super().__init__(f"{message} ({name})")
        self.code = code
        self.name = name
