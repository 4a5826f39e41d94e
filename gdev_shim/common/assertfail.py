"""CUDA's device `assert` for engines that know `trap` but not `__assertfail`.

nvcc compiles a failing `assert(e)` into a call of the external function
`__assertfail(message, file, line, function, charSize)`, which the CUDA driver
supplies.  Here a PTX definition takes the extern's place: the first failing
thread writes its report into a host-visible buffer (REPORT layout below), then
every failing thread executes `trap`, so the launch fails.  The runtime reads
the report after the failure, prints CUDA's message and answers cudaErrorAssert.
(A report, not `vprintf`: the output of a kernel that faults is not kept.)
"""
from __future__ import annotations

import re
import struct

TEXT_BYTES = 256                 # each string of the report, NUL included (longer ones are cut)
REPORT = struct.Struct("<IIIIIIII")   # flag, line, ctaid.x/y/z, tid.x/y/z; then message, file, function
REPORT_BYTES = REPORT.size + 3 * TEXT_BYTES
_EXTERN = re.compile(r"\.extern\s+\.func\s+__assertfail\s*\([^)]*\)\s*;", re.S)

_COPY = """
    ld.param.u64 %gdev_s, [{param}];
    add.u64 %gdev_d, %gdev_buf, {offset};
    mov.u32 %gdev_n, 0;
{label}_loop:
    ld.u8 %gdev_c, [%gdev_s];
    setp.eq.u32 %gdev_p, %gdev_n, {last};
    @%gdev_p mov.u32 %gdev_c, 0;
    st.u8 [%gdev_d], %gdev_c;
    setp.eq.u32 %gdev_p, %gdev_c, 0;
    @%gdev_p bra {label}_done;
    add.u64 %gdev_s, %gdev_s, 1;
    add.u64 %gdev_d, %gdev_d, 1;
    add.u32 %gdev_n, %gdev_n, 1;
    bra.uni {label}_loop;
{label}_done:
"""

_DEFINITION = """
.func __assertfail(.param .b64 __gdev_a_msg, .param .b64 __gdev_a_file, .param .b32 __gdev_a_line,
                   .param .b64 __gdev_a_fn, .param .b64 __gdev_a_size)
{{
    .reg .b64 %gdev_buf, %gdev_s, %gdev_d;
    .reg .b32 %gdev_old, %gdev_n, %gdev_c, %gdev_v;
    .reg .pred %gdev_p;
    mov.u64 %gdev_buf, {buffer};
    atom.global.cas.b32 %gdev_old, [%gdev_buf], 0, 1;
    setp.ne.u32 %gdev_p, %gdev_old, 0;
    @%gdev_p bra __gdev_assert_trap;
    ld.param.u32 %gdev_v, [__gdev_a_line];
    st.global.u32 [%gdev_buf+4], %gdev_v;
{indices}{copies}
__gdev_assert_trap:
    trap;
    ret;
}}
"""


def with_assertfail(ptx: str, report_addr: int) -> str:
    """`ptx` with a definition of `__assertfail` reporting to the device address
    `report_addr` (REPORT_BYTES of host-visible memory), where it declared the extern."""
    match = _EXTERN.search(ptx)
    if match is None:
        return ptx
    copies = "".join(
        _COPY.format(param=param, offset=REPORT.size + i * TEXT_BYTES, last=TEXT_BYTES - 1, label=f"__gdev_copy{i}")
        for i, param in enumerate(("__gdev_a_msg", "__gdev_a_file", "__gdev_a_fn")))
    indices = "".join(f"    mov.u32 %gdev_v, {reg};\n    st.global.u32 [%gdev_buf+{8 + 4 * i}], %gdev_v;\n"
                      for i, reg in enumerate(("%ctaid.x", "%ctaid.y", "%ctaid.z", "%tid.x", "%tid.y", "%tid.z")))
    definition = _DEFINITION.format(buffer=report_addr, indices=indices, copies=copies)
    return ptx[:match.start()] + definition + ptx[match.end():]


def message(report: bytes) -> str | None:
    """CUDA's line for a report buffer, None if no thread has failed an assert."""
    flag, line, bx, by, bz, tx, ty, tz = REPORT.unpack_from(report)
    if not flag:
        return None
    texts = [report[REPORT.size + i * TEXT_BYTES:REPORT.size + (i + 1) * TEXT_BYTES].split(b"\0", 1)[0]
             .decode(errors="replace") for i in range(3)]
    msg, file, function = texts
    return (f"{file}:{line}: {function}: block: [{bx},{by},{bz}], thread: [{tx},{ty},{tz}] "
            f"Assertion `{msg}` failed.")
