"""Native kernel engine: PTX -> LLVM IR -> machine code, warps run as SIMD lane vectors.

    execute(module, "kernel", memory, grid, block, params, dynamic_shared, globals_addr)

Same contract as gdev_shim.ptx.execute; JitUnsupported (raised before anything runs)
tells the caller to use the interpreter instead.
"""
from .errors import JitUnsupported
from .launch import execute

__all__ = ["execute", "JitUnsupported"]
