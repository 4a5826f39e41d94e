"""The CUDA toolkit's module formats as the driver loads them (driver/nvimage.py): fat
binaries give their best PTX, cubins their embedded PTX, and machine code alone is refused
with the code and the flag to rebuild with."""
from __future__ import annotations

import struct

import pytest

from gdev_shim.common import nvfatbin
from gdev_shim.common.image import build_image, parse_image
from gdev_shim.driver import nvimage
from gdev_shim.driver.errors import SD, SdError
from test_nvfatbin import PTX, container, entry


def cubin(arch: int, ptx_lines: list[bytes] | None = None) -> bytes:
    """A minimal NVIDIA cubin: ELF64 for EM_CUDA, CUDA 12's e_flags, PTX as -lineinfo leaves it."""
    names = b"\0.shstrtab\0.nv_debug_ptx_txt\0"
    ptx = b"\0" * 8 + b"\0".join(ptx_lines or []) + b"\0"
    body = names + (ptx if ptx_lines is not None else b"")
    sections = [struct.pack("<IIQQQQIIQQ", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
                struct.pack("<IIQQQQIIQQ", 1, 3, 0, 0, 64, len(names), 0, 0, 1, 0)]
    if ptx_lines is not None:
        sections.append(struct.pack("<IIQQQQIIQQ", 11, 1, 0, 0, 64 + len(names), len(ptx), 0, 0, 1, 0))
    ident = b"\x7fELF\x02\x01\x01\x41\x08" + b"\0" * 7
    shoff = 64 + len(body)
    header = struct.pack("<16sHHIQQQIHHHHHH", ident, 2, nvimage.EM_CUDA, 1, 0, 0, shoff, arch << 8 | 0x5,
                         64, 0, 0, 64, len(sections), 1)
    return header + body + b"".join(sections)


def refused(data: bytes) -> SdError:
    with pytest.raises(SdError) as info:
        nvimage.loadable(data, 80)
    return info.value


def test_a_fat_binary_gives_the_ptx_the_card_covers_across_its_containers():
    sass = container(entry(nvfatbin.KIND_ELF, 75, b"\x7fELF" + b"\0" * 60))
    ptx = container(entry(nvfatbin.KIND_PTX, 75, PTX.replace("sm_80", "sm_75").encode(), compress=True),
                    entry(nvfatbin.KIND_PTX, 80, PTX.encode()))
    loaded = nvimage.loadable(sass + ptx, 80)
    assert loaded == PTX.encode() + b"\0"
    assert parse_image(loaded).kernels[0].name == "k"
    assert b"sm_75" in nvimage.loadable(sass + ptx, 75)


def test_a_fat_binary_of_machine_code_only_is_no_binary_for_the_card():
    e = refused(container(entry(nvfatbin.KIND_ELF, 86, b"\x7fELF" + b"\0" * 60)))
    assert e.code == SD.SDAA_ERROR_NO_BINARY_FOR_GPU
    assert "-gencode arch=compute_86,code=compute_86" in str(e)


def test_a_damaged_fat_binary_is_an_invalid_image():
    data = container(entry(nvfatbin.KIND_PTX, 80, PTX.encode()))
    assert refused(data[:40]).code == SD.SDAA_ERROR_INVALID_IMAGE


def test_a_cubin_gives_its_embedded_ptx_lines():
    lines = [line.encode() for line in PTX.splitlines() if line.strip()]
    loaded = nvimage.loadable(cubin(75, lines), 80)
    assert loaded == b"\n".join(lines) + b"\0"
    assert parse_image(loaded).kernels[0].name == "k"


def test_a_cubin_of_machine_code_only_names_its_architecture_and_the_flags():
    e = refused(cubin(86))
    assert e.code == SD.SDAA_ERROR_NO_BINARY_FOR_GPU
    assert "sm_86" in str(e) and "nvcc -ptx" in str(e) and "arch=compute_86,code=compute_86" in str(e)
    assert refused(cubin(86)[:100]).code == SD.SDAA_ERROR_INVALID_IMAGE     # section headers cut off


def test_ptx_text_and_the_cards_code_object_pass_through():
    assert nvimage.loadable(PTX.encode(), 80) == PTX.encode()
    image = build_image(PTX)
    assert nvimage.loadable(image, 80) == image
