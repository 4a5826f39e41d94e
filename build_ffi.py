"""Build libgdev.so, libusdaa.so, libcudart.so.13 and libcuda.so.1 (cffi embedding modules over gdev_shim.capi)
and the out-of-line cffi modules of the headers gdev_shim reads at import.

The exported declarations are the public headers themselves (include/*.h, read
through the same filter the Python side uses), so a prototype exists once.
Usage: python build_ffi.py [outdir] [--path DIR]... [--tmpdir DIR]
       python build_ffi.py --header-modules [--tmpdir DIR]
  outdir     where the libraries go (default build/lib)
  --path     a directory the embedded interpreter puts first on sys.path; repeat
             for each; default: this source tree and this interpreter's
             site-packages (`make install` passes the installed package and
             its dependencies instead)
  --tmpdir   where cffi compiles (default build/ffi)
  --header-modules
             build gdev_shim's header modules (common/contract.py) and its
             futex module (common/futex.py) into the package directory instead; `pip install` builds the same modules
             through setup.py's cffi_modules, which names the functions below
"""
from __future__ import annotations

import argparse
import json
import site
import sys
import sysconfig
from pathlib import Path

import cffi

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from gdev_shim.common.contract import HEADER_MODULES, cdef_source, header_cdef  # noqa: E402

INCLUDE = ROOT / "include"
PACKAGE = ROOT / "gdev_shim"

INIT_CODE = """
import sys
for _p in {paths!r}:
    if _p not in sys.path:
        sys.path.insert(0, _p)
from {module} import ffi
import gdev_shim.capi.{binder} as _binder
_binder.bind(ffi)
"""

# Runs when the library is loaded: start the interpreter with the project's paths
# first, so that _cffi_backend and numpy come from the project's environment and
# not from whatever the base Python has installed.  A host that already runs
# Python (a Python program loading the library) keeps its own interpreter.
PYTHON_START = r"""
#include <Python.h>
#include <pthread.h>
#include <stdlib.h>

/* The interpreter is never finalized (card threads may still run), so Python's
 * exit handlers - the trace file, the status file gdev-smi reads - run from a
 * C exit handler instead. */
static void gdev_shim_exit_python(void)
{
    PyGILState_STATE gil;
    if (!Py_IsInitialized())
        return;
    gil = PyGILState_Ensure();
    PyRun_SimpleString("import atexit\natexit._run_exitfuncs()\n");
    PyGILState_Release(gil);
}

/* fork() in the C program: hold the GIL across it, as os.fork does, so the child
 * never inherits a GIL some card thread held (it would wait forever), and let
 * Python reinitialise its thread state in the child and run its at-fork hooks
 * (the library then answers the child with a documented error). */
static PyGILState_STATE gdev_shim_fork_gil;

static void gdev_shim_before_fork(void)
{
    gdev_shim_fork_gil = PyGILState_Ensure();
    PyOS_BeforeFork();
}

static void gdev_shim_after_fork_parent(void)
{
    PyOS_AfterFork_Parent();
    PyGILState_Release(gdev_shim_fork_gil);
}

static void gdev_shim_after_fork_child(void)
{
    PyOS_AfterFork_Child();
    PyGILState_Release(gdev_shim_fork_gil);
}

__attribute__((constructor)) static void gdev_shim_start_python(void)
{
    static const char *prepend =
        "import sys\n"
        "sys.path[0:0] = [p for p in %(paths)s if p not in sys.path]\n";
    if (Py_IsInitialized())
        return;
    Py_InitializeEx(0);
    PyRun_SimpleString(prepend);
    atexit(gdev_shim_exit_python);
    pthread_atfork(gdev_shim_before_fork, gdev_shim_after_fork_parent, gdev_shim_after_fork_child);
    PyEval_SaveThread();          /* cffi takes the GIL per call */
}
"""

LIBRARIES = {
    "libgdev.so": ("_gdev_embed", ["gdev_api.h"], "gdev_exports"),
    "libusdaa.so": ("_usdaa_embed", ["sdaa.h", "sdaa_runtime.h"], "usdaa"),
    "libcudart.so.13": ("_cudart_embed", ["gdev_cudart.h"], "cudart"),
    "libcuda.so.1": ("_cuda_embed", ["gdev_cuda.h"], "cuda"),
}
# Programs built by nvcc 13 import every runtime symbol at this version node.
VERSIONED = {"libcudart.so.13": ("libcudart.so.13", "libcudart.so")}   # name: (node, link name)
# The driver library's symbols carry no version (programs linked with -lcuda import them plain).
UNVERSIONED = {"libcuda.so.1": "libcuda.so"}                          # name: link name


def link_name(name: str) -> str | None:
    """The development name (libX.so) linking to a library with a soname, if it has one."""
    return VERSIONED[name][1] if name in VERSIONED else UNVERSIONED.get(name)


def link_args(name: str, tmp: Path) -> list[str]:
    """The soname and symbol version script of a versioned library (none for the others)."""
    if name in UNVERSIONED:
        return [f"-Wl,-soname,{name}"]
    if name not in VERSIONED:
        return []
    node, _ = VERSIONED[name]
    script = tmp / f"{name}.map"
    script.write_text(f"{node} {{\n  global: *;\n}};\n")
    return [f"-Wl,-soname,{name}", f"-Wl,--version-script={script}"]


def python_paths() -> list[str]:
    """Where the embedded interpreter finds gdev_shim and the dependencies."""
    paths = [str(ROOT)] + [p for p in site.getsitepackages() if Path(p).is_dir()]
    return list(dict.fromkeys(paths))


