"""The JIT's kept launch plans (jit/launch.py: _run_planned): relaunches of a one-block
kernel reuse a workspace and environment, and must behave as fresh launches do."""
from __future__ import annotations

import struct
import threading

import numpy as np
import pytest

pytest.importorskip("llvmlite")

from gdev_shim import jit  # noqa: E402
from gdev_shim.card.card import Card  # noqa: E402
from gdev_shim.jit import launch as jit_launch  # noqa: E402
from gdev_shim.ptx import KernelFault, parse_module  # noqa: E402
from helpers import ADD_PTX  # noqa: E402

pytestmark = pytest.mark.usefixtures("fresh_jit_cache")
N = 64


def _buffers(card: Card, count: int) -> list[int]:
    from gdev_shim.card import CardFile
    from helpers import gem
    f = CardFile(card)
    return [gem(f, 4 * N).addr for _ in range(count)]


def _add(card: Card, module, a: int, b: int, c: int, n: int) -> None:
    jit.execute(module, "add_test", card.memory, (1, 1, 1), (N, 1, 1), struct.pack("<QQQi", a, b, c, n), 0, 0)


def test_relaunches_with_new_parameters_see_them(monkeypatch) -> None:
    from collections import OrderedDict
    monkeypatch.setattr(jit_launch, "_plans", OrderedDict())
    card = Card(0, vram_size=64 << 20)
    module = parse_module(ADD_PTX)
    a, b, c1, c2 = _buffers(card, 4)
    mem = card.memory
    for k in range(1, 6):
        mem.write(a, (np.arange(N, dtype=np.int32) * k).tobytes())
        mem.write(b, np.full(N, 1000 * k, np.int32).tobytes())
        out = c1 if k % 2 else c2
        _add(card, module, a, b, out, N - k)            # n changes: lanes past it stay untouched
        got = np.frombuffer(mem.read(out, 4 * N), np.int32)
        want = np.arange(N, dtype=np.int32) * k + 1000 * k
        assert np.array_equal(got[:N - k], want[:N - k])
    assert len(jit_launch._plans) == 1           # one shape, one plan, whatever the parameters


def test_a_fault_on_a_plan_is_reported_and_the_plan_runs_again() -> None:
    card = Card(0, vram_size=64 << 20)
    module = parse_module(ADD_PTX)
    a, b, c = _buffers(card, 3)
    _add(card, module, a, b, c, N)
    with pytest.raises(KernelFault) as fault:
        _add(card, module, 0xDEAD_0000, b, c, N)        # a is no buffer
    assert fault.value.address == 0xDEAD_0000
    card.memory.write(a, np.full(N, 5, np.int32).tobytes())
    card.memory.write(b, np.full(N, 6, np.int32).tobytes())
    _add(card, module, a, b, c, N)
    assert (np.frombuffer(card.memory.read(c, 4 * N), np.int32) == 11).all()


def test_a_plan_in_use_leaves_a_concurrent_launch_to_the_general_path(monkeypatch) -> None:
    """Two threads relaunching one shape at once: one runs on the plan, the other on a
    workspace of its own; both results are right."""
    card = Card(0, vram_size=64 << 20)
    module = parse_module(ADD_PTX)
    a, b, c1, c2 = _buffers(card, 4)
    card.memory.write(a, np.arange(N, dtype=np.int32).tobytes())
    card.memory.write(b, np.full(N, 3, np.int32).tobytes())
    _add(card, module, a, b, c1, N)                     # makes the plan
    inside, go = threading.Event(), threading.Event()
    real = jit_launch.run_blocks
    planned = []

    def held_run_blocks(compiled, env, lo, hi):
        if threading.current_thread() is not threading.main_thread():
            inside.set()
            go.wait(5)
        else:
            planned.append(any(env == p.space.env_addr for p in jit_launch._plans.values()))
        return real(compiled, env, lo, hi)

    monkeypatch.setattr(jit_launch, "run_blocks", held_run_blocks)
    other = threading.Thread(target=_add, args=(card, module, a, b, c2, N))
    other.start()
    assert inside.wait(5)
    _add(card, module, a, b, c1, N)                     # the plan is busy: the general path
    go.set()
    other.join(5)
    assert planned == [False]
    for c in (c1, c2):
        assert np.array_equal(np.frombuffer(card.memory.read(c, 4 * N), np.int32), np.arange(N) + 3)
