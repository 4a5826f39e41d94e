"""QuietCondition: notify_all skips the work only when nobody waits."""
from __future__ import annotations

import threading

import pytest

from gdev_shim.card.condition import QuietCondition


def test_waiter_is_woken_by_notify_all() -> None:
    cond = QuietCondition(threading.RLock())
    state = {"ready": False, "woke": False}

    def waiter() -> None:
        with cond:
            while not state["ready"]:
                cond.wait(5.0)
            state["woke"] = True

    t = threading.Thread(target=waiter)
    t.start()
    # wait until the waiter sleeps on the condition, then wake it
    for _ in range(500):
        with cond:
            if cond._waiters:                # type: ignore[attr-defined]
                state["ready"] = True
                cond.notify_all()
                break
        threading.Event().wait(0.01)
    t.join(5.0)
    assert not t.is_alive()
    assert state["woke"]


def test_notify_all_without_waiters_is_a_no_op() -> None:
    cond = QuietCondition(threading.Lock())
    with cond:
        cond.notify_all()                    # nobody waits: nothing to do, nothing raised


def test_notify_all_with_a_waiter_still_needs_the_lock() -> None:
    cond = QuietCondition(threading.Lock())
    started = threading.Event()

    def waiter() -> None:
        with cond:
            started.set()
            cond.wait(5.0)

    t = threading.Thread(target=waiter)
    t.start()
    started.wait(5.0)
    with cond:
        pass                                 # the waiter is inside wait() once it gave the lock back
    with pytest.raises(RuntimeError):
        cond.notify_all()
    with cond:
        cond.notify_all()
    t.join(5.0)
    assert not t.is_alive()
