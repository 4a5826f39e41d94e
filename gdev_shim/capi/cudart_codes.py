"""CUDA's error codes for the runtime layer's errors, their names and texts, and the
CUDA face's last error.

Most SDAA runtime codes share their CUDA counterpart's name (sdaaErrorInvalidValue,
cudaErrorInvalidValue), so the mapping goes by name; the few that differ are
listed.
"""
from __future__ import annotations

from functools import cache

from ..common.cheader import constants, name_of
from ..runtime import asserts, devices
from ..runtime.errors import RT, CudaNamedError, LastError, SdaaError

CU = constants("gdev_cudart.h")

_RENAMED = {
    "sdaaErrorSdaartUnloading": "cudaErrorCudartUnloading",
}

# CUDA's own wording for the codes programs print most; others read as their spaced name.
_TEXTS = {
    "cudaSuccess": "no error",
    "cudaErrorInvalidValue": "invalid argument",
    "cudaErrorMemoryAllocation": "out of memory",
    "cudaErrorInitializationError": "initialization error",
    "cudaErrorInvalidConfiguration": "invalid configuration argument",
    "cudaErrorInvalidDevice": "invalid device ordinal",
    "cudaErrorInvalidDevicePointer": "invalid device pointer",
    "cudaErrorInvalidMemcpyDirection": "invalid copy direction for memcpy",
    "cudaErrorInvalidSymbol": "invalid device symbol",
    "cudaErrorInvalidDeviceFunction": "invalid device function",
    "cudaErrorNoDevice": "no CUDA-capable device is detected",
    "cudaErrorInvalidKernelImage": "device kernel image is invalid",
    "cudaErrorNoKernelImageForDevice": "no kernel image is available for execution on the device",
    "cudaErrorInvalidResourceHandle": "invalid resource handle",
    "cudaErrorNotReady": "device not ready",
    "cudaErrorLaunchOutOfResources": "too many resources requested for launch",
    "cudaErrorLaunchTimeout": "the launch timed out and was terminated",
    "cudaErrorAssert": "device-side assert triggered",
    "cudaErrorLaunchFailure": "unspecified launch failure",
    "cudaErrorNotSupported": "operation not supported",
    "cudaErrorMissingConfiguration": "__global__ function call is not configured",
    "cudaErrorUnknown": "unknown error",
    "cudaErrorStreamCaptureUnsupported": "operation not permitted when stream is capturing",
    "cudaErrorStreamCaptureInvalidated": "operation failed due to a previous error during capture",
    "cudaErrorStreamCaptureImplicit": "operation would make the legacy stream depend on a capturing blocking stream",
}


def cuda_code(e: SdaaError) -> int:
    """The CUDA code of a runtime-layer error: a launch failure an assert caused is
    cudaErrorAssert, for as long as the context stays failed (CUDA's sticky error)."""
    if isinstance(e, CudaNamedError):
        return int(getattr(CU, e.cuda_name))
    if e.code == RT.sdaaErrorLaunchFailure and _stopped_by_assert():
        return CU.cudaErrorAssert
    return _by_name(e.code)


def _stopped_by_assert() -> bool:
    ctx = devices.existing_context(devices.current())
    return ctx is not None and asserts.failed_by_assert(ctx)


@cache
def _by_name(sdaa_code: int) -> int:
    name = SdaaError(sdaa_code, "").name
    cuda_name = _RENAMED.get(name, name.replace("sdaa", "cuda", 1))
    return getattr(CU, cuda_name, CU.cudaErrorUnknown)


def error_name(code: int) -> str | None:
    """cudaGetErrorName's answer; None for a value that is no code."""
    if code == CU.cudaSuccess:
        return "cudaSuccess"
    name = name_of("gdev_cudart.h", code, "cudaError")
    return None if name.endswith(f"<{code}>") else name


def error_text(code: int) -> str | None:
    """cudaGetErrorString's answer; None for a value that is no code."""
    name = error_name(code)
    if name is None:
        return None
    if name in _TEXTS:
        return _TEXTS[name]
    words = name.removeprefix("cudaError")
    return "".join(" " + c.lower() if c.isupper() else c for c in words).strip()


class CudaError(Exception):
    """A failure the CUDA face itself finds (an argument only CUDA has, an unsupported call)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


LAST = LastError(CU.cudaSuccess)
