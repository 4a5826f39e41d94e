// Reductions, scans and atomics: shared memory, warp shuffles, block barriers.
extern "C" __global__ void reduce_warp(const int *in, long long *out, int n)
{
    __shared__ long long warp_sums[32];
    long long s = 0;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x)
        s += in[i];
    for (int off = 16; off > 0; off >>= 1)
        s += __shfl_down_sync(0xffffffffu, s, off);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) warp_sums[warp] = s;
    __syncthreads();
    if (warp == 0) {
        int nw = (blockDim.x + 31) >> 5;
        long long v = lane < nw ? warp_sums[lane] : 0;
        for (int off = 16; off > 0; off >>= 1)
            v += __shfl_xor_sync(0xffffffffu, v, off);
        if (lane == 0) out[blockIdx.x] = v;
    }
}

// Hillis-Steele inclusive scan of one chunk per block; block totals go to sums.
extern "C" __global__ void scan_block(const int *in, int *out, int *sums, int n)
{
    extern __shared__ int buf[];
    int t = threadIdx.x;
    int i = blockIdx.x * blockDim.x + t;
    buf[t] = i < n ? in[i] : 0;
    __syncthreads();
    for (int off = 1; off < blockDim.x; off <<= 1) {
        int v = t >= off ? buf[t - off] : 0;
        __syncthreads();
        buf[t] += v;
        __syncthreads();
    }
    if (i < n) out[i] = buf[t];
    if (t == blockDim.x - 1) sums[blockIdx.x] = buf[t];
}

extern "C" __global__ void scan_fixup(int *out, const int *prefix, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n && blockIdx.x > 0) out[i] += prefix[blockIdx.x - 1];
}

// Warp-level inclusive scan with shfl.up, then across warps through shared memory.
extern "C" __global__ void scan_warp(const unsigned *in, unsigned *out, int n)
{
    __shared__ unsigned wsum[32];
    int t = threadIdx.x, lane = t & 31, warp = t >> 5;
    int i = blockIdx.x * blockDim.x + t;
    unsigned v = i < n ? in[i] : 0u;
    for (int off = 1; off < 32; off <<= 1) {
        unsigned u = __shfl_up_sync(0xffffffffu, v, off);
        if (lane >= off) v += u;
    }
    if (lane == 31) wsum[warp] = v;
    __syncthreads();
    if (warp == 0) {
        unsigned w = lane < (blockDim.x >> 5) ? wsum[lane] : 0u;
        for (int off = 1; off < 32; off <<= 1) {
            unsigned u = __shfl_up_sync(0xffffffffu, w, off);
            if (lane >= off) w += u;
        }
        wsum[lane] = w;
    }
    __syncthreads();
    if (warp > 0) v += wsum[warp - 1];
    if (i < n) out[i] = v;
}

// 256-bin histogram: shared atomics per block, merged with global atomics.
extern "C" __global__ void hist256(const unsigned char *in, unsigned *hist, int n)
{
    __shared__ unsigned h[256];
    for (int b = threadIdx.x; b < 256; b += blockDim.x) h[b] = 0;
    __syncthreads();
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x)
        atomicAdd(&h[in[i]], 1u);
    __syncthreads();
    for (int b = threadIdx.x; b < 256; b += blockDim.x)
        if (h[b]) atomicAdd(&hist[b], h[b]);
}

// Every atomic flavour on global memory.
extern "C" __global__ void atomics_mix(const int *in, int *acc, unsigned *uacc, float *facc, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    int v = in[i];
    atomicMax(&acc[0], v);
    atomicMin(&acc[1], v);
    atomicAnd(&acc[2], v | 0x0F0F0F0F);
    atomicOr(&acc[3], v & 0x01010101);
    atomicXor(&acc[4], v);
    atomicAdd(&acc[5], v);
    atomicInc(&uacc[0], 9u);
    atomicDec(&uacc[1], 5u);
    atomicAdd(&facc[0], (float)(v & 7));
    int old = atomicCAS(&acc[6], 0, i + 1);   // exactly one thread wins
    if (old == 0) atomicExch(&acc[7], i + 1);
}

// __syncthreads_count / _and / _or (bar.red).
extern "C" __global__ void sync_votes(const int *in, int *out, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int v = i < n ? in[i] : 0;
    int c = __syncthreads_count(v > 0);
    int a = __syncthreads_and(v != 3);
    int o = __syncthreads_or(v == 7);
    if (threadIdx.x == 0) {
        out[3 * blockIdx.x] = c;
        out[3 * blockIdx.x + 1] = a;
        out[3 * blockIdx.x + 2] = o;
    }
}
