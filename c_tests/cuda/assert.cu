// A failing device assert: cudaErrorAssert at the next synchronising call, sticky after it;
// CUDA's message goes to stderr (the runner checks it).
#include "check.h"
#include <cassert>

__global__ void checked(const int *p, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    assert(p[i] < n);
}

int main()
{
    int h[64];
    for (int i = 0; i < 64; i++)
        h[i] = i;
    int *d;
    CUDA_OK(cudaMalloc(&d, sizeof h));
    CUDA_OK(cudaMemcpy(d, h, sizeof h, cudaMemcpyHostToDevice));
    checked<<<2, 32>>>(d, 64);                 // every value passes
    CUDA_OK(cudaDeviceSynchronize());
    checked<<<2, 32>>>(d, 40);                 // 24 threads fail
    EXPECT_CODE(cudaDeviceSynchronize(), cudaErrorAssert);
    EXPECT_CODE(cudaGetLastError(), cudaErrorAssert);
    int *again;
    EXPECT_CODE(cudaMalloc(&again, 16), cudaErrorAssert);   // sticky: the context is gone
    CUDA_OK(cudaDeviceReset());
    CUDA_OK(cudaMalloc(&again, 16));                          // a fresh context after the reset
    CUDA_OK(cudaFree(again));
    return test_passed();
}
