"""SDresult codes (from include/sdaa.h) and the exception that carries one."""
from __future__ import annotations

import errno

from ..common.cheader import constants, name_of
from ..gdev.errors import BadSettings, ChannelFault, FenceTimeout, GdevError

SD = constants("sdaa.h")


class SdError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code

    @property
    def name(self) -> str:
        return name_of("sdaa.h", self.code, "SDAA_")


def error_name(code: int) -> str | None:
    """The SDAA_* name of a result code, None for a value that is no code."""
    name = SdError(code, "").name
    return None if name.endswith(f"<{code}>") else name


def error_text(name: str) -> str:
    """sdGetErrorString's words for a code's name: "SDAA_ERROR_INVALID_VALUE" -> "invalid value"."""
    words = name.removeprefix("SDAA_ERROR_").removeprefix("SDAA_").replace("_", " ").lower()
    return "no error" if words == "success" else words


def fail(code: int, message: str) -> SdError:
    return SdError(code, message)


_ERRNO_CODES = {
    errno.ENOMEM: SD.SDAA_ERROR_OUT_OF_MEMORY,
    errno.EINVAL: SD.SDAA_ERROR_INVALID_VALUE,
    errno.ENODEV: SD.SDAA_ERROR_INVALID_DEVICE,
    errno.ENOENT: SD.SDAA_ERROR_NOT_FOUND,
    errno.EEXIST: SD.SDAA_ERROR_INVALID_VALUE,
    errno.ESHUTDOWN: SD.SDAA_ERROR_DEVICE_UNAVAILABLE,     # DeviceLost, or a call that found it lost
    errno.EACCES: SD.SDAA_ERROR_DEVICE_UNAVAILABLE,        # the cards are another user's (their daemon's)
}


def from_gdev(e: GdevError) -> SdError:
    """Map an L2 failure to the driver code a CUDA-like driver would return."""
    if isinstance(e, ChannelFault):
        return SdError(SD.SDAA_ERROR_LAUNCH_FAILED, str(e))
    if isinstance(e, FenceTimeout):
        return SdError(SD.SDAA_ERROR_LAUNCH_TIMEOUT, str(e))
    if isinstance(e, BadSettings):
        return SdError(SD.SDAA_ERROR_NOT_INITIALIZED, str(e))
    return SdError(_ERRNO_CODES.get(e.errno, SD.SDAA_ERROR_UNKNOWN), str(e))
