"""Card memory backing: memfd-backed shared pages, so another process can map them.

The card's VRAM is one sparse memfd; every host (GART) buffer and every channel
page has a memfd of its own.  A process that hosts the card hands a client the
descriptor and an offset (the card daemon does), and both map the same pages.
The VRAM memfd itself never leaves the card's process: a VRAM buffer that a client
maps first gets pages of its own (`Vram.separate`), a memfd of the buffer's size mapped
over its range of the VRAM mapping, so a client reaches no byte of VRAM but its own
buffers', as a driver maps a client only its own buffer objects.
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
MADV_REMOVE = 9                 # frees the backing store of a shared mapping's range
PAGE = mmap.PAGESIZE
MAP_FIXED = 0x10
FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE = 0x01, 0x02
_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
_libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
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
    """The backing of the card's VRAM address space: a sparse memfd of `chunks` chunks of
    `chunk` bytes, of which only resident buffers hold pages (swap.py keeps them within the
    card's VRAM).  Each chunk is mapped when a buffer first lies in it: a card that never
    overcommits reserves only its VRAM's worth of address space, as before (a process
    under an address-space limit, and the daemon it starts, must fit in it).  A buffer
    never straddles two chunks (buffers.py allocates within one).  Offsets are the
    space's own throughout."""

    def __init__(self, chunk: int, chunks: int = 1) -> None:
        self.chunk = -(-max(chunk, 1) // PAGE) * PAGE
        self.size = self.chunk * chunks
        self.fd = os.memfd_create("aicard-vram", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        try:
            os.ftruncate(self.fd, self.size)
            fcntl.fcntl(self.fd, fcntl.F_ADD_SEALS, SIZE_SEALS)     # clients get this memfd too
        except OSError:
            os.close(self.fd)
            raise
        self._lock = threading.Lock()
        self._maps: dict[int, mmap.mmap] = {}
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
                    m = mmap.mmap(self.fd, self.chunk, flags=mmap.MAP_SHARED, offset=index * self.chunk)
                    self._maps[index] = m
                    found = self._arrays[index] = np.frombuffer(m, dtype=np.uint8)
        return found

    def _local(self, offset: int) -> tuple[mmap.mmap, np.ndarray, int]:
        index, local = divmod(offset, self.chunk)
        array = self.array_of(index)
        return self._maps[index], array, local

    def window(self, offset: int, length: int) -> np.ndarray:
        """The bytes [offset, offset + length) of the space, which lie in one chunk."""
        _, array, local = self._local(offset)
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
            m, _, local = self._local(start)
            _populate(m, local, span)
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
            m, _, local = self._local(cursor)
            _populate(m, local, step_end - cursor)
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
        """Give the pages of a page-aligned range back to the kernel (it reads as zero after)."""
        self._cancel(offset, length)
        m, _, local = self._local(offset)
        m.madvise(MADV_REMOVE, local, length)

    def separate(self, offset: int, length: int) -> SharedPages:
        """Give the page-aligned range [offset, offset + length) pages of its own, with its
        bytes, mapped where the range was: the memfd a client may have for that buffer.
        The range's pages in the VRAM memfd are given back.  (copy_out, then move_to.)"""
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
            copied = 0
            while copied < length:
                done = os.copy_file_range(self.fd, pages.fd, length - copied, offset + copied, copied)
                if done <= 0:
                    raise OSError(f"copy_file_range stopped at {copied} of {length} bytes")
                copied += done
        except OSError:
            pages.map.close()
            pages.close()
            raise
        return pages

    def move_to(self, offset: int, length: int, pages: SharedPages) -> None:
        """Map `pages` (copy_out's) over the range, and give the range's VRAM pages back."""
        _, array, local = self._local(offset)
        self._map_over(array, local, length, pages.fd, 0)
        _libc.fallocate(self.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length)

    def rejoin(self, offset: int, length: int, pages: SharedPages) -> None:
        """The VRAM memfd's pages back under a separated range (its buffer is freed); the
        separate pages live on only in the mappings a client still holds."""
        _, array, local = self._local(offset)
        self._map_over(array, local, length, self.fd, offset)
        pages.map.close()
        pages.close()

    @staticmethod
    def _map_over(array: np.ndarray, local: int, length: int, fd: int, file_offset: int) -> None:
        """Map `fd` at `file_offset` over bytes [local, local + length) of a chunk's mapping:
        the same addresses (the card's regions keep pointing at them), other pages."""
        address = array.ctypes.data + local
        placed = _libc.mmap(address, length, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED | MAP_FIXED,
                            fd, file_offset)
        if placed != address:
            raise OSError(ctypes.get_errno(), f"cannot map pages at {address:#x}")

    def release(self, offset: int, length: int) -> None:
        """Return a freed range to zero: large ones give their pages back to the kernel."""
        self._cancel(offset, length)
        m, array, local = self._local(offset)
        if length >= RELEASE_THRESHOLD:
            start = -(-local // PAGE) * PAGE
            stop = (local + length) // PAGE * PAGE
            m.madvise(MADV_REMOVE, start, stop - start)
            array[local:start] = 0
            array[stop:local + length] = 0
        else:
            array[local:local + length] = 0


def host_pages(size: int) -> SharedPages:
    """Shared pages for a HOST-domain buffer (the host maps the same pages)."""
    return SharedPages(size, "host")
