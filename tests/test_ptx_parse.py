"""PTX parsing: parameter layout, module globals, and rejection of bad input."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from gdev_shim.ptx import PtxError, parse_module

HEADER = ".version 8.0\n.target sm_80\n.address_size 64\n"

SAMPLE = HEADER + """
.global .align 4 .u32 counter;
.const .align 8 .b8 table[12] = {1, 2, 3};
.global .align 8 .f64 scale = 0d3FF8000000000000;
.global .align 4 .f32 vals[2] = {0f3F800000, 0fC0000000};
.shared .align 4 .b8 modshared[36];

.visible .entry k1(
    .param .u64 k1_param_0,
    .param .u8 k1_param_1,
    .param .align 16 .b8 k1_param_2[32],
    .param .u32 k1_param_3
)
.maxntid 128, 2, 1
{
    .reg .pred %p<2>;
    .reg .b32 %r<4>;
    .reg .b64 %rd<3>;
    .shared .align 8 .b8 buf[100];
    .local .align 4 .b8 depot[20];
    ld.param.u32 %r1, [k1_param_3];
    setp.eq.s32 %p1, %r1, 0;
    @%p1 bra $L_done;
    add.s32 %r2, %r1, 1;
$L_done:
    ret;
}

.entry k2()
{
    ret;
}
"""


def test_params_follow_cuda_abi():
    mod = parse_module(SAMPLE)
    k1 = mod.kernels["k1"]
    assert [(p.name, p.size, p.align, p.offset) for p in k1.params] == [
        ("k1_param_0", 8, 8, 0), ("k1_param_1", 1, 1, 8), ("k1_param_2", 32, 16, 16),
        ("k1_param_3", 4, 4, 48)]
    assert k1.param_size == 52
    assert k1.max_threads == 256
    assert k1.shared_size == 40 + 100              # 36 module bytes, buf aligned to 8
    assert k1.local_size == 20
    k2 = mod.kernels["k2"]
    assert (k2.params, k2.param_size, k2.max_threads, k2.local_size) == ([], 0, 0, 0)


def test_global_layout_packs_in_order_with_init():
    mod = parse_module(SAMPLE)
    assert set(mod.globals) == {"counter", "table", "scale", "vals"}
    assert mod.globals["table"].space == "const" and mod.globals["counter"].init is None
    layout = mod.global_layout()
    assert layout.offsets == {"counter": 0, "table": 8, "scale": 24, "vals": 32}
    assert layout.size == 40
    blob = np.frombuffer(layout.init, np.uint8)
    assert blob[:4].tolist() == [0, 0, 0, 0]
    assert blob[8:20].tolist() == [1, 2, 3] + [0] * 9
    assert np.frombuffer(layout.init, np.float64, 1, 24)[0] == 1.5
    assert np.frombuffer(layout.init, np.float32, 2, 32).tolist() == [1.0, -2.0]
    assert mod.global_layout() is layout             # computed once


@pytest.mark.parametrize("text,needle", [
    (SAMPLE[: len(SAMPLE) // 2], "line"),                               # truncated
    (HEADER + ".entry k() { foo.bar.u32 %r1; }", "foo.bar.u32"),       # unknown instruction
    (HEADER + ".entry k() { .reg .b32 %r<2>; add.s32 %r1, %r9, 1; }", "%r9"),
    (HEADER + ".entry k() { bra $nowhere; }", "$nowhere"),
    (HEADER + "\x00\x01garbage", "line 4"),
    ("@@@ ### ;;;", "line 1"),
    (HEADER + ".entry k() { .reg .b32 %r<2>; add.cc.u32 %r1, %r1, %r1; }", "add.cc.u32"),
])
def test_bad_ptx_raises_ptx_error(text, needle):
    with pytest.raises(PtxError) as info:
        parse_module(text)
    assert needle in str(info.value)


def test_error_names_the_line():
    text = HEADER + ".entry k()\n{\n\tret;\n\tfrobnicate;\n}\n"
    with pytest.raises(PtxError) as info:
        parse_module(text)
    assert info.value.line == 7 and "frobnicate" in str(info.value)


def test_recursion_is_rejected():
    text = HEADER + """
.func f() { call.uni f, (); ret; }
.entry k() { call.uni f, (); ret; }
"""
    with pytest.raises(PtxError, match="recursive"):
        parse_module(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list("{}[]();,.:+-@!%$_ \n\tabcdefxyz0123456789") +
                                [".reg", ".b32", "%r1", "add.s32", ".entry", ".param", ".u64",
                                 "ret;", "bra", ".global", "= {", "0f3F800000", "k "]),
                max_size=80).map(" ".join))
def test_fuzz_never_crashes(text):
    try:
        parse_module(text)
    except PtxError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(SAMPLE)), st.integers(0, 255))
def test_fuzz_mutated_sample(pos, byte):
    text = SAMPLE[:pos] + chr(byte) + SAMPLE[pos + 1:]
    try:
        parse_module(text)
    except PtxError:
        pass
