"""Driver layer (L3): per-thread contexts, pointer routing and error mapping."""
import errno
import threading

import numpy as np
import pytest

from gdev_shim.driver import context as dctx, memory as dmem, stream as dstream
from gdev_shim.driver.errors import SD, SdError, from_gdev
from gdev_shim.gdev.errors import ChannelFault, FenceTimeout, GdevError
from helpers import TESTS


def test_l2_failures_map_to_driver_codes():
    assert from_gdev(GdevError(errno.ENOMEM, "x")).code == SD.SDAA_ERROR_OUT_OF_MEMORY
    assert from_gdev(GdevError(errno.EINVAL, "x")).code == SD.SDAA_ERROR_INVALID_VALUE
    assert from_gdev(ChannelFault(2, "x")).code == SD.SDAA_ERROR_LAUNCH_FAILED
    assert from_gdev(FenceTimeout("x")).code == SD.SDAA_ERROR_LAUNCH_TIMEOUT
    assert from_gdev(GdevError(errno.EPIPE, "x")).code == SD.SDAA_ERROR_UNKNOWN


def test_current_context_is_per_thread():
    a, b = dctx.Context(0), dctx.Context(1)
    seen = {}
    try:
        dctx.push(a)

        def other_thread():
            seen["before"] = dctx.current(optional=True)
            dctx.push(b)
            seen["after"] = dctx.current()
            dctx.pop()

        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
        assert seen == {"before": None, "after": b}
        assert dctx.current() is a
        assert dctx.pop() is a
        with pytest.raises(SdError) as e:
            dctx.pop()
        assert e.value.code == SD.SDAA_ERROR_INVALID_CONTEXT
    finally:
        a.destroy()
        b.destroy()


def test_pointers_route_to_their_card_and_ranges_are_checked():
    c0, c3 = dctx.Context(0), dctx.Context(3)
    try:
        p0, p3 = dmem.alloc(c0, 4096), dmem.alloc(c3, 4096)
        assert dctx.registry.owner(p3 + 100)[0] is c3
        data = np.arange(1024, dtype=np.int32)
        dstream.copy_htod(None, p0, data.ctypes.data, 4096, sync=True)
        dstream.copy_dtod(None, p3, p0, 4096, sync=True)   # between cards
        out = np.zeros_like(data)
        dstream.copy_dtoh(None, out.ctypes.data, p3, 4096, sync=True)
        assert np.array_equal(out, data)
        with pytest.raises(SdError) as e:
            dstream.copy_dtoh(None, out.ctypes.data, p3 + 8, 4096)
        assert e.value.code == SD.SDAA_ERROR_INVALID_VALUE
        with pytest.raises(SdError):
            dmem.free(None, p3 + 8)                    # interior pointer
        dmem.free(None, p3)
        with pytest.raises(SdError):
            dmem.free(None, p3)                        # already freed
        with pytest.raises(SdError) as e:
            dmem.alloc(c0, c0.info["vram_size"] + 1)
        assert e.value.code == SD.SDAA_ERROR_OUT_OF_MEMORY
    finally:
        c0.destroy()
        c3.destroy()


def test_destroyed_context_is_invalid():
    c = dctx.Context(2)
    c.destroy()
    with pytest.raises(SdError) as e:
        c.check()
    assert e.value.code == SD.SDAA_ERROR_INVALID_CONTEXT


def test_pointer_valued_globals_are_resolved_at_load(compile_ptx):
    from gdev_shim.common.image import build_image
    from gdev_shim.driver.module import Module

    src = TESTS / "driver_kernels" / "pointer_global.cu"
    ctx = dctx.Context(0)
    try:
        mod = Module(ctx, build_image(compile_ptx([src])[src]))
        value_addr, _ = mod.global_var("value")
        ptr_addr, size = mod.global_var("ptr")
        assert size == 8
        seen = np.zeros(1, np.uint64)
        dstream.copy_dtoh(None, seen.ctypes.data, ptr_addr, 8, sync=True)   # before any launch
        assert int(seen[0]) == value_addr + 4
    finally:
        ctx.destroy()
