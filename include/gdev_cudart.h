/*
 * gdev_cudart.h - the CUDA runtime face of gdev-shim (libcudart.so.13).
 *
 * Programs built by nvcc 13 against the CUDA toolkit run on the simulated
 * aicard through this library: it exports the runtime calls those programs
 * import, with CUDA's names, numeric codes and struct layouts (the ABI a
 * program compiled elsewhere expects), and carries them out through the
 * SDAA runtime layer beneath libusdaa.so.
 *
 * This header is our own description of that ABI, for the library's build and
 * its tests; CUDA programs keep compiling against the toolkit's headers.  The
 * ABI tests compare every layout and value declared here with the toolkit.
 * Outside preprocessor-only lines it holds plain declarations and every
 * #define is an integer literal, so cffi reads it as it is.
 */
#ifndef GDEV_CUDART_H
#define GDEV_CUDART_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- error codes (the numbers CUDA 13 assigns) ------------------------- */
enum cudaError {
    cudaSuccess                                  = 0,
    cudaErrorInvalidValue                        = 1,
    cudaErrorMemoryAllocation                    = 2,
    cudaErrorInitializationError                 = 3,
    cudaErrorCudartUnloading                     = 4,
    cudaErrorProfilerDisabled                    = 5,
    cudaErrorProfilerNotInitialized              = 6,
    cudaErrorProfilerAlreadyStarted              = 7,
    cudaErrorProfilerAlreadyStopped              = 8,
    cudaErrorInvalidConfiguration                = 9,
    cudaErrorInvalidPitchValue                   = 12,
    cudaErrorInvalidSymbol                       = 13,
    cudaErrorInvalidHostPointer                  = 16,
    cudaErrorInvalidDevicePointer                = 17,
    cudaErrorInvalidTexture                      = 18,
    cudaErrorInvalidTextureBinding               = 19,
    cudaErrorInvalidChannelDescriptor            = 20,
    cudaErrorInvalidMemcpyDirection              = 21,
    cudaErrorAddressOfConstant                   = 22,
    cudaErrorTextureFetchFailed                  = 23,
    cudaErrorTextureNotBound                     = 24,
    cudaErrorSynchronizationError                = 25,
    cudaErrorInvalidFilterSetting                = 26,
    cudaErrorInvalidNormSetting                  = 27,
    cudaErrorMixedDeviceExecution                = 28,
    cudaErrorNotYetImplemented                   = 31,
    cudaErrorMemoryValueTooLarge                 = 32,
    cudaErrorStubLibrary                         = 34,
    cudaErrorInsufficientDriver                  = 35,
    cudaErrorCallRequiresNewerDriver             = 36,
    cudaErrorInvalidSurface                      = 37,
    cudaErrorDuplicateVariableName               = 43,
    cudaErrorDuplicateTextureName                = 44,
    cudaErrorDuplicateSurfaceName                = 45,
    cudaErrorDevicesUnavailable                  = 46,
    cudaErrorIncompatibleDriverContext           = 49,
    cudaErrorMissingConfiguration                = 52,
    cudaErrorPriorLaunchFailure                  = 53,
    cudaErrorLaunchMaxDepthExceeded              = 65,
    cudaErrorLaunchFileScopedTex                 = 66,
    cudaErrorLaunchFileScopedSurf                = 67,
    cudaErrorSyncDepthExceeded                   = 68,
    cudaErrorLaunchPendingCountExceeded          = 69,
    cudaErrorInvalidDeviceFunction               = 98,
    cudaErrorNoDevice                            = 100,
    cudaErrorInvalidDevice                       = 101,
    cudaErrorDeviceNotLicensed                   = 102,
    cudaErrorSoftwareValidityNotEstablished      = 103,
    cudaErrorStartupFailure                      = 127,
    cudaErrorInvalidKernelImage                  = 200,
    cudaErrorDeviceUninitialized                 = 201,
    cudaErrorMapBufferObjectFailed               = 205,
    cudaErrorUnmapBufferObjectFailed             = 206,
    cudaErrorArrayIsMapped                       = 207,
    cudaErrorAlreadyMapped                       = 208,
    cudaErrorNoKernelImageForDevice              = 209,
    cudaErrorAlreadyAcquired                     = 210,
    cudaErrorNotMapped                           = 211,
    cudaErrorNotMappedAsArray                    = 212,
    cudaErrorNotMappedAsPointer                  = 213,
    cudaErrorECCUncorrectable                    = 214,
    cudaErrorUnsupportedLimit                    = 215,
    cudaErrorDeviceAlreadyInUse                  = 216,
    cudaErrorPeerAccessUnsupported               = 217,
    cudaErrorInvalidPtx                          = 218,
    cudaErrorInvalidGraphicsContext              = 219,
    cudaErrorNvlinkUncorrectable                 = 220,
    cudaErrorJitCompilerNotFound                 = 221,
    cudaErrorUnsupportedPtxVersion               = 222,
    cudaErrorJitCompilationDisabled              = 223,
    cudaErrorUnsupportedExecAffinity             = 224,
    cudaErrorUnsupportedDevSideSync              = 225,
    cudaErrorContained                           = 226,
    cudaErrorInvalidSource                       = 300,
    cudaErrorFileNotFound                        = 301,
    cudaErrorSharedObjectSymbolNotFound          = 302,
    cudaErrorSharedObjectInitFailed              = 303,
    cudaErrorOperatingSystem                     = 304,
    cudaErrorInvalidResourceHandle               = 400,
    cudaErrorIllegalState                        = 401,
    cudaErrorLossyQuery                          = 402,
    cudaErrorSymbolNotFound                      = 500,
    cudaErrorNotReady                            = 600,
    cudaErrorIllegalAddress                      = 700,
    cudaErrorLaunchOutOfResources                = 701,
    cudaErrorLaunchTimeout                       = 702,
    cudaErrorLaunchIncompatibleTexturing         = 703,
    cudaErrorPeerAccessAlreadyEnabled            = 704,
    cudaErrorPeerAccessNotEnabled                = 705,
    cudaErrorSetOnActiveProcess                  = 708,
    cudaErrorContextIsDestroyed                  = 709,
    cudaErrorAssert                              = 710,
    cudaErrorTooManyPeers                        = 711,
    cudaErrorHostMemoryAlreadyRegistered         = 712,
    cudaErrorHostMemoryNotRegistered             = 713,
    cudaErrorHardwareStackError                  = 714,
    cudaErrorIllegalInstruction                  = 715,
    cudaErrorMisalignedAddress                   = 716,
    cudaErrorInvalidAddressSpace                 = 717,
    cudaErrorInvalidPc                           = 718,
    cudaErrorLaunchFailure                       = 719,
    cudaErrorCooperativeLaunchTooLarge           = 720,
    cudaErrorTensorMemoryLeak                    = 721,
    cudaErrorNotPermitted                        = 800,
    cudaErrorNotSupported                        = 801,
    cudaErrorSystemNotReady                      = 802,
    cudaErrorSystemDriverMismatch                = 803,
    cudaErrorCompatNotSupportedOnDevice          = 804,
    cudaErrorMpsConnectionFailed                 = 805,
    cudaErrorMpsRpcFailure                       = 806,
    cudaErrorMpsServerNotReady                   = 807,
    cudaErrorMpsMaxClientsReached                = 808,
    cudaErrorMpsMaxConnectionsReached            = 809,
    cudaErrorMpsClientTerminated                 = 810,
    cudaErrorCdpNotSupported                     = 811,
    cudaErrorCdpVersionMismatch                  = 812,
    cudaErrorStreamCaptureUnsupported            = 900,
    cudaErrorStreamCaptureInvalidated            = 901,
    cudaErrorStreamCaptureMerge                  = 902,
    cudaErrorStreamCaptureUnmatched              = 903,
    cudaErrorStreamCaptureUnjoined               = 904,
    cudaErrorStreamCaptureIsolation              = 905,
    cudaErrorStreamCaptureImplicit               = 906,
    cudaErrorCapturedEvent                       = 907,
    cudaErrorStreamCaptureWrongThread            = 908,
    cudaErrorTimeout                             = 909,
    cudaErrorGraphExecUpdateFailure              = 910,
    cudaErrorExternalDevice                      = 911,
    cudaErrorInvalidClusterSize                  = 912,
    cudaErrorFunctionNotLoaded                   = 913,
    cudaErrorInvalidResourceType                 = 914,
    cudaErrorInvalidResourceConfiguration        = 915,
    cudaErrorUnknown                             = 999,
    cudaErrorApiFailureBase                      = 10000
};
typedef enum cudaError cudaError_t;

