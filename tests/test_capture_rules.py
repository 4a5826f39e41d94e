"""CUDA's capture rules that reach beyond the capturing stream (runtime/graphs.py):
legacy-stream work fails a capture of a blocking stream of its own context, in every mode;
calls that are not stream-ordered fail the captures the calling thread's mode protects."""
from __future__ import annotations

import threading

import pytest

from gdev_shim.runtime import graphs
from gdev_shim.runtime.graphs import GLOBAL, RELAXED, THREAD_LOCAL, CaptureError


def _code(call, *args) -> str | None:
    try:
        call(*args)
    except CaptureError as e:
        return e.cuda_name
    return None


def _in_thread(call, *args) -> str | None:
    out: list[str | None] = []
    t = threading.Thread(target=lambda: out.append(_code(call, *args)))
    t.start()
    t.join()
    return out[0]


@pytest.fixture
def stream():
    """A capture key nobody else uses; its capture is ended (or dropped) afterwards."""
    key = 0x7000_0000 + threading.get_ident() % 0x1000

    yield key
    graphs.forget(key)


@pytest.mark.parametrize("mode", [GLOBAL, THREAD_LOCAL, RELAXED])
def test_legacy_work_fails_a_blocking_capture_of_its_context_in_every_mode(stream, mode):
    ctx, other_ctx = object(), object()
    graphs.begin(stream, mode, True, ctx)
    assert _code(graphs.legacy, "copy", other_ctx) is None  # another context's legacy stream
    assert graphs.status(stream)[0] == graphs.ACTIVE
    assert _code(graphs.legacy, "copy", ctx) == "cudaErrorStreamCaptureImplicit"
    assert graphs.status(stream)[0] == graphs.INVALIDATED
    assert _code(graphs.end, stream) == "cudaErrorStreamCaptureInvalidated"


def test_legacy_work_leaves_a_non_blocking_capture_alone(stream):
    graphs.begin(stream, GLOBAL, False)
    assert _code(graphs.legacy, "copy") is None
    graphs.destroy(graphs.end(stream))


def test_unsafe_calls_follow_the_capture_and_the_thread_mode(stream):
    graphs.begin(stream, THREAD_LOCAL, True)
    assert _in_thread(graphs.unsafe, "cudaMalloc") is None                  # not that thread's capture
    assert graphs.status(stream)[0] == graphs.ACTIVE
    old = graphs.exchange_mode(RELAXED)
    try:
        assert _code(graphs.unsafe, "cudaMalloc") is None                   # this thread relaxed
    finally:
        assert graphs.exchange_mode(old) == RELAXED
    assert _code(graphs.unsafe, "cudaMalloc") == "cudaErrorStreamCaptureUnsupported"
    assert _code(graphs.end, stream) == "cudaErrorStreamCaptureInvalidated"

    graphs.begin(stream, GLOBAL, True)                                      # a global one: every thread
    assert _in_thread(graphs.unsafe, "cudaFree") == "cudaErrorStreamCaptureUnsupported"
    assert _code(graphs.end, stream) == "cudaErrorStreamCaptureInvalidated"

    graphs.begin(stream, RELAXED, True)                                     # a relaxed one: none
    assert _code(graphs.unsafe, "cudaFree") is None
    assert _in_thread(graphs.unsafe, "cudaFree") is None
    graphs.destroy(graphs.end(stream))


def test_a_thread_local_mode_ignores_other_threads_global_captures(stream):
    graphs.begin(stream, GLOBAL, True)

    def local_then_malloc():
        graphs.exchange_mode(THREAD_LOCAL)
        graphs.unsafe("cudaMalloc")

    assert _in_thread(local_then_malloc) is None
    graphs.destroy(graphs.end(stream))


def test_an_unknown_mode_is_refused():
    from gdev_shim.runtime.errors import SdaaError
    with pytest.raises(SdaaError):
        graphs.exchange_mode(7)
    assert graphs.exchange_mode(GLOBAL) == GLOBAL


def test_a_per_thread_default_stream_call_is_no_legacy_work(stream):
    ctx = object()
    graphs.begin(stream, GLOBAL, True, ctx)
    with graphs.per_thread_default():
        assert _code(graphs.legacy, "copy", ctx) is None                    # the thread's own stream
        assert graphs.status(stream)[0] == graphs.ACTIVE
        assert _code(graphs.legacy, "copy", ctx, True) == "cudaErrorStreamCaptureImplicit"   # named legacy
    assert _code(graphs.end, stream) == "cudaErrorStreamCaptureInvalidated"
