// Bad input through the driver API: each call answers its documented CUresult and the
// program goes on (the library logs why; nothing crashes or hangs); a kernel fault is
// sticky for its context only.
//   errors DIR    (DIR holds kernels.ptx)
#include <cstring>
#include <string>

#include "check.h"

int main(int argc, char **argv)
{
    EXPECT(argc == 2);
    std::string dir = argv[1];
    CUdevice dev;
    CUcontext ctx;
    CUdeviceptr p;

    // before cuInit
    EXPECT_CODE(cuDeviceGet(&dev, 0), CUDA_ERROR_NOT_INITIALIZED);
    EXPECT_CODE(cuMemAlloc(&p, 16), CUDA_ERROR_NOT_INITIALIZED);
    EXPECT_CODE(cuInit(1), CUDA_ERROR_INVALID_VALUE);
    CU_OK(cuInit(0));

    // error names and strings
    const char *text = NULL;
    CU_OK(cuGetErrorName(CUDA_ERROR_INVALID_HANDLE, &text));
    EXPECT(std::strcmp(text, "CUDA_ERROR_INVALID_HANDLE") == 0);
    CU_OK(cuGetErrorString(CUDA_ERROR_OUT_OF_MEMORY, &text));
    EXPECT(std::strcmp(text, "out of memory") == 0);
    CU_OK(cuGetErrorName(CUDA_ERROR_LAUNCH_FAILED, &text));
    EXPECT(std::strcmp(text, "CUDA_ERROR_LAUNCH_FAILED") == 0);
    EXPECT_CODE(cuGetErrorString((CUresult)12345, &text), CUDA_ERROR_INVALID_VALUE);
    EXPECT(text == NULL);
    EXPECT_CODE(cuGetErrorName(CUDA_SUCCESS, NULL), CUDA_ERROR_INVALID_VALUE);

    // devices
    int count = 0;
    CU_OK(cuDeviceGetCount(&count));
    EXPECT_CODE(cuDeviceGet(&dev, count), CUDA_ERROR_INVALID_DEVICE);
    EXPECT_CODE(cuDeviceGet(NULL, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuDeviceGetCount(NULL), CUDA_ERROR_INVALID_VALUE);
    int value;
    EXPECT_CODE(cuDeviceGetAttribute(&value, (CUdevice_attribute)9999, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuDeviceGetAttribute(&value, CU_DEVICE_ATTRIBUTE_WARP_SIZE, 99), CUDA_ERROR_INVALID_DEVICE);
    char name[8];
    EXPECT_CODE(cuDeviceGetName(name, 0, 0), CUDA_ERROR_INVALID_VALUE);

    // no current context yet
    EXPECT_CODE(cuMemAlloc(&p, 16), CUDA_ERROR_INVALID_CONTEXT);
    EXPECT_CODE(cuCtxSynchronize(), CUDA_ERROR_INVALID_CONTEXT);
    EXPECT_CODE(cuCtxPopCurrent(&ctx), CUDA_ERROR_INVALID_CONTEXT);
    EXPECT_CODE(cuDevicePrimaryCtxRelease(0), CUDA_ERROR_INVALID_CONTEXT);

    // contexts
    EXPECT_CODE(cuCtxCreate(NULL, NULL, 0, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuCtxCreate(&ctx, NULL, 0x1000, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuCtxCreate(&ctx, NULL, 0, 42), CUDA_ERROR_INVALID_DEVICE);
    CUexecAffinityParam affinity;
    std::memset(&affinity, 0, sizeof affinity);
    CUctxCreateParams params;
    std::memset(&params, 0, sizeof params);
    params.execAffinityParams = &affinity;
    params.numExecAffinityParams = 1;
    EXPECT_CODE(cuCtxCreate(&ctx, &params, 0, 0), CUDA_ERROR_NOT_SUPPORTED);
    EXPECT_CODE(cuCtxDestroy((CUcontext)&params), CUDA_ERROR_INVALID_CONTEXT);
    EXPECT_CODE(cuCtxPushCurrent((CUcontext)&params), CUDA_ERROR_INVALID_CONTEXT);
    CU_OK(cuCtxCreate(&ctx, NULL, 0, 0));

    // memory
    EXPECT_CODE(cuMemAlloc(NULL, 16), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuMemAlloc(&p, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuMemAlloc(&p, (size_t)1 << 50), CUDA_ERROR_OUT_OF_MEMORY);
    CU_OK(cuMemAlloc(&p, 64));
    char host[128];
    EXPECT_CODE(cuMemcpyHtoD(p, host, 128), CUDA_ERROR_INVALID_VALUE);        // past the allocation
    EXPECT_CODE(cuMemcpyHtoD(p, NULL, 16), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuMemcpyDtoH(NULL, p, 16), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuMemcpyDtoH(host, 0x1234, 16), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuMemsetD32(p, 0, 17), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuMemFree(p + 4), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuMemFreeHost(host), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuMemHostAlloc((void **)&text, 16, 0x100), CUDA_ERROR_INVALID_VALUE);

    // modules and functions
    CUmodule mod;
    CUfunction fn;
    EXPECT_CODE(cuModuleLoad(&mod, "/nonexistent/kernels.ptx"), CUDA_ERROR_FILE_NOT_FOUND);
    EXPECT_CODE(cuModuleLoad(&mod, NULL), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuModuleLoadData(&mod, "this is not PTX"), CUDA_ERROR_INVALID_IMAGE);
    EXPECT_CODE(cuModuleLoadData(&mod, NULL), CUDA_ERROR_INVALID_VALUE);
    unsigned char bad_fatbin[32] = {0x50, 0xed, 0x55, 0xba, 1, 0, 16, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0};
    EXPECT_CODE(cuModuleLoadFatBinary(&mod, bad_fatbin), CUDA_ERROR_INVALID_IMAGE);
    CU_OK(cuModuleLoad(&mod, (dir + "/kernels.ptx").c_str()));
    EXPECT_CODE(cuModuleGetFunction(&fn, mod, "no_such_kernel"), CUDA_ERROR_NOT_FOUND);
    EXPECT_CODE(cuModuleGetFunction(&fn, mod, NULL), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuModuleGetFunction(&fn, (CUmodule)host, "scale"), CUDA_ERROR_INVALID_HANDLE);
    EXPECT_CODE(cuModuleGetGlobal(&p, NULL, mod, "no_such_global"), CUDA_ERROR_NOT_FOUND);
    CU_OK(cuModuleGetFunction(&fn, mod, "scale"));
    EXPECT_CODE(cuFuncGetAttribute(&value, (CUfunction_attribute)999, fn), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuOccupancyMaxActiveBlocksPerMultiprocessor(&value, fn, 0, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuOccupancyMaxActiveBlocksPerMultiprocessor(NULL, fn, 32, 0), CUDA_ERROR_INVALID_VALUE);

    // launches
    float a = 2.0f;
    int n = 16;
    void *args[] = {&p, &a, &n};
    EXPECT_CODE(cuLaunchKernel(fn, 1, 1, 1, 16, 1, 1, 0, NULL, NULL, NULL), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuLaunchKernel(fn, 0, 1, 1, 16, 1, 1, 0, NULL, args, NULL), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuLaunchKernel(fn, 1, 1, 1, 4096, 1, 1, 0, NULL, args, NULL), CUDA_ERROR_INVALID_VALUE);
    size_t wrong_size = 4;
    void *extra[] = {CU_LAUNCH_PARAM_BUFFER_POINTER, host, CU_LAUNCH_PARAM_BUFFER_SIZE, &wrong_size,
                     CU_LAUNCH_PARAM_END};
    EXPECT_CODE(cuLaunchKernel(fn, 1, 1, 1, 16, 1, 1, 0, NULL, NULL, extra), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuLaunchKernel(fn, 1, 1, 1, 16, 1, 1, 0, NULL, args, extra), CUDA_ERROR_INVALID_VALUE);
    void *bad_key[] = {(void *)7, host, CU_LAUNCH_PARAM_END};
    EXPECT_CODE(cuLaunchKernel(fn, 1, 1, 1, 16, 1, 1, 0, NULL, NULL, bad_key), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuLaunchKernel(fn, 1, 1, 1, 16, 1, 1, 0, (CUstream)host, args, NULL), CUDA_ERROR_INVALID_HANDLE);
    CU_OK(cuLaunchKernel(fn, 1, 1, 1, 16, 1, 1, 0, NULL, args, NULL));
    CU_OK(cuCtxSynchronize());

    // an unloaded module's function is no function any more
    CU_OK(cuModuleUnload(mod));
    EXPECT_CODE(cuLaunchKernel(fn, 1, 1, 1, 16, 1, 1, 0, NULL, args, NULL), CUDA_ERROR_INVALID_HANDLE);
    EXPECT_CODE(cuFuncGetAttribute(&value, CU_FUNC_ATTRIBUTE_NUM_REGS, fn), CUDA_ERROR_INVALID_HANDLE);
    EXPECT_CODE(cuModuleUnload(mod), CUDA_ERROR_INVALID_HANDLE);

    // streams and events
    CUstream stream;
    CUevent ev, other;
    EXPECT_CODE(cuStreamCreate(NULL, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuStreamCreate(&stream, 0x80), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuStreamDestroy((CUstream)host), CUDA_ERROR_INVALID_HANDLE);
    EXPECT_CODE(cuStreamDestroy(NULL), CUDA_ERROR_INVALID_HANDLE);
    EXPECT_CODE(cuStreamSynchronize((CUstream)host), CUDA_ERROR_INVALID_HANDLE);
    EXPECT_CODE(cuEventCreate(&ev, CU_EVENT_INTERPROCESS | CU_EVENT_DISABLE_TIMING), CUDA_ERROR_NOT_SUPPORTED);
    EXPECT_CODE(cuEventRecord((CUevent)host, NULL), CUDA_ERROR_INVALID_HANDLE);
    CU_OK(cuEventCreate(&ev, 0));
    CU_OK(cuEventCreate(&other, CU_EVENT_DISABLE_TIMING));
    CU_OK(cuEventRecord(ev, NULL));
    CU_OK(cuEventRecord(other, NULL));
    EXPECT_CODE(cuEventRecordWithFlags(other, NULL, 0x10), CUDA_ERROR_INVALID_VALUE);
    CU_OK(cuEventSynchronize(other));
    float ms;
    EXPECT_CODE(cuEventElapsedTime(&ms, ev, other), CUDA_ERROR_INVALID_HANDLE);
    EXPECT_CODE(cuEventElapsedTime(NULL, ev, ev), CUDA_ERROR_INVALID_VALUE);
    CU_OK(cuEventDestroy(ev));
    EXPECT_CODE(cuEventDestroy(ev), CUDA_ERROR_INVALID_HANDLE);
    CU_OK(cuEventDestroy(other));

    // queries and hints
    char bus[8];
    EXPECT_CODE(cuDeviceGetPCIBusId(bus, sizeof bus, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuCtxSetCacheConfig((CUfunc_cache)7), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuFuncSetCacheConfig(fn, CU_FUNC_CACHE_PREFER_L1), CUDA_ERROR_INVALID_HANDLE);
    EXPECT_CODE(cuFuncGetName(&text, fn), CUDA_ERROR_INVALID_HANDLE);
    CUdeviceptr base;
    size_t size;
    EXPECT_CODE(cuMemGetAddressRange(&base, &size, 0x10), CUDA_ERROR_NOT_FOUND);
    EXPECT_CODE(cuStreamGetFlags((CUstream)host, (unsigned int *)&value), CUDA_ERROR_INVALID_HANDLE);
    EXPECT_CODE(cuEventRecordWithFlags(ev, NULL, 0), CUDA_ERROR_INVALID_HANDLE);   // destroyed above

    // a destroyed context
    CU_OK(cuMemFree(p));
    CU_OK(cuCtxDestroy(ctx));
    EXPECT_CODE(cuCtxDestroy(ctx), CUDA_ERROR_INVALID_CONTEXT);
    EXPECT_CODE(cuCtxPushCurrent(ctx), CUDA_ERROR_INVALID_CONTEXT);
    EXPECT_CODE(cuMemAlloc(&p, 16), CUDA_ERROR_INVALID_CONTEXT);

    // damaged cubins: an NVIDIA ELF header claiming more than is there, or no sections
    unsigned char bad_cubin[64] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0x41, 8};
    bad_cubin[18] = 190;                                        // e_machine: EM_CUDA
    bad_cubin[40] = 0xff, bad_cubin[41] = 0xff, bad_cubin[42] = 0xff;   // e_shoff far away
    bad_cubin[58] = 64, bad_cubin[60] = 3;                      // three 64-byte section headers
    CU_OK(cuCtxCreate(&ctx, NULL, 0, 0));
    EXPECT_CODE(cuModuleLoadData(&mod, bad_cubin), CUDA_ERROR_INVALID_IMAGE);

    // a kernel that faults: the launch fails at the next synchronisation, and the context
    // stays failed (CUDA's sticky error) until it is destroyed; other contexts go on
    CU_OK(cuModuleLoad(&mod, (dir + "/kernels.ptx").c_str()));
    CU_OK(cuModuleGetFunction(&fn, mod, "scale"));
    CUdeviceptr wild = 0x10;
    void *wild_args[] = {&wild, &a, &n};
    CU_OK(cuLaunchKernel(fn, 1, 1, 1, 16, 1, 1, 0, NULL, wild_args, NULL));
    EXPECT_CODE(cuCtxSynchronize(), CUDA_ERROR_LAUNCH_FAILED);
    EXPECT_CODE(cuMemAlloc(&p, 16), CUDA_ERROR_LAUNCH_FAILED);
    EXPECT_CODE(cuLaunchKernel(fn, 1, 1, 1, 16, 1, 1, 0, NULL, args, NULL), CUDA_ERROR_LAUNCH_FAILED);
    CU_OK(cuCtxDestroy(ctx));
    CUcontext fresh;
    CU_OK(cuCtxCreate(&fresh, NULL, 0, 0));
    CU_OK(cuMemAlloc(&p, 16));
    CU_OK(cuMemFree(p));
    CU_OK(cuCtxDestroy(fresh));
    return test_passed();
}
