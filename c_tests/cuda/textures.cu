// CUDA arrays and texture objects: a 2-D float array sampled with tex2D (point sampling,
// clamped and border addressing, normalized coordinates with wrap), uchar4 texels read as
// elements and as normalized floats, tex1Dfetch over linear device memory, a pitched 2-D
// texture; linear filtering in 1-D and 2-D; a 3-D array copied in and out by cudaMemcpy3D
// and sampled by tex3D; array copies in and out; the codes of what is not supported or
// malformed.
#include <cstring>
#include <vector>

#include "check.h"

__global__ void sample2d(cudaTextureObject_t t, float *out, int w, int h, float dx, float dy)
{
    int x = threadIdx.x, y = blockIdx.x;
    if (x < w && y < h)
        out[y * w + x] = tex2D<float>(t, x + dx, y + dy);
}

__global__ void sample_normalized(cudaTextureObject_t t, float *out, int n, float scale, float y)
{
    int i = threadIdx.x;
    if (i < n)
        out[i] = tex2D<float>(t, (i + 0.5f) * scale, y);
}

__global__ void texels(cudaTextureObject_t t, uchar4 *out, int w)
{
    int x = threadIdx.x;
    out[x] = tex2D<uchar4>(t, x + 0.5f, 0.5f);
}

__global__ void texels_normalized(cudaTextureObject_t t, float4 *out, int w)
{
    int x = threadIdx.x;
    out[x] = tex2D<float4>(t, x + 0.5f, 0.5f);
}

__global__ void fetch(cudaTextureObject_t t, int2 *out, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        out[i] = tex1Dfetch<int2>(t, i - 2);               // two reads before the start: zeros
}

static cudaTextureObject_t texture_of(const cudaResourceDesc &res, cudaTextureAddressMode mode,
                                      cudaTextureReadMode read = cudaReadModeElementType, int normalized = 0)
{
    cudaTextureDesc td;
    std::memset(&td, 0, sizeof td);
    td.addressMode[0] = td.addressMode[1] = mode;
    td.filterMode = cudaFilterModePoint;
    td.readMode = read;
    td.normalizedCoords = normalized;
    td.borderColor[0] = -1.0f;
    cudaTextureObject_t t = 0;
    CUDA_OK(cudaCreateTextureObject(&t, &res, &td, nullptr));
    EXPECT(t != 0);
    return t;
}

