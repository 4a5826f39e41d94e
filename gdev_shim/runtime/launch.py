"""Launch configuration (sdaaConfigureCall / sdaaSetupArgument) and sdaaLaunch."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

from ..driver import launch as drv_launch, stream as drv_stream
from ..log import get
from . import devices, fatbin
from .errors import RT, SdaaError, translated

log = get("gdev.runtime")
MAX_ARG_BYTES = 4096


@dataclass
class CallConfig:
    arrays: int
    args: bytearray = field(default_factory=bytearray)

    def params(self, size: int) -> bytes:
        """The argument bytes, zero-filled up to the kernel's parameter size."""
        return bytes(self.args) + b"\0" * max(0, size - len(self.args))


_tls = threading.local()


def _stack() -> list[CallConfig]:
    try:
        return _tls.configs
    except AttributeError:
        stack: list[CallConfig] = []
        _tls.configs = stack
        return stack


def configure(arrays: int) -> None:
    if arrays < 1:
        raise SdaaError(RT.sdaaErrorInvalidConfiguration, f"sdaaConfigureCall({arrays})")
    _stack().append(CallConfig(arrays))


def check_argument(size: int, offset: int) -> CallConfig:
    """The checks of sdaaSetupArgument, made before the argument bytes are read; the
    configuration the argument goes to."""
    stack = _stack()
    if not stack:
        raise SdaaError(RT.sdaaErrorMissingConfiguration, "sdaaSetupArgument before sdaaConfigureCall")
    if offset < 0 or size < 0 or offset + size > MAX_ARG_BYTES:
        raise SdaaError(RT.sdaaErrorInvalidValue, f"argument at {offset}+{size} beyond {MAX_ARG_BYTES}")
    return stack[-1]


def setup_argument(data: bytes, offset: int, config: CallConfig | None = None) -> None:
    """Place an argument's bytes; `config` is what check_argument returned for them (when
    the caller made the checks already)."""
    args = (config or check_argument(len(data), offset)).args
    size = len(args)
    if offset == size:                   # arguments come in order, one after the other
        args += data
        return
    end = offset + len(data)
    if end > size:
        args.extend(bytes(end - size))
    args[offset:end] = data


def pop_config(entry: str) -> CallConfig:
    stack = _stack()
    if not stack:
        raise SdaaError(RT.sdaaErrorMissingConfiguration, f"launch of {entry!r} without sdaaConfigureCall")
    return stack.pop()


@translated
def launch(entry: str, stream: drv_stream.Stream | None = None) -> None:
    """Launch `entry` on the configured SPE arrays of this thread's card."""
    config = pop_config(entry)
    device = devices.current()
    f = fatbin.function(entry, device)
    log.debug("launch: entry=%s card=%d arrays=%d args=%d", entry, device, config.arrays, len(config.args))
    grid, block = drv_launch.array_shape(f, config.arrays)
    drv_stream.launch(stream, f, grid, block, 0, config.params(f.meta.param_size))
