// The driver API outside modules: version, devices, primary and created contexts and
// their stack, memory of every kind, streams, events, queries and entry points by name.
//   basics DIR    (DIR holds kernels.ptx)
#include <cstring>
#include <string>
#include <vector>

#include "check.h"

static void devices(void)
{
    int version = 0, count = 0;
    CU_OK(cuDriverGetVersion(&version));
    EXPECT(version >= 13000);
    CU_OK(cuDeviceGetCount(&count));
    EXPECT(count >= 1);
    for (int i = 0; i < count; i++) {
        CUdevice dev;
        CU_OK(cuDeviceGet(&dev, i));
        char name[128];
        CU_OK(cuDeviceGetName(name, sizeof name, dev));
        EXPECT(std::strncmp(name, "aicard-sim", 10) == 0);
        size_t total = 0;
        CU_OK(cuDeviceTotalMem(&total, dev));
        EXPECT(total > 0);
        int warp = 0, sms = 0, major = 0, minor = 0, threads = 0;
        CU_OK(cuDeviceGetAttribute(&warp, CU_DEVICE_ATTRIBUTE_WARP_SIZE, dev));
        CU_OK(cuDeviceGetAttribute(&sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev));
        CU_OK(cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev));
        CU_OK(cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev));
        CU_OK(cuDeviceGetAttribute(&threads, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK, dev));
        EXPECT(warp == 32 && sms > 0 && major * 10 + minor >= 75 && threads >= 32);
        CUuuid uuid;
        CU_OK(cuDeviceGetUuid(&uuid, dev));
        EXPECT(uuid.bytes[0] == (char)i);
        if (i == count - 1)
            std::printf("device %d: %s, %zu MiB, %d SMs, compute %d.%d\n", i, name, total >> 20, sms, major,
                        minor);
    }
}

static void contexts(void)
{
    CUdevice dev;
    CU_OK(cuDeviceGet(&dev, 1));
    unsigned int flags = 99;
    int active = 1;
    CU_OK(cuDevicePrimaryCtxSetFlags(dev, CU_CTX_SCHED_BLOCKING_SYNC));
    CU_OK(cuDevicePrimaryCtxGetState(dev, &flags, &active));
    EXPECT(flags == CU_CTX_SCHED_BLOCKING_SYNC && active == 0);
    CUcontext primary, again;
    CU_OK(cuDevicePrimaryCtxRetain(&primary, dev));
    CU_OK(cuDevicePrimaryCtxRetain(&again, dev));
    EXPECT(primary == again);
    CU_OK(cuDevicePrimaryCtxGetState(dev, &flags, &active));
    EXPECT(active == 1);

    // a created context is current at once; push and pop stack others on it
    CUcontext created, current;
    CU_OK(cuCtxCreate(&created, NULL, 0, dev));
    CU_OK(cuCtxGetCurrent(&current));
    EXPECT(current == created);
    CU_OK(cuCtxPushCurrent(primary));
    CU_OK(cuCtxGetCurrent(&current));
    EXPECT(current == primary);
    unsigned int ctx_flags = 0;
    CU_OK(cuCtxGetFlags(&ctx_flags));
    EXPECT(ctx_flags == CU_CTX_SCHED_BLOCKING_SYNC);
    CUcontext popped;
    CU_OK(cuCtxPopCurrent(&popped));
    EXPECT(popped == primary);
    CUdevice on;
    CU_OK(cuCtxGetDevice(&on));
    EXPECT(on == dev);
    CU_OK(cuCtxSynchronize());
    CU_OK(cuCtxDestroy(created));
    CU_OK(cuCtxGetCurrent(&current));
    EXPECT(current == NULL);

    CU_OK(cuDevicePrimaryCtxRelease(dev));
    CU_OK(cuDevicePrimaryCtxGetState(dev, &flags, &active));
    EXPECT(active == 1);                       // one reference left
    CU_OK(cuDevicePrimaryCtxRelease(dev));
    CU_OK(cuDevicePrimaryCtxGetState(dev, &flags, &active));
    EXPECT(active == 0);
}