static void float_array(void)
{
    const int w = 37, h = 5;
    std::vector<float> src(w * h);
    for (int i = 0; i < w * h; i++)
        src[i] = (float)(i * 3);
    cudaChannelFormatDesc fd = cudaCreateChannelDesc<float>();
    EXPECT(fd.x == 32 && fd.y == 0 && fd.f == cudaChannelFormatKindFloat);
    cudaArray_t a = nullptr;
    CUDA_OK(cudaMallocArray(&a, &fd, w, h));
    CUDA_OK(cudaMemcpy2DToArray(a, 0, 0, src.data(), w * sizeof(float), w * sizeof(float), h,
                                cudaMemcpyHostToDevice));
    std::vector<float> back(w * h, 0.0f);
    CUDA_OK(cudaMemcpy2DFromArray(back.data(), w * sizeof(float), a, 0, 0, w * sizeof(float), h,
                                  cudaMemcpyDeviceToHost));
    EXPECT(back == src);

    cudaResourceDesc res;
    std::memset(&res, 0, sizeof res);
    res.resType = cudaResourceTypeArray;
    res.res.array.array = a;
    float *out = nullptr;
    CUDA_OK(cudaMalloc(&out, w * h * sizeof(float)));
    std::vector<float> got(w * h);

    cudaTextureObject_t clamp = texture_of(res, cudaAddressModeClamp);
    sample2d<<<h, w>>>(clamp, out, w, h, 0.5f, 0.5f);           // texel centres
    CUDA_OK(cudaMemcpy(got.data(), out, w * h * sizeof(float), cudaMemcpyDeviceToHost));
    EXPECT(got == src);
    sample2d<<<h, w>>>(clamp, out, w, h, 3.9f, -2.0f);          // shifted: clamped at the edges
    CUDA_OK(cudaMemcpy(got.data(), out, w * h * sizeof(float), cudaMemcpyDeviceToHost));
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int sx = x + 3 < w ? x + 3 : w - 1, sy = y - 2 > 0 ? y - 2 : 0;
            if (y == 1 || y == 2)
                sy = 0;
            EXPECT(got[y * w + x] == src[sy * w + sx]);
        }
    cudaTextureObject_t border = texture_of(res, cudaAddressModeBorder);
    sample2d<<<h, w>>>(border, out, w, h, 3.5f, 0.5f);
    CUDA_OK(cudaMemcpy(got.data(), out, w * h * sizeof(float), cudaMemcpyDeviceToHost));
    EXPECT(got[0] == src[3] && got[w - 1] == -1.0f && got[w - 3] == -1.0f && got[w - 4] == src[w - 1]);

    // normalized coordinates with wrap: x in [0, 2) runs over the row twice
    cudaTextureObject_t wrap = texture_of(res, cudaAddressModeWrap, cudaReadModeElementType, 1);
    sample_normalized<<<1, 2 * w>>>(wrap, out, 2 * w, 1.0f / w, 1.5f / h);   // row 1
    CUDA_OK(cudaMemcpy(got.data(), out, 2 * w * sizeof(float), cudaMemcpyDeviceToHost));
    for (int i = 0; i < 2 * w; i++)
        EXPECT(got[i] == src[w + i % w]);

    CUDA_OK(cudaDestroyTextureObject(clamp));
    CUDA_OK(cudaDestroyTextureObject(border));
    CUDA_OK(cudaDestroyTextureObject(wrap));
    EXPECT_CODE(cudaDestroyTextureObject(clamp), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMemcpy2DToArray(a, 4, h - 1, src.data(), w * sizeof(float), w * sizeof(float), 1,
                                    cudaMemcpyHostToDevice), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMemcpy2DToArray(a, 0, 0, src.data(), w * sizeof(float), w * sizeof(float), 1,
                                    cudaMemcpyDeviceToHost), cudaErrorInvalidMemcpyDirection);
    CUDA_OK(cudaFree(out));
    CUDA_OK(cudaFreeArray(a));
    EXPECT_CODE(cudaFreeArray(a), cudaErrorInvalidResourceHandle);
    (void)cudaGetLastError();
}

static void byte_texels(void)
{
    const int w = 64;
    std::vector<uchar4> src(w);
    for (int i = 0; i < w; i++)
        src[i] = make_uchar4(i, 255 - i, 2 * i, 255);
    cudaChannelFormatDesc fd = cudaCreateChannelDesc<uchar4>();
    cudaArray_t a = nullptr;
    CUDA_OK(cudaMallocArray(&a, &fd, w, 0));                    // 1-D
    CUDA_OK(cudaMemcpy2DToArray(a, 0, 0, src.data(), sizeof(src[0]) * w, sizeof(src[0]) * w, 1,
                                cudaMemcpyHostToDevice));
    cudaResourceDesc res;
    std::memset(&res, 0, sizeof res);
    res.resType = cudaResourceTypeArray;
    res.res.array.array = a;
    uchar4 *elems = nullptr;
    float4 *floats = nullptr;
    CUDA_OK(cudaMalloc(&elems, w * sizeof(uchar4)));
    CUDA_OK(cudaMalloc(&floats, w * sizeof(float4)));
    cudaTextureObject_t as_elements = texture_of(res, cudaAddressModeClamp);
    cudaTextureObject_t as_floats = texture_of(res, cudaAddressModeClamp, cudaReadModeNormalizedFloat);
    texels<<<1, w>>>(as_elements, elems, w);
    texels_normalized<<<1, w>>>(as_floats, floats, w);
    std::vector<uchar4> e(w);
    std::vector<float4> f(w);
    CUDA_OK(cudaMemcpy(e.data(), elems, w * sizeof(uchar4), cudaMemcpyDeviceToHost));
    CUDA_OK(cudaMemcpy(f.data(), floats, w * sizeof(float4), cudaMemcpyDeviceToHost));
    for (int i = 0; i < w; i++) {
        EXPECT(e[i].x == src[i].x && e[i].y == src[i].y && e[i].z == src[i].z && e[i].w == 255);
        EXPECT(f[i].x == i / 255.0f && f[i].y == (255 - i) / 255.0f && f[i].w == 1.0f);
    }
    CUDA_OK(cudaDestroyTextureObject(as_elements));
    CUDA_OK(cudaDestroyTextureObject(as_floats));
    CUDA_OK(cudaFree(elems));
    CUDA_OK(cudaFree(floats));
    CUDA_OK(cudaFreeArray(a));
}

