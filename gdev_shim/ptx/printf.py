"""Device printf (`vprintf`): format strings and argument buffers as CUDA lays them out.

Arguments sit in a buffer, each aligned to its own size: 4 bytes for int-sized
conversions, 8 for long/pointer/double (floats arrive promoted to double).
"""
from __future__ import annotations

import re
import struct
from typing import Any, Callable

import numpy as np

from .errors import PtxError
from .memory import LOCAL_TAG, LOCAL_WINDOW, SHARED_TAG, SHARED_WINDOW, WINDOW_SHIFT, MemoryFault
from .ptxast import Instr

_SPEC = re.compile(r"%([-+ #0]*)(\d+)?(?:\.(\d+))?(hh|h|ll|l|L|z|j|t)?([diouxXeEfFgGaAcsp%])")
_MAX_STRING = 4096


Reader = Callable[[int, int], bytes]       # (generic address, n) -> the n bytes there


def generic_reader(mem: Any, shared: Reader, shared_size: int, local: Reader,
                   local_size: int) -> Reader:
    """A lane's view of generic addresses: its block's shared window (offset, n), its own
    local window (offset, n), and device memory elsewhere; either engine supplies the two
    windows as it lays them out."""
    def read(addr: int, n: int) -> bytes:
        tag = addr >> WINDOW_SHIFT
        if tag == SHARED_TAG:
            off = addr - SHARED_WINDOW
            if off + n > shared_size:
                raise MemoryFault(addr, "shared access out of bounds")
            return shared(off, n)
        if tag == LOCAL_TAG:
            off = addr - LOCAL_WINDOW
            if off + n > local_size:
                raise MemoryFault(addr, "local access out of bounds")
            return local(off, n)
        addrs = np.arange(n, dtype=np.uint64) + np.uint64(addr)
        return np.asarray(mem.load(addrs, np.dtype(np.uint8)), np.uint8).tobytes()
    return read


def read_string(read: Reader, addr: int) -> str:
    out = bytearray()
    while len(out) < _MAX_STRING:
        b = read(addr + len(out), 1)
        if b == b"\0":
            break
        out += b
    return out.decode("utf-8", errors="replace")


def format_call(read: Reader, fmt_addr: int, args_addr: int) -> str:
    """One lane's vprintf(fmt, args): the text it prints (MemoryFault on a bad address)."""
    cursor = [0]

    def arg(size: int) -> bytes:
        cursor[0] = (cursor[0] + size - 1) // size * size
        data = read(args_addr + cursor[0], size)
        cursor[0] += size
        return data
    return format_printf(read_string(read, fmt_addr), arg, lambda p: read_string(read, p))


def format_printf(fmt: str, arg: Callable[[int], bytes], string: Callable[[int], str]) -> str:
    """Format like CUDA's printf; `arg(size)` returns the next aligned argument's bytes."""
    out: list[str] = []
    pos = 0
    for m in _SPEC.finditer(fmt):
        out.append(fmt[pos:m.start()])
        pos = m.end()
        flags, width, prec, length, conv = m.groups()
        if conv == "%":
            out.append("%")
            continue
        spec = "%" + flags + (width or "") + (f".{prec}" if prec is not None else "")
        if conv in "diouxXc":
            size = 8 if length in ("l", "ll", "z", "j", "t") else 4
            raw = arg(size)
            signed = conv in "di"
            value = int.from_bytes(raw, "little", signed=signed)
            if length == "h":
                value = value & 0xFFFF if not signed else (value + 0x8000) % 0x10000 - 0x8000
            elif length == "hh":
                value = value & 0xFF if not signed else (value + 0x80) % 0x100 - 0x80
            if conv == "c":
                out.append((spec + "c") % chr(value & 0xFF))
            else:
                out.append((spec + ("d" if conv == "u" else conv)) % value)
        elif conv in "eEfFgGaA":
            value = struct.unpack("<d", arg(8))[0]
            out.append(value.hex() if conv in "aA" else (spec + conv) % value)
        elif conv == "s":
            ptr = int.from_bytes(arg(8), "little")
            out.append((spec + "s") % ("(null)" if ptr == 0 else string(ptr)))
        else:   # %p
            out.append(f"0x{int.from_bytes(arg(8), 'little'):x}")
    out.append(fmt[pos:])
    return "".join(out)


def _lane_reader(st: Any, lane: int) -> Reader:
    shared0 = int(st.blk[lane]) * st.shared_stride
    local0 = lane * st.local_stride
    return generic_reader(
        st.mem, lambda off, n: st.shared[shared0 + off:shared0 + off + n].tobytes(), st.shared_stride,
        lambda off, n: st.local[local0 + off:local0 + off + n].tobytes(), st.local_stride)


def build_vprintf(ins: Instr, rets: list, args: list, ctx: Any) -> Callable:
    if len(args) != 2:
        raise PtxError("vprintf takes two parameters", ins.line)
    fmt_ref = ctx.param_ref(("addr", args[0], 0))
    arg_ref = ctx.param_ref(("addr", args[1], 0))
    text = ins.text

    def run(st: Any, lanes: Any) -> None:
        pm = st.parmem.reshape(st.L, st.param_stride)
        ids = np.arange(st.L) if lanes is None else lanes
        fmts = np.ascontiguousarray(pm[ids, fmt_ref.offset:fmt_ref.offset + 8]).view(np.uint64)
        bufs = np.ascontiguousarray(pm[ids, arg_ref.offset:arg_ref.offset + 8]).view(np.uint64)
        for lane, f, b in zip(ids.tolist(), fmts.reshape(-1).tolist(), bufs.reshape(-1).tolist()):
            try:
                line = format_call(_lane_reader(st, lane), f, b)
            except MemoryFault as exc:
                raise st.fault(lane, text, exc.address, f"printf: {exc.reason}") from None
            st.printed.append((lane, len(st.printed), line))
    return run
