// Host threads, each with its own current device and stream, launching concurrently.
#include "check.h"
#include <thread>
#include <vector>

__global__ void add(int *p, int n, int k)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        p[i] += k;
}

static bool worker(int t, int devices)
{
    const int n = 4096, rounds = 10;
    if (cudaSetDevice(t % devices) != cudaSuccess)
        return false;
    int dev = -1;
    int *d = nullptr;
    cudaStream_t s;
    std::vector<int> h(n);
    bool ok = cudaGetDevice(&dev) == cudaSuccess && dev == t % devices &&
              cudaMalloc(&d, n * sizeof(int)) == cudaSuccess && cudaMemset(d, 0, n * sizeof(int)) == cudaSuccess &&
              cudaStreamCreate(&s) == cudaSuccess;
    if (!ok)
        return false;
    for (int r = 0; r < rounds; r++)
        add<<<n / 256, 256, 0, s>>>(d, n, t + 1);
    ok = cudaMemcpyAsync(h.data(), d, n * sizeof(int), cudaMemcpyDeviceToHost, s) == cudaSuccess &&
         cudaStreamSynchronize(s) == cudaSuccess;
    for (int i = 0; ok && i < n; i++)
        ok = h[i] == rounds * (t + 1);
    return ok && cudaStreamDestroy(s) == cudaSuccess && cudaFree(d) == cudaSuccess;
}

int main()
{
    int devices = 0;
    CUDA_OK(cudaGetDeviceCount(&devices));
    const int threads = 8;
    std::vector<char> ok(threads, 0);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; t++)
        pool.emplace_back([t, devices, &ok] { ok[t] = worker(t, devices); });
    for (auto &th : pool)
        th.join();
    for (int t = 0; t < threads; t++)
        EXPECT(ok[t]);
    int dev = -1;
    CUDA_OK(cudaGetDevice(&dev));
    EXPECT(dev == 0);                      // the main thread's device is its own
    return test_passed();
}
