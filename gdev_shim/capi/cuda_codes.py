"""CUresult codes for the driver layer's errors, with their names and texts.

SDAA's driver codes follow CUDA's by name (SDAA_ERROR_INVALID_VALUE,
CUDA_ERROR_INVALID_VALUE), though not always by number (a launch failure is
700 in SDAA, 719 in CUDA 13), so the mapping goes by name.
"""
from __future__ import annotations

from functools import cache

from ..common.cheader import constants, name_of
from ..driver.errors import SdError
from ..runtime.errors import RT, CudaNamedError, SdaaError

CU = constants("gdev_cuda.h")

# CUDA's own wording for the codes programs print most; others read as their spaced name.
_TEXTS = {
    "CUDA_SUCCESS": "no error",
    "CUDA_ERROR_INVALID_VALUE": "invalid argument",
    "CUDA_ERROR_OUT_OF_MEMORY": "out of memory",
    "CUDA_ERROR_NOT_INITIALIZED": "initialization error",
    "CUDA_ERROR_NO_DEVICE": "no CUDA-capable device is detected",
    "CUDA_ERROR_INVALID_DEVICE": "invalid device ordinal",
    "CUDA_ERROR_INVALID_IMAGE": "device kernel image is invalid",
    "CUDA_ERROR_INVALID_CONTEXT": "invalid device context",
    "CUDA_ERROR_NO_BINARY_FOR_GPU": "no kernel image is available for execution on the device",
    "CUDA_ERROR_FILE_NOT_FOUND": "file not found",
    "CUDA_ERROR_INVALID_HANDLE": "invalid resource handle",
    "CUDA_ERROR_NOT_FOUND": "named symbol not found",
    "CUDA_ERROR_NOT_READY": "device not ready",
    "CUDA_ERROR_LAUNCH_FAILED": "unspecified launch failure",
    "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES": "too many resources requested for launch",
    "CUDA_ERROR_LAUNCH_TIMEOUT": "the launch timed out and was terminated",
    "CUDA_ERROR_NOT_SUPPORTED": "operation not supported",
    "CUDA_ERROR_UNKNOWN": "unknown error",
}


@cache
def cuda_code(sd_code: int) -> int:
    """The CUresult of an SDresult code."""
    name = SdError(sd_code, "").name
    return getattr(CU, name.replace("SDAA_", "CUDA_", 1), CU.CUDA_ERROR_UNKNOWN)


# Runtime-layer codes (what the graph and managed-memory code the two faces share raise)
# whose CUresult has another name.
_FROM_RUNTIME = {
    RT.sdaaErrorInvalidValue: CU.CUDA_ERROR_INVALID_VALUE,
    RT.sdaaErrorInvalidResourceHandle: CU.CUDA_ERROR_INVALID_HANDLE,
    RT.sdaaErrorInvalidConfiguration: CU.CUDA_ERROR_INVALID_VALUE,
    RT.sdaaErrorMemoryAllocation: CU.CUDA_ERROR_OUT_OF_MEMORY,
    RT.sdaaErrorInvalidDevicePointer: CU.CUDA_ERROR_INVALID_VALUE,
    RT.sdaaErrorLaunchFailure: CU.CUDA_ERROR_LAUNCH_FAILED,
}


def runtime_code(e: SdaaError) -> int:
    """The CUresult of a runtime-layer error: a CUDA-named one by its name
    (cudaErrorStreamCaptureUnsupported -> CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED)."""
    if isinstance(e, CudaNamedError):
        words = e.cuda_name.removeprefix("cudaError")
        name = "CUDA_ERROR" + "".join("_" + c if c.isupper() else c.upper() for c in words)
        return getattr(CU, name, CU.CUDA_ERROR_UNKNOWN)
    return _FROM_RUNTIME.get(e.code, CU.CUDA_ERROR_UNKNOWN)


def error_name(code: int) -> str | None:
    """cuGetErrorName's answer; None for a value that is no code."""
    if code == CU.CUDA_SUCCESS:
        return "CUDA_SUCCESS"
    name = name_of("gdev_cuda.h", code, "CUDA_ERROR_")      # not the other CUDA_* constants
    return None if name.endswith(f"<{code}>") else name


def error_text(name: str) -> str:
    """cuGetErrorString's answer for a code's name."""
    if name in _TEXTS:
        return _TEXTS[name]
    return name.removeprefix("CUDA_ERROR_").replace("_", " ").lower()


class CuError(Exception):
    """A failure the driver face itself finds (an argument only CUDA has, an unsupported call)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
