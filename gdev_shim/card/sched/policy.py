"""What a scheduling policy decides, and what a priority is worth.

A policy sees the engine's virtual GPUs as an ordered list of accounts (its own
order: it may move an account to the tail) and, whenever the engine is free and
someone waits, chooses the request that gets it, or holds the engine idle for a
while (BAND's yield chance).  It never sees a clock: time is passed in, so a
policy is tested by replaying events.

Priorities (0..40, Gdev's range) become bandwidth: a virtual GPU's share of the
engine is its priority over the sum of the priorities of the active virtual GPUs
(those waiting, running, or active within the last period).  Gdev configures a
bandwidth per virtual GPU; here virtual GPUs come and go with opens, so the
bandwidth follows the priorities of whoever is competing.  Priority 0 is worth
nothing against anyone else: such a virtual GPU runs when nobody else wants the
engine (or, when every competitor has priority 0, all share equally).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from .account import INACTIVE_THRESHOLD_NS, MAX_DEBT_NS, PERIOD_NS, YIELD_CHANCE_NS, Account

if TYPE_CHECKING:
    from .queue import Ticket


@dataclass(frozen=True)
class Hold:
    """Keep the engine idle until `until_ns`: only requests that arrive meanwhile may take it."""
    until_ns: int


def bandwidth(account: Account, accounts: list[Account], now: int) -> float:
    """The share of the engine `account` is entitled to (0..1) among the active accounts."""
    weights = [a.priority for a in accounts if a is account or a.active(now)]
    if account not in accounts:
        weights.append(account.priority)
    total = sum(weights)
    return account.priority / total if total else 1.0 / len(weights)


def richest_waiting(accounts: list[Account]) -> Account | None:
    """The waiting account with the most credit, the first in line among equals.

    Gdev takes the first waiting virtual GPU in line, and only one out of credit goes to
    the back (BAND: out of credit and over its bandwidth).  Several closed-loop clients
    under their bandwidth then never change places, and the first in line is served
    first every time: simulated, four equal clients of 10 ms kernels get shares 25%
    apart.  Credit is what the line approximates; ordering by it keeps them within 2%.
    """
    best: Account | None = None
    for account in accounts:
        if account.waiting and (best is None or account.credit_ns > best.credit_ns):
            best = account
    return best


def to_tail(accounts: list[Account], account: Account) -> None:
    accounts.remove(account)
    accounts.append(account)


class Policy(ABC):
    name: ClassVar[str]
    budgeted: ClassVar[bool] = False      # whether a virtual GPU has credit (and a bandwidth)

    def __init__(self, period_ns: int = PERIOD_NS, yield_ns: int = YIELD_CHANCE_NS) -> None:
        self.period_ns = period_ns
        self.yield_ns = yield_ns

    def replenish(self, account: Account, share: float) -> None:
        """Once per period: a budgeted policy's virtual GPU earns its bandwidth's worth of
        engine time (gdev_vsched_*_replenish; the threshold is applied by settle)."""
        if self.budgeted:
            account.credit_ns += int(self.period_ns * share)

    def settle(self, accounts: list[Account], at: int) -> None:
        """After each period's replenishment: Gdev's threshold on credit, refined.

        Gdev zeroes a credit past the threshold (an idle hoard) and a debt past it (one long
        kernel), so neither counts for ever.  A virtual GPU that kept competing did not
        hoard, though: its credit climbed because the engine idled (BAND's yield chances,
        the clients' turnarounds), time nobody used.  Zeroing it took the most under-served
        virtual GPU's claim away and put it last; instead the excess is taken from every
        active virtual GPU alike, which keeps the differences that decide who runs next.
        A debt is capped at MAX_DEBT_NS rather than forgiven past the threshold: still
        bounded, but a client whose kernels outlast what a period earns (or stretch on a
        loaded host) pays for them."""
        if not self.budgeted:
            return
        active = [a for a in accounts if a.active(at)]
        excess = max((a.credit_ns for a in active), default=0) - INACTIVE_THRESHOLD_NS
        if excess > 0:
            for account in active:
                account.credit_ns -= excess
        for account in accounts:
            if account.credit_ns > INACTIVE_THRESHOLD_NS:        # only an idle one's, now
                account.credit_ns = 0
            elif account.credit_ns < -MAX_DEBT_NS:
                account.credit_ns = -MAX_DEBT_NS

    def charged(self, account: Account, accounts: list[Account], exec_ns: int, now: int) -> None:
        """`account`'s request just finished after `exec_ns` on the engine (its charge is
        applied here; the policy may reorder `accounts`)."""
        account.credit_ns -= exec_ns

    @abstractmethod
    def choose(self, accounts: list[Account], previous: Account | None, now: int,
               may_hold: bool) -> Ticket | Hold | None:
        """The request that gets the free engine, a Hold, or None when nobody waits.
        `previous` last had the engine; `may_hold` is set once after each completion."""