/* ---- handles ------------------------------------------------------------ */
typedef struct CUstream_st *cudaStream_t;
typedef struct CUevent_st *cudaEvent_t;
typedef struct CUkern_st *cudaKernel_t;
typedef void (*cudaHostFn_t)(void *userData);
typedef void (*cudaStreamCallback_t)(cudaStream_t stream, cudaError_t status, void *userData);

/* the two special stream values CUDA defines besides 0 */
#define GDEV_CUDA_STREAM_LEGACY      1
#define GDEV_CUDA_STREAM_PER_THREAD  2

struct dim3 {
    unsigned int x;
    unsigned int y;
    unsigned int z;
};
typedef struct dim3 dim3;

enum cudaMemcpyKind {
    cudaMemcpyHostToHost     = 0,
    cudaMemcpyHostToDevice   = 1,
    cudaMemcpyDeviceToHost   = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault        = 4
};

/* ---- flags -------------------------------------------------------------- */
#define cudaHostAllocDefault            0
#define cudaHostAllocPortable           1
#define cudaHostAllocMapped             2
#define cudaHostAllocWriteCombined      4
#define cudaStreamDefault               0
#define cudaStreamNonBlocking           1
#define cudaEventDefault                0
#define cudaEventBlockingSync           1
#define cudaEventDisableTiming          2
#define cudaEventInterprocess           4
#define cudaDeviceScheduleAuto          0
#define cudaDeviceScheduleSpin          1
#define cudaDeviceScheduleYield         2
#define cudaDeviceScheduleBlockingSync  4
#define cudaDeviceScheduleMask          7
#define cudaDeviceMapHost               8
#define cudaDeviceLmemResizeToMax       16
#define cudaDeviceMask                  255
#define cudaHostRegisterDefault         0
#define cudaHostRegisterPortable        1
#define cudaHostRegisterMapped          2
#define cudaHostRegisterIoMemory        4
#define cudaHostRegisterReadOnly        8
#define cudaMemAttachGlobal             1
#define cudaMemAttachHost               2
#define cudaMemAttachSingle             4
#define cudaOccupancyDefault            0
#define cudaEventRecordDefault          0
#define cudaEventRecordExternal         1
#define cudaEventWaitDefault            0
#define cudaEventWaitExternal           1

enum cudaLimit {
    cudaLimitStackSize                    = 0,
    cudaLimitPrintfFifoSize               = 1,
    cudaLimitMallocHeapSize               = 2,
    cudaLimitDevRuntimeSyncDepth          = 3,
    cudaLimitDevRuntimePendingLaunchCount = 4,
    cudaLimitMaxL2FetchGranularity        = 5,
    cudaLimitPersistingL2CacheSize        = 6
};

enum cudaFuncCache {
    cudaFuncCachePreferNone   = 0,
    cudaFuncCachePreferShared = 1,
    cudaFuncCachePreferL1     = 2,
    cudaFuncCachePreferEqual  = 3
};

enum cudaFuncAttribute {
    cudaFuncAttributeMaxDynamicSharedMemorySize     = 8,
    cudaFuncAttributePreferredSharedMemoryCarveout  = 9
};

/* ---- launches with a configuration (cudaLaunchKernelEx) ---------------------- */
#define cudaLaunchAttributeIgnore                 0
#define cudaLaunchAttributeAccessPolicyWindow     1
#define cudaLaunchAttributeCooperative            2
#define cudaLaunchAttributeSynchronizationPolicy  3
#define cudaLaunchAttributePriority               8

/* The value is a 64-byte union in CUDA; only its first bytes are read here. */
struct cudaLaunchAttribute_st {
    int           id;
    char          pad[4];
    unsigned char val[64];
};
typedef struct cudaLaunchAttribute_st cudaLaunchAttribute;

struct cudaLaunchConfig_st {
    dim3                 gridDim;
    dim3                 blockDim;
    size_t               dynamicSmemBytes;
    cudaStream_t         stream;
    cudaLaunchAttribute *attrs;
    unsigned int         numAttrs;
};
typedef struct cudaLaunchConfig_st cudaLaunchConfig_t;

/* ---- devices -------------------------------------------------------------- */
struct CUuuid_st {
    char bytes[16];
};
typedef struct CUuuid_st cudaUUID_t;

