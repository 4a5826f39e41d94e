// Managed memory: cudaMallocManaged and __managed__ variables, one pointer for the host and
// kernels, with no copies; __managed__ variables as symbols (copies, address, size);
// prefetching and advice accepted; bad arguments get CUDA's codes.
#include "check.h"

__managed__ int counter = 5;
__managed__ float table[4] = {1.0f, 2.0f, 3.0f, 4.0f};

__global__ void scale(float *v, int n, float k)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        v[i] *= k;
}

__global__ void bump(int by)
{
    atomicAdd(&counter, by);
    if (blockIdx.x == 0 && threadIdx.x < 4)
        table[threadIdx.x] += 0.5f;
}

__global__ void sum_through(const int *p, int n, int *out)   // a pointer the host handed over
{
    int s = 0;
    for (int i = 0; i < n; i++)
        s += p[i];
    *out = s;
}

int main()
{
    int attr = 0;
    CUDA_OK(cudaDeviceGetAttribute(&attr, cudaDevAttrManagedMemory, 0));
    EXPECT(attr == 1);

    // the host writes, the kernel scales in place, the host reads: no copies
    const int n = 1000;
    float *v = nullptr;
    CUDA_OK(cudaMallocManaged(&v, n * sizeof(float)));
    for (int i = 0; i < n; i++)
        v[i] = (float)i;
    cudaMemLocation dev = {cudaMemLocationTypeDevice, 0};
    CUDA_OK(cudaMemAdvise(v, n * sizeof(float), cudaMemAdviseSetPreferredLocation, dev));
    CUDA_OK(cudaMemPrefetchAsync(v, n * sizeof(float), dev, 0, 0));
    scale<<<(n + 127) / 128, 128>>>(v, n, 3.0f);
    CUDA_OK(cudaGetLastError());
    CUDA_OK(cudaDeviceSynchronize());
    for (int i = 0; i < n; i++)
        EXPECT(v[i] == 3.0f * i);

    // managed memory is device memory to the copy and fill calls too
    int *ints = nullptr, *out = nullptr;
    CUDA_OK(cudaMallocManaged(&ints, 64 * sizeof(int), cudaMemAttachHost));
    CUDA_OK(cudaMemset(ints, 0, 64 * sizeof(int)));
    for (int i = 0; i < 64; i++)
        EXPECT(ints[i] == 0);
    for (int i = 0; i < 64; i++)
        ints[i] = i + 1;
    CUDA_OK(cudaMalloc(&out, sizeof(int)));
    sum_through<<<1, 1>>>(ints, 64, out);
    int sum = 0;
    CUDA_OK(cudaMemcpy(&sum, out, sizeof(int), cudaMemcpyDefault));
    EXPECT(sum == 64 * 65 / 2);
    int back[4] = {0, 0, 0, 0};
    CUDA_OK(cudaMemcpy(back, ints + 10, sizeof(back), cudaMemcpyDefault));
    EXPECT(back[0] == 11 && back[3] == 14);

    // __managed__ variables: the initial values, host writes seen by kernels and back
    EXPECT(counter == 5 && table[2] == 3.0f);
    counter = 100;
    bump<<<2, 64>>>(2);
    CUDA_OK(cudaDeviceSynchronize());
    EXPECT(counter == 100 + 2 * 128);
    EXPECT(table[0] == 1.5f && table[3] == 4.5f);
    sum_through<<<1, 1>>>(&counter, 1, out);          // the host's &counter works in kernels
    CUDA_OK(cudaMemcpy(&sum, out, sizeof(int), cudaMemcpyDeviceToHost));
    EXPECT(sum == 356);

    // __managed__ variables as symbols: copies to and from them, their address and size
    int seven = 7;
    CUDA_OK(cudaMemcpyToSymbol(counter, &seven, sizeof seven));
    EXPECT(counter == 7);                               // the host sees the copy at once
    const float halves[2] = {0.25f, 0.75f};
    CUDA_OK(cudaMemcpyToSymbol(table, halves, sizeof halves, sizeof(float)));   // table[1], table[2]
    EXPECT(table[0] == 1.5f && table[1] == 0.25f && table[2] == 0.75f && table[3] == 4.5f);
    bump<<<1, 32>>>(3);
    CUDA_OK(cudaDeviceSynchronize());
    int now = 0;
    CUDA_OK(cudaMemcpyFromSymbol(&now, counter, sizeof now));
    EXPECT(now == 7 + 3 * 32 && now == counter);
    float tail[2] = {0.0f, 0.0f};
    CUDA_OK(cudaMemcpyFromSymbol(tail, table, sizeof tail, 2 * sizeof(float)));
    EXPECT(tail[0] == 1.25f && tail[1] == 5.0f);
    void *where = nullptr;
    CUDA_OK(cudaGetSymbolAddress(&where, counter));
    EXPECT(where == (void *)&counter);                  // one address for the host and kernels
    size_t table_size = 0;
    CUDA_OK(cudaGetSymbolSize(&table_size, table));
    EXPECT(table_size == sizeof(table));
    sum_through<<<1, 1>>>((const int *)where, 1, out);
    CUDA_OK(cudaMemcpy(&sum, out, sizeof(int), cudaMemcpyDeviceToHost));
    EXPECT(sum == now);
    cudaStream_t s;
    CUDA_OK(cudaStreamCreate(&s));
    int hundred = 100;
    CUDA_OK(cudaMemcpyToSymbolAsync(counter, &hundred, sizeof hundred, 0, cudaMemcpyHostToDevice, s));
    CUDA_OK(cudaMemcpyFromSymbolAsync(&now, counter, sizeof now, 0, cudaMemcpyDeviceToHost, s));
    CUDA_OK(cudaStreamSynchronize(s));
    EXPECT(now == 100 && counter == 100);
    CUDA_OK(cudaStreamDestroy(s));
    EXPECT_CODE(cudaMemcpyToSymbol(table, halves, sizeof halves, 3 * sizeof(float)), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMemcpyToSymbol(counter, &seven, sizeof seven, 0, cudaMemcpyDeviceToHost),
                cudaErrorInvalidMemcpyDirection);
    EXPECT_CODE(cudaMemcpyFromSymbol(&now, counter, 2 * sizeof now), cudaErrorInvalidValue);
    EXPECT(counter == 100);
    (void)cudaGetLastError();

    // bad arguments
    void *none = nullptr;
    EXPECT_CODE(cudaMallocManaged(&none, 16, cudaMemAttachSingle), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMemPrefetchAsync(out, sizeof(int), dev, 0, 0), cudaErrorInvalidValue);
    cudaMemLocation nowhere = {cudaMemLocationTypeDevice, 7};
    EXPECT_CODE(cudaMemPrefetchAsync(v, 16, nowhere, 0, 0), cudaErrorInvalidDevice);
    EXPECT_CODE(cudaMemAdvise(v, 16, (cudaMemoryAdvise)42, dev), cudaErrorInvalidValue);
    EXPECT_CODE(cudaGetLastError(), cudaErrorInvalidValue);

    CUDA_OK(cudaFree(v));
    CUDA_OK(cudaFree(ints));
    CUDA_OK(cudaFree(out));
    return test_passed();
}
