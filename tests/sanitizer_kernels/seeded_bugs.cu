// Kernels with one seeded bug each, for the sanitizer tests; clean_* ones have none.
extern "C" __global__ void oob_write(int *a, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    a[i + n] = i;                      // every thread writes past the end of a[0..n)
}

extern "C" __global__ void read_input(const int *in, int *out, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        out[i] = in[i] * 2;
}

extern "C" __global__ void shared_race(int *out)
{
    __shared__ int tile[64];
    tile[threadIdx.x] = threadIdx.x;
    // missing __syncthreads(): warp 1 reads what warp 0 writes
    out[threadIdx.x] = tile[63 - threadIdx.x];
}

extern "C" __global__ void clean_reverse(int *out)
{
    __shared__ int tile[64];
    tile[threadIdx.x] = threadIdx.x;
    __syncthreads();
    out[threadIdx.x] = tile[63 - threadIdx.x];
}

extern "C" __global__ void broadcast_race(int *out)
{
    volatile __shared__ int flag;      // volatile: else the compiler forwards the store
    if (threadIdx.x == 0)
        flag = 7;
    // missing __syncthreads(): warp 1 reads, every lane the same word, what warp 0 wrote
    out[threadIdx.x] = flag;
}

extern "C" __global__ void war_race(int *out)
{
    __shared__ int tile[64];
    tile[threadIdx.x] = threadIdx.x;
    __syncthreads();
    int v = tile[63 - threadIdx.x];
    // missing __syncthreads(): warp 0 overwrites what warp 1 still reads
    tile[threadIdx.x] = v + 1;
    __syncthreads();
    out[threadIdx.x] = tile[threadIdx.x];
}

extern "C" __global__ void waw_race(int *out)
{
    __shared__ int slot[32];
    slot[threadIdx.x % 32] = threadIdx.x;   // both warps write every slot
    __syncthreads();
    out[threadIdx.x] = slot[threadIdx.x % 32];
}

// Thread t of block b writes byte t * gridDim.x + b: every block marks bytes beside every
// other block's (initcheck's shadow has a bit per byte, eight of them to a shadow byte).
extern "C" __global__ void interleaved_bytes(unsigned char *p)
{
    p[threadIdx.x * gridDim.x + blockIdx.x] = (unsigned char)blockIdx.x;
}

// Partial warps on contiguous words (the JIT checks them as one masked vector): warp 0's
// odd lanes and warp 1's even lanes write disjoint words (no hazard), then warp 2's odd
// lanes read warp 0's words with no barrier between: a read after write, against warp 0.
extern "C" __global__ void masked_race(int *out)
{
    __shared__ int s[32];
    unsigned t = threadIdx.x;
    if (t < 32 && (t & 1))
        s[t] = t;
    if (t >= 32 && t < 64 && !(t & 1))
        s[t - 32] = t;
    if (t >= 64 && (t & 1))
        out[t] = s[t - 64];
}

// Every block reads the other warp's words with no barrier; block 0 first spins `spin`
// times, so on the JIT the other blocks meet the hazard before it does.
extern "C" __global__ void slow_block_race(int *out, int spin)
{
    __shared__ int s[64];
    int t = threadIdx.x;
    int acc = 0;
    if (blockIdx.x == 0)
        for (int i = 0; i < spin; ++i)
            acc = acc * 3 + i;
    s[t] = t + acc;
    out[blockIdx.x * 64 + t] = s[63 - t];
}

// Clean: warp 0 writes the even bytes, warp 1 the odd ones, of the same shared words; a
// barrier, then each thread reads its byte back.  No two threads touch one byte.
extern "C" __global__ void clean_interleaved_bytes(unsigned char *out)
{
    __shared__ unsigned char c[64];
    int t = threadIdx.x;
    int mine = t < 32 ? 2 * t : 2 * (t - 32) + 1;
    c[mine] = (unsigned char)t;
    __syncthreads();
    out[t] = c[mine];
}

// C = A * B, n x n (a multiple of 16), through 16x16 shared tiles: bench/cuda/matmul.cu.
// Its unrolled inner loop is one stretch of 32 shared loads, which the JIT checks at once
// (jit/racebatch.py).  FIRST_BARRIER false: warp 1 reads bs rows warp 0 just wrote.
template <bool FIRST_BARRIER>
__device__ void tile_matmul(const float *a, const float *b, float *c, int n)
{
    __shared__ float as[16][16];
    __shared__ float bs[16][16];
    int tx = threadIdx.x, ty = threadIdx.y;
    int row = blockIdx.y * 16 + ty, col = blockIdx.x * 16 + tx;
    float acc = 0.0f;
    for (int k0 = 0; k0 < n; k0 += 16) {
        as[ty][tx] = a[row * n + k0 + tx];
        bs[ty][tx] = b[(k0 + ty) * n + col];
        if (FIRST_BARRIER)
            __syncthreads();
        for (int k = 0; k < 16; ++k)
            acc += as[ty][k] * bs[k][tx];
        __syncthreads();
    }
    c[row * n + col] = acc;
}

