// Several devices: stream-ordered allocation, copies between cards, and peer access refused
// (the cards have no path to each other's memory from a kernel).
#include "check.h"

__global__ void iota(int *p, int n, int base)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        p[i] = base + i;
}

int main()
{
    int count = 0;
    CUDA_OK(cudaGetDeviceCount(&count));
    EXPECT(count >= 2);
    const int n = 1000;
    cudaStream_t s0;
    CUDA_OK(cudaSetDevice(0));
    CUDA_OK(cudaStreamCreate(&s0));
    int *a = nullptr;
    CUDA_OK(cudaMallocAsync(&a, n * sizeof(int), s0));
    EXPECT(a != nullptr);
    iota<<<(n + 255) / 256, 256, 0, s0>>>(a, n, 7);

    CUDA_OK(cudaSetDevice(1));
    int *b = nullptr;
    CUDA_OK(cudaMalloc(&b, n * sizeof(int)));
    CUDA_OK(cudaStreamSynchronize(s0));
    CUDA_OK(cudaMemcpyPeer(b, 1, a, 0, n * sizeof(int)));
    int h[n];
    CUDA_OK(cudaMemcpy(h, b, sizeof h, cudaMemcpyDeviceToHost));
    for (int i = 0; i < n; i++)
        EXPECT(h[i] == 7 + i);
    CUDA_OK(cudaMemsetAsync(b, 0, sizeof h, 0));
    CUDA_OK(cudaMemcpyPeerAsync(a, 0, b, 1, 16 * sizeof(int), 0));
    CUDA_OK(cudaDeviceSynchronize());

    int can = -1;
    CUDA_OK(cudaDeviceCanAccessPeer(&can, 1, 0));
    EXPECT(can == 0);
    EXPECT_CODE(cudaDeviceEnablePeerAccess(0, 0), cudaErrorPeerAccessUnsupported);
    EXPECT_CODE(cudaDeviceEnablePeerAccess(1, 0), cudaErrorInvalidDevice);
    EXPECT_CODE(cudaDeviceEnablePeerAccess(count, 0), cudaErrorInvalidDevice);
    EXPECT_CODE(cudaDeviceDisablePeerAccess(0), cudaErrorPeerAccessNotEnabled);
    EXPECT_CODE(cudaMemcpyPeer(b, count, a, 0, 4), cudaErrorInvalidDevice);

    CUDA_OK(cudaSetDevice(0));
    CUDA_OK(cudaMemcpy(h, a, sizeof h, cudaMemcpyDeviceToHost));
    for (int i = 0; i < n; i++)
        EXPECT(h[i] == (i < 16 ? 0 : 7 + i));
    CUDA_OK(cudaFreeAsync(a, s0));
    CUDA_OK(cudaStreamSynchronize(s0));
    EXPECT_CODE(cudaFreeAsync(a, s0), cudaErrorInvalidDevicePointer);
    CUDA_OK(cudaStreamDestroy(s0));
    CUDA_OK(cudaSetDevice(1));
    CUDA_OK(cudaFree(b));
    return test_passed();
}
