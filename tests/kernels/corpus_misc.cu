// Parameter-space addressing, pointer-valued globals, a dense switch.
struct Big { int v[200]; };
extern "C" __global__ void param_big(Big t, const int *idx, int *out, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = t.v[idx[i] % 200];
}

__device__ int g1[4] = {1, 2, 3, 4};
__device__ int *gp[2] = {g1, g1 + 2};
extern "C" __global__ void ptr_init(int *out)
{
    out[threadIdx.x] = gp[threadIdx.x & 1][(threadIdx.x >> 1) & 1];
}

extern "C" __global__ void switchy(const int *in, int *out, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    int r = in[i];
    switch (in[i] & 15) {
    case 0: r = r * 3 + __popc(r); break;
    case 1: r = (r ^ 77) * 5; break;
    case 2: r = __brev(r - 9); break;
    case 3: r = (r << 2) / 7; break;
    case 4: r = (r >> 1) % 13; break;
    case 5: r = ~r + __clz(r); break;
    case 6: r = r / 9; break;
    case 7: r = 1234 + r / 3; break;
    case 8: r = (r | 5) % 101; break;
    default: r = 42;
    }
    out[i] = r;
}
