extern "C" __global__ void grid2d(const float *a, float *b, int w, int h)
{
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x < w && y < h)
        b[x * h + y] = a[y * w + x] * 2.0f + (float)y;
}
