"""AIDEV_OP_COMPUTE on the simulated card: descriptor decoding, launch checks, faults, the real engine."""
from __future__ import annotations

import errno
import struct
import time

import numpy as np
import pytest

from gdev_shim.card import Card, CardFile, compute
from gdev_shim.common.contract import C, ffi
from gdev_shim.common.image import build_image
from helpers import ADD_PTX, MiB, Ring, gem


@pytest.fixture(autouse=True)
def fresh_image_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compute, "IMAGES", compute.ImageCache())


@pytest.fixture
def file():
    f = CardFile(Card(3, vram_size=64 * MiB))
    yield f
    f.close()


def upload(f: CardFile, blob: bytes) -> tuple[int, int]:
    bo = gem(f, len(blob))
    f.card.memory.write(bo.addr, blob)
    return bo.addr, len(blob)


def emit_compute(ring: Ring, code: tuple[int, int], entry: int, grid, block, params: bytes,
                 shared: int = 0, globals_addr: int = 0) -> None:
    desc = ffi.new("struct aidev_compute *", {
        "code_addr": code[0], "code_size": code[1], "entry": entry, "param_size": len(params),
        "grid": list(grid), "block": list(block), "shared_size": shared, "globals_addr": globals_addr})
    raw = bytes(ffi.buffer(desc)) + params + b"\0" * (-len(params) % 8)
    ring.emit(C.AIDEV_OP_COMPUTE, *np.frombuffer(raw, dtype=np.uint64).tolist())