/* CUDA 13's cudaDeviceProp, field for field. */
struct cudaDeviceProp {
    char         name[256];
    cudaUUID_t   uuid;
    char         luid[8];
    unsigned int luidDeviceNodeMask;
    size_t       totalGlobalMem;
    size_t       sharedMemPerBlock;
    int          regsPerBlock;
    int          warpSize;
    size_t       memPitch;
    int          maxThreadsPerBlock;
    int          maxThreadsDim[3];
    int          maxGridSize[3];
    size_t       totalConstMem;
    int          major;
    int          minor;
    size_t       textureAlignment;
    size_t       texturePitchAlignment;
    int          multiProcessorCount;
    int          integrated;
    int          canMapHostMemory;
    int          maxTexture1D;
    int          maxTexture1DMipmap;
    int          maxTexture2D[2];
    int          maxTexture2DMipmap[2];
    int          maxTexture2DLinear[3];
    int          maxTexture2DGather[2];
    int          maxTexture3D[3];
    int          maxTexture3DAlt[3];
    int          maxTextureCubemap;
    int          maxTexture1DLayered[2];
    int          maxTexture2DLayered[3];
    int          maxTextureCubemapLayered[2];
    int          maxSurface1D;
    int          maxSurface2D[2];
    int          maxSurface3D[3];
    int          maxSurface1DLayered[2];
    int          maxSurface2DLayered[3];
    int          maxSurfaceCubemap;
    int          maxSurfaceCubemapLayered[2];
    size_t       surfaceAlignment;
    int          concurrentKernels;
    int          ECCEnabled;
    int          pciBusID;
    int          pciDeviceID;
    int          pciDomainID;
    int          tccDriver;
    int          asyncEngineCount;
    int          unifiedAddressing;
    int          memoryBusWidth;
    int          l2CacheSize;
    int          persistingL2CacheMaxSize;
    int          maxThreadsPerMultiProcessor;
    int          streamPrioritiesSupported;
    int          globalL1CacheSupported;
    int          localL1CacheSupported;
    size_t       sharedMemPerMultiprocessor;
    int          regsPerMultiprocessor;
    int          managedMemory;
    int          isMultiGpuBoard;
    int          multiGpuBoardGroupID;
    int          hostNativeAtomicSupported;
    int          pageableMemoryAccess;
    int          concurrentManagedAccess;
    int          computePreemptionSupported;
    int          canUseHostPointerForRegisteredMem;
    int          cooperativeLaunch;
    size_t       sharedMemPerBlockOptin;
    int          pageableMemoryAccessUsesHostPageTables;
    int          directManagedMemAccessFromHost;
    int          maxBlocksPerMultiProcessor;
    int          accessPolicyMaxWindowSize;
    size_t       reservedSharedMemPerBlock;
    int          hostRegisterSupported;
    int          sparseCudaArraySupported;
    int          hostRegisterReadOnlySupported;
    int          timelineSemaphoreInteropSupported;
    int          memoryPoolsSupported;
    int          gpuDirectRDMASupported;
    unsigned int gpuDirectRDMAFlushWritesOptions;
    int          gpuDirectRDMAWritesOrdering;
    unsigned int memoryPoolSupportedHandleTypes;
    int          deferredMappingCudaArraySupported;
    int          ipcEventSupported;
    int          clusterLaunch;
    int          unifiedFunctionPointers;
    int          deviceNumaConfig;
    int          deviceNumaId;
    int          mpsEnabled;
    int          hostNumaId;
    unsigned int gpuPciDeviceID;
    unsigned int gpuPciSubsystemID;
    int          hostNumaMultinodeIpcSupported;
    int          reserved[56];
};

/* The device attributes this library answers (CUDA's numbering). */
enum cudaDeviceAttr {
    cudaDevAttrMaxThreadsPerBlock            = 1,
    cudaDevAttrMaxBlockDimX                  = 2,
    cudaDevAttrMaxBlockDimY                  = 3,
    cudaDevAttrMaxBlockDimZ                  = 4,
    cudaDevAttrMaxGridDimX                   = 5,
    cudaDevAttrMaxGridDimY                   = 6,
    cudaDevAttrMaxGridDimZ                   = 7,
    cudaDevAttrMaxSharedMemoryPerBlock       = 8,
    cudaDevAttrTotalConstantMemory           = 9,
    cudaDevAttrWarpSize                      = 10,
    cudaDevAttrMaxPitch                      = 11,
    cudaDevAttrMaxRegistersPerBlock          = 12,
    cudaDevAttrClockRate                     = 13,
    cudaDevAttrTextureAlignment              = 14,
    cudaDevAttrGpuOverlap                    = 15,
    cudaDevAttrMultiProcessorCount           = 16,
    cudaDevAttrKernelExecTimeout             = 17,
    cudaDevAttrIntegrated                    = 18,
    cudaDevAttrCanMapHostMemory              = 19,
    cudaDevAttrComputeMode                   = 20,
    cudaDevAttrConcurrentKernels             = 31,
    cudaDevAttrEccEnabled                    = 32,
    cudaDevAttrPciBusId                      = 33,
    cudaDevAttrPciDeviceId                   = 34,
    cudaDevAttrMemoryClockRate               = 36,
    cudaDevAttrGlobalMemoryBusWidth          = 37,
    cudaDevAttrL2CacheSize                   = 38,
    cudaDevAttrMaxThreadsPerMultiProcessor   = 39,
    cudaDevAttrAsyncEngineCount              = 40,
    cudaDevAttrUnifiedAddressing             = 41,
    cudaDevAttrPciDomainId                   = 50,
    cudaDevAttrComputeCapabilityMajor        = 75,
    cudaDevAttrComputeCapabilityMinor        = 76,
    cudaDevAttrStreamPrioritiesSupported     = 78,
    cudaDevAttrMaxSharedMemoryPerMultiprocessor = 81,
    cudaDevAttrMaxRegistersPerMultiprocessor = 82,
    cudaDevAttrManagedMemory                 = 83,
    cudaDevAttrConcurrentManagedAccess       = 89,
    cudaDevAttrCooperativeLaunch             = 95,
    cudaDevAttrMaxSharedMemoryPerBlockOptin  = 97,
    cudaDevAttrMaxBlocksPerMultiprocessor    = 106
};

struct cudaFuncAttributes {
    size_t sharedSizeBytes;
    size_t constSizeBytes;
    size_t localSizeBytes;
    int    maxThreadsPerBlock;
    int    numRegs;
    int    ptxVersion;
    int    binaryVersion;
    int    cacheModeCA;
    int    maxDynamicSharedSizeBytes;
    int    preferredShmemCarveout;
    int    clusterDimMustBeSet;
    int    requiredClusterWidth;
    int    requiredClusterHeight;
    int    requiredClusterDepth;
    int    clusterSchedulingPolicyPreference;
    int    nonPortableClusterSizeAllowed;
    int    reserved[16];
};

/* ---- what nvcc's generated host code calls -------------------------------- */
void **__cudaRegisterFatBinary(void *fatCubin);
void __cudaRegisterFatBinaryEnd(void **fatCubinHandle);
void __cudaUnregisterFatBinary(void **fatCubinHandle);
void __cudaRegisterFunction(void **fatCubinHandle, const char *hostFun, char *deviceFun,
                            const char *deviceName, int thread_limit, void *tid, void *bid,
                            void *bDim, void *gDim, int *wSize);
void __cudaRegisterVar(void **fatCubinHandle, char *hostVar, char *deviceAddress,
                       const char *deviceName, int ext, size_t size, int constant, int global);
