// Streams, events, pinned memory, async copies, host callbacks.
#include "check.h"
#include <atomic>

__global__ void add_one(int *p, int n, int rounds)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        for (int r = 0; r < rounds; r++)
            p[i] += 1;
}

static std::atomic<int> host_calls{0};

static void CUDART_CB on_host(void *data)
{
    int *flag = static_cast<int *>(data);
    *flag = 1;
    host_calls++;
}

static void CUDART_CB on_stream(cudaStream_t, cudaError_t status, void *data)
{
    if (status == cudaSuccess)
        *static_cast<int *>(data) = 2;
    host_calls++;
}

int main()
{
    const int n = 1 << 16, chunks = 4, per = n / chunks;
    int *host, *dev;
    CUDA_OK(cudaMallocHost(&host, n * sizeof(int)));
    CUDA_OK(cudaMalloc(&dev, n * sizeof(int)));
    for (int i = 0; i < n; i++)
        host[i] = i;

    cudaStream_t streams[chunks];
    for (int s = 0; s < chunks; s++)
        CUDA_OK(s % 2 ? cudaStreamCreateWithFlags(&streams[s], cudaStreamNonBlocking)
                      : cudaStreamCreate(&streams[s]));
    cudaEvent_t start, stop;
    CUDA_OK(cudaEventCreate(&start));
    CUDA_OK(cudaEventCreateWithFlags(&stop, cudaEventBlockingSync));
    CUDA_OK(cudaEventRecord(start, 0));
    for (int s = 0; s < chunks; s++) {
        int off = s * per;
        CUDA_OK(cudaMemcpyAsync(dev + off, host + off, per * sizeof(int), cudaMemcpyHostToDevice, streams[s]));
        add_one<<<per / 256, 256, 0, streams[s]>>>(dev + off, per, s + 1);
        CUDA_OK(cudaMemcpyAsync(host + off, dev + off, per * sizeof(int), cudaMemcpyDeviceToHost, streams[s]));
    }
    for (int s = 0; s < chunks; s++)
        CUDA_OK(cudaStreamSynchronize(streams[s]));
    CUDA_OK(cudaEventRecord(stop, 0));
    CUDA_OK(cudaEventSynchronize(stop));
    EXPECT(cudaEventQuery(stop) == cudaSuccess);
    float ms = -1.0f;
    CUDA_OK(cudaEventElapsedTime(&ms, start, stop));
    EXPECT(ms >= 0.0f);
    for (int i = 0; i < n; i++)
        EXPECT(host[i] == i + i / per + 1);

    // an event orders one stream after another
    cudaEvent_t done;
    CUDA_OK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
    CUDA_OK(cudaMemsetAsync(dev, 0, n * sizeof(int), streams[0]));
    add_one<<<n / 256, 256, 0, streams[0]>>>(dev, n, 5);
    CUDA_OK(cudaEventRecord(done, streams[0]));
    CUDA_OK(cudaStreamWaitEvent(streams[1], done, 0));
    add_one<<<n / 256, 256, 0, streams[1]>>>(dev, n, 2);
    int flag_a = 0, flag_b = 0;
    CUDA_OK(cudaLaunchHostFunc(streams[1], on_host, &flag_a));
    CUDA_OK(cudaStreamAddCallback(streams[1], on_stream, &flag_b, 0));
    CUDA_OK(cudaMemcpyAsync(host, dev, n * sizeof(int), cudaMemcpyDeviceToHost, streams[1]));
    CUDA_OK(cudaStreamSynchronize(streams[1]));
    EXPECT(cudaStreamQuery(streams[1]) == cudaSuccess);
    EXPECT(flag_a == 1 && flag_b == 2 && host_calls == 2);
    for (int i = 0; i < n; i++)
        EXPECT(host[i] == 7);
    float no_timing;
    EXPECT_CODE(cudaEventElapsedTime(&no_timing, start, done), cudaErrorInvalidResourceHandle);

    cudaStream_t prio;
    int least = -1, greatest = -1;
    CUDA_OK(cudaDeviceGetStreamPriorityRange(&least, &greatest));
    CUDA_OK(cudaStreamCreateWithPriority(&prio, cudaStreamNonBlocking, greatest));
    CUDA_OK(cudaStreamDestroy(prio));
    for (int s = 0; s < chunks; s++)
        CUDA_OK(cudaStreamDestroy(streams[s]));
    CUDA_OK(cudaEventDestroy(start));
    CUDA_OK(cudaEventDestroy(stop));
    CUDA_OK(cudaEventDestroy(done));
    CUDA_OK(cudaFreeHost(host));
    CUDA_OK(cudaFree(dev));
    return test_passed();
}