class FakeEngine:
    """Records launches; adds 1 to the u32 at the first parameter, prints a line."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def __call__(self, module, name, memory, grid, block, params, dynamic_shared, globals_addr, printf,
                 checks=None, grid_sync=0):
        self.calls.append((name, grid, block, params, dynamic_shared, globals_addr))
        addr = np.array([struct.unpack_from("<Q", params)[0]], dtype=np.uint64)
        memory.store(addr, memory.load(addr, np.uint32) + np.uint32(1))
        printf(f"hello from {name}\n")


def test_compute_decodes_the_descriptor(file: CardFile, monkeypatch: pytest.MonkeyPatch,
                                        capfd: pytest.CaptureFixture) -> None:
    engine = FakeEngine()
    monkeypatch.setattr(compute, "run_kernel", engine)
    code = upload(file, build_image(ADD_PTX))
    counter = gem(file, 4096)
    ring = Ring(file)
    params = struct.pack("<Qf", counter.addr, 2.5)
    emit_compute(ring, code, 1, (3, 2, 1), (32, 4, 2), params, shared=512, globals_addr=0x1234)
    emit_compute(ring, code, 1, (1, 1, 1), (1, 1, 1), params)
    ring.emit(C.AIDEV_OP_FENCE, 0, 1)
    ring.fire()
    assert ring.wait(0, 1) == (0, C.AIDEV_STATUS_OK)
    assert engine.calls[0] == ("scale", (3, 2, 1), (32, 4, 2), params, 512, 0x1234)
    assert len(engine.calls) == 2
    assert file.card.memory.load(np.array([counter.addr], dtype=np.uint64), np.uint32)[0] == 2
    assert capfd.readouterr().out == "hello from scale\n" * 2
    assert len(compute.IMAGES._images) == 1              # the second launch reused the parsed image


def test_kernel_fault_is_reported(file: CardFile, monkeypatch: pytest.MonkeyPatch,
                                  card_log: pytest.LogCaptureFixture) -> None:
    from gdev_shim.ptx.errors import KernelFault

    def faulting(*args, **kwargs):
        raise KernelFault("add_test", (1, 0, 0), (7, 0, 0), "ld.global.u32 %r6, [%rd5]", 0xDEAD0,
                          "address not backed by a buffer object")

    monkeypatch.setattr(compute, "run_kernel", faulting)
    code = upload(file, build_image(ADD_PTX))
    ring = Ring(file)
    emit_compute(ring, code, 0, (2, 1, 1), (32, 1, 1), bytes(28))
    ring.emit(C.AIDEV_OP_FENCE, 0, 1)
    ring.fire()
    assert ring.wait(0, 1) == (-errno.EIO, C.AIDEV_STATUS_COMPUTE_FAULT)
    assert ring.regs[C.AIDEV_REG_FAULT_OP] == C.AIDEV_OP_COMPUTE
    line = card_log.records[-1].getMessage()
    for part in ("add_test", "(1, 0, 0)", "(7, 0, 0)", "ld.global.u32", "0xdead0", "not backed"):
        assert part in line


@pytest.mark.parametrize("case", ["entry", "block", "grid", "shared", "params", "code_addr", "garbage"])
def test_bad_launches_fault(file: CardFile, monkeypatch: pytest.MonkeyPatch, case: str,
                            card_log: pytest.LogCaptureFixture) -> None:
    engine = FakeEngine()
    monkeypatch.setattr(compute, "run_kernel", engine)
    code = upload(file, build_image(ADD_PTX))
    args = dict(entry=0, grid=(1, 1, 1), block=(32, 1, 1), params=bytes(28), shared=0)
    if case == "entry":
        args["entry"] = 2
    elif case == "block":
        args["block"] = (64, 32, 1)
    elif case == "grid":
        args["grid"] = (1, 0, 1)
    elif case == "shared":
        args["shared"] = (48 << 10) + 1
    elif case == "params":
        args["params"] = bytes(20)
    elif case == "code_addr":
        code = (code[0] + 64 * MiB, code[1])
    elif case == "garbage":
        code = upload(file, b"\x7fELF" + bytes(200))
    ring = Ring(file)
    emit_compute(ring, code, args["entry"], args["grid"], args["block"], args["params"], args["shared"])
    ring.emit(C.AIDEV_OP_FENCE, 0, 1)
    ring.fire()
    assert ring.wait(0, 1) == (-errno.EIO, C.AIDEV_STATUS_COMPUTE_FAULT)
    assert engine.calls == []
    assert "compute fault" in card_log.records[-1].getMessage()


def test_ptx_text_code_object(file: CardFile, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = FakeEngine()
    monkeypatch.setattr(compute, "run_kernel", engine)
    code = upload(file, ADD_PTX.encode() + b"\0")
    counter = gem(file, 4096)
    ring = Ring(file)
    emit_compute(ring, code, 0, (1, 1, 1), (1, 1, 1), struct.pack("<QQQI", counter.addr, 0, 0, 0))
    ring.emit(C.AIDEV_OP_FENCE, 0, 1)
    ring.fire()
    assert ring.wait(0, 1)[0] == 0
    assert engine.calls[0][0] == "add_test"


def test_add_kernel_on_the_interpreter(file: CardFile) -> None:
    n = 1000
    code = upload(file, build_image(ADD_PTX))
    a, b, c = gem(file, 4 * n), gem(file, 4 * n), gem(file, 4 * n)
    host = gem(file, 4 * n, C.AIDEV_GEM_DOMAIN_HOST)
    mem = file.card.memory
    mem.write(a.addr, np.arange(n, dtype=np.int32).tobytes())
    mem.write(b.addr, (np.arange(n, dtype=np.int32) * 10 - 7).tobytes())
    ring = Ring(file)
    emit_compute(ring, code, 0, (4, 1, 1), (256, 1, 1), struct.pack("<QQQi", a.addr, b.addr, c.addr, n))
    ring.emit(C.AIDEV_OP_MEMCPY, host.addr, c.addr, 4 * n)
    ring.emit(C.AIDEV_OP_FENCE, 0, 1)
    ring.fire()
    assert ring.wait(0, 1, timeout_ms=60_000) == (0, C.AIDEV_STATUS_OK)
    out = np.frombuffer(file.mmap(host.map_offset, 4 * n), dtype=np.int32)
    assert (out == np.arange(n) * 11 - 7).all()


def test_out_of_bounds_kernel_faults_on_the_interpreter(file: CardFile, card_log) -> None:
    n = 64
    code = upload(file, build_image(ADD_PTX))
    a, c = gem(file, 4096), gem(file, 4096)
    ring = Ring(file)
    # b points past every buffer: the first load from it faults
    emit_compute(ring, code, 0, (1, 1, 1), (64, 1, 1), struct.pack("<QQQi", a.addr, a.addr + 32 * MiB,
                                                                    c.addr, n))
    ring.emit(C.AIDEV_OP_FENCE, 0, 1)
    ring.fire()
    assert ring.wait(0, 1, timeout_ms=60_000) == (-errno.EIO, C.AIDEV_STATUS_COMPUTE_FAULT)
    assert "add_test" in card_log.records[-1].getMessage()


# ---- a FENCE right after a kernel is written as the kernel ends (processor._fence_ahead) ----

class FenceWatcher(FakeEngine):
    """FakeEngine that also records, as each kernel starts, the fence page's slots 0 and 3."""

    def __init__(self, ring: Ring) -> None:
        super().__init__()
        self.ring = ring
        self.seen: list[tuple[int, int]] = []

    def __call__(self, *args, **kwargs):
        self.seen.append((int(self.ring.fence_seq[0]), int(self.ring.fence_seq[3])))
        super().__call__(*args, **kwargs)


def wait_consumed(ring: Ring) -> None:
    deadline = time.monotonic() + 5
    while ring.regs[C.AIDEV_REG_PB_GET] != ring.put and time.monotonic() < deadline:
        time.sleep(0.001)
    assert ring.regs[C.AIDEV_REG_PB_GET] == ring.put


