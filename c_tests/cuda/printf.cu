// Kernel printf: the runner checks these lines reach stdout.
#include "check.h"

__global__ void greet(int base, double scale)
{
    if (threadIdx.x < 3)
        printf("block %d thread %d value %d scaled %.2f\n", blockIdx.x, threadIdx.x, base + threadIdx.x,
               scale * threadIdx.x);
}

int main()
{
    greet<<<2, 32>>>(40, 1.5);
    CUDA_OK(cudaDeviceSynchronize());
    std::fflush(stdout);
    return test_passed();
}
