// Device limits and cache preferences, function attributes, stream flags, asynchronous
// symbol and 2-D copies, 2-D memset, events recorded with flags.
#include "check.h"

__constant__ int lut[16];
__device__ float results[16];

__global__ void gather(int n)
{
    extern __shared__ int staged[];
    int i = threadIdx.x;
    if (i < n)
        staged[i] = lut[i] * lut[i];
    __syncthreads();
    if (i < n)
        results[i] = staged[n - 1 - i] + 0.5f;
}

int main()
{
    size_t value = 0;
    CUDA_OK(cudaDeviceSetLimit(cudaLimitPrintfFifoSize, 4 << 20));
    CUDA_OK(cudaDeviceGetLimit(&value, cudaLimitPrintfFifoSize));
    EXPECT(value == (4u << 20));
    CUDA_OK(cudaDeviceGetLimit(&value, cudaLimitStackSize));
    EXPECT(value > 0);
    EXPECT_CODE(cudaDeviceGetLimit(&value, (cudaLimit)77), cudaErrorUnsupportedLimit);
    cudaFuncCache cache = cudaFuncCachePreferL1;
    CUDA_OK(cudaDeviceSetCacheConfig(cudaFuncCachePreferShared));
    CUDA_OK(cudaDeviceGetCacheConfig(&cache));
    EXPECT(cache == cudaFuncCachePreferShared);
    CUDA_OK(cudaFuncSetCacheConfig(gather, cudaFuncCachePreferEqual));

    int shared_per_block = 0;
    CUDA_OK(cudaDeviceGetAttribute(&shared_per_block, cudaDevAttrMaxSharedMemoryPerBlock, 0));
    CUDA_OK(cudaFuncSetAttribute(gather, cudaFuncAttributeMaxDynamicSharedMemorySize, shared_per_block));
    EXPECT_CODE(cudaFuncSetAttribute(gather, cudaFuncAttributeMaxDynamicSharedMemorySize, shared_per_block + 1),
                cudaErrorInvalidValue);

    cudaStream_t s;
    unsigned flags = 99;
    int priority = 99;
    CUDA_OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    CUDA_OK(cudaStreamGetFlags(s, &flags));
    EXPECT(flags == cudaStreamNonBlocking);
    CUDA_OK(cudaStreamGetFlags(0, &flags));
    EXPECT(flags == 0);
    CUDA_OK(cudaStreamGetPriority(s, &priority));
    EXPECT(priority == 0);

    int h[16];
    for (int i = 0; i < 16; i++)
        h[i] = i + 1;
    CUDA_OK(cudaMemcpyToSymbolAsync(lut, h, sizeof h, 0, cudaMemcpyHostToDevice, s));
    gather<<<1, 16, 16 * sizeof(int), s>>>(16);
    float r[16];
    CUDA_OK(cudaMemcpyFromSymbolAsync(r, results, sizeof r, 0, cudaMemcpyDeviceToHost, s));
    cudaEvent_t e;
    CUDA_OK(cudaEventCreate(&e));
    CUDA_OK(cudaEventRecordWithFlags(e, s, cudaEventRecordDefault));
    CUDA_OK(cudaEventSynchronize(e));
    for (int i = 0; i < 16; i++)
        EXPECT(r[i] == (16 - i) * (16 - i) + 0.5f);

    // cudaLaunchKernelEx: a configuration with a hint attribute runs, a clustered one is refused
    cudaLaunchAttribute attrs[2];
    attrs[0].id = cudaLaunchAttributePriority;
    attrs[0].val.priority = 0;
    attrs[1].id = cudaLaunchAttributeIgnore;
    cudaLaunchConfig_t config = {};
    config.gridDim = dim3(1);
    config.blockDim = dim3(16);
    config.dynamicSmemBytes = 16 * sizeof(int);
    config.stream = s;
    config.attrs = attrs;
    config.numAttrs = 2;
    CUDA_OK(cudaMemcpyToSymbolAsync(lut, h, sizeof h, 0, cudaMemcpyHostToDevice, s));
    CUDA_OK(cudaLaunchKernelEx(&config, gather, 8));
    CUDA_OK(cudaMemcpyFromSymbolAsync(r, results, sizeof r, 0, cudaMemcpyDeviceToHost, s));
    CUDA_OK(cudaStreamSynchronize(s));
    for (int i = 0; i < 8; i++)
        EXPECT(r[i] == (8 - i) * (8 - i) + 0.5f);
    attrs[1].id = cudaLaunchAttributeClusterDimension;
    attrs[1].val.clusterDim.x = 2;
    attrs[1].val.clusterDim.y = 1;
    attrs[1].val.clusterDim.z = 1;
    EXPECT_CODE(cudaLaunchKernelEx(&config, gather, 8), cudaErrorNotSupported);

    // a 2-D region: set, copied out asynchronously with a pitch, the margins untouched
    const int w = 20, rows = 5;
    unsigned char *d;
    size_t pitch = 0;
    CUDA_OK(cudaMallocPitch((void **)&d, &pitch, 64, rows));
    CUDA_OK(cudaMemset2D(d, pitch, 0x11, 64, rows));
    CUDA_OK(cudaMemset2D(d + 4, pitch, 0x7e, w, rows));
    unsigned char out[rows][64];
    CUDA_OK(cudaMemcpy2DAsync(out, 64, d, pitch, 64, rows, cudaMemcpyDeviceToHost, s));
    CUDA_OK(cudaStreamSynchronize(s));
    for (int y = 0; y < rows; y++)
        for (int x = 0; x < 64; x++)
            EXPECT(out[y][x] == ((x >= 4 && x < 4 + w) ? 0x7e : 0x11));
    EXPECT_CODE(cudaMemset2D(d, 8, 0, 16, 2), cudaErrorInvalidPitchValue);
    CUDA_OK(cudaEventDestroy(e));
    CUDA_OK(cudaStreamDestroy(s));
    CUDA_OK(cudaFree(d));
    return test_passed();
}
