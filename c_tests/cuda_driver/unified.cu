// The driver API's unified memory: managed allocations and registered host memory used by
// kernels and the host at one address, what cuPointerGetAttribute(s) says about each kind
// of memory, stream-ordered allocation, host functions on streams, a cooperative launch
// with grid-wide barriers, each entry point again through cuGetProcAddress, and the codes
// of bad input.
//   unified DIR    (DIR holds kernels.ptx)
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "check.h"

static CUmodule mod;

static void scale(CUdeviceptr x, float a, int n, CUstream s)
{
    CUfunction f;
    CU_OK(cuModuleGetFunction(&f, mod, "scale"));
    void *params[] = {&x, &a, &n};
    CU_OK(cuLaunchKernel(f, (n + 127) / 128, 1, 1, 128, 1, 1, 0, s, params, NULL));
}

template <typename T> static T attribute(CUpointer_attribute attr, CUdeviceptr p)
{
    T value;
    std::memset(&value, 0xab, sizeof value);
    CU_OK(cuPointerGetAttribute(&value, attr, p));
    return value;
}

static void managed(CUcontext ctx)
{
    const int n = 3000;
    CUdeviceptr m;
    CU_OK(cuMemAllocManaged(&m, n * sizeof(float), CU_MEM_ATTACH_GLOBAL));
    float *host = (float *)(uintptr_t)m;            // the host's pointer is the kernels'
    for (int i = 0; i < n; i++)
        host[i] = (float)i;
    scale(m, 3.0f, n, NULL);
    CU_OK(cuCtxSynchronize());
    for (int i = 0; i < n; i++)
        EXPECT(host[i] == 3.0f * i);
    // the copy calls treat it as device memory
    std::vector<float> back(n);
    CU_OK(cuMemcpyDtoH(back.data(), m + 4, (n - 1) * sizeof(float)));
    EXPECT(back[0] == 3.0f && back[n - 2] == 3.0f * (n - 1));

    EXPECT(attribute<unsigned int>(CU_POINTER_ATTRIBUTE_IS_MANAGED, m + 8) == 1);
    EXPECT(attribute<unsigned int>(CU_POINTER_ATTRIBUTE_MEMORY_TYPE, m) == CU_MEMORYTYPE_DEVICE);
    EXPECT(attribute<CUdeviceptr>(CU_POINTER_ATTRIBUTE_DEVICE_POINTER, m + 8) == m + 8);
    EXPECT(attribute<void *>(CU_POINTER_ATTRIBUTE_HOST_POINTER, m + 8) == (void *)(host + 2));
    EXPECT(attribute<CUdeviceptr>(CU_POINTER_ATTRIBUTE_RANGE_START_ADDR, m + 8) == m);
    EXPECT(attribute<size_t>(CU_POINTER_ATTRIBUTE_RANGE_SIZE, m + 8) == n * sizeof(float));
    EXPECT(attribute<CUcontext>(CU_POINTER_ATTRIBUTE_CONTEXT, m) == ctx);
    EXPECT(attribute<int>(CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, m) == 0);
    CU_OK(cuMemFree(m));

    EXPECT_CODE(cuMemAllocManaged(&m, 64, CU_MEM_ATTACH_SINGLE), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuMemAllocManaged(&m, 64, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuMemAllocManaged(&m, 0, CU_MEM_ATTACH_GLOBAL), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuMemAllocManaged(NULL, 64, CU_MEM_ATTACH_GLOBAL), CUDA_ERROR_INVALID_VALUE);
    unsigned int type = 0;                          // freed: no CUDA memory any more
    EXPECT_CODE(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, m), CUDA_ERROR_INVALID_VALUE);
}

