"""Module variables by their host shadows (`__device__`, `__constant__`), or for a
`__managed__` variable by the address the host reaches it at: their device addresses and
sizes on this thread's card, and copies to and from them."""
from __future__ import annotations

from . import devices, fatbin, managed, memory, streams
from .errors import RT, SdaaError, translated


def _symbol(host_addr: int) -> tuple[int, int]:
    """(device address, size): a __managed__ variable's copies go to its bytes in the module's
    globals, the same bytes the host reaches at `host_addr`."""
    devices.context()                     # the card loads the registered modules with it
    return managed.variable(host_addr) or fatbin.symbol(host_addr, devices.current())


def _range(host_addr: int, count: int, offset: int) -> int:
    addr, size = _symbol(host_addr)
    if offset < 0 or offset + count > size:
        raise SdaaError(RT.sdaaErrorInvalidValue,
                        f"{count} bytes at offset {offset} of a {size}-byte device variable")
    return addr + offset


@translated
def address_of(host_addr: int) -> int:
    """A __managed__ variable's address is the one the host and kernels share."""
    addr = _symbol(host_addr)[0]
    return host_addr if managed.variable(host_addr) else addr


@translated
def size_of(host_addr: int) -> int:
    return _symbol(host_addr)[1]


def _copy(dst: int, src: int, count: int, kind: int, stream: int | None) -> None:
    kind = memory.resolve_kind(dst, src, kind)
    if stream is None:
        memory.memcpy(dst, src, count, kind)
    else:
        streams.memcpy_async(dst, src, count, kind, stream)


@translated
def copy_to(host_addr: int, src: int, count: int, offset: int, kind: int, stream: int | None = None) -> None:
    """Into the variable; on `stream` when one is given, else synchronously."""
    if kind not in (memory.HOST_TO_DEVICE, memory.DEVICE_TO_DEVICE, memory.DEFAULT_KIND):
        raise SdaaError(RT.sdaaErrorInvalidMemcpyDirection, f"copy to a device variable with kind {kind}")
    _copy(_range(host_addr, count, offset), src, count, kind, stream)


@translated
def copy_from(dst: int, host_addr: int, count: int, offset: int, kind: int, stream: int | None = None) -> None:
    """Out of the variable; on `stream` when one is given, else synchronously."""
    if kind not in (memory.DEVICE_TO_HOST, memory.DEVICE_TO_DEVICE, memory.DEFAULT_KIND):
        raise SdaaError(RT.sdaaErrorInvalidMemcpyDirection, f"copy from a device variable with kind {kind}")
    _copy(dst, _range(host_addr, count, offset), count, kind, stream)
