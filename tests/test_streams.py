"""Streams and events (L3): one channel per stream, dependencies executed by the card."""
import time

import numpy as np
import pytest

from gdev_shim.common.image import build_image
from gdev_shim.driver import context as dctx, memory as dmem, stream as dstream
from gdev_shim.driver.errors import SD, SdError
from gdev_shim.driver.module import Module
from helpers import ADD_TEST

N = 1 << 16          # one SPE array loops 2048 times: long enough to overlap later commands


@pytest.fixture(scope="module")
def kernel_image(compile_ptx):
    return build_image(compile_ptx([ADD_TEST])[ADD_TEST])


@pytest.fixture
def setup(kernel_image):
    ctx = dctx.Context(2)
    fn = Module(ctx, kernel_image).function("add_test")
    a, b = np.arange(N, dtype=np.int32), 2 * np.arange(N, dtype=np.int32)
    bufs = [dmem.alloc(ctx, 4 * N) for _ in range(3)]
    dstream.copy_htod(None, bufs[0], a.ctypes.data, 4 * N, sync=True)
    dstream.copy_htod(None, bufs[1], b.ctypes.data, 4 * N, sync=True)
    params = b"".join(p.to_bytes(8, "little") for p in bufs) + N.to_bytes(4, "little")
    yield ctx, fn, bufs, params, a + b
    ctx.destroy()


def launch(stream, fn, params):
    dstream.launch(stream, fn, (1, 1, 1), (32, 1, 1), 0, params)


def test_each_stream_has_its_own_channel(setup):
    ctx, *_ = setup
    s1, s2 = dstream.Stream(ctx), dstream.Stream(ctx)
    channels = {s1.q.channel.id, s2.q.channel.id, dstream.default(ctx).q.channel.id}
    assert len(channels) == 3
    s1.destroy()
    with pytest.raises(SdError):
        s1.destroy()


def test_wait_event_orders_another_stream(setup):
    ctx, fn, bufs, params, expected = setup
    producer, consumer = dstream.Stream(ctx), dstream.Stream(ctx)
    done = dstream.Event(ctx)
    launch(producer, fn, params)
    done.record(producer)
    dstream.wait_event(consumer, done)
    out = np.zeros(N, np.int32)
    dstream.copy_dtoh(consumer, out.ctypes.data, bufs[2], 4 * N, sync=True)
    assert np.array_equal(out, expected)


def test_default_stream_waits_for_blocking_streams(setup):
    ctx, fn, bufs, params, expected = setup
    worker = dstream.Stream(ctx)
    launch(worker, fn, params)
    out = np.zeros(N, np.int32)
    dstream.copy_dtoh(None, out.ctypes.data, bufs[2], 4 * N, sync=True)   # legacy default stream
    assert np.array_equal(out, expected)


def test_blocking_stream_waits_for_the_default_stream(setup):
    ctx, fn, bufs, params, expected = setup
    launch(None, fn, params)
    worker = dstream.Stream(ctx)
    out = np.zeros(N, np.int32)
    dstream.copy_dtoh(worker, out.ctypes.data, bufs[2], 4 * N, sync=True)
    assert np.array_equal(out, expected)


def test_event_times_come_from_the_card_and_fit_wall_time(setup):
    ctx, fn, bufs, params, _ = setup
    s = dstream.Stream(ctx)
    start, end = dstream.Event(ctx), dstream.Event(ctx)
    t0 = time.perf_counter()
    start.record(s)
    launch(s, fn, params)
    end.record(s)
    end.synchronize()
    wall_ms = (time.perf_counter() - t0) * 1000
    assert start.query() and end.query()
    elapsed = dstream.elapsed_ms(start, end)
    assert 0 < elapsed <= wall_ms


def test_event_errors(setup):
    ctx, *_ = setup
    e = dstream.Event(ctx)
    with pytest.raises(SdError) as err:
        dstream.elapsed_ms(e, e)                      # never recorded
    assert err.value.code == SD.SDAA_ERROR_INVALID_HANDLE
    untimed = dstream.Event(ctx, dstream.EVENT_DISABLE_TIMING)
    untimed.record(dstream.default(ctx))
    e.record(dstream.default(ctx))
    with pytest.raises(SdError):
        dstream.elapsed_ms(untimed, e)
    e.destroy()
    with pytest.raises(SdError):
        e.record(dstream.default(ctx))


def test_context_synchronize_waits_for_every_stream(setup):
    ctx, fn, bufs, params, _ = setup
    streams = [dstream.Stream(ctx) for _ in range(3)]
    for s in streams:
        launch(s, fn, params)
    ctx.synchronize()
    assert all(dstream.query(s) for s in streams)


# ---- small synchronous copies through the host's mapping of VRAM (gdev/memcpy.py: direct_view)