static void registered(void)
{
    const int n = 5000;
    size_t bytes = n * sizeof(float);
    float *mine = (float *)std::aligned_alloc(4096, (bytes + 4095) & ~(size_t)4095);
    for (int i = 0; i < n; i++)
        mine[i] = (float)i;
    CU_OK(cuMemHostRegister(mine, bytes, CU_MEMHOSTREGISTER_DEVICEMAP));
    CUdeviceptr d;
    CU_OK(cuMemHostGetDevicePointer(&d, mine, 0));
    EXPECT(d == (CUdeviceptr)(uintptr_t)mine);
    scale(d, 0.5f, n, NULL);
    CU_OK(cuCtxSynchronize());
    for (int i = 0; i < n; i++)
        EXPECT(mine[i] == 0.5f * i);

    CUdeviceptr p = (CUdeviceptr)(uintptr_t)(mine + 10);
    EXPECT(attribute<unsigned int>(CU_POINTER_ATTRIBUTE_MEMORY_TYPE, p) == CU_MEMORYTYPE_HOST);
    EXPECT(attribute<unsigned int>(CU_POINTER_ATTRIBUTE_IS_MANAGED, p) == 0);
    EXPECT(attribute<void *>(CU_POINTER_ATTRIBUTE_HOST_POINTER, p) == (void *)(mine + 10));
    EXPECT(attribute<CUdeviceptr>(CU_POINTER_ATTRIBUTE_RANGE_START_ADDR, p) == (CUdeviceptr)(uintptr_t)mine);

    EXPECT_CODE(cuMemHostRegister(mine + 16, 64, 0), CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED);
    EXPECT_CODE(cuMemHostUnregister(mine + 16), CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED);
    CU_OK(cuMemHostUnregister(mine));
    EXPECT_CODE(cuMemHostUnregister(mine), CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED);
    EXPECT_CODE(cuMemHostRegister(mine, bytes, 0x100), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuMemHostRegister(mine, bytes, CU_MEMHOSTREGISTER_IOMEMORY), CUDA_ERROR_NOT_SUPPORTED);
    EXPECT_CODE(cuMemHostRegister(NULL, bytes, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuMemHostRegister(mine, 0, 0), CUDA_ERROR_INVALID_VALUE);
    std::free(mine);
}

static void pointer_kinds(void)
{
    CUdeviceptr d;
    CU_OK(cuMemAlloc(&d, 4096));
    void *pinned = NULL;
    CU_OK(cuMemAllocHost(&pinned, 4096));

    CUpointer_attribute attrs[] = {CU_POINTER_ATTRIBUTE_MEMORY_TYPE, CU_POINTER_ATTRIBUTE_DEVICE_POINTER,
                                   CU_POINTER_ATTRIBUTE_HOST_POINTER, CU_POINTER_ATTRIBUTE_RANGE_SIZE,
                                   CU_POINTER_ATTRIBUTE_MAPPED};
    unsigned int type = 0, mapped = 0;
    CUdeviceptr dev = 0;
    void *host = (void *)1;
    size_t size = 0;
    void *data[] = {&type, &dev, &host, &size, &mapped};
    CU_OK(cuPointerGetAttributes(5, attrs, data, d + 100));
    EXPECT(type == CU_MEMORYTYPE_DEVICE && dev == d + 100 && host == NULL && size == 4096 && mapped == 1);
    EXPECT_CODE(cuPointerGetAttribute(&host, CU_POINTER_ATTRIBUTE_HOST_POINTER, d), CUDA_ERROR_INVALID_VALUE);

    CU_OK(cuPointerGetAttributes(5, attrs, data, (CUdeviceptr)(uintptr_t)pinned + 8));
    CUdeviceptr mapped_at;
    CU_OK(cuMemHostGetDevicePointer(&mapped_at, pinned, 0));
    EXPECT(type == CU_MEMORYTYPE_HOST && dev == mapped_at + 8 && host == (char *)pinned + 8 && size == 4096);

    // memory no context knows: zeros from the plural form, INVALID_VALUE from the single one
    int local = 0;
    CU_OK(cuPointerGetAttributes(5, attrs, data, (CUdeviceptr)(uintptr_t)&local));
    EXPECT(type == 0 && dev == 0 && host == NULL && size == 0 && mapped == 0);
    EXPECT_CODE(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, (CUdeviceptr)(uintptr_t)&local),
                CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_P2P_TOKENS, d), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuPointerGetAttribute(NULL, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, d), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuPointerGetAttributes(0, attrs, data, d), CUDA_ERROR_INVALID_VALUE);
    CU_OK(cuMemFree(d));
    CU_OK(cuMemFreeHost(pinned));
}

static int calls = 0;
static void CUDA_CB count_call(void *arg) { calls += *(int *)arg; }
static void CUDA_CB check_stream(CUstream s, CUresult status, void *arg)
{
    if (status == CUDA_SUCCESS && s == (CUstream)arg)
        calls += 100;
}

