"""Compile CUDA sources to PTX with nvcc, cached by content.

nvcc costs seconds per invocation, so every uncached source of one request is
compiled by a single `nvcc -ptx` call and the results are kept under
`settings.cache_dir / "ptx"`, keyed by sha256(source + flags + nvcc version).

CLI:  python -m gdev_shim.tools.nvcc in.cu... -o outdir   (writes <stem>.ptx)
"""
from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path

from .. import log
from ..settings import settings

_log = log.get("gdev.tools.nvcc")


class NvccError(Exception):
    """nvcc is missing or rejected a source; the message carries nvcc's stderr."""


@cache
def _nvcc() -> str:
    path = shutil.which("nvcc")
    if path is None:
        raise NvccError("nvcc not found on PATH")
    return path


@cache
def nvcc_version() -> str:
    try:
        out = subprocess.run([_nvcc(), "--version"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise NvccError(f"cannot run nvcc --version: {exc}") from exc
    return out.stdout.strip()


def _flags(arch: str, opt: str) -> list[str]:
    return ["-ptx", opt, f"-arch={arch}"]


def _key(source: bytes, flags: list[str]) -> str:
    h = hashlib.sha256(source)
    h.update("\0".join(flags).encode())
    h.update(nvcc_version().encode())
    return h.hexdigest()


def compile_ptx(sources: list[Path], arch: str = "sm_80", opt: str = "-O3") -> dict[Path, str]:
    """PTX text for each source; uncached ones are built in one nvcc invocation."""
    flags = _flags(arch, opt)
    cache_dir = settings.cache_dir / "ptx"
    result: dict[Path, str] = {}
    missing: dict[Path, Path] = {}          # source -> cache file to fill
    for src in sources:
        src = Path(src)
        try:
            data = src.read_bytes()
        except OSError as exc:
            raise NvccError(f"cannot read {src}: {exc}") from exc
        entry = cache_dir / f"{_key(data, flags)}.ptx"
        if entry.is_file():
            result[src] = entry.read_text()
        else:
            missing[src] = entry
    if missing:
        _compile(list(missing), flags, missing, result)
    return {Path(s): result[Path(s)] for s in sources}


def _compile(srcs: list[Path], flags: list[str], entries: dict[Path, Path],
             result: dict[Path, str]) -> None:
    # Output names come from the source stems, so two sources sharing a stem
    # each get a directory of their own through a symlinked alias.
    with tempfile.TemporaryDirectory(prefix="gdev-nvcc-") as tmp:
        tmpdir = Path(tmp)
        inputs: list[Path] = []
        for i, src in enumerate(srcs):
            alias = tmpdir / f"s{i}_{src.stem}{src.suffix or '.cu'}"
            alias.symlink_to(src.resolve())
            inputs.append(alias)
        outdir = tmpdir / "out"
        outdir.mkdir()
        cmd = [_nvcc(), *flags, "--output-directory", str(outdir), *map(str, inputs)]
        _log.debug("running %s", " ".join(cmd))
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True,
                                  cwd=str(srcs[0].resolve().parent))
        except OSError as exc:
            raise NvccError(f"cannot run nvcc: {exc}") from exc
        if proc.returncode != 0:
            raise NvccError(f"nvcc failed (exit {proc.returncode}):\n{proc.stderr.strip()}")
        for src, alias in zip(srcs, inputs):
            out = outdir / f"{alias.stem}.ptx"
            if not out.is_file():
                raise NvccError(f"nvcc produced no PTX for {src}:\n{proc.stderr.strip()}")
            text = out.read_text()
            result[src] = text
            entry = entries[src]
            try:
                entry.parent.mkdir(parents=True, exist_ok=True)
                tmp_entry = entry.with_suffix(f".tmp{id(text)}")
                tmp_entry.write_text(text)
                tmp_entry.replace(entry)          # atomic for concurrent test runs
            except OSError as exc:
                _log.warning("cannot cache PTX in %s: %s", entry.parent, exc)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m gdev_shim.tools.nvcc",
                                 description="Compile CUDA sources to PTX (cached).")
    ap.add_argument("sources", nargs="+", type=Path)
    ap.add_argument("-o", "--outdir", type=Path, required=True)
    ap.add_argument("--arch", default="sm_80")
    ap.add_argument("--opt", default="-O3")
    args = ap.parse_args(argv)
    try:
        ptx = compile_ptx(args.sources, args.arch, args.opt)
    except NvccError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    args.outdir.mkdir(parents=True, exist_ok=True)
    for src, text in ptx.items():
        (args.outdir / f"{src.stem}.ptx").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
