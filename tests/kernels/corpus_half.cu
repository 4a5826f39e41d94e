#include <cuda_fp16.h>
#include <cuda_bf16.h>
// Half and bfloat16 arithmetic, scalar and packed pairs.
extern "C" __global__ void half_ops(const __half *a, const __half *b, __half *out, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    __half x = a[i], y = b[i];
    out[6 * i + 0] = __hadd(x, y);
    out[6 * i + 1] = __hmul(x, y);
    out[6 * i + 2] = __hfma(x, y, __float2half(0.5f));
    out[6 * i + 3] = __hsub(x, y);
    __half2 p = __halves2half2(x, y), q = __halves2half2(y, x);
    __half2 r = __hfma2(p, q, p);
    out[6 * i + 4] = __low2half(r);
    out[6 * i + 5] = __hgt(x, y) ? __hmax(x, y) : __hneg(__habs(y));
}

extern "C" __global__ void bf16_ops(const __nv_bfloat16 *a, const __nv_bfloat16 *b, __nv_bfloat16 *out, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    __nv_bfloat16 x = a[i], y = b[i];
    out[4 * i + 0] = __hadd(x, y);
    out[4 * i + 1] = __hmul(x, y);
    out[4 * i + 2] = __hfma(x, y, x);
    out[4 * i + 3] = __float2bfloat16(__bfloat162float(x) * 3.0f);
}
