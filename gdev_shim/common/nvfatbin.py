"""CUDA fat binaries as nvcc embeds them: the registration wrapper, containers and entries.

`__cudaRegisterFatBinary` receives a wrapper `{int magic; int version; const void
*data; void *unused}`; `data` is a container `{u32 magic; u16 version; u16 header
size; u64 size of what follows}` whose entries each start with a header:

    +0  u16 kind (1 PTX, 2 ELF)   +2  u16 version      +4  u32 header size
    +8  u64 payload size (padded to 8 bytes)
    +16 u32 compressed size       +20 u32 (unused here)
    +24 u16 minor, +26 u16 major (the PTX ISA or code version)
    +28 u32 arch (75 for sm_75)   +32 u32 name offset  +36 u32 name size
    +40 u64 flags (0x8000: the payload is zstd-compressed)
    +48 u64 (unused here)         +56 u64 uncompressed size

The payload follows the entry's header.  The engines here run PTX, so only PTX
entries are of use; SASS (ELF) entries are listed, never read.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

WRAPPER_MAGIC = 0x466243B1
CONTAINER_MAGIC = 0xBA55ED50
KIND_PTX, KIND_ELF = 1, 2
FLAG_COMPRESSED = 0x8000
WRAPPER = struct.Struct("<iiQQ")
CONTAINER = struct.Struct("<IHHQ")
ENTRY = struct.Struct("<HHIQIIHHIIIQQQ")
MAX_CONTAINER_BYTES = 1 << 30        # larger sizes are corruption, not code
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class FatbinError(ValueError):
    """The bytes are not a fat binary this library can read."""


class NoPtxError(FatbinError):
    """The fat binary holds only machine code (SASS) for real GPUs, no PTX to run."""


@dataclass(frozen=True)
class Entry:
    kind: int
    arch: int                  # 75 for sm_75 / compute_75
    compressed: bool
    uncompressed_size: int
    payload: bytes             # as stored (compressed or not)

    def text(self) -> str:
        """The PTX source of a PTX entry."""
        data = self.payload
        if self.compressed or data.startswith(ZSTD_MAGIC):
            data = _unzstd(data, self.uncompressed_size)
        return data.split(b"\0", 1)[0].decode("utf-8", errors="replace")


def _unzstd(data: bytes, size: int) -> bytes:
    import zstandard          # late: only programs with compressed PTX pay for the import
    try:
        return zstandard.ZstdDecompressor().decompress(data, max_output_size=max(size, 1 << 20))
    except zstandard.ZstdError as e:
        raise FatbinError(f"compressed PTX does not decompress: {e}") from None


WRAPPER_LINKED = 2      # the version of a wrapper around device code linked with -rdc


def wrapper_data(wrapper: bytes) -> int:
    """The container address a registration wrapper points at."""
    if len(wrapper) < WRAPPER.size:
        raise FatbinError("truncated fat binary wrapper")
    magic, _version, data, _unused = WRAPPER.unpack_from(wrapper)
    if magic & 0xFFFFFFFF != WRAPPER_MAGIC:
        raise FatbinError(f"wrapper magic 0x{magic & 0xFFFFFFFF:08x}, expected 0x{WRAPPER_MAGIC:08x}")
    if data == 0:
        raise FatbinError("wrapper without fat binary data")
    return data


def container_size(header: bytes) -> int:
    """Bytes one container occupies, from its 16-byte header."""
    if len(header) < CONTAINER.size:
        raise FatbinError("truncated container header")
    magic, _version, header_size, size = CONTAINER.unpack_from(header)
    if magic != CONTAINER_MAGIC:
        raise FatbinError(f"container magic 0x{magic:08x}, expected 0x{CONTAINER_MAGIC:08x}")
    if header_size < CONTAINER.size or size > MAX_CONTAINER_BYTES:
        raise FatbinError(f"container header claims {header_size}+{size} bytes")
    return header_size + size


def entries(container: bytes) -> list[Entry]:
    """Every entry of one container."""
    total = container_size(container)
    if len(container) < total:
        raise FatbinError(f"container of {total} bytes truncated to {len(container)}")
    header_size = CONTAINER.unpack_from(container)[2]
    found, pos = [], header_size
    while pos + ENTRY.size <= total:
        (kind, _v, head, padded, csize, _u, _minor, _major, arch, _no, _ns, flags, _z,
         usize) = ENTRY.unpack_from(container, pos)
        if head < ENTRY.size or pos + head + padded > total:
            raise FatbinError(f"entry at {pos} claims {head}+{padded} bytes beyond the container")
        compressed = bool(flags & FLAG_COMPRESSED)
        size = csize if compressed and csize else padded
        found.append(Entry(kind, arch, compressed, usize, bytes(container[pos + head:pos + head + size])))
        pos += head + padded
    return found


def wrapper_linked(wrapper: bytes) -> bool:
    """Does the wrapper hold device code linked from relocatable objects (-rdc)?"""
    return WRAPPER.unpack_from(wrapper)[1] == WRAPPER_LINKED


def best_ptx(found: list[Entry], max_arch: int, linked: bool = False) -> Entry:
    """The PTX for the highest architecture at most `max_arch` (the lowest above it otherwise)."""
    ptx = [e for e in found if e.kind == KIND_PTX]
    if not ptx and linked:
        raise NoPtxError("the program was built with relocatable device code (-rdc), whose linked device code "
                         "is machine code only; build it without -rdc to run it here")
    if not ptx:
        archs = sorted({e.arch for e in found})
        raise NoPtxError(
            f"the fat binary holds machine code only (sm_{', sm_'.join(map(str, archs)) or '?'}) and no PTX; "
            f"rebuild with PTX embedded, e.g. nvcc -gencode arch=compute_{max(archs or [75])},"
            f"code=compute_{max(archs or [75])}")
    fitting = [e for e in ptx if e.arch <= max_arch]
    return max(fitting, key=lambda e: e.arch) if fitting else min(ptx, key=lambda e: e.arch)
