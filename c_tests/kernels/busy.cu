// Kernels whose running time the host chooses: each thread of `loop` iterates
// a linear congruential step `count` times (the host recomputes the value), so
// a large count keeps the card busy for a known, checkable piece of work.
// `scale` takes float parameters (out[i] = a * i + b), for sdParamSetf.  `copy` reads
// one buffer into another (a kernel that reads memory the host names).

extern "C" __global__ void loop(unsigned int *out, unsigned int count, unsigned int n)
{
    for (unsigned int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
        unsigned int x = i;
        for (unsigned int k = 0; k < count; k++)
            x = x * 1664525u + 1013904223u;
        out[i] = x;
    }
}

extern "C" __global__ void scale(float *out, float a, float b, unsigned int n)
{
    for (unsigned int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x)
        out[i] = a * (float)i + b;
}

extern "C" __global__ void copy(unsigned int *dst, const unsigned int *src, unsigned int n)
{
    for (unsigned int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x)
        dst[i] = src[i];
}
