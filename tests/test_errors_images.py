"""Malformed code objects through sdModuleLoadData: always INVALID_IMAGE, never a crash,
hang or escaped exception.

Each image is placed so that it ends right before an unmapped page, so a loader
that believes a corrupt header and reads past the caller's bytes faults the
process (and this test) instead of passing by luck.
"""
from __future__ import annotations

import random
import struct
import subprocess
import sys
import textwrap


from helpers import ENV, ROOT, needs_build
from gdev_shim.driver.errors import SD

FUZZ = textwrap.dedent(r"""
    import json, mmap, random, struct, sys, time
    import cffi
    sys.path.insert(0, "tests")
    import errors_abi as abi
    ffi, u, g = abi.open_libraries()
    libc_ffi = cffi.FFI()
    libc_ffi.cdef("int munmap(void *addr, size_t len);")
    libc = libc_ffi.dlopen(None)
    PAGE = mmap.PAGESIZE

    def guarded(data: bytes):
        # data ends where an unmapped page begins
        pages = -(-len(data) // PAGE) + 1
        m = mmap.mmap(-1, pages * PAGE)
        base = libc_ffi.cast("uintptr_t", libc_ffi.from_buffer(m))
        start = int(base) + (pages - 1) * PAGE - len(data)
        m[start - int(base):start - int(base) + len(data)] = data
        assert libc.munmap(libc_ffi.cast("void *", int(base) + (pages - 1) * PAGE), PAGE) == 0
        return m, start

    assert u.sdInit(0) == 0
    ctx = ffi.new("SDcontext *")
    assert u.sdCtxCreate(ctx, 0, 0) == 0
    cases = json.loads(sys.stdin.read())
    codes, slowest = {}, 0.0
    keep = []
    for name, hexdata in cases:
        m, addr = guarded(bytes.fromhex(hexdata))
        mod = ffi.new("SDmodule *")
        t = time.monotonic()
        rc = u.sdModuleLoadData(mod, ffi.cast("void *", addr))
        slowest = max(slowest, time.monotonic() - t)
        if rc == 0:
            assert u.sdModuleUnload(mod[0]) == 0
        codes.setdefault(str(rc), []).append(name)
        keep.append(m)
    p = ffi.new("SDdeviceptr *")
    usable = u.sdMemAlloc(p, 4096) == 0 and u.sdMemFree(p[0]) == 0
    print("RESULT", json.dumps({"codes": codes, "slowest": slowest, "usable": usable}))
""")

CUBIN = ROOT / "build" / "kernels" / "add_test.cubin"
SHDR = struct.Struct("<IIQQQQIIQQ")


def mutations(image: bytes, seed: int = 20240601) -> list[tuple[str, bytes]]:
    rng = random.Random(seed)
    cases: list[tuple[str, bytes]] = [("whole", image)]
    cases += [(f"truncated-{n}", image[:n]) for n in list(range(0, 80)) + rng.sample(range(80, len(image)), 40)]
    for i in range(250):
        data = bytearray(image)
        for _ in range(rng.choice((1, 1, 2, 8))):
            pos = rng.randrange(len(data))
            data[pos] ^= 1 << rng.randrange(8)
        cases.append((f"bitflip-{i}", bytes(data)))
    for i in range(60):
        data = bytearray(image)
        pos = rng.randrange(len(data))
        data[pos:pos + 8] = rng.randbytes(8)
        cases.append((f"smash-{i}", bytes(data)))
    cases += [(f"random-{i}", rng.randbytes(rng.randrange(1, 3000))) for i in range(40)]
    cases += [(f"elf-random-{i}", image[:16] + rng.randbytes(rng.randrange(0, 3000))) for i in range(40)]
    # impossible sizes: the section header table far away, every section claiming huge sizes
    shoff, shnum = struct.unpack_from("<Q", image, 0x28)[0], struct.unpack_from("<H", image, 0x3C)[0]
    for value in (1 << 63, (1 << 64) - 1, 1 << 40, len(image) + 1):
        data = bytearray(image)
        struct.pack_into("<Q", data, 0x28, value)
        cases.append((f"e_shoff-{value:#x}", bytes(data)))
    for i in range(shnum):
        for field, value in ((5, (1 << 64) - 1), (5, 1 << 40), (4, (1 << 64) - 1), (4, len(image))):
            data = bytearray(image)
            fields = list(SHDR.unpack_from(data, shoff + i * SHDR.size))
            fields[field] = value
            SHDR.pack_into(data, shoff + i * SHDR.size, *fields)
            cases.append((f"section{i}-field{field}-{value:#x}", bytes(data)))
    data = bytearray(image)
    struct.pack_into("<H", data, 0x3C, 0xFFFF)
    cases.append(("e_shnum-65535", bytes(data)))
    return cases


