// Matrix kernels of the Gdev user test suite: n x n row-major matrices, one
// thread per element on a 2-D grid.  madd must stay the first kernel defined:
// the raw Gdev matrixadd test launches kernel index 0 of this image.

extern "C" __global__ void madd(const unsigned int *a, const unsigned int *b, unsigned int *c, unsigned int n)
{
    unsigned int row = blockIdx.y * blockDim.y + threadIdx.y;
    unsigned int col = blockIdx.x * blockDim.x + threadIdx.x;
    if (row < n && col < n)
        c[row * n + col] = a[row * n + col] + b[row * n + col];
}

extern "C" __global__ void mmul(const unsigned int *a, const unsigned int *b, unsigned int *c, unsigned int n)
{
    unsigned int row = blockIdx.y * blockDim.y + threadIdx.y;
    unsigned int col = blockIdx.x * blockDim.x + threadIdx.x;
    if (row < n && col < n) {
        unsigned int sum = 0;
        for (unsigned int k = 0; k < n; k++)
            sum += a[row * n + k] * b[k * n + col];
        c[row * n + col] = sum;
    }
}

extern "C" __global__ void fmadd(const float *a, const float *b, float *c, unsigned int n)
{
    unsigned int row = blockIdx.y * blockDim.y + threadIdx.y;
    unsigned int col = blockIdx.x * blockDim.x + threadIdx.x;
    if (row < n && col < n)
        c[row * n + col] = a[row * n + col] + b[row * n + col];
}

extern "C" __global__ void fmmul(const float *a, const float *b, float *c, unsigned int n)
{
    unsigned int row = blockIdx.y * blockDim.y + threadIdx.y;
    unsigned int col = blockIdx.x * blockDim.x + threadIdx.x;
    if (row < n && col < n) {
        float sum = 0.0f;
        for (unsigned int k = 0; k < n; k++)
            sum += a[row * n + k] * b[k * n + col];
        c[row * n + col] = sum;
    }
}
