"""PTX kernel engine: parse a module once, interpret kernels over lane vectors with numpy.

    module = parse_module(ptx_text)
    layout = module.global_layout()          # the card copies layout.init to globals_addr
    execute(module, "kernel", memory, grid, block, params, dynamic_shared, globals_addr)
"""
from .errors import KernelFault, PtxError
from .interp import execute
from .memory import (DEVICE_BASE, LOCAL_WINDOW, SHARED_WINDOW, DeviceMemory, MemoryFault)
from .module import GlobalLayout, GlobalVar, Kernel, Module, Param
from .parser import parse_module

__all__ = ["PtxError", "KernelFault", "MemoryFault", "DeviceMemory", "parse_module", "execute",
           "Module", "Kernel", "Param", "GlobalVar", "GlobalLayout", "DEVICE_BASE",
           "SHARED_WINDOW", "LOCAL_WINDOW"]
