"""The public C headers: cffi accepts them, C and C++ compilers agree with cffi,
the values match the documented API, and the stub generator and C test
programs build from them."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import cffi
import pytest

from gdev_shim.common.contract import cdef_source
from helpers import INCLUDE_DIR, ROOT as REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "c_tests" / "stubs"))
import gen_stubs  # noqa: E402

HEADERS = ("gdev_api.h", "sdaa.h", "sdaa_runtime.h")
C_PROGRAMS = sorted((REPO_ROOT / "c_tests").glob("*/*.c"))
TESTUTIL_DIR = REPO_ROOT / "c_tests" / "common"          # testutil.h, the programs' shared helpers
needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")
needs_gxx = pytest.mark.skipif(shutil.which("g++") is None, reason="g++ not installed")


def _text(name: str) -> str:
    return (INCLUDE_DIR / name).read_text()


def _ffi(*names: str) -> cffi.FFI:
    ffi = cffi.FFI()
    ffi.cdef("\n".join(cdef_source(_text(n)) for n in names))
    return ffi


def _identifiers(*names: str) -> set[str]:
    """Every top-level name a header declares: functions, constants, enum
    values, typedefs and struct/enum/union tags."""
    ffi = _ffi(*names)
    lib = ffi.dlopen(None)
    typedefs, structs, unions = ffi.list_types()
    tags = set()
    for n in names:
        body = re.sub(r"/\*.*?\*/", " ", cdef_source(_text(n)), flags=re.S)
        tags |= set(re.findall(r"\b(?:struct|enum|union)\s+(\w+)", body))
    return set(dir(lib)) | set(typedefs) | set(structs) | set(unions) | tags


def _functions(*names: str) -> set[str]:
    lib = _ffi(*names).dlopen(None)
    out = set()
    for name in dir(lib):
        try:
            value = getattr(lib, name)
        except AttributeError:          # a function this process does not define
            out.add(name)
            continue
        if not isinstance(value, int):
            out.add(name)
    return out


# ---- cdef_source ----------------------------------------------------------

def test_cdef_source_drops_cplusplus_blocks_and_keeps_the_rest() -> None:
    text = "\n".join([
        "#ifndef X_H",
        "#define X_H",
        "#include <stdint.h>",
        "#ifdef __cplusplus",
        'extern "C" {',
        "#if 1",
        "int only_cxx;",
        "#endif",
        "#endif",
        "#define ANSWER 42",
        "#define MASK 0xff /* bits */",
        "#define EXPR (1 << 3)",
        "int f(int x);",
        "#if defined(__cplusplus)",
        "}",
        "#else",
        "int only_c(void);",
        "#endif",
        "#endif",
    ])
    kept = cdef_source(text).splitlines()
    assert kept == ["#define ANSWER 42", "#define MASK 0xff /* bits */", "int f(int x);", "int only_c(void);"]


def test_cdef_source_unchanged_for_the_card_contract() -> None:
    # aidev_drm.h has no __cplusplus block: every integer define survives.
    text = _text("aidev_drm.h")
    kept = cdef_source(text)
    assert "#define AIDEV_OP_COMPUTE           3" in kept
    assert "#define AIDEV_IOCTL_GET_INFO" not in kept and "#ifndef" not in kept
    int_define = re.compile(r"^\s*#\s*define\s+\w+\s+(0x[0-9a-fA-F]+|\d+)\b")
    expected = [ln for ln in text.splitlines() if not ln.lstrip().startswith("#") or int_define.match(ln)]
    assert kept == "\n".join(expected)


# ---- cffi acceptance and the one-module rule ------------------------------

@pytest.mark.parametrize("name", HEADERS)
def test_header_is_accepted_by_cffi(name: str) -> None:
    ffi = _ffi(name)
    assert ffi.list_types()[1] or ffi.list_types()[0]      # it declared types


def test_driver_and_runtime_headers_load_into_one_module() -> None:
    ffi = _ffi("sdaa.h", "sdaa_runtime.h")
    assert ffi.sizeof("struct sdaaDeviceProp") > 256 and ffi.sizeof("SDdevprop") == 14 * 4


def test_driver_and_runtime_headers_share_no_identifier() -> None:
    shared = _identifiers("sdaa.h") & _identifiers("sdaa_runtime.h")
    assert shared == set()


def test_each_api_keeps_to_its_prefix() -> None:
    # Distinct prefixes keep the two APIs apart as both grow.
    driver, runtime = _identifiers("sdaa.h"), _identifiers("sdaa_runtime.h")
    assert [n for n in driver if not re.match(r"(sd[A-Z]|SD)", n) or n.startswith("sdaa")] == []
    assert [n for n in runtime if not re.match(r"(__)?sdaa", n)] == []
    # Ghandle is Gdev's own name for the handle type, kept as Gdev programs spell it
    assert [n for n in _identifiers("gdev_api.h") if not re.match(r"(g|GDEV_|Ghandle$)", n)] == []


def test_runtime_header_is_self_contained() -> None:
    text = _text("sdaa_runtime.h")
    assert not re.search(r'#\s*include\s*[<"]sdaa\.h[>"]', text)
    body = re.sub(r"/\*.*?\*/", " ", cdef_source(text), flags=re.S)
    assert not re.search(r"\bSD[A-Za-z_]*\b", body), "uses a driver-API name"


_ALLOWED_DIRECTIVE = re.compile(
    r"^\s*#\s*(ifndef \w+_H|define \w+_H|endif\b.*|ifdef __cplusplus|include <std(def|int)\.h>)\s*$")


@pytest.mark.parametrize("name", HEADERS)
def test_preprocessor_lines_are_integer_defines_or_preprocessor_only(name: str) -> None:
    for line in _text(name).splitlines():
        if line.lstrip().startswith("#"):
            assert gen_stubs.cdef_source(line) == line or _ALLOWED_DIRECTIVE.match(line), line


@pytest.mark.parametrize("name", HEADERS)
def test_no_constructs_cffi_or_the_rules_forbid(name: str) -> None:
    body = re.sub(r"/\*.*?\*/", " ", cdef_source(_text(name)), flags=re.S)
    for banned in ("__attribute__", "inline", "...", "static", "extern"):
        assert banned not in body, banned
    for enum_body in re.findall(r"\benum\s+\w*\s*\{([^}]*)\}", body):
        for item in enum_body.split(","):
            assert re.fullmatch(r"\s*\w+\s*=\s*-?(0x[0-9a-fA-F]+|\d+)\s*", item), item


# ---- documented values ----------------------------------------------------

CONSTANTS = {
    "gdev_api.h": {
        "GDEV_QUERY_DEVICE_MEM_SIZE": 1, "GDEV_QUERY_DMA_MEM_SIZE": 2, "GDEV_QUERY_CHIPSET": 3,
        "GDEV_QUERY_BUS_TYPE": 4, "GDEV_QUERY_AGGR_TYPE": 5, "GDEV_QUERY_PCI_VENDOR": 6,
        "GDEV_QUERY_PCI_DEVICE": 7, "GDEV_TUNE_MEMCPY_PIPELINE_COUNT": 1,
        "GDEV_TUNE_MEMCPY_CHUNK_SIZE": 2, "GDEV_IPC_CREAT": 0o1000, "GDEV_IPC_EXCL": 0o2000,
        "GDEV_IPC_NOWAIT": 0o4000, "GDEV_IPC_RMID": 0, "GDEV_IPC_SET": 1, "GDEV_IPC_STAT": 2,
        "GDEV_IPC_INFO": 3,
    },
    "sdaa.h": {
        "SDAA_SUCCESS": 0, "SDAA_ERROR_INVALID_VALUE": 1, "SDAA_ERROR_OUT_OF_MEMORY": 2,
        "SDAA_ERROR_NOT_INITIALIZED": 3, "SDAA_ERROR_DEINITIALIZED": 4, "SDAA_ERROR_NO_DEVICE": 100,
        "SDAA_ERROR_INVALID_DEVICE": 101, "SDAA_ERROR_INVALID_IMAGE": 200,
        "SDAA_ERROR_INVALID_CONTEXT": 201, "SDAA_ERROR_CONTEXT_ALREADY_CURRENT": 202,
        "SDAA_ERROR_MAP_FAILED": 205, "SDAA_ERROR_UNMAP_FAILED": 206,
        "SDAA_ERROR_ARRAY_IS_MAPPED": 207, "SDAA_ERROR_ALREADY_MAPPED": 208,
        "SDAA_ERROR_NO_BINARY_FOR_GPU": 209, "SDAA_ERROR_ALREADY_ACQUIRED": 210,
        "SDAA_ERROR_NOT_MAPPED": 211, "SDAA_ERROR_INVALID_SOURCE": 300,
        "SDAA_ERROR_FILE_NOT_FOUND": 301, "SDAA_ERROR_INVALID_HANDLE": 400,
        "SDAA_ERROR_NOT_FOUND": 500, "SDAA_ERROR_NOT_READY": 600, "SDAA_ERROR_LAUNCH_FAILED": 700,
        "SDAA_ERROR_LAUNCH_OUT_OF_RESOURCES": 701, "SDAA_ERROR_LAUNCH_TIMEOUT": 702,
        "SDAA_ERROR_LAUNCH_INCOMPATIBLE_TEXTURING": 703, "SDAA_ERROR_UNKNOWN": 999,
        "SD_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK": 1, "SD_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z": 4,
        "SD_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X": 5, "SD_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK": 8,
        "SD_DEVICE_ATTRIBUTE_WARP_SIZE": 10, "SD_DEVICE_ATTRIBUTE_CLOCK_RATE": 13,
        "SD_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT": 16, "SD_DEVICE_ATTRIBUTE_COMPUTE_MODE": 20,
        "SD_DEVICE_ATTRIBUTE_CONCURRENT_KERNELS": 31, "SD_DEVICE_ATTRIBUTE_ECC_ENABLED": 32,
        "SD_DEVICE_ATTRIBUTE_PCI_BUS_ID": 33, "SD_DEVICE_ATTRIBUTE_PCI_DEVICE_ID": 34,
        "SD_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE": 36, "SD_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH": 37,
        "SD_DEVICE_ATTRIBUTE_SPE_ARRAY_COUNT": 1000, "SD_DEVICE_ATTRIBUTE_SPES_PER_ARRAY": 1001,
        "SD_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK": 0, "SD_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES": 3,
        "SD_FUNC_ATTRIBUTE_BINARY_VERSION": 6, "SD_MEMHOSTALLOC_PORTABLE": 1,
        "SD_MEMHOSTALLOC_DEVICEMAP": 2, "SD_MEMHOSTALLOC_WRITECOMBINED": 4,
        "SD_LAUNCH_PARAM_END": 0, "SD_LAUNCH_PARAM_BUFFER_POINTER": 1, "SD_LAUNCH_PARAM_BUFFER_SIZE": 2,
        "SD_CTX_SCHED_AUTO": 0, "SD_CTX_SCHED_SPIN": 1, "SD_CTX_SCHED_YIELD": 2,
        "SD_CTX_SCHED_BLOCKING_SYNC": 4,
    },
    "sdaa_runtime.h": {
        "sdaaSuccess": 0, "sdaaErrorMissingConfiguration": 1, "sdaaErrorMemoryAllocation": 2,
        "sdaaErrorInitializationError": 3, "sdaaErrorLaunchFailure": 4,
        "sdaaErrorInvalidDeviceFunction": 8, "sdaaErrorInvalidDevice": 10, "sdaaErrorInvalidValue": 11,
        "sdaaErrorInvalidDevicePointer": 17, "sdaaErrorInvalidMemcpyDirection": 21,
        "sdaaErrorSdaartUnloading": 29, "sdaaErrorUnknown": 30, "sdaaErrorNotReady": 34,
        "sdaaErrorNoDevice": 38, "sdaaErrorECCUncorrectable": 39, "sdaaErrorStartupFailure": 0x7F,
        "sdaaErrorApiFailureBase": 10000, "sdaaMemcpyHostToHost": 0, "sdaaMemcpyHostToDevice": 1,
        "sdaaMemcpyDeviceToHost": 2, "sdaaMemcpyDeviceToDevice": 3, "sdaaDevAttrMaxThreadsPerBlock": 1,
        "sdaaDevAttrWarpSize": 10, "sdaaDevAttrMultiProcessorCount": 16,
        "sdaaDevAttrSpeArrayCount": 1000, "sdaaDevAttrSpesPerArray": 1001, "sdaaHostAllocDefault": 0,
        "sdaaHostAllocPortable": 1, "sdaaHostAllocMapped": 2, "sdaaHostAllocWriteCombined": 4,
        "sdaaEventDefault": 0, "sdaaEventBlockingSync": 1, "sdaaEventDisableTiming": 2,
    },
}


@pytest.mark.parametrize("name", HEADERS)
def test_constants_have_the_documented_values(name: str) -> None:
    lib = _ffi(name).dlopen(None)
    assert {k: getattr(lib, k) for k in CONSTANTS[name]} == CONSTANTS[name]


def test_runtime_error_codes_are_dense_up_to_ecc() -> None:
    # sdaaError 0..39 carry CUDA 3's numbering with no gaps.
    ffi = _ffi("sdaa_runtime.h")
    values = set(ffi.typeof("enum sdaaError").elements)
    assert set(range(40)) <= values


EXPECTED_FUNCTIONS = {
    "gdev_api.h": {
        "gopen", "gclose", "gmalloc", "gfree", "gmalloc_dma", "gfree_dma", "gmap", "gunmap",
        "gmemcpy_to_device", "gmemcpy_to_device_async", "gmemcpy_user_to_device",
        "gmemcpy_user_to_device_async", "gmemcpy_from_device", "gmemcpy_from_device_async",
        "gmemcpy_user_from_device", "gmemcpy_user_from_device_async", "gmemcpy", "gmemcpy_async",
        "glaunch", "gsync", "gbarrier", "gquery", "gtune", "gshmget", "gshmat", "gshmdt", "gshmctl",
        "gref", "gunref", "gphysget", "gvirtget", "gdevice_count",
    },
}


def test_gdev_api_declares_exactly_gdevs_functions() -> None:
    assert _functions("gdev_api.h") == EXPECTED_FUNCTIONS["gdev_api.h"]


# ---- C and C++ compilers agree with cffi -----------------------------------

LAYOUT = {
    "struct gdev_kernel": ["code_addr", "code_size", "code_pc", "param_size", "param_buf", "smem_size",
                           "lmem_size", "grid_x", "grid_z", "block_x", "block_z", "globals_addr"],
    "struct gdev_time": ["sec", "usec", "neg"],
    "SDdevprop": ["maxThreadsPerBlock", "maxThreadsDim", "maxGridSize", "sharedMemPerBlock", "textureAlign"],
    "struct sdaaDeviceProp": ["name", "totalGlobalMem", "sharedMemPerBlock", "regsPerBlock", "memPitch",
                              "maxThreadsDim", "clockRate", "totalConstMem", "major", "textureAlignment",
                              "deviceOverlap", "computeMode", "memoryBusWidth", "speArrayCount",
                              "spesPerArray"],
    "struct sdaaFuncAttributes": ["sharedSizeBytes", "localSizeBytes", "maxThreadsPerBlock",
                                  "binaryVersion"],
}


def _layout_program() -> str:
    lines = ["#include <stddef.h>", "#include <stdio.h>", '#include "gdev_api.h"', '#include "sdaa.h"',
             '#include "sdaa_runtime.h"', "int main(void)", "{"]
    for ctype, fields in LAYOUT.items():
        lines.append(f'    printf("{ctype} sizeof %lu\\n", (unsigned long)sizeof({ctype}));')
        for f in fields:
            lines.append(f'    printf("{ctype} {f} %lu\\n", (unsigned long)offsetof({ctype}, {f}));')
    lines += ["    return 0;", "}"]
    return "\n".join(lines) + "\n"


@needs_gcc
def test_c_layouts_match_cffi(tmp_path: Path) -> None:
    src = tmp_path / "layout.c"
    src.write_text(_layout_program())
    exe = tmp_path / "layout"
    subprocess.run(["gcc", "-Wall", "-Wextra", "-Werror", "-pedantic", "-std=c99", f"-I{INCLUDE_DIR}",
                    str(src), "-o", str(exe)], check=True, capture_output=True, text=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    gdev, sdaa = _ffi("gdev_api.h"), _ffi("sdaa.h", "sdaa_runtime.h")
    expected = []
    for ctype, fields in LAYOUT.items():
        ffi = gdev if "gdev" in ctype else sdaa
        expected.append(f"{ctype} sizeof {ffi.sizeof(ctype)}")
        expected += [f"{ctype} {f} {ffi.offsetof(ctype, f)}" for f in fields]
    assert out.splitlines() == expected
    assert gdev.sizeof("struct gdev_kernel") == 72 and gdev.offsetof("struct gdev_kernel", "param_buf") == 24


ALL_HEADERS_C = "\n".join(['#include "gdev_api.h"', '#include "sdaa.h"', '#include "sdaa_runtime.h"',
                           "int use_them(void);",
                           "int use_them(void) { void *p = 0; return (int)sdaaMalloc(&p, 16) +",
                           "    (int)sdMemFree(0) + gclose(0); }", ""])


@needs_gcc
def test_all_headers_compile_as_c99(tmp_path: Path) -> None:
    src = tmp_path / "all.c"
    src.write_text(ALL_HEADERS_C)
    r = subprocess.run(["gcc", "-Wall", "-Wextra", "-Werror", "-std=c99", "-pedantic", f"-I{INCLUDE_DIR}",
                        "-c", str(src), "-o", str(tmp_path / "all.o")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@needs_gxx
def test_all_headers_compile_as_cxx_with_c_linkage(tmp_path: Path) -> None:
    src = tmp_path / "all.cpp"
    src.write_text(ALL_HEADERS_C)
    obj = tmp_path / "all.o"
    r = subprocess.run(["g++", "-Wall", "-Wextra", "-Werror", f"-I{INCLUDE_DIR}", "-c", str(src),
                        "-o", str(obj)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    undefined = subprocess.run(["nm", "-u", str(obj)], check=True, capture_output=True, text=True).stdout.split()
    assert {"sdaaMalloc", "sdMemFree", "gclose"} <= set(undefined)     # unmangled: extern "C" works


# ---- the C test programs ----------------------------------------------------

@needs_gcc
@pytest.mark.parametrize("program", C_PROGRAMS, ids=lambda p: p.name)
def test_c_program_compiles_cleanly(program: Path, tmp_path: Path) -> None:
    r = subprocess.run(["gcc", "-Wall", "-Wextra", "-Werror", f"-I{INCLUDE_DIR}", f"-I{TESTUTIL_DIR}", "-c",
                        str(program), "-o", str(tmp_path / "p.o")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_launch_program_uses_only_the_runtime_header() -> None:
    # launch.c is the seed program users copy: the runtime header and the C library, nothing of ours.
    includes = re.findall(r'^\s*#\s*include\s*([<"][^>"]+[>"])', (REPO_ROOT / "c_tests" / "launch" / "launch.c")
                          .read_text(), flags=re.M)
    assert [i for i in includes if not i.startswith("<")] == ['"sdaa_runtime.h"']


TESTUTIL_PROGRAM = r"""
#define _POSIX_C_SOURCE 200809L
#include <string.h>
#include "testutil.h"

