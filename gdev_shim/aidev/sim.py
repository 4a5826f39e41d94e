"""SimTransport: the card device files served by simulated cards in this process.

Cards are created on first open, one per minor, and shared by every open in the
process, as device files of one machine are.  The card package (and numpy with
it) is imported then too: counting the cards needs none of it.
"""
from __future__ import annotations

import errno
import itertools
import os
import threading
from typing import TYPE_CHECKING, Any

from ..common.contract import C, ffi
from ..settings import settings
from ..trace import status
from ..trace.recorder import now_ns

if TYPE_CHECKING:
    from ..card import Card, CardError, CardFile

_cards: dict[int, Card] = {}
_cards_lock = threading.Lock()


def card(minor: int) -> Card:
    """The simulated card of `minor`, created on first use."""
    from ..card import Card
    with _cards_lock:
        found = _cards.get(minor)
        if found is None:
            found = _cards[minor] = Card(minor)
        return found


class SimMmio:
    """Register page of a simulated channel; writing REG_PB_PUT rings its doorbell."""

    def __init__(self, channel: Any) -> None:
        self._channel = channel

    def read32(self, reg: int) -> int:
        return int(self._channel.regs[reg])

    def write32(self, reg: int, value: int) -> None:
        self._channel.write_reg(reg, value)


def _os_error(exc: CardError) -> OSError:
    return OSError(exc.errno, os.strerror(exc.errno) + f" ({exc})")


class SimTransport:
    # Descriptor numbers of simulated opens; far above what a process really holds so a
    # mix-up with a real descriptor is unlikely and easy to recognise in logs.
    _FD_BASE = 1 << 20

    def __init__(self) -> None:
        self._files: dict[int, CardFile] = {}
        self._fds = itertools.count(self._FD_BASE)
        self._lock = threading.Lock()
        # the cards' compiler starts now, in the background: the first module load follows
        # soon after the first open (a card starts it too, for cards made otherwise)
        from ..card import warmup
        warmup.start()

    def count(self) -> int:
        return max(0, min(settings.sim_cards, C.AIDEV_MAX_CARDS))

    def open(self, minor: int) -> int:
        if not 0 <= minor < self.count():
            raise OSError(errno.ENODEV, f"no simulated aicard{minor}")
        from ..card import CardFile
        file = CardFile(card(minor))
        with self._lock:
            fd = next(self._fds)
            self._files[fd] = file
        status.watch(self.cards_status)      # gdev-smi cannot see in-process cards otherwise
        return fd

    def cards_status(self) -> list[dict[str, Any]]:
        """What gdev-smi shows of this process's cards: memory, channels, opens, engine time."""
        with _cards_lock:
            cards = sorted(_cards.items())
        with self._lock:
            files = list(self._files.values())
        at = now_ns()
        result = []
        for minor, c in cards:
            info = ffi.new("struct aidev_device_info *")
            c.fill_info(info)
            result.append({"index": minor, "name": ffi.string(info.name).decode(errors="replace"),
                           "vram_total": info.vram_size, "vram_used": info.vram_used,
                           "channels": info.channels_in_use, "max_channels": info.max_channels,
                           "opens": sum(1 for f in files if f.card is c and not f.closed),
                           **c.activity.snapshot(at)})
        return result

    def _file(self, fd: int) -> CardFile:
        file = self._files.get(fd)
        if file is None:
            raise OSError(errno.EBADF, f"bad aicard descriptor {fd}")
        return file

    def close(self, fd: int) -> None:
        with self._lock:
            file = self._files.pop(fd, None)
        if file is None:
            raise OSError(errno.EBADF, f"bad aicard descriptor {fd}")
        file.close()

    def ioctl(self, fd: int, request: int, arg: Any) -> int:
        file = self._files.get(fd)
        if file is None:
            return -errno.EBADF
        return file.ioctl(request, arg)

    def mmap(self, fd: int, offset: int, length: int) -> memoryview:
        from ..card import CardError           # loaded by the open that made fd
        try:
            return self._file(fd).mmap(offset, length)
        except CardError as exc:
            raise _os_error(exc) from exc

    def mmio(self, fd: int, offset: int) -> SimMmio:
        from ..card import CardError
        try:
            return SimMmio(self._file(fd).channel_by_regs(offset))
        except CardError as exc:
            raise _os_error(exc) from exc
