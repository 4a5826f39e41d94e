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

SMALL = 4096                 # ints: 16 KiB allocations, pieces of a slab the host has mapped


@pytest.fixture
def small(setup):
    """Three small buffers (a, b, c), add_test's parameters over them and a + b."""
    ctx, fn, *_ = setup
    a, b = np.arange(SMALL, dtype=np.int32), 3 * np.arange(SMALL, dtype=np.int32)
    bufs = [dmem.alloc(ctx, 4 * SMALL) for _ in range(3)]
    dstream.copy_htod(None, bufs[0], a.ctypes.data, 4 * SMALL, sync=True)
    dstream.copy_htod(None, bufs[1], b.ctypes.data, 4 * SMALL, sync=True)
    params = b"".join(p.to_bytes(8, "little") for p in bufs) + SMALL.to_bytes(4, "little")
    return bufs, params, a + b


def hold(ctx, stream):
    """Hold `stream` (None: the default one) on the card until the returned function is
    called: an ACQUIRE of a host word, a command without a fence of the stream's own."""
    from gdev_shim.common.contract import C
    from gdev_shim.gdev.aidev_backend import AIDEV_COMPUTE
    q = (stream or dstream.default(ctx)).q
    gate = ctx.handle.alloc(8, C.AIDEV_GEM_DOMAIN_HOST)
    gate.host[:] = 0
    with q.lock:
        AIDEV_COMPUTE.acquire(q, gate.addr, 1)
        AIDEV_COMPUTE.fire(q)

    def release():
        gate.host[0] = 1
    return release


def release_later(release, delay=0.3):
    import threading
    opened = threading.Event()

    def run():
        time.sleep(delay)
        opened.set()
        release()
    threading.Thread(target=run, daemon=True).start()
    return opened


def test_small_sync_copy_on_an_idle_stream_queues_nothing(setup, small):
    ctx, _, bufs, _, _ = setup
    pieces, _, _ = small
    q = dstream.default(ctx).q
    ctx.synchronize()
    before = q.seq
    data = np.arange(64, dtype=np.int32)
    dstream.copy_htod(None, pieces[2] + 64, data.ctypes.data, data.nbytes, sync=True)
    out = np.zeros(64, np.int32)
    dstream.copy_dtoh(None, out.ctypes.data, pieces[2] + 64, out.nbytes, sync=True)
    assert q.seq == before                       # neither copy went through the ring
    assert np.array_equal(out, data)
    # the card sees what the host wrote: a queued (DMA) copy reads it back
    back = np.zeros(64, np.int32)
    dstream.copy_dtod(None, bufs[0], pieces[2] + 64, data.nbytes, sync=True)
    dstream.copy_dtoh(None, back.ctypes.data, bufs[0], back.nbytes, sync=True)
    assert np.array_equal(back, data)


@pytest.mark.parametrize("where", ["default", "blocking"])
def test_small_sync_copy_is_ordered_after_a_queued_kernel(setup, small, where):
    """The kernel writes c = a + b once its stream (the default one, or a blocking stream
    the legacy default stream waits for) is let go; a small copy into c issued meanwhile
    lands after the kernel, so its bytes survive."""
    ctx, fn, *_ = setup
    (_, _, c), params, expected = small
    stream = None if where == "default" else dstream.Stream(ctx)
    opened = release_later(hold(ctx, stream))
    launch(stream, fn, params)
    patch = np.full(16, -7, np.int32)
    dstream.copy_htod(None, c, patch.ctypes.data, patch.nbytes, sync=True)
    assert opened.is_set()
    out = np.zeros(SMALL, np.int32)
    dstream.copy_dtoh(None, out.ctypes.data, c, 4 * SMALL, sync=True)
    assert np.array_equal(out[:16], patch)
    assert np.array_equal(out[16:], expected[16:])


def test_small_sync_read_waits_for_a_queued_kernel(setup, small):
    ctx, fn, *_ = setup
    (_, _, c), params, expected = small
    opened = release_later(hold(ctx, None))
    launch(None, fn, params)
    out = np.zeros(16, np.int32)
    dstream.copy_dtoh(None, out.ctypes.data, c + 4 * (SMALL - 16), out.nbytes, sync=True)
    assert opened.is_set()
    assert np.array_equal(out, expected[-16:])


def test_small_sync_copy_comes_after_a_wait_queued_on_its_stream(setup, small):
    """A stream's wait (an ACQUIRE: sdStreamWaitEvent, the legacy stream's dependencies) is
    a command without a fence of the stream's own: a small copy on that stream still
    happens only after the wait is over."""
    ctx, *_ = setup
    (_, _, c), _, _ = small
    stream = dstream.Stream(ctx)
    opened = release_later(hold(ctx, stream))
    data = np.arange(16, dtype=np.int32)
    dstream.copy_htod(stream, c, data.ctypes.data, data.nbytes, sync=True)
    assert opened.is_set()
    out = np.zeros(16, np.int32)
    dstream.copy_dtoh(stream, out.ctypes.data, c, out.nbytes, sync=True)
    assert np.array_equal(out, data)


def test_small_copies_of_a_buffer_of_its_own_go_to_the_card(setup):
    """Only memory the host has mapped already is copied directly: a buffer's first map
    moves its bytes in the card (docs/cardd.md), which a kernel of another stream writing
    the buffer meanwhile must not see; small allocations' slabs are mapped when made."""
    ctx, _, bufs, _, _ = setup
    q = dstream.default(ctx).q
    data = np.arange(16, dtype=np.int32)
    before = q.seq
    dstream.copy_htod(None, bufs[2], data.ctypes.data, data.nbytes, sync=True)
    assert q.seq > before                        # queued on the card
    assert ctx.handle.vas.find(bufs[2]).host is None
    out = np.zeros(16, np.int32)
    dstream.copy_dtoh(None, out.ctypes.data, bufs[2], out.nbytes, sync=True)
    assert np.array_equal(out, data)


def test_launch_after_a_copy_sees_it_and_a_small_read_after_sync_sees_the_kernel(setup, small):
    """On one stream: a queued copy, then a kernel reading what it wrote; after the sync the
    stream counts as idle (its last command is the fence the sync waited for), so the small
    read goes straight to the mapped memory, and it holds the kernel's result."""
    ctx, fn, *_ = setup
    (a, _, c), params, _ = small
    q = dstream.default(ctx).q
    for k in range(1, 6):
        data = np.full(SMALL, 100 * k, np.int32)
        staging = dmem_staging(ctx, data)
        dstream.copy_dtod(None, a, staging, 4 * SMALL, sync=False)
        launch(None, fn, params)
        ctx.synchronize()
        dmem.free(ctx, staging)
        assert q.idle()
        before = q.seq
        out = np.zeros(SMALL, np.int32)
        dstream.copy_dtoh(None, out.ctypes.data, c, out.nbytes, sync=True)
        assert q.seq == before                   # read directly, not through the ring
        assert np.array_equal(out, 100 * k + 3 * np.arange(SMALL, dtype=np.int32))


def dmem_staging(ctx, data: np.ndarray) -> int:
    """A device buffer holding `data` (written through the ring, so the copy from it is queued)."""
    buf = dmem.alloc(ctx, data.nbytes)
    dstream.copy_htod(None, buf, data.ctypes.data, data.nbytes, sync=True)
    return buf
