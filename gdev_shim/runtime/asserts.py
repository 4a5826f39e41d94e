"""Device `assert` reports: one host-visible report buffer per primary context, which the
`__assertfail` definition (common/assertfail.py) fills before its kernel traps."""
from __future__ import annotations

import sys
import threading

from ..common.assertfail import REPORT_BYTES, message
from ..driver import memory as drv_mem
from ..driver.context import Context
from ..gdev import hostmem

_lock = threading.Lock()
_buffers: dict[int, tuple[Context, int, int]] = {}     # id(context) -> (context, host, device)
_failed: set[int] = set()                               # id(context) of contexts an assert stopped


def report_address(ctx: Context) -> int:
    """The device address of `ctx`'s report buffer, allocated on first use."""
    with _lock:
        entry = _buffers.get(id(ctx))
        if entry is None or entry[0] is not ctx:
            host = drv_mem.alloc_host(ctx, REPORT_BYTES)
            hostmem.view(host, REPORT_BYTES)[:] = 0
            entry = _buffers[id(ctx)] = (ctx, host, drv_mem.host_device_pointer(host))
        return entry[2]


def failed_by_assert(ctx: Context) -> bool:
    """Did an assert stop `ctx`?  The first time it is seen, CUDA's message goes to stderr."""
    with _lock:
        entry = _buffers.get(id(ctx))
        if entry is None or entry[0] is not ctx:
            return False
        if id(ctx) in _failed:
            return True
        text = message(hostmem.view(entry[1], REPORT_BYTES).tobytes())
        if text is None:
            return False
        _failed.add(id(ctx))
    sys.stderr.write(text + "\n")
    sys.stderr.flush()
    return True
