"""The card contract, read from include/aidev_drm.h.

The header is the single source of truth: its structs and integer #defines are
handed to cffi as they are, so the Python side never restates a layout.

Parsing a header with cffi (pycparser) costs tens of milliseconds, too much for
a C program's first API call, so `build_ffi.py` turns each header this package
reads into an out-of-line cffi module ahead of time: the card contract into a
compiled one (the C compiler checks every layout), the public headers into
ABI-mode ones (their functions live in the libraries built from this package).
Each module carries a hash of its header; one that is missing or was built from
another text is not used, and the header is parsed here instead.
"""
from __future__ import annotations

import hashlib
import importlib
import re
from functools import cache
from pathlib import Path
from typing import Any

import cffi

from ..log import get

# In a source tree gdev_shim/include links to the repository's include/; an
# installed package carries a copy of those files there.
INCLUDE_DIR = Path(__file__).resolve().parents[1] / "include"
HEADER = INCLUDE_DIR / "aidev_drm.h"
# header -> (module of gdev_shim built from it, whether that module is compiled)
HEADER_MODULES = {
    "aidev_drm.h": ("_aidev_drm", True),
    "sdaa.h": ("_sdaa_h", False),
    "sdaa_runtime.h": ("_sdaa_runtime_h", False),
    "gdev_cudart.h": ("_gdev_cudart_h", False),
    "gdev_cuda.h": ("_gdev_cuda_h", False),
}
HASH_DEFINE = "GDEV_SHIM_HEADER_HASH"

_log = get("gdev.contract")
_INT_DEFINE = re.compile(r"^\s*#\s*define\s+\w+\s+(0x[0-9a-fA-F]+|\d+)\s*(/\*.*\*/)?\s*$")
_CPLUSPLUS_IF = re.compile(r"^\s*#\s*(ifdef\s+__cplusplus|if\s+defined\s*\(?\s*__cplusplus\s*\)?)\s*(/\*.*\*/)?\s*$")
_IF = re.compile(r"^\s*#\s*if")
_ENDIF = re.compile(r"^\s*#\s*endif\b")
_ELSE = re.compile(r"^\s*#\s*else\b")


def cdef_source(text: str) -> str:
    """Keep what cffi understands: declarations and `#define NAME <integer>`.

    `#ifdef __cplusplus ... #endif` blocks (the `extern "C" {` wrappers) are
    dropped whole, nested conditionals included, since their C++ lines are
    not preprocessor lines and would otherwise reach cffi.  An `#else` branch
    of such a block is the C side and is kept.
    """
    kept = []
    depth = 0                          # > 0 while inside a __cplusplus block
    for line in text.splitlines():
        if depth:
            if _IF.match(line):
                depth += 1
            elif _ENDIF.match(line):
                depth -= 1
            elif depth == 1 and _ELSE.match(line):
                depth = 0              # its #endif is then dropped as any # line
            continue
        if _CPLUSPLUS_IF.match(line):
            depth = 1
            continue
        if line.lstrip().startswith("#") and not _INT_DEFINE.match(line):
            continue
        kept.append(line)
    return "\n".join(kept)


def header_hash(text: str) -> int:
    """56 bits of the header's sha256: an integer any C compiler takes as a #define."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:7], "big")


def header_cdef(text: str) -> str:
    """What a prebuilt module declares: the header's cdef and the hash of its text."""
    return f"{cdef_source(text)}\n#define {HASH_DEFINE} {header_hash(text)}\n"


def _prebuilt(header: str, text: str) -> tuple[cffi.FFI, Any] | None:
    module_name, _ = HEADER_MODULES[header]
    try:
        module = importlib.import_module(f"gdev_shim.{module_name}")
    except ImportError:
        return None
    # a compiled module has its lib; an ABI-mode one finds its constants without a library
    lib = module.lib if hasattr(module, "lib") else module.ffi.dlopen(None)
    if getattr(lib, HASH_DEFINE, None) != header_hash(text):
        return None
    return module.ffi, lib


@cache
def header_ffi(header: str) -> tuple[cffi.FFI, Any]:
    """(ffi, lib) of a header of include/: its prebuilt module, or the header parsed now."""
    text = (INCLUDE_DIR / header).read_text()
    if header in HEADER_MODULES:
        built = _prebuilt(header, text)
        if built is not None:
            return built
        _log.debug("%s: no module built from this text; parsing the header", header)
    ffi = cffi.FFI()
    ffi.cdef(cdef_source(text))
    return ffi, ffi.dlopen(None)


ffi: cffi.FFI = header_ffi(HEADER.name)[0]
C = header_ffi(HEADER.name)[1]          # integer constants: C.AIDEV_OP_MEMCPY, ...

_IOC_WRITE, _IOC_READ = 1, 2


def ioctl_request(nr: int, struct_name: str) -> int:
    """Linux _IOWR(AIDEV_IOCTL_TYPE, nr, struct) - the encoding the header's macros use."""
    size = ffi.sizeof(struct_name)
    return ((_IOC_READ | _IOC_WRITE) << 30) | (size << 16) | (C.AIDEV_IOCTL_TYPE << 8) | nr


# ioctl number -> its argument struct (AIDEV_IOCTL_* in the header; cffi does not read macros)
IOCTL_STRUCTS: dict[int, str] = {nr: f"struct aidev_{name}" for nr, name in (
    (C.AIDEV_NR_GET_INFO, "device_info"), (C.AIDEV_NR_GEM_NEW, "gem_new"),
    (C.AIDEV_NR_GEM_FREE, "gem_free"), (C.AIDEV_NR_GEM_INFO, "gem_info"),
    (C.AIDEV_NR_CHANNEL_ALLOC, "channel_alloc"), (C.AIDEV_NR_CHANNEL_FREE, "channel_free"),
    (C.AIDEV_NR_FENCE_WAIT, "fence_wait"), (C.AIDEV_NR_GEM_ALIAS, "gem_alias"),
    (C.AIDEV_NR_GEM_USERPTR, "gem_userptr"), (C.AIDEV_NR_SHM_GET, "shm_get"),
    (C.AIDEV_NR_SHM_ATTACH, "shm_attach"), (C.AIDEV_NR_SHM_CTL, "shm_ctl"),
    (C.AIDEV_NR_HOST_COPY, "host_copy"))}


def request_of(nr: int) -> int:
    """The ioctl request of AIDEV_NR_* `nr`, with its struct's size encoded."""
    return ioctl_request(nr, IOCTL_STRUCTS[nr])


def header_word(op: int, fn: int, sid: int, n: int) -> int:
    return (op << C.AIDEV_HDR_OP_SHIFT) | (fn << C.AIDEV_HDR_FN_SHIFT) | (sid << C.AIDEV_HDR_SID_SHIFT) | n


def split_header(word: int) -> tuple[int, int, int, int]:
    """(op, fn, sid, n) of a header word."""
    return ((word >> C.AIDEV_HDR_OP_SHIFT) & C.AIDEV_HDR_OP_MASK,
            (word >> C.AIDEV_HDR_FN_SHIFT) & C.AIDEV_HDR_FN_MASK,
            (word >> C.AIDEV_HDR_SID_SHIFT) & C.AIDEV_HDR_SID_MASK,
            word & C.AIDEV_HDR_N_MASK)
