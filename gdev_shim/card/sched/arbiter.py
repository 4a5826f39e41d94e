"""The engine queue behind a lock, for the card's command-processor threads.

A command processor asks for its engine (`with arbiter.use(vgpu, abandoned):`) before a
kernel or a copy and gives it back after: the engine is never preempted, as Gdev's
are not.  Waiters sleep on one condition and re-run the dispatch when woken; a hold
(BAND's yield chance) bounds their sleep so the dispatch runs again when it ends.
"""
from __future__ import annotations

import itertools
import threading
import time
from typing import Any, Callable

from .account import PRIO_DEFAULT, VirtualGpu, check_priority
from .policy import Policy
from .queue import EngineQueue, Ticket

ENGINES = ("compute", "copy")
# A waiter also looks at whether its channel stopped this often (channel_free wakes it sooner).
RECHECK_S = 0.1


class EngineAbandoned(Exception):
    """The request's channel stopped while it waited for the engine; it did not run."""


def _never() -> bool:
    return False


class _Held:
    """The engine, granted; given back when the `with` block ends."""
    __slots__ = ("_arbiter", "_ticket")

    def __init__(self, arbiter: EngineArbiter, ticket: Ticket) -> None:
        self._arbiter, self._ticket = arbiter, ticket

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        self._arbiter._release(self._ticket)


class EngineArbiter:
    def __init__(self, policy: Policy, clock: Callable[[], int] = time.monotonic_ns) -> None:
        self.clock = clock
        self.queue = EngineQueue(policy, clock())
        self._lock = threading.RLock()     # the condition's, taken directly per request
        self._cond = threading.Condition(self._lock)
        self._sleepers = 0           # threads waiting on _cond: only they need its notifications

    @property
    def policy(self) -> Policy:
        return self.queue.policy

    def attach(self, vgpu: VirtualGpu) -> None:
        with self._cond:
            self.queue.attach(vgpu, self.clock())

    def detach(self, vgpu: VirtualGpu) -> None:
        with self._cond:
            self.queue.detach(vgpu)
            self._dispatch()

    def use(self, vgpu: VirtualGpu, abandoned: Callable[[], bool] = _never) -> _Held:
        """Hold the engine for `vgpu` (EngineAbandoned if `abandoned()` turns true first) until
        the `with` block ends (a plain class: a generator-based context manager costs a
        kernel launch microseconds)."""
        return _Held(self, self._acquire(vgpu, abandoned))

    def _release(self, ticket: Ticket) -> None:
        with self._lock:
            now = self.clock()
            self.queue.complete(ticket, now)
            self._dispatch(now)

    def _acquire(self, vgpu: VirtualGpu, abandoned: Callable[[], bool]) -> Ticket:
        with self._lock:
            now = self.clock()
            ticket = self.queue.arrive(vgpu, now)
            self._dispatch(now)
            while ticket.granted_ns is None:
                if abandoned():
                    self.queue.withdraw(ticket)
                    self._dispatch()
                    raise EngineAbandoned()
                left = self.queue.hold_left(self.clock())
                self._sleepers += 1
                try:
                    self._cond.wait(RECHECK_S if left is None else min(RECHECK_S, left / 1e9))
                finally:
                    self._sleepers -= 1
                self._dispatch()
            # charged from the grant, not from when this thread resumes: the engine is this
            # virtual GPU's from then on, and credit must account for all of its busy time
            return ticket

    def _dispatch(self, now: int | None = None) -> None:
        # `now`: the time the caller just read under the lock (one clock read per request's step)
        if self.queue.dispatch(self.clock() if now is None else now) is not None and self._sleepers:
            self._cond.notify_all()

    def wake(self) -> None:
        """Let waiters look at their channels again (one was stopped)."""
        with self._cond:
            self._cond.notify_all()

    def describe(self, vgpu: VirtualGpu) -> dict[str, Any]:
        with self._cond:
            return self.queue.describe(vgpu, self.clock())


class CardScheduler:
    """A card's two engines' schedulers (compute and copy run under separate ones, with
    separate credit) and the virtual GPUs attached to them."""

    def __init__(self, policy: str, make: Callable[[str], Policy],
                 clock: Callable[[], int] = time.monotonic_ns) -> None:
        self.policy = policy
        self.compute = EngineArbiter(make(policy), clock)
        self.copy = EngineArbiter(make(policy), clock)
        self._ids = itertools.count(1)
        # channels made by the card itself rather than an open run as this virtual GPU
        self.internal = self.attach(PRIO_DEFAULT, "card")

    def attach(self, priority: int = PRIO_DEFAULT, label: str = "") -> VirtualGpu:
        vgpu = VirtualGpu(next(self._ids), check_priority(priority), label)
        self.compute.attach(vgpu)
        self.copy.attach(vgpu)
        return vgpu

    def detach(self, vgpu: VirtualGpu) -> None:
        self.compute.detach(vgpu)
        self.copy.detach(vgpu)

    def wake(self) -> None:
        self.compute.wake()
        self.copy.wake()

    def describe(self, vgpu: VirtualGpu) -> dict[str, Any]:
        """A virtual GPU's priority and, per engine, its engine time and budget."""
        return {"priority": vgpu.priority, "compute": self.compute.describe(vgpu),
                "copy": self.copy.describe(vgpu)}

    def settings(self) -> dict[str, Any]:
        policy = self.compute.policy
        return {"policy": self.policy, "period_us": policy.period_ns // 1000,
                "yield_us": policy.yield_ns // 1000 if policy.name == "band" else None}
