"""Build libgdev.so and libusdaa.so: cffi embedding modules over gdev_shim.capi.

The exported declarations are the public headers themselves (include/*.h, read
through the same filter the Python side uses), so a prototype exists once.
Usage: python build_ffi.py [outdir]   (default build/lib)
"""
from __future__ import annotations

import json
import site
import sys
import sysconfig
from pathlib import Path

import cffi

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from gdev_shim.common.contract import cdef_source  # noqa: E402

INCLUDE = ROOT / "include"

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

__attribute__((constructor)) static void gdev_shim_start_python(void)
{
    static const char *prepend =
        "import sys\n"
        "sys.path[0:0] = [p for p in %(paths)s if p not in sys.path]\n";
    if (Py_IsInitialized())
        return;
    Py_InitializeEx(0);
    PyRun_SimpleString(prepend);
    PyEval_SaveThread();          /* cffi takes the GIL per call */
}
"""

LIBRARIES = {
    "libgdev.so": ("_gdev_embed", ["gdev_api.h"], "gdev_exports"),
    "libusdaa.so": ("_usdaa_embed", ["sdaa.h", "sdaa_runtime.h"], "usdaa"),
}


def python_paths() -> list[str]:
    """Where the embedded interpreter finds gdev_shim and the dependencies."""
    paths = [str(ROOT)] + [p for p in site.getsitepackages() if Path(p).is_dir()]
    return list(dict.fromkeys(paths))


def build(name: str, outdir: Path) -> Path:
    module, headers, binder = LIBRARIES[name]
    ffi = cffi.FFI()
    ffi.embedding_api("\n".join(cdef_source((INCLUDE / h).read_text()) for h in headers))
    c_paths = json.dumps(repr(python_paths()))[1:-1]      # a Python literal inside a C string
    preamble = PYTHON_START % {"paths": c_paths} + "\n".join(f'#include "{h}"' for h in headers)
    ffi.set_source(module, preamble,
                   include_dirs=[str(INCLUDE)],
                   extra_link_args=[f"-Wl,-rpath,{sysconfig.get_config_var('LIBDIR')}"])
    ffi.embedding_init_code(INIT_CODE.format(paths=python_paths(), module=module, binder=binder))
    tmp = ROOT / "build" / "ffi" / module
    tmp.mkdir(parents=True, exist_ok=True)
    built = Path(ffi.compile(tmpdir=str(tmp), target=name, verbose=False))
    outdir.mkdir(parents=True, exist_ok=True)
    target = outdir / name
    built.replace(target)
    return target


def main() -> None:
    outdir = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "lib"
    for name in LIBRARIES:
        print(f"built {build(name, outdir.resolve())}")


if __name__ == "__main__":
    main()
