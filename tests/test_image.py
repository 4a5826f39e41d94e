"""The code-object container: round trip, PTX text input, size from the header, fuzzing."""
from __future__ import annotations

import random
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from gdev_shim.common.contract import C, ffi
from gdev_shim.common.image import ImageError, build_image, image_size, parse_image
from helpers import ADD_PTX, ROOT


def test_round_trip_metadata() -> None:
    blob = build_image(ADD_PTX)
    img = parse_image(blob)
    assert img.ptx == ADD_PTX
    assert [k.name for k in img.kernels] == ["add_test", "scale"]
    add = img.kernels[img.kernel_index("add_test")]
    assert add.param_size == 28
    assert [(p.offset, p.size, p.align) for p in add.params] == [(0, 8, 8), (8, 8, 8), (16, 8, 8), (24, 4, 4)]
    scale = img.kernels[img.kernel_index("scale")]
    assert scale.param_size == 12 and [(p.offset, p.size) for p in scale.params] == [(0, 8), (8, 4)]
    names = {g.name: g for g in img.globals}
    assert names["counter"].space == "global" and names["counter"].size == 4
    assert names["table"].space == "const" and names["table"].size == 16
    counter, table = names["counter"], names["table"]
    assert img.data[counter.offset:counter.offset + 4] == struct.pack("<I", 7)
    assert img.data[table.offset:table.offset + 16] == bytes(range(1, 17))
    assert table.offset % 8 == 0
    with pytest.raises(KeyError):
        img.kernel_index("missing")


def test_elf_layout_and_size() -> None:
    blob = build_image(ADD_PTX)
    assert blob[:4] == b"\x7fELF" and blob[4] == 2 and blob[5] == 1
    e_machine, = struct.unpack_from("<H", blob, 18)
    assert e_machine == C.AIDEV_ELF_MACHINE
    shoff, = struct.unpack_from("<Q", blob, 40)
    shentsize, shnum = struct.unpack_from("<HH", blob, 58)
    assert shoff + shnum * shentsize == len(blob)
    # size from the header alone, also with trailing bytes after the image
    assert image_size(blob[:64]) == len(blob)
    assert image_size(memoryview(blob + b"junk" * 100)) == len(blob)
    # the kernel table holds whole aidev_kernel_desc entries
    assert ffi.sizeof("struct aidev_kernel_desc") == 32


def test_ptx_text_input() -> None:
    text = ADD_PTX.encode() + b"\0trailing garbage after the NUL"
    assert image_size(text) == len(ADD_PTX) + 1
    assert image_size(ADD_PTX.encode()) == len(ADD_PTX)
    img = parse_image(text)
    assert img.ptx == ADD_PTX
    assert img.kernel_index("scale") == 1
    assert img.module is img.module            # parsed once
    assert parse_image(ADD_PTX.encode()).kernels == img.kernels


@pytest.mark.parametrize("data, reason", [
    (b"", "empty"),
    (b"\x7fEL", "PTX"),
    (b"\x7fELF" + b"\0" * 20, "truncated"),
    (b"\xff\xfe\x00garbage", "UTF-8"),
    (b"   \n\0", "empty"),
])
def test_malformed_inputs(data: bytes, reason: str) -> None:
    with pytest.raises(ImageError, match=reason):
        parse_image(data)


def test_bad_ptx_is_image_error() -> None:
    with pytest.raises(ImageError, match="PTX"):
        parse_image(b".version 8.0\n.target sm_80\n.entry broken( {{{\0")


def test_header_checks() -> None:
    blob = bytearray(build_image(ADD_PTX))
    wrong_machine = bytearray(blob)
    struct.pack_into("<H", wrong_machine, 18, 0x3E)
    with pytest.raises(ImageError, match="e_machine"):
        parse_image(bytes(wrong_machine))
    with pytest.raises(ImageError, match="e_machine"):
        image_size(bytes(wrong_machine))
    huge = bytearray(blob)
    struct.pack_into("<Q", huge, 40, 1 << 62)
    with pytest.raises(ImageError, match="run past"):
        parse_image(bytes(huge))
    with pytest.raises(ImageError, match="truncated"):
        image_size(blob[:63])


def test_section_out_of_range() -> None:
    blob = bytearray(build_image(ADD_PTX))
    shoff, = struct.unpack_from("<Q", blob, 40)
    struct.pack_into("<Q", blob, shoff + 64 + 32, (1 << 64) - 1)   # section 1: sh_size
    with pytest.raises(ImageError, match="out of range"):
        parse_image(bytes(blob))


