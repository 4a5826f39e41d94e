// Templates and triple-chevron launches over several grid shapes and element types.
#include "check.h"
#include <vector>

template <typename T>
__global__ void axpy(T *y, const T *x, T a, int n)
{
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
        y[i] = a * x[i] + y[i];
}

__global__ void fill2d(int *out, int width, int height)
{
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x < width && y < height)
        out[y * width + x] = y * 1000 + x;
}

template <typename T>
static void run_axpy(int n, int blocks, int threads)
{
    std::vector<T> x(n), y(n);
    for (int i = 0; i < n; i++) {
        x[i] = T(i % 97);
        y[i] = T(3 * (i % 13));
    }
    T *dx, *dy;
    CUDA_OK(cudaMalloc(&dx, n * sizeof(T)));
    CUDA_OK(cudaMalloc(&dy, n * sizeof(T)));
    CUDA_OK(cudaMemcpy(dx, x.data(), n * sizeof(T), cudaMemcpyHostToDevice));
    CUDA_OK(cudaMemcpy(dy, y.data(), n * sizeof(T), cudaMemcpyHostToDevice));
    axpy<T><<<blocks, threads>>>(dy, dx, T(2), n);
    CUDA_OK(cudaGetLastError());
    std::vector<T> out(n);
    CUDA_OK(cudaMemcpy(out.data(), dy, n * sizeof(T), cudaMemcpyDeviceToHost));
    for (int i = 0; i < n; i++)
        EXPECT(out[i] == T(2) * x[i] + y[i]);
    CUDA_OK(cudaFree(dx));
    CUDA_OK(cudaFree(dy));
}

int main()
{
    run_axpy<float>(10000, 16, 256);
    run_axpy<int>(4097, 3, 128);
    run_axpy<double>(1000, 1, 1000);

    const int w = 70, h = 45;
    int *d;
    CUDA_OK(cudaMalloc(&d, w * h * sizeof(int)));
    dim3 block(16, 8), grid((w + 15) / 16, (h + 7) / 8);
    fill2d<<<grid, block>>>(d, w, h);
    CUDA_OK(cudaDeviceSynchronize());
    std::vector<int> out(w * h);
    CUDA_OK(cudaMemcpy(out.data(), d, out.size() * sizeof(int), cudaMemcpyDefault));
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            EXPECT(out[y * w + x] == y * 1000 + x);
    CUDA_OK(cudaFree(d));
    return test_passed();
}
