"""Fault injection (GDEV_SIM_FAULT) seen through the C API: error codes and timeouts for
the affected context, which stays failed (sticky) until destroyed, while other contexts
and cards keep working and data already copied back stays intact."""
from __future__ import annotations

import json
import textwrap

import pytest

from gdev_shim.card.faults import Fault, FaultHooks, HANG, LOST, parse
from gdev_shim.driver.errors import SD
from helpers import ENV, needs_build, run_python

PRELUDE = textwrap.dedent("""
    import json, sys, time
    sys.path.insert(0, "tests")
    import errors_abi as abi
    ffi, u, g = abi.open_libraries()
    N = 4096
    pattern = bytes((i * 7) & 0xFF for i in range(N))
    assert u.sdInit(0) == 0

    def context(dev):
        c = ffi.new("SDcontext *")
        assert u.sdCtxCreate(c, 0, dev) == 0
        return c[0]

    def roundtrip(ctx):
        # (HtoD code, DtoH code, data intact) on ctx
        u.sdCtxSetCurrent(ctx)
        d = ffi.new("SDdeviceptr *")
        rc = u.sdMemAlloc(d, N)
        if rc:
            return rc, rc, False
        out = ffi.new("char[]", N)
        a = u.sdMemcpyHtoD(d[0], pattern, N)
        b = u.sdMemcpyDtoH(out, d[0], N)
        return a, b, bytes(ffi.buffer(out, N)) == pattern

    def launch(ctx, image):
        u.sdCtxSetCurrent(ctx)
        m, f = ffi.new("SDmodule *"), ffi.new("SDfunction *")
        assert u.sdModuleLoadData(m, image) == 0
        assert u.sdModuleGetFunction(f, m[0], b"add_test") == 0
        d = ffi.new("SDdeviceptr *")
        assert u.sdMemAlloc(d, N) == 0
        cells = [ffi.new("unsigned long long *", d[0]) for _ in range(3)] + [ffi.new("int *", 16)]
        params = ffi.new("void *[4]", [ffi.cast("void *", c) for c in cells])
        rc = u.sdLaunchKernel(f[0], 1, 1, 1, 32, 1, 1, 0, ffi.NULL, params, ffi.NULL)
        return rc, u.sdCtxSynchronize()

    image = ffi.new("char[]", abi.CUBIN.read_bytes())
    out = {}
""")


# Every wait of the process gives up after this, the healthy ones too (a first launch
# that compiles, on a loaded machine): short enough to keep the tests quick, long enough
# that only the injected hang reaches it.
SHORT_TIMEOUT_MS = 1500


