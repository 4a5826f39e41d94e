"""CUDA's device `assert` for engines that know `vprintf` and `trap` but not `__assertfail`.

nvcc compiles a failing `assert(e)` into a call of the external function
`__assertfail(message, file, line, function, charSize)`, which the CUDA driver
supplies.  Here a PTX definition of it takes the extern's place: it prints
CUDA's message through `vprintf` and executes `trap`, so the launch fails.
The trap's instruction carries the marker `ASSERT_MARKER`, by which the
runtime tells an assertion from other faults (cudaErrorAssert).
"""
from __future__ import annotations

import re

ASSERT_MARKER = "__gdev_assert_trap"
_FORMAT = "%s:%u: %s: block: [%u,%u,%u], thread: [%u,%u,%u] Assertion `%s` failed.\n"
_EXTERN = re.compile(r"\.extern\s+\.func\s+__assertfail\s*(\([^)]*\))\s*;", re.S)
_VPRINTF = ".extern .func (.param .b32 func_retval0) vprintf (.param .b64 vprintf_p0, .param .b64 vprintf_p1);"

# The argument buffer follows vprintf's layout: each value at its own alignment.
_BODY = """
.global .align 1 .b8 __gdev_assert_format[{n}] = {{{bytes}}};
.func __assertfail(.param .b64 __gdev_a_msg, .param .b64 __gdev_a_file, .param .b32 __gdev_a_line,
                   .param .b64 __gdev_a_fn, .param .b64 __gdev_a_size)
{{
    .local .align 8 .b8 __gdev_a_buf[56];
    .reg .b64 %gdev_d<8>;
    .reg .b32 %gdev_r<10>;
    ld.param.u64 %gdev_d1, [__gdev_a_msg];
    ld.param.u64 %gdev_d2, [__gdev_a_file];
    ld.param.u32 %gdev_r1, [__gdev_a_line];
    ld.param.u64 %gdev_d3, [__gdev_a_fn];
    mov.u32 %gdev_r2, %ctaid.x;
    mov.u32 %gdev_r3, %ctaid.y;
    mov.u32 %gdev_r4, %ctaid.z;
    mov.u32 %gdev_r5, %tid.x;
    mov.u32 %gdev_r6, %tid.y;
    mov.u32 %gdev_r7, %tid.z;
    st.local.u64 [__gdev_a_buf], %gdev_d2;
    st.local.u32 [__gdev_a_buf+8], %gdev_r1;
    st.local.u64 [__gdev_a_buf+16], %gdev_d3;
    st.local.u32 [__gdev_a_buf+24], %gdev_r2;
    st.local.u32 [__gdev_a_buf+28], %gdev_r3;
    st.local.u32 [__gdev_a_buf+32], %gdev_r4;
    st.local.u32 [__gdev_a_buf+36], %gdev_r5;
    st.local.u32 [__gdev_a_buf+40], %gdev_r6;
    st.local.u32 [__gdev_a_buf+44], %gdev_r7;
    st.local.u64 [__gdev_a_buf+48], %gdev_d1;
    mov.u64 %gdev_d4, __gdev_a_buf;
    cvta.local.u64 %gdev_d5, %gdev_d4;
    mov.u64 %gdev_d6, __gdev_assert_format;
    cvta.global.u64 %gdev_d7, %gdev_d6;
    {{
    .param .b64 __gdev_p0;
    .param .b64 __gdev_p1;
    .param .b32 __gdev_ret;
    st.param.b64 [__gdev_p0], %gdev_d7;
    st.param.b64 [__gdev_p1], %gdev_d5;
    call.uni (__gdev_ret), vprintf, (__gdev_p0, __gdev_p1);
    }}
{marker}:
    trap;
    ret;
}}
"""


def with_assertfail(ptx: str) -> str:
    """`ptx` with a definition of `__assertfail` where it declared the extern (else unchanged)."""
    match = _EXTERN.search(ptx)
    if match is None:
        return ptx
    fmt = _FORMAT.encode() + b"\0"
    body = _BODY.format(n=len(fmt), bytes=", ".join(str(b) for b in fmt), marker=ASSERT_MARKER)
    prelude = "" if re.search(r"\bvprintf\b", ptx[:match.start()]) else _VPRINTF + "\n"
    return ptx[:match.start()] + prelude + body + ptx[match.end():]
