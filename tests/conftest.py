"""Shared test fixtures."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import pytest

KERNEL_DIR = Path(__file__).resolve().parent / "kernels"


@pytest.fixture(scope="session", autouse=True)
def private_cards():
    """Tests in this process look inside its cards and override their settings, so they use
    cards of their own; the programs they start use the card daemon as users' programs do
    (tests/test_cardd.py tests the daemon itself)."""
    from gdev_shim.settings import settings
    with settings.override(transport="sim"):
        yield


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


@pytest.fixture
def file(card):
    """An open of the module's `card` fixture (a Card), closed after the test."""
    from gdev_shim.card import CardFile
    f = CardFile(card)
    yield f
    f.close()


@pytest.fixture
def daemon_env(tmp_path: Path):
    """The environment of processes that share one fresh card daemon (a private runtime
    directory); the daemon is stopped after the test."""
    import os
    import signal

    from helpers import ENV, daemon_pids
    run_dir = tmp_path / "run"
    run_dir.mkdir(mode=0o700)
    env = {**ENV, "GDEV_TRANSPORT": "cardd", "XDG_RUNTIME_DIR": str(run_dir), "GDEV_CARDD_IDLE_S": "30"}
    yield env
    for pid in daemon_pids(run_dir):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


@pytest.fixture
def fresh_jit_cache(tmp_path: Path):
    """An empty JIT disk cache for the test (the in-memory one is keyed by content)."""
    from gdev_shim.settings import settings
    with settings.override(cache_dir=tmp_path):
        yield tmp_path


@pytest.fixture(params=["fast", "opt"])
def jit_tier(request: pytest.FixtureRequest):
    """Each of the JIT's two code tiers (GDEV_JIT_TIER) in turn: the quick code a kernel
    first runs and the optimised code that replaces it must both match the interpreter."""
    from gdev_shim.settings import settings
    with settings.override(jit_tier=request.param):
        yield request.param


@pytest.fixture
def card_log(caplog: pytest.LogCaptureFixture):
    """caplog for the card's warnings: the "gdev" logger tree may not propagate to the root
    logger caplog watches, so attach its handler where needed."""
    logger = logging.getLogger("gdev.card")
    reaches, node = False, logger
    while node is not None and not reaches:
        reaches = caplog.handler in node.handlers
        node = node.parent if node.propagate else None
    if not reaches:
        logger.addHandler(caplog.handler)
    caplog.set_level(logging.WARNING, logger="gdev.card")
    yield caplog
    if not reaches:
        logger.removeHandler(caplog.handler)
