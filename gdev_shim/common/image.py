"""The card's code object ("cubin"): an ELF64 container of PTX text and kernel metadata.

The layout of the aidev_* descriptors comes from include/aidev_drm.h through
contract.ffi; only the generic ELF header and section header layouts are
written here (as struct formats), because they are ELF's, not the card's.

Loaders also accept PTX text (NUL-terminated or plain), which is parsed and
wrapped as if it had come in a container.  Every malformed input raises
ImageError with a reason.
"""
from __future__ import annotations

import hashlib
import struct
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from .contract import C, ffi

# ---- ELF facts (public format) -------------------------------------------
ELF_MAGIC = b"\x7fELF"
_ELFCLASS64 = 2
_ELFDATA2LSB = 1
_EV_CURRENT = 1
_ET_REL = 1
_SHT_NULL, _SHT_PROGBITS, _SHT_STRTAB = 0, 1, 3

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")   # Elf64_Ehdr
_SHDR = struct.Struct("<IIQQQQIIQQ")         # Elf64_Shdr
EHDR_SIZE = _EHDR.size                       # 64
_MAX_SECTIONS = 64                           # ours has 8; more is not one of ours

# The container's own format version travels in e_flags (e_version is ELF's).
_SECTIONS = (".aidev.ptx", ".aidev.kernels", ".aidev.params", ".aidev.globals",
             ".aidev.data", ".strtab", ".shstrtab")
_DESC = {".aidev.kernels": "struct aidev_kernel_desc",
         ".aidev.params": "struct aidev_param_desc",
         ".aidev.globals": "struct aidev_global_desc"}
_SPACES = {"global": C.AIDEV_SPACE_GLOBAL, "const": C.AIDEV_SPACE_CONST}
_SPACE_NAMES = {v: k for k, v in _SPACES.items()}


class ImageError(Exception):
    """The bytes are not a valid code object (or the PTX in them does not parse)."""


@dataclass(frozen=True)
class ParamMeta:
    offset: int
    size: int
    align: int


@dataclass(frozen=True)
class KernelMeta:
    name: str
    params: list[ParamMeta]
    param_size: int
    shared_size: int
    local_size: int
    max_threads: int
    flags: int = 0


@dataclass(frozen=True)
class GlobalMeta:
    name: str
    space: str          # 'global' | 'const'
    size: int
    align: int
    offset: int         # in the module's globals block


@dataclass
class Image:
    ptx: str
    kernels: list[KernelMeta]
    globals: list[GlobalMeta]
    data: bytes
    _module: Any = field(default=None, repr=False, compare=False)

    def kernel_index(self, name: str) -> int:
        """Entry number of a kernel (what AIDEV_OP_COMPUTE's `entry` holds); KeyError if absent."""
        for index, kernel in enumerate(self.kernels):
            if kernel.name == name:
                return index
        raise KeyError(name)

    @property
    def module(self) -> Any:
        """The parsed PTX module; parsed on first use (metadata alone needs no parse)."""
        if self._module is None:
            module = _parse_ptx(self.ptx)
            missing = [k.name for k in self.kernels if k.name not in module.kernels]
            if missing:
                raise ImageError(f"kernel table names kernels the PTX lacks: {missing}")
            self._module = module
        return self._module


def _parse_ptx(text: str) -> Any:
    """parse_module with every failure turned into ImageError (the parser is a library below us)."""
    from ..ptx import PtxError, parse_module   # late: the PTX engine is heavy and optional for metadata
    try:
        return parse_module(text)
    except PtxError as exc:
        raise ImageError(f"bad PTX: {exc}") from exc
    except RecursionError as exc:
        raise ImageError("bad PTX: nesting too deep") from exc
    except Exception as exc:  # a parser bug on odd input must still read as bad input here
        raise ImageError(f"bad PTX ({type(exc).__name__}): {exc}") from exc


# ---- building --------------------------------------------------------------

