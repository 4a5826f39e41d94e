/*
 * sdaa_runtime.h - the SDAA runtime API (libusdaa.so).
 *
 * The Ocelot-derived runtime: CUDA 3-era runtime calls with the sdaa prefix,
 * a fat-binary registry fed by __sdaaRegisterFatBinary, and SDAA array
 * launches (sdaaConfigureCall takes a count of SPE arrays).  Functions return
 * sdaaError_t unless noted; every error is also recorded as the calling
 * thread's last error (sdaaGetLastError / sdaaPeekAtLastError).
 *
 * Self-contained: it does not include sdaa.h and shares no identifier with
 * it, because cffi reads both headers into one module.  Outside
 * preprocessor-only lines it holds plain declarations and every #define is an
 * integer literal.
 */
#ifndef SDAA_RUNTIME_H
#define SDAA_RUNTIME_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ------------------------------------------------------------- */
enum sdaaError {
    sdaaSuccess                          = 0,
    sdaaErrorMissingConfiguration        = 1,
    sdaaErrorMemoryAllocation            = 2,
    sdaaErrorInitializationError         = 3,
    sdaaErrorLaunchFailure               = 4,
    sdaaErrorPriorLaunchFailure          = 5,
    sdaaErrorLaunchTimeout               = 6,
    sdaaErrorLaunchOutOfResources        = 7,
    sdaaErrorInvalidDeviceFunction       = 8,
    sdaaErrorInvalidConfiguration        = 9,
    sdaaErrorInvalidDevice               = 10,
    sdaaErrorInvalidValue                = 11,
    sdaaErrorInvalidPitchValue           = 12,
    sdaaErrorInvalidSymbol               = 13,
    sdaaErrorMapBufferObjectFailed       = 14,
    sdaaErrorUnmapBufferObjectFailed     = 15,
    sdaaErrorInvalidHostPointer          = 16,
    sdaaErrorInvalidDevicePointer        = 17,
    sdaaErrorInvalidTexture              = 18,
    sdaaErrorInvalidTextureBinding       = 19,
    sdaaErrorInvalidChannelDescriptor    = 20,
    sdaaErrorInvalidMemcpyDirection      = 21,
    sdaaErrorAddressOfConstant           = 22,
    sdaaErrorTextureFetchFailed          = 23,
    sdaaErrorTextureNotBound             = 24,
    sdaaErrorSynchronizationError        = 25,
    sdaaErrorInvalidFilterSetting        = 26,
    sdaaErrorInvalidNormSetting          = 27,
    sdaaErrorMixedDeviceExecution        = 28,
    sdaaErrorSdaartUnloading             = 29,
    sdaaErrorUnknown                     = 30,
    sdaaErrorNotYetImplemented           = 31,
    sdaaErrorMemoryValueTooLarge         = 32,
    sdaaErrorInvalidResourceHandle       = 33,
    sdaaErrorNotReady                    = 34,
    sdaaErrorInsufficientDriver          = 35,
    sdaaErrorSetOnActiveProcess          = 36,
    sdaaErrorInvalidSurface              = 37,
    sdaaErrorNoDevice                    = 38,
    sdaaErrorECCUncorrectable            = 39,
    sdaaErrorSharedObjectSymbolNotFound  = 40,
    sdaaErrorSharedObjectInitFailed      = 41,
    sdaaErrorUnsupportedLimit            = 42,
    sdaaErrorDuplicateVariableName       = 43,
    sdaaErrorDuplicateTextureName        = 44,
    sdaaErrorDuplicateSurfaceName        = 45,
    sdaaErrorDevicesUnavailable          = 46,
    sdaaErrorInvalidKernelImage          = 47,
    sdaaErrorNoKernelImageForDevice      = 48,
    sdaaErrorIncompatibleDriverContext   = 49,
    sdaaErrorPeerAccessAlreadyEnabled    = 50,
    sdaaErrorPeerAccessNotEnabled        = 51,
    sdaaErrorDeviceAlreadyInUse          = 54,
    sdaaErrorProfilerDisabled            = 55,
    sdaaErrorProfilerNotInitialized      = 56,
    sdaaErrorProfilerAlreadyStarted      = 57,
    sdaaErrorProfilerAlreadyStopped      = 58,
    sdaaErrorStartupFailure              = 0x7f,
    sdaaErrorApiFailureBase              = 10000
};
typedef enum sdaaError sdaaError_t;

/* Streams and events are small integer handles; 0 is the default stream. */
typedef int sdaaStream_t;
typedef int sdaaEvent_t;

