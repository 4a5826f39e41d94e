"""The card contract, read from include/aidev_drm.h.

The header is the single source of truth: its structs and integer #defines are
handed to cffi as they are, so the Python side never restates a layout.
"""
from __future__ import annotations

import re
from functools import cache

import cffi

from ..settings import INCLUDE_DIR

HEADER = INCLUDE_DIR / "aidev_drm.h"
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


@cache
def _load() -> tuple[cffi.FFI, object]:
    ffi = cffi.FFI()
    ffi.cdef(cdef_source(HEADER.read_text()))
    return ffi, ffi.dlopen(None)


ffi: cffi.FFI = _load()[0]
C = _load()[1]          # integer constants: C.AIDEV_OP_MEMCPY, ...

_IOC_WRITE, _IOC_READ = 1, 2


def ioctl_request(nr: int, struct_name: str) -> int:
    """Linux _IOWR(AIDEV_IOCTL_TYPE, nr, struct) - the encoding the header's macros use."""
    size = ffi.sizeof(struct_name)
    return ((_IOC_READ | _IOC_WRITE) << 30) | (size << 16) | (C.AIDEV_IOCTL_TYPE << 8) | nr


def header_word(op: int, fn: int, sid: int, n: int) -> int:
    return (op << C.AIDEV_HDR_OP_SHIFT) | (fn << C.AIDEV_HDR_FN_SHIFT) | (sid << C.AIDEV_HDR_SID_SHIFT) | n


def split_header(word: int) -> tuple[int, int, int, int]:
    """(op, fn, sid, n) of a header word."""
    return ((word >> C.AIDEV_HDR_OP_SHIFT) & C.AIDEV_HDR_OP_MASK,
            (word >> C.AIDEV_HDR_FN_SHIFT) & C.AIDEV_HDR_FN_MASK,
            (word >> C.AIDEV_HDR_SID_SHIFT) & C.AIDEV_HDR_SID_MASK,
            word & C.AIDEV_HDR_N_MASK)