PTX_HEAD = ".version 8.0\n.target sm_80\n.address_size 64\n"
PATHOLOGICAL_PTX = {
    "deep-braces": PTX_HEAD + ".visible .entry k()\n" + "{" * 20000 + "}" * 20000,
    "unclosed-body": PTX_HEAD + ".visible .entry k()\n{\n ret;\n",
    "long-identifier": PTX_HEAD + ".visible .entry " + "k" * 200000 + "()\n{\n ret;\n}\n",
    "huge-number": PTX_HEAD + ".visible .entry k()\n{\n .reg .b32 %r<2>;\n mov.u32 %r1, "
                   + "9" * 5000 + ";\n ret;\n}\n",
    "huge-register-count": PTX_HEAD + ".visible .entry k()\n{\n .reg .b32 %r<4000000000>;\n ret;\n}\n",
    "unknown-opcode": PTX_HEAD + ".visible .entry k()\n{\n frobnicate.u32 %r1;\n ret;\n}\n",
    "undeclared-register": PTX_HEAD + ".visible .entry k()\n{\n add.u32 %r1, %r2, %r3;\n ret;\n}\n",
    "branch-nowhere": PTX_HEAD + ".visible .entry k()\n{\n bra $L_missing;\n ret;\n}\n",
    "unterminated-string": PTX_HEAD + '.global .b8 s[4] = "abc\n',
    "only-directives": PTX_HEAD,
    "bad-version": ".version 99.99\n.target sm_999\n",
    "binary-junk": "\x01\x02\x03\x04 .entry",
    "many-params": PTX_HEAD + ".visible .entry k(" + ",".join(f".param .u64 p{i}" for i in range(5000))
                   + ")\n{\n ret;\n}\n",
    "many-lines": PTX_HEAD + ".visible .entry k()\n{\n" + " ret;\n" * 50000 + "}\n",
    "nul-only": "",
    "whitespace": "   \n\t  \n",
    "comment-unclosed": PTX_HEAD + "/* never closed",
    "duplicate-kernel": PTX_HEAD + (".visible .entry k()\n{\n ret;\n}\n" * 2),
}


def run_fuzz(cases: list[tuple[str, bytes]]) -> dict:
    import json
    proc = subprocess.run([sys.executable, "-c", FUZZ], input=json.dumps([(n, d.hex()) for n, d in cases]),
                          cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "internal error" not in proc.stderr, proc.stderr[-3000:]
    return json.loads(proc.stdout.split("RESULT", 1)[1])


@needs_build
def test_corrupt_code_objects_are_invalid_images():
    image = CUBIN.read_bytes()
    cases = mutations(image)
    out = run_fuzz(cases)
    codes = out["codes"]
    assert set(codes) <= {str(SD.SDAA_SUCCESS), str(SD.SDAA_ERROR_INVALID_IMAGE)}, \
        {k: v[:5] for k, v in codes.items()}
    invalid = set(codes[str(SD.SDAA_ERROR_INVALID_IMAGE)])
    assert "whole" in codes[str(SD.SDAA_SUCCESS)]
    # everything structural must be refused; only changes to bytes nothing reads may still load
    # (the null section, padding after the last section body)
    shoff, shnum = struct.unpack_from("<Q", image, 0x28)[0], struct.unpack_from("<H", image, 0x3C)[0]
    claimed = shoff + shnum * SHDR.size
    assert all(n in invalid for n, d in cases
               if n.startswith(("random-", "elf-random-", "e_shoff-", "e_shnum-"))
               or (n.startswith("truncated-") and len(d) < claimed))
    assert len(invalid) > 0.6 * len(cases)
    assert out["usable"] and out["slowest"] < 20


@needs_build
def test_pathological_ptx_text_is_an_invalid_image():
    cases = [(n, t.encode("utf-8", "surrogateescape") + b"\0") for n, t in PATHOLOGICAL_PTX.items()]
    cases.append(("invalid-utf8", b"\xff\xfe.entry k\0"))
    cases.append(("no-terminator", b".version 8.0 " * 100))     # runs into the guard page
    out = run_fuzz(cases)
    codes = out["codes"]
    assert codes.get(str(SD.SDAA_ERROR_INVALID_IMAGE), []) and set(codes) <= {
        str(SD.SDAA_SUCCESS), str(SD.SDAA_ERROR_INVALID_IMAGE)}
    refused = set(codes[str(SD.SDAA_ERROR_INVALID_IMAGE)])
    for name in ("deep-braces", "unclosed-body", "unknown-opcode", "branch-nowhere", "binary-junk",
                 "nul-only", "whitespace", "invalid-utf8", "no-terminator", "comment-unclosed",
                 "duplicate-kernel", "unterminated-string", "huge-number"):
        assert name in refused, name
    assert out["usable"] and out["slowest"] < 20
