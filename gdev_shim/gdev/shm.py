"""Shared device memory between Gdev handles of one card (gshm*, gref).

Segments live in this process; a card daemon would move this registry out of
process together with the card.  Keys behave as System V IPC keys do.
"""
from __future__ import annotations

import errno
import threading
from dataclasses import dataclass, field

from .errors import GdevError, invalid
from .handle import GdevHandle
from .vas import DeviceMem

IPC_CREAT, IPC_EXCL = 0o1000, 0o2000
IPC_RMID, IPC_SET, IPC_STAT, IPC_INFO = 0, 1, 2, 3


@dataclass
class Segment:
    id: int
    key: int
    owner: GdevHandle
    mem: DeviceMem
    attached: set[int] = field(default_factory=set)   # id() of attached handles
    removed: bool = False


class ShmRegistry:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.segments: dict[int, Segment] = {}
        self.next_id = 1
        self.refs: dict[tuple[int, int], DeviceMem] = {}   # (id(slave), addr) -> master memory

    def get(self, h: GdevHandle, key: int, size: int, flags: int) -> int:
        with self.lock:
            for seg in self.segments.values():
                if seg.key == key and key != 0 and seg.owner.minor == h.minor and not seg.removed:
                    if flags & IPC_CREAT and flags & IPC_EXCL:
                        raise GdevError(errno.EEXIST, f"shm key {key} exists")
                    if size > seg.mem.size:
                        raise invalid(f"shm key {key}: {size} bytes > segment {seg.mem.size}")
                    return seg.id
            if not flags & IPC_CREAT:
                raise GdevError(errno.ENOENT, f"shm key {key} does not exist")
            seg = Segment(self.next_id, key, h, h.alloc(size))
            self.next_id += 1
            self.segments[seg.id] = seg
            return seg.id

    def _segment(self, h: GdevHandle, shm_id: int) -> Segment:
        seg = self.segments.get(shm_id)
        if seg is None or seg.owner.minor != h.minor:
            raise invalid(f"shm id {shm_id} unknown on card {h.minor}")
        return seg

    def attach(self, h: GdevHandle, shm_id: int) -> int:
        with self.lock:
            seg = self._segment(h, shm_id)
            seg.attached.add(id(h))
            return seg.mem.addr

    def detach(self, h: GdevHandle, addr: int) -> None:
        with self.lock:
            for seg in list(self.segments.values()):
                if seg.mem.addr == addr and id(h) in seg.attached:
                    seg.attached.discard(id(h))
                    self._reap(seg)
                    return
            raise invalid(f"0x{addr:x} is not attached shared memory")

    def control(self, h: GdevHandle, shm_id: int, cmd: int) -> int:
        with self.lock:
            seg = self._segment(h, shm_id)
            if cmd == IPC_RMID:
                seg.removed = True
                self._reap(seg)
                return 0
            if cmd in (IPC_STAT, IPC_INFO):
                return seg.mem.size
            if cmd == IPC_SET:
                return 0
            raise invalid(f"gshmctl command {cmd}")

    def _reap(self, seg: Segment) -> None:
        if seg.removed and not seg.attached:
            del self.segments[seg.id]
            seg.owner.free(seg.mem.addr)

    def ref(self, master: GdevHandle, addr: int, size: int, slave: GdevHandle) -> int:
        if master.minor != slave.minor:
            raise invalid("gref across cards")
        mem = master.vas.find(addr)
        if mem is None or addr + size > mem.end:
            raise invalid(f"gref: 0x{addr:x}+{size} is not memory of the master handle")
        with self.lock:
            self.refs[(id(slave), addr)] = mem
        return addr

    def unref(self, h: GdevHandle, addr: int) -> None:
        with self.lock:
            if self.refs.pop((id(h), addr), None) is None:
                raise invalid(f"gunref: 0x{addr:x} is not referenced by this handle")


registry = ShmRegistry()
