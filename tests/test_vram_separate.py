"""A VRAM buffer's first map gives it pages of its own (BufferManager.map_source, Vram.copy_out
and move_to) outside the card's buffer lock, so other clients allocate while a large buffer
is copied; freeing the buffer meanwhile waits for its pages, then gives its range back to
the VRAM's pages; two first maps of one buffer share one copy."""
from __future__ import annotations

import mmap
import threading

import numpy as np
import pytest

from gdev_shim.card import Card, CardError, CardFile
from gdev_shim.card.vram import HUGE_PAGE, Vram
from gdev_shim.common.contract import C
from helpers import MiB, gem, ioctl

SIZE = 8 * MiB


def backing_of(address: int) -> str:
    """What backs the mapping holding `address` (/proc/self/maps; "" for anonymous memory)."""
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split(maxsplit=5)
            low, high = (int(x, 16) for x in fields[0].split("-"))
            if low <= address < high:
                return fields[5].strip() if len(fields) > 5 else ""
    raise AssertionError(f"{address:#x} is not mapped")


@pytest.fixture
def card() -> Card:
    return Card(1, vram_size=64 * MiB)


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch):
    """Holds every Vram.copy_out, after its copy, until `release` is set."""
    entered, release = threading.Event(), threading.Event()
    copies: list[int] = []
    real = Vram.copy_out

    def held(vram: Vram, offset: int, length: int):
        pages = real(vram, offset, length)
        copies.append(offset)
        entered.set()
        assert release.wait(30)
        return pages
    monkeypatch.setattr(Vram, "copy_out", held)
    yield entered, release, copies
    release.set()


def start_map(f: CardFile, arg) -> tuple[threading.Thread, dict]:
    out: dict = {}

    def run() -> None:
        try:
            out["source"] = f.map_source(arg.map_offset, arg.size)
        except CardError as exc:
            out["error"] = exc
    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def words(card: Card, addr: int, value: int | None = None) -> np.ndarray:
    where = addr + 4 * np.arange(SIZE // 4, step=1024, dtype=np.uint64)
    if value is not None:
        card.memory.store(where, np.full(where.shape, value, np.uint32))
    return card.memory.load(where, np.uint32)


def test_other_clients_allocate_while_a_buffer_is_copied(card: Card, gate) -> None:
    entered, release, _ = gate
    a, b = CardFile(card, client="a"), CardFile(card, client="b")
    big = gem(a, SIZE)
    words(card, big.addr, 0xA11)
    thread, out = start_map(a, big)
    assert entered.wait(30)
    done = threading.Event()

    def allocate() -> None:
        small = gem(b, 4096)
        assert ioctl(b, C.AIDEV_NR_GEM_FREE, "aidev_gem_free", handle=small.handle)[0] == 0
        done.set()
    threading.Thread(target=allocate).start()
    assert done.wait(10), "an allocation waited for another client's first map"
    release.set()
    thread.join(30)
    fd, offset = out["source"]
    view = np.frombuffer(mmap.mmap(fd, SIZE, offset=offset), np.uint32)
    assert (view[::1024] == 0xA11).all()
    words(card, big.addr, 0xB22)                   # the card and the mapping share the pages
    assert (view[::1024] == 0xB22).all()
    a.close()
    b.close()


def test_a_buffer_freed_during_its_copy_is_freed_after_it(card: Card, gate) -> None:
    """Freeing waits for the first map in progress, then gives the range the VRAM's pages
    back: the next owner of the range writes the card's pages, not the separated ones
    (test_card_isolation: a mapping kept after the free never sees the next owner's)."""
    entered, release, _ = gate
    a, b = CardFile(card, client="a"), CardFile(card, client="b")
    big = gem(a, SIZE)
    words(card, big.addr, 0xA11)
    thread, out = start_map(a, big)
    assert entered.wait(30)
    freed = threading.Event()

    def free() -> None:
        assert ioctl(a, C.AIDEV_NR_GEM_FREE, "aidev_gem_free", handle=big.handle)[0] == 0
        freed.set()
    threading.Thread(target=free).start()
    assert not freed.wait(0.3)                     # the range is still being given pages
    release.set()
    thread.join(30)
    assert freed.wait(30)
    assert "source" in out                         # the map was served, then the buffer freed
    other = gem(b, SIZE)
    assert other.addr == big.addr                  # the range is another client's now
    words(card, other.addr, 0xC33)
    assert (words(card, other.addr) == 0xC33).all()
    assert backing_of(card.buffers.vram.window(other.addr - card.vram_base, 4).ctypes.data) == ""
    a.close()
    b.close()


def test_two_first_maps_of_a_buffer_share_one_copy(card: Card, gate) -> None:
    entered, release, copies = gate
    a = CardFile(card, client="a")
    big = gem(a, SIZE)
    first, out1 = start_map(a, big)
    assert entered.wait(30)
    second, out2 = start_map(a, big)
    release.set()
    first.join(30)
    second.join(30)
    assert out1["source"] == out2["source"] and len(copies) == 1
    a.close()


def vm_flags(address: int) -> list[str]:
    """The VmFlags of the mapping holding `address` (/proc/self/smaps)."""
    inside = False
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            head = line.split(maxsplit=1)[0]
            if "-" in head and not head.endswith(":"):
                low, high = (int(x, 16) for x in head.split("-"))
                inside = low <= address < high
            elif inside and head == "VmFlags:":
                return line.split()[1:]
    raise AssertionError(f"{address:#x} is not mapped")


def test_vram_is_huge_page_memory_zeroed_by_discard_and_rejoin() -> None:
    vram = Vram(16 * MiB)
    chunk = vram.array_of(0)
    assert chunk.ctypes.data % HUGE_PAGE == 0       # huge pages need an aligned start
    assert "hg" in vm_flags(chunk.ctypes.data)      # madvised for transparent huge pages
    chunk[:] = 7
    vram.discard(2 * MiB, 4 * MiB)
    assert not chunk[2 * MiB:6 * MiB].any()         # discarded pages read as zero
    assert (chunk[:2 * MiB] == 7).all() and (chunk[6 * MiB:] == 7).all()
    pages = vram.separate(8 * MiB, 2 * MiB)
    assert pages.map[:4] == b"\x07" * 4             # the separate pages got the bytes
    chunk[8 * MiB] = 9
    assert pages.map[0] == 9                        # and are the ones mapped at the range
    vram.rejoin(8 * MiB, 2 * MiB, pages)
    assert not chunk[8 * MiB:10 * MiB].any()        # fresh memory back under the range
    assert "hg" in vm_flags(chunk.ctypes.data + 8 * MiB)
    assert (chunk[10 * MiB:] == 7).all()