static void linear_and_pitched(void)
{
    const int n = 300;
    std::vector<int2> src(n);
    for (int i = 0; i < n; i++)
        src[i] = make_int2(i, -i);
    int2 *d = nullptr, *out = nullptr;
    CUDA_OK(cudaMalloc(&d, n * sizeof(int2)));
    CUDA_OK(cudaMalloc(&out, n * sizeof(int2)));
    CUDA_OK(cudaMemcpy(d, src.data(), n * sizeof(int2), cudaMemcpyHostToDevice));
    cudaResourceDesc res;
    std::memset(&res, 0, sizeof res);
    res.resType = cudaResourceTypeLinear;
    res.res.linear.devPtr = d;
    res.res.linear.desc = cudaCreateChannelDesc<int2>();
    res.res.linear.sizeInBytes = n * sizeof(int2);
    cudaTextureObject_t t = texture_of(res, cudaAddressModeClamp);
    fetch<<<(n + 127) / 128, 128>>>(t, out, n);
    std::vector<int2> got(n);
    CUDA_OK(cudaMemcpy(got.data(), out, n * sizeof(int2), cudaMemcpyDeviceToHost));
    EXPECT(got[0].x == 0 && got[0].y == 0 && got[1].x == 0 && got[1].y == 0);
    for (int i = 2; i < n; i++)
        EXPECT(got[i].x == i - 2 && got[i].y == 2 - i);
    CUDA_OK(cudaDestroyTextureObject(t));

    // pitched: a 10 x 4 float image in rows of cudaMallocPitch
    const int w = 10, h = 4;
    float *img = nullptr;
    size_t pitch = 0;
    CUDA_OK(cudaMallocPitch(&img, &pitch, w * sizeof(float), h));
    std::vector<float> host(w * h);
    for (int i = 0; i < w * h; i++)
        host[i] = 0.5f * i;
    CUDA_OK(cudaMemcpy2D(img, pitch, host.data(), w * sizeof(float), w * sizeof(float), h, cudaMemcpyHostToDevice));
    std::memset(&res, 0, sizeof res);
    res.resType = cudaResourceTypePitch2D;
    res.res.pitch2D.devPtr = img;
    res.res.pitch2D.desc = cudaCreateChannelDesc<float>();
    res.res.pitch2D.width = w;
    res.res.pitch2D.height = h;
    res.res.pitch2D.pitchInBytes = pitch;
    t = texture_of(res, cudaAddressModeClamp);
    float *fout = nullptr;
    CUDA_OK(cudaMalloc(&fout, w * h * sizeof(float)));
    sample2d<<<h, w>>>(t, fout, w, h, 0.5f, 0.5f);
    std::vector<float> fgot(w * h);
    CUDA_OK(cudaMemcpy(fgot.data(), fout, w * h * sizeof(float), cudaMemcpyDeviceToHost));
    EXPECT(fgot == host);
    CUDA_OK(cudaDestroyTextureObject(t));

    // what is not supported, or malformed
    cudaTextureDesc td;
    std::memset(&td, 0, sizeof td);
    td.readMode = cudaReadModeNormalizedFloat;                  // of float texels
    EXPECT_CODE(cudaCreateTextureObject(&t, &res, &td, nullptr), cudaErrorInvalidValue);
    td.readMode = cudaReadModeElementType;
    res.res.pitch2D.pitchInBytes = w * sizeof(float) - 4;
    EXPECT_CODE(cudaCreateTextureObject(&t, &res, &td, nullptr), cudaErrorInvalidValue);
    res.res.pitch2D.pitchInBytes = pitch;
    res.res.pitch2D.height = 1000;                              // past the allocation
    EXPECT_CODE(cudaCreateTextureObject(&t, &res, &td, nullptr), cudaErrorInvalidValue);
    EXPECT_CODE(cudaCreateTextureObject(&t, nullptr, &td, nullptr), cudaErrorInvalidValue);
    cudaChannelFormatDesc odd = cudaCreateChannelDesc(32, 8, 0, 0, cudaChannelFormatKindSigned);
    cudaArray_t a = nullptr;
    EXPECT_CODE(cudaMallocArray(&a, &odd, 4, 4), cudaErrorInvalidValue);
    cudaChannelFormatDesc fd = cudaCreateChannelDesc<float>();
    EXPECT_CODE(cudaMallocArray(&a, &fd, 4, 4, cudaArraySurfaceLoadStore), cudaErrorNotSupported);
    EXPECT_CODE(cudaMallocArray(&a, &fd, 0, 4), cudaErrorInvalidValue);
    (void)cudaGetLastError();
    CUDA_OK(cudaFree(img));
    CUDA_OK(cudaFree(fout));
    CUDA_OK(cudaFree(d));
    CUDA_OK(cudaFree(out));
}

