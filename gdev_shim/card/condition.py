"""A condition variable for the card's per-command notifications."""
from __future__ import annotations

import threading


class QuietCondition(threading.Condition):
    """A condition whose notify_all returns at once when no thread waits on it.

    The card notifies after every command and fence, while threads of its own process
    rarely wait; Condition.notify_all costs about a microsecond even then.  Waiters add
    themselves under the lock the notifier holds, so none is missed.
    """

    def notify_all(self) -> None:
        if self._waiters:                    # type: ignore[attr-defined]
            super().notify_all()