void __cudaRegisterManagedVar(void **fatCubinHandle, void **hostVarPtrAddress, char *deviceAddress,
                              const char *deviceName, int ext, size_t size, int constant, int global);
char __cudaInitModule(void **fatCubinHandle);
unsigned int __cudaPushCallConfiguration(dim3 gridDim, dim3 blockDim, size_t sharedMem,
                                         cudaStream_t stream);
cudaError_t __cudaPopCallConfiguration(dim3 *gridDim, dim3 *blockDim, size_t *sharedMem,
                                       void *stream);
cudaError_t __cudaGetKernel(cudaKernel_t *kernel, const void *hostFun);
cudaError_t __cudaLaunchKernel(cudaKernel_t kernel, dim3 gridDim, dim3 blockDim, void **args,
                               size_t sharedMem, cudaStream_t stream);
cudaError_t __cudaLaunchKernel_ptsz(cudaKernel_t kernel, dim3 gridDim, dim3 blockDim, void **args,
                                    size_t sharedMem, cudaStream_t stream);

/* ---- launches and functions ------------------------------------------------- */
cudaError_t cudaLaunchKernel(const void *func, dim3 gridDim, dim3 blockDim, void **args,
                             size_t sharedMem, cudaStream_t stream);
cudaError_t cudaLaunchKernel_ptsz(const void *func, dim3 gridDim, dim3 blockDim, void **args,
                                  size_t sharedMem, cudaStream_t stream);
cudaError_t cudaLaunchKernelExC(const cudaLaunchConfig_t *config, const void *func, void **args);
cudaError_t cudaLaunchKernelExC_ptsz(const cudaLaunchConfig_t *config, const void *func, void **args);
cudaError_t cudaLaunchCooperativeKernel(const void *func, dim3 gridDim, dim3 blockDim, void **args,
                                        size_t sharedMem, cudaStream_t stream);
cudaError_t cudaLaunchCooperativeKernel_ptsz(const void *func, dim3 gridDim, dim3 blockDim, void **args,
                                             size_t sharedMem, cudaStream_t stream);
cudaError_t cudaFuncGetAttributes(struct cudaFuncAttributes *attr, const void *func);
cudaError_t cudaOccupancyMaxActiveBlocksPerMultiprocessor(int *numBlocks, const void *func,
                                                          int blockSize, size_t dynamicSMemSize);
cudaError_t cudaFuncSetAttribute(const void *func, enum cudaFuncAttribute attr, int value);
cudaError_t cudaFuncSetCacheConfig(const void *func, enum cudaFuncCache cacheConfig);
cudaError_t cudaOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(int *numBlocks, const void *func,
                                                                   int blockSize, size_t dynamicSMemSize,
                                                                   unsigned int flags);

/* ---- devices ------------------------------------------------------------------- */
cudaError_t cudaGetDeviceCount(int *count);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDevice(int *device);
cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp *prop, int device);
cudaError_t cudaDeviceGetAttribute(int *value, enum cudaDeviceAttr attr, int device);
cudaError_t cudaDeviceSynchronize(void);
cudaError_t cudaDeviceReset(void);
cudaError_t cudaSetDeviceFlags(unsigned int flags);
cudaError_t cudaGetDeviceFlags(unsigned int *flags);
cudaError_t cudaDeviceCanAccessPeer(int *canAccessPeer, int device, int peerDevice);
cudaError_t cudaDeviceSetLimit(enum cudaLimit limit, size_t value);
cudaError_t cudaDeviceGetLimit(size_t *pValue, enum cudaLimit limit);
cudaError_t cudaDeviceSetCacheConfig(enum cudaFuncCache cacheConfig);
cudaError_t cudaDeviceGetCacheConfig(enum cudaFuncCache *pCacheConfig);
cudaError_t cudaDeviceEnablePeerAccess(int peerDevice, unsigned int flags);
cudaError_t cudaDeviceDisablePeerAccess(int peerDevice);
cudaError_t cudaDeviceGetStreamPriorityRange(int *leastPriority, int *greatestPriority);
cudaError_t cudaRuntimeGetVersion(int *runtimeVersion);
cudaError_t cudaDriverGetVersion(int *driverVersion);

/* ---- memory ---------------------------------------------------------------------- */
cudaError_t cudaMalloc(void **devPtr, size_t size);
cudaError_t cudaFree(void *devPtr);
cudaError_t cudaMallocHost(void **ptr, size_t size);
cudaError_t cudaHostAlloc(void **pHost, size_t size, unsigned int flags);
cudaError_t cudaFreeHost(void *ptr);
cudaError_t cudaHostGetDevicePointer(void **pDevice, void *pHost, unsigned int flags);
cudaError_t cudaMallocManaged(void **devPtr, size_t size, unsigned int flags);
cudaError_t cudaMallocAsync(void **devPtr, size_t size, cudaStream_t hStream);
cudaError_t cudaHostRegister(void *ptr, size_t size, unsigned int flags);
cudaError_t cudaHostUnregister(void *ptr);

/* managed memory: where it is prefetched to, and advice about it */
enum cudaMemLocationType {
    cudaMemLocationTypeInvalid         = 0,
    cudaMemLocationTypeDevice          = 1,
    cudaMemLocationTypeHost            = 2,
    cudaMemLocationTypeHostNuma        = 3,
    cudaMemLocationTypeHostNumaCurrent = 4
};
struct cudaMemLocation {
    enum cudaMemLocationType type;
    int id;
};
enum cudaMemoryAdvise {
    cudaMemAdviseSetReadMostly          = 1,
    cudaMemAdviseUnsetReadMostly        = 2,
    cudaMemAdviseSetPreferredLocation   = 3,
    cudaMemAdviseUnsetPreferredLocation = 4,
    cudaMemAdviseSetAccessedBy          = 5,
    cudaMemAdviseUnsetAccessedBy        = 6
};
cudaError_t cudaMemPrefetchAsync(const void *devPtr, size_t count, struct cudaMemLocation location,
                                 unsigned int flags, cudaStream_t stream);
cudaError_t cudaMemPrefetchAsync_ptsz(const void *devPtr, size_t count, struct cudaMemLocation location,
                                      unsigned int flags, cudaStream_t stream);
cudaError_t cudaMemAdvise(const void *devPtr, size_t count, enum cudaMemoryAdvise advice,
                          struct cudaMemLocation location);
cudaError_t cudaFreeAsync(void *devPtr, cudaStream_t hStream);

/* Memory pools: cudaMallocAsync allocates from the device's current pool (its default pool
 * unless cudaDeviceSetMemPool chose another), cudaMallocFromPoolAsync from a given one;
 * cudaFreeAsync returns a block to its pool, which keeps freed blocks up to its release
 * threshold (default 0: none) for later allocations that fit. */