enum sdaaMemcpyKind {
    sdaaMemcpyHostToHost     = 0,
    sdaaMemcpyHostToDevice   = 1,
    sdaaMemcpyDeviceToHost   = 2,
    sdaaMemcpyDeviceToDevice = 3
};

/* ---- device properties (the CUDA 3-era cudaDeviceProp, plus SPE counts) -- */
struct sdaaDeviceProp {
    char   name[256];
    size_t totalGlobalMem;
    size_t sharedMemPerBlock;
    int    regsPerBlock;
    int    warpSize;
    size_t memPitch;
    int    maxThreadsPerBlock;
    int    maxThreadsDim[3];
    int    maxGridSize[3];
    int    clockRate;                 /* kHz */
    size_t totalConstMem;
    int    major;
    int    minor;
    size_t textureAlignment;
    int    deviceOverlap;
    int    multiProcessorCount;
    int    kernelExecTimeoutEnabled;
    int    integrated;
    int    canMapHostMemory;
    int    computeMode;
    int    concurrentKernels;
    int    ECCEnabled;
    int    pciBusID;
    int    pciDeviceID;
    int    memoryClockRate;           /* kHz */
    int    memoryBusWidth;            /* bits */
    int    speArrayCount;             /* SPE arrays per card */
    int    spesPerArray;              /* SPEs (threads) per array */
};

/* A practical subset of cudaDeviceAttr, same numbering; 1000+ are aicard-specific. */
enum sdaaDeviceAttr {
    sdaaDevAttrMaxThreadsPerBlock       = 1,
    sdaaDevAttrMaxBlockDimX             = 2,
    sdaaDevAttrMaxBlockDimY             = 3,
    sdaaDevAttrMaxBlockDimZ             = 4,
    sdaaDevAttrMaxGridDimX              = 5,
    sdaaDevAttrMaxGridDimY              = 6,
    sdaaDevAttrMaxGridDimZ              = 7,
    sdaaDevAttrMaxSharedMemoryPerBlock  = 8,
    sdaaDevAttrTotalConstantMemory      = 9,
    sdaaDevAttrWarpSize                 = 10,
    sdaaDevAttrMaxPitch                 = 11,
    sdaaDevAttrMaxRegistersPerBlock     = 12,
    sdaaDevAttrClockRate                = 13,
    sdaaDevAttrTextureAlignment         = 14,
    sdaaDevAttrGpuOverlap               = 15,
    sdaaDevAttrMultiProcessorCount      = 16,
    sdaaDevAttrKernelExecTimeout        = 17,
    sdaaDevAttrIntegrated               = 18,
    sdaaDevAttrCanMapHostMemory         = 19,
    sdaaDevAttrComputeMode              = 20,
    sdaaDevAttrConcurrentKernels        = 31,
    sdaaDevAttrEccEnabled               = 32,
    sdaaDevAttrPciBusId                 = 33,
    sdaaDevAttrPciDeviceId              = 34,
    sdaaDevAttrMemoryClockRate          = 36,
    sdaaDevAttrGlobalMemoryBusWidth     = 37,
    sdaaDevAttrComputeCapabilityMajor   = 75,
    sdaaDevAttrComputeCapabilityMinor   = 76,
    sdaaDevAttrSpeArrayCount            = 1000,
    sdaaDevAttrSpesPerArray             = 1001
};

struct sdaaFuncAttributes {
    size_t sharedSizeBytes;
    size_t constSizeBytes;
    size_t localSizeBytes;
    int    maxThreadsPerBlock;
    int    numRegs;
    int    ptxVersion;
    int    binaryVersion;
};

/* sdaaHostAlloc flags */
#define sdaaHostAllocDefault        0
#define sdaaHostAllocPortable       1
#define sdaaHostAllocMapped         2
#define sdaaHostAllocWriteCombined  4

/* sdaaEventCreateWithFlags flags */
#define sdaaEventDefault            0
#define sdaaEventBlockingSync       1
#define sdaaEventDisableTiming      2

/* ---- fat-binary registry (called by compiler-generated code) ------------ */
/* fatCubin points at a struct of two pointers whose second member is the
 * code object; the code object must stay valid until it is unregistered.
 * Returns the registration handle, NULL on failure. */
void **__sdaaRegisterFatBinary(void *fatCubin);
void __sdaaUnregisterFatBinary(void **fatCubinHandle);
/* Makes kernel deviceFun of the registered image launchable by name. */
void __sdaaRegisterFunction(void **fatCubinHandle, char *deviceFun);

