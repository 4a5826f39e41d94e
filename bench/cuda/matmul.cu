// C = A * B for n x n floats (n a multiple of 16): 16x16 blocks, one output per
// thread, A and B staged through shared 16x16 tiles.
#define TILE 16

extern "C" __global__ void matmul16(const float *a, const float *b, float *c, int n)
{
    __shared__ float as[TILE][TILE];
    __shared__ float bs[TILE][TILE];
    int tx = threadIdx.x, ty = threadIdx.y;
    int row = blockIdx.y * TILE + ty, col = blockIdx.x * TILE + tx;
    float acc = 0.0f;
    for (int k0 = 0; k0 < n; k0 += TILE) {
        as[ty][tx] = a[(size_t)row * n + k0 + tx];
        bs[ty][tx] = b[(size_t)(k0 + ty) * n + col];
        __syncthreads();
        for (int k = 0; k < TILE; ++k)
            acc += as[ty][k] * bs[k][tx];
        __syncthreads();
    }
    c[(size_t)row * n + col] = acc;
}
