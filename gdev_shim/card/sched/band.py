"""BAND (Gdev's default): CREDIT made aware of bandwidth for a non-preemptive engine.

A closed-loop client (launch, wait, launch) has no request waiting at the moment its
kernel ends, so a work-conserving scheduler hands the engine to whoever waits and
the shares follow the clients' rhythm, not their bandwidth.  BAND measures each
virtual GPU's used bandwidth (over one-second windows, updated every period) and
gives a virtual GPU over its bandwidth the engine only after a yield chance: the
engine stays idle for a while, and a request arriving meanwhile takes it
(gdev_vsched_band.c).  Gdev waits 500 µs; here the wait is the longest recent
turnaround (a request's end to the same virtual GPU's next request) of the other
active virtual GPUs, from 500 µs up to half a period, because a client of the
card daemon needs milliseconds, not microseconds, to come back:

- when the engine would pass to another virtual GPU that is over its bandwidth;
- when it would stay with the virtual GPU that just ran, if that one is out of
  credit and over its bandwidth and another virtual GPU is active.

A virtual GPU goes to the back of the line when it is both out of credit and over
its bandwidth.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .account import MAX_YIELD_CHANCE_NS, Account
from .policy import Hold, Policy, bandwidth, richest_waiting, to_tail

if TYPE_CHECKING:
    from .queue import Ticket


class Band(Policy):
    name = "band"
    budgeted = True

    @staticmethod
    def over(account: Account, accounts: list[Account], now: int) -> bool:
        return account.bw_used > bandwidth(account, accounts, now)

    def charged(self, account: Account, accounts: list[Account], exec_ns: int, now: int) -> None:
        super().charged(account, accounts, exec_ns, now)
        if account.credit_ns <= 0 and self.over(account, accounts, now):
            to_tail(accounts, account)

    def choose(self, accounts: list[Account], previous: Account | None, now: int,
               may_hold: bool) -> Ticket | Hold | None:
        nxt = richest_waiting(accounts)
        if nxt is None:
            return None
        if may_hold and previous is not None and self._must_yield(nxt, previous, accounts, now):
            return Hold(now + self.chance_ns(nxt, accounts, now))
        return nxt.waiting[0]

    def chance_ns(self, nxt: Account, accounts: list[Account], now: int) -> int:
        """How long the engine waits for the others before `nxt` gets it."""
        others = max((a.turnaround_ns for a in accounts if a is not nxt and a.active(now)), default=0)
        return min(max(self.yield_ns, others * 5 // 4), MAX_YIELD_CHANCE_NS)

    def _must_yield(self, nxt: Account, previous: Account, accounts: list[Account], now: int) -> bool:
        if not self.over(nxt, accounts, now):
            return False
        if nxt is not previous:
            return True
        return nxt.credit_ns <= 0 and any(a is not nxt and a.active(now) for a in accounts)
