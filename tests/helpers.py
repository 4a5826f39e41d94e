"""What several test files share: paths, the build check, subprocess runs, test doubles.

Test files import from here (and conftest.py's fixtures), never from each other.
"""
from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gdev_shim.card import CardFile
from gdev_shim.common.contract import INCLUDE_DIR, C, ffi, header_word, ioctl_request
from gdev_shim.ptx import DEVICE_BASE, MemoryFault

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
KERNELS = TESTS / "kernels"                      # the corpus: tests/kernels/*.cu
LIB_DIR = ROOT / "build" / "lib"
KERNEL_BUILD = ROOT / "build" / "kernels"        # c_tests/kernels/*.cu as code objects
CUBIN = KERNEL_BUILD / "add_test.cubin"
ADD_TEST = ROOT / "c_tests" / "kernels" / "add_test.cu"     # the seed program's kernel, as source
VRAM, HOST = C.AIDEV_GEM_DOMAIN_VRAM, C.AIDEV_GEM_DOMAIN_HOST
MiB = 1 << 20
__all__ = ["INCLUDE_DIR"]

# A subprocess's environment: the documented defaults, the simulated cards, this tree's package.
ENV = {**os.environ, "GDEV_SIM_CARDS": "4", "GDEV_SIM_VRAM": "4G", "GDEV_LOG": "",
       "GDEV_TRANSPORT": "sim", "PYTHONPATH": str(ROOT)}

needs_build = pytest.mark.skipif(
    not (LIB_DIR / "libusdaa.so").exists() or not CUBIN.exists(),
    reason="build/lib and build/kernels come from `make all`")


def run_python(code: str, timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter (the libraries keep process-wide state) from the tree's root."""
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env or ENV, capture_output=True,
                          text=True, timeout=timeout)


