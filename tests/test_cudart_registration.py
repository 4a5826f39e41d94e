"""Bad registrations through libcudart.so.13: each answers NULL with CUDA's code as the last
error and a log line, and the library keeps working (no crash, no Python traceback)."""
from __future__ import annotations

import json

import pytest

from helpers import LIB_DIR, run_python

needs_lib = pytest.mark.skipif(not (LIB_DIR / "libcudart.so.13").exists(), reason="build/lib comes from `make all`")

PROGRAM = r"""
import json, struct, zstandard, cffi
from gdev_shim.common import nvfatbin
ffi = cffi.FFI()
ffi.cdef('''void **__cudaRegisterFatBinary(void *fatCubin);
            int cudaGetLastError(void); int cudaMalloc(void **p, size_t n); int cudaFree(void *p);
            void __cudaRegisterFunction(void **h, const char *host, char *dev, const char *name, int limit,
                                        void *tid, void *bid, void *bdim, void *gdim, int *wsize);
            int cudaLaunchKernel(const void *func, unsigned long long g1, unsigned int g2,
                                 unsigned long long b1, unsigned int b2, void **args, size_t shared, void *s);''')
lib = ffi.dlopen(%(lib)r)
keep = []

def wrapper(magic, data):
    w = ffi.new("char[]", nvfatbin.WRAPPER.pack(magic, 1, data, 0))
    keep.append(w)
    return w

def buffer(data):
    b = ffi.new("char[]", data)
    keep.append(b)
    return int(ffi.cast("uintptr_t", b))

ptx = b".version 8.0\n.target sm_80\n.address_size 64\n.visible .entry k()\n{\n ret;\n}\n"
def container(payload, kind=1, compressed=False):
    stored = zstandard.ZstdCompressor().compress(payload) if compressed else payload
    padded = -(-len(stored) // 8) * 8
    head = nvfatbin.ENTRY.pack(kind, 0x101, 64, padded, len(stored) if compressed else 0, 0, 0, 8, 80, 0, 0,
                               0x8011 if compressed else 0x11, 0, len(payload))
    body = head + stored + b"\0" * (padded - len(stored))
    return nvfatbin.CONTAINER.pack(nvfatbin.CONTAINER_MAGIC, 1, 16, len(body)) + body

cases = {
    "null": ffi.NULL,
    "wrapper magic": wrapper(0x1234, buffer(container(ptx))),
    "unreadable data": wrapper(nvfatbin.WRAPPER_MAGIC, 0x10),
    "container magic": wrapper(nvfatbin.WRAPPER_MAGIC, buffer(b"\0" * 64)),
    "huge container": wrapper(nvfatbin.WRAPPER_MAGIC,
                              buffer(nvfatbin.CONTAINER.pack(nvfatbin.CONTAINER_MAGIC, 1, 16, 1 << 40))),
    "machine code only": wrapper(nvfatbin.WRAPPER_MAGIC, buffer(container(b"\x7fELF" + b"\0" * 60, kind=2))),
    "bad zstd": wrapper(nvfatbin.WRAPPER_MAGIC, buffer(container(ptx, compressed=True)[:-8] + b"\xff" * 8)),
}
out, handles = {}, {}
for name, w in cases.items():
    handles[name] = lib.__cudaRegisterFatBinary(w)
    out[name] = [handles[name] == ffi.NULL, lib.cudaGetLastError()]
good = lib.__cudaRegisterFatBinary(wrapper(nvfatbin.WRAPPER_MAGIC, buffer(container(ptx, compressed=True))))
stubs = {}
for name, handle in (("good", good), ("bad zstd", handles["bad zstd"])):
    stubs[name] = ffi.new("char[1]")
    lib.__cudaRegisterFunction(handle, stubs[name], ffi.new("char[]", b"k"), ffi.new("char[]", b"k"), -1,
                               ffi.NULL, ffi.NULL, ffi.NULL, ffi.NULL, ffi.NULL)
one = (1 << 32) | 1
for name, stub in (("good", stubs["good"]), ("bad zstd", stubs["bad zstd"]), ("unknown", ffi.new("char[1]"))):
    out["launch " + name] = lib.cudaLaunchKernel(stub, one, 1, one, 1, ffi.NULL, 0, ffi.NULL)
p = ffi.new("void **")
out["malloc"] = lib.cudaMalloc(p, 64)
out["free"] = lib.cudaFree(p[0])
print(json.dumps(out))
"""


@needs_lib
def test_bad_fat_binaries_get_cuda_codes_and_the_library_keeps_working():
    proc = run_python(PROGRAM % {"lib": str(LIB_DIR / "libcudart.so.13")})
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.splitlines()[-1])
    invalid_value, invalid_image, no_image = 1, 200, 209
    assert out["null"] == [True, invalid_value]
    for case in ("wrapper magic", "unreadable data", "container magic", "huge container"):
        assert out[case] == [True, invalid_image], case
    assert out["machine code only"] == [True, no_image]
    assert out["bad zstd"] == [False, 0]            # read at registration, unpacked at load
    assert out["launch good"] == 0
    assert out["launch bad zstd"] == invalid_image   # ... where the damage shows
    assert out["launch unknown"] == invalid_image    # the first registration that failed is the reason
    assert out["malloc"] == 0 and out["free"] == 0
    assert "Traceback" not in proc.stderr
    assert "rebuild with PTX embedded" in proc.stderr and "__cudaRegisterFatBinary" in proc.stderr
