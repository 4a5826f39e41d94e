// Per-block sums of 256 ints: a shuffle tree inside each warp, then the warp sums
// through shared memory and one more shuffle tree in warp 0.
#define BLOCK 256
#define WARPS (BLOCK / 32)

__device__ int warp_sum(int v)
{
    for (int offset = 16; offset > 0; offset >>= 1)
        v += __shfl_down_sync(0xffffffffu, v, offset);
    return v;
}

extern "C" __global__ void reduce_shfl(const int *in, int *out)
{
    __shared__ int warp_sums[WARPS];
    unsigned t = threadIdx.x, lane = t % 32, warp = t / 32;
    int v = warp_sum(in[(size_t)blockIdx.x * BLOCK + t]);
    if (lane == 0)
        warp_sums[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = warp_sum(lane < WARPS ? warp_sums[lane] : 0);
        if (lane == 0)
            out[blockIdx.x] = v;
    }
}
