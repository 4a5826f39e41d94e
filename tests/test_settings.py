"""The settings: one live object, scoped overrides, and bad values that name their variable,
reported by a C program's first API call as a documented code and one log line."""
from __future__ import annotations

import re
import subprocess
import threading
from pathlib import Path

import pytest

from gdev_shim.common.contract import C
from gdev_shim.settings import MAX_SIM_CARDS, SETTINGS, Settings, SettingsError, settings
from helpers import ENV, LIB_DIR, ROOT, needs_build

# variable -> (a value its setting rejects, words the message must contain)
BAD = {
    "GDEV_LOG": ("loud", "debug, info, warning, error, off, api"),
    "GDEV_TRANSPORT": ("pcie", "sim, dev"),
    "GDEV_ENGINE": ("gpu", "auto, jit, interp"),
    "GDEV_SIM_CARDS": ("17", "from 0 to 16"),
    "GDEV_SIM_VRAM": ("banana", "byte size"),
    "GDEV_SIM_SPE_ARRAYS": ("0", "positive integer"),
    "GDEV_SIM_SPES": ("-3", "positive integer"),
    "GDEV_SYNC_TIMEOUT_MS": ("soon", ">= 0"),
    "GDEV_SIM_FAULT": ("dma:0", "dma:N"),
    "GDEV_MEMCHECK": ("memcheck,typo", "racecheck"),
    "GDEV_MEMCPY_CHUNK": ("1K", "from 4K to 256M"),
    "GDEV_MEMCPY_PIPELINE": ("9", "from 1 to 8"),
    "GDEV_MEMCPY_ONE_COPY": ("2", "0 or 1"),
    "GDEV_STATUS_INTERVAL_MS": ("1.5", ">= 0"),
}


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch):
    """A Settings object of its own, reading this test's environment."""
    for setting in SETTINGS.values():
        monkeypatch.delenv(setting.variable, raising=False)
    return Settings()


def test_every_variable_is_documented_and_every_documented_one_exists():
    text = (ROOT / "docs" / "environment.md").read_text()
    documented = set(re.findall(r"^\| `(GDEV_\w+)` \|", text, flags=re.M))
    assert documented == {s.variable for s in SETTINGS.values()}


def test_the_card_limit_is_the_contract_s():
    assert MAX_SIM_CARDS == C.AIDEV_MAX_CARDS


def test_defaults_and_parsed_values(fresh: Settings, monkeypatch: pytest.MonkeyPatch):
    assert fresh.sim_vram == 4 << 30 and fresh.engine == "auto" and fresh.memcheck == frozenset()
    monkeypatch.setenv("GDEV_SIM_VRAM", "64M")
    monkeypatch.setenv("GDEV_ENGINE", " Interp ")
    monkeypatch.setenv("GDEV_MEMCHECK", "all")
    monkeypatch.setenv("GDEV_CACHE_DIR", "/tmp/somewhere")
    fresh.reload()
    assert fresh.sim_vram == 64 << 20 and fresh.engine == "interp"
    assert fresh.memcheck == {"memcheck", "leakcheck", "initcheck", "racecheck"}
    assert fresh.cache_dir == Path("/tmp/somewhere")


@pytest.mark.parametrize("variable", sorted(BAD))
def test_a_bad_value_names_the_variable_and_what_it_takes(fresh: Settings, monkeypatch, variable):
    value, accepts = BAD[variable]
    monkeypatch.setenv(variable, value)
    fresh.reload()
    name = next(s.name for s in SETTINGS.values() if s.variable == variable)
    with pytest.raises(SettingsError) as info:
        getattr(fresh, name)
    message = str(info.value)
    assert message.startswith(f"{variable}={value!r} is not accepted: it takes ") and accepts in message
    other = "engine" if name != "engine" else "sim_cards"
    assert getattr(fresh, other) == SETTINGS[other].default()       # the others still read
    with pytest.raises(SettingsError):
        fresh.check()


def test_check_names_every_bad_variable_at_once(fresh: Settings, monkeypatch: pytest.MonkeyPatch):
    fresh.check()
    monkeypatch.setenv("GDEV_SIM_VRAM", "banana")
    monkeypatch.setenv("GDEV_ENGINE", "gpu")
    fresh.reload()
    with pytest.raises(SettingsError) as info:
        fresh.check()
    assert [p.split("=")[0] for p in info.value.problems] == ["GDEV_ENGINE", "GDEV_SIM_VRAM"]
    monkeypatch.delenv("GDEV_SIM_VRAM")
    monkeypatch.delenv("GDEV_ENGINE")
    fresh.reload()
    fresh.check()


