"""The Python API (import gdev_shim): devices, memory, modules, kernels, streams, events."""
from __future__ import annotations


import numpy as np
import pytest

import gdev_shim
from helpers import ADD_TEST, ROOT



@pytest.fixture(scope="module")
def ptx(compile_ptx) -> str:
    return compile_ptx([ADD_TEST])[ADD_TEST]


@pytest.fixture
def dev() -> gdev_shim.Device:
    return gdev_shim.Device(1)


def test_devices_describe_the_cards():
    devs = gdev_shim.devices()
    assert gdev_shim.device_count() == len(devs) == 4
    assert devs[3].index == 3 and devs[3].name == "aicard-sim"
    assert devs[0].total_memory == 4 << 30
    free, total = devs[0].mem_info()
    assert total == 4 << 30 and 0 < free <= total
    with pytest.raises(ValueError):
        gdev_shim.Device(4)
    with pytest.raises(TypeError):
        gdev_shim.Device("0")


def test_memory_round_trip_with_dtype_and_shape(dev):
    a = np.arange(12, dtype=np.float32).reshape(3, 4) * 1.5
    with dev.to_device(a) as mem:
        assert mem.size == a.nbytes
        back = mem.to_numpy(np.float32, (3, 4))
        assert back.shape == (3, 4) and np.array_equal(back, a)
        assert np.array_equal(mem.to_numpy(np.float32, 2, offset=8), a.ravel()[2:4])
        with dev.malloc(a.nbytes) as other:
            mem.copy_to(other)
            other.fill(0xFF, )
            assert np.all(other.to_numpy(np.uint8) == 0xFF)
            mem.copy_to(other)
            assert np.array_equal(other.to_numpy(np.float32), a.ravel())
        with pytest.raises(ValueError):
            mem.copy_from(np.zeros(13, np.float32))
        with pytest.raises(ValueError):
            mem.to_numpy(np.float32, 13)
    with pytest.raises(ValueError):
        mem.to_numpy()                         # freed


def test_kernel_call_packs_arguments_per_the_metadata(dev, ptx):
    mod = dev.load_module(ptx)                 # PTX text
    assert mod.kernel_names == ["add_test"] and mod.add_test.param_sizes == [8, 8, 8, 4]
    n = 3000
    a = dev.to_device(np.arange(n, dtype=np.int32))
    b = dev.to_device(np.full(n, 10, np.int32))
    c = dev.malloc(4 * n)
    mod.add_test(a, b, c, np.int32(n), grid=(4,), block=(64,))
    assert np.array_equal(c.to_numpy(np.int32), np.arange(n) + 10)
    c.fill(0)
    mod["add_test"](a, a, c, n, arrays=2)       # a Python int, SDAA array style
    assert np.array_equal(c.to_numpy(np.int32), 2 * np.arange(n))


def test_kernel_argument_errors(dev, ptx):
    kern = dev.load_module(ptx).add_test
    mem = dev.malloc(64)
    with pytest.raises(TypeError, match="takes 4 arguments, got 3"):
        kern(mem, mem, mem)
    with pytest.raises(TypeError, match="host array"):
        kern(mem, np.zeros(4), mem, 1)
    with pytest.raises(TypeError, match="int64 is 8 bytes"):
        kern(mem, mem, mem, np.int64(1))
    with pytest.raises(ValueError, match="does not fit"):
        kern(mem, mem, mem, 1 << 40)
    with pytest.raises(TypeError, match="device memory passed"):
        kern(mem, mem, mem, mem)
    with pytest.raises(ValueError):
        kern(mem, mem, mem, 1, grid=(0,))
    with pytest.raises(TypeError):
        kern(mem, mem, mem, 1, block=(1, 2, 3, 4))


def test_device_errors_carry_the_driver_code(dev, ptx):
    with pytest.raises(gdev_shim.DeviceError) as bad:
        dev.load_module(b"not a code object")
    assert bad.value.name == "SDAA_ERROR_INVALID_IMAGE" and bad.value.code == 200
    with pytest.raises(gdev_shim.DeviceError) as missing:
        dev.load_module(ptx).get_kernel("no_such_kernel")
    assert missing.value.name == "SDAA_ERROR_NOT_FOUND"
    with pytest.raises(FileNotFoundError):
        dev.load_module("/no/such/file.cu")


def test_module_from_cu_and_ptx_files(dev, ptx, tmp_path):
    path = tmp_path / "add_test.ptx"
    path.write_text(ptx)
    with dev.load_module(path) as from_ptx, dev.load_module(ADD_TEST) as from_cu:
        assert from_ptx.kernel_names == from_cu.kernel_names == ["add_test"]


def test_streams_and_events_as_context_managers(dev, ptx):
    kern = dev.load_module(ptx).add_test
    n = 1 << 14
    a = dev.to_device(np.arange(n, dtype=np.int32))
    c = dev.malloc(4 * n)
    out = np.zeros(n, np.int32)
    with dev.stream() as producer, dev.stream() as consumer, \
            dev.event() as start, dev.event() as done:
        start.record(producer)
        kern(a, a, c, np.int32(n), arrays=1, stream=producer)
        done.record(producer)
        consumer.wait(done)                      # ordered on the card, not by the host
        out = c.to_numpy(np.int32, stream=consumer)
        assert done.query() and producer.query()
        assert start.elapsed_ms(done) > 0
        handles = (producer.handle, start.handle)
    assert np.array_equal(out, 2 * np.arange(n))
    assert not handles[0].alive and not handles[1].alive
    with pytest.raises(ValueError, match="destroyed"):
        consumer.synchronize()                   # destroyed with its block
    with pytest.raises(ValueError, match="destroyed"):
        kern(a, a, c, np.int32(n), stream=consumer)


def test_the_python_api_is_imported_lazily():
    import subprocess
    import sys
    code = "import sys, gdev_shim; print('gdev_shim.pyapi' in sys.modules, 'numpy' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT)
    assert run.stdout.split() == ["False", "False"]
