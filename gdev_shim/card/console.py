"""Where the card's words for a client go: device printf output and the card's log lines.

In the process that uses the card both go to that process's own stdout and log.  A
card daemon serves many processes: each client hands over its stdout and stderr when
it opens the card, and every command processor thread (one per channel, so one
client) carries that client's console, so a kernel's printf and the warning of its
fault reach the terminal of the program that launched it.
"""
from __future__ import annotations

import logging
import os
import select
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Console:
    out_fd: int = 1                 # device printf
    err_fd: int = 2                 # the card's log lines (daemon only; in-process they use logging)
    level: int = logging.WARNING    # the client's log level


LOCAL = Console()
_current = threading.local()


def attach(console: Console) -> None:
    """Make `console` the current thread's (a command processor's, at its start)."""
    _current.console = console


def current() -> Console:
    return getattr(_current, "console", LOCAL)


WRITE_WAIT_S = 1.0              # how long the card waits for a client's output to drain
_CHUNK = select.PIPE_BUF         # a writable pipe takes this much without blocking


def write_all(fd: int, data: bytes) -> None:
    """Write everything; a client that went away loses its output, the card goes on.

    A daemon's console is a descriptor the client handed over (a pipe nobody reads, say):
    the card writes only when it is writable and drops what does not drain within
    WRITE_WAIT_S, so a client's output never stalls the card.
    """
    poller = select.poll()
    try:
        poller.register(fd, select.POLLOUT)
        while data:
            if not poller.poll(WRITE_WAIT_S * 1000):
                return
            data = data[os.write(fd, data[:_CHUNK]):]
    except (OSError, ValueError):
        pass
