"""Observability: the timeline trace (GDEV_TRACE), the API call log (GDEV_LOG=api),
engine activity of the simulated cards and the status files gdev-smi reads.

The package sits beside `common`: every layer may use it, it imports no layer
(only `settings`, `log` and the card contract), so the C libraries load it cheaply.

    from gdev_shim import trace
    trace.start("run.json")      # or GDEV_TRACE=run.json in the environment
    ...                          # API calls and card commands are recorded
    trace.flush()                # write the file now (it is also written at exit)
"""
from __future__ import annotations

from .recorder import TraceError, enabled, events, flush, start, stop

__all__ = ["TraceError", "enabled", "events", "flush", "start", "stop"]
