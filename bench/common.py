"""Figures, targets and the results file shared by every benchmark family.

A figure is one measured value next to a reference measured in the same run:

    name: <value> <unit>   reference: <value> <unit> (<what the reference is>)   ratio: <x>

ratio is always value / reference (a slowdown for times, a fraction for rates).
A target bounds either the ratio or the value itself.  A figure whose run did not
finish (timed out, over its memory cap) is still a figure: `failed` says why, and
it counts as a failure of the run and as a target not met.
"""
from __future__ import annotations

import json
import math
import platform
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Literal

ROOT = Path(__file__).resolve().parents[1]
RESULTS_FILE = ROOT / "bench" / "results.json"


class BenchError(Exception):
    """A benchmark could not be measured (build failure, failing program, bad output)."""


@dataclass(frozen=True)
class Target:
    """`subject` (the ratio or the value) must satisfy `op` against `bound`."""
    subject: Literal["ratio", "value"]
    op: Literal["<=", ">="]
    bound: float

    def met(self, fig: "Figure") -> bool:
        x = fig.ratio if self.subject == "ratio" else fig.value
        if fig.failed or math.isnan(x):
            return False
        return x <= self.bound if self.op == "<=" else x >= self.bound

    def describe(self, unit: str) -> str:
        return f"{self.subject} {self.op} {self.bound:g}" + (f" {unit}" if self.subject == "value" else "x")


@dataclass
class Figure:
    family: str
    name: str
    value: float
    unit: str
    reference: str            # what the reference measures
    reference_value: float
    reference_unit: str
    ratio: float
    target: Target | None = None
    notes: str = ""
    failed: str = ""            # why the value could not be measured

    def line(self) -> str:
        shown = f"FAILED ({self.failed})" if self.failed else f"{fmt(self.value)} {self.unit}"
        return (f"{self.name}: {shown}   reference: {fmt(self.reference_value)} "
                f"{self.reference_unit} ({self.reference})   ratio: {fmt(self.ratio)}")


def fmt(x: float) -> str:
    if math.isnan(x) or math.isinf(x):
        return str(x)
    if x != 0 and (abs(x) >= 1e6 or abs(x) < 1e-3):
        return f"{x:.3e}"
    return f"{x:.4g}"


@dataclass
class Results:
    """Collects figures as the families produce them; prints each at once."""
    quick: bool
    figures: list[Figure] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.time)

    def add(self, family: str, name: str, value: float, unit: str, reference: str, ref_value: float,
            ref_unit: str | None = None, target: Target | None = None, notes: str = "",
            failed: str = "") -> Figure:
        ratio = value / ref_value if ref_value else float("nan")
        fig = Figure(family, name, value, unit, reference, ref_value, ref_unit or unit, ratio, target, notes,
                     failed)
        self.figures.append(fig)
        print(fig.line(), flush=True)
        if failed:
            self.failures.append(f"{family}: {name}: {failed}")
        return fig

    def fail(self, family: str, why: str) -> None:
        self.failures.append(f"{family}: {why}")
        print(f"[{family}] FAILED: {why}", flush=True)

    def targets_table(self) -> str:
        rows = [f for f in self.figures if f.target is not None]
        width = max((len(f.name) for f in rows), default=10)
        out = [f"{'target':{width}s}  {'goal':>24s}  {'measured':>18s}  {'ratio':>8s}  status"]
        for f in rows:
            t = f.target
            assert t is not None
            measured = "FAILED" if f.failed else f"{fmt(f.value)} {f.unit}"
            out.append(f"{f.name:{width}s}  {t.describe(f.unit):>24s}  {measured:>18s}  "
                       f"{fmt(f.ratio):>8s}  {'met' if t.met(f) else 'NOT MET'}")
        return "\n".join(out)

    def write(self, path: Path = RESULTS_FILE) -> None:
        doc = {
            "meta": {"quick": self.quick, "started": time.strftime("%Y-%m-%dT%H:%M:%S",
                                                                   time.localtime(self.started)),
                     "seconds": round(time.time() - self.started, 1), "machine": platform.node(),
                     "python": platform.python_version(), "failures": self.failures},
            "figures": {f.name: {**{k: v for k, v in asdict(f).items() if k not in ("name", "target")},
                                 "target": None if f.target is None else
                                 {**asdict(f.target), "met": f.target.met(f)}}
                        for f in self.figures},
        }
        path.write_text(json.dumps(doc, indent=2, allow_nan=True) + "\n")


def median_time(fn: Callable[[], object], repeats: int) -> float:
    """Median wall seconds of `repeats` calls of fn (after one untimed warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)
