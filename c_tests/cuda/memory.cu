// Pitched 2-D memory, memset, mapped pinned memory, cudaMemcpyDefault, occupancy and
// function attributes.
#include "check.h"

__global__ void transpose_add(float *dst, size_t dpitch, const float *src, size_t spitch, int w, int h)
{
    int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x < w && y < h) {
        const float *srow = (const float *)((const char *)src + y * spitch);
        float *drow = (float *)((char *)dst + x * dpitch);
        drow[y] = srow[x] + 1.0f;
    }
}

__global__ void through_mapped(int *mapped, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        mapped[i] = mapped[i] * 2 + 1;
}

int main()
{
    const int w = 37, h = 23;
    float src[h][w], back[w][h];
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            src[y][x] = y * 100.0f + x;
    float *dsrc, *ddst;
    size_t spitch = 0, dpitch = 0;
    CUDA_OK(cudaMallocPitch((void **)&dsrc, &spitch, w * sizeof(float), h));
    CUDA_OK(cudaMallocPitch((void **)&ddst, &dpitch, h * sizeof(float), w));
    EXPECT(spitch >= w * sizeof(float) && spitch % 256 == 0);
    CUDA_OK(cudaMemcpy2D(dsrc, spitch, src, w * sizeof(float), w * sizeof(float), h, cudaMemcpyHostToDevice));
    dim3 block(8, 8), grid((w + 7) / 8, (h + 7) / 8);
    transpose_add<<<grid, block>>>(ddst, dpitch, dsrc, spitch, w, h);
    CUDA_OK(cudaMemcpy2D(back, h * sizeof(float), ddst, dpitch, h * sizeof(float), w, cudaMemcpyDeviceToHost));
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            EXPECT(back[x][y] == src[y][x] + 1.0f);
    EXPECT_CODE(cudaMemcpy2D(back, 4, ddst, dpitch, 8, 2, cudaMemcpyDeviceToHost), cudaErrorInvalidPitchValue);

    unsigned char bytes[1000];
    unsigned char *dbytes;
    CUDA_OK(cudaMalloc(&dbytes, sizeof bytes));
    CUDA_OK(cudaMemset(dbytes, 0xA5, sizeof bytes));
    CUDA_OK(cudaMemset(dbytes + 10, 0x5A, 5));
    CUDA_OK(cudaMemcpy(bytes, dbytes, sizeof bytes, cudaMemcpyDefault));
    for (int i = 0; i < 1000; i++)
        EXPECT(bytes[i] == ((i >= 10 && i < 15) ? 0x5A : 0xA5));

    const int n = 500;
    int *mapped, *dmapped;
    CUDA_OK(cudaHostAlloc(&mapped, n * sizeof(int), cudaHostAllocMapped));
    CUDA_OK(cudaHostGetDevicePointer((void **)&dmapped, mapped, 0));
    for (int i = 0; i < n; i++)
        mapped[i] = i;
    through_mapped<<<(n + 63) / 64, 64>>>(dmapped, n);
    CUDA_OK(cudaDeviceSynchronize());
    for (int i = 0; i < n; i++)
        EXPECT(mapped[i] == 2 * i + 1);

    cudaFuncAttributes attr;
    CUDA_OK(cudaFuncGetAttributes(&attr, through_mapped));
    EXPECT(attr.maxThreadsPerBlock > 0 && attr.sharedSizeBytes == 0);
    // occupancy within what the properties say a multiprocessor holds, and shrinking with
    // shared memory
    cudaDeviceProp prop;
    CUDA_OK(cudaGetDeviceProperties(&prop, 0));
    int blocks = 0, fewer = 0, none = -1;
    CUDA_OK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, through_mapped, 64, 0));
    EXPECT(blocks >= 1 && blocks <= prop.maxBlocksPerMultiProcessor &&
           blocks * 64 <= prop.maxThreadsPerMultiProcessor);
    CUDA_OK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&fewer, through_mapped, 64,
                                                          prop.sharedMemPerMultiprocessor / 2));
    EXPECT(fewer == 2 && fewer < blocks);
    CUDA_OK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&none, through_mapped, prop.maxThreadsPerBlock + 32, 0));
    EXPECT(none == 0);

    void *managed = nullptr;
    EXPECT_CODE(cudaMallocManaged(&managed, 0, cudaMemAttachGlobal), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMallocManaged(&managed, 64, 8), cudaErrorInvalidValue);
    size_t free_mem = 0, total_mem = 0;
    CUDA_OK(cudaMemGetInfo(&free_mem, &total_mem));
    EXPECT(free_mem < total_mem);
    CUDA_OK(cudaFreeHost(mapped));
    CUDA_OK(cudaFree(dbytes));
    CUDA_OK(cudaFree(dsrc));
    CUDA_OK(cudaFree(ddst));
    return test_passed();
}
