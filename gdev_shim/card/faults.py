"""Fault-injection hook point: every engine asks here before it runs a command.

The card builds one FaultHooks per card; the default injects nothing.  A
settings-driven injector (GDEV_SIM_FAULT) replaces `check` later.
"""
from __future__ import annotations


class FaultHooks:
    def check(self, engine: str, card: int, channel: int, op: int) -> str | None:
        """Reason to fail this command on purpose, or None to run it.

        engine is "dma", "compute" or "cp" (the command processor itself).
        """
        return None