static void memory_streams_events(void)
{
    CUdevice dev;
    CU_OK(cuDeviceGet(&dev, 0));
    CUcontext ctx;
    CU_OK(cuCtxCreate(&ctx, NULL, CU_CTX_SCHED_AUTO, dev));
    size_t free_before = 0, total = 0, free_after = 0;
    CU_OK(cuMemGetInfo(&free_before, &total));
    EXPECT(free_before > 0 && free_before <= total);

    const size_t n = 1 << 16;
    CUdeviceptr a, b;
    CU_OK(cuMemAlloc(&a, n * 4));
    CU_OK(cuMemAlloc(&b, n * 4));
    CU_OK(cuMemGetInfo(&free_after, &total));
    EXPECT(free_after < free_before);

    unsigned int *pinned;
    CU_OK(cuMemAllocHost((void **)&pinned, n * 4));
    unsigned int *mapped;
    CU_OK(cuMemHostAlloc((void **)&mapped, n * 4, CU_MEMHOSTALLOC_DEVICEMAP));
    CUdeviceptr mapped_dev = 0;
    CU_OK(cuMemHostGetDevicePointer(&mapped_dev, mapped, 0));
    EXPECT(mapped_dev != 0);

    CUstream s1, s2;
    CU_OK(cuStreamCreate(&s1, CU_STREAM_DEFAULT));
    CU_OK(cuStreamCreate(&s2, CU_STREAM_NON_BLOCKING));
    CUevent start, copied, end;
    CU_OK(cuEventCreate(&start, CU_EVENT_DEFAULT));
    CU_OK(cuEventCreate(&copied, CU_EVENT_DISABLE_TIMING));
    CU_OK(cuEventCreate(&end, CU_EVENT_BLOCKING_SYNC));

    for (size_t i = 0; i < n; i++)
        pinned[i] = (unsigned int)(i * 2654435761u);
    CU_OK(cuEventRecord(start, s1));
    CU_OK(cuMemcpyHtoDAsync(a, pinned, n * 4, s1));
    CU_OK(cuEventRecord(copied, s1));
    CU_OK(cuStreamWaitEvent(s2, copied, 0));           // s2 copies what s1 uploaded
    CU_OK(cuMemcpyDtoDAsync(b, a, n * 4, s2));
    CU_OK(cuMemsetD32Async(a, 0xdeadbeef, n, s2));
    CU_OK(cuMemsetD16Async(a, 0x1234, 2, s2));
    CU_OK(cuMemsetD8Async(a, 0x56, 1, s2));
    CU_OK(cuEventRecord(end, s2));
    CU_OK(cuEventSynchronize(end));
    CU_OK(cuEventQuery(end));
    CU_OK(cuStreamQuery(s2));
    float ms = -1.0f;
    CU_OK(cuEventElapsedTime(&ms, start, end));
    EXPECT(ms >= 0.0f);

    std::vector<unsigned int> back(n);
    CU_OK(cuMemcpyDtoHAsync(back.data(), b, n * 4, s2));
    CU_OK(cuStreamSynchronize(s2));
    for (size_t i = 0; i < n; i++)
        EXPECT(back[i] == (unsigned int)(i * 2654435761u));
    CU_OK(cuMemcpyDtoH(back.data(), a, 16));
    EXPECT(back[0] == 0x12341256u && back[1] == 0xdeadbeefu && back[3] == 0xdeadbeefu);

    // synchronous forms on the default stream, each of its special handles
    CU_OK(cuMemsetD8(b, 0x7f, n * 4));
    CU_OK(cuMemsetD16(b, 0x0102, 4));
    CU_OK(cuMemcpyDtoD(a, b, n * 4));
    CU_OK(cuMemcpyDtoH(back.data(), a, n * 4));
    EXPECT(back[0] == 0x01020102u && back[2] == 0x7f7f7f7fu && back[n - 1] == 0x7f7f7f7fu);
    CU_OK(cuMemcpyHtoD(a, pinned, 8));
    CU_OK(cuStreamSynchronize(CU_STREAM_LEGACY));
    CU_OK(cuStreamSynchronize(CU_STREAM_PER_THREAD));
    CU_OK(cuStreamQuery(NULL));

    CU_OK(cuEventDestroy(start));
    CU_OK(cuEventDestroy(copied));
    CU_OK(cuEventDestroy(end));
    CU_OK(cuStreamDestroy(s1));
    CU_OK(cuStreamDestroy(s2));
    CU_OK(cuMemFreeHost(pinned));
    CU_OK(cuMemFreeHost(mapped));
    CU_OK(cuMemFree(a));
    CU_OK(cuMemFree(b));
    CU_OK(cuCtxDestroy(ctx));
}

