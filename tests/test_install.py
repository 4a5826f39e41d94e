"""`make install PREFIX=...`: an outside C program builds with pkg-config and runs
against the installed libraries, which use the installed gdev_shim package."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import ADD_PTX, ROOT

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
    assert '"transport": "daemon"' in smi.stdout


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
    from gdev_shim.capi import boundary, cuda, cudart, gdev_exports, usdaa  # noqa: F401 - registers the exports
    text = (ROOT / "docs" / "api-coverage.md").read_text()
    rows = {line.split("|")[1].strip().strip("`") for line in text.splitlines()
            if line.startswith("| `")}
    exported = {e.name for exports in boundary._registry.values() for e in exports}
    assert exported - rows == set()
    assert rows - exported == set()


def _working_tree_copy(dest: Path) -> Path:
    """The tree as a fresh clone of it would be (tracked and new files, not what is ignored)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        src = ROOT / name
        if not src.exists() and not src.is_symlink():
            continue                    # deleted in the working tree, not yet committed
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target, follow_symlinks=False)     # gdev_shim/include stays a link
    return dest


def test_pip_install_into_a_fresh_venv_gives_working_tools(tmp_path):
    """`pip install .` without this tree's .venv or sources on the path: the tools and
    `import gdev_shim` work from anywhere, with the headers and header modules the
    package carries.  Offline: the build and runtime dependencies come from .venv."""
    import site
    import sys
    source = _working_tree_copy(tmp_path / "clone")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    vpy = venv / "bin" / "python"
    target_site = Path(subprocess.run([str(vpy), "-c", "import site; print(site.getsitepackages()[0])"],
                                      capture_output=True, text=True, check=True).stdout.strip())
    # cffi, numpy and setuptools of this tree's environment, after the venv's own packages
    (target_site / "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "GDEV_", "PIP_"))}
    pip = subprocess.run([sys.executable, "-m", "pip", "--python", str(vpy), "install", "--quiet",
                          "--disable-pip-version-check", "--no-deps", "--no-build-isolation", "--no-index", "."],
                         cwd=source, env=env, capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stdout + pip.stderr

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    probe = ("import sys, gdev_shim, gdev_shim.common.contract as c; "
             "print(gdev_shim.__file__); print(c.HEADER.is_file(), c.ffi.sizeof('struct aidev_gem_new')); "
             "print('pycparser' in sys.modules); print(gdev_shim.device_count())")
    run = subprocess.run([str(vpy), "-c", probe], cwd=elsewhere, env=env, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    where, header, parsed, count = run.stdout.splitlines()
    assert where.startswith(str(target_site / "gdev_shim"))
    assert header.startswith("True ") and int(header.split()[1]) > 0
    assert parsed == "False"            # the contract came from the compiled module, not the header parser
    assert count == "4"

    smi = subprocess.run([str(venv / "bin" / "gdev-smi"), "--json"], cwd=elsewhere, env=env,
                         capture_output=True, text=True, timeout=60)
    assert smi.returncode == 0, smi.stderr
    assert json.loads(smi.stdout)["transport"] == "daemon"
    (elsewhere / "k.ptx").write_text(ADD_PTX)
    mk = subprocess.run([str(venv / "bin" / "gdev-mkimage"), "k.ptx", "-o", "k.cubin"], cwd=elsewhere, env=env,
                        capture_output=True, text=True, timeout=60)
    assert mk.returncode == 0, mk.stderr
    assert (elsewhere / "k.cubin").read_bytes()[:4] == b"\x7fELF"


def test_every_cuda_program_runs_in_make_check():
    """Each program of c_tests/cuda and c_tests/cuda_driver is in run_all.sh's lists (a
    program built but never run checks nothing)."""
    script = (ROOT / "c_tests" / "run_all.sh").read_text()
    listed = set(re.findall(r"[\w./-]+", " ".join(re.findall(r"^for prog in ([^;]+);", script, re.M | re.S))))
    sources = [p for d in ("cuda", "cuda_driver") for p in (ROOT / "c_tests" / d).glob("*.cu")]
    programs = {p.stem for p in sources if p.stem != "kernels"}    # kernels.cu: device code the others load
    assert programs - listed == set()
