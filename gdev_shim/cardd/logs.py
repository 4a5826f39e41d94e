"""The daemon's log: lines about a client's work go to that client's stderr, the rest to the daemon's."""
from __future__ import annotations

import logging

from .. import log
from ..card import console


class RoutingHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("[%(levelname)s] %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = (self.format(record) + "\n").encode(errors="replace")
        except Exception:                   # a bad format string must not take the card down
            return
        client = console.current()
        if client is console.LOCAL:
            console.write_all(2, line)
        elif record.levelno >= client.level:
            console.write_all(client.err_fd, line)


def install() -> None:
    """Replace the package's stderr handler with the routing one."""
    for handler in list(log.root.handlers):
        log.root.removeHandler(handler)
    log.root.addHandler(RoutingHandler())