def test_fences_between_kernels_come_in_ring_order(file: CardFile, monkeypatch: pytest.MonkeyPatch) -> None:
    """Kernel, fence, kernel, fence...: each fence lands after its kernel and before the next
    kernel starts, each kernel runs once, and the fences the card wrote ahead are consumed."""
    ring = Ring(file)
    engine = FenceWatcher(ring)
    monkeypatch.setattr(compute, "run_kernel", engine)
    code = upload(file, build_image(ADD_PTX))
    counter = gem(file, 4096)
    params = struct.pack("<QQQI", counter.addr, 0, 0, 0)
    for seq in range(1, 21):
        emit_compute(ring, code, 0, (1, 1, 1), (32, 1, 1), params)
        ring.emit(C.AIDEV_OP_FENCE, 0, seq)
    ring.fire()
    assert ring.wait(0, 20) == (0, C.AIDEV_STATUS_OK)
    assert [slot0 for slot0, _ in engine.seen] == list(range(20))
    assert file.card.memory.load(np.array([counter.addr], dtype=np.uint64), np.uint32)[0] == 20
    wait_consumed(ring)
    # the channel goes on after them: a fence alone, then another kernel
    ring.emit(C.AIDEV_OP_FENCE, 0, 21)
    emit_compute(ring, code, 0, (1, 1, 1), (32, 1, 1), params)
    ring.emit(C.AIDEV_OP_FENCE, 0, 22)
    ring.fire()
    assert ring.wait(0, 22) == (0, C.AIDEV_STATUS_OK)
    assert engine.seen[-1][0] == 21
    wait_consumed(ring)


def test_an_event_between_kernels_lands_between_them(file: CardFile, monkeypatch: pytest.MonkeyPatch) -> None:
    ring = Ring(file)
    engine = FenceWatcher(ring)
    monkeypatch.setattr(compute, "run_kernel", engine)
    code = upload(file, build_image(ADD_PTX))
    counter = gem(file, 4096)
    params = struct.pack("<QQQI", counter.addr, 0, 0, 0)
    emit_compute(ring, code, 0, (1, 1, 1), (32, 1, 1), params)
    ring.emit(C.AIDEV_OP_FENCE, 3, 7)               # an event recorded between the launches
    emit_compute(ring, code, 0, (1, 1, 1), (32, 1, 1), params)
    ring.emit(C.AIDEV_OP_FENCE, 0, 1)
    ring.fire()
    assert ring.wait(0, 1) == (0, C.AIDEV_STATUS_OK)
    assert engine.seen == [(0, 0), (0, 7)]
    assert 0 < int(ring.fence_time[3]) <= int(ring.fence_time[0])
    wait_consumed(ring)


def test_a_fence_published_after_the_kernel_ended_still_runs(file: CardFile,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    ring = Ring(file)
    engine = FenceWatcher(ring)
    monkeypatch.setattr(compute, "run_kernel", engine)
    code = upload(file, build_image(ADD_PTX))
    counter = gem(file, 4096)
    emit_compute(ring, code, 0, (1, 1, 1), (32, 1, 1), struct.pack("<QQQI", counter.addr, 0, 0, 0))
    ring.fire()
    wait_consumed(ring)
    assert int(ring.fence_seq[0]) == 0
    ring.emit(C.AIDEV_OP_FENCE, 0, 1)
    ring.fire()
    assert ring.wait(0, 1) == (0, C.AIDEV_STATUS_OK)
    wait_consumed(ring)


def test_no_fence_ahead_of_a_faulting_kernel_or_of_a_bad_fence(file: CardFile, monkeypatch: pytest.MonkeyPatch,
                                                               card_log: pytest.LogCaptureFixture) -> None:
    from gdev_shim.ptx.errors import KernelFault

    def faulting(*args, **kwargs):
        raise KernelFault("k", (0, 0, 0), (1, 0, 0), "ld.global.u32 %r1, [%rd1];", 0xDEAD, "unbacked")

    monkeypatch.setattr(compute, "run_kernel", faulting)
    code = upload(file, build_image(ADD_PTX))
    ring = Ring(file)
    emit_compute(ring, code, 0, (1, 1, 1), (32, 1, 1), bytes(28))
    ring.emit(C.AIDEV_OP_FENCE, 0, 1)
    ring.fire()
    assert ring.wait(0, 1) == (-errno.EIO, C.AIDEV_STATUS_COMPUTE_FAULT)
    assert int(ring.fence_seq[0]) == 0

    monkeypatch.setattr(compute, "run_kernel", FakeEngine())
    counter = gem(file, 4096)
    other = Ring(file)
    emit_compute(other, code, 0, (1, 1, 1), (32, 1, 1), struct.pack("<QQQI", counter.addr, 0, 0, 0))
    other.emit(C.AIDEV_OP_FENCE, C.AIDEV_FENCE_SLOTS, 1)      # a slot the page does not have
    other.fire()
    assert other.wait(0, 1)[1] == C.AIDEV_STATUS_BAD_COMMAND
    assert other.regs[C.AIDEV_REG_FAULT_OP] == C.AIDEV_OP_FENCE
