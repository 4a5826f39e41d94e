// Device code the driver-API programs load as PTX, as a fat binary and as a cubin.

// unmangled, so cuModuleGetGlobal finds it by its plain name
extern "C" __device__ int hits;
__device__ int hits = 0;

extern "C" __global__ void scale(float *x, float a, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        x[i] *= a;
        atomicAdd(&hits, 1);
    }
}

// A mixed parameter list (an 8-byte pointer after a 4-byte int) for the packed `extra` form.
extern "C" __global__ void fill(int n, unsigned long long *out, unsigned long long base)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        out[i] = base + i * warpSize;
}
