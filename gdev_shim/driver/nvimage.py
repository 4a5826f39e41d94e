"""The CUDA toolkit's module formats, turned into what the card loads.

cuModuleLoad* take PTX text, a fat binary (`nvcc -fatbin`: containers of PTX and
machine code per architecture) or a cubin (`nvcc -cubin`: an ELF for one GPU,
machine code only unless PTX rides along in `.nv_debug_ptx_txt`).  The engines
here run PTX, so a fat binary gives its best PTX (common/nvfatbin.py, as the
runtime's registration picks it) and a cubin its embedded PTX; a cubin without
one is refused with the flag that would have kept PTX.  PTX text and the
card's own code object load as the SDAA loaders take them.
"""
from __future__ import annotations

import struct

from ..common import nvfatbin
from ..gdev import hostmem
from .errors import SD, SdError, fail
from .context import Context
from .module import ELF_MAGIC, MAX_IMAGE_BYTES, Module, image_bytes_at, read_file

EM_CUDA = 190                      # e_machine of NVIDIA's cubins
PTX_SECTION = ".nv_debug_ptx_txt"  # where nvcc leaves PTX inside a cubin (-lineinfo / -G builds)
_CONTAINER_MAGIC = struct.pack("<I", nvfatbin.CONTAINER_MAGIC)
_WRAPPER_MAGIC = struct.pack("<I", nvfatbin.WRAPPER_MAGIC)


def loadable(data: bytes, max_arch: int) -> bytes:
    """The bytes a Module takes for an image in any of the toolkit's formats."""
    if data.startswith(_CONTAINER_MAGIC):
        return _fatbin_ptx(data, max_arch)
    if data.startswith(ELF_MAGIC) and _elf_machine(data) == EM_CUDA:
        return _cubin_ptx(data)
    return data


def image_at(addr: int) -> bytes:
    """The image a caller holds at host address addr (cuModuleLoadData): a fat binary's
    container (or nvcc's registration wrapper around one) sized from its header, else
    what the SDAA loader reads there (ELF sized from its header, or NUL-terminated text)."""
    head = hostmem.read_checked(addr, nvfatbin.WRAPPER.size)
    if head is not None and head.startswith(_WRAPPER_MAGIC):
        try:
            return image_at(nvfatbin.wrapper_data(head))
        except nvfatbin.FatbinError as e:
            raise fail(SD.SDAA_ERROR_INVALID_IMAGE, f"fat binary wrapper at 0x{addr:x}: {e}") from None
    if head is not None and head.startswith(_CONTAINER_MAGIC):
        try:
            data = hostmem.read_checked(addr, nvfatbin.container_size(head))
        except nvfatbin.FatbinError as e:
            raise fail(SD.SDAA_ERROR_INVALID_IMAGE, f"fat binary at 0x{addr:x}: {e}") from None
        if data is None:
            raise fail(SD.SDAA_ERROR_INVALID_IMAGE, f"the fat binary at 0x{addr:x} runs into unreadable memory")
        return data
    if head is not None and head.startswith(ELF_MAGIC) and _elf_machine(head) == EM_CUDA:
        return _cubin_at(addr)
    return image_bytes_at(addr)


def _cubin_at(addr: int) -> bytes:
    """A cubin in memory, sized from its ELF header (section headers come last)."""
    header = hostmem.read_checked(addr, _EHDR.size)
    if header is None:
        raise fail(SD.SDAA_ERROR_INVALID_IMAGE, f"truncated cubin header at 0x{addr:x}")
    fields = _EHDR.unpack_from(header)
    size = fields[6] + fields[11] * fields[12]       # e_shoff + e_shentsize * e_shnum
    data = hostmem.read_checked(addr, size) if size <= MAX_IMAGE_BYTES else None
    if data is None:
        raise fail(SD.SDAA_ERROR_INVALID_IMAGE, f"the cubin at 0x{addr:x} claims {size} bytes it does not hold")
    return data


def _runnable(ptx: str) -> bytes:
    return ptx.encode() + b"\0"


def _fatbin_ptx(data: bytes, max_arch: int) -> bytes:
    try:
        found: list[nvfatbin.Entry] = []
        pos = 0
        while pos + nvfatbin.CONTAINER.size <= len(data) and data.startswith(_CONTAINER_MAGIC, pos):
            size = nvfatbin.container_size(data[pos:pos + nvfatbin.CONTAINER.size])
            found += nvfatbin.entries(data[pos:pos + size])
            pos += size
        return _runnable(nvfatbin.best_ptx(found, max_arch).text())
    except nvfatbin.NoPtxError as e:
        raise SdError(SD.SDAA_ERROR_NO_BINARY_FOR_GPU, str(e)) from None
    except nvfatbin.FatbinError as e:
        raise fail(SD.SDAA_ERROR_INVALID_IMAGE, f"invalid fat binary: {e}") from None


_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_SHDR = struct.Struct("<IIQQQQIIQQ")


def _elf_machine(data: bytes) -> int:
    return struct.unpack_from("<H", data, 18)[0] if len(data) >= 20 else 0


def _cubin_ptx(data: bytes) -> bytes:
    try:
        ident, _t, _m, _v, _e, _ph, shoff, flags, _eh, _phs, _phn, shentsize, shnum, shstrndx = \
            _EHDR.unpack_from(data)
        sections = [_SHDR.unpack_from(data, shoff + i * shentsize) for i in range(shnum)]
        names = sections[shstrndx]
        for name_off, _type, _f, _a, offset, size, *_ in sections:
            start = names[4] + name_off
            if data[start:data.index(b"\0", start)] == PTX_SECTION.encode():
                # the PTX's lines as NUL-separated strings (what its line table points into)
                lines = [line for line in data[offset:offset + size].split(b"\0") if line.strip()]
                return _runnable(b"\n".join(lines).decode(errors="replace"))
    except (struct.error, IndexError, ValueError) as e:
        raise fail(SD.SDAA_ERROR_INVALID_IMAGE, f"invalid cubin: {e}") from None
    # CUDA 12's cubins keep the architecture in e_flags' second byte, older ones in the first
    arch = (flags >> 8) & 0xFF if ident[8] >= 8 else flags & 0xFF
    raise SdError(SD.SDAA_ERROR_NO_BINARY_FOR_GPU,
                  f"the cubin holds sm_{arch} machine code only and no PTX, which is what this card runs; "
                  f"load PTX (nvcc -ptx) or a fat binary with PTX (nvcc -fatbin -gencode "
                  f"arch=compute_{arch},code=compute_{arch}) instead")


def load(ctx: Context, data: bytes) -> Module:
    """A module from an image in any of the toolkit's formats, PTX chosen for the context's card."""
    return Module(ctx, loadable(data, ctx.info["compute_major"] * 10 + ctx.info["compute_minor"]))


def load_file(ctx: Context, path: str) -> Module:
    return load(ctx, read_file(path))
