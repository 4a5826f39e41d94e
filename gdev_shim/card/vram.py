"""Card memory backing: the VRAM in private memory, host buffers in shared memfds.

The card's VRAM is private anonymous memory of the card's process, in transparent huge
pages (a kernel streaming over large buffers then misses the TLB as rarely as a host loop
over numpy arrays does; shared memory gets no huge pages on a host whose shmem_enabled is
"never").  Every host (GART) buffer and every channel page has a memfd of its own: a
process that hosts the card hands a client the descriptor and an offset (the card daemon
does), and both map the same pages.  No client reaches the VRAM's memory itself: a VRAM
buffer that a client maps first gets pages of its own (`Vram.separate`), a memfd of the
buffer's size mapped over its range of the VRAM mapping, so a client reaches no byte of
VRAM but its own buffers', as a driver maps a client only its own buffer objects.
"""
from __future__ import annotations

import ctypes
import fcntl
import mmap
import os
import queue
import threading

import numpy as np

MAP_NORESERVE = 0x4000          # Linux value; Python's mmap module does not export it
MADV_POPULATE_WRITE = 23        # Linux 5.14+; not exported by Python 3.11's mmap module
PAGE = mmap.PAGESIZE
HUGE_PAGE = 2 << 20             # a transparent huge page: VRAM chunks start at a multiple of it
MAP_FIXED = 0x10
VRAM_FLAGS = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | MAP_NORESERVE
_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
# Frees at least this large hand their pages back to the kernel so resident memory falls;
# smaller ones are zeroed instead, cheaper than the system call (and a later owner of the
# range, perhaps another process, must not read what was there).
RELEASE_THRESHOLD = 64 << 10
# Ranges up to this size are committed by the allocating call; larger ones by a background
# thread, so a large allocation returns at once (a kernel touching a page first commits it).
SYNC_COMMIT_BYTES = 1 << 20
COMMIT_STEP = 8 << 20           # a release waits for at most one step of a background commit


