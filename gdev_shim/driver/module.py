"""Modules and functions: a code object uploaded to the card, its kernels and globals."""
from __future__ import annotations

from pathlib import Path

from ..common.image import Image, ImageError, image_size, parsed_image
from ..gdev import api as gdev, hostmem
from ..gdev.errors import GdevError
from ..log import get
from .context import Context
from .errors import SD, SdError, fail

log = get("gdev.driver")
MAX_PARAM_BYTES = 4096          # parameter space of one launch
# CUDA's function attributes past SDAA's list
FUNC_ATTRIBUTE_CACHE_MODE_CA, FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 7, 8


class Function:
    def __init__(self, module: "Module", index: int) -> None:
        self.module = module
        self.index = index
        self.meta = module.image.kernels[index]
        self.name = self.meta.name
        self.block = (1, 1, 1)             # sdFuncSetBlockShape
        self.shared_size = 0               # sdFuncSetSharedSize
        self.param_buf = bytearray(self.meta.param_size)   # sdParamSet*
        self.launch_shapes: set[tuple] = set()    # (grid, block, shared) launch.check_shape passed

    def attribute(self, attrib: int) -> int:
        """A function attribute (SDfunction_attribute numbering, which is CUDA's)."""
        meta, info = self.meta, self.module.ctx.info
        table = {
            SD.SD_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK: meta.max_threads or info["max_threads_per_block"],
            SD.SD_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES: meta.shared_size,
            SD.SD_FUNC_ATTRIBUTE_CONST_SIZE_BYTES: 0,
            SD.SD_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES: meta.local_size,
            SD.SD_FUNC_ATTRIBUTE_NUM_REGS: 32,
            SD.SD_FUNC_ATTRIBUTE_PTX_VERSION: 80,
            SD.SD_FUNC_ATTRIBUTE_BINARY_VERSION: 80,
            FUNC_ATTRIBUTE_CACHE_MODE_CA: 0,
            FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES: info["shared_mem_per_block"] - meta.shared_size,
        }
        if attrib not in table:
            raise fail(SD.SDAA_ERROR_INVALID_VALUE, f"unknown function attribute {attrib}")
        return int(table[attrib])

    def set_param(self, offset: int, data: bytes) -> None:
        if offset < 0 or offset + len(data) > MAX_PARAM_BYTES:
            raise fail(SD.SDAA_ERROR_INVALID_VALUE, f"parameter bytes {offset}+{len(data)} out of range")
        if offset + len(data) > len(self.param_buf):
            self.param_buf.extend(b"\0" * (offset + len(data) - len(self.param_buf)))
        self.param_buf[offset:offset + len(data)] = data

    def set_param_size(self, size: int) -> None:
        if not 0 <= size <= MAX_PARAM_BYTES:
            raise fail(SD.SDAA_ERROR_INVALID_VALUE, f"parameter size {size}")
        del self.param_buf[size:]
        self.param_buf.extend(b"\0" * (size - len(self.param_buf)))


class Module:
    def __init__(self, ctx: Context, data: bytes) -> None:
        try:
            # the PTX too: a corrupt kernel body is a bad image, not a card fault
            self.image: Image = parsed_image(data)
        except ImageError as e:
            raise fail(SD.SDAA_ERROR_INVALID_IMAGE, f"invalid code object: {e}") from None
        self.ctx = ctx
        self.code_size = len(data)
        self.code_addr = self._upload(data)
        self.globals_addr = self._upload_globals()
        # compiled at load, as a CUDA driver compiles PTX in cuModuleLoad
        ctx.gdev_call(gdev.gsync, ctx.gdev_call(gdev.gprepare_code, self.code_addr, self.code_size))
        self.functions: dict[str, Function] = {}
        ctx.modules.add(self)
        log.debug("module: card=%d code=0x%x size=%d kernels=%s", ctx.device, self.code_addr,
                  self.code_size, [k.name for k in self.image.kernels])

    def _upload(self, data: bytes, addr: int = 0) -> int:
        addr = addr or self.ctx.gdev_call(gdev.gmalloc, len(data))
        import numpy as np
        buf = np.frombuffer(data, np.uint8)
        seq = self.ctx.gdev_call(gdev.gmemcpy_to_device_async, addr, int(buf.ctypes.data), len(data))
        self.ctx.gdev_call(gdev.gsync, seq)
        return addr

    def _upload_globals(self) -> int:
        """The module's variables: their initial bytes, with pointer-valued initialisers
        resolved for where the block landed, so the host reads them before any launch."""
        if not self.image.data:
            return 0
        addr = self.ctx.gdev_call(gdev.gmalloc, len(self.image.data))
        layout = self.image.module.global_layout()
        data = layout.image(addr) if layout.relocs else self.image.data
        return self._upload(data, addr)

    def function(self, name: str) -> Function:
        fn = self.functions.get(name)
        if fn is None:
            try:
                index = self.image.kernel_index(name)
            except KeyError:
                raise fail(SD.SDAA_ERROR_NOT_FOUND, f"no kernel named {name!r} in the module") from None
            fn = self.functions[name] = Function(self, index)
        return fn

    def global_var(self, name: str) -> tuple[int, int]:
        for g in self.image.globals:
            if g.name == name:
                return self.globals_addr + g.offset, g.size
        raise fail(SD.SDAA_ERROR_NOT_FOUND, f"no global named {name!r} in the module")

    def release(self) -> None:
        """Free the module's device memory (the context's pending work first)."""
        self.ctx.modules.discard(self)
        if not self.ctx.alive and self.ctx.handle.closed:
            return
        try:
            self.ctx.synchronize()
        except SdError as e:
            log.debug("module unload after failure: %s", e)
        for addr in (self.code_addr, self.globals_addr):
            if addr:
                try:
                    gdev.gfree(self.ctx.handle, addr)
                except GdevError as e:
                    log.warning("module memory 0x%x was already released: %s", addr, e)


def read_file(path: str) -> bytes:
    p = Path(path)
    if not p.is_file():
        raise fail(SD.SDAA_ERROR_FILE_NOT_FOUND, f"module file {path!r} not found")
    return p.read_bytes()


def load_file(ctx: Context, path: str) -> Module:
    return Module(ctx, read_file(path))


ELF_MAGIC = b"\x7fELF"
MAX_IMAGE_BYTES = 1 << 30       # larger sizes in a header are corruption, not code


def image_bytes_at(addr: int) -> bytes:
    """Copy a code object the caller holds at host address addr: an ELF container
    sized from its header, or NUL-terminated PTX text.  The header's size is only a
    claim, so memory is read without faulting: unreadable bytes make the image invalid."""
    head = hostmem.read_checked(addr, 4)
    if head is None:
        raise fail(SD.SDAA_ERROR_INVALID_IMAGE, f"no readable image at 0x{addr:x}")
    if head != ELF_MAGIC:
        text = hostmem.cstring_checked(addr)
        if text is None:
            raise fail(SD.SDAA_ERROR_INVALID_IMAGE, f"text at 0x{addr:x} runs into unreadable memory")
        return text + b"\0"
    header = hostmem.read_checked(addr, 64)
    try:
        if header is None:
            raise ImageError("truncated ELF header")
        size = image_size(header)
        if size > MAX_IMAGE_BYTES:
            raise ImageError(f"header claims {size} bytes")
        data = hostmem.read_checked(addr, size)
        if data is None:
            raise ImageError(f"the {size} bytes the header claims are not all readable")
    except ImageError as e:
        raise fail(SD.SDAA_ERROR_INVALID_IMAGE, f"invalid code object at 0x{addr:x}: {e}") from None
    return data
