// deviceQuery-style: print what the runtime says of each device, and check it hangs together.
#include "check.h"
#include <cstring>

int main()
{
    int runtime = 0, driver = 0, count = 0;
    CUDA_OK(cudaRuntimeGetVersion(&runtime));
    CUDA_OK(cudaDriverGetVersion(&driver));
    EXPECT(runtime >= 13000 && driver >= runtime);
    CUDA_OK(cudaGetDeviceCount(&count));
    EXPECT(count > 0);
    std::printf("CUDA driver %d.%d, runtime %d.%d, %d device(s)\n", driver / 1000, driver % 1000 / 10,
                runtime / 1000, runtime % 1000 / 10, count);
    for (int dev = 0; dev < count; dev++) {
        cudaDeviceProp p;
        std::memset(&p, 0xff, sizeof p);
        CUDA_OK(cudaGetDeviceProperties(&p, dev));
        std::printf("Device %d: \"%s\"\n", dev, p.name);
        std::printf("  compute capability            %d.%d\n", p.major, p.minor);
        std::printf("  global memory                 %zu MiB\n", p.totalGlobalMem >> 20);
        std::printf("  multiprocessors               %d\n", p.multiProcessorCount);
        std::printf("  warp size                     %d\n", p.warpSize);
        std::printf("  max threads per block         %d\n", p.maxThreadsPerBlock);
        std::printf("  max block                     %d x %d x %d\n", p.maxThreadsDim[0], p.maxThreadsDim[1],
                    p.maxThreadsDim[2]);
        std::printf("  max grid                      %d x %d x %d\n", p.maxGridSize[0], p.maxGridSize[1],
                    p.maxGridSize[2]);
        std::printf("  shared memory per block       %zu bytes\n", p.sharedMemPerBlock);
        std::printf("  constant memory               %zu bytes\n", p.totalConstMem);
        std::printf("  PCI bus / device              %d / %d\n", p.pciBusID, p.pciDeviceID);
        EXPECT(std::strlen(p.name) > 0 && std::strlen(p.name) < 256);
        EXPECT(p.warpSize == 32);
        EXPECT(p.multiProcessorCount > 0 && p.totalGlobalMem > 0 && p.maxThreadsPerBlock >= 32);
        EXPECT(p.major >= 7 && p.canMapHostMemory == 1 && p.managedMemory == 1 && p.concurrentManagedAccess == 1);
        for (int r = 0; r < 56; r++)
            EXPECT(p.reserved[r] == 0);
        // the attribute API agrees with the properties
        const struct { cudaDeviceAttr attr; int want; } agree[] = {
            {cudaDevAttrWarpSize, p.warpSize},
            {cudaDevAttrMultiProcessorCount, p.multiProcessorCount},
            {cudaDevAttrMaxThreadsPerBlock, p.maxThreadsPerBlock},
            {cudaDevAttrMaxBlockDimX, p.maxThreadsDim[0]},
            {cudaDevAttrMaxGridDimX, p.maxGridSize[0]},
            {cudaDevAttrMaxSharedMemoryPerBlock, (int)p.sharedMemPerBlock},
            {cudaDevAttrComputeCapabilityMajor, p.major},
            {cudaDevAttrComputeCapabilityMinor, p.minor},
            {cudaDevAttrPciBusId, p.pciBusID},
            {cudaDevAttrMaxThreadsPerMultiProcessor, p.maxThreadsPerMultiProcessor},
            {cudaDevAttrManagedMemory, p.managedMemory},
        };
        for (const auto &a : agree) {
            int value = -1;
            CUDA_OK(cudaDeviceGetAttribute(&value, a.attr, dev));
            EXPECT(value == a.want);
        }
        size_t free_mem = 0, total_mem = 0;
        CUDA_OK(cudaSetDevice(dev));
        CUDA_OK(cudaMemGetInfo(&free_mem, &total_mem));
        EXPECT(total_mem == p.totalGlobalMem && free_mem <= total_mem);
        int peer = -1;
        CUDA_OK(cudaDeviceCanAccessPeer(&peer, dev, (dev + 1) % count));
        EXPECT(peer == 0);
    }
    int current = -1;
    CUDA_OK(cudaGetDevice(&current));
    EXPECT(current == count - 1);
    unsigned flags = 0;
    CUDA_OK(cudaSetDeviceFlags(cudaDeviceScheduleBlockingSync));
    CUDA_OK(cudaGetDeviceFlags(&flags));
    EXPECT((flags & cudaDeviceScheduleMask) == cudaDeviceScheduleBlockingSync);
    return test_passed();
}