class _Committer:
    """Runs the background commits of every card's memory on one thread, oldest first."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[Vram, int]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, vram: Vram, start: int) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True, name="aicard-commit")
                self._thread.start()
        self._queue.put((vram, start))

    def _run(self) -> None:
        while True:
            vram, start = self._queue.get()
            while vram.commit_step(start):
                pass


_committer = _Committer()


def _populate(pages: mmap.mmap, start: int, length: int) -> None:
    try:
        pages.madvise(MADV_POPULATE_WRITE, start, length)
    except (OSError, ValueError):
        pass                # older kernels: pages are committed on first touch instead


# A client that maps these pages gets the memfd itself: sealed at its size, so that no
# client can shrink it under the card (whose next access would die of SIGBUS).
SIZE_SEALS = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL


class SharedPages:
    """`size` bytes of zeroed shared memory behind a memfd (pages committed on first touch)."""

    def __init__(self, size: int, name: str) -> None:
        self.size = size
        self.fd = os.memfd_create(f"aicard-{name}", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        try:
            os.ftruncate(self.fd, size)
            fcntl.fcntl(self.fd, fcntl.F_ADD_SEALS, SIZE_SEALS)
            self.map = mmap.mmap(self.fd, size, flags=mmap.MAP_SHARED)
        except OSError:
            os.close(self.fd)
            raise

    def close(self) -> None:
        """Drop the descriptor; the pages live on while a mapping (here or elsewhere) holds them."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class Vram:
    """The backing of the card's VRAM address space: `chunks` chunks of `chunk` bytes of
    private anonymous memory, of which only resident buffers hold pages (swap.py keeps
    them within the card's VRAM).  Each chunk is mapped when a buffer first lies in it,
    reserved without commitment (MAP_NORESERVE): a card that never overcommits reserves
    only its VRAM's worth of address space, and a huge page more per chunk to align it (a
    process under an address-space limit, and the daemon it starts, must fit in it).  A
    buffer never straddles two chunks (buffers.py allocates within one).  Offsets are the
    space's own throughout."""

    def __init__(self, chunk: int, chunks: int = 1) -> None:
        self.chunk = -(-max(chunk, 1) // PAGE) * PAGE
        self.size = self.chunk * chunks
        self._lock = threading.Lock()
        # chunk index -> (its mapping, where the chunk starts in it: the huge-page alignment)
        self._maps: dict[int, tuple[mmap.mmap, int]] = {}
        self._arrays: dict[int, np.ndarray] = {}
        self.array_of(0)
        # background commits not yet done: start -> (next byte to commit, end)
        self._pending: dict[int, tuple[int, int]] = {}
        self._pending_lock = threading.Lock()

    def array_of(self, index: int) -> np.ndarray:
        """The bytes of chunk `index` (mapped on first use)."""
        found = self._arrays.get(index)
        if found is None:
            with self._lock:
                found = self._arrays.get(index)
                if found is None:
                    found = self._map_chunk(index)
        return found

    def _map_chunk(self, index: int) -> np.ndarray:
        slack = HUGE_PAGE if self.chunk >= HUGE_PAGE else 0
        m = mmap.mmap(-1, self.chunk + slack, flags=VRAM_FLAGS)
        whole = np.frombuffer(m, dtype=np.uint8)
        lead = -whole.ctypes.data % HUGE_PAGE if slack else 0
        _advise_huge(m, lead, self.chunk)
        self._maps[index] = (m, lead)
        found = self._arrays[index] = whole[lead:lead + self.chunk]
        return found

    def _local(self, offset: int) -> tuple[mmap.mmap, np.ndarray, int, int]:
        """(chunk mapping, chunk array, offset in the chunk, offset in the mapping)."""
        index, local = divmod(offset, self.chunk)
        array = self.array_of(index)
        m, lead = self._maps[index]
        return m, array, local, lead + local

    def window(self, offset: int, length: int) -> np.ndarray:
        """The bytes [offset, offset + length) of the space, which lie in one chunk."""
        _, array, local, _ = self._local(offset)
        return array[local:local + length]

    def base_of(self, offset: int) -> int:
        """Offset in the space of the first byte of the chunk holding `offset`."""
        return offset // self.chunk * self.chunk

    def commit(self, offset: int, length: int) -> None:
        """Back a newly allocated range with memory soon, as a real card's VRAM is, so the
        first kernel writing it does not pay the host's page faults (best effort)."""
        start = offset // PAGE * PAGE
        span = -(-(offset + length - start) // PAGE) * PAGE
        if span <= SYNC_COMMIT_BYTES:
            m, _, _, at = self._local(start)
            _populate(m, at, span)
            return
        with self._pending_lock:
            self._pending[start] = (start, start + span)
        _committer.submit(self, start)

    def commit_step(self, start: int) -> bool:
        """Commit the next part of the pending range at `start`; False once it is done or was
        released.  The step runs under the lock a release takes, so a freed range is never
        committed again behind the release's back."""
        with self._pending_lock:
            entry = self._pending.get(start)
            if entry is None:
                return False
            cursor, end = entry
            step_end = min(end, cursor + COMMIT_STEP)
            m, _, _, at = self._local(cursor)
            _populate(m, at, step_end - cursor)
            if step_end >= end:
                del self._pending[start]
                return False
            self._pending[start] = (step_end, end)
            return True

    def _cancel(self, offset: int, length: int) -> None:
        """Drop background commits overlapping a range whose pages are being given back."""
        with self._pending_lock:
            for start, (_, end) in list(self._pending.items()):
                if start < offset + length and offset < end:
                    del self._pending[start]

    def discard(self, offset: int, length: int) -> None:
        """Give the pages of a page-aligned range back to the kernel (it reads as zero after:
        a private anonymous range is zero-filled again on its next touch)."""
        self._cancel(offset, length)
        m, _, _, at = self._local(offset)
        m.madvise(mmap.MADV_DONTNEED, at, length)

    def separate(self, offset: int, length: int) -> SharedPages:
        """Give the page-aligned range [offset, offset + length) pages of its own, with its
        bytes, mapped where the range was: the memfd a client may have for that buffer.
        The range's VRAM pages are given back.  (copy_out, then move_to.)"""
        pages = self.copy_out(offset, length)
        try:
            self.move_to(offset, length, pages)
        except OSError:
            pages.map.close()
            pages.close()
            raise
        return pages

    def copy_out(self, offset: int, length: int) -> SharedPages:
        """New pages holding the bytes of [offset, offset + length): the long part of
        separating a range, which needs no lock of the card's (buffers.py: map_source)."""
        self._cancel(offset, length)
        pages = SharedPages(length, "buffer")
        try:
            source = self.window(offset, length).data
            copied = 0
            while copied < length:
                done = os.pwrite(pages.fd, source[copied:], copied)
                if done <= 0:
                    raise OSError(f"pwrite stopped at {copied} of {length} bytes")
                copied += done
        except OSError:
            pages.map.close()
            pages.close()
            raise
        return pages

    def move_to(self, offset: int, length: int, pages: SharedPages) -> None:
        """Map `pages` (copy_out's) over the range; the range's VRAM pages, unmapped, are
        the kernel's again."""
        _, array, local, _ = self._local(offset)
        _map_over(array.ctypes.data + local, length, mmap.MAP_SHARED, pages.fd)

    def rejoin(self, offset: int, length: int, pages: SharedPages) -> None:
        """Fresh VRAM memory (zero, committed on first touch) back under a separated range
        (its buffer is freed); the separate pages live on only in the mappings a client
        still holds."""
        m, array, local, at = self._local(offset)
        _map_over(array.ctypes.data + local, length, VRAM_FLAGS, -1)
        _advise_huge(m, at, length)
        pages.map.close()
        pages.close()

    def release(self, offset: int, length: int) -> None:
        """Return a freed range to zero: large ones give their pages back to the kernel."""
        self._cancel(offset, length)
        m, array, local, at = self._local(offset)
        if length >= RELEASE_THRESHOLD:
            start = -(-local // PAGE) * PAGE
            stop = (local + length) // PAGE * PAGE
            m.madvise(mmap.MADV_DONTNEED, at + start - local, stop - start)
            array[local:start] = 0
            array[stop:local + length] = 0
        else:
            array[local:local + length] = 0


def _advise_huge(m: mmap.mmap, start: int, length: int) -> None:
    """Ask for transparent huge pages over a range (a host that never gives them, or gives
    them to every mapping, ignores or needs no advice)."""
    try:
        m.madvise(mmap.MADV_HUGEPAGE, start, length)
    except OSError:
        pass


def _map_over(address: int, length: int, flags: int, fd: int) -> None:
    """Map `fd` (-1: fresh anonymous memory) over [address, address + length) of a chunk's
    mapping: the same addresses (the card's regions keep pointing at them), other pages."""
    placed = _libc.mmap(address, length, mmap.PROT_READ | mmap.PROT_WRITE, flags | MAP_FIXED, fd, 0)
    if placed != address:
        raise OSError(ctypes.get_errno(), f"cannot map pages at {address:#x}")


def host_pages(size: int) -> SharedPages:
    """Shared pages for a HOST-domain buffer (the host maps the same pages)."""
    return SharedPages(size, "host")
