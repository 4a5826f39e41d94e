"""Device printf on the JIT: each lane's vprintf calls back into the host.

The kernel walks the lanes of the call in order and calls the launch's callback with the
lane's format and argument addresses and where its shared and local windows live; the
callback formats exactly as the interpreter does (`ptx/printf.py`) and keeps the line
with its block and thread, so the launch prints them in the interpreter's order.
"""
from __future__ import annotations

import ctypes
import threading
from typing import Any

from llvmlite import ir

from ..ptx.form import form_of
from ..ptx.memory import MemoryFault
from ..ptx.parser import split_call
from ..ptx.printf import format_call, generic_reader
from . import abi
from .errors import JitUnsupported
from .lanes import I8, I32, I64, finish_entry, start_function
from .lanewise import loop, mask_array

# int32 callback(fmt, args, local row, shared, block, thread): 0, or 1 after a fault
CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_uint64,
                            ctypes.c_uint64, ctypes.c_int64, ctypes.c_int64)


class PrintfSink:
    """The callback of one launch and the lines its kernels printed."""

    def __init__(self, memory: Any, shared_size: int, local_size: int) -> None:
        self.memory = memory
        self.shared_size = shared_size
        self.local_size = local_size
        self.lines: list[tuple[int, int, int, str]] = []
        self.fault: tuple[int | None, str] | None = None
        self._lock = threading.Lock()
        self.callback = CALLBACK(self._call)

    def _call(self, fmt: int, args: int, local_row: int, shared: int, block: int, thread: int) -> int:
        read = generic_reader(self.memory, lambda off, n: ctypes.string_at(shared + off, n),
                              self.shared_size,
                              lambda off, n: ctypes.string_at(local_row + off, n), self.local_size)
        try:
            text = format_call(read, fmt, args)
        except MemoryFault as exc:
            self.fault = (exc.address, f"printf: {exc.reason}")
            return 1
        with self._lock:
            self.lines.append((block, thread, len(self.lines), text))
        return 0

    def flush(self, printf: Any) -> None:
        """Hand the lines over in block, thread, call order."""
        if printf is not None:
            for _block, _thread, _seq, text in sorted(self.lines):
                printf(text)


def is_printf(item: Any) -> bool:
    if item.ins is None or form_of(item.ins).base != "call":
        return False
    _rets, target, _args = split_call(item.ins)
    return target[0] == "sym" and target[1] == "vprintf"


def emit_printf(kc: Any, item: Any, mask: ir.Value) -> None:
    """vprintf for the lanes of `mask`, lowest lane first; a fault ends the kernel."""
    b = kc.b
    _rets, _target, args = split_call(item.ins)
    if len(args) != 2:
        raise JitUnsupported("vprintf takes two parameters")
    fmt_off, args_off = (kc.param_ref(item, a)[0] for a in args)
    status = b.call(_helper(kc), [kc.env_ptr, ir.Constant(I64, fmt_off), ir.Constant(I64, args_off),
                                  mask_array(kc, mask), b.load(kc.blk_a), b.load(kc.ws_a),
                                  ir.Constant(I64, kc.pc)])
    ok = kc.fn.append_basic_block(f"printf_ok{kc.pc}")
    b.cbranch(b.icmp_unsigned("!=", status, ir.Constant(I32, 0)), kc.fail_bb, ok)
    b.position_at_end(ok)


def _helper(kc: Any) -> ir.Function:
    """i32 printf_lanes(env, fmt_off, args_off, mask, block, first_thread, pc)."""
    fn = kc.helpers.get("printf")
    if fn is not None:
        return fn
    W = kc.W
    fty = ir.FunctionType(I32, [ir.PointerType(I64), I64, I64, ir.PointerType(ir.ArrayType(I8, W)),
                                I64, I32, I64])
    fn = ir.Function(kc.m, fty, name="printf_lanes")
    fn.linkage = "internal"
    kc.helpers["printf"] = fn
    env, fmt_off, args_off, mask, block, first, pc = fn.args
    b = start_function(fn)

    def slot(bb: ir.IRBuilder, i: int) -> ir.Value:
        return bb.load(bb.gep(env, [ir.Constant(I32, i)]))

    cb_type = ir.FunctionType(I32, [I64] * 6)

    def lane(bb: ir.IRBuilder, j: ir.Value) -> None:
        on = bb.icmp_unsigned("!=", bb.load(bb.gep(mask, [ir.Constant(I32, 0), j])), ir.Constant(I8, 0))
        with bb.if_then(on):
            j64 = bb.zext(j, I64)
            prow = bb.add(slot(bb, abi.PARMEM), bb.mul(j64, slot(bb, abi.PARAM_STRIDE)))
            fmt, arg = (bb.load(bb.inttoptr(bb.add(prow, off), ir.PointerType(I64)), align=1)
                        for off in (fmt_off, args_off))
            local = bb.add(slot(bb, abi.LOCAL), bb.mul(j64, slot(bb, abi.LOCAL_STRIDE)))
            thread = bb.zext(bb.add(first, j), I64)
            cb = bb.inttoptr(slot(bb, abi.PRINTF), ir.PointerType(cb_type))
            status = bb.call(cb, [fmt, arg, local, slot(bb, abi.SHARED), block, thread])
            with bb.if_then(bb.icmp_unsigned("!=", status, ir.Constant(I32, 0))):
                record = bb.inttoptr(slot(bb, abi.FAULT), ir.PointerType(I64))
                for index, value in ((abi.F_REASON, ir.Constant(I64, abi.PRINTF_FAULT)),
                                     (abi.F_LANE, j64), (abi.F_ADDR, ir.Constant(I64, -1)),
                                     (abi.F_PC, pc)):
                    bb.store(value, bb.gep(record, [ir.Constant(I32, index)]))
                bb.ret(ir.Constant(I32, 1))
    loop(fn, b, W, lane, "lane")
    b.ret(ir.Constant(I32, 0))
    finish_entry(fn)
    return fn

