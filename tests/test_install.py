"""`make install PREFIX=...`: an outside C program builds with pkg-config and runs
against the installed libraries, which use the installed gdev_shim package."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PROGRAM = r"""
#include <stdio.h>
#include <sdaa.h>
#include <sdaa_runtime.h>
#include <gdev_api.h>

#define CHECK(call) do { int rc_ = (int)(call); if (rc_) { printf("%s = %d\n", #call, rc_); return 1; } } while (0)

int main(int argc, char **argv)
{
    int cards = 0, gcards = 0, n = 1000;
    SDdevice dev; SDcontext ctx; SDmodule mod; SDfunction fn;
    SDdeviceptr a, b, c;
    static int ha[1000], hb[1000], hc[1000];
    if (argc != 2) return 2;
    CHECK(sdaaGetDeviceCount(&cards));
    CHECK(gdevice_count(&gcards));
    for (int i = 0; i < n; i++) { ha[i] = i; hb[i] = 1000 * i; }
    CHECK(sdInit(0));
    CHECK(sdDeviceGet(&dev, 1));
    CHECK(sdCtxCreate(&ctx, 0, dev));
    CHECK(sdModuleLoad(&mod, argv[1]));
    CHECK(sdModuleGetFunction(&fn, mod, "add_test"));
    CHECK(sdMemAlloc(&a, sizeof ha)); CHECK(sdMemAlloc(&b, sizeof hb)); CHECK(sdMemAlloc(&c, sizeof hc));
    CHECK(sdMemcpyHtoD(a, ha, sizeof ha)); CHECK(sdMemcpyHtoD(b, hb, sizeof hb));
    void *params[] = { &a, &b, &c, &n };
    CHECK(sdLaunchKernel(fn, 2, 1, 1, 32, 1, 1, 0, NULL, params, NULL));
    CHECK(sdMemcpyDtoH(hc, c, sizeof hc));
    for (int i = 0; i < n; i++)
        if (hc[i] != 1001 * i) { printf("c[%d] = %d\n", i, hc[i]); return 1; }
    CHECK(sdCtxDestroy(ctx));
    printf("installed: %d cards (gdev %d), add_test ok\n", cards, gcards);
    return 0;
}
"""


def test_outside_program_builds_with_pkg_config_and_runs(tmp_path, compile_ptx):
    if shutil.which("pkg-config") is None or shutil.which("gcc") is None:
        pytest.skip("pkg-config or gcc missing")
    ptx = tmp_path / "add_test.ptx"
    source = ROOT / "c_tests" / "kernels" / "add_test.cu"
    ptx.write_text(compile_ptx([source])[source])        # loaders accept PTX text files
    prefix = tmp_path / "prefix"
    make = subprocess.run(["make", "-s", "install", f"PREFIX={prefix}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert make.returncode == 0, make.stderr
    for path in ("include/sdaa_runtime.h", "include/gdev_api.h", "lib/libusdaa.so", "lib/libgdev.so",
                 "lib/pkgconfig/gdev-shim.pc", "lib/gdev-shim/gdev_shim/__init__.py", "bin/gdev-smi"):
        assert (prefix / path).exists(), path

    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "LD_LIBRARY_PATH", "GDEV_"))}
    env["PKG_CONFIG_PATH"] = str(prefix / "lib" / "pkgconfig")
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "gdev-shim"], env=env,
                           capture_output=True, text=True, check=True).stdout.split()
    assert f"-I{prefix}/include" in flags and "-lusdaa" in flags and "-lgdev" in flags
    (tmp_path / "prog.c").write_text(PROGRAM)
    subprocess.run(["gcc", "-Wall", "-Werror", "prog.c", "-o", "prog", *flags], cwd=tmp_path, env=env,
                   check=True, capture_output=True)

    run = subprocess.run([str(tmp_path / "prog"), str(ptx)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "installed: 4 cards (gdev 4), add_test ok" in run.stdout
    # The libraries ran the installed package, not this source tree (or its build dir):
    # its modules were compiled to bytecode where they were imported from.
    cached = prefix / "lib" / "gdev-shim" / "gdev_shim" / "__pycache__"
    assert any(cached.glob("__init__.*.pyc"))
    baked = (prefix / "lib" / "libusdaa.so").read_bytes()
    assert f"'{prefix}/lib/gdev-shim'".encode() in baked
    assert f"'{ROOT}'".encode() not in baked and f"'{ROOT}/build".encode() not in baked

    smi = subprocess.run([str(prefix / "bin" / "gdev-smi"), "--json"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert smi.returncode == 0, smi.stderr
    assert '"transport": "simulated"' in smi.stdout


def test_mkimage_says_clearly_that_nvcc_is_missing(tmp_path):
    import sys
    source = tmp_path / "k.cu"
    source.write_text("__global__ void k(int *p) { p[threadIdx.x] = 1; }\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GDEV_")}
    env.update(PATH="", GDEV_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(ROOT))
    run = subprocess.run([sys.executable, "-m", "gdev_shim.tools.mkimage", str(source), "-o",
                          str(tmp_path / "k.cubin")], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gdev-mkimage: ")
    assert "nvcc" in lines[0] and "not on PATH" in lines[0] and "PTX" in lines[0]
    assert not (tmp_path / "k.cubin").exists()


def test_console_scripts_are_declared():
    import tomllib
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["gdev-smi"] == "gdev_shim.smi:main"
    assert scripts["gdev-mkimage"] == "gdev_shim.tools.mkimage:main"


def test_api_coverage_lists_every_export():
    from gdev_shim.capi import boundary, gdev_exports, usdaa  # noqa: F401 - registers the exports
    text = (ROOT / "docs" / "api-coverage.md").read_text()
    rows = {line.split("|")[1].strip().strip("`") for line in text.splitlines()
            if line.startswith("| `")}
    exported = {e.name for exports in boundary._registry.values() for e in exports}
    assert exported - rows == set()
    assert rows - exported == set()
