"""The embedding entry of libcudart.so.13: binds the CUDA runtime exports."""
from __future__ import annotations

from . import (cudart_exports, cudart_graph_exports, cudart_pool_exports,  # noqa: F401 - they register exports
               cudart_texture_exports)
from ..runtime import graphs
from .boundary import PER_THREAD_SUFFIXES, install, wrap_exports


def bind(module_ffi) -> int:
    cudart_exports.ffi = module_ffi
    wrap_exports("cudart", PER_THREAD_SUFFIXES, graphs.per_thread_calls)
    return install("cudart", module_ffi)
