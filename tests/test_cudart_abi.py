"""The CUDA face's ABI: every layout and value include/gdev_cudart.h declares matches the
CUDA toolkit's headers (a checker compiled against them prints the toolkit's view), and
every symbol libcudart.so.13 exports carries the version node nvcc-built programs import."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import cffi
import pytest

from gdev_shim.common.cheader import constants
from gdev_shim.common.contract import cdef_source
from helpers import INCLUDE_DIR, LIB_DIR, exported_symbols, soname

TOOLKIT = Path("/usr/local/cuda/include")
STRUCTS = ("struct cudaDeviceProp", "struct cudaFuncAttributes", "struct dim3", "struct CUuuid_st",
           "struct cudaLaunchConfig_st", "struct cudaLaunchAttribute_st", "struct cudaExtent", "struct cudaPos",
           "struct cudaPitchedPtr", "struct cudaMemcpy3DParms", "struct cudaMemLocation",
           "struct cudaKernelNodeParams", "struct cudaMemsetParams", "struct cudaHostNodeParams",
           "struct cudaGraphExecUpdateResultInfo_st", "struct cudaChannelFormatDesc", "struct cudaResourceDesc",
           "struct cudaTextureDesc", "struct cudaMemPoolProps")
needs_toolkit = pytest.mark.skipif(not (TOOLKIT / "cuda_runtime_api.h").is_file() or not shutil.which("g++"),
                                   reason="the CUDA toolkit's headers and g++ check the ABI")


def _ours() -> tuple[cffi.FFI, dict[str, int]]:
    ffi = cffi.FFI()
    ffi.cdef(cdef_source((INCLUDE_DIR / "gdev_cudart.h").read_text()))
    values = {k: v for k, v in constants("gdev_cudart.h")._names.items() if not k.startswith("GDEV_")}
    return ffi, values


def _layout_lines(ffi: cffi.FFI) -> list[tuple[str, str]]:
    """(key, C++ expression) for each size and field offset of the declared structs."""
    lines = []
    for struct in STRUCTS:
        lines.append((f"sizeof {struct}", f"sizeof({struct})"))
        for name, _field in ffi.typeof(struct).fields:
            lines.append((f"{struct}.{name}", f"offsetof({struct}, {name})"))
    return lines


@pytest.fixture(scope="module")
def toolkit_view(tmp_path_factory) -> dict[str, int]:
    ffi, values = _ours()
    exprs = _layout_lines(ffi) + [(name, f"(long long)({name})") for name in values]
    body = "\n".join(f'    std::printf("%s %lld\\n", "{key}", (long long)({expr}));' for key, expr in exprs)
    src = tmp_path_factory.mktemp("abi") / "check.cpp"
    src.write_text("#include <cstddef>\n#include <cstdio>\n#include <cuda_runtime_api.h>\n"
                   f"int main()\n{{\n{body}\n    return 0;\n}}\n")
    exe = src.with_suffix("")
    subprocess.run(["g++", "-std=c++17", f"-I{TOOLKIT}", str(src), "-o", str(exe)], check=True,
                   capture_output=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    return {key: int(value) for key, value in (line.rsplit(" ", 1) for line in out.splitlines())}


@needs_toolkit
def test_struct_layouts_match_the_toolkit(toolkit_view):
    ffi, _ = _ours()
    for struct in STRUCTS:
        assert toolkit_view[f"sizeof {struct}"] == ffi.sizeof(struct), struct
        for name, field in ffi.typeof(struct).fields:
            assert toolkit_view[f"{struct}.{name}"] == field.offset, f"{struct}.{name}"
    assert ffi.sizeof("struct cudaDeviceProp") == 1008       # CUDA 13's, a check on the checker


@needs_toolkit
def test_every_declared_value_matches_the_toolkit(toolkit_view):
    _, values = _ours()
    assert len(values) > 200
    mismatched = {name: (value, toolkit_view[name]) for name, value in values.items()
                  if toolkit_view[name] != value}
    assert mismatched == {}


needs_lib = pytest.mark.skipif(not (LIB_DIR / "libcudart.so.13").exists() or not shutil.which("readelf"),
                               reason="build/lib comes from `make all`")


@needs_lib
def test_every_exported_symbol_carries_the_version_node():
    defined = exported_symbols(LIB_DIR / "libcudart.so.13")
    names = {sym.split("@")[0] for sym in defined}
    assert {"cudaMalloc", "__cudaRegisterFatBinary", "__cudaLaunchKernel", "cudaGetErrorString"} <= names
    assert [sym for sym in defined if not sym.endswith("@@libcudart.so.13")] == []
    assert (LIB_DIR / "libcudart.so").resolve() == (LIB_DIR / "libcudart.so.13").resolve()
    assert soname(LIB_DIR / "libcudart.so.13") == "libcudart.so.13"


@needs_toolkit
def test_every_prototype_matches_the_toolkit(tmp_path):
    """Each function gdev_cudart.h declares has the type of the toolkit's declaration (the
    per-thread forms their plain name's; nvcc's internal __cuda* calls are in no header)."""
    ffi = cffi.FFI()
    ffi.cdef(cdef_source((INCLUDE_DIR / "gdev_cudart.h").read_text()))
    functions = {key.split(" ", 1)[1]: ffi._parser._declarations[key][0].get_c_name()
                 for key in ffi._parser._declarations if key.startswith("function ")}
    public = {name: ctype for name, ctype in functions.items() if not name.startswith("__")}
    assert len(public) > 120
    asserts = [f'static_assert(std::is_same<decltype(&{name.removesuffix("_ptsz").removesuffix("_ptds")}), '
               f'{ctype}>::value, "{name}");' for name, ctype in public.items()]
    src = tmp_path / "prototypes.cpp"
    src.write_text("#include <type_traits>\n#include <cuda_runtime_api.h>\n" + "\n".join(asserts)
                   + "\nint main() { return 0; }\n")
    built = subprocess.run(["g++", "-std=c++17", "-fsyntax-only", f"-I{TOOLKIT}", str(src)],
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-3000:]
