"""Pageable copies through the card daemon in one copy (AIDEV_IOCTL_HOST_COPY): the
daemon reads and writes the client's memory itself, falls back to bounce buffers where
the system refuses, and a bad host range is an error, never a daemon fault."""
from __future__ import annotations

import errno
import subprocess
import sys

from gdev_shim.card import remote
from helpers import ROOT

MiB = 1 << 20

# Copies a 24 MiB pattern (above what the bounce buffers hold) there and back through
# card 1, checks it, then prints this client's HOST_COPY counters from the daemon.
ROUND_TRIP = """
import os, numpy as np, gdev_shim
from gdev_shim.aidev.daemon import status_at
from gdev_shim.cardd.address import daemon_socket
n = 24 << 20
src = np.random.default_rng(5).integers(0, 256, n, dtype=np.uint8)
d = gdev_shim.Device(1)
m = d.malloc(n)
m.copy_from(src)
back = m.to_numpy(np.uint8, n)
assert np.array_equal(back, src), "round trip differs"
me = [c for c in status_at(daemon_socket())["cards"][1]["clients"] if c["pid"] == os.getpid()]
print(me[0]["host_copies"], me[0]["host_copy_bytes"])
"""


def _run(env: dict, code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


ONE_COPY = {"GDEV_MEMCPY_ONE_COPY": "1"}


def test_a_large_pageable_copy_is_one_copy_by_the_daemon_when_asked(daemon_env):
    copies, nbytes = map(int, _run({**daemon_env, **ONE_COPY}, ROUND_TRIP).split())
    assert copies == 2 and nbytes == 2 * 24 * MiB
    # by default the bounce buffers serve (process_vm_* is slower than memcpy on many kernels)
    assert _run(daemon_env, ROUND_TRIP).split() == ["0", "0"]


def test_bounce_buffers_serve_when_the_daemon_may_not_reach_the_client(daemon_env):
    env = {**daemon_env, **ONE_COPY, remote.REFUSE_ENV: "1", "GDEV_LOG": "debug"}
    proc = subprocess.run([sys.executable, "-c", ROUND_TRIP], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["0", "0"]
    assert "pageable copies through bounce buffers" in proc.stderr


BAD_HOST = """
import ctypes, errno, numpy as np, gdev_shim
from gdev_shim.aidev.device import AidevDevice, AidevError
from gdev_shim.common.contract import C
dev = AidevDevice.open(0)
handle, addr, _ = dev.gem_new(1 << 20, C.AIDEV_GEM_DOMAIN_VRAM)
codes = []
for host, to_host in ((8, False), (8, True), (0x7ff0_0000_0000, False)):
    try:
        dev.host_copy(addr, host, 1 << 20, to_host)
        codes.append(0)
    except AidevError as e:
        codes.append(e.errno)
try:
    dev.host_copy(addr + (1 << 20) - 8, 0x1000, 64, False)    # past the buffer object
except AidevError as e:
    codes.append(e.errno)
data = np.arange(1 << 18, dtype=np.uint32)
out = np.zeros_like(data)
dev.host_copy(addr, data.ctypes.data, data.nbytes, False)   # the daemon still serves
dev.host_copy(addr, out.ctypes.data, out.nbytes, True)
assert np.array_equal(out, data)
print(*codes)
"""


def test_a_bad_host_range_is_efault_and_the_daemon_lives(daemon_env):
    codes = list(map(int, _run(daemon_env, BAD_HOST).split()))
    assert codes == [errno.EFAULT, errno.EFAULT, errno.EFAULT, errno.EINVAL]
    # another process still gets its copies done
    copies, _ = map(int, _run({**daemon_env, **ONE_COPY}, ROUND_TRIP).split())
    assert copies == 2


def test_a_short_count_is_efault():
    """Part of the range readable: what arrived is not reported, the copy fails."""
    import ctypes
    import mmap
    import os

    import numpy as np
    import pytest
    pages = mmap.mmap(-1, 2 * mmap.PAGESIZE)
    base = ctypes.addressof(ctypes.c_char.from_buffer(pages))
    libc = ctypes.CDLL(None)
    assert libc.mprotect(ctypes.c_void_p(base + mmap.PAGESIZE), ctypes.c_size_t(mmap.PAGESIZE), 0) == 0
    local = np.zeros(2 * mmap.PAGESIZE, np.uint8)
    with pytest.raises(OSError) as info:
        remote.transfer(os.getpid(), local, base, False)
    assert info.value.errno == errno.EFAULT
    libc.mprotect(ctypes.c_void_p(base + mmap.PAGESIZE), ctypes.c_size_t(mmap.PAGESIZE), 3)
