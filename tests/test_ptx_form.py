"""The decoded instruction form both engines read (gdev_shim/ptx/form.py)."""
from __future__ import annotations

from typing import Any

import pytest

from gdev_shim.ptx import PtxError
from gdev_shim.ptx.form import decode, form_of
from gdev_shim.ptx.ptxast import Instr

# opcode -> the fields it must decode to (fields not named keep their defaults below)
DEFAULTS: dict[str, Any] = dict(types=(), half=None, rounding="", ftz=False, sat=False,
                                approx=False, full=False, cmp=None, boolop=None, mode=None,
                                space="generic", space_mod=None, vec=1, volatile=False,
                                cache=None, sem=None, scope=None)

CASES: list[tuple[str, dict[str, Any]]] = [
    ("add.s32", dict(base="add", types=("s32",))),
    ("add.sat.s32", dict(base="add", types=("s32",), sat=True)),
    ("add.rz.ftz.sat.f32", dict(base="add", types=("f32",), rounding="rz", ftz=True, sat=True)),
    ("mul.wide.u32", dict(base="mul", types=("u32",))),
    ("div.approx.ftz.f32", dict(base="div", types=("f32",), approx=True, ftz=True)),
    ("div.full.f32", dict(base="div", types=("f32",), full=True)),
    ("fma.rm.f64", dict(base="fma", types=("f64",), rounding="rm")),
    ("cvt.rzi.s32.f32", dict(base="cvt", types=("s32", "f32"), rounding="rzi")),
    ("cvt.rn.f16x2.f32", dict(base="cvt", types=("f32",), half="f16x2", rounding="rn")),
    ("cvt.f32.bf16", dict(base="cvt", types=("f32", "bf16"), half="bf16")),
    ("setp.ltu.and.ftz.f32", dict(base="setp", types=("f32",), cmp="ltu", boolop="and",
                                  ftz=True)),
    ("setp.eq.s32", dict(base="setp", types=("s32",), cmp="eq")),
    ("set.gt.u32.f64", dict(base="set", types=("u32", "f64"), cmp="gt")),
    ("setp.ne.f16x2", dict(base="setp", half="f16x2", cmp="ne")),
    ("testp.notanumber.f64", dict(base="testp", types=("f64",), cmp="notanumber")),
    ("prmt.b32.rc16", dict(base="prmt", types=("b32",), mode="rc16")),
    ("prmt.b32", dict(base="prmt", types=("b32",))),
    ("shfl.sync.bfly.b32", dict(base="shfl", types=("b32",), mode="bfly")),
    ("vote.sync.ballot.b32", dict(base="vote", types=("b32",), mode="ballot")),
    ("redux.sync.min.s32", dict(base="redux", types=("s32",), mode="min")),
    ("match.all.sync.b64", dict(base="match", types=("b64",), mode="all")),
    ("bar.red.popc.u32", dict(base="bar", types=("u32",), mode="popc")),
    ("ld.global.nc.v4.u32", dict(base="ld", types=("u32",), space="global", space_mod="global",
                                 vec=4, cache="nc")),
    ("ld.volatile.shared::cta.v2.f64", dict(base="ld", types=("f64",), space="shared",
                                            vec=2, volatile=True)),
    ("ld.const.u8", dict(base="ld", types=("u8",), space="global", space_mod="const")),
    ("ld.param::entry.b64", dict(base="ld", types=("b64",), space="param")),
    ("st.global.cs.f32", dict(base="st", types=("f32",), space="global", space_mod="global",
                              cache="cs")),
    ("atom.acq_rel.gpu.global.cas.b64", dict(base="atom", types=("b64",), space="global",
                                             space_mod="global", sem="acq_rel", scope="gpu",
                                             mode="cas")),
    ("red.shared.add.f32", dict(base="red", types=("f32",), space="shared", space_mod="shared",
                                mode="add")),
    ("cvta.to.shared.u64", dict(base="cvta", types=("u64",), space="shared",
                                space_mod="shared")),
    ("membar.gl", dict(base="membar")),
]


@pytest.mark.parametrize("opcode,fields", CASES, ids=[c[0] for c in CASES])
def test_decoded_fields(opcode: str, fields: dict[str, Any]) -> None:
    form = decode(opcode)
    expected = {**DEFAULTS, **fields}
    got = {name: getattr(form, name) for name in expected}
    assert got == expected
    assert form.mods == tuple(opcode.split(".")[1:])


def test_modifiers_and_defaults() -> None:
    form = decode("mad.hi.cc.u64")
    assert form.has("hi") and form.has("cc") and not form.has("lo")
    assert form.float_rounding == "rn"
    assert decode("add.rp.f64").float_rounding == "rp"
    # an integer rounding is no IEEE rounding of a float operation
    assert decode("cvt.rni.f32.f32").float_rounding == "rn"


@pytest.mark.parametrize("opcode", ["membar.cta", "fence.acq_rel.gpu", "prefetch.global.L2",
                                    "nanosleep.u32", "griddepcontrol.wait"])
def test_no_ops(opcode: str) -> None:
    assert decode(opcode).noop


@pytest.mark.parametrize("opcode", ["bar.sync", "bar.warp.sync", "add.s32", "ld.global.u32"])
def test_not_no_ops(opcode: str) -> None:
    assert not decode(opcode).noop


@pytest.mark.parametrize("opcode,why", [
    ("", "malformed"),
    ("add..s32", "malformed"),
    ("add.s32.", "malformed"),
    (".add", "malformed"),
    ("add.s-32", "malformed"),
    ("ld.shared::.u32", "malformed"),
    ("cvt.rn.rz.f32.f64", "rounding"),
    ("ld.global.v2.v4.u32", "vector count"),
    ("ld.global.shared.u32", "state space"),
    ("ld.global.ca.cg.u32", "cache operator"),
    ("atom.relaxed.acquire.global.add.u32", "memory ordering"),
])
def test_malformed_rejected(opcode: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        decode(opcode)


def test_form_of_reports_the_line_and_caches() -> None:
    with pytest.raises(PtxError, match="line 7"):
        form_of(Instr("add..s32", [], None, 7, "add..s32"))
    first = form_of(Instr("sub.s64", [], None, 1, "sub.s64"))
    # one form per opcode text, whatever instruction carries it
    assert form_of(Instr("sub.s64", [], None, 9, "sub.s64")) is first
    with pytest.raises(AttributeError):
        first.base = "add"  # type: ignore[misc]
