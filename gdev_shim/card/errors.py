"""The card's failure type: an errno, returned to the caller of an ioctl as -errno."""
from __future__ import annotations

import errno as _errno


class CardError(Exception):
    def __init__(self, errno: int, message: str) -> None:
        super().__init__(f"{_errno.errorcode.get(errno, errno)}: {message}")
        self.errno = errno
