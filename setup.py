"""setuptools' part of the build (the rest is pyproject.toml): the out-of-line cffi
modules of the headers gdev_shim reads at import and its futex calls, made by build_ffi.py's
functions."""
from setuptools import setup

setup(cffi_modules=[
    "build_ffi.py:aidev_drm_module",
    "build_ffi.py:sdaa_module",
    "build_ffi.py:sdaa_runtime_module",
    "build_ffi.py:cudart_module",
    "build_ffi.py:cuda_module",
    "build_ffi.py:futex_module",
])
