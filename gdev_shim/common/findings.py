"""Sanitizer findings of this process (GDEV_MEMCHECK): collected, logged, written as JSON.

Every finding is logged as one text line when it happens; at exit (or on
`flush`) the whole list is written to GDEV_MEMCHECK_REPORT as JSON, if set.
Layer-neutral so the card (memory errors) and the driver (leaks) share it.
"""
from __future__ import annotations

import atexit
import json
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .. import log
from ..settings import settings

_log = log.get("gdev.sanitizer")


@dataclass
class Finding:
    tool: str                          # memcheck | initcheck | racecheck | leakcheck
    kind: str                          # e.g. "out-of-bounds read", "uninitialized read", "RAW hazard"
    kernel: str = ""
    block: tuple[int, int, int] | None = None
    thread: tuple[int, int, int] | None = None
    instruction: str = ""              # "line N: <PTX>"
    address: int | None = None
    size: int = 0
    allocation: str = ""               # the allocation the address was in or nearest to
    detail: str = ""
    extra: dict = field(default_factory=dict)

    def text(self) -> str:
        where = []
        if self.kernel:
            where.append(f"kernel {self.kernel}")
        if self.block is not None:
            where.append(f"block {self.block}")
        if self.thread is not None:
            where.append(f"thread {self.thread}")
        parts = [f"========= {self.tool}: {self.kind}" + (f" of size {self.size}" if self.size else "")]
        if where:
            parts.append(" at " + ", ".join(where))
        if self.instruction:
            parts.append(f"\n=========     {self.instruction}")
        if self.address is not None:
            parts.append(f"\n=========     address {self.address:#x}")
            if self.allocation:
                parts.append(f" ({self.allocation})")
        if self.detail:
            parts.append(f"\n=========     {self.detail}")
        pair = self.extra.get("accesses")
        if pair:
            parts.append("\n=========     between " + " and ".join(f"line {n} ({how})" for n, how in pair))
        return "".join(parts)


# ---- racecheck's hazard kinds, by program order -----------------------------------------
# Two accesses of one shared byte by different warps between barriers: the kind names
# them in program order (the access on the lower PTX line first), not in the order an
# engine happened to run them, so every engine calls one bug by one name.  Two writes are
# a WAW hazard; a write on a lower line than the read is RAW, a read on a lower line than
# the write is WAR (on one line, as in a loop's next iteration: the order they ran in).

def line_of(text: str) -> int:
    """The PTX line of an instruction's text ("line N: ..."); 0 when it has none."""
    head, _, rest = text.partition(":")
    return int(head[5:]) if head.startswith("line ") and rest and head[5:].isdigit() else 0


def hazard_kind(write: bool, against_write: bool, earlier_line: int, line: int) -> str:
    """The kind of a hazard found at an access (`write`, on `line`) against an earlier-run
    access of another warp (a write when `against_write`, else a read, on `earlier_line`)."""
    if write and against_write:
        return "WAW hazard"
    if write:                                         # against a read
        return "RAW hazard" if line < earlier_line else "WAR hazard"
    return "WAR hazard" if line < earlier_line else "RAW hazard"


def hazard_lines(write: bool, against_write: bool, earlier_line: int, line: int) -> dict:
    """The two accesses of a hazard in program order, for the finding's `extra`."""
    pair = sorted([(earlier_line, "write" if against_write else "read"),
                   (line, "write" if write else "read")])
    return {"accesses": [list(a) for a in pair]}


class Report:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.findings: list[Finding] = []

    def add(self, finding: Finding) -> None:
        with self.lock:
            self.findings.append(finding)
        _log.warning("%s", finding.text())

    def counts(self) -> dict[str, int]:
        with self.lock:
            out: dict[str, int] = {}
            for f in self.findings:
                out[f.tool] = out.get(f.tool, 0) + 1
            return out

    def flush(self, path: str | None = None) -> Path | None:
        target = path or settings.memcheck_report
        if not target:
            return None
        with self.lock:
            data = {"findings": [asdict(f) for f in self.findings],
                    "summary": {"errors": len(self.findings)}}
        Path(target).write_text(json.dumps(data, indent=1, default=str))
        return Path(target)

    def clear(self) -> None:
        with self.lock:
            self.findings.clear()


REPORT = Report()


def tools() -> frozenset[str]:
    """The sanitizer tools GDEV_MEMCHECK selects (empty: the sanitizer is off)."""
    return frozenset(settings.memcheck)


_exit_hooks: list = []


def at_exit(hook) -> None:
    """Run `hook()` at exit before the report is written (leak checks)."""
    _exit_hooks.append(hook)


def _finish() -> None:
    for hook in _exit_hooks:
        try:
            hook()
        except Exception as e:  # noqa: BLE001 - a failing check must not hide the report
            _log.error("sanitizer exit check failed: %s", e)
    if REPORT.findings or settings.memcheck_report:
        REPORT.flush()


atexit.register(_finish)
