"""Importing the compiler before the first module load, on a background thread.

A process's first module load would otherwise import the PTX front end and the code
generator (measured here: about 120 ms of a 200 ms load of a small kernel) before
compiling anything.  A card starts the imports when it is created, so the load finds
them done.

This module is the card's, not the JIT's: importing anything of `jit/` imports the whole
package.  The imports run on a thread of their own, and the card's paths that import the
same packages (parsing a code object, compiling, launching) first wait for them
(`wait`): Python does not make a thread wait for a package that another thread is still
initialising, and the JIT's package imports its own modules in a cycle, so two threads
importing it at once can see it half-built.  LLVM itself is started by the first
compilation, on the loading thread (`jit/engine.py: _request_library`): LLVM working on a
thread of its own while the program exits would crash in LLVM's exit handlers.
"""
from __future__ import annotations

import threading

from .. import log

_log = log.get("gdev.jit")
_lock = threading.Lock()
_started = False
_imported = threading.Event()
# A wait longer than any import: past it the caller imports for itself (if the warm-up
# were stuck behind an import of the caller's thread, waiting longer would not help).
IMPORT_WAIT_S = 30.0


def start() -> None:
    """Warm the compiler up on a daemon thread, once per process."""
    global _started
    with _lock:
        if _started:
            return
        try:
            threading.Thread(target=_run, name="gdev-jit-warmup", daemon=True).start()
        except RuntimeError as exc:     # no new threads while the interpreter shuts down
            _log.debug("JIT warm-up not started: %s", exc)
            return
        _started = True


def wait() -> None:
    """Return once the warm-up's imports are done (at once if none was started)."""
    if _started:
        _imported.wait(IMPORT_WAIT_S)


def _run() -> None:
    try:
        from .. import ptx                  # noqa: F401  (the parser a module load runs)
        from ..jit import codegen           # noqa: F401  (the package imports the launcher too)
        import llvmlite.binding             # noqa: F401  (its Python side; LLVM loads on first use)
    except Exception as exc:                # ImportError without llvmlite: the load reports it
        _log.debug("JIT warm-up: %s", exc)
    finally:
        _imported.set()
