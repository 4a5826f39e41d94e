"""CREDIT: each virtual GPU earns its bandwidth's worth of engine time every period and
pays for what it uses; one out of credit goes to the back of the line.

The engine goes to the waiting virtual GPU with the most credit (Gdev: the first in
line; see policy.richest_waiting), so the policy is work-conserving: a virtual GPU
in debt still runs when nobody richer waits (gdev_vsched_credit.c).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .account import Account
from .policy import Hold, Policy, richest_waiting, to_tail

if TYPE_CHECKING:
    from .queue import Ticket


class Credit(Policy):
    name = "credit"
    budgeted = True

    def charged(self, account: Account, accounts: list[Account], exec_ns: int, now: int) -> None:
        super().charged(account, accounts, exec_ns, now)
        if account.credit_ns <= 0:
            to_tail(accounts, account)

    def choose(self, accounts: list[Account], previous: Account | None, now: int,
               may_hold: bool) -> Ticket | Hold | None:
        nxt = richest_waiting(accounts)
        return nxt.waiting[0] if nxt else None
