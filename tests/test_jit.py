"""The JIT engine against the interpreter: every kernel of tests/kernels, bit for bit."""
from __future__ import annotations

import struct

import numpy as np
import pytest

pytest.importorskip("llvmlite")

from gdev_shim import jit  # noqa: E402
from gdev_shim.card.card import Card  # noqa: E402
from gdev_shim.common.contract import C  # noqa: E402
from gdev_shim.ptx import KernelFault, Module, execute as interp_execute, parse_module  # noqa: E402
from helpers import ADD_TEST, GENERIC_N, KERNELS, generic_arguments, global_kernels  # noqa: E402

# kernels whose buffers hold floats: they also run on float data
FLOAT_MODULES = {"float_math", "reduce", "grid2d", "corpus_float", "corpus_double", "corpus_linalg"}
FLOAT_KERNELS = {"vec4", "conversions"}
GRID = (3, 2, 1)
# Per-kernel inputs where the generic ones are not a valid launch.  Scalars: parameter index ->
# value, packed at the parameter's size (an 8-byte integer would otherwise get a buffer address).
SCALARS = {("corpus_grid", "saxpy_stride"): {0: 0x3FC00000, 3: GENERIC_N},  # a = 1.5f; long long n
           ("corpus_grid", "stencil2d"): {2: 100, 3: 50},  # W*H must fit one buffer
           ("corpus_fault", "deep_recursion"): {0: 6}}     # the overflow: test_jit_calls
# Integer inputs are drawn below this bound, or below 64 (fib(n) costs about 1.6**n calls).
INPUT_BOUND = {("corpus_calls", "recursion"): 11}
# Kernels that read-modify-write out[i] indexed by blockIdx.x alone: blocks differing only in
# blockIdx.y race on the same element, so the result would depend on block scheduling.
GRIDS = {("corpus_grid", "saxpy_stride"): (3, 1, 1), ("corpus_reduce", "scan_fixup"): (3, 1, 1)}
# Known divergences, not yet diagnosed (none at present).
KNOWN_DIVERGENT: set[tuple[str, str]] = set()
# Kernels the JIT leaves to the interpreter, and why.  Any other kernel it refuses fails.
INTERPRETER_ONLY: dict[tuple[str, str], str] = {}


# each test gets its own JIT disk cache
pytestmark = pytest.mark.usefixtures("fresh_jit_cache")


@pytest.fixture(scope="module")
def modules(compile_ptx) -> dict[str, Module]:
    sources = sorted(KERNELS.glob("*.cu"))
    return {src.stem: parse_module(text) for src, text in compile_ptx(sources).items()}


def _cases() -> list[tuple[str, str, str]]:
    out = []
    for src in sorted(KERNELS.glob("*.cu")):
        for name in global_kernels(src):
            out.append((src.stem, name, "int"))
            if src.stem in FLOAT_MODULES or name in FLOAT_KERNELS:
                out.append((src.stem, name, "float"))
    return out


def _run(engine, module: Module, kernel: str, data: str, seed: int,
         key: tuple[str, str] = ("", "")) -> tuple:
    """Launch on a fresh card; returns (buffers' bytes, fault or None)."""
    card = Card(0, vram_size=64 << 20)
    params, bufs, gaddr = generic_arguments(card, module, kernel, np.random.default_rng(seed), data,
                                            SCALARS.get(key), INPUT_BOUND.get(key, 64))
    grid, block = GRIDS.get(key, GRID), (64, 1, 1)
    fault = None
    printed: list = []
    try:
        engine(module, kernel, card.memory, grid, block, params, 0, gaddr,
               printf=printed.append)
    except KernelFault as exc:
        fault = (exc.block, exc.thread, exc.instruction, exc.address, exc.reason)
    out = [card.memory.read(bo.addr, bo.size) for bo in bufs]
    return out, fault, printed


def _has_barrier(module: Module, kernel: str) -> bool:
    from gdev_shim.jit.layout import flatten
    return flatten(module, kernel).has_barrier


