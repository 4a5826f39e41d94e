"""Starting the compiler before the first module load, on a background thread.

A process's first module load would otherwise import the PTX front end and the code
generator (measured here: about 120 ms of a 200 ms load of a small kernel) and build the
quick tier's access functions (60-80 ms of LLVM, which the loading thread waits for)
before compiling anything.  The simulated transport starts the imports when it is made
(a card when it is created, if it was made otherwise), then LLVM and the build of the
common access functions (`jit/engine.py: warm_up`), so the load finds them done.

This module is the card's, not the JIT's: importing anything of `jit/` imports the whole
package.  The imports run on a thread of their own, and the card's paths that import the
same packages (parsing a code object, compiling, launching) first wait for them
(`wait`): Python does not make a thread wait for a package that another thread is still
initialising, and the JIT's package imports its own modules in a cycle, so two threads
importing it at once can see it half-built.  LLVM working on a thread of its own while the
program exits crashed in LLVM's exit handlers: so the access functions are built here only
when the card was created on the main thread, whose exit then waits for that build
(`common/exitguard.py`); otherwise the first compilation asks for them, as it does for
shapes outside the common ones.
"""
from __future__ import annotations

import threading

from .. import log
from ..common import exitguard
from ..settings import settings

_log = log.get("gdev.jit")
_lock = threading.Lock()
_started = False
_imported = threading.Event()
_finished = threading.Event()
# A wait longer than any import: past it the caller imports for itself (if the warm-up
# were stuck behind an import of the caller's thread, waiting longer would not help).
IMPORT_WAIT_S = 30.0


def start() -> None:
    """Warm the compiler up on a daemon thread, once per process (not for the interpreter
    engine)."""
    global _started
    with _lock:
        if _started or settings.engine not in ("jit", "auto"):
            return
        # the exit of the main thread waits for LLVM work in flight (common/exitguard.py):
        # then the warm-up may build code too, while the program goes on
        held = exitguard.guard().hold_at_main_thread_exit()
        try:
            threading.Thread(target=_run, args=(held,), name="gdev-jit-warmup", daemon=True).start()
        except RuntimeError as exc:     # no new threads while the interpreter shuts down
            _log.debug("JIT warm-up not started: %s", exc)
            return
        _started = True


def wait() -> None:
    """Return once the warm-up's imports are done (at once if none was started)."""
    if _started:
        _imported.wait(IMPORT_WAIT_S)


def settle(timeout: float = IMPORT_WAIT_S) -> None:
    """Return once the warm-up has done all it set out to do, the access functions it
    asked for built (what measures the process's memory waits for it)."""
    if not _started:
        return
    _finished.wait(timeout)
    from ..jit import engine
    engine.wait_for_optimised(timeout)


def _run(build: bool) -> None:
    try:
        _warm_up(build)
    finally:
        _finished.set()


def _warm_up(build: bool) -> None:
    try:
        from .. import ptx                  # noqa: F401  (the parser a module load runs)
        from ..jit import codegen, engine   # (the package imports the launcher too)
        del codegen
        import llvmlite.binding             # noqa: F401  (its Python side; LLVM loads on first use)
    except Exception as exc:                # ImportError without llvmlite: the load reports it
        _log.debug("JIT warm-up: %s", exc)
        return
    finally:
        _imported.set()
    try:
        # starting LLVM registers its passes in static tables that the program's exit
        # destroys: under the exit guard, an exit waits for it (and, once exiting, stops it)
        with exitguard.guard():
            engine.warm_up(build)
    except Exception as exc:                # the first compilation starts LLVM and asks again
        _log.debug("JIT warm-up: %s", exc)