__global__ void sample1d(cudaTextureObject_t t, const float *xs, float *out, int n)
{
    int i = threadIdx.x;
    if (i < n)
        out[i] = tex1D<float>(t, xs[i]);
}

__global__ void sample2d_at(cudaTextureObject_t t, const float2 *at, float *out, int n)
{
    int i = threadIdx.x;
    if (i < n)
        out[i] = tex2D<float>(t, at[i].x, at[i].y);
}

// tex(x) = (1 - a) T[i] + a T[i + 1] with i = floor(x - 0.5) and a its fraction in 9-bit
// fixed point (8 fractional bits, the nearest step); out of range: clamped, or the border
static float lerp_reference(const float *texels, int n, float x, bool border, float border_colour)
{
    float xb = x - 0.5f;
    int i = (int)floorf(xb);
    float a = floorf((xb - i) * 256.0f + 0.5f) / 256.0f;
    auto at = [&](int k) {
        if (k < 0 || k >= n)
            return border ? border_colour : texels[k < 0 ? 0 : n - 1];
        return texels[k];
    };
    return (1.0f - a) * at(i) + a * at(i + 1);
}

static cudaTextureObject_t linear_texture(cudaArray_t a, cudaTextureAddressMode mode, cudaTextureReadMode read)
{
    cudaResourceDesc res;
    std::memset(&res, 0, sizeof res);
    res.resType = cudaResourceTypeArray;
    res.res.array.array = a;
    cudaTextureDesc td;
    std::memset(&td, 0, sizeof td);
    td.addressMode[0] = td.addressMode[1] = mode;
    td.filterMode = cudaFilterModeLinear;
    td.readMode = read;
    td.borderColor[0] = 100.0f;
    cudaTextureObject_t t = 0;
    CUDA_OK(cudaCreateTextureObject(&t, &res, &td, nullptr));
    return t;
}