extern "C" __global__ void clean_tile_matmul(const float *a, const float *b, float *c, int n)
{
    tile_matmul<true>(a, b, c, n);
}

extern "C" __global__ void tile_raw_race(const float *a, const float *b, float *c, int n)
{
    tile_matmul<false>(a, b, c, n);
}

// The tiled matmul of the test corpus (tests/kernels/corpus_linalg.cu: bounds-checked
// tile loads, M x K times K x N), missing its first barrier.  nvcc steps the registers it
// read %tid.x and %tid.y into as the loop's counters, after the loop's shared addresses
// are computed from them: the JIT's address analysis follows such a register to the
// definition a use sees (jit/affine.py), so this inner loop is a stretch checked at once.
extern "C" __global__ void bounded_tile_raw_race(const float *A, const float *B, float *C, int M, int N,
                                                 int K)
{
    __shared__ float As[16][16];
    __shared__ float Bs[16][16];
    int row = blockIdx.y * 16 + threadIdx.y;
    int col = blockIdx.x * 16 + threadIdx.x;
    float acc = 0.0f;
    for (int k0 = 0; k0 < K; k0 += 16) {
        int ak = k0 + threadIdx.x, bk = k0 + threadIdx.y;
        As[threadIdx.y][threadIdx.x] = (row < M && ak < K) ? A[row * K + ak] : 0.0f;
        Bs[threadIdx.y][threadIdx.x] = (bk < K && col < N) ? B[bk * N + col] : 0.0f;
#pragma unroll
        for (int k = 0; k < 16; ++k)
            acc += As[threadIdx.y][k] * Bs[k][threadIdx.x];
        __syncthreads();
    }
    if (row < M && col < N) C[row * N + col] = acc;
}

// One 16x16 tile product (a 16x16 block), then rows 2.. of bs overwritten with no barrier
// after the reads: warp 1's writes meet the reads every warp made of them, as the JIT's
// check of the whole stretch of reads recorded them (a write after read).
extern "C" __global__ void tile_war_race(const float *a, const float *b, float *c)
{
    __shared__ float as[16][16];
    __shared__ float bs[16][16];
    int tx = threadIdx.x, ty = threadIdx.y;
    as[ty][tx] = a[ty * 16 + tx];
    bs[ty][tx] = b[ty * 16 + tx];
    __syncthreads();
    float acc = 0.0f;
    for (int k = 0; k < 16; ++k)
        acc += as[ty][k] * bs[k][tx];
    if (ty >= 2)
        bs[ty][tx] = acc;              // missing __syncthreads() before it
    __syncthreads();
    c[ty * 16 + tx] = bs[ty][tx];
}

// A 5-point stencil on a 16x16 tile with a halo (18 words a row: a warp's two rows of
// reads overlap), then, with no barrier, rows 1.. of the tile overwritten by the warps
// after the first: warp 1's writes of row 1 meet warp 0's reads of it (a write after read,
// against the last of warp 0's reads of the word).
extern "C" __global__ void halo_war_race(const float *in, float *out)
{
    __shared__ float t[18][18];
    int tx = threadIdx.x, ty = threadIdx.y;
    for (int i = ty * 16 + tx; i < 18 * 18; i += 256)
        t[i / 18][i % 18] = in[i];
    __syncthreads();
    float v = t[ty + 1][tx + 1] + t[ty][tx + 1] + t[ty + 2][tx + 1] + t[ty + 1][tx] + t[ty + 1][tx + 2];
    if (ty >= 2)
        t[ty - 1][tx + 1] = v;         // missing __syncthreads() before it
    __syncthreads();
    out[ty * 16 + tx] = t[ty + 1][tx + 1];
}

// A tile times itself: the reads by row and the reads by column are of the same words.
// Then, with no barrier, the warps after the first overwrite their rows, which warp 0 read
// by column (a write after read, against the last of the writing warp's reads).
extern "C" __global__ void self_product_war_race(const float *a, float *c)
{
    __shared__ float s[16][16];
    int tx = threadIdx.x, ty = threadIdx.y;
    s[ty][tx] = a[ty * 16 + tx];
    __syncthreads();
    float acc = 0.0f;
    for (int k = 0; k < 16; ++k)
        acc += s[ty][k] * s[k][tx];
    if (ty >= 2)
        s[ty][tx] = acc;               // missing __syncthreads() before it
    __syncthreads();
    c[ty * 16 + tx] = s[ty][tx];
}
