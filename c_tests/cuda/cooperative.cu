// Cooperative launches: grid-wide barriers (cooperative_groups' grid.sync()) across every
// block of a grid sized by the occupancy API; a grid that cannot be resident at once is
// refused with cudaErrorCooperativeLaunchTooLarge; a plain launch has no valid grid group.
#include <cooperative_groups.h>
#include "check.h"

namespace cg = cooperative_groups;

__global__ void mirror_sum(int *a, int *out, int n)
{
    cg::grid_group g = cg::this_grid();
    int i = (int)g.thread_rank();
    if (i < n)
        a[i] = i + 1;
    g.sync();                               // every block's writes are visible now
    if (i < n)
        out[i] = 2 * a[n - 1 - i];          // written by another block
    g.sync();
    if (i == 0) {
        int s = 0;
        for (int k = 0; k < n; k++)
            s += out[k];
        out[n] = s;
    }
}

__global__ void grid_valid(int *flag)
{
    if (blockIdx.x == 0 && threadIdx.x == 0)
        *flag = cg::this_grid().is_valid() ? 1 : 0;
}

int main()
{
    int dev = 0, coop = 0, sms = 0, per_sm = 0;
    CUDA_OK(cudaDeviceGetAttribute(&coop, cudaDevAttrCooperativeLaunch, dev));
    EXPECT(coop == 1);
    CUDA_OK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
    const int threads = 128;
    CUDA_OK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, mirror_sum, threads, 0));
    EXPECT(per_sm >= 1);
    int blocks = 4 < per_sm * sms ? 4 : per_sm * sms;
    int n = blocks * threads;
    int *a = nullptr, *out = nullptr;
    CUDA_OK(cudaMalloc(&a, n * sizeof(int)));
    CUDA_OK(cudaMalloc(&out, (n + 1) * sizeof(int)));
    void *args[] = {&a, &out, &n};
    CUDA_OK(cudaLaunchCooperativeKernel((void *)mirror_sum, dim3(blocks), dim3(threads), args, 0, 0));
    CUDA_OK(cudaDeviceSynchronize());
    int *host = new int[n + 1];
    CUDA_OK(cudaMemcpy(host, out, (n + 1) * sizeof(int), cudaMemcpyDeviceToHost));
    for (int i = 0; i < n; i++)
        EXPECT(host[i] == 2 * (n - i));
    EXPECT(host[n] == n * (n + 1));

    // again, through cudaLaunchKernelEx's cooperative attribute, on a stream
    cudaStream_t s;
    CUDA_OK(cudaStreamCreate(&s));
    CUDA_OK(cudaMemset(out, 0, (n + 1) * sizeof(int)));
    cudaLaunchAttribute attr;
    attr.id = cudaLaunchAttributeCooperative;
    attr.val.cooperative = 1;
    cudaLaunchConfig_t config = {};
    config.gridDim = dim3(blocks);
    config.blockDim = dim3(threads);
    config.stream = s;
    config.attrs = &attr;
    config.numAttrs = 1;
    CUDA_OK(cudaLaunchKernelEx(&config, mirror_sum, a, out, n));
    CUDA_OK(cudaStreamSynchronize(s));
    int total = 0;
    CUDA_OK(cudaMemcpy(&total, out + n, sizeof(int), cudaMemcpyDeviceToHost));
    EXPECT(total == n * (n + 1));

    // a grid larger than the card holds at once is refused, and the device stays usable
    int too_many = per_sm * sms + 1;
    EXPECT_CODE(cudaLaunchCooperativeKernel((void *)mirror_sum, dim3(too_many), dim3(threads), args, 0, 0),
                cudaErrorCooperativeLaunchTooLarge);
    EXPECT_CODE(cudaGetLastError(), cudaErrorCooperativeLaunchTooLarge);

    // grid_group::is_valid(): only in a cooperative launch
    int *flag = nullptr, valid = -1;
    CUDA_OK(cudaMalloc(&flag, sizeof(int)));
    grid_valid<<<2, 32>>>(flag);
    CUDA_OK(cudaMemcpy(&valid, flag, sizeof(int), cudaMemcpyDeviceToHost));
    EXPECT(valid == 0);
    void *fargs[] = {&flag};
    CUDA_OK(cudaLaunchCooperativeKernel((void *)grid_valid, dim3(2), dim3(32), fargs, 0, 0));
    CUDA_OK(cudaMemcpy(&valid, flag, sizeof(int), cudaMemcpyDeviceToHost));
    EXPECT(valid == 1);

    delete[] host;
    CUDA_OK(cudaStreamDestroy(s));
    CUDA_OK(cudaFree(a));
    CUDA_OK(cudaFree(out));
    CUDA_OK(cudaFree(flag));
    return test_passed();
}