def scenario(body: str, fault: str, timeout_ms: int = 600_000) -> dict:
    env = {**ENV, "GDEV_SIM_FAULT": fault, "GDEV_SYNC_TIMEOUT_MS": str(timeout_ms)}
    proc = run_python(PRELUDE + textwrap.dedent(body) + "\nprint('RESULT', json.dumps(out))\n", env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "internal error" not in proc.stderr
    return json.loads(proc.stdout.split("RESULT", 1)[1])


def test_parse_reads_every_kind_and_card_scope():
    faults, vram = parse("dma:3, compute-hang@1, fence-lost:4@0, vram:64M@2, compute:2")
    assert faults == [Fault("dma", 3, None), Fault("compute-hang", 1, 1), Fault("fence-lost", 4, 0),
                      Fault("compute", 2, None)]
    assert vram == {2: 64 << 20}
    for bad in ("dma:0", "explode:1", "vram:lots", "dma:x"):
        with pytest.raises(ValueError):
            parse(bad)


def test_hooks_count_per_engine_and_respect_the_card():
    hooks = FaultHooks(0, "dma:2,fence-lost:3,compute-hang:2@0,compute:1@1")
    assert [hooks.check("dma", 0, 0, 1) is not None for _ in range(3)] == [False, True, False]
    assert [hooks.check("fence", 0, 0, 4) for _ in range(4)] == [None, None, LOST, LOST]
    assert [hooks.check("compute", 0, 0, 3) for _ in range(2)] == [None, HANG]
    assert FaultHooks(1, "compute-hang@0").check("compute", 1, 0, 3) is None
    assert FaultHooks(0, "not a spec").faults == []          # ignored, with a warning


@needs_build
def test_a_dma_error_fails_its_context_stickily_and_nothing_else():
    out = scenario("""
        c0, c1 = context(0), context(1)
        out["before"] = roundtrip(c0)          # DMA commands 1 and 2 of card 0
        keep = ffi.new("char[]", N)
        u.sdCtxSetCurrent(c0)
        d = ffi.new("SDdeviceptr *")
        u.sdMemAlloc(d, N)
        out["faulted_copy"] = u.sdMemcpyHtoD(d[0], pattern, N)     # the 3rd: injected DMA error
        out["sticky"] = [u.sdMemAlloc(ffi.new("SDdeviceptr *"), 64), u.sdCtxSynchronize(),
                         u.sdMemcpyDtoH(keep, d[0], N)]
        out["keep_untouched"] = bytes(ffi.buffer(keep, N)) == bytes(N)
        out["other_card"] = roundtrip(c1)
        out["destroy"] = u.sdCtxDestroy(c0)
        out["fresh_context"] = roundtrip(context(0))
    """, "dma:3@0")
    ok = SD.SDAA_SUCCESS
    assert out["before"] == [ok, ok, True]
    assert out["faulted_copy"] == SD.SDAA_ERROR_LAUNCH_FAILED
    assert out["sticky"] == [SD.SDAA_ERROR_LAUNCH_FAILED] * 3
    assert out["keep_untouched"]
    assert out["other_card"] == [ok, ok, True]
    assert out["destroy"] == ok and out["fresh_context"] == [ok, ok, True]


@needs_build
def test_a_compute_fault_is_launch_failed_for_that_context_only():
    out = scenario("""
        c0, c0b = context(0), context(0)
        out["first"] = launch(c0, image)       # launch 1 of card 0: injected compute fault
        out["sticky"] = roundtrip(c0)
        out["second_context_same_card"] = launch(c0b, image) + roundtrip(c0b)
    """, "compute:1@0")
    ok = SD.SDAA_SUCCESS
    assert out["first"] == [ok, SD.SDAA_ERROR_LAUNCH_FAILED]
    assert out["sticky"] == [SD.SDAA_ERROR_LAUNCH_FAILED] * 2 + [False]
    assert out["second_context_same_card"] == [ok, ok, ok, ok, True]


@needs_build
def test_a_hung_kernel_times_out_and_other_cards_keep_working():
    out = scenario("""
        c0, c1 = context(0), context(1)
        t = time.monotonic()
        out["hung"] = launch(c0, image)
        out["waited_s"] = time.monotonic() - t
        out["sticky"] = u.sdCtxSynchronize()
        out["other_card"] = list(launch(c1, image)) + list(roundtrip(c1))
        t = time.monotonic()
        out["destroy"] = u.sdCtxDestroy(c0)
        out["destroy_s"] = time.monotonic() - t
        out["fresh_context_copy"] = roundtrip(context(0))
    """, "compute-hang@0", timeout_ms=SHORT_TIMEOUT_MS)
    ok = SD.SDAA_SUCCESS
    assert out["hung"] == [ok, SD.SDAA_ERROR_LAUNCH_TIMEOUT]
    assert SHORT_TIMEOUT_MS / 1e3 * 0.8 < out["waited_s"] < 8
    assert out["sticky"] == SD.SDAA_ERROR_LAUNCH_TIMEOUT
    assert out["other_card"] == [ok, ok, ok, ok, True]
    assert out["destroy"] == ok and out["destroy_s"] < 5
    assert out["fresh_context_copy"] == [ok, ok, True]


@needs_build
def test_a_lost_fence_is_a_timeout_not_a_hang():
    out = scenario("""
        c0 = context(0)
        out["before"] = roundtrip(c0)
        t = time.monotonic()
        out["lost"] = roundtrip(c0)
        out["waited_s"] = time.monotonic() - t
        out["runtime_other_card"] = [u.sdaaSetDevice(1), u.sdaaMalloc(ffi.new("void **"), 64)]
    """, "fence-lost:3@0", timeout_ms=SHORT_TIMEOUT_MS)
    ok = SD.SDAA_SUCCESS
    assert out["before"] == [ok, ok, True]
    assert out["lost"][0] == SD.SDAA_ERROR_LAUNCH_TIMEOUT and out["lost"][2] is False
    assert out["waited_s"] < 8
    assert out["runtime_other_card"] == [0, 0]


@needs_build
def test_exhausted_vram_is_out_of_memory_and_not_sticky():
    out = scenario("""
        c0 = context(0)
        p = ffi.new("SDdeviceptr *")
        out["fits"] = u.sdMemAlloc(p, 512 << 10)
        out["too_much"] = u.sdMemAlloc(ffi.new("SDdeviceptr *"), 1 << 20)
        out["free"] = u.sdMemFree(p[0])
        out["after_free"] = u.sdMemAlloc(ffi.new("SDdeviceptr *"), 768 << 10)
        out["still_usable"] = roundtrip(c0)
        out["other_card_big"] = [u.sdCtxSetCurrent(context(1)), u.sdMemAlloc(ffi.new("SDdeviceptr *"), 64 << 20)]
    """, "vram:1M@0")
    ok = SD.SDAA_SUCCESS
    assert out["fits"] == ok and out["too_much"] == SD.SDAA_ERROR_OUT_OF_MEMORY
    assert out["free"] == ok and out["after_free"] == ok
    assert out["still_usable"] == [ok, ok, True]
    assert out["other_card_big"] == [ok, ok]