typedef struct CUmemPoolHandle_st *cudaMemPool_t;

enum cudaMemPoolAttr {
    cudaMemPoolReuseFollowEventDependencies   = 0x1,   /* int; kept (every reuse is safe here) */
    cudaMemPoolReuseAllowOpportunistic        = 0x2,
    cudaMemPoolReuseAllowInternalDependencies = 0x3,
    cudaMemPoolAttrReleaseThreshold           = 0x4,   /* unsigned long long from here on */
    cudaMemPoolAttrReservedMemCurrent         = 0x5,
    cudaMemPoolAttrReservedMemHigh            = 0x6,   /* settable to 0 only: reset to current */
    cudaMemPoolAttrUsedMemCurrent             = 0x7,
    cudaMemPoolAttrUsedMemHigh                = 0x8
};

enum cudaMemAllocationType {
    cudaMemAllocationTypeInvalid = 0x0,
    cudaMemAllocationTypePinned  = 0x1,                /* the one supported */
    cudaMemAllocationTypeManaged = 0x2
};

enum cudaMemAllocationHandleType {
    cudaMemHandleTypeNone                = 0x0,        /* the one supported */
    cudaMemHandleTypePosixFileDescriptor = 0x1,
    cudaMemHandleTypeWin32               = 0x2,
    cudaMemHandleTypeWin32Kmt            = 0x4,
    cudaMemHandleTypeFabric              = 0x8
};

struct cudaMemPoolProps {
    enum cudaMemAllocationType allocType;
    enum cudaMemAllocationHandleType handleTypes;
    struct cudaMemLocation location;                 /* a device */
    void *win32SecurityAttributes;
    size_t maxSize;                                  /* 0: no limit */
    unsigned short usage;
    unsigned char reserved[54];
};

cudaError_t cudaDeviceGetDefaultMemPool(cudaMemPool_t *memPool, int device);
cudaError_t cudaDeviceGetMemPool(cudaMemPool_t *memPool, int device);
cudaError_t cudaDeviceSetMemPool(int device, cudaMemPool_t memPool);
cudaError_t cudaMemPoolCreate(cudaMemPool_t *memPool, const struct cudaMemPoolProps *poolProps);
cudaError_t cudaMemPoolDestroy(cudaMemPool_t memPool);               /* not a default pool */
cudaError_t cudaMallocFromPoolAsync(void **ptr, size_t size, cudaMemPool_t memPool, cudaStream_t stream);
cudaError_t cudaMemPoolTrimTo(cudaMemPool_t memPool, size_t minBytesToKeep);
cudaError_t cudaMemPoolSetAttribute(cudaMemPool_t memPool, enum cudaMemPoolAttr attr, void *value);
cudaError_t cudaMemPoolGetAttribute(cudaMemPool_t memPool, enum cudaMemPoolAttr attr, void *value);
cudaError_t cudaMallocPitch(void **devPtr, size_t *pitch, size_t width, size_t height);
cudaError_t cudaMemGetInfo(size_t *free, size_t *total);
cudaError_t cudaMemcpy(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind,
                            cudaStream_t stream);
cudaError_t cudaMemcpyPeer(void *dst, int dstDevice, const void *src, int srcDevice, size_t count);
cudaError_t cudaMemcpyPeerAsync(void *dst, int dstDevice, const void *src, int srcDevice, size_t count,
                                cudaStream_t stream);
cudaError_t cudaMemcpy2D(void *dst, size_t dpitch, const void *src, size_t spitch, size_t width,
                         size_t height, enum cudaMemcpyKind kind);
cudaError_t cudaMemcpy2DAsync(void *dst, size_t dpitch, const void *src, size_t spitch, size_t width,
                              size_t height, enum cudaMemcpyKind kind, cudaStream_t stream);
cudaError_t cudaMemset(void *devPtr, int value, size_t count);
cudaError_t cudaMemset2D(void *devPtr, size_t pitch, int value, size_t width, size_t height);
cudaError_t cudaMemsetAsync(void *devPtr, int value, size_t count, cudaStream_t stream);
cudaError_t cudaMemcpyToSymbol(const void *symbol, const void *src, size_t count, size_t offset,
                               enum cudaMemcpyKind kind);
cudaError_t cudaMemcpyFromSymbol(void *dst, const void *symbol, size_t count, size_t offset,
                                 enum cudaMemcpyKind kind);
cudaError_t cudaMemcpyToSymbolAsync(const void *symbol, const void *src, size_t count, size_t offset,
                                    enum cudaMemcpyKind kind, cudaStream_t stream);
cudaError_t cudaMemcpyFromSymbolAsync(void *dst, const void *symbol, size_t count, size_t offset,
                                      enum cudaMemcpyKind kind, cudaStream_t stream);
cudaError_t cudaGetSymbolAddress(void **devPtr, const void *symbol);
cudaError_t cudaGetSymbolSize(size_t *size, const void *symbol);

/* ---- streams and events ------------------------------------------------------------ */
cudaError_t cudaStreamCreate(cudaStream_t *pStream);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *pStream, unsigned int flags);
cudaError_t cudaStreamCreateWithPriority(cudaStream_t *pStream, unsigned int flags, int priority);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamGetFlags(cudaStream_t hStream, unsigned int *flags);
cudaError_t cudaStreamGetPriority(cudaStream_t hStream, int *priority);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
cudaError_t cudaStreamQuery(cudaStream_t stream);
cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int flags);
cudaError_t cudaStreamAddCallback(cudaStream_t stream, cudaStreamCallback_t callback, void *userData,
                                  unsigned int flags);
cudaError_t cudaLaunchHostFunc(cudaStream_t stream, cudaHostFn_t fn, void *userData);
cudaError_t cudaEventCreate(cudaEvent_t *event);
cudaError_t cudaEventCreateWithFlags(cudaEvent_t *event, unsigned int flags);
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream);
cudaError_t cudaEventRecordWithFlags(cudaEvent_t event, cudaStream_t stream, unsigned int flags);
cudaError_t cudaEventQuery(cudaEvent_t event);
cudaError_t cudaEventSynchronize(cudaEvent_t event);
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end);
cudaError_t cudaEventDestroy(cudaEvent_t event);

/* ---- graphs made by stream capture ------------------------------------------------ */
typedef struct CUgraph_st *cudaGraph_t;
typedef struct CUgraphNode_st *cudaGraphNode_t;
typedef struct CUgraphExec_st *cudaGraphExec_t;
typedef struct cudaGraphEdgeData_st cudaGraphEdgeData;     /* only passed by pointer */

enum cudaStreamCaptureStatus {
    cudaStreamCaptureStatusNone        = 0,
    cudaStreamCaptureStatusActive      = 1,
    cudaStreamCaptureStatusInvalidated = 2
};

