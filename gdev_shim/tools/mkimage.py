"""Build a code object ("cubin") for the aicard from CUDA source or PTX text.

    python -m gdev_shim.tools.mkimage in.cu|in.ptx -o out.cubin

.cu files are compiled to PTX with nvcc first.  On failure one line goes to
stderr and the exit status is 1.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from ..common.image import ImageError, build_image


class MkimageError(Exception):
    """The input cannot be turned into a code object; the message says why."""


def _ptx_of(source: Path) -> str:
    if source.suffix == ".cu":
        from .nvcc import NvccError, compile_ptx
        try:
            return compile_ptx([source])[source]
        except NvccError as exc:
            if shutil.which("nvcc") is None:
                raise MkimageError(f"{source}: compiling CUDA source needs nvcc, which is not on PATH; "
                                   "install the CUDA toolkit (or add its bin/ to PATH), or pass PTX "
                                   "produced elsewhere with nvcc -ptx") from exc
            raise MkimageError(f"nvcc failed: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc}") \
                from exc
    try:
        return source.read_bytes().decode("utf-8")
    except OSError as exc:
        raise MkimageError(f"cannot read {source}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise MkimageError(f"{source} is not UTF-8 PTX text") from exc


def make_image(source: Path, output: Path) -> int:
    """Write the code object of `source` to `output`; returns its size in bytes."""
    if not source.is_file():
        raise MkimageError(f"{source}: no such file")
    try:
        blob = build_image(_ptx_of(source))
    except ImageError as exc:
        raise MkimageError(f"{source}: {str(exc).splitlines()[0]}") from exc
    except ImportError as exc:
        raise MkimageError(f"the PTX engine is unavailable: {exc}") from exc
    try:
        output.write_bytes(blob)
    except OSError as exc:
        raise MkimageError(f"cannot write {output}: {exc.strerror}") from exc
    return len(blob)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gdev-mkimage", description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="CUDA (.cu) or PTX (.ptx) input")
    parser.add_argument("-o", "--output", type=Path, required=True, help="code object to write")
    args = parser.parse_args(argv)
    try:
        make_image(args.source, args.output)
    except MkimageError as exc:
        sys.stderr.write(f"gdev-mkimage: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