def build(name: str, outdir: Path, paths: list[str] | None = None, tmpdir: Path | None = None) -> Path:
    module, headers, binder = LIBRARIES[name]
    ffi = cffi.FFI()
    ffi.embedding_api("\n".join(cdef_source((INCLUDE / h).read_text()) for h in headers))
    paths = paths or python_paths()
    c_paths = json.dumps(repr(paths))[1:-1]               # a Python literal inside a C string
    preamble = PYTHON_START % {"paths": c_paths} + "\n".join(f'#include "{h}"' for h in headers)
    tmp = (tmpdir or ROOT / "build" / "ffi") / module
    tmp.mkdir(parents=True, exist_ok=True)
    ffi.set_source(module, preamble,
                   include_dirs=[str(INCLUDE)],
                   extra_link_args=[f"-Wl,-rpath,{sysconfig.get_config_var('LIBDIR')}", *link_args(name, tmp)])
    ffi.embedding_init_code(INIT_CODE.format(paths=paths, module=module, binder=binder))
    built = Path(ffi.compile(tmpdir=str(tmp), target=name, verbose=False))
    outdir.mkdir(parents=True, exist_ok=True)
    target = outdir / name
    built.replace(target)
    if link_name(name):
        link = outdir / str(link_name(name))
        link.unlink(missing_ok=True)
        link.symlink_to(name)
    return target


def header_module_ffi(header: str) -> cffi.FFI:
    """The out-of-line module of one header: compiled (API mode) or ABI mode, per HEADER_MODULES."""
    module, compiled = HEADER_MODULES[header]
    ffi = cffi.FFI()
    cdef = header_cdef((INCLUDE / header).read_text())
    ffi.cdef(cdef)
    if compiled:
        # the hash's #define is declared to cffi with its value, which the C side must then match
        hash_define = cdef.rstrip().splitlines()[-1]
        ffi.set_source(f"gdev_shim.{module}", f'#include "{header}"\n{hash_define}\n',
                       include_dirs=[str(INCLUDE)])
    else:
        ffi.set_source(f"gdev_shim.{module}", None)
    return ffi


FUTEX_DECLARATIONS = """
long gdev_futex_wait(uintptr_t addr, uint32_t expected, long long timeout_ns);
long gdev_futex_wake(uintptr_t addr, int count);
int gdev_spin_u64_reached(uintptr_t addr, uint64_t target, long long spin_ns, uintptr_t mine, uintptr_t theirs);
int gdev_spin_u32_changed(uintptr_t addr, uint32_t expected, long long spin_ns, uintptr_t mine, uintptr_t theirs);
int sched_getcpu(void);
"""


def futex_module() -> cffi.FFI:
    """gdev_shim._futex: futex wait and wake as compiled calls (common/futex.py uses it
    when built, ctypes otherwise)."""
    ffi = cffi.FFI()
    ffi.cdef(FUTEX_DECLARATIONS)
    ffi.set_source("gdev_shim._futex", '#include "futex_c.h"\n', include_dirs=[str(PACKAGE / "common")])
    return ffi


# setup.py's cffi_modules name these (one FFI per entry).
def aidev_drm_module() -> cffi.FFI:
    return header_module_ffi("aidev_drm.h")


def sdaa_module() -> cffi.FFI:
    return header_module_ffi("sdaa.h")


def sdaa_runtime_module() -> cffi.FFI:
    return header_module_ffi("sdaa_runtime.h")


def cudart_module() -> cffi.FFI:
    return header_module_ffi("gdev_cudart.h")


def cuda_module() -> cffi.FFI:
    return header_module_ffi("gdev_cuda.h")


def build_header_modules(tmpdir: Path | None = None) -> list[Path]:
    """Write every header module, and the futex module, into the package directory (the .c
    and .o files stay in tmpdir)."""
    tmp = tmpdir or ROOT / "build" / "ffi" / "headers"
    built = []
    for header, (module, _) in HEADER_MODULES.items():
        built.append(_place(header_module_ffi(header), module, tmp))
    built.append(_place(futex_module(), "_futex", tmp))
    return built


def _place(ffi: cffi.FFI, module: str, tmp: Path) -> Path:
    out = Path(ffi.compile(tmpdir=str(tmp), verbose=False))
    for other in PACKAGE.glob(f"{module}.*"):     # e.g. the .abi3.so `pip install -e .` built
        other.unlink()
    target = PACKAGE / out.name
    out.replace(target)
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Build libgdev.so, libusdaa.so and libcudart.so.13.")
    parser.add_argument("outdir", nargs="?", type=Path, default=ROOT / "build" / "lib")
    parser.add_argument("--path", action="append", dest="paths", metavar="DIR",
                        help="sys.path entry to bake in (repeatable)")
    parser.add_argument("--tmpdir", type=Path, help="cffi's build directory")
    parser.add_argument("--header-modules", action="store_true",
                        help="build the header modules of gdev_shim instead of the libraries")
    args = parser.parse_args(argv)
    tmpdir = args.tmpdir.resolve() if args.tmpdir else None
    if args.header_modules:
        for path in build_header_modules(tmpdir):
            print(f"built {path}")
        return
    paths = [str(Path(p).resolve()) for p in args.paths] if args.paths else None
    for name in LIBRARIES:
        print(f"built {build(name, args.outdir.resolve(), paths, tmpdir)}")


if __name__ == "__main__":
    main()
