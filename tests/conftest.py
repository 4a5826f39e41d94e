"""Shared test fixtures."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

KERNEL_DIR = Path(__file__).resolve().parent / "kernels"


@pytest.fixture(scope="session")
def compile_ptx() -> Callable[[list[Path]], dict[Path, str]]:
    """compile_ptx(sources) -> {source: PTX text}; one cached nvcc call per batch."""
    from gdev_shim.tools.nvcc import NvccError, compile_ptx as _compile

    def run(sources: list[Path], arch: str = "sm_80", opt: str = "-O3") -> dict[Path, str]:
        try:
            return _compile([Path(s) for s in sources], arch, opt)
        except NvccError as exc:
            if "not found" in str(exc):
                pytest.skip("nvcc is not installed")
            raise
    return run
