"""Shared device memory (gshm*, gref): segments of the card, shared by every process.

The card keeps the segments (AIDEV_IOCTL_SHM_*): a key finds the same segment in
any process of the card's users, keys behave as System V IPC keys do, and a
segment lives while an open holds it.  This module keeps only what a process
needs on top: which of its handles attached which segment, at what address.
"""
from __future__ import annotations

import errno
import threading
import weakref

from ..aidev.device import AidevError
from ..common.contract import C
from .errors import GdevError, invalid
from .handle import GdevHandle
from .vas import DeviceMem

IPC_CREAT, IPC_EXCL = 0o1000, 0o2000
IPC_RMID, IPC_SET, IPC_STAT, IPC_INFO = 0, 1, 2, 3
_KEY_MAX = 0xFFFF_FFFF


def _card_call(h: GdevHandle, what: str, fn, *args):
    try:
        return fn(*args)
    except AidevError as e:
        raise GdevError(e.errno, f"card {h.minor}: {what}: {e}") from None


class _Attachment:
    def __init__(self, mem: DeviceMem, shm_id: int) -> None:
        self.mem = mem
        self.shm_id = shm_id
        self.count = 1                   # gshmat calls of one handle share one mapping


class ShmRegistry:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        # handle -> {segment id: attachment}; a closed handle's card open let go of it all
        self._attached: weakref.WeakKeyDictionary[GdevHandle, dict[int, _Attachment]] = \
            weakref.WeakKeyDictionary()
        self._refs: weakref.WeakKeyDictionary[GdevHandle, dict[int, DeviceMem]] = weakref.WeakKeyDictionary()

    def get(self, h: GdevHandle, key: int, size: int, flags: int) -> int:
        if not 0 <= key <= _KEY_MAX:
            raise invalid(f"shm key {key}")
        if size < 0:
            raise invalid(f"shm size {size}")
        card_flags = (C.AIDEV_SHM_CREATE if flags & IPC_CREAT else 0) | (C.AIDEV_SHM_EXCL if flags & IPC_EXCL else 0)
        shm_id, _ = _card_call(h, f"gshmget key {key}", h.dev.shm_get, key, size, card_flags)
        return int(shm_id)

    def attach(self, h: GdevHandle, shm_id: int) -> int:
        with self.lock:
            mine = self._attached.setdefault(h, {})
            found = mine.get(shm_id)
            if found is not None:
                found.count += 1
                return found.mem.addr
            if not 0 < shm_id <= _KEY_MAX:
                raise invalid(f"shm id {shm_id}")
            handle, size, addr, _ = _card_call(h, f"gshmat id {shm_id}", h.dev.shm_attach, shm_id)
            mem = DeviceMem(addr, size, handle, C.AIDEV_GEM_DOMAIN_VRAM)
            with h.lock:
                h.vas.add(mem)
            mine[shm_id] = _Attachment(mem, shm_id)
            return addr

    def detach(self, h: GdevHandle, addr: int) -> None:
        with self.lock:
            mine = self._attached.get(h, {})
            found = next((a for a in mine.values() if a.mem.addr == addr), None)
            if found is None:
                raise invalid(f"0x{addr:x} is not attached shared memory")
            found.count -= 1
            if found.count:
                return
            del mine[found.shm_id]
            h.free(addr)                     # the card detaches (the segment lives while held)

    def control(self, h: GdevHandle, shm_id: int, cmd: int) -> int:
        if cmd not in (IPC_RMID, IPC_SET, IPC_STAT, IPC_INFO):
            raise invalid(f"gshmctl command {cmd}")
        if not 0 < shm_id <= _KEY_MAX:
            raise invalid(f"shm id {shm_id}")
        card_cmd = C.AIDEV_SHM_RMID if cmd == IPC_RMID else C.AIDEV_SHM_STAT
        try:
            size, _ = _card_call(h, f"gshmctl id {shm_id}", h.dev.shm_ctl, shm_id, card_cmd)
        except GdevError as e:          # System V's shmctl: an unknown id is EINVAL
            raise invalid(str(e)) if e.errno == errno.ENOENT else e from None
        return 0 if cmd in (IPC_RMID, IPC_SET) else int(size)

    def ref(self, master: GdevHandle, addr: int, size: int, slave: GdevHandle) -> int:
        """The slave handle's own hold on the master's memory (a keyless segment of it): it
        stays the slave's until gunref, even when the master frees it or closes."""
        if master.minor != slave.minor:
            raise invalid("gref across cards")
        mem = master.vas.find(addr)
        if mem is None or size <= 0 or addr + size > mem.end or mem.domain != C.AIDEV_GEM_DOMAIN_VRAM:
            raise invalid(f"gref: 0x{addr:x}+{size} is not device memory of the master handle")
        if mem.slab is not None:
            # a piece of a slab: the slave holds the slab, none of whose pieces is reused
            with master.lock:
                assert master.suballoc is not None
                mem = master.suballoc.export(mem)
        held = self._refs.get(slave, {}).get(mem.addr)
        if held is not None and held.end >= addr + size:
            return addr                 # another piece of this slab: the slave holds it already
        if slave.vas.find(mem.addr) is not None:
            raise invalid(f"gref: 0x{mem.addr:x} is mapped on the slave handle already")
        shm_id = _card_call(master, "gref", master.dev.shm_export, mem.gem)
        handle, seg_size, seg_addr, _ = _card_call(slave, "gref", slave.dev.shm_attach, shm_id)
        ref = DeviceMem(seg_addr, seg_size, handle, C.AIDEV_GEM_DOMAIN_VRAM)
        with self.lock:
            with slave.lock:
                slave.vas.add(ref)
            self._refs.setdefault(slave, {})[seg_addr] = ref
        return addr

    def unref(self, h: GdevHandle, addr: int) -> None:
        with self.lock:
            refs = self._refs.get(h, {})
            ref = next((r for r in refs.values() if r.addr <= addr < r.end), None)
            if ref is None:
                raise invalid(f"gunref: 0x{addr:x} is not referenced by this handle")
            del refs[ref.addr]
        h.free(ref.addr)


registry = ShmRegistry()
