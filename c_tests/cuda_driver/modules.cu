// The driver API's module path: kernels.cu's device code loaded as a PTX file, a fat
// binary file, a fat binary in memory and cubins (with and without PTX), launched with kernelParams and with
// the packed `extra` form, a module variable read back, functions' attributes.
//   modules DIR    (DIR holds kernels.ptx, kernels.fatbin, kernels.cubin, kernels_lineinfo.cubin)
#include <cstring>
#include <string>
#include <vector>

#include "check.h"

static std::vector<char> read_file(const std::string &path)
{
    std::FILE *f = std::fopen(path.c_str(), "rb");
    EXPECT(f != NULL);
    std::vector<char> data;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
        data.insert(data.end(), buf, buf + n);
    std::fclose(f);
    return data;
}

// scale(x, a, n) through kernelParams, then the module's `hits` counter.
static void run_scale(CUmodule mod, float factor)
{
    const int n = 1000;
    std::vector<float> host(n);
    for (int i = 0; i < n; i++)
        host[i] = (float)i;
    CUdeviceptr x;
    CU_OK(cuMemAlloc(&x, n * sizeof(float)));
    CU_OK(cuMemcpyHtoD(x, host.data(), n * sizeof(float)));
    CUdeviceptr hits;
    size_t hits_size = 0;
    CU_OK(cuModuleGetGlobal(&hits, &hits_size, mod, "hits"));
    EXPECT(hits_size == sizeof(int));
    CU_OK(cuMemsetD32(hits, 0, 1));

    CUfunction scale;
    CU_OK(cuModuleGetFunction(&scale, mod, "scale"));
    int count = n;
    void *params[] = {&x, &factor, &count};
    CU_OK(cuLaunchKernel(scale, (n + 127) / 128, 1, 1, 128, 1, 1, 0, NULL, params, NULL));
    CU_OK(cuCtxSynchronize());

    CU_OK(cuMemcpyDtoH(host.data(), x, n * sizeof(float)));
    for (int i = 0; i < n; i++)
        EXPECT(host[i] == (float)i * factor);
    int counted = 0;
    CU_OK(cuMemcpyDtoH(&counted, hits, sizeof counted));
    EXPECT(counted == n);
    CU_OK(cuMemFree(x));
}

// fill(n, out, base) through `extra`: the parameters packed at their aligned offsets.
static void run_fill_extra(CUmodule mod)
{
    const int n = 77;
    CUdeviceptr out;
    CU_OK(cuMemAlloc(&out, n * sizeof(unsigned long long)));
    CUfunction fill;
    CU_OK(cuModuleGetFunction(&fill, mod, "fill"));
    struct {
        int n;
        unsigned long long *out;
        unsigned long long base;
    } packed = {n, (unsigned long long *)(uintptr_t)out, 1000000000000ull};
    size_t size = sizeof packed;
    EXPECT(size == 24);
    void *extra[] = {CU_LAUNCH_PARAM_BUFFER_POINTER, &packed, CU_LAUNCH_PARAM_BUFFER_SIZE, &size,
                     CU_LAUNCH_PARAM_END};
    CUstream stream;
    CU_OK(cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING));
    CU_OK(cuLaunchKernel(fill, 3, 1, 1, 32, 1, 1, 0, stream, NULL, extra));
    CU_OK(cuStreamSynchronize(stream));
    std::vector<unsigned long long> host(n);
    CU_OK(cuMemcpyDtoH(host.data(), out, n * sizeof(unsigned long long)));
    for (int i = 0; i < n; i++)
        EXPECT(host[i] == packed.base + (unsigned long long)i * 32);
    CU_OK(cuStreamDestroy(stream));
    CU_OK(cuMemFree(out));

    int threads = 0, regs = 0;
    CU_OK(cuFuncGetAttribute(&threads, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, fill));
    CU_OK(cuFuncGetAttribute(&regs, CU_FUNC_ATTRIBUTE_NUM_REGS, fill));
    EXPECT(threads >= 32 && regs > 0);

    // occupancy within what the device says a multiprocessor holds
    CUdevice dev;
    CU_OK(cuCtxGetDevice(&dev));
    int per_sm = 0, blocks = 0, none = -1;
    CU_OK(cuDeviceGetAttribute(&per_sm, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR, dev));
    CU_OK(cuOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, fill, 128, 0));
    EXPECT(blocks >= 1 && blocks * 128 <= per_sm);
    CU_OK(cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(&none, fill, threads + 1, 0, 0));
    EXPECT(none == 0);
}

int main(int argc, char **argv)
{
    EXPECT(argc == 2);
    std::string dir = argv[1];
    CUdevice dev = use_primary_context();

    // a PTX file
    CUmodule ptx;
    CU_OK(cuModuleLoad(&ptx, (dir + "/kernels.ptx").c_str()));
    run_scale(ptx, 2.0f);
    run_fill_extra(ptx);
    CU_OK(cuModuleUnload(ptx));

    // a fat binary file
    CUmodule fat;
    CU_OK(cuModuleLoad(&fat, (dir + "/kernels.fatbin").c_str()));
    run_scale(fat, 3.0f);
    CU_OK(cuModuleUnload(fat));

    // the same fat binary from memory, both ways
    std::vector<char> image = read_file(dir + "/kernels.fatbin");
    CU_OK(cuModuleLoadFatBinary(&fat, image.data()));
    run_fill_extra(fat);
    CU_OK(cuModuleUnload(fat));
    CUjit_option options[] = {CU_JIT_MAX_REGISTERS};
    void *values[] = {(void *)(uintptr_t)64};
    CU_OK(cuModuleLoadDataEx(&fat, image.data(), 1, options, values));
    run_scale(fat, -1.0f);
    CU_OK(cuModuleUnload(fat));

    // PTX text from memory
    std::vector<char> text = read_file(dir + "/kernels.ptx");
    text.push_back('\0');
    CU_OK(cuModuleLoadData(&ptx, text.data()));
    run_scale(ptx, 0.5f);
    CU_OK(cuModuleUnload(ptx));

    // a plain cubin holds machine code only: refused, and the program goes on
    CUmodule cubin = NULL;
    EXPECT_CODE(cuModuleLoad(&cubin, (dir + "/kernels.cubin").c_str()), CUDA_ERROR_NO_BINARY_FOR_GPU);
    std::vector<char> cubin_image = read_file(dir + "/kernels.cubin");
    EXPECT_CODE(cuModuleLoadData(&cubin, cubin_image.data()), CUDA_ERROR_NO_BINARY_FOR_GPU);
    EXPECT(cubin == NULL);

    // one built with -lineinfo carries its PTX along, and runs
    CU_OK(cuModuleLoad(&cubin, (dir + "/kernels_lineinfo.cubin").c_str()));
    run_scale(cubin, 4.0f);
    CU_OK(cuModuleUnload(cubin));
    cubin_image = read_file(dir + "/kernels_lineinfo.cubin");
    CU_OK(cuModuleLoadData(&cubin, cubin_image.data()));
    run_fill_extra(cubin);
    CU_OK(cuModuleUnload(cubin));

    CU_OK(cuDevicePrimaryCtxRelease(dev));
    return test_passed();
}