@pytest.mark.parametrize("module_name,kernel,data", _cases())
def test_jit_matches_interpreter(modules, module_name: str, kernel: str, data: str, jit_tier: str) -> None:
    module = modules[module_name]
    try:
        got = _run(jit.execute, module, kernel, data, seed=7, key=(module_name, kernel))
    except jit.JitUnsupported as exc:
        if (module_name, kernel) not in INTERPRETER_ONLY:
            pytest.fail(f"the JIT refuses {kernel}: {exc.reason}")
        pytest.skip(f"interpreter only ({INTERPRETER_ONLY[module_name, kernel]}): {exc.reason}")
    want = _run(interp_execute, module, kernel, data, seed=7, key=(module_name, kernel))
    if (module_name, kernel) in KNOWN_DIVERGENT and (got[0] != want[0] or got[1] != want[1]):
        pytest.xfail("known divergence, see KNOWN_DIVERGENT")
    assert got[2] == want[2]          # device printf: the same lines in the same order
    if got[1] is not None and want[1] is not None and _has_barrier(module, kernel):
        # Between two barriers the JIT runs one warp after another, the interpreter the
        # whole block in lockstep: which thread faults first may differ, not where or why.
        assert (got[1][0], got[1][4]) == (want[1][0], want[1][4])
    else:
        assert got[1] == want[1]
    for i, (g, w) in enumerate(zip(got[0], want[0])):
        if g != w:
            ga, wa = np.frombuffer(g, np.uint32), np.frombuffer(w, np.uint32)
            bad = np.flatnonzero(ga != wa)
            pytest.fail(f"buffer {i}: {bad.size} words differ, first at {bad[0]}: "
                        f"jit {ga[bad[0]]:#x} interp {wa[bad[0]]:#x}")


@pytest.fixture(scope="module")
def add_module(compile_ptx) -> Module:
    return parse_module(compile_ptx([ADD_TEST])[ADD_TEST])


@pytest.mark.parametrize("grid,block,n", [((4, 1, 1), (32, 1, 1), 100_003),
                                          ((391, 1, 1), (256, 1, 1), 100_003),
                                          ((3, 1, 1), (100, 1, 1), 1000),
                                          ((2, 1, 1), (5, 1, 1), 77)])
def test_add_test_shapes(add_module: Module, grid, block, n: int) -> None:
    card = Card(0, vram_size=64 << 20)
    a = np.arange(n, dtype=np.int32) * 7 - 3
    b = np.arange(n, dtype=np.int32) ^ 0x5A5A
    bos = [card.gem_new(n * 4, C.AIDEV_GEM_DOMAIN_VRAM) for _ in range(3)]
    card.memory.write(bos[0].addr, a.tobytes())
    card.memory.write(bos[1].addr, b.tobytes())
    params = struct.pack("<QQQi", bos[0].addr, bos[1].addr, bos[2].addr, n)
    jit.execute(add_module, "add_test", card.memory, grid, block, params, 0, 0)
    c = np.frombuffer(card.memory.read(bos[2].addr, n * 4), np.int32)
    assert np.array_equal(c, a + b)


# (grid, block, n) of add_test with c 4096 elements long: the last iterations' stores
# fault with one lane active, two, ten (a partial warp wholly past c's end), and twenty
# whose run straddles c's end (its first lanes in bounds, the others not)
SHORT_STORES = [((4, 1, 1), (32, 1, 1), 4096 + 1), ((4, 1, 1), (32, 1, 1), 4096 + 2),
                ((4, 1, 1), (32, 1, 1), 4096 + 10), ((1, 1, 1), (40, 1, 1), 4100)]


@pytest.mark.parametrize("grid,block,n", SHORT_STORES)
def test_add_test_faults_like_interpreter(add_module: Module, grid, block, n: int, jit_tier: str) -> None:
    """c shorter than n: the first store past its end faults, naming the same thread and address."""
    results = []
    for engine in (jit.execute, interp_execute):
        card = Card(0, vram_size=64 << 20)
        bos = [card.gem_new(n * 4, C.AIDEV_GEM_DOMAIN_VRAM) for _ in range(2)]
        short = card.gem_new(4096 * 4, C.AIDEV_GEM_DOMAIN_VRAM)
        params = struct.pack("<QQQi", bos[0].addr, bos[1].addr, short.addr, n)
        with pytest.raises(KernelFault) as info:
            engine(add_module, "add_test", card.memory, grid, block, params, 0, 0)
        exc = info.value
        results.append((exc.block, exc.thread, exc.instruction, exc.address, exc.reason))
    assert results[0] == results[1]
    assert results[0][3] == short.addr + 4096 * 4


