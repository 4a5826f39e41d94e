// __device__ and __constant__ variables through the symbol API and from kernels.
#include "check.h"

__constant__ float coeffs[4];
__device__ int counter;
__device__ int table[8] = {1, 2, 3, 4, 5, 6, 7, 8};

__global__ void poly(float *out, const float *in, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        float x = in[i];
        out[i] = coeffs[0] + x * (coeffs[1] + x * (coeffs[2] + x * coeffs[3]));
        atomicAdd(&counter, 1);
    }
}

__global__ void scale_table(int k)
{
    table[threadIdx.x] *= k;
}

int main()
{
    const float c[4] = {1.0f, 2.0f, 0.5f, 0.25f};
    CUDA_OK(cudaMemcpyToSymbol(coeffs, c, sizeof c));
    int zero = 0;
    CUDA_OK(cudaMemcpyToSymbol(counter, &zero, sizeof zero));

    size_t size = 0;
    CUDA_OK(cudaGetSymbolSize(&size, table));
    EXPECT(size == 8 * sizeof(int));
    int *table_addr = nullptr;
    CUDA_OK(cudaGetSymbolAddress((void **)&table_addr, table));
    EXPECT(table_addr != nullptr);

    const int n = 300;
    float in[n], out[n];
    for (int i = 0; i < n; i++)
        in[i] = i * 0.01f;
    float *din, *dout;
    CUDA_OK(cudaMalloc(&din, sizeof in));
    CUDA_OK(cudaMalloc(&dout, sizeof out));
    CUDA_OK(cudaMemcpy(din, in, sizeof in, cudaMemcpyHostToDevice));
    poly<<<(n + 127) / 128, 128>>>(dout, din, n);
    scale_table<<<1, 8>>>(3);
    CUDA_OK(cudaDeviceSynchronize());
    CUDA_OK(cudaMemcpy(out, dout, sizeof out, cudaMemcpyDeviceToHost));
    for (int i = 0; i < n; i++) {
        float x = in[i];
        float want = c[0] + x * (c[1] + x * (c[2] + x * c[3]));
        EXPECT(out[i] > want - 1e-4f && out[i] < want + 1e-4f);
    }
    int count = 0;
    CUDA_OK(cudaMemcpyFromSymbol(&count, counter, sizeof count));
    EXPECT(count == n);

    // the table through its symbol, through its address, and one element at an offset
    int t[8];
    CUDA_OK(cudaMemcpyFromSymbol(t, table, sizeof t));
    for (int i = 0; i < 8; i++)
        EXPECT(t[i] == 3 * (i + 1));
    int via_addr[8];
    CUDA_OK(cudaMemcpy(via_addr, table_addr, sizeof via_addr, cudaMemcpyDeviceToHost));
    for (int i = 0; i < 8; i++)
        EXPECT(via_addr[i] == t[i]);
    int fifth = 0;
    CUDA_OK(cudaMemcpyFromSymbol(&fifth, table, sizeof fifth, 4 * sizeof(int)));
    EXPECT(fifth == 15);

    // beyond the variable's end, and a wrong direction
    EXPECT_CODE(cudaMemcpyFromSymbol(t, table, sizeof t, 4), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMemcpyToSymbol(table, t, sizeof t, 0, cudaMemcpyDeviceToHost), cudaErrorInvalidMemcpyDirection);
    EXPECT_CODE(cudaMemcpyToSymbol(&zero, t, 4), cudaErrorInvalidSymbol);
    EXPECT(cudaGetLastError() == cudaErrorInvalidSymbol);
    return test_passed();
}