enum cudaStreamCaptureMode {
    cudaStreamCaptureModeGlobal      = 0,
    cudaStreamCaptureModeThreadLocal = 1,
    cudaStreamCaptureModeRelaxed     = 2
};

enum cudaGraphInstantiateFlags {
    cudaGraphInstantiateFlagAutoFreeOnLaunch = 1,
    cudaGraphInstantiateFlagUpload           = 2,
    cudaGraphInstantiateFlagDeviceLaunch     = 4,
    cudaGraphInstantiateFlagUseNodePriority  = 8
};

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, enum cudaStreamCaptureMode mode);
cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t *pGraph);
cudaError_t cudaStreamIsCapturing(cudaStream_t stream, enum cudaStreamCaptureStatus *pCaptureStatus);
cudaError_t cudaStreamGetCaptureInfo(cudaStream_t stream, enum cudaStreamCaptureStatus *captureStatus_out,
                                     unsigned long long *id_out, cudaGraph_t *graph_out,
                                     const cudaGraphNode_t **dependencies_out,
                                     const cudaGraphEdgeData **edgeData_out, size_t *numDependencies_out);
cudaError_t cudaGraphCreate(cudaGraph_t *pGraph, unsigned int flags);
cudaError_t cudaGraphGetNodes(cudaGraph_t graph, cudaGraphNode_t *nodes, size_t *numNodes);
cudaError_t cudaGraphInstantiate(cudaGraphExec_t *pGraphExec, cudaGraph_t graph, unsigned long long flags);
cudaError_t cudaGraphInstantiateWithFlags(cudaGraphExec_t *pGraphExec, cudaGraph_t graph,
                                          unsigned long long flags);
cudaError_t cudaGraphLaunch(cudaGraphExec_t graphExec, cudaStream_t stream);
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t graphExec);
cudaError_t cudaGraphDestroy(cudaGraph_t graph);

/* ---- 3-D memory ------------------------------------------------------------------- */
typedef struct cudaArray *cudaArray_t;                      /* cudaMallocArray, cudaMalloc3DArray */
typedef const struct cudaArray *cudaArray_const_t;

struct cudaExtent {
    size_t width;
    size_t height;
    size_t depth;
};

struct cudaPos {
    size_t x;
    size_t y;
    size_t z;
};

struct cudaPitchedPtr {
    void  *ptr;
    size_t pitch;
    size_t xsize;
    size_t ysize;
};

struct cudaMemcpy3DParms {
    cudaArray_t           srcArray;
    struct cudaPos        srcPos;
    struct cudaPitchedPtr srcPtr;
    cudaArray_t           dstArray;
    struct cudaPos        dstPos;
    struct cudaPitchedPtr dstPtr;
    struct cudaExtent     extent;
    enum cudaMemcpyKind   kind;
};

cudaError_t cudaMalloc3D(struct cudaPitchedPtr *pitchedDevPtr, struct cudaExtent extent);
cudaError_t cudaMemcpy3D(const struct cudaMemcpy3DParms *p);
cudaError_t cudaMemcpy3DAsync(const struct cudaMemcpy3DParms *p, cudaStream_t stream);
cudaError_t cudaMemset3D(struct cudaPitchedPtr pitchedDevPtr, int value, struct cudaExtent extent);
cudaError_t cudaMemset3DAsync(struct cudaPitchedPtr pitchedDevPtr, int value, struct cudaExtent extent,
                              cudaStream_t stream);

/* ---- graphs built node by node ------------------------------------------------------ */
struct cudaKernelNodeParams {
    void *func;
    dim3 gridDim;
    dim3 blockDim;
    unsigned int sharedMemBytes;
    void **kernelParams;
    void **extra;
};
struct cudaMemsetParams {
    void *dst;
    size_t pitch;
    unsigned int value;
    unsigned int elementSize;
    size_t width;
    size_t height;
};
struct cudaHostNodeParams {
    cudaHostFn_t fn;
    void *userData;
};
cudaError_t cudaGraphAddKernelNode(cudaGraphNode_t *pGraphNode, cudaGraph_t graph,
                                   const cudaGraphNode_t *pDependencies, size_t numDependencies,
                                   const struct cudaKernelNodeParams *pNodeParams);
cudaError_t cudaGraphAddMemcpyNode(cudaGraphNode_t *pGraphNode, cudaGraph_t graph,
                                   const cudaGraphNode_t *pDependencies, size_t numDependencies,
                                   const struct cudaMemcpy3DParms *pCopyParams);
cudaError_t cudaGraphAddMemcpyNode1D(cudaGraphNode_t *pGraphNode, cudaGraph_t graph,
                                     const cudaGraphNode_t *pDependencies, size_t numDependencies,
                                     void *dst, const void *src, size_t count, enum cudaMemcpyKind kind);
cudaError_t cudaGraphAddMemsetNode(cudaGraphNode_t *pGraphNode, cudaGraph_t graph,
                                   const cudaGraphNode_t *pDependencies, size_t numDependencies,
                                   const struct cudaMemsetParams *pMemsetParams);
cudaError_t cudaGraphAddHostNode(cudaGraphNode_t *pGraphNode, cudaGraph_t graph,
                                 const cudaGraphNode_t *pDependencies, size_t numDependencies,
                                 const struct cudaHostNodeParams *pNodeParams);
cudaError_t cudaGraphAddEmptyNode(cudaGraphNode_t *pGraphNode, cudaGraph_t graph,
                                  const cudaGraphNode_t *pDependencies, size_t numDependencies);
cudaError_t cudaGraphAddDependencies(cudaGraph_t graph, const cudaGraphNode_t *from,
                                     const cudaGraphNode_t *to, const cudaGraphEdgeData *edgeData,
                                     size_t numDependencies);
cudaError_t cudaGraphRemoveDependencies(cudaGraph_t graph, const cudaGraphNode_t *from,
                                        const cudaGraphNode_t *to, const cudaGraphEdgeData *edgeData,
                                        size_t numDependencies);
/* the list queries: NULL arrays ask for the count; a short array gets the first ones;
 * edgeData, when given, is all default edges (zero) */
cudaError_t cudaGraphGetEdges(cudaGraph_t graph, cudaGraphNode_t *from, cudaGraphNode_t *to,
                              cudaGraphEdgeData *edgeData, size_t *numEdges);
cudaError_t cudaGraphGetRootNodes(cudaGraph_t graph, cudaGraphNode_t *pRootNodes, size_t *pNumRootNodes);
cudaError_t cudaGraphNodeGetDependencies(cudaGraphNode_t node, cudaGraphNode_t *pDependencies,
                                         cudaGraphEdgeData *edgeData, size_t *pNumDependencies);
cudaError_t cudaGraphNodeGetDependentNodes(cudaGraphNode_t node, cudaGraphNode_t *pDependentNodes,
                                           cudaGraphEdgeData *edgeData, size_t *pNumDependentNodes);