def test_truncations_all_fail_cleanly() -> None:
    blob = build_image(ADD_PTX)
    for cut in range(0, len(blob)):
        with pytest.raises(ImageError):
            parse_image(blob[:cut])


def _parse_or_image_error(data: bytes) -> None:
    try:
        img = parse_image(data)
        _ = img.module
    except ImageError:
        pass


def test_fuzz_bit_flips() -> None:
    rng = random.Random(1234)
    blob = build_image(ADD_PTX)
    meta_start = blob.index(b"\0", 64)  # flips in the metadata and headers matter most
    for _ in range(1500):
        data = bytearray(blob)
        for _ in range(rng.randint(1, 4)):
            pos = rng.choice([rng.randrange(len(data)), rng.randrange(meta_start, len(data))])
            data[pos] ^= 1 << rng.randrange(8)
        _parse_or_image_error(bytes(data))


def test_fuzz_random_bytes() -> None:
    rng = random.Random(99)
    blob = build_image(ADD_PTX)
    for _ in range(500):
        n = rng.randrange(0, 300)
        body = bytes(rng.randrange(256) for _ in range(n))
        _parse_or_image_error(body)
        _parse_or_image_error(b"\x7fELF" + body)
        _parse_or_image_error(blob[:64] + body)        # a valid header over garbage
        try:
            size = image_size(blob[:64] + body)
            assert size == len(blob)
        except ImageError:
            pytest.fail("a valid header must give the size")


def test_fuzz_ptx_text_mutations() -> None:
    """Mangled PTX text (cut, duplicated, swapped characters) parses or raises ImageError."""
    rng = random.Random(5)
    text = ADD_PTX
    for _ in range(300):
        chars = list(text)
        for _ in range(rng.randint(1, 6)):
            i = rng.randrange(len(chars))
            action = rng.randrange(3)
            if action == 0:
                del chars[i]
            elif action == 1:
                chars.insert(i, rng.choice("{}()[];,.%$@!0x9 \n"))
            else:
                j = rng.randrange(len(chars))
                chars[i], chars[j] = chars[j], chars[i]
        _parse_or_image_error("".join(chars).encode() + b"\0")


def test_fuzz_random_field_values() -> None:
    """Overwrite descriptor words with extreme values: still only ImageError."""
    rng = random.Random(7)
    blob = build_image(ADD_PTX)
    for _ in range(800):
        data = bytearray(blob)
        pos = rng.randrange(64, len(data) - 4) & ~3
        struct.pack_into("<I", data, pos, rng.choice([0, 1, 0x7FFFFFFF, 0xFFFFFFFF, rng.getrandbits(32)]))
        _parse_or_image_error(bytes(data))


def test_mkimage_cli(tmp_path: Path) -> None:
    src = tmp_path / "add.ptx"
    src.write_text(ADD_PTX)
    out = tmp_path / "add.cubin"
    run = subprocess.run([sys.executable, "-m", "gdev_shim.tools.mkimage", str(src), "-o", str(out)],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert parse_image(out.read_bytes()).kernel_index("scale") == 1


def test_mkimage_cli_errors(tmp_path: Path) -> None:
    root = ROOT
    missing = subprocess.run([sys.executable, "-m", "gdev_shim.tools.mkimage", str(tmp_path / "nope.ptx"),
                              "-o", str(tmp_path / "x.cubin")], capture_output=True, text=True, cwd=root)
    assert missing.returncode == 1
    assert len(missing.stderr.strip().splitlines()) == 1 and "nope.ptx" in missing.stderr
    bad = tmp_path / "bad.ptx"
    bad.write_bytes(b"\xff\xfe not ptx")
    run = subprocess.run([sys.executable, "-m", "gdev_shim.tools.mkimage", str(bad), "-o",
                          str(tmp_path / "x.cubin")], capture_output=True, text=True, cwd=root)
    assert run.returncode == 1 and len(run.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.cubin").exists()


def test_the_same_bytes_are_parsed_once_per_process() -> None:
    """A driver and a card in one process read the same module: its PTX is parsed once."""
    from gdev_shim.common.image import parsed_image
    blob = build_image(ADD_PTX.replace("add_test", "add_once"))
    first = parsed_image(blob)
    assert first._module is not None                  # the PTX was parsed with it
    assert parsed_image(bytearray(blob)) is first
    assert parsed_image(build_image(ADD_PTX)) is not first
    with pytest.raises(ImageError):
        parsed_image(b"\x7fELF" + bytes(60))
