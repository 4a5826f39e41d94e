// Per-block sums of 2 * 512 floats: each thread adds a pair, then a shared-memory tree.
#define BLOCK 512

extern "C" __global__ void reduce_tree512(const float *in, float *out)
{
    __shared__ float buf[BLOCK];
    unsigned t = threadIdx.x;
    const float *chunk = in + (size_t)blockIdx.x * 2 * BLOCK;
    buf[t] = chunk[t] + chunk[t + BLOCK];
    __syncthreads();
    for (unsigned s = BLOCK / 2; s > 0; s >>= 1) {
        if (t < s)
            buf[t] += buf[t + s];
        __syncthreads();
    }
    if (t == 0)
        out[blockIdx.x] = buf[0];
}