def test_override_is_scoped_nested_and_validated(fresh: Settings):
    with fresh.override(engine="interp", sim_vram="1M"):
        assert fresh.engine == "interp" and fresh.sim_vram == 1 << 20
        with fresh.override(engine="jit"):
            assert fresh.engine == "jit" and fresh.sim_vram == 1 << 20
        assert fresh.engine == "interp"
    assert fresh.engine == "auto" and fresh.sim_vram == 4 << 30
    with pytest.raises(SettingsError, match="GDEV_ENGINE='gpu'"):
        with fresh.override(engine="gpu"):
            pass
    with pytest.raises(AttributeError, match="no setting 'engin'"):
        with fresh.override(engin="jit"):
            pass
    with fresh.override(status_dir=Path("/x")):      # typed values are taken as they are
        assert fresh.status_dir == Path("/x")


def test_override_wins_over_a_bad_environment_value(fresh: Settings, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GDEV_ENGINE", "gpu")
    fresh.reload()
    with fresh.override(engine="interp"):
        fresh.check()
        assert fresh.engine == "interp"
    with pytest.raises(SettingsError):
        fresh.check()


def test_a_thread_started_before_the_override_sees_it():
    # The card's threads live for the process; what a test overrides must reach them.
    go, done = threading.Event(), threading.Event()
    seen: list[str] = []

    def card_thread() -> None:
        go.wait(5)
        seen.append(settings.engine)
        done.set()

    t = threading.Thread(target=card_thread)
    t.start()
    with settings.override(engine="interp"):
        go.set()
        assert done.wait(5)
    t.join()
    assert seen == ["interp"]


def test_modules_read_the_same_object():
    from gdev_shim.card import faults
    from gdev_shim.gdev import handle
    from gdev_shim.tools import nvcc
    assert faults.settings is settings and handle.settings is settings and nvcc.settings is settings
    with settings.override(memcpy_chunk="64K"):
        assert handle.settings.memcpy_chunk == 64 << 10


FIRST_CALL = r"""
#include <stdio.h>
#include "sdaa.h"
#include "sdaa_runtime.h"
#include "gdev_api.h"
int main(void)
{
    int n = -1, g = 0;
    int rt = (int)sdaaGetDeviceCount(&n);
    int drv = (int)sdInit(0);
    int gd = gdevice_count(&g);
    Ghandle h = gopen(0);
    printf("%d %d %d %d\n", rt, drv, gd, h == NULL);
    return 0;
}
"""


@needs_build
def test_a_c_program_s_first_call_reports_a_bad_value(tmp_path: Path):
    exe = tmp_path / "first_call"
    (tmp_path / "first_call.c").write_text(FIRST_CALL)
    subprocess.run(["gcc", "-Wall", "-Werror", f"-I{ROOT / 'include'}", str(tmp_path / "first_call.c"),
                    "-o", str(exe), f"-L{LIB_DIR}", "-lusdaa", "-lgdev", f"-Wl,-rpath,{LIB_DIR}"],
                   check=True)
    run = subprocess.run([str(exe)], env={**ENV, "GDEV_SIM_VRAM": "banana"}, capture_output=True,
                         text=True, timeout=60)
    from gdev_shim.driver.errors import SD
    from gdev_shim.runtime.errors import RT
    assert run.stdout.split() == [str(RT.sdaaErrorInitializationError), str(SD.SDAA_ERROR_NOT_INITIALIZED),
                                  "-22", "1"]
    lines = run.stderr.splitlines()
    assert len(lines) == 4 and "Traceback" not in run.stderr
    assert lines[0].startswith("[WARNING] gdev.capi: sdaaGetDeviceCount: GDEV_SIM_VRAM='banana' is not "
                               "accepted: it takes a byte size")
    assert lines[0].endswith("(sdaaErrorInitializationError)")
    assert all("GDEV_SIM_VRAM='banana'" in line for line in lines)
    good = subprocess.run([str(exe)], env=ENV, capture_output=True, text=True, timeout=60)
    assert good.stdout.split() == ["0", "0", "0", "0"] and good.stderr == ""
