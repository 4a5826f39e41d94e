"""gdev-cardd: run the simulated aicards as a daemon shared by every process of this user.

Clients start it on demand (with --detach and --ready-fd); run in the foreground
with options to choose the cards, their memory, the kernel engine, the scheduler
and the idle period.  Processes whose card settings match these options use this daemon.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import NoReturn

DEFAULT_IDLE_S = 10.0


def _options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="gdev-cardd", description=__doc__.splitlines()[0])
    parser.add_argument("--cards", help="number of cards (GDEV_SIM_CARDS)")
    parser.add_argument("--vram", help="memory of each card, e.g. 4G (GDEV_SIM_VRAM)")
    parser.add_argument("--spe-arrays", help="SPE arrays per card (GDEV_SIM_SPE_ARRAYS)")
    parser.add_argument("--engine", help="kernel engine: auto, jit or interp (GDEV_ENGINE)")
    parser.add_argument("--sched", help="virtual-GPU scheduler of the cards' engines: fifo, credit or band "
                                        "(GDEV_SCHED, default band)")
    parser.add_argument("--idle", type=float, default=None,
                        help=f"leave after this many seconds without a client (GDEV_CARDD_IDLE_S, "
                             f"default {DEFAULT_IDLE_S:g}; 0: never)")
    parser.add_argument("--socket", help="socket path (default: the one clients of these settings use)")
    parser.add_argument("--ready-fd", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--detach", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _apply(options: argparse.Namespace) -> None:
    """Options become the settings' variables, read when the settings are first used."""
    for value, variable in ((options.cards, "GDEV_SIM_CARDS"), (options.vram, "GDEV_SIM_VRAM"),
                            (options.spe_arrays, "GDEV_SIM_SPE_ARRAYS"), (options.engine, "GDEV_ENGINE"),
                            (options.sched, "GDEV_SCHED"),
                            (options.idle, "GDEV_CARDD_IDLE_S")):
        if value is not None:
            os.environ[variable] = str(value)


def _detach() -> None:
    """Leave the starter's process tree: it waits for this first process only."""
    if os.fork():
        os._exit(0)
    os.setsid()


def _more_descriptors() -> None:
    """Every host buffer and channel page of every client is a memfd held here: raise the
    soft descriptor limit to the hard one."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass


def _leave(signum: int, frame: object) -> NoReturn:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    options = _options(argv)
    if options.detach:
        _detach()
    _apply(options)
    from pathlib import Path

    from .. import log
    from ..settings import SettingsError, settings
    from . import logs
    from .server import CardDaemon
    try:
        settings.check()
        from .address import daemon_socket
        path = Path(options.socket) if options.socket else daemon_socket()
        idle = settings.cardd_idle_s
    except (SettingsError, OSError) as exc:
        print(f"gdev-cardd: {exc}", file=sys.stderr)
        return 2
    logs.install()
    _more_descriptors()
    signal.signal(signal.SIGTERM, _leave)
    signal.signal(signal.SIGINT, _leave)
    daemon = CardDaemon(path, idle if idle > 0 else float("inf"))
    try:
        daemon.serve(options.ready_fd)
    except SystemExit:
        daemon.shutdown()
    except OSError as exc:
        log.get("gdev.cardd").error("cannot serve on %s: %s", path, exc)
        return 1
    sys.stdout.flush()
    os._exit(0)              # card and engine threads are daemons; skip LLVM's exit-time teardown


if __name__ == "__main__":
    sys.exit(main())