cudaError_t cudaGraphClone(cudaGraph_t *pGraphClone, cudaGraph_t originalGraph);
cudaError_t cudaGraphNodeFindInClone(cudaGraphNode_t *pNode, cudaGraphNode_t originalNode,
                                     cudaGraph_t clonedGraph);
cudaError_t cudaGraphDestroyNode(cudaGraphNode_t node);     /* its edges go with it */
/* this thread's interaction with captures: Global (the default) refuses potentially unsafe
 * calls (cudaMalloc, cudaFree, cudaMallocHost, cudaDeviceSynchronize, ...) during its own
 * captures and any thread's global ones, ThreadLocal during its own, Relaxed never */
cudaError_t cudaThreadExchangeStreamCaptureMode(enum cudaStreamCaptureMode *mode);

/* ---- graph nodes' parameters --------------------------------------------------------- */
enum cudaGraphNodeType {                     /* the types nodes made here have */
    cudaGraphNodeTypeKernel    = 0,
    cudaGraphNodeTypeMemcpy    = 1,
    cudaGraphNodeTypeMemset    = 2,
    cudaGraphNodeTypeHost      = 3,
    cudaGraphNodeTypeGraph     = 4,
    cudaGraphNodeTypeEmpty     = 5,
    cudaGraphNodeTypeWaitEvent = 6
};

enum cudaGraphExecUpdateResult {
    cudaGraphExecUpdateSuccess                        = 0,
    cudaGraphExecUpdateError                          = 1,
    cudaGraphExecUpdateErrorTopologyChanged           = 2,
    cudaGraphExecUpdateErrorNodeTypeChanged           = 3,
    cudaGraphExecUpdateErrorFunctionChanged           = 4,
    cudaGraphExecUpdateErrorParametersChanged         = 5,
    cudaGraphExecUpdateErrorNotSupported              = 6,
    cudaGraphExecUpdateErrorUnsupportedFunctionChange = 7,
    cudaGraphExecUpdateErrorAttributesChanged         = 8
};

typedef struct cudaGraphExecUpdateResultInfo_st {
    enum cudaGraphExecUpdateResult result;
    cudaGraphNode_t errorNode;
    cudaGraphNode_t errorFromNode;
} cudaGraphExecUpdateResultInfo;

/* cudaErrorInvalidValue for a node of no graph (or of another type than the call's) */
cudaError_t cudaGraphNodeGetType(cudaGraphNode_t node, enum cudaGraphNodeType *pType);
/* kernelParams points at the node's own copy of the arguments, valid until its next change;
 * extra is NULL */
cudaError_t cudaGraphKernelNodeGetParams(cudaGraphNode_t node, struct cudaKernelNodeParams *pNodeParams);
cudaError_t cudaGraphKernelNodeSetParams(cudaGraphNode_t node, const struct cudaKernelNodeParams *pNodeParams);
/* the executable graph's copy of the node (named by the graph's handle), for later launches */
cudaError_t cudaGraphExecKernelNodeSetParams(cudaGraphExec_t hGraphExec, cudaGraphNode_t node,
                                             const struct cudaKernelNodeParams *pNodeParams);
/* The parameters of hGraph's nodes, paired with the executable's by position, when both
 * have the same node types and edges; else cudaErrorGraphExecUpdateFailure and nothing
 * changes (resultInfo says why, and which node of hGraph). */
cudaError_t cudaGraphExecUpdate(cudaGraphExec_t hGraphExec, cudaGraph_t hGraph,
                                cudaGraphExecUpdateResultInfo *resultInfo);

/* ---- CUDA arrays and texture objects (point sampling; kernels' tex.1d/tex.2d) ------- */
enum cudaChannelFormatKind {
    cudaChannelFormatKindSigned   = 0,
    cudaChannelFormatKindUnsigned = 1,
    cudaChannelFormatKindFloat    = 2,
    cudaChannelFormatKindNone     = 3
};

struct cudaChannelFormatDesc {
    int x;
    int y;
    int z;
    int w;
    enum cudaChannelFormatKind f;
};

enum cudaResourceType {
    cudaResourceTypeArray          = 0,
    cudaResourceTypeMipmappedArray = 1,
    cudaResourceTypeLinear         = 2,
    cudaResourceTypePitch2D        = 3
};

struct cudaResourceDesc {
    enum cudaResourceType resType;
    union {
        struct {
            cudaArray_t array;
        } array;
        struct {
            void *mipmap;                        /* mipmapped arrays are not supported */
        } mipmap;
        struct {
            void *devPtr;
            struct cudaChannelFormatDesc desc;
            size_t sizeInBytes;
        } linear;
        struct {
            void *devPtr;
            struct cudaChannelFormatDesc desc;
            size_t width;
            size_t height;
            size_t pitchInBytes;
        } pitch2D;
        struct {
            int reserved[32];
        } reserved;
    } res;
    unsigned int flags;
};

enum cudaTextureAddressMode {
    cudaAddressModeWrap   = 0,
    cudaAddressModeClamp  = 1,
    cudaAddressModeMirror = 2,
    cudaAddressModeBorder = 3
};

enum cudaTextureFilterMode {
    cudaFilterModePoint  = 0,
    cudaFilterModeLinear = 1                     /* float texels or normalized reads */
};

enum cudaTextureReadMode {
    cudaReadModeElementType     = 0,
    cudaReadModeNormalizedFloat = 1
};

struct cudaTextureDesc {
    enum cudaTextureAddressMode addressMode[3];
    enum cudaTextureFilterMode filterMode;
    enum cudaTextureReadMode readMode;
    int sRGB;
    float borderColor[4];
    int normalizedCoords;
    unsigned int maxAnisotropy;
    enum cudaTextureFilterMode mipmapFilterMode;
    float mipmapLevelBias;
    float minMipmapLevelClamp;
    float maxMipmapLevelClamp;
    int disableTrilinearOptimization;
    int seamlessCubemap;
};

struct cudaResourceViewDesc;                     /* only passed by pointer; views are not supported */
typedef unsigned long long cudaTextureObject_t;  /* the device address of the texture's descriptor */

struct cudaChannelFormatDesc cudaCreateChannelDesc(int x, int y, int z, int w, enum cudaChannelFormatKind f);
/* height 0: a 1-D array; flags other than 0 (surfaces, layered, gather) give cudaErrorNotSupported */
cudaError_t cudaMallocArray(cudaArray_t *array, const struct cudaChannelFormatDesc *desc, size_t width,
                            size_t height, unsigned int flags);
cudaError_t cudaFreeArray(cudaArray_t array);
/* extent in elements: depth 0 makes a 1-D or 2-D array (as cudaMallocArray), else `depth`
 * slices of max(height, 1) rows; cudaMemcpy3D copies to and from it (positions and the
 * extent's width in elements on the array's side) and tex3D reads it */
