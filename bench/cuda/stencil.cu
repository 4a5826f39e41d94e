// 5-point stencil on a w x h grid (cells outside read as 0): 16x16 blocks stage their
// tile plus a one-cell halo in shared memory, edge threads loading the halo.
#define TILE 16

__device__ float cell(const float *in, int w, int h, int x, int y)
{
    return (x >= 0 && x < w && y >= 0 && y < h) ? in[(size_t)y * w + x] : 0.0f;
}

extern "C" __global__ void stencil5(const float *in, float *out, int w, int h)
{
    __shared__ float tile[TILE + 2][TILE + 2];
    int tx = threadIdx.x, ty = threadIdx.y;
    int x = blockIdx.x * TILE + tx, y = blockIdx.y * TILE + ty;
    tile[ty + 1][tx + 1] = cell(in, w, h, x, y);
    if (tx == 0)
        tile[ty + 1][0] = cell(in, w, h, x - 1, y);
    if (tx == TILE - 1)
        tile[ty + 1][TILE + 1] = cell(in, w, h, x + 1, y);
    if (ty == 0)
        tile[0][tx + 1] = cell(in, w, h, x, y - 1);
    if (ty == TILE - 1)
        tile[TILE + 1][tx + 1] = cell(in, w, h, x, y + 1);
    __syncthreads();
    if (x < w && y < h)
        out[(size_t)y * w + x] = 4.0f * tile[ty + 1][tx + 1] - tile[ty][tx + 1] - tile[ty + 2][tx + 1]
                                 - tile[ty + 1][tx] - tile[ty + 1][tx + 2];
}
