"""C arrays of graph nodes and edges, as both CUDA faces pass them (cudaGraph*/cuGraph*)."""
from __future__ import annotations

from typing import Any, Callable

from .boundary import NullArgument, address, required

EDGE_DATA_BYTES = 8                  # cudaGraphEdgeData / CUgraphEdgeData: ports, type, reserved


def edges(ffi: Any, pfrom, pto, edge_data, num: int, unsupported: Callable[[str], Exception]) -> list[tuple[int, int]]:
    """The edges from[i] -> to[i]; only default edges (edge data all zero) exist here."""
    if num and (pfrom == ffi.NULL or pto == ffi.NULL):
        raise NullArgument(f"{num} dependencies and no arrays of them")
    if num and edge_data != ffi.NULL and any(bytes(ffi.buffer(ffi.cast("char *", edge_data), EDGE_DATA_BYTES * num))):
        raise unsupported("only default graph edges are supported")
    return [(address(pfrom[i]), address(pto[i])) for i in range(num)]


def fill(ffi: Any, ctype: str, arrays, pcount, items: list[tuple[int, ...]], edge_data=None) -> None:
    """CUDA's list query: NULL arrays ask for the count; else up to *pcount entries are
    written (the rest of the arrays NULL, edge data all default) and *pcount becomes the
    number written."""
    required(pcount, "numEntries")
    if any(a == ffi.NULL for a in arrays):
        pcount[0] = len(items)
        return
    room = pcount[0]
    for i in range(room):
        for a, value in zip(arrays, items[i] if i < len(items) else (0,) * len(arrays)):
            a[i] = ffi.cast(ctype, value)
    if edge_data is not None and edge_data != ffi.NULL and room:
        ffi.memmove(ffi.cast("char *", edge_data), bytes(EDGE_DATA_BYTES * room), EDGE_DATA_BYTES * room)
    pcount[0] = min(room, len(items))