cudaError_t cudaMalloc3DArray(cudaArray_t *array, const struct cudaChannelFormatDesc *desc, struct cudaExtent extent,
                              unsigned int flags);
/* width and the offsets in bytes; cudaErrorInvalidValue for a block outside the array */
cudaError_t cudaMemcpy2DToArray(cudaArray_t dst, size_t wOffset, size_t hOffset, const void *src, size_t spitch,
                                size_t width, size_t height, enum cudaMemcpyKind kind);
cudaError_t cudaMemcpy2DFromArray(void *dst, size_t dpitch, cudaArray_const_t src, size_t wOffset, size_t hOffset,
                                  size_t width, size_t height, enum cudaMemcpyKind kind);
/* resources: arrays (1-, 2- and 3-D), linear memory (tex1Dfetch) and pitched memory; point
 * sampling, or linear filtering of floats (sRGB and resource views give cudaErrorNotSupported) */
cudaError_t cudaCreateTextureObject(cudaTextureObject_t *pTexObject, const struct cudaResourceDesc *pResDesc,
                                    const struct cudaTextureDesc *pTexDesc,
                                    const struct cudaResourceViewDesc *pResViewDesc);
cudaError_t cudaDestroyTextureObject(cudaTextureObject_t texObject);

/* ---- per-thread default stream builds (--default-stream per-thread) -----------------
 * The same calls under the names such programs import; here the thread's default stream
 * is the legacy one, which orders more work, never less. */
cudaError_t cudaMemcpy_ptds(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind);
cudaError_t cudaMemcpy2DToArray_ptds(cudaArray_t dst, size_t wOffset, size_t hOffset, const void *src,
                                     size_t spitch, size_t width, size_t height, enum cudaMemcpyKind kind);
cudaError_t cudaMemcpy2DFromArray_ptds(void *dst, size_t dpitch, cudaArray_const_t src, size_t wOffset,
                                       size_t hOffset, size_t width, size_t height, enum cudaMemcpyKind kind);
cudaError_t cudaMemcpy2D_ptds(void *dst, size_t dpitch, const void *src, size_t spitch, size_t width,
                              size_t height, enum cudaMemcpyKind kind);
cudaError_t cudaMemcpyToSymbol_ptds(const void *symbol, const void *src, size_t count, size_t offset,
                                    enum cudaMemcpyKind kind);
cudaError_t cudaMemcpyFromSymbol_ptds(void *dst, const void *symbol, size_t count, size_t offset,
                                      enum cudaMemcpyKind kind);
cudaError_t cudaMemset_ptds(void *devPtr, int value, size_t count);
cudaError_t cudaMemset2D_ptds(void *devPtr, size_t pitch, int value, size_t width, size_t height);
cudaError_t cudaMemcpyAsync_ptsz(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind,
                                 cudaStream_t stream);
cudaError_t cudaMemcpy2DAsync_ptsz(void *dst, size_t dpitch, const void *src, size_t spitch, size_t width,
                                   size_t height, enum cudaMemcpyKind kind, cudaStream_t stream);
cudaError_t cudaMemcpyToSymbolAsync_ptsz(const void *symbol, const void *src, size_t count, size_t offset,
                                         enum cudaMemcpyKind kind, cudaStream_t stream);
cudaError_t cudaMemcpyFromSymbolAsync_ptsz(void *dst, const void *symbol, size_t count, size_t offset,
                                           enum cudaMemcpyKind kind, cudaStream_t stream);
cudaError_t cudaMallocAsync_ptsz(void **devPtr, size_t size, cudaStream_t hStream);
cudaError_t cudaFreeAsync_ptsz(void *devPtr, cudaStream_t hStream);
cudaError_t cudaMallocFromPoolAsync_ptsz(void **ptr, size_t size, cudaMemPool_t memPool, cudaStream_t stream);
cudaError_t cudaMemsetAsync_ptsz(void *devPtr, int value, size_t count, cudaStream_t stream);
cudaError_t cudaStreamSynchronize_ptsz(cudaStream_t stream);
cudaError_t cudaStreamQuery_ptsz(cudaStream_t stream);
cudaError_t cudaStreamGetFlags_ptsz(cudaStream_t hStream, unsigned int *flags);
cudaError_t cudaStreamGetPriority_ptsz(cudaStream_t hStream, int *priority);
cudaError_t cudaStreamWaitEvent_ptsz(cudaStream_t stream, cudaEvent_t event, unsigned int flags);
cudaError_t cudaStreamAddCallback_ptsz(cudaStream_t stream, cudaStreamCallback_t callback, void *userData,
                                       unsigned int flags);
cudaError_t cudaLaunchHostFunc_ptsz(cudaStream_t stream, cudaHostFn_t fn, void *userData);
cudaError_t cudaEventRecord_ptsz(cudaEvent_t event, cudaStream_t stream);
cudaError_t cudaEventRecordWithFlags_ptsz(cudaEvent_t event, cudaStream_t stream, unsigned int flags);
cudaError_t cudaStreamBeginCapture_ptsz(cudaStream_t stream, enum cudaStreamCaptureMode mode);
cudaError_t cudaStreamEndCapture_ptsz(cudaStream_t stream, cudaGraph_t *pGraph);
cudaError_t cudaStreamIsCapturing_ptsz(cudaStream_t stream, enum cudaStreamCaptureStatus *pCaptureStatus);
cudaError_t cudaStreamGetCaptureInfo_ptsz(cudaStream_t stream, enum cudaStreamCaptureStatus *captureStatus_out,
                                          unsigned long long *id_out, cudaGraph_t *graph_out,
                                          const cudaGraphNode_t **dependencies_out,
                                          const cudaGraphEdgeData **edgeData_out, size_t *numDependencies_out);
cudaError_t cudaGraphLaunch_ptsz(cudaGraphExec_t graphExec, cudaStream_t stream);
cudaError_t cudaMemcpy3D_ptds(const struct cudaMemcpy3DParms *p);
cudaError_t cudaMemset3D_ptds(struct cudaPitchedPtr pitchedDevPtr, int value, struct cudaExtent extent);
cudaError_t cudaMemcpy3DAsync_ptsz(const struct cudaMemcpy3DParms *p, cudaStream_t stream);
cudaError_t cudaMemset3DAsync_ptsz(struct cudaPitchedPtr pitchedDevPtr, int value, struct cudaExtent extent,
                                   cudaStream_t stream);

/* ---- errors -------------------------------------------------------------------------- */
cudaError_t cudaGetLastError(void);
cudaError_t cudaPeekAtLastError(void);
const char *cudaGetErrorString(cudaError_t error);
const char *cudaGetErrorName(cudaError_t error);

#ifdef __cplusplus
}
#endif

#endif /* GDEV_CUDART_H */