static void stream_ordered(void)
{
    CUstream s;
    CU_OK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
    const int n = 1000;
    CUdeviceptr x;
    CU_OK(cuMemAllocAsync(&x, n * sizeof(float), s));
    std::vector<float> host(n, 2.0f);
    CU_OK(cuMemcpyHtoDAsync(x, host.data(), n * sizeof(float), s));
    scale(x, 4.0f, n, s);
    float *seen = new float[n];
    CU_OK(cuMemcpyDtoHAsync(seen, x, n * sizeof(float), s));
    int add = 1;
    CU_OK(cuLaunchHostFunc(s, count_call, &add));
    CU_OK(cuStreamAddCallback(s, check_stream, s, 0));
    CU_OK(cuMemFreeAsync(x, s));
    CU_OK(cuStreamSynchronize(s));
    EXPECT(calls == 101);
    for (int i = 0; i < n; i++)
        EXPECT(seen[i] == 8.0f);
    delete[] seen;

    EXPECT_CODE(cuMemFreeAsync(x, s), CUDA_ERROR_INVALID_VALUE);     // freed already
    EXPECT_CODE(cuMemAllocAsync(&x, 0, s), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuMemAllocAsync(NULL, 64, s), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuStreamAddCallback(s, check_stream, NULL, 1), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuStreamAddCallback(s, NULL, NULL, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuLaunchHostFunc(s, NULL, NULL), CUDA_ERROR_INVALID_VALUE);
    CU_OK(cuStreamDestroy(s));
    EXPECT_CODE(cuLaunchHostFunc(s, count_call, &add), CUDA_ERROR_INVALID_HANDLE);
}

static void cooperative(CUdevice dev)
{
    CUfunction mirror;
    CU_OK(cuModuleGetFunction(&mirror, mod, "mirror"));
    int coop = 0, sms = 0, per_sm = 0;
    CU_OK(cuDeviceGetAttribute(&coop, CU_DEVICE_ATTRIBUTE_COOPERATIVE_LAUNCH, dev));
    EXPECT(coop == 1);
    CU_OK(cuDeviceGetAttribute(&sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev));
    const int threads = 128;
    CU_OK(cuOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, mirror, threads, 0));
    int blocks = 4 < per_sm * sms ? 4 : per_sm * sms;
    int n = blocks * threads;
    CUdeviceptr a, out;
    CU_OK(cuMemAlloc(&a, n * sizeof(int)));
    CU_OK(cuMemAlloc(&out, (n + 1) * sizeof(int)));
    void *params[] = {&a, &out, &n};
    CU_OK(cuLaunchCooperativeKernel(mirror, blocks, 1, 1, threads, 1, 1, 0, NULL, params));
    std::vector<int> host(n + 1);
    CU_OK(cuMemcpyDtoH(host.data(), out, (n + 1) * sizeof(int)));
    long sum = 0;
    for (int i = 0; i < n; i++) {
        EXPECT(host[i] == 2 * (n - i));
        sum += host[i];
    }
    EXPECT(host[n] == sum);
    // more blocks than the card holds at once
    int too_many = per_sm * sms + 1;
    EXPECT_CODE(cuLaunchCooperativeKernel(mirror, too_many, 1, 1, threads, 1, 1, 0, NULL, params),
                CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE);
    EXPECT_CODE(cuLaunchCooperativeKernel(mirror, 0, 1, 1, threads, 1, 1, 0, NULL, params), CUDA_ERROR_INVALID_VALUE);
    CU_OK(cuMemFree(a));
    CU_OK(cuMemFree(out));
}

