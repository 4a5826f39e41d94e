"""CUDA fat binaries (common/nvfatbin.py) and the device assert definition (common/assertfail.py)."""
from __future__ import annotations

import struct

import pytest
import zstandard

from gdev_shim.common import assertfail, nvfatbin
from gdev_shim.common.image import parse_image

PTX = """.version 8.0
.target sm_80
.address_size 64

.visible .entry k(.param .u64 p)
{
    ret;
}
"""


def entry(kind: int, arch: int, payload: bytes, compress: bool = False, header: int = 64) -> bytes:
    stored = zstandard.ZstdCompressor().compress(payload) if compress else payload
    padded = -(-len(stored) // 8) * 8
    flags = 0x11 | (nvfatbin.FLAG_COMPRESSED if compress else 0)
    head = nvfatbin.ENTRY.pack(kind, 0x101, header, padded, len(stored) if compress else 0, 0,
                               0, 8, arch, 0, 0, flags, 0, len(payload) if compress else 0)
    return head + b"\0" * (header - len(head)) + stored + b"\0" * (padded - len(stored))


def container(*entries: bytes) -> bytes:
    body = b"".join(entries)
    return nvfatbin.CONTAINER.pack(nvfatbin.CONTAINER_MAGIC, 1, 16, len(body)) + body


def test_picks_the_highest_ptx_the_card_covers_and_unpacks_it():
    data = container(entry(nvfatbin.KIND_ELF, 75, b"\x7fELF" + b"\0" * 60),
                     entry(nvfatbin.KIND_PTX, 75, PTX.replace("sm_80", "sm_75").encode(), compress=True),
                     entry(nvfatbin.KIND_PTX, 80, PTX.encode() + b"\0", header=80),
                     entry(nvfatbin.KIND_PTX, 90, b"not for this card", compress=True))
    assert nvfatbin.container_size(data) == len(data)
    found = nvfatbin.entries(data)
    assert [(e.kind, e.arch, e.compressed) for e in found] == [(2, 75, False), (1, 75, True), (1, 80, False),
                                                               (1, 90, True)]
    best = nvfatbin.best_ptx(found, 80)
    assert best.arch == 80 and best.text() == PTX
    assert nvfatbin.best_ptx(found, 86).arch == 80
    assert "sm_75" in nvfatbin.best_ptx(found, 79).text()
    assert nvfatbin.best_ptx(found, 60).arch == 75        # nothing at or below: the lowest above
    assert parse_image(best.text().encode()).kernels[0].name == "k"


def test_machine_code_only_names_the_rebuild_flag():
    found = nvfatbin.entries(container(entry(nvfatbin.KIND_ELF, 86, b"\x7fELF" + b"\0" * 60)))
    with pytest.raises(nvfatbin.NoPtxError, match=r"sm_86.*-gencode arch=compute_86,code=compute_86"):
        nvfatbin.best_ptx(found, 80)


@pytest.mark.parametrize("damage", ["magic", "truncated", "entry-overrun", "bad-zstd"])
def test_damaged_fat_binaries_are_errors_not_crashes(damage):
    good = container(entry(nvfatbin.KIND_PTX, 80, PTX.encode(), compress=True))
    if damage == "magic":
        data = b"\0\0\0\0" + good[4:]
    elif damage == "truncated":
        data = good[:40]
    elif damage == "entry-overrun":
        data = bytearray(good)
        struct.pack_into("<Q", data, 16 + 8, 1 << 40)
        data = bytes(data)
    else:
        data = bytearray(good)
        data[16 + 64 + 6] ^= 0xFF
        data = bytes(data)
    with pytest.raises(nvfatbin.FatbinError):
        nvfatbin.best_ptx(nvfatbin.entries(data), 80).text()


def test_relocatable_device_code_is_named_as_the_reason():
    found = nvfatbin.entries(container(entry(nvfatbin.KIND_ELF, 75, b"\x7fELF" + b"\0" * 60)))
    linked = nvfatbin.WRAPPER.pack(nvfatbin.WRAPPER_MAGIC, nvfatbin.WRAPPER_LINKED, 0x1000, 0x2000)
    assert nvfatbin.wrapper_linked(linked)
    with pytest.raises(nvfatbin.NoPtxError, match="without -rdc"):
        nvfatbin.best_ptx(found, 80, nvfatbin.wrapper_linked(linked))


def test_wrapper_magic_is_checked():
    ok = nvfatbin.WRAPPER.pack(nvfatbin.WRAPPER_MAGIC, 1, 0x1000, 0)
    assert nvfatbin.wrapper_data(ok) == 0x1000
    with pytest.raises(nvfatbin.FatbinError, match="magic"):
        nvfatbin.wrapper_data(nvfatbin.WRAPPER.pack(0x1234, 1, 0x1000, 0))
    with pytest.raises(nvfatbin.FatbinError, match="without"):
        nvfatbin.wrapper_data(nvfatbin.WRAPPER.pack(nvfatbin.WRAPPER_MAGIC, 1, 0, 0))


ASSERTING_PTX = """.version 8.0
.target sm_80
.address_size 64

.extern .func __assertfail
(
    .param .b64 __assertfail_param_0,
    .param .b64 __assertfail_param_1,
    .param .b32 __assertfail_param_2,
    .param .b64 __assertfail_param_3,
    .param .b64 __assertfail_param_4
)
;

.visible .entry k(.param .u64 p)
{
    ret;
}
"""


def test_assertfail_definition_replaces_the_extern_and_parses():
    text = assertfail.with_assertfail(ASSERTING_PTX, 0x123400)
    assert ".extern .func __assertfail" not in text and str(0x123400) in text
    assert parse_image(text.encode()).kernels[0].name == "k"
    assert assertfail.with_assertfail(PTX, 0x1000) == PTX          # no assert: unchanged


def test_assert_report_reads_as_cudas_message():
    report = bytearray(assertfail.REPORT_BYTES)
    assert assertfail.message(bytes(report)) is None
    assertfail.REPORT.pack_into(report, 0, 1, 42, 3, 0, 0, 7, 1, 0)
    for i, text in enumerate((b"x < n", b"prog.cu", b"void k(int)")):
        start = assertfail.REPORT.size + i * assertfail.TEXT_BYTES
        report[start:start + len(text)] = text
    assert assertfail.message(bytes(report)) == (
        "prog.cu:42: void k(int): block: [3,0,0], thread: [7,1,0] Assertion `x < n` failed.")
