"""The PTX interpreter against numpy on random inputs (kernels in tests/kernels)."""
from __future__ import annotations


import numpy as np
import pytest

from gdev_shim.ptx import (DEVICE_BASE, KernelFault, Module, execute,
                           parse_module)
from helpers import KERNELS, FakeMemory, pack


@pytest.fixture(scope="module")
def modules(compile_ptx) -> dict[str, Module]:
    sources = sorted(KERNELS.glob("*.cu"))
    ptx = compile_ptx(sources)
    return {src.stem: parse_module(text) for src, text in ptx.items()}


def launch(mod: Module, name: str, mem: FakeMemory, grid, block, params: bytes,
           dynamic_shared: int = 0, printf=None) -> None:
    layout = mod.global_layout()
    gaddr = mem.put(np.frombuffer(layout.init, np.uint8)) if layout.size else DEVICE_BASE
    execute(mod, name, mem, grid, block, params, dynamic_shared, gaddr, printf)


rng = np.random.default_rng(1234)


@pytest.mark.parametrize("n,grid,block", [
    (1000, ((1000 + 255) // 256, 1, 1), (256, 1, 1)),     # CUDA shape, n not a multiple
    (1000, (3, 1, 1), (32, 1, 1)),                         # SDAA array shape: threads loop
    (1, (1, 1, 1), (256, 1, 1)),
    (4097, (5, 1, 1), (7, 1, 1)),                          # odd shapes
    (10, (2, 3, 1), (4, 1, 2)),                            # only blockIdx.x/threadIdx.x used
])
def test_add_test(modules, n, grid, block):
    mem = FakeMemory()
    a = rng.integers(-2**31, 2**31 - 1, n, dtype=np.int32)
    b = rng.integers(-2**31, 2**31 - 1, n, dtype=np.int32)
    pa, pb, pc = mem.put(a), mem.put(b), mem.alloc(4 * n)
    launch(modules["add_test"], "add_test", mem, grid, block,
           pack(("Q", pa), ("Q", pb), ("Q", pc), ("i", n)))
    np.testing.assert_array_equal(mem.get(pc, np.int32, n), a + b)


def test_float_math(modules):
    n = 3000
    mem = FakeMemory()
    x = (rng.standard_normal(n) * 10).astype(np.float32)
    x[:4] = [0.0, -1e-3, 2e5, -3e5]                        # include the slow sinf path
    y = (rng.standard_normal(n) * 3).astype(np.float32)
    px, py, po = mem.put(x), mem.put(y), mem.alloc(4 * n)
    launch(modules["float_math"], "float_math", mem, (12, 1, 1), (256, 1, 1),
           pack(("Q", px), ("Q", py), ("Q", po), ("i", n)))
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    r = np.sqrt(np.abs(x64)) + np.exp(-np.abs(y64)) * np.sin(x64)
    r = x64 * y64 + r
    r += x64 / (np.abs(y64) + 1)
    r = np.minimum(r, 100.0) + np.maximum(x64, y64)
    np.testing.assert_allclose(mem.get(po, np.float32, n), r, rtol=1e-5, atol=1e-4)


def test_branches(modules):
    n = 777
    mem = FakeMemory()
    v = rng.integers(-20, 60, n, dtype=np.int32)
    pi, po = mem.put(v), mem.alloc(4 * n)
    launch(modules["branches"], "branches", mem, (4, 1, 1), (200, 1, 1),
           pack(("Q", pi), ("Q", po), ("i", n)))
    want = []
    for val in v.tolist():
        if val < 0:
            want.append(-1)
            continue
        acc = 0
        for k in range(val):
            acc = acc + 3 * k if k & 1 else acc ^ k
        want.append(acc % 97 if acc > 100 else acc * 2)
    np.testing.assert_array_equal(mem.get(po, np.int32, n), np.array(want, np.int32))


@pytest.mark.parametrize("n,block", [(5000, 256), (1, 256), (300, 64), (1024, 256)])
def test_reduce_shared(modules, n, block):
    mem = FakeMemory()
    x = rng.integers(-100, 100, n).astype(np.float32)   # integers: exact in any order
    nblk = (n + block - 1) // block
    pi, po = mem.put(x), mem.alloc(4 * nblk)
    launch(modules["reduce"], "reduce_sum", mem, (nblk, 1, 1), (block, 1, 1),
           pack(("Q", pi), ("Q", po), ("i", n)))
    padded = np.zeros(nblk * block, np.float32)
    padded[:n] = x
    np.testing.assert_array_equal(mem.get(po, np.float32, nblk), padded.reshape(nblk, block).sum(1))


def test_grid2d(modules):
    w, h = 37, 23
    mem = FakeMemory()
    a = rng.standard_normal(w * h).astype(np.float32)
    pa, pb = mem.put(a), mem.alloc(4 * w * h)
    launch(modules["grid2d"], "grid2d", mem, ((w + 7) // 8, (h + 3) // 4, 1), (8, 4, 1),
           pack(("Q", pa), ("Q", pb), ("i", w), ("i", h)))
    want = (a.reshape(h, w) * 2 + np.arange(h, dtype=np.float32)[:, None]).T.reshape(-1)
    np.testing.assert_array_equal(mem.get(pb, np.float32, w * h), want)


def test_device_function_and_module_globals(modules):
    mod = modules["devfunc"]
    layout = mod.global_layout()
    assert layout.offsets == {"counter": 0, "coeffs": 4}
    n = 500
    mem = FakeMemory()
    gaddr = mem.put(np.frombuffer(layout.init, np.uint8))
    x = rng.integers(-50, 50, n, dtype=np.int32)
    pi, po, pcnt = mem.put(x), mem.alloc(4 * n), mem.alloc(4)
    execute(mod, "devfunc", mem, (2, 1, 1), (256, 1, 1), pack(("Q", pi), ("Q", po), ("i", n)),
            0, gaddr)
    np.testing.assert_array_equal(mem.get(po, np.int32, n), ((11 * x + 7) * x + 5) * x + 3)
    execute(mod, "read_counter", mem, (1, 1, 1), (1, 1, 1), pack(("Q", pcnt)), 0, gaddr)
    assert mem.get(pcnt, np.int32, 1)[0] == n


def test_shared_and_global_atomics(modules):
    mod = modules["misc"]
    n = 10000
    mem = FakeMemory()
    data = rng.integers(0, 256, n, dtype=np.uint8)
    pi, ph = mem.put(data), mem.put(np.zeros(16, np.uint32))
    launch(mod, "histogram", mem, (3, 1, 1), (128, 1, 1), pack(("Q", pi), ("Q", ph), ("i", n)))
    np.testing.assert_array_equal(mem.get(ph, np.uint32, 16), np.bincount(data & 15, minlength=16))
    idx = rng.integers(0, 7, n, dtype=np.int32)
    pi2, ph2 = mem.put(idx), mem.put(np.zeros(7, np.int32))
    launch(mod, "global_hist", mem, ((n + 255) // 256, 1, 1), (256, 1, 1),
           pack(("Q", pi2), ("Q", ph2), ("i", n)))
    np.testing.assert_array_equal(mem.get(ph2, np.int32, 7), np.bincount(idx, minlength=7))


def test_warp_ops(modules):
    mod = modules["misc"]
    n = 128
    mem = FakeMemory()
    v = rng.integers(-150, 150, n, dtype=np.int32)
    pi, ps, pb, pa = mem.put(v), mem.alloc(4 * n), mem.alloc(4 * n), mem.alloc(16 * n)
    launch(mod, "warp_ops", mem, (2, 1, 1), (64, 1, 1),
           pack(("Q", pi), ("Q", ps), ("Q", pb), ("Q", pa)))
    w = v.reshape(-1, 32)
    # shfl_down tree: lane 0 gets the warp sum; other lanes partial sums (out-of-range keep own).
    sums = mem.get(ps, np.int32, n).reshape(-1, 32)
    np.testing.assert_array_equal(sums[:, 0], w.sum(1))
    ballot = (w > 0).astype(np.uint64) << np.arange(32, dtype=np.uint64)
    np.testing.assert_array_equal(mem.get(pb, np.uint32, n).reshape(-1, 32),
                                  np.repeat(ballot.sum(1, dtype=np.uint64).astype(np.uint32)[:, None], 32, 1))
    out = mem.get(pa, np.int32, 4 * n).reshape(-1, 32, 4)
    anyv = (w > 100).any(1).astype(np.int32)
    allv = (w > -100).all(1).astype(np.int32)
    np.testing.assert_array_equal(out[:, :, 0], np.repeat((anyv + 2 * allv)[:, None], 32, 1))
    lanes = np.arange(32)
    np.testing.assert_array_equal(out[:, :, 1], w[:, lanes ^ 1])
    np.testing.assert_array_equal(out[:, :, 2], w[:, np.maximum(lanes - 1, 0)])
    np.testing.assert_array_equal(out[:, :, 3], np.repeat(w[:, 3:4], 32, 1))


def test_vector_loads(modules):
    mod = modules["misc"]
    n = 100
    mem = FakeMemory()
    f = rng.standard_normal((n, 4)).astype(np.float32)
    d = rng.standard_normal((n, 2))
    pf, pof, pd, pod = mem.put(f), mem.alloc(16 * n), mem.put(d), mem.alloc(16 * n)
    launch(mod, "vec4", mem, (1, 1, 1), (128, 1, 1),
           pack(("Q", pf), ("Q", pof), ("Q", pd), ("Q", pod), ("i", n)))
    want = np.stack([f[:, 3], f[:, 2] * 2, f[:, 1] + 1, f[:, 0] - f[:, 1]], 1)
    np.testing.assert_array_equal(mem.get(pof, np.float32, 4 * n).reshape(n, 4), want)
    wd = np.stack([d[:, 0] * d[:, 1], np.sqrt(np.abs(d[:, 0])) + np.arange(n)], 1)
    np.testing.assert_array_equal(mem.get(pod, np.float64, 2 * n).reshape(n, 2), wd)


def test_local_array(modules):
    mod = modules["misc"]
    n = 300
    mem = FakeMemory()
    x = rng.integers(-1000, 1000, n, dtype=np.int32)
    pi, po = mem.put(x), mem.alloc(4 * n)
    launch(mod, "local_array", mem, (3, 1, 1), (128, 1, 1), pack(("Q", pi), ("Q", po), ("i", n)))
    want = []
    for v in x.tolist():
        arr = [j * v for j in range(16)]
        k = v & 15
        arr[k] += 1000
        s = sum(arr[(j * 7 + k) & 15] * (j + 1) for j in range(16))
        want.append(s + arr[k])
    np.testing.assert_array_equal(mem.get(po, np.int32, n), np.array(want, np.int64).astype(np.int32))


def test_int_ops(modules):
    mod = modules["misc"]
    n = 500
    mem = FakeMemory()
    a = rng.integers(0, 2**32, n, dtype=np.uint32)
    b = rng.integers(0, 2**32, n, dtype=np.uint32)
    a[:3] = [0, 0xFFFFFFFF, 0x80000000]
    pa, pb, po, po64 = mem.put(a), mem.put(b), mem.alloc(32 * n), mem.alloc(16 * n)
    launch(mod, "int_ops", mem, (2, 1, 1), (256, 1, 1),
           pack(("Q", pa), ("Q", pb), ("Q", po), ("Q", po64), ("i", n)))
    out = mem.get(po, np.uint32, 8 * n).reshape(n, 8)
    o64 = mem.get(po64, np.int64, 2 * n).reshape(n, 2)
    M = 0xFFFFFFFF
    for i in range(n):
        x, y = int(a[i]), int(b[i]) | 1
        sx, sy = x - (x >> 31 << 32), y - (y >> 31 << 32)
        q = abs(sx) // abs(sy) * (1 if (sx < 0) == (sy < 0) else -1)
        r = sx - q * sy
        ffs = (x & -x).bit_length()
        brev = int(f"{x:032b}"[::-1], 2)
        want = [(x // y + x % y) & M, (q ^ r) & M,
                (bin(x).count("1") + (32 - y.bit_length()) * 64 + (ffs << 12)) & M,
                brev ^ (x >> (y & 31)) ^ ((sx >> (y & 31)) & M),
                ((x * y >> 32) + (sx * sy >> 32)) & M,
                (min(x, y) * 3 + max(sx, sy) + (7 if x > y else 9)) & M,
                ((x << 5) | (y >> 27)) & M,
                ((((y << 32) | x) << 7) >> 32) & M]
        assert out[i].tolist() == want, i
        p = sx * sy + (x << 20)
        assert int(o64[i, 0]) == (p + 2**63) % 2**64 - 2**63
        if (y + 3) & M:                # y + 3 wraps to 0 only for y = 0xFFFFFFFD
            assert int(o64[i, 1]) == (x * y) // ((y + 3) & M)


def test_conversions(modules):
    mod = modules["misc"]
    n = 400
    mem = FakeMemory()
    f = (rng.standard_normal(n) * 100).astype(np.float32)
    f[:6] = [0.5, -0.5, 2.5, -2.5, 1e10, -1e10]
    d = rng.standard_normal(n) * 1e3
    pf, pd = mem.put(f), mem.put(d)
    pi, pof, pod = mem.alloc(16 * n), mem.alloc(8 * n), mem.alloc(16 * n)
    launch(mod, "conversions", mem, (2, 1, 1), (256, 1, 1),
           pack(("Q", pf), ("Q", pd), ("Q", pi), ("Q", pof), ("Q", pod), ("i", n)))
    oi = mem.get(pi, np.int32, 4 * n).reshape(n, 4)
    sat = lambda v: np.clip(v, -2**31, 2**31 - 1).astype(np.int64)  # noqa: E731
    f64 = f.astype(np.float64)
    np.testing.assert_array_equal(oi[:, 0], sat(np.trunc(f64)))
    np.testing.assert_array_equal(oi[:, 1].view(np.uint32), np.clip(np.trunc(np.abs(f64)), 0, 2**32 - 1))
    np.testing.assert_array_equal(oi[:, 2], sat(np.rint(f64)))
    np.testing.assert_array_equal(oi[6:, 3], (np.floor(f64) + np.ceil(f64) * 1000)[6:].astype(np.int32))
    of = mem.get(pof, np.float32, 2 * n).reshape(n, 2)
    np.testing.assert_array_equal(of[:, 0], d.astype(np.float32) + np.arange(n, dtype=np.float32))
    rounded = np.where(f64 >= 0, np.floor(f64 + 0.5), np.ceil(f64 - 0.5)).astype(np.float32)
    want1 = (np.trunc(d).astype(np.float32) + np.trunc(f)) + rounded * np.float32(0.5)
    np.testing.assert_allclose(of[:, 1], want1, rtol=1e-6)
    od = mem.get(pod, np.float64, 2 * n).reshape(n, 2)
    np.testing.assert_array_equal(od[:, 0], f64 * d)
    np.testing.assert_allclose(od[:, 1], np.trunc(f * np.float32(3)).astype(np.float64) + d / 3.0)


def test_printf_in_thread_order(modules):
    mod = modules["misc"]
    mem = FakeMemory()
    lines: list[str] = []
    launch(mod, "hello", mem, (2, 1, 1), (32, 1, 1), pack(("i", 7)), printf=lines.append)
    assert lines == [f"block {b} thread {t} tag 7 val {1.5 * t:f} ok\n"
                     for b in range(2) for t in range(2)]


def test_trap_fault_names_thread(modules):
    mod = modules["misc"]
    mem = FakeMemory()
    v = np.zeros(64, np.int32)
    v[37] = 42
    pv = mem.put(v)
    with pytest.raises(KernelFault) as info:
        launch(mod, "trapper", mem, (1, 1, 1), (64, 1, 1), pack(("Q", pv)))
    fault = info.value
    assert (fault.kernel, fault.block, fault.thread, fault.reason) == ("trapper", (0, 0, 0), (37, 0, 0), "trap")
    assert "trap" in fault.instruction and fault.instruction.startswith("line ")


def test_out_of_bounds_global_fault(modules):
    mem = FakeMemory()
    n = 100
    a = np.arange(n, dtype=np.int32)
    pa, pb, pc = mem.put(a), mem.put(a), mem.alloc(4 * 50)   # c too short
    with pytest.raises(KernelFault) as info:
        launch(modules["add_test"], "add_test", mem, (1, 1, 1), (128, 1, 1),
               pack(("Q", pa), ("Q", pb), ("Q", pc), ("i", n)))
    fault = info.value
    assert fault.thread == (50, 0, 0) and fault.address == pc + 200
    assert "st.global" in fault.instruction


def test_misaligned_global_fault(modules):
    mem = FakeMemory()
    a = np.arange(64, dtype=np.int32)
    pa, pc = mem.put(a), mem.alloc(4 * 64)
    with pytest.raises(KernelFault) as info:
        launch(modules["add_test"], "add_test", mem, (1, 1, 1), (32, 1, 1),
               pack(("Q", pa + 2), ("Q", pa), ("Q", pc), ("i", 8)))
    assert info.value.address == pa + 2 and info.value.thread == (0, 0, 0)


def test_shared_out_of_bounds_fault(modules):
    # 512 threads index a 256-float shared array: thread 256 writes past its end.
    mem = FakeMemory()
    x = np.ones(512, np.float32)
    pi, po = mem.put(x), mem.alloc(8)
    with pytest.raises(KernelFault) as info:
        launch(modules["reduce"], "reduce_sum", mem, (1, 1, 1), (512, 1, 1),
               pack(("Q", pi), ("Q", po), ("i", 512)))
    assert info.value.thread == (256, 0, 0) and "shared" in info.value.reason


def test_bad_launch_arguments(modules):
    mod = modules["add_test"]
    mem = FakeMemory()
    with pytest.raises(ValueError):
        execute(mod, "add_test", mem, (1, 1, 1), (1, 1, 1), b"\0" * 8, 0, DEVICE_BASE)
    with pytest.raises(KeyError):
        execute(mod, "nope", mem, (1, 1, 1), (1, 1, 1), b"", 0, DEVICE_BASE)
