// Barrier kernels for the engine-equivalence test: every block size, barriers in loops,
// threads that exit before a barrier, counted and named barriers, __syncthreads_count.
// Each block works on its own n = threads-per-block elements of `in`/`out`.
#define MAXT 1024

__device__ unsigned linear_tid() { return threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z); }
__device__ unsigned block_threads() { return blockDim.x * blockDim.y * blockDim.z; }
__device__ unsigned block_base() { return (blockIdx.x + gridDim.x * blockIdx.y) * block_threads(); }

// Bitonic sort of the block's elements (power-of-two blocks; others sort a prefix).
extern "C" __global__ void bar_bitonic(const int *in, int *out)
{
    __shared__ int s[MAXT];
    unsigned t = linear_tid(), n = block_threads();
    unsigned p2 = 1;
    while (p2 * 2 <= n) p2 *= 2;
    s[t] = in[block_base() + t];
    __syncthreads();
    for (unsigned k = 2; k <= p2; k <<= 1)
        for (unsigned j = k >> 1; j > 0; j >>= 1) {
            unsigned p = t ^ j;
            if (t < p2 && p > t) {
                int a = s[t], b = s[p];
                if ((a > b) == ((t & k) == 0)) { s[t] = b; s[p] = a; }
            }
            __syncthreads();
        }
    out[block_base() + t] = s[t];
}

// Hillis-Steele inclusive scan, double-buffered.
extern "C" __global__ void bar_scan(const int *in, int *out)
{
    __shared__ int s[2][MAXT];
    unsigned t = linear_tid(), n = block_threads();
    int cur = 0;
    s[0][t] = in[block_base() + t];
    __syncthreads();
    for (unsigned off = 1; off < n; off <<= 1) {
        int v = s[cur][t];
        if (t >= off) v += s[cur][t - off];
        s[1 - cur][t] = v;
        cur = 1 - cur;
        __syncthreads();
    }
    out[block_base() + t] = s[cur][t];
}

// Tree reduction; every thread then reads the block's sum.
extern "C" __global__ void bar_reduce(const int *in, int *out)
{
    __shared__ int s[MAXT];
    unsigned t = linear_tid(), n = block_threads();
    s[t] = in[block_base() + t];
    __syncthreads();
    for (unsigned half = (n + 1) / 2, len = n; len > 1; len = half, half = (half + 1) / 2) {
        if (t < len / 2) s[t] += s[t + half];
        __syncthreads();
    }
    out[block_base() + t] = s[0] + (int)t;
}

// A third of the threads leave before the barrier; the rest still pass it.
extern "C" __global__ void bar_early_exit(const int *in, int *out)
{
    __shared__ int s[MAXT];
    unsigned t = linear_tid(), n = block_threads();
    int v = in[block_base() + t];
    s[t] = v;
    if (t % 3 == 1) { out[block_base() + t] = -v; return; }
    __syncthreads();
    int left = s[(t + n - 1) % n];
    __syncthreads();
    s[t] = left * 2 + v;
    __syncthreads();
    out[block_base() + t] = s[(t + 2) % n];
}

// Divergent code that reconverges before each barrier; values live across several barriers.
extern "C" __global__ void bar_divergent(const int *in, int *out)
{
    __shared__ int s[MAXT];
    unsigned t = linear_tid(), n = block_threads();
    int a = in[block_base() + t], b = a * 3, c = 0;
    for (int round = 0; round < 4; ++round) {
        if ((t + round) & 1) { c += a; s[t] = b - c; } else { for (int i = 0; i < (a & 7); ++i) c ^= i * b; s[t] = c; }
        __syncthreads();
        a += s[(t * 7 + round) % n];
        __syncthreads();
    }
    out[block_base() + t] = a ^ b ^ c;
}

// bar.sync with a thread count: the first 64 threads sync among themselves on barrier 1.
extern "C" __global__ void bar_counted(const int *in, int *out)
{
    __shared__ int s[MAXT];
    unsigned t = linear_tid(), n = block_threads();
    s[t] = in[block_base() + t];
    if (t < 64 && n >= 64) {
        asm volatile("bar.sync 1, 64;" ::: "memory");
        int mirror = s[63 - t];
        asm volatile("bar.sync 1, 64;" ::: "memory");
        s[t] += mirror;
    }
    __syncthreads();
    out[block_base() + t] = s[(t + 1) % n];
}

// Named barriers, producer/consumer: warp 0 produces and arrives, warp 1 waits and consumes.
extern "C" __global__ void bar_named(const int *in, int *out)
{
    __shared__ int s[MAXT];
    unsigned t = linear_tid(), n = block_threads();
    int v = in[block_base() + t];
    if (n >= 64 && t < 64) {
        if (t < 32) {
            s[t] = v * 5;
            asm volatile("bar.arrive 2, 64;" ::: "memory");
        } else {
            asm volatile("bar.sync 2, 64;" ::: "memory");
            v += s[t - 32];
        }
    }
    __syncthreads();
    out[block_base() + t] = v;
}

// __syncthreads_count / _and / _or (bar.red).
extern "C" __global__ void bar_votes(const int *in, int *out)
{
    unsigned t = linear_tid();
    int v = in[block_base() + t];
    int cnt = __syncthreads_count(v & 1);
    int all = __syncthreads_and(v < 60);
    int any = __syncthreads_or(v == 7);
    out[block_base() + t] = cnt * 4 + all * 2 + any;
}

// 2-D and 3-D blocks: a transpose of the block's elements through shared memory.
extern "C" __global__ void bar_transpose(const int *in, int *out)
{
    __shared__ int s[MAXT];
    unsigned x = threadIdx.x, y = threadIdx.y, z = threadIdx.z;
    unsigned t = linear_tid();
    s[t] = in[block_base() + t];
    __syncthreads();
    unsigned tt = y + blockDim.y * (x + blockDim.x * z);
    out[block_base() + t] = s[tt % block_threads()] + (int)(x * 100 + y * 10 + z);
}
