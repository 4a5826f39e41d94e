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

// Two grid-wide barriers (cooperative groups): each block reads what another block wrote
// before the barrier; cuLaunchCooperativeKernel makes every block resident at once.
#include <cooperative_groups.h>

extern "C" __global__ void mirror(int *a, int *out, int n)
{
    cooperative_groups::grid_group g = cooperative_groups::this_grid();
    int i = (int)g.thread_rank();
    if (i < n)
        a[i] = i + 1;
    g.sync();
    if (i < n)
        out[i] = 2 * a[n - 1 - i];
    g.sync();
    if (i == 0) {
        int s = 0;
        for (int k = 0; k < n; k++)
            s += out[k];
        out[n] = s;
    }
}
