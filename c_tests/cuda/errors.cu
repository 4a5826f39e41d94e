// Bad input through the CUDA face: each call gets CUDA's code and the program carries on.
#include "check.h"
#include <cstring>

__global__ void store(int *p) { p[threadIdx.x] = 1; }
static void not_a_kernel() {}

int main()
{
    int *d;
    CUDA_OK(cudaMalloc(&d, 64));
    int count = 0;
    CUDA_OK(cudaGetDeviceCount(&count));
    EXPECT_CODE(cudaSetDevice(count), cudaErrorInvalidDevice);
    EXPECT_CODE(cudaSetDevice(-1), cudaErrorInvalidDevice);
    cudaDeviceProp p;
    EXPECT_CODE(cudaGetDeviceProperties(&p, count + 5), cudaErrorInvalidDevice);
    EXPECT_CODE(cudaGetDeviceProperties(nullptr, 0), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMalloc(nullptr, 16), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMemcpy(nullptr, d, 4, cudaMemcpyDeviceToHost), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMemcpy(d, d, 4, (cudaMemcpyKind)9), cudaErrorInvalidMemcpyDirection);
    int host[4];
    EXPECT_CODE(cudaMemcpy(host, host + 1, 4, cudaMemcpyDeviceToHost), cudaErrorInvalidDevicePointer);
    EXPECT_CODE(cudaFree(host), cudaErrorInvalidDevicePointer);
    EXPECT_CODE(cudaFreeHost(host), cudaErrorInvalidHostPointer);
    EXPECT_CODE(cudaStreamSynchronize((cudaStream_t)0x7777), cudaErrorInvalidResourceHandle);
    EXPECT_CODE(cudaEventRecord((cudaEvent_t)0x7777, 0), cudaErrorInvalidResourceHandle);
    EXPECT_CODE(cudaDeviceGetAttribute(&count, (cudaDeviceAttr)5000, 0), cudaErrorInvalidValue);

    // launches: an unregistered function, a shape beyond the card, no arguments
    EXPECT_CODE(cudaLaunchKernel((const void *)not_a_kernel, dim3(1), dim3(1), nullptr, 0, 0),
                cudaErrorInvalidDeviceFunction);
    store<<<1, 4096>>>(d);
    EXPECT_CODE(cudaGetLastError(), cudaErrorInvalidConfiguration);
    EXPECT_CODE(cudaGetLastError(), cudaSuccess);         // not sticky: read and cleared
    store<<<dim3(1, 0, 1), 1>>>(d);
    EXPECT_CODE(cudaPeekAtLastError(), cudaErrorInvalidConfiguration);
    EXPECT_CODE(cudaPeekAtLastError(), cudaErrorInvalidConfiguration);
    cudaGetLastError();
    EXPECT_CODE(cudaLaunchKernel((const void *)store, dim3(1), dim3(1), nullptr, 0, 0), cudaErrorInvalidValue);

    // names and texts of codes, known and not
    EXPECT(std::strcmp(cudaGetErrorName(cudaErrorInvalidValue), "cudaErrorInvalidValue") == 0);
    EXPECT(std::strcmp(cudaGetErrorString(cudaErrorInvalidValue), "invalid argument") == 0);
    EXPECT(std::strcmp(cudaGetErrorName(cudaSuccess), "cudaSuccess") == 0);
    EXPECT(std::strcmp(cudaGetErrorString(cudaErrorMemoryAllocation), "out of memory") == 0);
    EXPECT(std::strlen(cudaGetErrorString((cudaError_t)12345)) > 0);

    // the device still works, and an illegal address is a sticky launch failure
    store<<<1, 4>>>(d);
    CUDA_OK(cudaDeviceSynchronize());
    store<<<1, 4>>>((int *)0x40);
    EXPECT_CODE(cudaDeviceSynchronize(), cudaErrorLaunchFailure);
    EXPECT_CODE(cudaMemset(d, 0, 4), cudaErrorLaunchFailure);
    CUDA_OK(cudaDeviceReset());
    CUDA_OK(cudaMalloc(&d, 64));
    store<<<1, 4>>>(d);
    CUDA_OK(cudaDeviceSynchronize());
    return test_passed();
}