def test_small_sync_copy_on_an_idle_stream_queues_nothing(setup):
    ctx, _, bufs, _, _ = setup
    q = dstream.default(ctx).q
    ctx.synchronize()
    before = q.seq
    data = np.arange(64, dtype=np.int32)
    dstream.copy_htod(None, bufs[2] + 64, data.ctypes.data, data.nbytes, sync=True)
    out = np.zeros(64, np.int32)
    dstream.copy_dtoh(None, out.ctypes.data, bufs[2] + 64, out.nbytes, sync=True)
    assert q.seq == before                       # neither copy went through the ring
    assert np.array_equal(out, data)
    # the card sees what the host wrote: a queued (DMA) copy reads it back
    back = np.zeros(64, np.int32)
    dstream.copy_dtod(None, bufs[0], bufs[2] + 64, data.nbytes, sync=True)
    dstream.copy_dtoh(dstream.Stream(ctx, dstream.STREAM_NON_BLOCKING), back.ctypes.data, bufs[0],
                      back.nbytes, sync=True)
    assert np.array_equal(back, data)


@pytest.mark.parametrize("where", ["default", "blocking"])
def test_small_sync_copy_is_ordered_after_a_running_kernel(setup, where):
    """The kernel writes bufs[2] = a + b; a small copy into it issued while the kernel runs
    (on the default stream, or on a blocking stream the legacy default stream waits for)
    lands after the kernel, so its bytes survive."""
    ctx, fn, bufs, params, expected = setup
    launch(None if where == "default" else dstream.Stream(ctx), fn, params)
    patch = np.full(16, -7, np.int32)
    dstream.copy_htod(None, bufs[2], patch.ctypes.data, patch.nbytes, sync=True)
    out = np.zeros(N, np.int32)
    dstream.copy_dtoh(None, out.ctypes.data, bufs[2], 4 * N, sync=True)
    assert np.array_equal(out[:16], patch)
    assert np.array_equal(out[16:], expected[16:])


def test_small_sync_copy_comes_after_a_wait_queued_on_its_stream(setup):
    """A stream's wait (an ACQUIRE: sdStreamWaitEvent, the legacy stream's dependencies) is
    a command without a fence of the stream's own: a small copy on that stream still
    happens only after the wait is over."""
    import threading
    from gdev_shim.common.contract import C
    from gdev_shim.gdev.aidev_backend import AIDEV_COMPUTE
    ctx, _, bufs, _, _ = setup
    stream = dstream.Stream(ctx)
    gate = ctx.handle.alloc(8, C.AIDEV_GEM_DOMAIN_HOST)
    gate.host[:] = 0
    with stream.q.lock:
        AIDEV_COMPUTE.acquire(stream.q, gate.addr, 1)
        AIDEV_COMPUTE.fire(stream.q)
    opened = threading.Event()

    def open_gate():
        time.sleep(0.3)
        opened.set()
        gate.host[0] = 1

    opener = threading.Thread(target=open_gate)
    opener.start()
    data = np.arange(16, dtype=np.int32)
    dstream.copy_htod(stream, bufs[2], data.ctypes.data, data.nbytes, sync=True)
    assert opened.is_set()
    opener.join()
    out = np.zeros(16, np.int32)
    dstream.copy_dtoh(stream, out.ctypes.data, bufs[2], out.nbytes, sync=True)
    assert np.array_equal(out, data)


def test_small_sync_read_waits_for_a_running_kernel(setup):
    ctx, fn, bufs, params, expected = setup
    launch(None, fn, params)
    out = np.zeros(16, np.int32)
    dstream.copy_dtoh(None, out.ctypes.data, bufs[2] + 4 * (N - 16), out.nbytes, sync=True)
    assert np.array_equal(out, expected[-16:])


def test_large_buffers_are_not_mapped_for_small_copies(setup):
    """Mapping a VRAM buffer keeps it resident (swap.py): only small buffers are mapped for
    direct copies, so overcommit can still move the large ones."""
    ctx, *_ = setup
    from gdev_shim.gdev import memcpy
    big = dmem.alloc(ctx, 2 * memcpy.DIRECT_BUFFER_BYTES)
    q = dstream.default(ctx).q
    data = np.arange(16, dtype=np.int32)
    before = q.seq
    dstream.copy_htod(None, big + 4096, data.ctypes.data, data.nbytes, sync=True)
    assert q.seq > before                        # queued on the card
    assert ctx.handle.vas.find(big).host is None
    out = np.zeros(16, np.int32)
    dstream.copy_dtoh(None, out.ctypes.data, big + 4096, out.nbytes, sync=True)
    assert np.array_equal(out, data)
    dmem.free(ctx, big)
