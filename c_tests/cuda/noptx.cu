// Built with machine code only (no PTX): registration reports why, and the launch fails
// with cudaErrorNoKernelImageForDevice while the rest of the runtime works.
#include "check.h"

__global__ void store(int *p) { p[threadIdx.x] = 1; }

int main()
{
    int *d;
    CUDA_OK(cudaMalloc(&d, 64));
    store<<<1, 4>>>(d);
    EXPECT_CODE(cudaGetLastError(), cudaErrorNoKernelImageForDevice);
    CUDA_OK(cudaFree(d));
    return test_passed();
}