static double linear_ms(void *ctx, uint32_t count) { (void)ctx; return 1.0 + count * 0.01; }
static double slow_ms(void *ctx, uint32_t count) { (void)ctx; (void)count; return 20.0; }

int main(int argc, char **argv)
{
    long size = -1;
    char *data;
    double t0 = tu_now_ms();
    (void)argc;
    tu_sleep_ms(20.0);
    printf("slept %d\n", tu_now_ms() - t0 >= 19.0);
    printf("lcg %u %u %u\n", (unsigned)tu_lcg(0, 0), (unsigned)tu_lcg(0, 1), (unsigned)tu_lcg(5, 3));
    printf("env %d %d\n", tu_env_int("TU_SET", 7), tu_env_int("TU_EMPTY", 7));
    printf("calibrate %.0f %.0f\n", tu_calibrate(linear_ms, NULL, 100.0), tu_calibrate(slow_ms, NULL, 10.0));
    data = (char *)tu_read_file(argv[1], &size);
    printf("file %ld %.5s\n", size, data ? data : "NULL");
    free(data);
    size = -1;
    printf("empty %d %ld\n", tu_read_file(argv[2], &size) == NULL, size);
    printf("missing %d\n", tu_read_file("/nonexistent/x", NULL) == NULL);
    CHECK_INT(0);
    REQUIRE(strlen("ab") == 2);
    if (argc > 3)
        CHECK_INT(-22 + (int)strlen(argv[3]));
    REQUIRE(size == 0);
    return 0;
}
"""


def _line_of(text: str) -> int:
    return next(n for n, line in enumerate(TESTUTIL_PROGRAM.splitlines(), 1) if text in line)


def _lcg(i: int, count: int) -> int:
    for _ in range(count):
        i = (i * 1664525 + 1013904223) % 2**32
    return i


@needs_gcc
@pytest.mark.parametrize("compiler", ["gcc", "g++"])
def test_testutil_helpers(compiler: str, tmp_path: Path) -> None:
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} not installed")
    src = tmp_path / ("tu.c" if compiler == "gcc" else "tu.cpp")
    src.write_text(TESTUTIL_PROGRAM)
    std = ["-std=c99", "-pedantic"] if compiler == "gcc" else []
    r = subprocess.run([compiler, "-Wall", "-Wextra", "-Werror", *std, f"-I{TESTUTIL_DIR}", str(src), "-o",
                        str(tmp_path / "tu")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    (tmp_path / "data").write_bytes(b"hello world")
    (tmp_path / "empty").write_bytes(b"")
    env = {"TU_SET": "0x10", "TU_EMPTY": ""}
    args = [str(tmp_path / "tu"), str(tmp_path / "data"), str(tmp_path / "empty")]
    ok = subprocess.run(args, capture_output=True, text=True, env=env)
    # 15 ms for 3840 more iterations: 1/256 ms each, no fixed cost -> 100 ms is 25600 iterations;
    # no measurable cost per iteration falls back to t1 / c1, clamped to at least c1.
    assert ok.stdout.splitlines() == [
        "slept 1", f"lcg 0 {_lcg(0, 1)} {_lcg(5, 3)}", "env 16 7", "calibrate 9762 128", "file 11 hello",
        "empty 1 -1", "missing 1", f"Test failed: line {_line_of('REQUIRE(size == 0)')}: size == 0"]
    assert ok.returncode == 1
    bad = subprocess.run(args + ["x"], capture_output=True, text=True, env=env)
    assert bad.returncode == 1
    line = _line_of("CHECK_INT(-22")
    assert bad.stdout.splitlines()[-1] == f"Test failed: line {line}: -22 + (int)strlen(argv[3]) returned -21"


def test_all_four_c_programs_exist() -> None:
    assert {p.name for p in C_PROGRAMS} >= {"launch.c", "driver_basic.c", "gdev_roundtrip.c",
                                           "runtime_errors.c"}


# ---- the stub generator -----------------------------------------------------

@pytest.mark.parametrize("headers", list(gen_stubs.LIBRARIES.values()), ids=lambda h: "+".join(h))
def test_stub_prototypes_cover_every_declared_function(headers: tuple[str, ...]) -> None:
    found = {p.name for h in headers for p in gen_stubs.prototypes(_text(h))}
    assert found == _functions(*headers)


def test_stub_generator_rejects_unnamed_parameters_and_unknown_types() -> None:
    with pytest.raises(gen_stubs.StubError):
        gen_stubs.prototypes("int f(int);")
    with pytest.raises(gen_stubs.StubError):
        gen_stubs.failure_value("float")
    assert gen_stubs.failure_value("const char *") == "NULL"
    assert gen_stubs.failure_value("void") is None


def test_stub_generator_rejects_what_cffi_rejects() -> None:
    with pytest.raises(cffi.CDefError):
        gen_stubs.prototypes("int f(int x, ...) __attribute__((x));")


@pytest.fixture(scope="module")
def stub_libs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if shutil.which("gcc") is None:
        pytest.skip("gcc not installed")
    out = tmp_path_factory.mktemp("stubs")
    libs = {}
    for src in gen_stubs.write_stubs(out):
        lib = out / ("lib" + src.name.replace("_stub.c", ".so"))
        r = subprocess.run(["gcc", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", f"-I{INCLUDE_DIR}",
                            str(src), "-o", str(lib)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        libs[lib.name] = lib
    return libs


def test_stubs_export_every_function(stub_libs: dict[str, Path]) -> None:
    for lib, headers in (("libusdaa.so", ("sdaa.h", "sdaa_runtime.h")), ("libgdev.so", ("gdev_api.h",))):
        nm = subprocess.run(["nm", "-D", "--defined-only", str(stub_libs[lib])], check=True,
                            capture_output=True, text=True).stdout
        exported = {line.split()[-1] for line in nm.splitlines() if " T " in line}
        assert exported == _functions(*headers)


def test_stubs_return_the_failure_values(stub_libs: dict[str, Path]) -> None:
    sdaa = _ffi("sdaa.h", "sdaa_runtime.h")
    usdaa = sdaa.dlopen(str(stub_libs["libusdaa.so"]))
    p = sdaa.new("void **")
    assert usdaa.sdaaMalloc(p, 16) == usdaa.sdaaErrorInitializationError
    assert usdaa.sdInit(0) == usdaa.SDAA_ERROR_NOT_INITIALIZED
    assert usdaa.__sdaaRegisterFatBinary(p) == sdaa.NULL
    assert usdaa.sdaaGetErrorString(0) == sdaa.NULL
    gffi = _ffi("gdev_api.h")
    gdev = gffi.dlopen(str(stub_libs["libgdev.so"]))
    assert gdev.gopen(0) == gffi.NULL
    assert gdev.gmalloc(gffi.NULL, 4096) == 0
    assert gdev.gclose(gffi.NULL) == -38            # -ENOSYS


SIGNATURES = [
    ("gdev_api.h", "glaunch", "int(*)(struct gdev_handle *, struct gdev_kernel *, uint32_t *)"),
    ("gdev_api.h", "gsync", "int(*)(struct gdev_handle *, uint32_t, struct gdev_time *)"),
    ("gdev_api.h", "gmalloc", "uint64_t(*)(struct gdev_handle *, uint64_t)"),
    ("gdev_api.h", "gmemcpy_to_device_async",
     "int(*)(struct gdev_handle *, uint64_t, const void *, uint64_t, uint32_t *)"),
    ("gdev_api.h", "gref", "uint64_t(*)(struct gdev_handle *, uint64_t, uint64_t, struct gdev_handle *)"),
    ("gdev_api.h", "gdevice_count", "int(*)(int *)"),
    ("sdaa.h", "sdLaunchKernel", "SDresult(*)(SDfunction, unsigned int, unsigned int, unsigned int, "
     "unsigned int, unsigned int, unsigned int, unsigned int, SDstream, void **, void **)"),
    ("sdaa.h", "sdMemAlloc", "SDresult(*)(SDdeviceptr *, size_t)"),
    ("sdaa.h", "sdLaunch", "SDresult(*)(SDfunction, int, SDstream)"),
    ("sdaa.h", "sdModuleGetGlobal", "SDresult(*)(SDdeviceptr *, size_t *, SDmodule, const char *)"),
    ("sdaa_runtime.h", "__sdaaRegisterFatBinary", "void **(*)(void *)"),
    ("sdaa_runtime.h", "__sdaaRegisterFunction", "void(*)(void **, char *)"),
    ("sdaa_runtime.h", "sdaaMemcpy", "sdaaError_t(*)(void *, const void *, size_t, enum sdaaMemcpyKind)"),
    ("sdaa_runtime.h", "sdaaConfigureCall", "sdaaError_t(*)(int)"),
    ("sdaa_runtime.h", "sdaaSetupArgument", "sdaaError_t(*)(const void *, size_t, size_t)"),
    ("sdaa_runtime.h", "sdaaGetErrorString", "const char *(*)(sdaaError_t)"),
]


@pytest.mark.parametrize("header,name,signature", SIGNATURES, ids=[s[1] for s in SIGNATURES])
def test_signatures_match_the_documented_abi(stub_libs: dict[str, Path], header: str, name: str,
                                             signature: str) -> None:
    headers = ("gdev_api.h",) if header == "gdev_api.h" else ("sdaa.h", "sdaa_runtime.h")
    ffi = _ffi(*headers)
    lib = ffi.dlopen(str(stub_libs["libgdev.so" if header == "gdev_api.h" else "libusdaa.so"]))
    assert ffi.typeof(getattr(lib, name)) is ffi.typeof(signature)


def test_launch_linked_against_stubs_fails_cleanly(stub_libs: dict[str, Path], tmp_path: Path) -> None:
    exe = tmp_path / "launch"
    lib_dir = stub_libs["libusdaa.so"].parent
    subprocess.run(["gcc", "-Wall", "-Wextra", "-Werror", f"-I{INCLUDE_DIR}",
                    str(REPO_ROOT / "c_tests" / "launch" / "launch.c"), f"-L{lib_dir}", "-lusdaa",
                    "-o", str(exe)], check=True, capture_output=True, text=True)
    (tmp_path / "k.cubin").write_bytes(b"\x7fELF not really")
    r = subprocess.run([str(exe), "-d1", "-s0x100", f"-f{tmp_path / 'k.cubin'}"], capture_output=True,
                       text=True, env={"LD_LIBRARY_PATH": str(lib_dir)})
    assert r.returncode == 1
    assert r.stdout.splitlines() == [
        "size = 0x100, dev_num = 1",
        "file size =15",
        "Test failed: sdaaGetDeviceCount(&count) returned 3 (no description)",
    ]