class _StrTab:
    def __init__(self) -> None:
        self.data = bytearray(b"\0")
        self._seen: dict[str, int] = {"": 0}

    def add(self, name: str) -> int:
        if name not in self._seen:
            self._seen[name] = len(self.data)
            self.data += name.encode() + b"\0"
        return self._seen[name]


def _pack(ctype: str, rows: list[dict[str, int]]) -> bytes:
    if not rows:
        return b""
    arr = ffi.new(f"{ctype}[]", len(rows))
    try:
        for i, row in enumerate(rows):
            for key, value in row.items():
                setattr(arr[i], key, value)
    except OverflowError as exc:
        raise ImageError(f"metadata value does not fit {ctype}: {exc}") from exc
    return bytes(ffi.buffer(arr))


def build_image(ptx_text: str) -> bytes:
    """Wrap PTX text and the metadata of its kernels and globals into a code object."""
    return _build(ptx_text, _parse_ptx(ptx_text))


def _build(ptx_text: str, module: Any) -> bytes:
    if "\0" in ptx_text:
        raise ImageError("PTX text contains a NUL character")
    kernels: list[dict[str, int]] = []
    params: list[dict[str, int]] = []
    strtab = _StrTab()
    for kernel in module.kernels.values():
        kernels.append({"name": strtab.add(kernel.name), "first_param": len(params),
                        "param_count": len(kernel.params), "param_size": kernel.param_size,
                        "shared_size": kernel.shared_size, "local_size": kernel.local_size,
                        "max_threads": kernel.max_threads or 0, "flags": 0})
        params.extend({"offset": p.offset, "size": p.size, "align": p.align} for p in kernel.params)
    layout = module.global_layout()
    glob = [{"name": strtab.add(g.name), "space": _SPACES[g.space], "size": g.size,
             "align": g.align, "offset": layout.offsets[g.name]} for g in module.globals.values()]
    data = bytes(layout.init).ljust(layout.size, b"\0")
    contents = {
        ".aidev.ptx": ptx_text.encode() + b"\0",
        ".aidev.kernels": _pack(_DESC[".aidev.kernels"], kernels),
        ".aidev.params": _pack(_DESC[".aidev.params"], params),
        ".aidev.globals": _pack(_DESC[".aidev.globals"], glob),
        ".aidev.data": data,
        ".strtab": bytes(strtab.data),
    }
    return _assemble(contents)


def _assemble(contents: dict[str, bytes]) -> bytes:
    shstr = _StrTab()
    names = {name: shstr.add(name) for name in _SECTIONS}
    contents = dict(contents, **{".shstrtab": bytes(shstr.data)})
    body = bytearray(EHDR_SIZE)
    headers = [_SHDR.pack(0, _SHT_NULL, 0, 0, 0, 0, 0, 0, 0, 0)]
    strtab_index = _SECTIONS.index(".strtab") + 1
    for name in _SECTIONS:
        body += b"\0" * (-len(body) % 8)
        blob = contents[name]
        kind = _SHT_STRTAB if name.endswith("strtab") else _SHT_PROGBITS
        entsize = ffi.sizeof(_DESC[name]) if name in _DESC else 0
        link = strtab_index if name in (".aidev.kernels", ".aidev.globals") else 0
        headers.append(_SHDR.pack(names[name], kind, 0, 0, len(body), len(blob), link, 0, 8, entsize))
        body += blob
    body += b"\0" * (-len(body) % 8)
    shoff = len(body)
    ident = ELF_MAGIC + bytes([_ELFCLASS64, _ELFDATA2LSB, _EV_CURRENT]) + bytes(9)
    body[:EHDR_SIZE] = _EHDR.pack(ident, _ET_REL, C.AIDEV_ELF_MACHINE, _EV_CURRENT, 0, 0, shoff,
                                  C.AIDEV_ELF_VERSION, EHDR_SIZE, 0, 0, _SHDR.size, len(headers),
                                  len(headers) - 1)
    for header in headers:
        body += header
    return bytes(body)


