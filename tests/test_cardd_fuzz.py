"""The card daemon's protocol fuzzer (tests/cardd_fuzz.py), bounded for `make check`.

GDEV_CARDD_FUZZ_S sets how long it runs (default 12 s); `make fuzz-cardd` runs it for
minutes.  The daemon must survive, answer HELLO, release every hostile client's objects
and descriptors, and leave the honest client's memory and kernels untouched.
"""
from __future__ import annotations

import os

import cardd_fuzz


def test_the_daemon_survives_hostile_clients():
    seconds = float(os.environ.get("GDEV_CARDD_FUZZ_S", "12"))
    seed = int(os.environ.get("GDEV_CARDD_FUZZ_SEED", "1"))
    problems = cardd_fuzz.run(seconds, seed, workers=3)
    assert problems == [], "\n".join(problems)