# ---- the PTX engine without a card ----------------------------------------------------
class FakeMemory:
    """Device memory test double: bump-allocated buffers with bounds/alignment checks."""

    def __init__(self, size: int = 64 << 20) -> None:
        self.data = np.zeros(size, np.uint8)
        self.next = 0
        self.starts: list[int] = []
        self.ends: list[int] = []

    def alloc(self, nbytes: int) -> int:
        off = (self.next + 255) // 256 * 256
        self.next = off + nbytes
        self.starts.append(off)
        self.ends.append(off + nbytes)
        return DEVICE_BASE + off

    def put(self, arr: np.ndarray) -> int:
        addr = self.alloc(arr.nbytes)
        self.write(addr, arr)
        return addr

    def write(self, addr: int, arr: np.ndarray) -> None:
        off = addr - DEVICE_BASE
        self.data[off:off + arr.nbytes] = np.ascontiguousarray(arr).view(np.uint8).reshape(-1)

    def get(self, addr: int, dtype: type, count: int) -> np.ndarray:
        off = addr - DEVICE_BASE
        return self.data[off:off + count * np.dtype(dtype).itemsize].view(dtype).copy()

    def _offsets(self, addrs: np.ndarray, width: int) -> np.ndarray:
        addrs = np.asarray(addrs, np.uint64)
        off = addrs - np.uint64(DEVICE_BASE)
        low = addrs < np.uint64(DEVICE_BASE)
        starts = np.array(self.starts, np.uint64)
        ends = np.array(self.ends, np.uint64)
        k = np.searchsorted(starts, off, side="right") - 1
        ok = ~low & (k >= 0)
        kk = np.maximum(k, 0)
        ok &= off + np.uint64(width) <= ends[kk] if len(ends) else False
        if not np.all(ok):
            i = int(np.flatnonzero(~ok)[0])
            raise MemoryFault(int(addrs[i]), "out of bounds")
        bad = addrs % np.uint64(width) != 0
        if bad.any():
            raise MemoryFault(int(addrs[np.flatnonzero(bad)[0]]), "misaligned")
        return off.astype(np.int64)

    def load(self, addrs: np.ndarray, dtype: np.dtype) -> np.ndarray:
        dtype = np.dtype(dtype)
        off = self._offsets(addrs, dtype.itemsize)
        return self.data.view(dtype)[off // dtype.itemsize]

    def store(self, addrs: np.ndarray, values: np.ndarray) -> None:
        values = np.asarray(values)
        off = self._offsets(addrs, values.dtype.itemsize)
        self.data.view(values.dtype)[off // values.dtype.itemsize] = values


def exported_symbols(library: Path) -> list[str]:
    """The symbols a shared library defines, as readelf names them (`name@@node` when versioned)."""
    out = subprocess.run(["readelf", "--dyn-syms", "--wide", str(library)], check=True, capture_output=True,
                         text=True).stdout
    return [line.split()[-1] for line in out.splitlines()
            if " GLOBAL " in line and " UND " not in line and " ABS " not in line]


def soname(library: Path) -> str:
    out = subprocess.run(["readelf", "-d", str(library)], check=True, capture_output=True, text=True).stdout
    return next(line.split("[", 1)[1].rstrip("]") for line in out.splitlines() if "(SONAME)" in line)


def pack(*args: tuple[str, int | float]) -> bytes:
    """Kernel parameters packed as the CUDA ABI does (natural alignment)."""
    out = bytearray()
    for fmt, value in args:
        size = struct.calcsize(fmt)
        out += bytes(-len(out) % size)
        out += struct.pack("<" + fmt, value)
    return bytes(out)



# ---- a card's channel driven by hand ----------------------------------------------------
def ioctl(f: CardFile, nr: int, name: str, **fields: int):
    arg = ffi.new(f"struct {name} *", fields)
    return f.ioctl(ioctl_request(nr, f"struct {name}"), arg), arg


class Ring:
    """A channel seen from the host: write words, ring the doorbell, wait on fences."""

    def __init__(self, f: CardFile) -> None:
        self.f = f
        rc, self.alloc = ioctl(f, C.AIDEV_NR_CHANNEL_ALLOC, "aidev_channel_alloc")
        assert rc == 0
        self.id = self.alloc.channel
        self.pb = np.frombuffer(f.mmap(self.alloc.pb_offset, self.alloc.pb_words * 8), dtype=np.uint64)
        self.regs = np.frombuffer(f.mmap(self.alloc.regs_offset, 64), dtype=np.uint32)
        fence = f.mmap(self.alloc.fence_offset, ffi.sizeof("struct aidev_fence_page"))
        self.fence_seq = np.frombuffer(fence, dtype=np.uint64, count=C.AIDEV_FENCE_SLOTS)
        self.fence_time = np.frombuffer(fence, dtype=np.uint64, offset=8 * C.AIDEV_FENCE_SLOTS)
        self.channel = f.channel_by_regs(self.alloc.regs_offset)
        self.put = 0

    def emit(self, op: int, *args: int, fn: int = 0, sid: int = 0) -> None:
        for word in (header_word(op, fn, sid, len(args)), *args):
            self.pb[self.put % len(self.pb)] = word
            self.put += 1

    def fire(self) -> None:
        self.channel.write_reg(C.AIDEV_REG_PB_PUT, self.put)

    def wait(self, slot: int, seq: int, timeout_ms: int = 5000) -> tuple[int, int]:
        rc, arg = ioctl(self.f, C.AIDEV_NR_FENCE_WAIT, "aidev_fence_wait", channel=self.id, slot=slot,
                        seq=seq, timeout_ms=timeout_ms)
        return rc, arg.status


def gem(f: CardFile, size: int, domain: int = VRAM):
    rc, arg = ioctl(f, C.AIDEV_NR_GEM_NEW, "aidev_gem_new", size=size, domain=domain)
    assert rc == 0
    return arg



# ---- a small module for the code-object and compute tests ------------------------------
ADD_PTX = """
.version 8.0
.target sm_80
.address_size 64

.global .align 4 .u32 counter = 7;
.const .align 8 .b8 table[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

.visible .entry add_test(
    .param .u64 add_test_param_0,
    .param .u64 add_test_param_1,
    .param .u64 add_test_param_2,
    .param .u32 add_test_param_3
)
{
    .reg .pred %p<2>;
    .reg .b32 %r<8>;
    .reg .b64 %rd<10>;

    ld.param.u64 %rd1, [add_test_param_0];
    ld.param.u64 %rd2, [add_test_param_1];
    ld.param.u64 %rd3, [add_test_param_2];
    ld.param.u32 %r1, [add_test_param_3];
    mov.u32 %r2, %ctaid.x;
    mov.u32 %r3, %ntid.x;
    mov.u32 %r4, %tid.x;
    mad.lo.s32 %r5, %r2, %r3, %r4;
    setp.ge.s32 %p1, %r5, %r1;
    @%p1 bra DONE;
    mul.wide.s32 %rd4, %r5, 4;
    add.s64 %rd5, %rd1, %rd4;
    add.s64 %rd6, %rd2, %rd4;
    ld.global.u32 %r6, [%rd5];
    ld.global.u32 %r7, [%rd6];
    add.s32 %r6, %r6, %r7;
    add.s64 %rd7, %rd3, %rd4;
    st.global.u32 [%rd7], %r6;
DONE:
    ret;
}

.visible .entry scale(
    .param .u64 scale_param_0,
    .param .f32 scale_param_1
)
{
    ret;
}
"""


# ---- a kernel launched on generic inputs ---------------------------------------------------
def global_kernels(source: Path) -> list[str]:
    """The names of a CUDA source's kernels, in source order (known before it is compiled)."""
    return re.findall(r'__global__\s+void\s+(\w+)\s*\(', source.read_text())


GENERIC_BUF = 256 << 10           # bytes of every pointer parameter's buffer
GENERIC_N = 300                   # every 4-byte scalar parameter


def generic_arguments(card, module, kernel: str, rng: np.random.Generator, data: str = "int",
                      scalars: dict[int, int] | None = None, values: int = 64) -> tuple[bytes, list, int]:
    """(parameter bytes, buffer objects, globals address) for `kernel` on `card`: every 8-byte
    parameter a buffer of random words (ints below `values`, or floats), every other scalar a
    small constant unless `scalars` names it (parameter index -> value, at the parameter's
    size); the module's globals placed and initialised as a loader does."""
    info = module.kernels[kernel]
    params = bytearray(info.param_size)
    bufs = []
    scalars = scalars or {}
    for index, p in enumerate(info.params):
        if index in scalars:
            value = scalars[index] & ((1 << (8 * p.size)) - 1)
            params[p.offset:p.offset + p.size] = value.to_bytes(p.size, "little")
        elif p.size == 8:
            bo = card.gem_new(GENERIC_BUF, VRAM)
            if data == "int":
                words = rng.integers(0, values, GENERIC_BUF // 4, dtype=np.uint32)
            else:
                words = rng.uniform(-4, 4, GENERIC_BUF // 4).astype(np.float32).view(np.uint32)
            card.memory.write(bo.addr, words.tobytes())
            bufs.append(bo)
            struct.pack_into("<Q", params, p.offset, bo.addr)
        elif p.size == 4:
            struct.pack_into("<i", params, p.offset, GENERIC_N)
        elif p.size == 2:
            struct.pack_into("<h", params, p.offset, 7)
        else:
            struct.pack_into("<B", params, p.offset, 3)
    layout = module.global_layout()
    gaddr = 0
    if layout.size:
        g = card.gem_new(layout.size, VRAM)
        # as a loader places it: pointer-valued initialisers resolved for this address
        card.memory.write(g.addr, layout.image(g.addr))
        bufs.append(g)
        gaddr = g.addr
    return bytes(params), bufs, gaddr


# ---- the card daemon of a test's own runtime directory -----------------------------------
def daemon_status(sock_path: Path) -> dict:
    """The daemon's STATUS (its cards and clients), asked on a connection of its own."""
    from gdev_shim.aidev.daemon import status_at
    return status_at(sock_path)


def daemon_socket(env: dict) -> Path:
    """The one daemon socket in the runtime directory of `env`."""
    [path] = (Path(env["XDG_RUNTIME_DIR"]) / "gdev-shim").glob("cardd-*.sock")
    return path


def daemon_pids(run_dir: Path) -> list[int]:
    pids = []
    for sock in (run_dir / "gdev-shim").glob("cardd-*.sock"):
        try:
            pids.append(daemon_status(sock)["pid"])
        except OSError:
            pass
    return pids


def _run_in_out(execute, mod, grid: tuple, block: tuple, n_in: int, n_out: int, w: int,
                seed: int) -> bytes:
    """Run kernel `k(in, out, w)` of `mod` on a fresh card with random int32 inputs."""
    from gdev_shim.card.card import Card
    card = Card(0, vram_size=64 << 20)
    data = np.random.default_rng(seed).integers(-500, 500, n_in, dtype=np.int32)
    src = card.gem_new(n_in * 4, VRAM)
    dst = card.gem_new(n_out * 4, VRAM)
    card.memory.write(src.addr, data.tobytes())
    card.memory.write(dst.addr, bytes(n_out * 4))
    execute(mod, "k", card.memory, grid, block, struct.pack("<QQI", src.addr, dst.addr, w), 0, 0)
    return card.memory.read(dst.addr, n_out * 4)


def assert_jit_matches_interp(mod, grid: tuple, block: tuple, n_in: int, n_out: int, w: int,
                              seed: int = 7) -> None:
    """Kernel `k(in, out, w)` gives the same output words on the JIT as on the interpreter."""
    from gdev_shim import jit
    from gdev_shim.ptx import execute as interp_execute
    got = _run_in_out(jit.execute, mod, grid, block, n_in, n_out, w, seed)
    want = _run_in_out(interp_execute, mod, grid, block, n_in, n_out, w, seed)
    if got != want:
        g, x = np.frombuffer(got, np.int32), np.frombuffer(want, np.int32)
        bad = np.flatnonzero(g != x)
        pytest.fail(f"{bad.size} words differ, first at {bad[0]}: jit {g[bad[0]]} interp {x[bad[0]]}")


# The start of the 2-D test kernels k(in, out, w): %rd1 = in, %rd2 = out, %r1 = w, %r2/%r3
# the thread's x/y in its block, %r6/%r9 its x/y in the grid.
GRID_XY = """    ld.param.u64 %rd1, [k_in];
    ld.param.u64 %rd2, [k_out];
    ld.param.u32 %r1, [k_w];
    mov.u32 %r2, %tid.x;
    mov.u32 %r3, %tid.y;
    mov.u32 %r5, %ntid.x;
    mov.u32 %r4, %ctaid.x;
    mad.lo.s32 %r6, %r4, %r5, %r2;
    mov.u32 %r7, %ctaid.y;
    mov.u32 %r8, %ntid.y;
    mad.lo.s32 %r9, %r7, %r8, %r3;
"""