SINE_PTX = """
.version 7.0
.target sm_80
.address_size 64
.visible .entry sine(.param .u64 out)
{
    .reg .f32 %f<3>;
    .reg .b64 %rd<2>;
    ld.param.u64 %rd1, [out];
    mov.f32 %f1, 0f3F000000;
    sin.approx.f32 %f2, %f1;
    st.global.f32 [%rd1], %f2;
    ret;
}
"""


def test_unsupported_raises_before_running(monkeypatch) -> None:
    """A kernel the JIT refuses (here: over its size limit) is refused before anything runs."""
    from gdev_shim.jit import engine
    monkeypatch.setattr(engine, "MAX_INSTRUCTIONS", 3)
    module = parse_module(SINE_PTX)
    card = Card(0, vram_size=1 << 20)
    bo = card.gem_new(4096, C.AIDEV_GEM_DOMAIN_VRAM)
    card.memory.write(bo.addr, b"\x55" * 4)
    with pytest.raises(jit.JitUnsupported):
        jit.execute(module, "sine", card.memory, (1, 1, 1), (1, 1, 1),
                    struct.pack("<Q", bo.addr), 0, 0)
    assert card.memory.read(bo.addr, 4) == b"\x55" * 4


def test_bad_launch_is_value_error(add_module: Module) -> None:
    card = Card(0, vram_size=1 << 20)
    with pytest.raises(ValueError):
        jit.execute(add_module, "add_test", card.memory, (1, 1, 1), (32, 1, 1), b"\0" * 4, 0, 0)
    with pytest.raises(KeyError):
        jit.execute(add_module, "nope", card.memory, (1, 1, 1), (32, 1, 1), b"", 0, 0)


def test_register_classes_of_add_test(add_module: Module) -> None:
    """Launch constants become scalars, block-local values skip the lane mask, the loop
    counter (carried across a divergent branch) stays a masked vector."""
    from gdev_shim.jit.codegen import KernelCompiler
    from gdev_shim.jit.layout import flatten
    from gdev_shim.jit.regclass import TEMP, UNIFORM
    kc = KernelCompiler(flatten(add_module, "add_test"), 32, "k")
    kc.compile()
    classes = kc.classes
    params = [n for n in classes if classes[n] == UNIFORM]
    assert len(params) >= 8           # 3 pointers + n, ntid, ctaid, nctaid products, cvta copies
    loop_var = next(ins.operands[0][1] for ins in add_module.functions["add_test"].body
                    if getattr(ins, "opcode", "").startswith("mad.lo"))
    assert loop_var not in classes    # written at two places: a masked vector
    loaded = [ins.operands[0][1] for ins in add_module.functions["add_test"].body
              if getattr(ins, "opcode", "").startswith("ld.global")]
    assert loaded and all(classes.get(r) == TEMP for r in loaded)


def _run_on_engine(engine: str, module: Module, kernel: str) -> None:
    from gdev_shim.card.compute import run_kernel
    from gdev_shim.settings import settings
    card = Card(0, vram_size=1 << 20)
    info = module.kernels[kernel]
    with settings.override(engine=engine):
        run_kernel(module, kernel, card.memory, (1, 1, 1), (32, 1, 1), bytes(info.param_size), 0, 0,
                   lambda _text: None)


def test_jit_engine_refuses_what_it_cannot_compile(modules, card_log, monkeypatch) -> None:
    """GDEV_ENGINE=jit never falls back: the launch fails naming what is not compiled;
    auto falls back with one warning naming it.  (Nothing in the corpus is refused; the
    size limit stands in for what the JIT does not compile.)"""
    from gdev_shim.card.compute import LaunchError
    from gdev_shim.jit import engine
    monkeypatch.setattr(engine, "MAX_INSTRUCTIONS", 10)
    monkeypatch.setattr(engine, "_compiled", {})        # forget what this process compiled
    module = modules["corpus_calls"]
    reason = "kernels of more than 10 instructions"
    with pytest.raises(LaunchError, match=r"GDEV_ENGINE=jit cannot compile kernel recursion: " + reason):
        _run_on_engine("jit", module, "recursion")
    for _ in range(2):
        try:
            _run_on_engine("auto", module, "recursion")
        except KernelFault:
            pass            # null buffers: what matters here is which engine ran it
    warnings = [r.getMessage() for r in card_log.records if "runs on the interpreter" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].startswith("kernel recursion runs on the interpreter: the JIT does not "
                                  "compile " + reason)
