"""FIFO: the engine serves requests in the order they arrived; priorities play no part.

Gdev's FIFO sends the virtual GPU that just ran to the back of the line and picks the
first one that waits; with one outstanding request per virtual GPU that is arrival
order, which this policy keeps also when a virtual GPU has several (one per channel).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .account import Account
from .policy import Hold, Policy

if TYPE_CHECKING:
    from .queue import Ticket


class Fifo(Policy):
    name = "fifo"

    def choose(self, accounts: list[Account], previous: Account | None, now: int,
               may_hold: bool) -> Ticket | Hold | None:
        oldest: Ticket | None = None
        for account in accounts:
            if account.waiting:
                head = account.waiting[0]
                if oldest is None or head.seq < oldest.seq:
                    oldest = head
        return oldest
