// Kernels that fault: an out-of-bounds store past a buffer, a stack overflow by recursion.
extern "C" __global__ void oob_store(int *buf, int n, int stride)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) buf[i * stride] = i;
}

__device__ __noinline__ int deep(int n, int *scratch)
{
    int local[32];
    for (int k = 0; k < 32; ++k) local[k] = n + k + scratch[k & 3];
    return n == 0 ? local[n & 31] : deep(n - 1, local) + local[n & 31];
}

extern "C" __global__ void deep_recursion(int depth, int *out)
{
    int s[4] = {1, 2, 3, 4};
    out[threadIdx.x] = deep(depth, s);
}
