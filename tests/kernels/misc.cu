#include <cstdio>
extern "C" __global__ void histogram(const unsigned char *in, unsigned *hist, int n)
{
    __shared__ unsigned local[16];
    if (threadIdx.x < 16) local[threadIdx.x] = 0;
    __syncthreads();
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x)
        atomicAdd(&local[in[i] & 15], 1u);
    __syncthreads();
    if (threadIdx.x < 16) atomicAdd(&hist[threadIdx.x], local[threadIdx.x]);
}

extern "C" __global__ void global_hist(const int *in, int *hist, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) atomicAdd(&hist[in[i]], 1);
}

extern "C" __global__ void warp_ops(const int *in, int *out_sum, unsigned *out_ballot, int *out_any)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int v = in[i];
    int s = v;
    for (int off = 16; off > 0; off >>= 1)
        s += __shfl_down_sync(0xffffffffu, s, off);
    unsigned b = __ballot_sync(0xffffffffu, v > 0);
    int any = __any_sync(0xffffffffu, v > 100);
    int all = __all_sync(0xffffffffu, v > -100);
    int x = __shfl_xor_sync(0xffffffffu, v, 1);
    int up = __shfl_up_sync(0xffffffffu, v, 1);
    int idx = __shfl_sync(0xffffffffu, v, 3);
    out_sum[i] = s + 0 * x;
    out_ballot[i] = b;
    out_any[4 * i + 0] = any + 2 * all;
    out_any[4 * i + 1] = x;
    out_any[4 * i + 2] = up;
    out_any[4 * i + 3] = idx;
}

extern "C" __global__ void vec4(const float4 *in, float4 *out, const double2 *din, double2 *dout, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        float4 v = in[i];
        out[i] = make_float4(v.w, v.z * 2.0f, v.y + 1.0f, v.x - v.y);
        double2 d = din[i];
        dout[i] = make_double2(d.x * d.y, sqrt(fabs(d.x)) + (double)i);
    }
}

extern "C" __global__ void local_array(const int *in, int *out, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    int arr[16];
    int k = in[i] & 15;
    for (int j = 0; j < 16; ++j) arr[j] = j * in[i];
    arr[k] += 1000;
    int s = 0;
    for (int j = 0; j < 16; ++j) s += arr[(j * 7 + k) & 15] * (j + 1);
    out[i] = s + arr[k];
}

extern "C" __global__ void int_ops(const unsigned *a, const unsigned *b, unsigned *out, long long *out64, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    unsigned x = a[i], y = b[i] | 1u;
    int sx = (int)x, sy = (int)y;
    out[8 * i + 0] = x / y + x % y;
    out[8 * i + 1] = (unsigned)(sx / sy) ^ (unsigned)(sx % sy);
    out[8 * i + 2] = __popc(x) + __clz(y) * 64 + (__ffs(x) << 12);
    out[8 * i + 3] = __brev(x) ^ (x >> (y & 31)) ^ (unsigned)(sx >> (y & 31));
    out[8 * i + 4] = __umulhi(x, y) + (unsigned)__mulhi(sx, sy);
    out[8 * i + 5] = min(x, y) * 3 + (unsigned)max(sx, sy) + (x > y ? 7u : 9u);
    out[8 * i + 6] = (x << 5) | (y >> 27);
    out[8 * i + 7] = __funnelshift_l(x, y, 7);
    long long p = (long long)sx * sy;
    out64[2 * i + 0] = p + ((long long)x << 20);
    out64[2 * i + 1] = (long long)((unsigned long long)x * y / (unsigned long long)(y + 3));
}

extern "C" __global__ void conversions(const float *f, const double *d, int *oi, float *of, double *od, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float x = f[i];
    double y = d[i];
    oi[4 * i + 0] = (int)x;
    oi[4 * i + 1] = (int)(unsigned)fabsf(x);
    oi[4 * i + 2] = __float2int_rn(x);
    oi[4 * i + 3] = (int)floorf(x) + (int)ceilf(x) * 1000;
    of[2 * i + 0] = (float)y + (float)i;
    of[2 * i + 1] = (float)(long long)y + truncf(x) + roundf(x) * 0.5f;
    od[2 * i + 0] = (double)x * y;
    od[2 * i + 1] = (double)(long long)(x * 3.0f) + y / 3.0;
}

extern "C" __global__ void hello(int tag)
{
    if (threadIdx.x < 2)
        printf("block %d thread %d tag %d val %f %s\n", blockIdx.x, threadIdx.x, tag, 1.5 * threadIdx.x, "ok");
}

extern "C" __global__ void trapper(const int *in)
{
    if (in[threadIdx.x] == 42) __trap();
}