# ---- reading -----------------------------------------------------------------

def _ehdr(data: bytes | memoryview) -> tuple:
    if len(data) < EHDR_SIZE:
        raise ImageError(f"truncated ELF header ({len(data)} of {EHDR_SIZE} bytes)")
    fields = _EHDR.unpack_from(data, 0)
    ident = fields[0]
    if ident[:4] != ELF_MAGIC:
        raise ImageError("bad ELF magic")
    if ident[4] != _ELFCLASS64 or ident[5] != _ELFDATA2LSB:
        raise ImageError("not a little-endian ELF64 file")
    if fields[2] != C.AIDEV_ELF_MACHINE:
        raise ImageError(f"e_machine {fields[2]:#x} is not the aidev card ({C.AIDEV_ELF_MACHINE:#x})")
    if fields[3] != _EV_CURRENT or fields[7] != C.AIDEV_ELF_VERSION:
        raise ImageError(f"unsupported code object version (e_version {fields[3]}, e_flags {fields[7]})")
    if fields[11] != _SHDR.size:
        raise ImageError(f"e_shentsize {fields[11]} is not {_SHDR.size}")
    if not 0 < fields[12] <= _MAX_SECTIONS:
        raise ImageError(f"e_shnum {fields[12]} out of range")
    if fields[13] >= fields[12]:
        raise ImageError("e_shstrndx out of range")
    return fields


def _is_elf(data: bytes | memoryview) -> bool:
    return bytes(data[:4]) == ELF_MAGIC


def image_size(data: bytes | memoryview) -> int:
    """Bytes the code object occupies: from the ELF header alone, or PTX text up to its NUL."""
    if _is_elf(data):
        fields = _ehdr(bytes(data[:EHDR_SIZE]))
        return fields[6] + fields[12] * fields[11]
    nul = bytes(data).find(b"\0")
    return len(data) if nul < 0 else nul + 1


def parse_image(data: bytes | memoryview) -> Image:
    """Read a code object, or PTX text (NUL-terminated or plain) which is parsed and wrapped."""
    data = bytes(data)
    if _is_elf(data):
        return _parse_elf(data)
    nul = data.find(b"\0")
    raw = data if nul < 0 else data[:nul]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImageError(f"neither an ELF code object nor UTF-8 PTX text ({exc.reason})") from exc
    if not text.strip():
        raise ImageError("empty code object")
    module = _parse_ptx(text)
    image = _parse_elf(_build(text, module))
    image._module = module     # already parsed: spare the lazy second parse
    return image


# Code objects parsed in this process, PTX included, by content (parsed_image).
_PARSED_CAPACITY = 16
_parsed: OrderedDict[bytes, Image] = OrderedDict()
_parsed_lock = threading.Lock()


def parsed_image(data: bytes | memoryview) -> Image:
    """parse_image with the PTX parsed too (ImageError for either), once per content in this
    process: a driver checks a module's PTX when it loads it, and a card in the same process
    (GDEV_TRANSPORT=sim) reads the same bytes to compile them; parsing a large kernel's PTX
    is tens of milliseconds of a first launch."""
    data = bytes(data)
    key = hashlib.blake2b(data, digest_size=16).digest()
    with _parsed_lock:
        image = _parsed.get(key)
        if image is not None:
            _parsed.move_to_end(key)
            return image
    image = parse_image(data)
    _ = image.module
    with _parsed_lock:
        _parsed[key] = image
        while len(_parsed) > _PARSED_CAPACITY:
            _parsed.popitem(last=False)
    return image


def _cstr(blob: bytes, offset: int, what: str) -> str:
    if offset >= len(blob):
        raise ImageError(f"{what}: name offset {offset} outside the string table")
    end = blob.find(b"\0", offset)
    if end < 0:
        raise ImageError(f"{what}: unterminated name")
    try:
        return blob[offset:end].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImageError(f"{what}: name is not UTF-8") from exc


