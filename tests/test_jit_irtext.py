"""irtext.module_text: the text llvmlite prints for a module (str(module)), byte for byte,
on every corpus kernel in both tiers, and on instructions changed after being printed."""
from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("llvmlite")

from llvmlite import ir  # noqa: E402

from gdev_shim.jit.codegen import KernelCompiler  # noqa: E402
from gdev_shim.jit.irtext import instruction_text, module_text  # noqa: E402
from gdev_shim.jit.layout import flatten  # noqa: E402
from gdev_shim.ptx import parse_module  # noqa: E402

KERNELS = Path(__file__).parent / "kernels"


def _module(flat: object, compact: bool) -> ir.Module:
    return KernelCompiler(flat, 32, "k", compact=compact, library=compact).compile()  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def flats(compile_ptx) -> list:
    ptx = compile_ptx(sorted(KERNELS.glob("*.cu")))         # the batch every PTX test shares
    out = []
    for src, text in ptx.items():
        if src.stem.startswith("corpus"):
            mod = parse_module(text)
            out += [flatten(mod, name) for name in mod.kernels]
    return out


@pytest.mark.parametrize("compact", [True, False], ids=["quick", "opt"])
def test_kernels_print_as_llvmlite_prints_them(flats: list, compact: bool) -> None:
    assert len(flats) > 10
    # the optimised tier's larger text on the smaller kernels only (both tiers share the kinds)
    for flat in flats if compact else [f for f in flats if len(f.code) <= 60]:
        # two modules built alike: llvmlite's printing caches text, so each prints fresh
        assert module_text(_module(flat, compact)) == str(_module(flat, compact))


def _function() -> tuple[ir.Module, ir.IRBuilder, ir.Function]:
    mod = ir.Module(name="m")
    i32 = ir.IntType(32)
    fn = ir.Function(mod, ir.FunctionType(i32, [i32, i32.as_pointer()]), name="f")
    return mod, ir.IRBuilder(fn.append_basic_block("entry")), fn


def test_each_kind_prints_as_llvmlite_and_a_change_prints_anew() -> None:
    mod, b, fn = _function()
    x, p = fn.args
    v = ir.VectorType(ir.IntType(32), 4)
    slot = b.alloca(ir.IntType(32), name="slot")
    loaded = b.load(p, align=4)
    summed = b.add(loaded, x, flags=["nsw"])
    b.store(summed, slot)
    wide = b.zext(summed, ir.IntType(64))
    small = b.trunc(wide, ir.IntType(32))
    less = b.icmp_unsigned("<", small, x)
    picked = b.select(less, small, x)
    vec = b.insert_element(ir.Constant(v, None), picked, ir.Constant(ir.IntType(32), 0))
    b.store(b.extract_element(vec, ir.Constant(ir.IntType(32), 0)), b.gep(p, [x], inbounds=True))
    tagged = b.add(x, x)
    tagged.set_metadata("note", mod.add_metadata([ir.MetaDataString(mod, "kept")]))
    b.ret(b.add(picked, tagged))
    expected = str(mod)                         # llvmlite first: it caches each line
    for instr in fn.blocks[0].instructions:
        del instr.__dict__["_StrCaching__cached_str"]
    assert module_text(mod) == expected
    # the text kept for an instruction is dropped when llvmlite changes its operands
    summed.replace_usage(x, loaded)
    assert instruction_text(summed) == str(summed) == f"{summed.get_reference()} = add nsw i32 " \
        f"{loaded.get_reference()}, {loaded.get_reference()}"
    assert module_text(mod) != expected and "add nsw i32" in module_text(mod)
