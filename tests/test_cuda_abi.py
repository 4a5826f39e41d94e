"""The CUDA driver face's ABI: every value, struct layout and function type
include/gdev_cuda.h declares matches the toolkit's cuda.h (a checker compiled against
it prints the toolkit's view, and static_asserts each prototype), and libcuda.so.1
exports its symbols plain, under its soname, as programs linked with -lcuda import them."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import cffi
import pytest

from gdev_shim.common.cheader import constants
from gdev_shim.common.contract import cdef_source
from helpers import INCLUDE_DIR, LIB_DIR, exported_symbols, soname

TOOLKIT = Path("/usr/local/cuda/include")
STRUCTS = ("struct CUuuid_st", "struct CUctxCreateParams_st", "struct CUgraphExecUpdateResultInfo_st",
           "struct CUDA_KERNEL_NODE_PARAMS_v2_st", "struct CUDA_MEMCPY3D_st", "struct CUDA_MEMSET_NODE_PARAMS_st",
           "struct CUDA_HOST_NODE_PARAMS_st", "struct CUgraphEdgeData_st", "struct CUDA_LAUNCH_PARAMS_st")
# exports CUDA 13's cuda.h no longer declares (older toolkits bound programs to them)
UNDECLARED = {"cuCtxCreate_v2"}
# what cuda.h defines inline (calling an export) rather than binding to one
INLINE = {"cuGetProcAddress_v2_ptsz"}
needs_toolkit = pytest.mark.skipif(not (TOOLKIT / "cuda.h").is_file() or not shutil.which("g++"),
                                   reason="the CUDA toolkit's cuda.h and g++ check the ABI")


def _ours() -> tuple[cffi.FFI, dict[str, int], dict[str, str]]:
    """Our declarations: the ffi, the integer constants and each function's C type."""
    ffi = cffi.FFI()
    ffi.cdef(cdef_source((INCLUDE_DIR / "gdev_cuda.h").read_text()))
    values = dict(constants("gdev_cuda.h")._names)
    functions = {key.split(" ", 1)[1]: ffi._parser._declarations[key][0].get_c_name()
                 for key in ffi._parser._declarations if key.startswith("function ")}
    return ffi, values, functions


def _declared(name: str) -> str:
    return name.removesuffix("_ptsz").removesuffix("_ptds")


def _checker(ffi: cffi.FFI, values: dict[str, int], functions: dict[str, str]) -> str:
    prints = [(f"sizeof {s}", f"sizeof({s})") for s in STRUCTS]
    prints += [(f"{s}.{name}", f"offsetof({s}, {name})") for s in STRUCTS for name, _ in ffi.typeof(s).fields]
    prints += [(name, f"(long long)({name})") for name in values]
    body = [f'    std::printf("%s %lld\\n", "{key}", (long long)({expr}));' for key, expr in prints]
    # a prototype that differs from the toolkit's fails the compile, naming the function
    # (a per-thread-stream form, declared only under that build flag, has its plain name's type)
    asserts = [f'static_assert(std::is_same<decltype(&{_declared(name)}), {ctype}>::value, "{name}");'
               for name, ctype in functions.items() if name not in UNDECLARED]
    return ("#include <cstddef>\n#include <cstdio>\n#include <type_traits>\n#include <cuda.h>\n"
            + "\n".join(asserts) + "\nint main()\n{\n" + "\n".join(body) + "\n    return 0;\n}\n")


@pytest.fixture(scope="module")
def toolkit_view(tmp_path_factory) -> dict[str, int]:
    src = tmp_path_factory.mktemp("cuabi") / "check.cpp"
    src.write_text(_checker(*_ours()))
    exe = src.with_suffix("")
    built = subprocess.run(["g++", "-std=c++17", "-Wno-deprecated-declarations", f"-I{TOOLKIT}", str(src),
                            "-o", str(exe)], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-3000:]
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    return {key: int(value) for key, value in (line.rsplit(" ", 1) for line in out.splitlines())}


@needs_toolkit
def test_struct_layouts_match_the_toolkit(toolkit_view):
    ffi, _, _ = _ours()
    for struct in STRUCTS:
        assert toolkit_view[f"sizeof {struct}"] == ffi.sizeof(struct), struct
        for name, field in ffi.typeof(struct).fields:
            assert toolkit_view[f"{struct}.{name}"] == field.offset, f"{struct}.{name}"


@needs_toolkit
def test_every_declared_value_and_prototype_matches_the_toolkit(toolkit_view):
    _, values, functions = _ours()
    assert len(values) > 150 and len(functions) > 60
    mismatched = {name: (value, toolkit_view[name]) for name, value in values.items()
                  if toolkit_view[name] != value}
    assert mismatched == {}


needs_lib = pytest.mark.skipif(not (LIB_DIR / "libcuda.so.1").exists() or not shutil.which("readelf"),
                               reason="build/lib comes from `make all`")


@needs_lib
def test_symbols_are_plain_under_the_soname():
    defined = exported_symbols(LIB_DIR / "libcuda.so.1")
    _, _, functions = _ours()
    assert set(functions) <= set(defined)
    assert [sym for sym in defined if "@" in sym] == []
    assert (LIB_DIR / "libcuda.so").resolve() == (LIB_DIR / "libcuda.so.1").resolve()
    assert soname(LIB_DIR / "libcuda.so.1") == "libcuda.so.1"


def _plain(name: str) -> str:
    """The name a program writes: without the per-thread suffix and the _vN cuda.h adds."""
    return re.sub(r"_v\d+$", "", _declared(name))


def _bound_names(plain: list[str], per_thread: bool, workdir: Path) -> dict[str, str]:
    """What cuda.h's macros turn each plain name into, in a program built one way or the other."""
    src = workdir / f"bind_{int(per_thread)}.cpp"
    lines = ["#define NAME_OF(x) #x", "#define BOUND(x) NAME_OF(x)"]
    if per_thread:
        lines.append("#define CUDA_API_PER_THREAD_DEFAULT_STREAM")
    lines += ["#include <cstdio>", "#include <cuda.h>", "int main()", "{"]
    lines += [f'    std::printf("%s %s\\n", "{name}", BOUND({name}));' for name in plain]
    lines += ["    return 0;", "}"]
    src.write_text("\n".join(lines) + "\n")
    exe = src.with_suffix("")
    built = subprocess.run(["g++", "-std=c++17", f"-I{TOOLKIT}", str(src), "-o", str(exe)],
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-3000:]
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    return dict(line.split(" ", 1) for line in out.splitlines())


@needs_toolkit
@needs_lib
@pytest.mark.parametrize("per_thread", [False, True], ids=["legacy-stream", "per-thread-stream"])
def test_every_name_binds_to_an_export(per_thread, tmp_path):
    """A program calling any function we implement by its plain name (cuMemHostRegister,
    cuGraphInstantiate, cuStreamBeginCapture) links to an export of ours, whichever way
    it is built: cuda.h's mapping of names to versions is checked, not copied."""
    _, _, functions = _ours()
    plain = sorted({_plain(name) for name in functions} | {"cuGraphInstantiate"})
    bound = _bound_names(plain, per_thread, tmp_path)
    defined = set(exported_symbols(LIB_DIR / "libcuda.so.1"))
    assert bound["cuMemHostRegister"] == "cuMemHostRegister_v2"
    assert bound["cuGraphInstantiate"] == "cuGraphInstantiateWithFlags"
    missing = {name: target for name, target in bound.items() if target not in defined | INLINE}
    assert missing == {}
