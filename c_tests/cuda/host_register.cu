// cudaHostRegister: memory the program allocated itself, pinned; kernels reach it through
// cudaHostGetDevicePointer (the same address here), copies use it; unregistering and bad
// arguments get CUDA's codes.
#include <cstdlib>
#include <cstring>
#include "check.h"

__global__ void add_one(int *p, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        p[i] += 1;
}

int main()
{
    const int n = 3000;                              // not a whole number of pages
    int *buf = static_cast<int *>(std::malloc(n * sizeof(int)));
    EXPECT(buf != nullptr);
    for (int i = 0; i < n; i++)
        buf[i] = i;
    CUDA_OK(cudaHostRegister(buf, n * sizeof(int), cudaHostRegisterMapped));
    int *dev = nullptr;
    CUDA_OK(cudaHostGetDevicePointer(reinterpret_cast<void **>(&dev), buf, 0));
    EXPECT(dev != nullptr);
    add_one<<<(n + 255) / 256, 256>>>(dev, n);
    CUDA_OK(cudaDeviceSynchronize());
    for (int i = 0; i < n; i++)
        EXPECT(buf[i] == i + 1);

    // copies from and into registered memory, on a stream
    int *d = nullptr;
    cudaStream_t s;
    CUDA_OK(cudaStreamCreate(&s));
    CUDA_OK(cudaMalloc(&d, n * sizeof(int)));
    CUDA_OK(cudaMemcpyAsync(d, buf, n * sizeof(int), cudaMemcpyHostToDevice, s));
    add_one<<<(n + 255) / 256, 256, 0, s>>>(d, n);
    CUDA_OK(cudaMemcpyAsync(buf, d, n * sizeof(int), cudaMemcpyDeviceToHost, s));
    CUDA_OK(cudaStreamSynchronize(s));
    EXPECT(buf[0] == 2 && buf[n - 1] == n + 1);

    // twice, or an overlapping range: already registered; unregister once only
    EXPECT_CODE(cudaHostRegister(buf, 64, 0), cudaErrorHostMemoryAlreadyRegistered);
    EXPECT_CODE(cudaHostRegister(buf + 100, 64, 0), cudaErrorHostMemoryAlreadyRegistered);
    EXPECT_CODE(cudaHostUnregister(buf + 1), cudaErrorHostMemoryNotRegistered);
    CUDA_OK(cudaHostUnregister(buf));
    EXPECT_CODE(cudaHostUnregister(buf), cudaErrorHostMemoryNotRegistered);
    void *none = nullptr;
    EXPECT_CODE(cudaHostGetDevicePointer(&none, buf, 0), cudaErrorInvalidValue);
    EXPECT_CODE(cudaHostRegister(nullptr, 64, 0), cudaErrorInvalidValue);
    EXPECT_CODE(cudaHostRegister(buf, 64, 0x100), cudaErrorInvalidValue);
    EXPECT_CODE(cudaHostRegister(buf, 64, cudaHostRegisterIoMemory), cudaErrorNotSupported);

    // registered again after unregistering: still works
    CUDA_OK(cudaHostRegister(buf, n * sizeof(int), cudaHostRegisterDefault));
    add_one<<<(n + 255) / 256, 256>>>(buf, n);      // the host pointer itself, as with UVA
    CUDA_OK(cudaDeviceSynchronize());
    EXPECT(buf[5] == 8);
    CUDA_OK(cudaHostUnregister(buf));
    CUDA_OK(cudaStreamDestroy(s));
    CUDA_OK(cudaFree(d));
    std::free(buf);
    return test_passed();
}
