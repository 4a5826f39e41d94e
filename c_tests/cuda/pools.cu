// Stream-ordered allocation with memory pools: the device's default pool keeps freed blocks
// up to its release threshold and hands them to later allocations that fit; trimming and
// the usage attributes; a pool of the program's own, made current for cudaMallocAsync and
// allocated from directly; a pool's maximum size; the codes of bad pools and attributes.
#include <cstdint>
#include <vector>

#include "check.h"

__global__ void iota(int *p, int n, int base)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        p[i] = base + i;
}

static unsigned long long attr(cudaMemPool_t pool, cudaMemPoolAttr a)
{
    unsigned long long v = 0;
    CUDA_OK(cudaMemPoolGetAttribute(pool, a, &v));
    return v;
}

static void check_block(int *p, int n, int base, cudaStream_t s)
{
    iota<<<(n + 255) / 256, 256, 0, s>>>(p, n, base);
    std::vector<int> back(n);
    CUDA_OK(cudaMemcpyAsync(back.data(), p, n * sizeof(int), cudaMemcpyDeviceToHost, s));
    CUDA_OK(cudaStreamSynchronize(s));
    for (int i = 0; i < n; i++)
        EXPECT(back[i] == base + i);
}

int main()
{
    const int n = 1 << 16;
    const size_t bytes = n * sizeof(int);
    cudaStream_t s;
    CUDA_OK(cudaStreamCreate(&s));
    cudaMemPool_t def = nullptr, cur = nullptr;
    CUDA_OK(cudaDeviceGetDefaultMemPool(&def, 0));
    CUDA_OK(cudaDeviceGetMemPool(&cur, 0));
    EXPECT(def != nullptr && cur == def);

    // threshold 0 (the default): a freed block goes back at once
    EXPECT(attr(def, cudaMemPoolAttrReleaseThreshold) == 0);
    int *a = nullptr;
    CUDA_OK(cudaMallocAsync(&a, bytes, s));
    check_block(a, n, 7, s);
    EXPECT(attr(def, cudaMemPoolAttrUsedMemCurrent) == bytes);
    CUDA_OK(cudaFreeAsync(a, s));
    CUDA_OK(cudaStreamSynchronize(s));
    EXPECT(attr(def, cudaMemPoolAttrReservedMemCurrent) == 0 && attr(def, cudaMemPoolAttrUsedMemCurrent) == 0);

    // a high threshold keeps the block; the next allocation that fits gets it again
    unsigned long long keep_all = UINT64_MAX;
    CUDA_OK(cudaMemPoolSetAttribute(def, cudaMemPoolAttrReleaseThreshold, &keep_all));
    CUDA_OK(cudaMallocAsync(&a, bytes, s));
    CUDA_OK(cudaFreeAsync(a, s));
    EXPECT(attr(def, cudaMemPoolAttrReservedMemCurrent) == bytes);
    int *b = nullptr, *c = nullptr;
    CUDA_OK(cudaMallocAsync(&b, bytes / 2, s));                  // fits in the kept block
    EXPECT(b == a);
    check_block(b, n / 2, 100, s);
    CUDA_OK(cudaMallocAsync(&c, bytes, s));                      // a new one
    EXPECT(c != a);
    EXPECT(attr(def, cudaMemPoolAttrUsedMemCurrent) == 2 * bytes);
    EXPECT(attr(def, cudaMemPoolAttrUsedMemHigh) == 2 * bytes);
    CUDA_OK(cudaFreeAsync(b, s));
    CUDA_OK(cudaFreeAsync(c, s));
    EXPECT(attr(def, cudaMemPoolAttrReservedMemCurrent) == 2 * bytes);
    CUDA_OK(cudaMemPoolTrimTo(def, bytes));                      // the largest goes first
    EXPECT(attr(def, cudaMemPoolAttrReservedMemCurrent) == bytes);
    CUDA_OK(cudaMemPoolTrimTo(def, 0));
    EXPECT(attr(def, cudaMemPoolAttrReservedMemCurrent) == 0);
    unsigned long long zero = 0;
    CUDA_OK(cudaMemPoolSetAttribute(def, cudaMemPoolAttrUsedMemHigh, &zero));
    EXPECT(attr(def, cudaMemPoolAttrUsedMemHigh) == 0);
    int reuse = 0;
    CUDA_OK(cudaMemPoolGetAttribute(def, cudaMemPoolReuseAllowOpportunistic, &reuse));
    EXPECT(reuse == 1);
    CUDA_OK(cudaMemPoolSetAttribute(def, cudaMemPoolAttrReleaseThreshold, &zero));

    // a pool of the program's own: allocated from directly, then made the device's current one
    cudaMemPoolProps props = {};
    props.allocType = cudaMemAllocationTypePinned;
    props.location.type = cudaMemLocationTypeDevice;
    props.location.id = 0;
    props.maxSize = 3 * bytes;
    cudaMemPool_t own = nullptr;
    CUDA_OK(cudaMemPoolCreate(&own, &props));
    EXPECT(own != def);
    CUDA_OK(cudaMemPoolSetAttribute(own, cudaMemPoolAttrReleaseThreshold, &keep_all));
    CUDA_OK(cudaMallocFromPoolAsync(&a, bytes, own, s));
    check_block(a, n, 3, s);
    CUDA_OK(cudaFreeAsync(a, s));
    EXPECT(attr(own, cudaMemPoolAttrReservedMemCurrent) == bytes && attr(def, cudaMemPoolAttrReservedMemCurrent) == 0);
    CUDA_OK(cudaDeviceSetMemPool(0, own));
    CUDA_OK(cudaDeviceGetMemPool(&cur, 0));
    EXPECT(cur == own);
    CUDA_OK(cudaMallocAsync(&b, bytes, s));                      // from the current pool: its kept block
    EXPECT(b == a);
    CUDA_OK(cudaMallocAsync(&c, 2 * bytes, s));
    EXPECT_CODE(cudaMallocFromPoolAsync(&a, bytes, own, s), cudaErrorMemoryAllocation);     // past maxSize
    CUDA_OK(cudaFree(c));                                        // cudaFree takes pool memory too
    CUDA_OK(cudaFreeAsync(b, s));
    CUDA_OK(cudaStreamSynchronize(s));
    CUDA_OK(cudaMemPoolDestroy(own));                            // the device is back on its default pool
    CUDA_OK(cudaDeviceGetMemPool(&cur, 0));
    EXPECT(cur == def);

    // bad pools, properties and attributes
    EXPECT_CODE(cudaMemPoolDestroy(own), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMemPoolDestroy(def), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMallocFromPoolAsync(&a, 64, own, s), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMallocFromPoolAsync(&a, 0, def, s), cudaErrorInvalidValue);
    EXPECT_CODE(cudaDeviceSetMemPool(0, nullptr), cudaErrorInvalidValue);
    EXPECT_CODE(cudaDeviceGetDefaultMemPool(&cur, 99), cudaErrorInvalidDevice);
    EXPECT_CODE(cudaDeviceGetDefaultMemPool(nullptr, 0), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMemPoolSetAttribute(def, cudaMemPoolAttrUsedMemCurrent, &zero), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMemPoolGetAttribute(def, (cudaMemPoolAttr)42, &zero), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMemPoolGetAttribute(def, cudaMemPoolAttrUsedMemCurrent, nullptr), cudaErrorInvalidValue);
    props.allocType = cudaMemAllocationTypeInvalid;
    EXPECT_CODE(cudaMemPoolCreate(&own, &props), cudaErrorInvalidValue);
    props.allocType = cudaMemAllocationTypePinned;
    props.handleTypes = cudaMemHandleTypePosixFileDescriptor;
    EXPECT_CODE(cudaMemPoolCreate(&own, &props), cudaErrorNotSupported);
    props.handleTypes = cudaMemHandleTypeNone;
    props.location.id = 99;
    EXPECT_CODE(cudaMemPoolCreate(&own, &props), cudaErrorInvalidDevice);
    EXPECT_CODE(cudaMemPoolCreate(&own, nullptr), cudaErrorInvalidValue);
    (void)cudaGetLastError();

    // a capture: stream-ordered allocation is not captured here
    CUDA_OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
    EXPECT_CODE(cudaMallocFromPoolAsync(&a, 64, def, s), cudaErrorStreamCaptureUnsupported);
    cudaGraph_t g;
    EXPECT_CODE(cudaStreamEndCapture(s, &g), cudaErrorStreamCaptureInvalidated);
    (void)cudaGetLastError();
    CUDA_OK(cudaStreamDestroy(s));
    return test_passed();
}
