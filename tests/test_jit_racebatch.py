"""Which shared loads the JIT's racecheck checks together (jit/racebatch.py): stretches of
unguarded loads on unchanged base registers with nothing else touching shared memory
between them, and the record entries and lines a group of them leaves from a row's first
address.  tests/test_sanitizer.py runs such stretches against the loads checked one by one
and against the interpreter."""
from __future__ import annotations

import pytest

pytest.importorskip("llvmlite")

from gdev_shim.jit import racebatch  # noqa: E402
from gdev_shim.jit.codegen import KernelCompiler  # noqa: E402
from gdev_shim.jit.layout import flatten  # noqa: E402
from gdev_shim.ptx import parse_module  # noqa: E402

HEAD = (".version 8.0\n.target sm_80\n.address_size 64\n.visible .entry k(.param .u64 k_out)\n{\n"
        "    .reg .pred %p<4>;\n    .reg .b32 %r<20>;\n    .reg .f32 %f<20>;\n"
        "    .shared .align 4 .b8 tile[1024];\n"
        "    mov.u32 %r1, %tid.x;\n    shl.b32 %r2, %r1, 2;\n    mov.u32 %r3, tile;\n"
        "    add.s32 %r4, %r3, %r2;\n    setp.eq.u32 %p1, %r1, 0;\n")


def _stretches(body: str) -> tuple[list[racebatch.Stretch], list[int]]:
    """The kernel's stretches, and each load's PTX line by pc."""
    flat = flatten(parse_module(HEAD + body + "    ret;\n}\n"), "k")
    plans = racebatch.plan(flat, KernelCompiler(flat, 32, "k").find_leaders())
    unique = list({id(s): s for s in plans.values()}.values())
    return unique, [item.ins.line if item.ins is not None else 0 for item in flat.code]


def _loads(stretch: racebatch.Stretch) -> list[tuple[str, int]]:
    return [(stretch.groups[ld.group].reg, ld.offset) for ld in stretch.loads]


def test_a_stretch_holds_the_loads_between_two_shared_stores_in_groups_by_base():
    found, _ = _stretches(
        "    ld.shared.f32 %f1, [%r4];\n"
        "    add.f32 %f2, %f1, %f1;\n"            # arithmetic between the loads
        "    ld.shared.f32 %f3, [%r3+8];\n"
        "    ld.shared.f32 %f4, [%r4+128];\n"
        "    st.shared.f32 [%r4], %f2;\n"         # another warp's records may change: ends it
        "    ld.shared.f32 %f5, [%r4+4];\n"
        "    ld.shared.f32 %f6, [%r4+8];\n")
    assert [_loads(s) for s in found] == [[("%r4", 0), ("%r3", 8), ("%r4", 128)],
                                          [("%r4", 4), ("%r4", 8)]]
    assert [[g.reg for g in s.groups] for s in found] == [["%r4", "%r3"], ["%r4"]]


@pytest.mark.parametrize("between", [
    "    add.s32 %r4, %r4, 4;\n",                 # the base changes
    "    bar.sync 0;\n",                          # a barrier: a new epoch
    "    @%p1 ld.shared.f32 %f9, [%r4+12];\n",    # a guarded load is checked on its own
    "    ld.f32 %f9, [%r4];\n",                   # a generic load may be a shared one
    "    atom.shared.add.u32 %r9, [%r3], 1;\n",
])
def test_what_ends_a_stretch(between):
    found, _ = _stretches("    ld.shared.f32 %f1, [%r4];\n    ld.shared.f32 %f2, [%r4+4];\n" + between
                          + "    ld.shared.f32 %f3, [%r4+8];\n    ld.shared.f32 %f4, [%r4+16];\n")
    assert [_loads(s) for s in found] == [[("%r4", 0), ("%r4", 4)], [("%r4", 8), ("%r4", 16)]]


def test_a_load_into_a_base_register_is_in_no_stretch():
    found, _ = _stretches("    ld.shared.f32 %f1, [%r4];\n    ld.shared.u32 %r4, [%r4+4];\n"
                          "    ld.shared.f32 %f2, [%r3];\n    ld.shared.f32 %f3, [%r3+4];\n")
    assert [_loads(s) for s in found] == [[("%r3", 0), ("%r3", 4)]]


def test_a_group_covers_its_loads_words_with_the_line_of_the_last_load_on_each():
    """Rows of 16 lanes: `bs[k][tx]` (lanes on contiguous words, a row of the tile per
    load) and `as[ty][k]` (a row's lanes on one word, a word per load); loads on the same
    words (offsets 0 and 4 along a contiguous row) leave the later line."""
    found, lines = _stretches("".join(f"    ld.shared.f32 %f{k + 1}, [%r4+{64 * k}];\n"
                                      f"    ld.shared.f32 %f{k + 5}, [%r3+{4 * k}];\n" for k in range(4)))
    (stretch,) = found
    loads = {(stretch.groups[ld.group].reg, ld.offset): ld.line for ld in stretch.loads}
    rows = racebatch.cover(stretch, 0, 16, 4, 4)
    assert rows.low == 0 and rows.on == [True] * 64
    assert rows.lines == [loads[("%r4", 64 * (e // 16))] for e in range(64)]
    words = racebatch.cover(stretch, 1, 16, 0, 4)
    assert words.on == [True] * 4 and words.lines == [loads[("%r3", 4 * e)] for e in range(4)]
    found, _ = _stretches("    ld.shared.f32 %f1, [%r4+8];\n    ld.shared.f32 %f2, [%r4+12];\n"
                          "    ld.shared.f32 %f3, [%r4+32];\n")
    (stretch,) = found
    first, second, third = (ld.line for ld in stretch.loads)
    run = racebatch.cover(stretch, 0, 2, 4, 4)  # two lanes a row: words 8-12, 12-16, 32-40
    assert run.low == 8
    assert run.on == [True, True, True, False, False, False, True, True]
    assert run.lines == [first, second, second, 0, 0, 0, third, third]
