// Warp intrinsics, shared memory and barriers: a block reduction as real code writes it.
#include "check.h"

__device__ __forceinline__ int warp_sum(int v)
{
    for (int offset = warpSize / 2; offset > 0; offset /= 2)
        v += __shfl_down_sync(0xffffffffu, v, offset);
    return v;
}

__global__ void block_sum(const int *in, int *out, int n)
{
    __shared__ int partial[32];
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int v = i < n ? in[i] : 0;
    v = warp_sum(v);
    int lane = threadIdx.x % warpSize, warp = threadIdx.x / warpSize;
    if (lane == 0)
        partial[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < blockDim.x / warpSize ? partial[lane] : 0;
        v = warp_sum(v);
        if (lane == 0)
            atomicAdd(out, v);
    }
}

__global__ void votes(const int *in, unsigned *ballots, int *all_any)
{
    int x = in[threadIdx.x];
    unsigned b = __ballot_sync(0xffffffffu, x > 0);
    int all = __all_sync(0xffffffffu, x >= 0);
    int any = __any_sync(0xffffffffu, x > 100);
    int bcast = __shfl_sync(0xffffffffu, x, 3);
    if (threadIdx.x % 32 == 0) {
        ballots[threadIdx.x / 32] = b;
        all_any[threadIdx.x / 32] = all * 4 + any * 2 + (bcast == in[(threadIdx.x / 32) * 32 + 3]);
    }
}

int main()
{
    const int n = 100000;
    int *h = new int[n];
    long long want = 0;
    for (int i = 0; i < n; i++) {
        h[i] = (i * 7) % 101 - 50;
        want += h[i];
    }
    int *din, *dsum;
    CUDA_OK(cudaMalloc(&din, n * sizeof(int)));
    CUDA_OK(cudaMalloc(&dsum, sizeof(int)));
    CUDA_OK(cudaMemcpy(din, h, n * sizeof(int), cudaMemcpyHostToDevice));
    CUDA_OK(cudaMemset(dsum, 0, sizeof(int)));
    block_sum<<<(n + 255) / 256, 256>>>(din, dsum, n);
    int sum = 0;
    CUDA_OK(cudaMemcpy(&sum, dsum, sizeof sum, cudaMemcpyDeviceToHost));
    EXPECT(sum == want);

    int v[64];
    for (int i = 0; i < 64; i++)
        v[i] = (i % 3 == 0) ? i : 0;
    v[40] = 200;
    unsigned *dballots;
    int *dflags;
    CUDA_OK(cudaMalloc(&dballots, 2 * sizeof(unsigned)));
    CUDA_OK(cudaMalloc(&dflags, 2 * sizeof(int)));
    CUDA_OK(cudaMemcpy(din, v, sizeof v, cudaMemcpyHostToDevice));
    votes<<<1, 64>>>(din, dballots, dflags);
    unsigned ballots[2];
    int flags[2];
    CUDA_OK(cudaMemcpy(ballots, dballots, sizeof ballots, cudaMemcpyDeviceToHost));
    CUDA_OK(cudaMemcpy(flags, dflags, sizeof flags, cudaMemcpyDeviceToHost));
    for (int w = 0; w < 2; w++) {
        unsigned expect = 0;
        for (int l = 0; l < 32; l++)
            expect |= (v[w * 32 + l] > 0 ? 1u : 0u) << l;
        EXPECT(ballots[w] == expect);
    }
    EXPECT(flags[0] == 4 + 0 + 1);
    EXPECT(flags[1] == 4 + 2 + 1);
    delete[] h;
    return test_passed();
}