// Linear filtering: 1-D floats clamped and bordered, the 8-bit weights visible (1.8 reads
// 13.0078125, not 13), 2-D bilinear, bytes read as normalized floats; integer reads refused.
static void linear_filtering(void)
{
    const float row[4] = {0.0f, 10.0f, 20.0f, 30.0f};
    cudaChannelFormatDesc fd = cudaCreateChannelDesc<float>();
    cudaArray_t a1 = nullptr;
    CUDA_OK(cudaMallocArray(&a1, &fd, 4, 0));
    CUDA_OK(cudaMemcpy2DToArray(a1, 0, 0, row, sizeof row, sizeof row, 1, cudaMemcpyHostToDevice));
    const int n = 8;
    const float xs[n] = {1.8f, 0.5f, 1.0f, 2.25f, 0.2f, 3.9f, -0.25f, 4.3f};
    float *dxs = nullptr, *dout = nullptr;
    CUDA_OK(cudaMalloc(&dxs, sizeof xs));
    CUDA_OK(cudaMalloc(&dout, 16 * sizeof(float)));
    CUDA_OK(cudaMemcpy(dxs, xs, sizeof xs, cudaMemcpyHostToDevice));
    float got[16];
    for (int border = 0; border < 2; border++) {
        cudaTextureObject_t t = linear_texture(a1, border ? cudaAddressModeBorder : cudaAddressModeClamp,
                                               cudaReadModeElementType);
        sample1d<<<1, n>>>(t, dxs, dout, n);
        CUDA_OK(cudaMemcpy(got, dout, n * sizeof(float), cudaMemcpyDeviceToHost));
        for (int i = 0; i < n; i++) {
            float want = lerp_reference(row, 4, xs[i], border, 100.0f);
            if (got[i] != want)
                std::fprintf(stderr, "linear %s x=%g: got %.9g want %.9g\n", border ? "border" : "clamp",
                             xs[i], got[i], want);
            EXPECT(got[i] == want);
        }
        CUDA_OK(cudaDestroyTextureObject(t));
    }
    EXPECT(got[0] == 13.0078125f);                             // 0.3 is 77/256 in 9-bit fixed point

    // 2-D: [[0, 100], [200, 300]]; between the four texels, a quarter of the way, off the edge
    const float square[4] = {0.0f, 100.0f, 200.0f, 300.0f};
    cudaArray_t a2 = nullptr;
    CUDA_OK(cudaMallocArray(&a2, &fd, 2, 2));
    CUDA_OK(cudaMemcpy2DToArray(a2, 0, 0, square, 2 * sizeof(float), 2 * sizeof(float), 2,
                                cudaMemcpyHostToDevice));
    const float2 at[4] = {{1.0f, 1.0f}, {0.75f, 1.25f}, {0.5f, 0.5f}, {2.5f, 0.0f}};
    const float want2[4] = {150.0f, 175.0f, 0.0f, 100.0f};
    float2 *dat = nullptr;
    CUDA_OK(cudaMalloc(&dat, sizeof at));
    CUDA_OK(cudaMemcpy(dat, at, sizeof at, cudaMemcpyHostToDevice));
    cudaTextureObject_t t2 = linear_texture(a2, cudaAddressModeClamp, cudaReadModeElementType);
    sample2d_at<<<1, 4>>>(t2, dat, dout, 4);
    CUDA_OK(cudaMemcpy(got, dout, 4 * sizeof(float), cudaMemcpyDeviceToHost));
    for (int i = 0; i < 4; i++)
        EXPECT(got[i] == want2[i]);
    CUDA_OK(cudaDestroyTextureObject(t2));

    // bytes as normalized floats: halfway between 0 and 255 is 0.5
    const unsigned char bytes[2] = {0, 255};
    cudaChannelFormatDesc bd = cudaCreateChannelDesc<unsigned char>();
    cudaArray_t ab = nullptr;
    CUDA_OK(cudaMallocArray(&ab, &bd, 2, 0));
    CUDA_OK(cudaMemcpy2DToArray(ab, 0, 0, bytes, 2, 2, 1, cudaMemcpyHostToDevice));
    cudaTextureObject_t tb = linear_texture(ab, cudaAddressModeClamp, cudaReadModeNormalizedFloat);
    sample1d<<<1, 2>>>(tb, dxs + 2, dout, 1);                    // x = 1.0
    CUDA_OK(cudaMemcpy(got, dout, sizeof(float), cudaMemcpyDeviceToHost));
    EXPECT(got[0] == 0.5f);
    CUDA_OK(cudaDestroyTextureObject(tb));

    // linear filtering returns floats: integer texels read as integers are refused
    cudaResourceDesc res;
    std::memset(&res, 0, sizeof res);
    res.resType = cudaResourceTypeArray;
    res.res.array.array = ab;
    cudaTextureDesc td;
    std::memset(&td, 0, sizeof td);
    td.filterMode = cudaFilterModeLinear;
    td.readMode = cudaReadModeElementType;
    cudaTextureObject_t bad = 0;
    EXPECT_CODE(cudaCreateTextureObject(&bad, &res, &td, nullptr), cudaErrorInvalidValue);
    td.filterMode = (cudaTextureFilterMode)5;
    EXPECT_CODE(cudaCreateTextureObject(&bad, &res, &td, nullptr), cudaErrorInvalidValue);

    CUDA_OK(cudaFreeArray(a1));
    CUDA_OK(cudaFreeArray(a2));
    CUDA_OK(cudaFreeArray(ab));
    CUDA_OK(cudaFree(dxs));
    CUDA_OK(cudaFree(dat));
    CUDA_OK(cudaFree(dout));
}

__global__ void sample3d(cudaTextureObject_t t, float *out, int w, int h, int d, float dz)
{
    int x = threadIdx.x, y = threadIdx.y, z = blockIdx.x;
    if (x < w && y < h && z < d)
        out[(z * h + y) * w + x] = tex3D<float>(t, x + 0.5f, y + 0.5f, z + dz);
}

