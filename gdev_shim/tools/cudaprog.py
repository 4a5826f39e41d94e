"""Build CUDA programs as a user would (`nvcc -cudart shared`), cached by content.

Each nvcc invocation costs seconds, so every uncached source of one flag set is
compiled by a single `nvcc -c` call; each program is then linked by nvcc alone.
Executables are kept under `settings.cache_dir / "cudaprog"`, keyed by
sha256(source, headers beside it, flags, nvcc version).

CLI:  python -m gdev_shim.tools.cudaprog in.cu... -o outdir [--flags "-arch=compute_80"] [--suffix _c80]
      writes outdir/<stem><suffix>
"""
from __future__ import annotations

import argparse
import hashlib
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .. import log
from ..settings import settings
from .nvcc import NvccError, _nvcc, nvcc_version

_log = log.get("gdev.tools.cudaprog")
BASE_FLAGS = ["-cudart", "shared", "-O2"]


def _key(source: Path, flags: list[str]) -> str:
    h = hashlib.sha256(source.read_bytes())
    shared = source.parent.parent / "common"               # c_tests/common: cuda_expect.h
    for header in sorted([*source.parent.glob("*.h"), *shared.glob("cuda_*.h")]):   # what the sources include
        h.update(header.read_bytes())
    h.update("\0".join(flags).encode())
    h.update(nvcc_version().encode())
    return h.hexdigest()


def _run(cmd: list[str], cwd: Path) -> None:
    _log.debug("running %s", " ".join(cmd))
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=str(cwd))
    except OSError as exc:
        raise NvccError(f"cannot run nvcc: {exc}") from exc
    if proc.returncode != 0:
        raise NvccError(f"nvcc failed (exit {proc.returncode}): {' '.join(cmd)}\n{proc.stderr.strip()}")


def build(sources: list[Path], flags: list[str]) -> dict[Path, Path]:
    """The cached executable of each source built with `flags`."""
    flags = BASE_FLAGS + flags
    cache_dir = settings.cache_dir / "cudaprog"
    cache_dir.mkdir(parents=True, exist_ok=True)
    result = {src: cache_dir / _key(src, flags) for src in sources}
    missing = [src for src, exe in result.items() if not exe.is_file()]
    if missing:
        with tempfile.TemporaryDirectory(prefix="gdev-cudaprog-") as tmp:
            tmpdir = Path(tmp)
            _run([_nvcc(), *flags, "-c", "--output-directory", str(tmpdir), *map(str, missing)], missing[0].parent)
            for src in missing:
                partial = result[src].with_suffix(".tmp")
                _run([_nvcc(), *flags, str(tmpdir / f"{src.stem}.o"), "-o", str(partial)], tmpdir)
                partial.replace(result[src])          # atomic for concurrent builds
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m gdev_shim.tools.cudaprog",
                                 description="Build CUDA programs with nvcc -cudart shared (cached).")
    ap.add_argument("sources", nargs="+", type=Path)
    ap.add_argument("-o", "--outdir", type=Path, required=True)
    ap.add_argument("--flags", default="", help="more nvcc flags, e.g. '-arch=compute_80'")
    ap.add_argument("--suffix", default="", help="appended to each program's name")
    args = ap.parse_args(argv)
    sources = [s.resolve() for s in args.sources]
    if len({s.stem for s in sources}) != len(sources):
        sys.stderr.write("two sources share a name\n")
        return 1
    try:
        built = build(sources, shlex.split(args.flags))
    except (NvccError, OSError) as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    args.outdir.mkdir(parents=True, exist_ok=True)
    for src, exe in built.items():
        target = args.outdir / f"{src.stem}{args.suffix}"
        target.unlink(missing_ok=True)
        shutil.copy2(exe, target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
