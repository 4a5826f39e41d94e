"""The embedding entry of libcuda.so.1: binds the CUDA driver exports."""
from __future__ import annotations

import importlib

from . import (cuda_exports, cuda_graph_exports, cuda_graph_node_exports,  # noqa: F401 - they register exports
               cuda_memory_exports)
from ..runtime import graphs
from .boundary import PER_THREAD_SUFFIXES, install, wrap_exports

EMBED_MODULE = "_cuda_embed"         # build_ffi.py's module of libcuda.so.1


def bind(module_ffi) -> int:
    cuda_exports.ffi = module_ffi
    # cuGetProcAddress hands out the library's own entry points
    cuda_exports.lib = importlib.import_module(EMBED_MODULE).lib
    wrap_exports("cuda", PER_THREAD_SUFFIXES, graphs.per_thread_calls)
    return install("cuda", module_ffi)
