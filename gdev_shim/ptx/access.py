"""Memory access for lane vectors: global (the card's DeviceMemory), shared, local, generic.

Shared and local memory are flat byte arrays owned by the batch state; a lane's
key into them is its byte index. Faults become KernelFault naming the first bad lane.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .memory import (LOCAL_TAG, LOCAL_WINDOW, PARAM_TAG, PARAM_WINDOW, SHARED_TAG, SHARED_WINDOW,
                     WINDOW_SHIFT, MemoryFault)

_U64 = np.uint64


def lane_ids(st: Any, lanes: Any) -> np.ndarray:
    return np.arange(st.L, dtype=np.int64) if lanes is None else lanes


def count(st: Any, lanes: Any) -> int:
    return st.L if lanes is None else len(lanes)


def _flat_keys(st: Any, lanes: np.ndarray, off: np.ndarray, width: int, align: int,
               space: str, text: str, every: bool = False) -> np.ndarray:
    """Each lane's byte index into the batch's shared or local bytes (`every`: `lanes` are
    all of the batch's, in order, so the rows need no gathering)."""
    if space == "shared":
        size, window = st.shared_stride, SHARED_WINDOW
        rows = st.shared_rows if every else st.shared_rows[lanes]
    else:
        size, window = st.local_stride, LOCAL_WINDOW
        rows = lanes * size
    # Offsets wrap below zero to huge values, so one comparison covers both ends.
    if size < width:
        bad = np.ones(off.shape, bool)
    else:
        bad = off > _U64(size - width)
        if align & (align - 1) == 0:           # a power of two: a mask, not a division
            bad |= (off & _U64(align - 1)) != 0
        else:
            bad |= off % _U64(align) != 0
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        o = int(off[i])
        reason = (f"misaligned {space} access" if o % align and o + width <= size
                  else f"{space} access out of bounds")
        raise st.fault(int(lanes[i]), text, window + o if o < 1 << 48 else o, reason)
    return rows + off.view(np.int64)     # in bounds: the same value as a signed index


def _word_index(keys: np.ndarray, width: int) -> np.ndarray:
    """Byte indices as indices of `width`-byte items (keys are not negative)."""
    return keys >> (width.bit_length() - 1) if width & (width - 1) == 0 else keys // width


def _region(st: Any, space: str) -> np.ndarray:
    return st.shared if space == "shared" else st.local


def _global_call(st: Any, lanes: np.ndarray, addrs: np.ndarray, text: str,
                 fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except MemoryFault as exc:
        hit = np.flatnonzero(addrs == _U64(exc.address & 0xFFFF_FFFF_FFFF_FFFF))
        i = int(hit[0]) if hit.size else 0
        raise st.fault(int(lanes[i]), text, exc.address, exc.reason) from None


def _split(space: str, addrs: np.ndarray) -> list[tuple[str, np.ndarray | None, np.ndarray]]:
    """Groups (space, positions or None for all, addresses in that space)."""
    if space != "generic":
        return [(space, None, addrs)]
    tag = addrs >> _U64(WINDOW_SHIFT)
    sh = tag == _U64(SHARED_TAG)
    lo = tag == _U64(LOCAL_TAG)
    pa = tag == _U64(PARAM_TAG)
    if not (sh.any() or lo.any() or pa.any()):
        return [("global", None, addrs)]
    groups = []
    if pa.any():
        pos = np.flatnonzero(pa)
        groups.append(("param", pos, addrs[pos] - _U64(PARAM_WINDOW)))
    gl = ~(sh | lo | pa)
    if gl.any():
        pos = np.flatnonzero(gl)
        groups.append(("global", pos, addrs[pos]))
    if sh.any():
        pos = np.flatnonzero(sh)
        groups.append(("shared", pos, addrs[pos] - _U64(SHARED_WINDOW)))
    if lo.any():
        pos = np.flatnonzero(lo)
        groups.append(("local", pos, addrs[pos] - _U64(LOCAL_WINDOW)))
    return groups


def _check_align(st: Any, lanes: np.ndarray, addrs: np.ndarray, align: int, text: str) -> None:
    bad = addrs % _U64(align) != 0
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise st.fault(int(lanes[i]), text, int(addrs[i]), "misaligned vector access")


def param_load(st: Any, lanes: np.ndarray, offs: np.ndarray, dt: np.dtype, text: str) -> np.ndarray:
    """Kernel parameter bytes at per-lane offsets of the parameter buffer (read-only)."""
    width = dt.itemsize
    size = len(st.kparams)
    bad = (offs > _U64(max(size - width, 0))) | (size < width) | (offs % _U64(width) != 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise st.fault(int(lanes[i]), text, PARAM_WINDOW + int(offs[i]) if offs[i] < 1 << 48
                       else int(offs[i]), "parameter access out of bounds or misaligned")
    buf = np.frombuffer(st.kparams, np.uint8)
    idx = offs.astype(np.int64)[:, None] + np.arange(width)
    return np.ascontiguousarray(buf[idx]).view(dt).reshape(-1)


def load(st: Any, lanes: Any, space: str, addrs: Any, dt: np.dtype, text: str,
         align: int = 0) -> np.ndarray:
    n = count(st, lanes)
    addrs = np.broadcast_to(np.asarray(addrs, _U64), (n,))
    ids = lane_ids(st, lanes)
    width = dt.itemsize
    out = None
    for sp, pos, a in _split(space, addrs):
        sub = ids if pos is None else ids[pos]
        if sp == "global":
            if align > width:
                _check_align(st, sub, a, align, text)
            if st.checks is not None:
                st.checks.global_access(st, sub, a, width, False, text)
            vals = _global_call(st, sub, a, text, lambda: st.mem.load(np.ascontiguousarray(a), dt))
            vals = np.asarray(vals).view(dt) if np.asarray(vals).dtype != dt else np.asarray(vals)
        elif sp == "param":
            vals = param_load(st, sub, a, dt, text)
        else:
            keys = _flat_keys(st, sub, a, width, max(width, align), sp, text, lanes is None and pos is None)
            if sp == "shared" and st.checks is not None:
                st.checks.shared_access(st, sub, keys, width, False, text)
            vals = _region(st, sp).view(dt)[_word_index(keys, width)]
        if pos is None:
            return vals
        if out is None:
            out = np.zeros(n, dt)
        out[pos] = vals
    assert out is not None
    return out


def store(st: Any, lanes: Any, space: str, addrs: Any, values: Any, dt: np.dtype, text: str,
          align: int = 0) -> None:
    n = count(st, lanes)
    addrs = np.broadcast_to(np.asarray(addrs, _U64), (n,))
    values = np.broadcast_to(np.asarray(values, dt), (n,))
    ids = lane_ids(st, lanes)
    width = dt.itemsize
    for sp, pos, a in _split(space, addrs):
        sub = ids if pos is None else ids[pos]
        v = values if pos is None else values[pos]
        if sp == "param":
            raise st.fault(int(sub[0]), text, PARAM_WINDOW + int(a[0]), "store to kernel parameters")
        if sp == "global":
            if align > width:
                _check_align(st, sub, a, align, text)
            if st.checks is not None:
                st.checks.global_access(st, sub, a, width, True, text)
            _global_call(st, sub, a, text,
                         lambda: st.mem.store(np.ascontiguousarray(a), np.ascontiguousarray(v)))
        else:
            keys = _flat_keys(st, sub, a, width, max(width, align), sp, text, lanes is None and pos is None)
            if sp == "shared" and st.checks is not None:
                st.checks.shared_access(st, sub, keys, width, True, text)
            _region(st, sp).view(dt)[_word_index(keys, width)] = v


AtomicFn = Callable[[np.ndarray, np.ndarray, np.ndarray | None], np.ndarray]


def atomic(st: Any, lanes: Any, space: str, addrs: Any, dt: np.dtype, b: Any, c: Any,
           apply: AtomicFn, int_add: bool, text: str) -> np.ndarray:
    """Read-modify-write per lane, serialised in lane order; returns the old values."""
    n = count(st, lanes)
    addrs = np.broadcast_to(np.asarray(addrs, _U64), (n,))
    b = np.broadcast_to(np.asarray(b, dt), (n,))
    c = None if c is None else np.broadcast_to(np.asarray(c, dt), (n,))
    ids = lane_ids(st, lanes)
    old = np.zeros(n, dt)
    width = dt.itemsize
    for sp, pos, a in _split(space, addrs):
        sub = ids if pos is None else ids[pos]
        bb = b if pos is None else b[pos]
        cc = None if c is None else (c if pos is None else c[pos])
        if sp == "param":
            raise st.fault(int(sub[0]), text, PARAM_WINDOW + int(a[0]), "atomic on kernel parameters")
        if sp == "global":
            keys = a
            # every lane's address checked first, in lane order: a fault names the first
            # bad lane, as for a load (the rounds below visit addresses in sorted order)
            _global_call(st, sub, a, text, lambda: st.mem.load(np.ascontiguousarray(a), dt))

            def rd(k: np.ndarray, sub: np.ndarray = sub) -> np.ndarray:
                return np.asarray(_global_call(st, sub, k, text,
                                               lambda: st.mem.load(np.ascontiguousarray(k), dt)))

            def wr(k: np.ndarray, v: np.ndarray, sub: np.ndarray = sub) -> None:
                _global_call(st, sub, k, text,
                             lambda: st.mem.store(np.ascontiguousarray(k), np.ascontiguousarray(v)))
        else:
            keys = _flat_keys(st, sub, a, width, width, sp, text).astype(np.uint64)
            region = _region(st, sp).view(dt)

            def rd(k: np.ndarray, region: np.ndarray = region) -> np.ndarray:
                return region[(k // _U64(width)).astype(np.int64)]

            def wr(k: np.ndarray, v: np.ndarray, region: np.ndarray = region) -> None:
                region[(k // _U64(width)).astype(np.int64)] = v
        res = (_grouped_add(keys, bb, rd, wr) if int_add
               else _rounds(keys, bb, cc, rd, wr, apply))
        if pos is None:
            old[:] = res
        else:
            old[pos] = res
    return old


def _grouped_add(keys: np.ndarray, b: np.ndarray, rd: Callable, wr: Callable) -> np.ndarray:
    """Integer add with duplicate addresses: exclusive prefix sums within each address."""
    order = np.argsort(keys, kind="stable")
    sk, sb = keys[order], b[order]
    start = np.ones(len(sk), bool)
    start[1:] = sk[1:] != sk[:-1]
    first = np.flatnonzero(start)
    group = np.cumsum(start) - 1
    init = rd(sk[first])
    cs = np.cumsum(sb, dtype=b.dtype)
    before = cs - sb                               # wraps like the hardware would
    excl = before - before[first][group]
    old_sorted = init[group] + excl
    last = np.append(first[1:], len(sk)) - 1
    wr(sk[first], init + (cs[last] - before[first]))
    old = np.empty_like(old_sorted)
    old[order] = old_sorted
    return old


def _rounds(keys: np.ndarray, b: np.ndarray, c: np.ndarray | None, rd: Callable, wr: Callable,
            apply: AtomicFn) -> np.ndarray:
    """General read-modify-write: each round serves the first pending lane of every address."""
    old = np.empty(len(keys), b.dtype)
    pending = np.arange(len(keys))
    while pending.size:
        _, first = np.unique(keys[pending], return_index=True)
        pick = pending[first]
        cur = rd(keys[pick])
        old[pick] = cur
        wr(keys[pick], apply(cur, b[pick], None if c is None else c[pick]))
        keep = np.ones(pending.size, bool)
        keep[first] = False
        pending = pending[keep]
    return old
