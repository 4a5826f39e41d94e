"""sdaaError codes (from include/sdaa_runtime.h), the last-error slot, and the
mapping from driver results to runtime errors."""
from __future__ import annotations

import functools
import threading

from ..common.cheader import constants, name_of
from ..driver.errors import SD, SdError

RT = constants("sdaa_runtime.h")


class SdaaError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code

    @property
    def name(self) -> str:
        # "sdaaError" first: other enums of the header (sdaaDevAttr*) share the values
        if self.code == RT.sdaaSuccess:
            return "sdaaSuccess"
        return name_of("sdaa_runtime.h", self.code, "sdaaError")


class CudaNamedError(SdaaError):
    """A condition the SDAA runtime has no code of its own for (a capture rule, registered
    host memory, a cooperative launch): `cuda_name` is the CUDA face's code, by name; the
    SDAA face sees `code`."""

    def __init__(self, cuda_name: str, message: str, code: int = RT.sdaaErrorUnknown) -> None:
        super().__init__(code, message)
        self.cuda_name = cuda_name


_FROM_DRIVER = {
    SD.SDAA_ERROR_INVALID_VALUE: RT.sdaaErrorInvalidValue,
    SD.SDAA_ERROR_OUT_OF_MEMORY: RT.sdaaErrorMemoryAllocation,
    SD.SDAA_ERROR_NOT_INITIALIZED: RT.sdaaErrorInitializationError,
    SD.SDAA_ERROR_DEINITIALIZED: RT.sdaaErrorSdaartUnloading,
    SD.SDAA_ERROR_NO_DEVICE: RT.sdaaErrorNoDevice,
    SD.SDAA_ERROR_INVALID_DEVICE: RT.sdaaErrorInvalidDevice,
    SD.SDAA_ERROR_INVALID_IMAGE: RT.sdaaErrorInvalidKernelImage,
    SD.SDAA_ERROR_INVALID_CONTEXT: RT.sdaaErrorInvalidResourceHandle,
    SD.SDAA_ERROR_FILE_NOT_FOUND: RT.sdaaErrorInvalidValue,
    SD.SDAA_ERROR_INVALID_HANDLE: RT.sdaaErrorInvalidResourceHandle,
    SD.SDAA_ERROR_NOT_FOUND: RT.sdaaErrorInvalidDeviceFunction,
    SD.SDAA_ERROR_NOT_READY: RT.sdaaErrorNotReady,
    SD.SDAA_ERROR_LAUNCH_FAILED: RT.sdaaErrorLaunchFailure,
    SD.SDAA_ERROR_LAUNCH_OUT_OF_RESOURCES: RT.sdaaErrorLaunchOutOfResources,
    SD.SDAA_ERROR_LAUNCH_TIMEOUT: RT.sdaaErrorLaunchTimeout,
    SD.SDAA_ERROR_DEVICE_UNAVAILABLE: RT.sdaaErrorDevicesUnavailable,
}


def error_text(code: int) -> str:
    """sdaaGetErrorString's words for a code: its name spaced out ("invalid value")."""
    name = SdaaError(code, "").name
    if name.endswith(f"<{code}>"):
        return "unrecognized error code"
    words = name.removeprefix("sdaaError").removeprefix("sdaa")
    spaced = "".join(" " + c.lower() if c.isupper() else c for c in words).strip()
    return "no error" if spaced == "success" else spaced


def from_driver(e: SdError) -> SdaaError:
    return SdaaError(_FROM_DRIVER.get(e.code, RT.sdaaErrorUnknown), str(e))


class LastError:
    """Each thread's last error code, as a CUDA-style runtime keeps it (one per API face)."""

    def __init__(self, success: int) -> None:
        self.success = success
        self._tls = threading.local()

    def set(self, code: int) -> None:
        if code != self.success:
            self._tls.last = code

    def get(self, clear: bool) -> int:
        code = getattr(self._tls, "last", self.success)
        if clear:
            self._tls.last = self.success
        return code


_last = LastError(RT.sdaaSuccess)
set_last = _last.set
get_last = _last.get


def translated(fn):
    """Run a runtime operation, turning driver results into runtime errors."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SdError as e:
            raise from_driver(e) from None
    return wrapper
