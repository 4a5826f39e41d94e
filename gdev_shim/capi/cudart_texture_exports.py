"""libcudart.so.13: CUDA arrays and texture objects (runtime/textures.py), C structures in
and out."""
from __future__ import annotations

from ..runtime import textures
from . import cudart_exports as rx
from .boundary import address, exported, recorded, required
from .cudart_codes import CU, CudaError

OK = CU.cudaSuccess
# a struct result: nothing fails, so no code is needed (cffi's zeroed struct otherwise)
CHANNEL_DESC = recorded("struct cudaChannelFormatDesc", rx._translate)


def _desc(d) -> tuple[int, int, int, int, int]:
    return int(d.x), int(d.y), int(d.z), int(d.w), int(d.f)


@exported(rx.LIB, CHANNEL_DESC)
def cudaCreateChannelDesc(x, y, z, w, f):
    # a plain constructor: CUDA checks the format where it is used (cudaMallocArray, textures)
    return {"x": x, "y": y, "z": z, "w": w, "f": f}


@exported(rx.LIB, rx.RUNTIME)
def cudaMallocArray(parray, desc, width, height, flags):
    required(parray, "array")[0] = rx.ffi.NULL
    handle = textures.malloc_array(_desc(required(desc, "desc")), width, height, flags)
    parray[0] = rx.ffi.cast("cudaArray_t", handle)
    return OK


@exported(rx.LIB, rx.RUNTIME)
def cudaMalloc3DArray(parray, desc, extent, flags):
    required(parray, "array")[0] = rx.ffi.NULL
    handle = textures.malloc_array(_desc(required(desc, "desc")), extent.width, extent.height, flags, extent.depth)
    parray[0] = rx.ffi.cast("cudaArray_t", handle)
    return OK


@exported(rx.LIB, rx.RUNTIME)
def cudaFreeArray(array):
    textures.free_array(address(array))
    return OK


@exported(rx.LIB, rx.RUNTIME, "cudaMemcpy2DToArray_ptds")
def cudaMemcpy2DToArray(dst, w_offset, h_offset, src, spitch, width, height, kind):
    textures.copy_to_array(address(required(dst, "dst")), w_offset, h_offset, address(src), spitch, width,
                           height, kind)
    return OK


@exported(rx.LIB, rx.RUNTIME, "cudaMemcpy2DFromArray_ptds")
def cudaMemcpy2DFromArray(dst, dpitch, src, w_offset, h_offset, width, height, kind):
    textures.copy_from_array(address(dst), dpitch, address(required(src, "src")), w_offset, h_offset, width,
                             height, kind)
    return OK


def _resource(r) -> textures.Resource:
    if r.flags != 0:
        raise CudaError(CU.cudaErrorInvalidValue, f"resource flags 0x{r.flags:x}")
    if r.resType == CU.cudaResourceTypeArray:
        return textures.array_resource(address(required(r.res.array.array, "res.array.array")))
    if r.resType == CU.cudaResourceTypeLinear:
        lin = r.res.linear
        return textures.linear_resource(address(lin.devPtr), _desc(lin.desc), lin.sizeInBytes)
    if r.resType == CU.cudaResourceTypePitch2D:
        p2 = r.res.pitch2D
        return textures.pitch2d_resource(address(p2.devPtr), _desc(p2.desc), p2.width, p2.height, p2.pitchInBytes)
    if r.resType == CU.cudaResourceTypeMipmappedArray:
        raise CudaError(CU.cudaErrorNotSupported, "mipmapped arrays are not supported")
    raise CudaError(CU.cudaErrorInvalidValue, f"resource type {r.resType}")


def _sampling(t) -> textures.Sampling:
    return textures.Sampling((int(t.addressMode[0]), int(t.addressMode[1]), int(t.addressMode[2])),
                             int(t.filterMode), int(t.readMode),
                             bool(t.normalizedCoords), tuple(float(c) for c in t.borderColor)[:4],  # type: ignore[arg-type]
                             bool(t.sRGB))


@exported(rx.LIB, rx.RUNTIME)
def cudaCreateTextureObject(ptex, res_desc, tex_desc, view_desc):
    required(ptex, "pTexObject")[0] = 0
    if view_desc != rx.ffi.NULL:
        raise CudaError(CU.cudaErrorNotSupported, "texture resource views are not supported")
    resource = _resource(required(res_desc, "pResDesc"))
    ptex[0] = textures.create_texture(resource, _sampling(required(tex_desc, "pTexDesc")))
    return OK


@exported(rx.LIB, rx.RUNTIME)
def cudaDestroyTextureObject(tex):
    textures.destroy_texture(tex)
    return OK