def _sections(data: bytes) -> dict[str, bytes]:
    fields = _ehdr(data)
    shoff, shnum, shstrndx = fields[6], fields[12], fields[13]
    if shoff + shnum * _SHDR.size > len(data):
        raise ImageError(f"section headers at {shoff} run past the end ({len(data)} bytes)")
    headers = [_SHDR.unpack_from(data, shoff + i * _SHDR.size) for i in range(shnum)]

    def body(index: int) -> bytes:
        offset, size = headers[index][4], headers[index][5]
        if headers[index][1] == _SHT_NULL:
            return b""
        if offset > len(data) or size > len(data) - offset:
            raise ImageError(f"section {index} ({offset}+{size}) out of range")
        return data[offset:offset + size]

    names = body(shstrndx)
    found: dict[str, bytes] = {}
    for index, header in enumerate(headers):
        if header[1] == _SHT_NULL:
            continue
        name = _cstr(names, header[0], f"section {index}")
        if name in found:
            raise ImageError(f"duplicate section {name}")
        found[name] = body(index)
    missing = [name for name in _SECTIONS if name not in found]
    if missing:
        raise ImageError(f"missing sections {missing}")
    return found


def _table(blob: bytes, section: str) -> Any:
    ctype = _DESC[section]
    size = ffi.sizeof(ctype)
    if len(blob) % size:
        raise ImageError(f"{section}: {len(blob)} bytes is not a whole number of {size}-byte entries")
    count = len(blob) // size
    if count == 0:
        return []
    arr = ffi.new(f"{ctype}[]", count)
    ffi.memmove(arr, blob, len(blob))
    return arr


def _parse_elf(data: bytes) -> Image:
    sections = _sections(data)
    ptx_blob = sections[".aidev.ptx"]
    if not ptx_blob.endswith(b"\0") or b"\0" in ptx_blob[:-1]:
        raise ImageError(".aidev.ptx is not one NUL-terminated string")
    try:
        ptx = ptx_blob[:-1].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImageError(".aidev.ptx is not UTF-8") from exc
    strtab = sections[".strtab"]
    data_block = sections[".aidev.data"]
    params = _table(sections[".aidev.params"], ".aidev.params")
    kernels = []
    for i, k in enumerate(_table(sections[".aidev.kernels"], ".aidev.kernels")):
        what = f"kernel {i}"
        if k.first_param + k.param_count > len(params):
            raise ImageError(f"{what}: parameters {k.first_param}+{k.param_count} out of range")
        plist = [ParamMeta(p.offset, p.size, p.align)
                 for p in (params[j] for j in range(k.first_param, k.first_param + k.param_count))]
        for p in plist:
            if p.offset + p.size > k.param_size:
                raise ImageError(f"{what}: parameter at {p.offset}+{p.size} exceeds param_size {k.param_size}")
        kernels.append(KernelMeta(_cstr(strtab, k.name, what), plist, k.param_size, k.shared_size,
                                  k.local_size, k.max_threads, k.flags))
    if len({k.name for k in kernels}) != len(kernels):
        raise ImageError("duplicate kernel names")
    glob = []
    for i, g in enumerate(_table(sections[".aidev.globals"], ".aidev.globals")):
        what = f"global {i}"
        if g.space not in _SPACE_NAMES:
            raise ImageError(f"{what}: unknown space {g.space}")
        if g.offset > len(data_block) or g.size > len(data_block) - g.offset:
            raise ImageError(f"{what}: {g.offset}+{g.size} outside the {len(data_block)}-byte data block")
        glob.append(GlobalMeta(_cstr(strtab, g.name, what), _SPACE_NAMES[g.space], g.size, g.align,
                               g.offset))
    return Image(ptx=ptx, kernels=kernels, globals=glob, data=data_block)