// 3-D arrays: filled and read back by cudaMemcpy3D (positions and widths in elements on the
// array's side), sampled by tex3D point by point and half-way between two slices (linear).
static void array_3d(void)
{
    const int w = 4, h = 3, d = 2, n = w * h * d;
    std::vector<float> host(n), back(n, -1.0f), got(n);
    for (int i = 0; i < n; i++)
        host[i] = (float)(i * 3);
    cudaChannelFormatDesc fd = cudaCreateChannelDesc<float>();
    cudaArray_t a = nullptr;
    CUDA_OK(cudaMalloc3DArray(&a, &fd, make_cudaExtent(w, h, d), 0));
    cudaMemcpy3DParms in = {};
    in.srcPtr = make_cudaPitchedPtr(host.data(), w * sizeof(float), w, h);
    in.dstArray = a;
    in.extent = make_cudaExtent(w, h, d);
    in.kind = cudaMemcpyHostToDevice;
    CUDA_OK(cudaMemcpy3D(&in));
    cudaMemcpy3DParms out = {};
    out.srcArray = a;
    out.dstPtr = make_cudaPitchedPtr(back.data(), w * sizeof(float), w, h);
    out.extent = make_cudaExtent(w, h, d);
    out.kind = cudaMemcpyDeviceToHost;
    CUDA_OK(cudaMemcpy3D(&out));
    EXPECT(back == host);
    // one element of the second slice, by position
    float one = 0.0f;
    out.srcPos = make_cudaPos(2, 1, 1);
    out.dstPtr = make_cudaPitchedPtr(&one, sizeof one, 1, 1);
    out.extent = make_cudaExtent(1, 1, 1);
    CUDA_OK(cudaMemcpy3D(&out));
    EXPECT(one == host[(1 * h + 1) * w + 2]);
    out.extent = make_cudaExtent(3, 1, 1);                       // past the row
    EXPECT_CODE(cudaMemcpy3D(&out), cudaErrorInvalidValue);

    cudaResourceDesc res;
    std::memset(&res, 0, sizeof res);
    res.resType = cudaResourceTypeArray;
    res.res.array.array = a;
    cudaTextureDesc td;
    std::memset(&td, 0, sizeof td);
    td.addressMode[0] = td.addressMode[1] = td.addressMode[2] = cudaAddressModeClamp;
    td.filterMode = cudaFilterModePoint;
    cudaTextureObject_t t = 0;
    CUDA_OK(cudaCreateTextureObject(&t, &res, &td, nullptr));
    float *dout = nullptr;
    CUDA_OK(cudaMalloc(&dout, n * sizeof(float)));
    sample3d<<<d, dim3(w, h)>>>(t, dout, w, h, d, 0.5f);
    CUDA_OK(cudaMemcpy(got.data(), dout, n * sizeof(float), cudaMemcpyDeviceToHost));
    EXPECT(got == host);
    CUDA_OK(cudaDestroyTextureObject(t));
    td.filterMode = cudaFilterModeLinear;                       // z = 1.0: half of each slice
    CUDA_OK(cudaCreateTextureObject(&t, &res, &td, nullptr));
    sample3d<<<1, dim3(w, h)>>>(t, dout, w, h, 1, 1.0f);
    CUDA_OK(cudaMemcpy(got.data(), dout, w * h * sizeof(float), cudaMemcpyDeviceToHost));
    for (int i = 0; i < w * h; i++)
        EXPECT(got[i] == 0.5f * host[i] + 0.5f * host[w * h + i]);
    CUDA_OK(cudaDestroyTextureObject(t));

    cudaArray_t bad = nullptr;
    EXPECT_CODE(cudaMalloc3DArray(&bad, &fd, make_cudaExtent(4, 4, 4), cudaArrayLayered), cudaErrorNotSupported);
    EXPECT_CODE(cudaMalloc3DArray(&bad, &fd, make_cudaExtent(0, 4, 4), 0), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMalloc3DArray(&bad, &fd, make_cudaExtent(4, 0, 4), 0), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMalloc3DArray(nullptr, &fd, make_cudaExtent(4, 4, 4), 0), cudaErrorInvalidValue);
    (void)cudaGetLastError();
    CUDA_OK(cudaFreeArray(a));
    CUDA_OK(cudaFree(dout));
}

int main()
{
    float_array();
    byte_texels();
    linear_and_pitched();
    linear_filtering();
    array_3d();
    return test_passed();
}
