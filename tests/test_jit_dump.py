"""GDEV_JIT_DUMP: what the JIT built for a kernel, written out to read."""
from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("llvmlite")

from gdev_shim.jit import engine  # noqa: E402
from gdev_shim.ptx import parse_module  # noqa: E402
from gdev_shim.settings import settings  # noqa: E402

PTX = """
.version 7.0
.target sm_80
.address_size 64
.visible .entry %s(.param .u64 p)
{
    .reg .b32 %%r<3>;
    .reg .b64 %%rd<4>;
    ld.param.u64 %%rd1, [p];
    mov.u32 %%r1, %%tid.x;
    mul.wide.u32 %%rd2, %%r1, 4;
    add.s64 %%rd3, %%rd1, %%rd2;
    add.u32 %%r2, %%r1, 7;
    st.global.u32 [%%rd3], %%r2;
    ret;
}
"""

pytestmark = pytest.mark.usefixtures("fresh_jit_cache")


@pytest.mark.parametrize("tier", ["opt", "fast"])
def test_dump_writes_ir_and_assembly(tmp_path: Path, tier: str) -> None:
    name = f"dumped_{tier}"
    module = parse_module(PTX % name)
    out = tmp_path / "dump"
    with settings.override(jit_dump=str(out), jit_tier=tier):
        engine.compile_kernel(module, name)
    label = "opt" if tier == "opt" else "quick"
    [ll] = out.glob(f"{name}.*.{label}.ir.ll")
    assert "define" in ll.read_text()
    stem = ll.name[:-len(".ir.ll")]
    assert "define" in (out / f"{stem}.final.ll").read_text()
    assert "kernel:" in (out / f"{stem}.s").read_text()


def test_no_dump_unless_asked(tmp_path: Path) -> None:
    module = parse_module(PTX % "not_dumped")
    with settings.override(jit_tier="opt"):
        engine.compile_kernel(module, "not_dumped")
    assert not list(tmp_path.rglob("not_dumped.*"))