// Queries about streams, contexts, functions and allocations, and the cache hints.
static void queries(const std::string &dir)
{
    CUdevice dev;
    CU_OK(cuDeviceGet(&dev, 0));
    char bus[32];
    CU_OK(cuDeviceGetPCIBusId(bus, sizeof bus, dev));
    EXPECT(std::strncmp(bus, "0000:", 5) == 0 && std::strlen(bus) == 12);
    CUcontext ctx, of_stream;
    CU_OK(cuCtxCreate(&ctx, NULL, 0, dev));
    unsigned int api = 0;
    CU_OK(cuCtxGetApiVersion(ctx, &api));
    EXPECT(api >= 3020);
    CU_OK(cuCtxGetApiVersion(NULL, &api));
    int least = -1, greatest = -1, priority = -1;
    CU_OK(cuCtxGetStreamPriorityRange(&least, &greatest));
    EXPECT(least == 0 && greatest == 0);
    CU_OK(cuCtxSetCacheConfig(CU_FUNC_CACHE_PREFER_SHARED));
    CUfunc_cache cache = CU_FUNC_CACHE_PREFER_L1;
    CU_OK(cuCtxGetCacheConfig(&cache));
    EXPECT(cache == CU_FUNC_CACHE_PREFER_NONE);

    CUstream stream;
    unsigned int flags = 99;
    CU_OK(cuStreamCreateWithPriority(&stream, CU_STREAM_NON_BLOCKING, -1));
    CU_OK(cuStreamGetFlags(stream, &flags));
    EXPECT(flags == CU_STREAM_NON_BLOCKING);
    CU_OK(cuStreamGetFlags(NULL, &flags));
    EXPECT(flags == 0);
    CU_OK(cuStreamGetPriority(stream, &priority));
    EXPECT(priority == 0);
    CU_OK(cuStreamGetCtx(stream, &of_stream));
    EXPECT(of_stream == ctx);

    CUmodule mod;
    CUfunction fn;
    CU_OK(cuModuleLoad(&mod, (dir + "/kernels.ptx").c_str()));
    CU_OK(cuModuleGetFunction(&fn, mod, "fill"));
    const char *name = NULL;
    CU_OK(cuFuncGetName(&name, fn));
    EXPECT(std::strcmp(name, "fill") == 0);
    CU_OK(cuFuncSetCacheConfig(fn, CU_FUNC_CACHE_PREFER_L1));

    CUdeviceptr p, base = 0;
    size_t size = 0;
    CU_OK(cuMemAlloc(&p, 1000));
    CU_OK(cuMemGetAddressRange(&base, &size, p + 123));
    EXPECT(base == p && size >= 1000);

    CUevent ev;
    CU_OK(cuEventCreate(&ev, CU_EVENT_DISABLE_TIMING));
    CU_OK(cuEventRecordWithFlags(ev, stream, CU_EVENT_RECORD_DEFAULT));
    CU_OK(cuEventSynchronize(ev));
    CU_OK(cuEventDestroy(ev));
    CU_OK(cuStreamDestroy(stream));
    CU_OK(cuMemFree(p));
    CU_OK(cuModuleUnload(mod));
    CU_OK(cuCtxDestroy(ctx));
}

// Entry points by name, as a loader that binds the driver at run time does.
static void proc_address(const std::string &dir)
{
    typedef CUresult (*alloc_fn)(CUdeviceptr *, size_t);
    typedef CUresult (*load_fn)(CUmodule *, const char *);
    typedef CUresult (*unload_fn)(CUmodule);
    void *fn = NULL;
    CUdriverProcAddressQueryResult status;
    CU_OK(cuGetProcAddress("cuMemAlloc", &fn, 13000, CU_GET_PROC_ADDRESS_DEFAULT, &status));
    EXPECT(status == CU_GET_PROC_ADDRESS_SUCCESS && fn == (void *)&cuMemAlloc_v2);
    CU_OK(cuGetProcAddress("cuCtxCreate", &fn, 13000, CU_GET_PROC_ADDRESS_DEFAULT, &status));
    EXPECT(fn == (void *)&cuCtxCreate_v4);
    CU_OK(cuGetProcAddress("cuLaunchKernel", &fn, 13000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, NULL));
    EXPECT(fn != NULL);
    EXPECT_CODE(cuGetProcAddress("cuNoSuchCall", &fn, 13000, 0, &status), CUDA_ERROR_NOT_FOUND);
    EXPECT(fn == NULL && status == CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);

    CUdevice dev;
    CUcontext ctx;
    CU_OK(cuDeviceGet(&dev, 2));
    CU_OK(cuDevicePrimaryCtxRetain(&ctx, dev));
    CU_OK(cuCtxPushCurrent(ctx));
    CU_OK(cuGetProcAddress("cuMemAlloc", &fn, 13000, 0, NULL));
    CUdeviceptr p = 0;
    CU_OK(((alloc_fn)fn)(&p, 256));
    EXPECT(p != 0);
    CU_OK(cuGetProcAddress("cuModuleLoad", &fn, 13000, 0, NULL));
    CUmodule mod;
    CU_OK(((load_fn)fn)(&mod, (dir + "/kernels.ptx").c_str()));
    CU_OK(cuGetProcAddress("cuModuleUnload", &fn, 13000, 0, NULL));
    CU_OK(((unload_fn)fn)(mod));
    CU_OK(cuMemFree(p));
    CU_OK(cuCtxPopCurrent(NULL));
    CU_OK(cuDevicePrimaryCtxRelease(dev));
}

int main(int argc, char **argv)
{
    EXPECT(argc == 2);
    CU_OK(cuInit(0));
    devices();
    contexts();
    memory_streams_events();
    queries(argv[1]);
    proc_address(argv[1]);
    return test_passed();
}
