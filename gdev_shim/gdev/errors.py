"""L2 failures.  Gdev's C API answers with negative errno values or 0 pointers;
inside Python a failing operation raises GdevError carrying that errno."""
from __future__ import annotations

import errno as _errno


class GdevError(Exception):
    def __init__(self, err: int, message: str) -> None:
        super().__init__(message)
        self.errno = err


def invalid(message: str) -> GdevError:
    return GdevError(_errno.EINVAL, message)


class FenceTimeout(GdevError):
    def __init__(self, message: str) -> None:
        super().__init__(_errno.ETIMEDOUT, message)


class ChannelFault(GdevError):
    """The card stopped the channel: a DMA or compute fault (CUDA's sticky launch failure)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(_errno.EIO, message)
        self.status = status


class DeviceLost(GdevError):
    """The card went away under the process (its daemon died): every later call fails too."""

    def __init__(self, message: str) -> None:
        super().__init__(_errno.ESHUTDOWN, message)


class BadSettings(GdevError):
    """A GDEV_* variable holds a value its setting does not accept (the message names it)."""

    def __init__(self, message: str) -> None:
        super().__init__(_errno.EINVAL, message)
