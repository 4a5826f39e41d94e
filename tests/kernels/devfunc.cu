__device__ int counter;
__constant__ int coeffs[4] = {3, 5, 7, 11};

__device__ __noinline__ int poly(int x)
{
    return ((coeffs[3] * x + coeffs[2]) * x + coeffs[1]) * x + coeffs[0];
}

extern "C" __global__ void devfunc(const int *in, int *out, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        out[i] = poly(in[i]);
        atomicAdd(&counter, 1);
    }
}

extern "C" __global__ void read_counter(int *out)
{
    out[0] = counter;
}
