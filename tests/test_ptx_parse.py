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
    (HEADER + ".entry k() { .reg .b64 %r<2>; mul.wide.u64 %r1, %r1, %r1; }", "mul.wide.u64"),
    (HEADER + ".entry k() { .reg .b32 %r<2>; add.cc.f32 %r1, %r1, %r1; }", "add.cc.f32"),
    (HEADER + ".entry k() { .reg .b32 %r<2>; brx.idx %r1, $nolist; }", "brx.idx"),
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


def test_recursion_gets_a_stack_and_register_saves():
    text = HEADER + """
.func f() { .reg .b32 %r<3>; mov.u32 %r1, 5; call.uni f, (); ret; }
.entry k() { call.uni f, (); ret; }
"""
    from gdev_shim.ptx.decode import program_for
    mod = parse_module(text)
    prog = program_for(mod, "k")
    assert prog.recursive and prog.local_size >= 16 << 10
    frame = prog.frames["f"]
    assert frame.saves and len(frame.reg_saves) == 1 and frame.size == 16   # %r1 only


def test_branch_and_call_target_lists_and_address_initialisers():
    text = HEADER + """
.global .align 4 .b8 g1[16];
.global .align 8 .u64 gp[3] = {generic(g1), g1+8, f};
.func (.param .b32 r) f(.param .b32 a) { .reg .b32 %x; ld.param.b32 %x, [a]; st.param.b32 [r], %x; ret; }
.entry k(.param .u32 i)
{
    .reg .b32 %r<3>;
    .reg .b64 %rd<2>;
    ts: .branchtargets L0, L1;
    ft: .calltargets f;
    ld.param.u32 %r1, [i];
    brx.idx %r1, ts;
L0:
    ret;
L1:
    mov.u64 %rd1, f;
    {
    .param .b32 p0;
    .param .b32 r0;
    st.param.b32 [p0], %r1;
    proto: .callprototype (.param .b32 _) _ (.param .b32 _);
    call (r0), %rd1, (p0), ft;
    ld.param.b32 %r2, [r0];
    }
    ret;
}
"""
    mod = parse_module(text)
    fn = mod.functions["k"]
    assert "ts" in fn.targets and fn.targets["ts"] == ["L0", "L1"]
    assert fn.targets["ft"] == ["f"] and any(p.startswith("proto") for p in fn.prototypes)
    layout = mod.global_layout()
    assert layout.relocs == [(16, 0, 8), (24, 8, 8)]
    fa = mod.function_address("f")
    assert int.from_bytes(layout.init[32:40], "little") == fa and mod.function_at(fa) == "f"
    img = layout.image(0x1000)
    assert int.from_bytes(img[16:24], "little") == 0x1000
    assert int.from_bytes(img[24:32], "little") == 0x1008


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


def test_warp_sz_is_the_predefined_warp_size():
    """WARP_SZ (what CUDA's warpSize compiles to) reads as the immediate 32."""
    text = HEADER + """.visible .entry k(.param .u64 p) {
    .reg .b32 %r<2>; .reg .b64 %d<2>;
    mov.u32 %r1, WARP_SZ;
    ld.param.u64 %d1, [p];
    st.global.u32 [%d1], %r1;
    ret;
}"""
    mod = parse_module(text)
    body = [i for i in mod.functions["k"].body if getattr(i, "opcode", "") == "mov.u32"]
    assert body[0].operands[1] == ("imm", 32)