/* ---- launches ----------------------------------------------------------- */
/* Starts a launch configuration of arrayNum SPE arrays; arguments follow. */
sdaaError_t sdaaConfigureCall(int arrayNum);
/* Copies size bytes of arg to byte offset of the pending launch's parameters. */
sdaaError_t sdaaSetupArgument(const void *arg, size_t size, size_t offset);
/* Launches the registered kernel named entry; sdaaErrorInvalidDeviceFunction
 * when none is registered under that name. */
sdaaError_t sdaaLaunch(const char *entry);
sdaaError_t sdaaLaunchAsync(const char *entry, sdaaStream_t stream);
sdaaError_t sdaaFuncGetAttributes(struct sdaaFuncAttributes *attr, const char *func);

/* ---- memory ------------------------------------------------------------- */
/* Device memory of the current device (sdaaSetDevice). */
sdaaError_t sdaaMalloc(void **devPtr, size_t size);
sdaaError_t sdaaMallocHost(void **ptr, size_t size);
sdaaError_t sdaaHostAlloc(void **pHost, size_t size, unsigned int flags);
/* sdaaErrorInvalidDevicePointer when devPtr is not a live allocation. */
sdaaError_t sdaaFree(void *devPtr);
sdaaError_t sdaaFreeHost(void *ptr);
/* Device ranges must lie inside one allocation, else sdaaErrorInvalidValue;
 * a kind outside sdaaMemcpyKind gives sdaaErrorInvalidMemcpyDirection. */
sdaaError_t sdaaMemcpy(void *dst, const void *src, size_t count, enum sdaaMemcpyKind kind);
sdaaError_t sdaaMemcpyAsync(void *dst, const void *src, size_t count, enum sdaaMemcpyKind kind, sdaaStream_t stream);
sdaaError_t sdaaMemset(void *devPtr, int value, size_t count);
sdaaError_t sdaaMemsetAsync(void *devPtr, int value, size_t count, sdaaStream_t stream);
sdaaError_t sdaaMemGetInfo(size_t *freeMem, size_t *totalMem);
/* Card physical address behind a device pointer. */
sdaaError_t sdaaMemGetPhysAddr(unsigned long long *phys, void *devPtr);

/* ---- devices ------------------------------------------------------------ */
sdaaError_t sdaaGetDeviceCount(int *count);
sdaaError_t sdaaGetDeviceProperties(struct sdaaDeviceProp *prop, int device);
sdaaError_t sdaaSetDevice(int device);      /* sdaaErrorInvalidDevice past the count */
sdaaError_t sdaaGetDevice(int *device);
sdaaError_t sdaaDeviceGetAttribute(int *value, enum sdaaDeviceAttr attr, int device);
sdaaError_t sdaaDeviceSynchronize(void);
sdaaError_t sdaaDeviceReset(void);
sdaaError_t sdaaThreadSynchronize(void);

/* ---- streams and events ------------------------------------------------- */
sdaaError_t sdaaStreamCreate(sdaaStream_t *pStream);
sdaaError_t sdaaStreamDestroy(sdaaStream_t stream);
sdaaError_t sdaaStreamSynchronize(sdaaStream_t stream);
sdaaError_t sdaaStreamQuery(sdaaStream_t stream);       /* sdaaErrorNotReady while busy */
sdaaError_t sdaaStreamWaitEvent(sdaaStream_t stream, sdaaEvent_t event, unsigned int flags);
sdaaError_t sdaaEventCreate(sdaaEvent_t *event);
sdaaError_t sdaaEventCreateWithFlags(sdaaEvent_t *event, unsigned int flags);
sdaaError_t sdaaEventRecord(sdaaEvent_t event, sdaaStream_t stream);
sdaaError_t sdaaEventQuery(sdaaEvent_t event);          /* sdaaErrorNotReady until reached */
sdaaError_t sdaaEventSynchronize(sdaaEvent_t event);
sdaaError_t sdaaEventDestroy(sdaaEvent_t event);
sdaaError_t sdaaEventElapsedTime(float *ms, sdaaEvent_t start, sdaaEvent_t end);

/* ---- errors and versions ------------------------------------------------ */
/* Returns the last error of the calling thread and resets it to sdaaSuccess. */
sdaaError_t sdaaGetLastError(void);
/* Returns the last error without resetting it. */
sdaaError_t sdaaPeekAtLastError(void);
/* A static description; never NULL (unknown codes get a generic text). */
const char *sdaaGetErrorString(sdaaError_t error);
sdaaError_t sdaaDriverGetVersion(int *driverVersion);
sdaaError_t sdaaRuntimeGetVersion(int *runtimeVersion);

#ifdef __cplusplus
}
#endif

#endif /* SDAA_RUNTIME_H */
