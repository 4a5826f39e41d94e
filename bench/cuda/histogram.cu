// 256-bin histogram of n bytes: each block counts its grid-stride share into shared
// bins with atomics, then adds them to the global bins (which accumulate across launches).
#define BINS 256

extern "C" __global__ void histogram256(const unsigned char *data, int n, unsigned *bins)
{
    __shared__ unsigned local[BINS];
    for (unsigned b = threadIdx.x; b < BINS; b += blockDim.x)
        local[b] = 0;
    __syncthreads();
    int stride = gridDim.x * blockDim.x;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        atomicAdd(&local[data[i]], 1u);
    __syncthreads();
    for (unsigned b = threadIdx.x; b < BINS; b += blockDim.x)
        if (local[b])
            atomicAdd(&bins[b], local[b]);
}