// The same cooperative kernel on two devices at once (CUDA_LAUNCH_PARAMS, one entry per
// device, each function from its device's module); mismatched entries are refused.
static void cooperative_multi_device(const std::string &dir)
{
    int count = 0, multi = 0;
    CU_OK(cuDeviceGetCount(&count));
    CUdevice first;
    CU_OK(cuDeviceGet(&first, 0));
    CU_OK(cuDeviceGetAttribute(&multi, CU_DEVICE_ATTRIBUTE_COOPERATIVE_MULTI_DEVICE_LAUNCH, first));
    EXPECT(multi == 1);
    const int devs = count < 2 ? count : 2, threads = 64, blocks = 2;
    int n = threads * blocks;
    CUcontext saved, ctx[2];
    CU_OK(cuCtxGetCurrent(&saved));
    CUmodule m[2];
    CUfunction f[2];
    CUdeviceptr a[2], out[2];
    CUstream st[2];
    void *params[2][3];
    CUDA_LAUNCH_PARAMS lp[2] = {};
    for (int d = 0; d < devs; d++) {
        CUdevice dev;
        CU_OK(cuDeviceGet(&dev, d));
        CU_OK(cuDevicePrimaryCtxRetain(&ctx[d], dev));
        CU_OK(cuCtxSetCurrent(ctx[d]));
        CU_OK(cuModuleLoad(&m[d], (dir + "/kernels.ptx").c_str()));
        CU_OK(cuModuleGetFunction(&f[d], m[d], "mirror"));
        CU_OK(cuMemAlloc(&a[d], n * sizeof(int)));
        CU_OK(cuMemAlloc(&out[d], (n + 1) * sizeof(int)));
        CU_OK(cuStreamCreate(&st[d], CU_STREAM_NON_BLOCKING));
        params[d][0] = &a[d];
        params[d][1] = &out[d];
        params[d][2] = &n;
        lp[d] = {f[d], (unsigned)blocks, 1, 1, (unsigned)threads, 1, 1, 0, st[d], params[d]};
    }
    CU_OK(cuLaunchCooperativeKernelMultiDevice(lp, devs, 0));
    for (int d = 0; d < devs; d++) {                 // finished: the launch waited for every kernel
        CU_OK(cuCtxSetCurrent(ctx[d]));
        std::vector<int> host(n + 1);
        CU_OK(cuMemcpyDtoH(host.data(), out[d], (n + 1) * sizeof(int)));
        long sum = 0;
        for (int i = 0; i < n; i++) {
            EXPECT(host[i] == 2 * (n - i));
            sum += host[i];
        }
        EXPECT(host[n] == sum);
    }
    EXPECT_CODE(cuLaunchCooperativeKernelMultiDevice(lp, devs, 4), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuLaunchCooperativeKernelMultiDevice(NULL, 1, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuLaunchCooperativeKernelMultiDevice(lp, 0, 0), CUDA_ERROR_INVALID_VALUE);
    CUDA_LAUNCH_PARAMS twice[2] = {lp[0], lp[0]};
    EXPECT_CODE(cuLaunchCooperativeKernelMultiDevice(twice, 2, 0), CUDA_ERROR_INVALID_VALUE);
    if (devs == 2) {
        lp[1].gridDimX = 1;                          // another shape on the second device
        EXPECT_CODE(cuLaunchCooperativeKernelMultiDevice(lp, 2, 0), CUDA_ERROR_INVALID_VALUE);
        lp[1].gridDimX = blocks;
        lp[0].hStream = st[1];                       // a stream of the other device's context
        EXPECT_CODE(cuLaunchCooperativeKernelMultiDevice(lp, 2, 0), CUDA_ERROR_INVALID_HANDLE);
    }
    for (int d = 0; d < devs; d++) {
        CU_OK(cuCtxSetCurrent(ctx[d]));
        CU_OK(cuStreamDestroy(st[d]));
        CU_OK(cuMemFree(a[d]));
        CU_OK(cuMemFree(out[d]));
        CU_OK(cuModuleUnload(m[d]));
        CUdevice dev;
        CU_OK(cuDeviceGet(&dev, d));
        CU_OK(cuDevicePrimaryCtxRelease(dev));
    }
    CU_OK(cuCtxSetCurrent(saved));
}

// Each entry point as cuGetProcAddress hands it out: the export cuda.h binds the plain name
// to (the per-thread default stream's form in a program built for it).
#ifdef CUDA_API_PER_THREAD_DEFAULT_STREAM
static const cuuint64_t BUILD_FLAGS = CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM;
static const cuuint64_t OTHER_FLAGS = CU_GET_PROC_ADDRESS_LEGACY_STREAM;
#else
static const cuuint64_t BUILD_FLAGS = CU_GET_PROC_ADDRESS_DEFAULT;
static const cuuint64_t OTHER_FLAGS = CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM;
#endif

template <typename F> static F proc(const char *name, cuuint64_t flags = BUILD_FLAGS)
{
    void *fn = NULL;
    CUdriverProcAddressQueryResult status = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
    CU_OK(cuGetProcAddress(name, &fn, 13000, flags, &status));
    EXPECT(fn != NULL && status == CU_GET_PROC_ADDRESS_SUCCESS);
    return (F)fn;
}

static void proc_addresses(void)
{
    EXPECT(proc<void *>("cuMemAllocManaged") == (void *)&cuMemAllocManaged);
    EXPECT(proc<void *>("cuMemHostRegister") == (void *)&cuMemHostRegister);
    EXPECT(proc<void *>("cuMemHostUnregister") == (void *)&cuMemHostUnregister);
    EXPECT(proc<void *>("cuMemHostGetDevicePointer") == (void *)&cuMemHostGetDevicePointer);
    EXPECT(proc<void *>("cuPointerGetAttribute") == (void *)&cuPointerGetAttribute);
    EXPECT(proc<void *>("cuPointerGetAttributes") == (void *)&cuPointerGetAttributes);
    EXPECT(proc<void *>("cuLaunchCooperativeKernel") == (void *)&cuLaunchCooperativeKernel);
    EXPECT(proc<void *>("cuMemAllocAsync") == (void *)&cuMemAllocAsync);
    EXPECT(proc<void *>("cuMemFreeAsync") == (void *)&cuMemFreeAsync);
    EXPECT(proc<void *>("cuStreamAddCallback") == (void *)&cuStreamAddCallback);
    EXPECT(proc<void *>("cuLaunchHostFunc") == (void *)&cuLaunchHostFunc);
    EXPECT(proc<void *>("cuStreamBeginCapture") == (void *)&cuStreamBeginCapture);
    EXPECT(proc<void *>("cuStreamEndCapture") == (void *)&cuStreamEndCapture);
    EXPECT(proc<void *>("cuStreamIsCapturing") == (void *)&cuStreamIsCapturing);
    EXPECT(proc<void *>("cuGraphInstantiate") == (void *)&cuGraphInstantiate);
    EXPECT(proc<void *>("cuGraphInstantiateWithFlags") == (void *)&cuGraphInstantiateWithFlags);
    EXPECT(proc<void *>("cuGraphLaunch") == (void *)&cuGraphLaunch);
    EXPECT(proc<void *>("cuGraphDestroy") == (void *)&cuGraphDestroy);
    EXPECT(proc<void *>("cuGraphExecDestroy") == (void *)&cuGraphExecDestroy);
    // the other default stream's forms are other exports
    EXPECT(proc<void *>("cuGraphLaunch", OTHER_FLAGS) != proc<void *>("cuGraphLaunch"));
    EXPECT(proc<void *>("cuStreamBeginCapture", OTHER_FLAGS) != proc<void *>("cuStreamBeginCapture"));
    EXPECT(proc<void *>("cuMemAllocAsync", OTHER_FLAGS) != proc<void *>("cuMemAllocAsync"));

    // and a call through one, typed as cuda.h declares it
    auto alloc = proc<decltype(&cuMemAllocManaged)>("cuMemAllocManaged");
    CUdeviceptr m;
    CU_OK(alloc(&m, 256, CU_MEM_ATTACH_HOST));
    auto get = proc<decltype(&cuPointerGetAttribute)>("cuPointerGetAttribute");
    unsigned int managed = 0;
    CU_OK(get(&managed, CU_POINTER_ATTRIBUTE_IS_MANAGED, m));
    EXPECT(managed == 1);
    CU_OK(cuMemFree(m));
}

int main(int argc, char **argv)
{
    EXPECT(argc == 2);
    std::string dir = argv[1];
    CU_OK(cuInit(0));
    CUdevice dev;
    CU_OK(cuDeviceGet(&dev, 0));
    CUcontext ctx;
    CU_OK(cuCtxCreate(&ctx, NULL, 0, dev));
    CU_OK(cuModuleLoad(&mod, (dir + "/kernels.ptx").c_str()));
    managed(ctx);
    registered();
    pointer_kinds();
    stream_ordered();
    cooperative(dev);
    cooperative_multi_device(dir);
    proc_addresses();
    CU_OK(cuModuleUnload(mod));
    CU_OK(cuCtxDestroy(ctx));
    return test_passed();
}
