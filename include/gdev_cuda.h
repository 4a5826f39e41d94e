/*
 * gdev_cuda.h - the CUDA driver face of gdev-shim (libcuda.so.1).
 *
 * Programs written against the CUDA driver API (cu*) and linked with -lcuda
 * run on the simulated aicard through this library: it exports the entry
 * points cuda.h maps the plain names to (cuMemAlloc_v2, cuCtxCreate_v4, ...),
 * with CUDA's result codes, enum values and struct layouts, and carries them
 * out through the SDAA driver layer beneath libusdaa.so.
 *
 * This header is our own description of that ABI, for the library's build and
 * its tests; programs keep compiling against the toolkit's cuda.h.  The ABI
 * tests compare every value and layout declared here with the toolkit.
 * Outside preprocessor-only lines it holds plain declarations and every
 * #define is an integer literal, so cffi reads it as it is.
 */
#ifndef GDEV_CUDA_H
#define GDEV_CUDA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- result codes (the numbers CUDA 13 assigns) ------------------------ */
typedef enum cudaError_enum {
    CUDA_SUCCESS                                  = 0,
    CUDA_ERROR_INVALID_VALUE                      = 1,
    CUDA_ERROR_OUT_OF_MEMORY                      = 2,
    CUDA_ERROR_NOT_INITIALIZED                    = 3,
    CUDA_ERROR_DEINITIALIZED                      = 4,
    CUDA_ERROR_PROFILER_DISABLED                  = 5,
    CUDA_ERROR_PROFILER_NOT_INITIALIZED           = 6,
    CUDA_ERROR_PROFILER_ALREADY_STARTED           = 7,
    CUDA_ERROR_PROFILER_ALREADY_STOPPED           = 8,
    CUDA_ERROR_STUB_LIBRARY                       = 34,
    CUDA_ERROR_CALL_REQUIRES_NEWER_DRIVER         = 36,
    CUDA_ERROR_DEVICE_UNAVAILABLE                 = 46,
    CUDA_ERROR_NO_DEVICE                          = 100,
    CUDA_ERROR_INVALID_DEVICE                     = 101,
    CUDA_ERROR_DEVICE_NOT_LICENSED                = 102,
    CUDA_ERROR_INVALID_IMAGE                      = 200,
    CUDA_ERROR_INVALID_CONTEXT                    = 201,
    CUDA_ERROR_CONTEXT_ALREADY_CURRENT            = 202,
    CUDA_ERROR_MAP_FAILED                         = 205,
    CUDA_ERROR_UNMAP_FAILED                       = 206,
    CUDA_ERROR_ARRAY_IS_MAPPED                    = 207,
    CUDA_ERROR_ALREADY_MAPPED                     = 208,
    CUDA_ERROR_NO_BINARY_FOR_GPU                  = 209,
    CUDA_ERROR_ALREADY_ACQUIRED                   = 210,
    CUDA_ERROR_NOT_MAPPED                         = 211,
    CUDA_ERROR_NOT_MAPPED_AS_ARRAY                = 212,
    CUDA_ERROR_NOT_MAPPED_AS_POINTER              = 213,
    CUDA_ERROR_ECC_UNCORRECTABLE                  = 214,
    CUDA_ERROR_UNSUPPORTED_LIMIT                  = 215,
    CUDA_ERROR_CONTEXT_ALREADY_IN_USE             = 216,
    CUDA_ERROR_PEER_ACCESS_UNSUPPORTED            = 217,
    CUDA_ERROR_INVALID_PTX                        = 218,
    CUDA_ERROR_INVALID_GRAPHICS_CONTEXT           = 219,
    CUDA_ERROR_NVLINK_UNCORRECTABLE               = 220,
    CUDA_ERROR_JIT_COMPILER_NOT_FOUND             = 221,
    CUDA_ERROR_UNSUPPORTED_PTX_VERSION            = 222,
    CUDA_ERROR_JIT_COMPILATION_DISABLED           = 223,
    CUDA_ERROR_UNSUPPORTED_EXEC_AFFINITY          = 224,
    CUDA_ERROR_UNSUPPORTED_DEVSIDE_SYNC           = 225,
    CUDA_ERROR_CONTAINED                          = 226,
    CUDA_ERROR_INVALID_SOURCE                     = 300,
    CUDA_ERROR_FILE_NOT_FOUND                     = 301,
    CUDA_ERROR_SHARED_OBJECT_SYMBOL_NOT_FOUND     = 302,
    CUDA_ERROR_SHARED_OBJECT_INIT_FAILED          = 303,
    CUDA_ERROR_OPERATING_SYSTEM                   = 304,
    CUDA_ERROR_INVALID_HANDLE                     = 400,
    CUDA_ERROR_ILLEGAL_STATE                      = 401,
    CUDA_ERROR_LOSSY_QUERY                        = 402,
    CUDA_ERROR_NOT_FOUND                          = 500,
    CUDA_ERROR_NOT_READY                          = 600,
    CUDA_ERROR_ILLEGAL_ADDRESS                    = 700,
    CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES            = 701,
    CUDA_ERROR_LAUNCH_TIMEOUT                     = 702,
    CUDA_ERROR_LAUNCH_INCOMPATIBLE_TEXTURING      = 703,
    CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED        = 704,
    CUDA_ERROR_PEER_ACCESS_NOT_ENABLED            = 705,
    CUDA_ERROR_PRIMARY_CONTEXT_ACTIVE             = 708,
    CUDA_ERROR_CONTEXT_IS_DESTROYED               = 709,
    CUDA_ERROR_ASSERT                             = 710,
    CUDA_ERROR_TOO_MANY_PEERS                     = 711,
    CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED     = 712,
    CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED         = 713,
    CUDA_ERROR_HARDWARE_STACK_ERROR               = 714,
    CUDA_ERROR_ILLEGAL_INSTRUCTION                = 715,
    CUDA_ERROR_MISALIGNED_ADDRESS                 = 716,
    CUDA_ERROR_INVALID_ADDRESS_SPACE              = 717,
    CUDA_ERROR_INVALID_PC                         = 718,
    CUDA_ERROR_LAUNCH_FAILED                      = 719,
    CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE       = 720,
    CUDA_ERROR_TENSOR_MEMORY_LEAK                 = 721,
    CUDA_ERROR_NOT_PERMITTED                      = 800,
    CUDA_ERROR_NOT_SUPPORTED                      = 801,
    CUDA_ERROR_SYSTEM_NOT_READY                   = 802,
    CUDA_ERROR_SYSTEM_DRIVER_MISMATCH             = 803,
    CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE     = 804,
    CUDA_ERROR_MPS_CONNECTION_FAILED              = 805,
    CUDA_ERROR_MPS_RPC_FAILURE                    = 806,
    CUDA_ERROR_MPS_SERVER_NOT_READY               = 807,
    CUDA_ERROR_MPS_MAX_CLIENTS_REACHED            = 808,
    CUDA_ERROR_MPS_MAX_CONNECTIONS_REACHED        = 809,
    CUDA_ERROR_MPS_CLIENT_TERMINATED              = 810,
    CUDA_ERROR_CDP_NOT_SUPPORTED                  = 811,
    CUDA_ERROR_CDP_VERSION_MISMATCH               = 812,
    CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED         = 900,
    CUDA_ERROR_STREAM_CAPTURE_INVALIDATED         = 901,
    CUDA_ERROR_STREAM_CAPTURE_MERGE               = 902,
    CUDA_ERROR_STREAM_CAPTURE_UNMATCHED           = 903,
    CUDA_ERROR_STREAM_CAPTURE_UNJOINED            = 904,
    CUDA_ERROR_STREAM_CAPTURE_ISOLATION           = 905,
    CUDA_ERROR_STREAM_CAPTURE_IMPLICIT            = 906,
    CUDA_ERROR_CAPTURED_EVENT                     = 907,
    CUDA_ERROR_STREAM_CAPTURE_WRONG_THREAD        = 908,
    CUDA_ERROR_TIMEOUT                            = 909,
    CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE          = 910,
    CUDA_ERROR_EXTERNAL_DEVICE                    = 911,
    CUDA_ERROR_INVALID_CLUSTER_SIZE               = 912,
    CUDA_ERROR_FUNCTION_NOT_LOADED                = 913,
    CUDA_ERROR_INVALID_RESOURCE_TYPE              = 914,
    CUDA_ERROR_INVALID_RESOURCE_CONFIGURATION     = 915,
    CUDA_ERROR_KEY_ROTATION                       = 916,
    CUDA_ERROR_UNKNOWN                            = 999

} CUresult;

/* ---- handles ----------------------------------------------------------- */
typedef unsigned long long CUdeviceptr_v2;
typedef CUdeviceptr_v2 CUdeviceptr;         /* device address */
typedef int CUdevice_v1;
typedef CUdevice_v1 CUdevice;               /* device ordinal */
typedef uint64_t cuuint64_t;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;       /* NULL, 0x1 (legacy), 0x2 (per thread): the default stream */
typedef struct CUevent_st *CUevent;
typedef struct CUgraph_st *CUgraph;          /* made by stream capture */
typedef struct CUgraphNode_st *CUgraphNode;
typedef struct CUgraphExec_st *CUgraphExec;
typedef struct CUkern_st *CUkernel;          /* library kernels are not supported: NULL */
typedef struct CUarray_st *CUarray;          /* CUDA arrays are not supported by this face: NULL */
/* stream callbacks: run once the stream's earlier work is done */
typedef void (*CUstreamCallback)(CUstream hStream, CUresult status, void *userData);
typedef void (*CUhostFn)(void *userData);

typedef struct CUuuid_st {
    char bytes[16];
} CUuuid;

/* cuCtxCreate_v4's parameters; only an all-NULL set is supported */
typedef struct CUctxCreateParams_st {
    void *execAffinityParams;
    int   numExecAffinityParams;
    void *cigParams;
} CUctxCreateParams;

/* ---- device attributes (those this library answers) -------------------- */
typedef enum CUdevice_attribute_enum {
    CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK            = 1,
    CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X                  = 2,
    CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y                  = 3,
    CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z                  = 4,
    CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X                   = 5,
    CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y                   = 6,
    CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z                   = 7,
    CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK      = 8,
    CU_DEVICE_ATTRIBUTE_TOTAL_CONSTANT_MEMORY            = 9,
    CU_DEVICE_ATTRIBUTE_WARP_SIZE                        = 10,
    CU_DEVICE_ATTRIBUTE_MAX_PITCH                        = 11,
    CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK          = 12,
    CU_DEVICE_ATTRIBUTE_CLOCK_RATE                       = 13,
    CU_DEVICE_ATTRIBUTE_TEXTURE_ALIGNMENT                = 14,
    CU_DEVICE_ATTRIBUTE_GPU_OVERLAP                      = 15,
    CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT             = 16,
    CU_DEVICE_ATTRIBUTE_KERNEL_EXEC_TIMEOUT              = 17,
    CU_DEVICE_ATTRIBUTE_INTEGRATED                       = 18,
    CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY              = 19,
    CU_DEVICE_ATTRIBUTE_COMPUTE_MODE                     = 20,
    CU_DEVICE_ATTRIBUTE_CONCURRENT_KERNELS               = 31,
    CU_DEVICE_ATTRIBUTE_ECC_ENABLED                      = 32,
    CU_DEVICE_ATTRIBUTE_PCI_BUS_ID                       = 33,
    CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID                    = 34,
    CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE                = 36,
    CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH          = 37,
    CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE                    = 38,
    CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR   = 39,
    CU_DEVICE_ATTRIBUTE_ASYNC_ENGINE_COUNT               = 40,
    CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING               = 41,
    CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID                    = 50,
    CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR         = 75,
    CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR         = 76,
    CU_DEVICE_ATTRIBUTE_STREAM_PRIORITIES_SUPPORTED      = 78,
    CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR = 81,
    CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR = 82,
    CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY                   = 83,
    CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS        = 89,
    CU_DEVICE_ATTRIBUTE_COOPERATIVE_LAUNCH               = 95,
    CU_DEVICE_ATTRIBUTE_COOPERATIVE_MULTI_DEVICE_LAUNCH  = 96,
    CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97,
    CU_DEVICE_ATTRIBUTE_MAX_BLOCKS_PER_MULTIPROCESSOR    = 106
} CUdevice_attribute;

/* ---- function attributes ------------------------------------------------ */
typedef enum CUfunction_attribute_enum {
    CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK         = 0,
    CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES             = 1,
    CU_FUNC_ATTRIBUTE_CONST_SIZE_BYTES              = 2,
    CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES              = 3,
    CU_FUNC_ATTRIBUTE_NUM_REGS                      = 4,
    CU_FUNC_ATTRIBUTE_PTX_VERSION                   = 5,
    CU_FUNC_ATTRIBUTE_BINARY_VERSION                = 6,
    CU_FUNC_ATTRIBUTE_CACHE_MODE_CA                 = 7,
    CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8
} CUfunction_attribute;

/* ---- options of cuModuleLoadDataEx (accepted, and ignored: PTX is compiled as it is) */
typedef enum CUjit_option_enum {
    CU_JIT_MAX_REGISTERS              = 0,
    CU_JIT_THREADS_PER_BLOCK          = 1,
    CU_JIT_WALL_TIME                  = 2,
    CU_JIT_INFO_LOG_BUFFER            = 3,
    CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES = 4,
    CU_JIT_ERROR_LOG_BUFFER           = 5,
    CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6,
    CU_JIT_OPTIMIZATION_LEVEL         = 7
} CUjit_option;

/* ---- cuGetProcAddress ----------------------------------------------------- */
typedef enum CUdriverProcAddress_flags_enum {
    CU_GET_PROC_ADDRESS_DEFAULT                   = 0,
    CU_GET_PROC_ADDRESS_LEGACY_STREAM             = 1,
    CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM = 2
} CUdriverProcAddress_flags;

typedef enum CUdriverProcAddressQueryResult_enum {
    CU_GET_PROC_ADDRESS_SUCCESS                = 0,
    CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND       = 1,
    CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT = 2
} CUdriverProcAddressQueryResult;

/* ---- cache preferences (hints: the card has no L1 to divide) ------------ */
typedef enum CUfunc_cache_enum {
    CU_FUNC_CACHE_PREFER_NONE   = 0,
    CU_FUNC_CACHE_PREFER_SHARED = 1,
    CU_FUNC_CACHE_PREFER_L1     = 2,
    CU_FUNC_CACHE_PREFER_EQUAL  = 3
} CUfunc_cache;

/* ---- flags -------------------------------------------------------------- */
typedef enum CUctx_flags_enum {
    CU_CTX_SCHED_AUTO          = 0,
    CU_CTX_SCHED_SPIN          = 1,
    CU_CTX_SCHED_YIELD         = 2,
    CU_CTX_SCHED_BLOCKING_SYNC = 4,
    CU_CTX_SCHED_MASK          = 7,
    CU_CTX_MAP_HOST            = 8,
    CU_CTX_LMEM_RESIZE_TO_MAX  = 16
} CUctx_flags;

typedef enum CUstream_flags_enum {
    CU_STREAM_DEFAULT      = 0,
    CU_STREAM_NON_BLOCKING = 1
} CUstream_flags;

typedef enum CUevent_record_flags_enum {
    CU_EVENT_RECORD_DEFAULT  = 0,
    CU_EVENT_RECORD_EXTERNAL = 1
} CUevent_record_flags;

typedef enum CUevent_flags_enum {
    CU_EVENT_DEFAULT        = 0,
    CU_EVENT_BLOCKING_SYNC  = 1,
    CU_EVENT_DISABLE_TIMING = 2,
    CU_EVENT_INTERPROCESS   = 4
} CUevent_flags;

/* ---- pointers --------------------------------------------------------------- */
typedef enum CUmemorytype_enum {
    CU_MEMORYTYPE_HOST    = 1,
    CU_MEMORYTYPE_DEVICE  = 2,
    CU_MEMORYTYPE_ARRAY   = 3,
    CU_MEMORYTYPE_UNIFIED = 4
} CUmemorytype;

/* the attributes cuPointerGetAttribute answers (the others give INVALID_VALUE) */
typedef enum CUpointer_attribute_enum {
    CU_POINTER_ATTRIBUTE_CONTEXT          = 1,   /* CUcontext */
    CU_POINTER_ATTRIBUTE_MEMORY_TYPE      = 2,   /* unsigned int: HOST or DEVICE (managed memory is DEVICE) */
    CU_POINTER_ATTRIBUTE_DEVICE_POINTER   = 3,   /* CUdeviceptr */
    CU_POINTER_ATTRIBUTE_HOST_POINTER     = 4,   /* void *; INVALID_VALUE for device memory */
    CU_POINTER_ATTRIBUTE_IS_MANAGED       = 8,   /* unsigned int 0/1 */
    CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL   = 9,   /* int */
    CU_POINTER_ATTRIBUTE_RANGE_START_ADDR = 11,  /* CUdeviceptr: the allocation's start */
    CU_POINTER_ATTRIBUTE_RANGE_SIZE       = 12,  /* size_t: the allocation's size */
    CU_POINTER_ATTRIBUTE_MAPPED           = 13   /* unsigned int 0/1 */
} CUpointer_attribute;

typedef enum CUmemAttach_flags_enum {
    CU_MEM_ATTACH_GLOBAL = 1,
    CU_MEM_ATTACH_HOST   = 2,
    CU_MEM_ATTACH_SINGLE = 4
} CUmemAttach_flags;

#define CU_MEMHOSTREGISTER_PORTABLE   1
#define CU_MEMHOSTREGISTER_DEVICEMAP  2
#define CU_MEMHOSTREGISTER_IOMEMORY   4
#define CU_MEMHOSTREGISTER_READ_ONLY  8

/* ---- stream capture and graphs ---------------------------------------------- */
typedef enum CUstreamCaptureStatus_enum {
    CU_STREAM_CAPTURE_STATUS_NONE        = 0,
    CU_STREAM_CAPTURE_STATUS_ACTIVE      = 1,
    CU_STREAM_CAPTURE_STATUS_INVALIDATED = 2
} CUstreamCaptureStatus;

typedef enum CUstreamCaptureMode_enum {
    CU_STREAM_CAPTURE_MODE_GLOBAL       = 0,
    CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1,
    CU_STREAM_CAPTURE_MODE_RELAXED      = 2
} CUstreamCaptureMode;

typedef enum CUgraphInstantiate_flags_enum {
    CUDA_GRAPH_INSTANTIATE_FLAG_AUTO_FREE_ON_LAUNCH = 1,
    CUDA_GRAPH_INSTANTIATE_FLAG_UPLOAD              = 2,
    CUDA_GRAPH_INSTANTIATE_FLAG_DEVICE_LAUNCH       = 4,
    CUDA_GRAPH_INSTANTIATE_FLAG_USE_NODE_PRIORITY   = 8
} CUgraphInstantiate_flags;

#define CU_MEMHOSTALLOC_PORTABLE      1
#define CU_MEMHOSTALLOC_DEVICEMAP     2
#define CU_MEMHOSTALLOC_WRITECOMBINED 4

/* Keys of cuLaunchKernel's `extra` array (cast to void *): the packed parameter
 * buffer, a pointer to its size_t size, and the end of the array. */
#define CU_LAUNCH_PARAM_END_AS_INT            0
#define CU_LAUNCH_PARAM_BUFFER_POINTER_AS_INT 1
#define CU_LAUNCH_PARAM_BUFFER_SIZE_AS_INT    2

/* ---- initialization, version, errors ------------------------------------ */
CUresult cuInit(unsigned int Flags);                      /* Flags must be 0 */
CUresult cuDriverGetVersion(int *driverVersion);          /* 13000: CUDA 13.0 */
CUresult cuGetErrorString(CUresult error, const char **pStr);   /* INVALID_VALUE for no code */
CUresult cuGetErrorName(CUresult error, const char **pStr);
/* The entry point cuda.h would bind `symbol` to (the highest _vN export, or the
 * _ptds/_ptsz one under CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM);
 * CUDA_ERROR_NOT_FOUND, *pfn = NULL, for a name this library does not export. */
CUresult cuGetProcAddress_v2(const char *symbol, void **pfn, int cudaVersion, cuuint64_t flags,
                             CUdriverProcAddressQueryResult *symbolStatus);

/* ---- devices ------------------------------------------------------------- */
CUresult cuDeviceGet(CUdevice *device, int ordinal);      /* CUDA_ERROR_INVALID_DEVICE past the count */
CUresult cuDeviceGetCount(int *count);
CUresult cuDeviceGetName(char *name, int len, CUdevice dev);
CUresult cuDeviceGetUuid_v2(CUuuid *uuid, CUdevice dev);
CUresult cuDeviceGetUuid(CUuuid *uuid, CUdevice dev);
CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice dev);
CUresult cuDeviceGetAttribute(int *pi, CUdevice_attribute attrib, CUdevice dev);  /* INVALID_VALUE: unknown */
CUresult cuDeviceComputeCapability(int *major, int *minor, CUdevice dev);
/* "0000:bb:dd.0" from the card's PCI bus and device numbers */
CUresult cuDeviceGetPCIBusId(char *pciBusId, int len, CUdevice dev);

/* ---- primary contexts (one per card, reference counted) ----------------- */
CUresult cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev);
CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev);      /* INVALID_CONTEXT when not retained */
CUresult cuDevicePrimaryCtxSetFlags_v2(CUdevice dev, unsigned int flags);
CUresult cuDevicePrimaryCtxGetState(CUdevice dev, unsigned int *flags, int *active);
CUresult cuDevicePrimaryCtxReset_v2(CUdevice dev);

/* ---- contexts --------------------------------------------------------------- */
CUresult cuCtxCreate_v2(CUcontext *pctx, unsigned int flags, CUdevice dev);
/* ctxCreateParams may be NULL; affinity or CIG parameters give CUDA_ERROR_NOT_SUPPORTED */
CUresult cuCtxCreate_v4(CUcontext *pctx, CUctxCreateParams *ctxCreateParams, unsigned int flags, CUdevice dev);
CUresult cuCtxDestroy_v2(CUcontext ctx);                  /* INVALID_CONTEXT for a bad handle */
CUresult cuCtxPushCurrent_v2(CUcontext ctx);
CUresult cuCtxPopCurrent_v2(CUcontext *pctx);             /* INVALID_CONTEXT on an empty stack */
CUresult cuCtxSetCurrent(CUcontext ctx);                  /* NULL pops */
CUresult cuCtxGetCurrent(CUcontext *pctx);                /* *pctx = NULL without one */
CUresult cuCtxGetDevice(CUdevice *device);
CUresult cuCtxGetFlags(unsigned int *flags);
CUresult cuCtxSynchronize(void);
CUresult cuCtxGetApiVersion(CUcontext ctx, unsigned int *version);   /* 3020; NULL: the current context */
CUresult cuCtxGetStreamPriorityRange(int *leastPriority, int *greatestPriority);   /* 0, 0 */
CUresult cuCtxSetCacheConfig(CUfunc_cache config);        /* a hint, checked and ignored */
CUresult cuCtxGetCacheConfig(CUfunc_cache *pconfig);      /* CU_FUNC_CACHE_PREFER_NONE */

/* ---- modules and functions ------------------------------------------------ */
/* Images: PTX text, a fat binary (nvcc -fatbin; its best PTX is used) or a
 * cubin (nvcc -cubin) that embeds PTX; a cubin of machine code only gives
 * CUDA_ERROR_NO_BINARY_FOR_GPU and a log line naming the flag to rebuild with.
 * A missing file gives CUDA_ERROR_FILE_NOT_FOUND, bad bytes CUDA_ERROR_INVALID_IMAGE. */
CUresult cuModuleLoad(CUmodule *module, const char *fname);
CUresult cuModuleLoadData(CUmodule *module, const void *image);
CUresult cuModuleLoadDataEx(CUmodule *module, const void *image, unsigned int numOptions,
                            CUjit_option *options, void **optionValues);
CUresult cuModuleLoadFatBinary(CUmodule *module, const void *fatCubin);
CUresult cuModuleUnload(CUmodule hmod);                   /* its functions become invalid handles */
CUresult cuModuleGetFunction(CUfunction *hfunc, CUmodule hmod, const char *name);   /* NOT_FOUND */
CUresult cuModuleGetGlobal_v2(CUdeviceptr *dptr, size_t *bytes, CUmodule hmod, const char *name);
CUresult cuFuncGetAttribute(int *pi, CUfunction_attribute attrib, CUfunction hfunc);
CUresult cuFuncGetName(const char **name, CUfunction hfunc);
CUresult cuFuncSetCacheConfig(CUfunction hfunc, CUfunc_cache config);   /* a hint, checked and ignored */
/* Blocks one multiprocessor (SPE array) holds at once: bounded by its threads, blocks and
 * shared memory, as cudaOccupancyMaxActiveBlocksPerMultiprocessor; INVALID_VALUE for a
 * block size <= 0; 0 for one the function cannot launch with */
CUresult cuOccupancyMaxActiveBlocksPerMultiprocessor(int *numBlocks, CUfunction func, int blockSize,
                                                     size_t dynamicSMemSize);
CUresult cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(int *numBlocks, CUfunction func, int blockSize,
                                                              size_t dynamicSMemSize, unsigned int flags);

/* ---- launches -------------------------------------------------------------------- */
/* Parameters as kernelParams (one pointer per parameter) or as extra (a packed
 * buffer); both, or neither for a kernel that takes some, give INVALID_VALUE. */
CUresult cuLaunchKernel(CUfunction f, unsigned int gridDimX, unsigned int gridDimY, unsigned int gridDimZ,
                        unsigned int blockDimX, unsigned int blockDimY, unsigned int blockDimZ,
                        unsigned int sharedMemBytes, CUstream hStream, void **kernelParams, void **extra);

/* Every block resident at once, so grid-wide barriers (cooperative groups' grid.sync)
 * work; COOPERATIVE_LAUNCH_TOO_LARGE for a grid the card cannot hold at once. */
CUresult cuLaunchCooperativeKernel(CUfunction f, unsigned int gridDimX, unsigned int gridDimY, unsigned int gridDimZ,
                                   unsigned int blockDimX, unsigned int blockDimY, unsigned int blockDimZ,
                                   unsigned int sharedMemBytes, CUstream hStream, void **kernelParams);

/* The same kernel (by name, from each device's module), shape and shared size launched
 * cooperatively on several devices, one entry per device.  Unless a flag says otherwise,
 * each kernel starts after the earlier work of every listed stream and later work on them
 * follows every kernel (here: the streams are waited for on the host before and after). */
typedef struct CUDA_LAUNCH_PARAMS_st {
    CUfunction function;
    unsigned int gridDimX;
    unsigned int gridDimY;
    unsigned int gridDimZ;
    unsigned int blockDimX;
    unsigned int blockDimY;
    unsigned int blockDimZ;
    unsigned int sharedMemBytes;
    CUstream hStream;
    void **kernelParams;
} CUDA_LAUNCH_PARAMS;

#define CUDA_COOPERATIVE_LAUNCH_MULTI_DEVICE_NO_PRE_LAUNCH_SYNC  0x01
#define CUDA_COOPERATIVE_LAUNCH_MULTI_DEVICE_NO_POST_LAUNCH_SYNC 0x02

CUresult cuLaunchCooperativeKernelMultiDevice(CUDA_LAUNCH_PARAMS *launchParamsList, unsigned int numDevices,
                                              unsigned int flags);

/* ---- memory --------------------------------------------------------------------- */
CUresult cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytesize);   /* OUT_OF_MEMORY when it cannot fit */
CUresult cuMemFree_v2(CUdeviceptr dptr);                      /* INVALID_VALUE if not allocated */
/* the allocation holding dptr (either out-pointer may be NULL); NOT_FOUND outside every one */
CUresult cuMemGetAddressRange_v2(CUdeviceptr *pbase, size_t *psize, CUdeviceptr dptr);
CUresult cuMemGetInfo_v2(size_t *free, size_t *total);
CUresult cuMemAllocHost_v2(void **pp, size_t bytesize);
CUresult cuMemHostAlloc(void **pp, size_t bytesize, unsigned int Flags);
CUresult cuMemFreeHost(void *p);
CUresult cuMemHostGetDevicePointer_v2(CUdeviceptr *pdptr, void *p, unsigned int Flags);
/* One address for the host and kernels (the card's memory is the host's); freed by
 * cuMemFree.  flags: CU_MEM_ATTACH_GLOBAL or _HOST, else INVALID_VALUE. */
CUresult cuMemAllocManaged(CUdeviceptr *dptr, size_t bytesize, unsigned int flags);
/* Page-lock the caller's memory; the card reaches it at its own address (so
 * cuMemHostGetDevicePointer answers p).  HOST_MEMORY_ALREADY_REGISTERED for memory that is
 * page-locked already, NOT_SUPPORTED for IOMEMORY. */
CUresult cuMemHostRegister_v2(void *p, size_t bytesize, unsigned int Flags);
CUresult cuMemHostUnregister(void *p);                        /* HOST_MEMORY_NOT_REGISTERED */
/* INVALID_VALUE for a pointer that is no CUDA memory or an attribute it has not */
CUresult cuPointerGetAttribute(void *data, CUpointer_attribute attribute, CUdeviceptr ptr);
/* as cuPointerGetAttribute, each into data[i]; a pointer that is no CUDA memory gets
 * zeros (and CU_MEMORYTYPE 0), not an error */
CUresult cuPointerGetAttributes(unsigned int numAttributes, CUpointer_attribute *attributes, void **data,
                                CUdeviceptr ptr);
/* Stream-ordered: allocated at once, freed once the stream's earlier work is done. */
CUresult cuMemAllocAsync(CUdeviceptr *dptr, size_t bytesize, CUstream hStream);
CUresult cuMemFreeAsync(CUdeviceptr dptr, CUstream hStream);
/* Copies must lie inside one allocation, else INVALID_VALUE. */
CUresult cuMemcpyHtoD_v2(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount);
CUresult cuMemcpyDtoH_v2(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount);
CUresult cuMemcpyDtoD_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount);
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount, CUstream hStream);
CUresult cuMemcpyDtoHAsync_v2(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount, CUstream hStream);
CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount, CUstream hStream);
CUresult cuMemsetD8_v2(CUdeviceptr dstDevice, unsigned char uc, size_t N);
CUresult cuMemsetD16_v2(CUdeviceptr dstDevice, unsigned short us, size_t N);
CUresult cuMemsetD32_v2(CUdeviceptr dstDevice, unsigned int ui, size_t N);
CUresult cuMemsetD8Async(CUdeviceptr dstDevice, unsigned char uc, size_t N, CUstream hStream);
CUresult cuMemsetD16Async(CUdeviceptr dstDevice, unsigned short us, size_t N, CUstream hStream);
CUresult cuMemsetD32Async(CUdeviceptr dstDevice, unsigned int ui, size_t N, CUstream hStream);

/* ---- streams and events ------------------------------------------------------------ */
CUresult cuStreamCreate(CUstream *phStream, unsigned int Flags);
CUresult cuStreamCreateWithPriority(CUstream *phStream, unsigned int flags, int priority);  /* all priorities are 0 */
CUresult cuStreamGetFlags(CUstream hStream, unsigned int *flags);
CUresult cuStreamGetPriority(CUstream hStream, int *priority);
CUresult cuStreamGetCtx(CUstream hStream, CUcontext *pctx);
CUresult cuStreamDestroy_v2(CUstream hStream);             /* INVALID_HANDLE for a bad handle */
CUresult cuStreamQuery(CUstream hStream);                  /* CUDA_ERROR_NOT_READY while busy */
CUresult cuStreamSynchronize(CUstream hStream);
CUresult cuStreamWaitEvent(CUstream hStream, CUevent hEvent, unsigned int Flags);
CUresult cuEventCreate(CUevent *phEvent, unsigned int Flags);
CUresult cuEventDestroy_v2(CUevent hEvent);
CUresult cuEventRecord(CUevent hEvent, CUstream hStream);
CUresult cuEventRecordWithFlags(CUevent hEvent, CUstream hStream, unsigned int flags);
CUresult cuEventQuery(CUevent hEvent);                     /* CUDA_ERROR_NOT_READY until reached */
CUresult cuEventSynchronize(CUevent hEvent);
CUresult cuEventElapsedTime_v2(float *pMilliseconds, CUevent hStart, CUevent hEnd);
CUresult cuEventElapsedTime(float *pMilliseconds, CUevent hStart, CUevent hEnd);
CUresult cuStreamAddCallback(CUstream hStream, CUstreamCallback callback, void *userData, unsigned int flags);
CUresult cuLaunchHostFunc(CUstream hStream, CUhostFn fn, void *userData);

/* ---- stream capture and graphs (the graph's steps run in capture order on the launch
 * stream; a capture broken by CUDA's rules fails with CUDA_ERROR_STREAM_CAPTURE_*) ---- */
typedef enum CUgraphNodeType_enum {          /* the types nodes made here have */
    CU_GRAPH_NODE_TYPE_KERNEL     = 0,
    CU_GRAPH_NODE_TYPE_MEMCPY     = 1,
    CU_GRAPH_NODE_TYPE_MEMSET     = 2,
    CU_GRAPH_NODE_TYPE_HOST       = 3,
    CU_GRAPH_NODE_TYPE_GRAPH      = 4,
    CU_GRAPH_NODE_TYPE_EMPTY      = 5,
    CU_GRAPH_NODE_TYPE_WAIT_EVENT = 6
} CUgraphNodeType;

typedef enum CUgraphExecUpdateResult_enum {
    CU_GRAPH_EXEC_UPDATE_SUCCESS                           = 0,
    CU_GRAPH_EXEC_UPDATE_ERROR                             = 1,
    CU_GRAPH_EXEC_UPDATE_ERROR_TOPOLOGY_CHANGED            = 2,
    CU_GRAPH_EXEC_UPDATE_ERROR_NODE_TYPE_CHANGED           = 3,
    CU_GRAPH_EXEC_UPDATE_ERROR_FUNCTION_CHANGED            = 4,
    CU_GRAPH_EXEC_UPDATE_ERROR_PARAMETERS_CHANGED          = 5,
    CU_GRAPH_EXEC_UPDATE_ERROR_NOT_SUPPORTED               = 6,
    CU_GRAPH_EXEC_UPDATE_ERROR_UNSUPPORTED_FUNCTION_CHANGE = 7,
    CU_GRAPH_EXEC_UPDATE_ERROR_ATTRIBUTES_CHANGED          = 8
} CUgraphExecUpdateResult;

typedef struct CUgraphExecUpdateResultInfo_st {
    CUgraphExecUpdateResult result;
    CUgraphNode errorNode;
    CUgraphNode errorFromNode;
} CUgraphExecUpdateResultInfo;

typedef struct CUDA_KERNEL_NODE_PARAMS_v2_st {
    CUfunction func;
    unsigned int gridDimX;
    unsigned int gridDimY;
    unsigned int gridDimZ;
    unsigned int blockDimX;
    unsigned int blockDimY;
    unsigned int blockDimZ;
    unsigned int sharedMemBytes;
    void **kernelParams;
    void **extra;
    CUkernel kern;                           /* must be NULL: func names the kernel */
    CUcontext ctx;                           /* ignored (func names its context) */
} CUDA_KERNEL_NODE_PARAMS;

CUresult cuStreamBeginCapture_v2(CUstream hStream, CUstreamCaptureMode mode);
CUresult cuStreamEndCapture(CUstream hStream, CUgraph *phGraph);
CUresult cuStreamIsCapturing(CUstream hStream, CUstreamCaptureStatus *captureStatus);
CUresult cuGraphCreate(CUgraph *phGraph, unsigned int flags);                 /* flags must be 0 */
CUresult cuGraphGetNodes(CUgraph hGraph, CUgraphNode *nodes, size_t *numNodes);
/* flags: AUTO_FREE_ON_LAUNCH and USE_NODE_PRIORITY (nothing to do here); others INVALID_VALUE */
CUresult cuGraphInstantiateWithFlags(CUgraphExec *phGraphExec, CUgraph hGraph, unsigned long long flags);
CUresult cuGraphLaunch(CUgraphExec hGraphExec, CUstream hStream);
CUresult cuGraphExecDestroy(CUgraphExec hGraphExec);
CUresult cuGraphDestroy(CUgraph hGraph);
/* A node's type and a kernel node's parameters (kernelParams: the node's own copy of the
 * arguments, valid until its next change), read and replaced in the graph or in an
 * executable graph; an executable takes hGraph's parameters when the node types and edges
 * match (else CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE, nothing changed, resultInfo says why). */
CUresult cuGraphNodeGetType(CUgraphNode hNode, CUgraphNodeType *type);
CUresult cuGraphKernelNodeGetParams_v2(CUgraphNode hNode, CUDA_KERNEL_NODE_PARAMS *nodeParams);
CUresult cuGraphKernelNodeSetParams_v2(CUgraphNode hNode, const CUDA_KERNEL_NODE_PARAMS *nodeParams);
CUresult cuGraphExecKernelNodeSetParams_v2(CUgraphExec hGraphExec, CUgraphNode hNode,
                                           const CUDA_KERNEL_NODE_PARAMS *nodeParams);
CUresult cuGraphExecUpdate_v2(CUgraphExec hGraphExec, CUgraph hGraph, CUgraphExecUpdateResultInfo *resultInfo);

/* ---- graphs built node by node: each node runs what its stream operation would, with
 * the parameters of its creation (kernel arguments copied; a copy node reads its host
 * memory at each launch); a launch runs the nodes in an order that follows every edge.
 * dependencies may be NULL when numDependencies is 0; an unknown node, a repeated or
 * missing edge give CUDA_ERROR_INVALID_VALUE; a cycle fails instantiation. ---- */
typedef struct CUDA_MEMCPY3D_st {            /* HOST, DEVICE and UNIFIED sides; ARRAY: NOT_SUPPORTED */
    size_t srcXInBytes;
    size_t srcY;
    size_t srcZ;
    size_t srcLOD;                           /* must be 0 */
    CUmemorytype srcMemoryType;
    const void *srcHost;
    CUdeviceptr srcDevice;
    CUarray srcArray;
    void *reserved0;                         /* must be NULL */
    size_t srcPitch;
    size_t srcHeight;
    size_t dstXInBytes;
    size_t dstY;
    size_t dstZ;
    size_t dstLOD;
    CUmemorytype dstMemoryType;
    void *dstHost;
    CUdeviceptr dstDevice;
    CUarray dstArray;
    void *reserved1;
    size_t dstPitch;
    size_t dstHeight;
    size_t WidthInBytes;
    size_t Height;
    size_t Depth;
} CUDA_MEMCPY3D;

typedef struct CUDA_MEMSET_NODE_PARAMS_st {
    CUdeviceptr dst;
    size_t pitch;                            /* unused when height is 1 */
    unsigned int value;
    unsigned int elementSize;                /* 1, 2 or 4 */
    size_t width;                            /* in elements */
    size_t height;
} CUDA_MEMSET_NODE_PARAMS;

typedef struct CUDA_HOST_NODE_PARAMS_st {
    CUhostFn fn;
    void *userData;
} CUDA_HOST_NODE_PARAMS;

typedef struct CUgraphEdgeData_st {          /* only default edges (all zero) are supported */
    unsigned char from_port;
    unsigned char to_port;
    unsigned char type;
    unsigned char reserved[5];
} CUgraphEdgeData;

CUresult cuGraphAddKernelNode_v2(CUgraphNode *phGraphNode, CUgraph hGraph, const CUgraphNode *dependencies,
                                 size_t numDependencies, const CUDA_KERNEL_NODE_PARAMS *nodeParams);
/* ctx: the context whose memory the copy or fill reaches (NULL: the current one) */
CUresult cuGraphAddMemcpyNode(CUgraphNode *phGraphNode, CUgraph hGraph, const CUgraphNode *dependencies,
                              size_t numDependencies, const CUDA_MEMCPY3D *copyParams, CUcontext ctx);
CUresult cuGraphAddMemsetNode(CUgraphNode *phGraphNode, CUgraph hGraph, const CUgraphNode *dependencies,
                              size_t numDependencies, const CUDA_MEMSET_NODE_PARAMS *memsetParams,
                              CUcontext ctx);
CUresult cuGraphAddHostNode(CUgraphNode *phGraphNode, CUgraph hGraph, const CUgraphNode *dependencies,
                            size_t numDependencies, const CUDA_HOST_NODE_PARAMS *nodeParams);
CUresult cuGraphAddEmptyNode(CUgraphNode *phGraphNode, CUgraph hGraph, const CUgraphNode *dependencies,
                             size_t numDependencies);
CUresult cuGraphAddDependencies_v2(CUgraph hGraph, const CUgraphNode *from, const CUgraphNode *to,
                                   const CUgraphEdgeData *edgeData, size_t numDependencies);
CUresult cuGraphRemoveDependencies_v2(CUgraph hGraph, const CUgraphNode *from, const CUgraphNode *to,
                                      const CUgraphEdgeData *edgeData, size_t numDependencies);
/* the list queries: NULL arrays ask for the count; a short array gets the first ones */
CUresult cuGraphGetEdges_v2(CUgraph hGraph, CUgraphNode *from, CUgraphNode *to, CUgraphEdgeData *edgeData,
                            size_t *numEdges);
CUresult cuGraphGetRootNodes(CUgraph hGraph, CUgraphNode *rootNodes, size_t *numRootNodes);
CUresult cuGraphNodeGetDependencies_v2(CUgraphNode hNode, CUgraphNode *dependencies, CUgraphEdgeData *edgeData,
                                       size_t *numDependencies);
CUresult cuGraphNodeGetDependentNodes_v2(CUgraphNode hNode, CUgraphNode *dependentNodes,
                                         CUgraphEdgeData *edgeData, size_t *numDependentNodes);
CUresult cuGraphClone(CUgraph *phGraphClone, CUgraph originalGraph);
CUresult cuGraphNodeFindInClone(CUgraphNode *phNode, CUgraphNode hOriginalNode, CUgraph hClonedGraph);
CUresult cuGraphDestroyNode(CUgraphNode hNode);              /* its edges go with it */
/* this thread's interaction with captures: GLOBAL (the default) refuses potentially unsafe
 * calls (cuMemAlloc, cuMemFree, cuCtxSynchronize, ...) during its own captures and any
 * thread's global ones, THREAD_LOCAL during its own, RELAXED never */
CUresult cuThreadExchangeStreamCaptureMode(CUstreamCaptureMode *mode);

/* ---- the same calls as programs built with CUDA_API_PER_THREAD_DEFAULT_STREAM
 * (nvcc --default-stream per-thread) import them; the default stream they name is the
 * context's default stream here too ----------------------------------------------- */
CUresult cuMemcpyHtoD_v2_ptds(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount);
CUresult cuMemcpyDtoH_v2_ptds(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount);
CUresult cuMemcpyDtoD_v2_ptds(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount);
CUresult cuMemcpyHtoDAsync_v2_ptsz(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount, CUstream hStream);
CUresult cuMemcpyDtoHAsync_v2_ptsz(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount, CUstream hStream);
CUresult cuMemcpyDtoDAsync_v2_ptsz(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount,
                                   CUstream hStream);
CUresult cuMemsetD8_v2_ptds(CUdeviceptr dstDevice, unsigned char uc, size_t N);
CUresult cuMemsetD16_v2_ptds(CUdeviceptr dstDevice, unsigned short us, size_t N);
CUresult cuMemsetD32_v2_ptds(CUdeviceptr dstDevice, unsigned int ui, size_t N);
CUresult cuMemsetD8Async_ptsz(CUdeviceptr dstDevice, unsigned char uc, size_t N, CUstream hStream);
CUresult cuMemsetD16Async_ptsz(CUdeviceptr dstDevice, unsigned short us, size_t N, CUstream hStream);
CUresult cuMemsetD32Async_ptsz(CUdeviceptr dstDevice, unsigned int ui, size_t N, CUstream hStream);
CUresult cuStreamQuery_ptsz(CUstream hStream);
CUresult cuStreamSynchronize_ptsz(CUstream hStream);
CUresult cuStreamWaitEvent_ptsz(CUstream hStream, CUevent hEvent, unsigned int Flags);
CUresult cuEventRecord_ptsz(CUevent hEvent, CUstream hStream);
CUresult cuEventRecordWithFlags_ptsz(CUevent hEvent, CUstream hStream, unsigned int flags);
CUresult cuStreamGetFlags_ptsz(CUstream hStream, unsigned int *flags);
CUresult cuStreamGetPriority_ptsz(CUstream hStream, int *priority);
CUresult cuStreamGetCtx_ptsz(CUstream hStream, CUcontext *pctx);
CUresult cuLaunchCooperativeKernel_ptsz(CUfunction f, unsigned int gridDimX, unsigned int gridDimY,
                                        unsigned int gridDimZ, unsigned int blockDimX, unsigned int blockDimY,
                                        unsigned int blockDimZ, unsigned int sharedMemBytes, CUstream hStream,
                                        void **kernelParams);
CUresult cuMemAllocAsync_ptsz(CUdeviceptr *dptr, size_t bytesize, CUstream hStream);
CUresult cuMemFreeAsync_ptsz(CUdeviceptr dptr, CUstream hStream);
CUresult cuStreamAddCallback_ptsz(CUstream hStream, CUstreamCallback callback, void *userData, unsigned int flags);
CUresult cuLaunchHostFunc_ptsz(CUstream hStream, CUhostFn fn, void *userData);
CUresult cuStreamBeginCapture_v2_ptsz(CUstream hStream, CUstreamCaptureMode mode);
CUresult cuStreamEndCapture_ptsz(CUstream hStream, CUgraph *phGraph);
CUresult cuStreamIsCapturing_ptsz(CUstream hStream, CUstreamCaptureStatus *captureStatus);
CUresult cuGraphLaunch_ptsz(CUgraphExec hGraphExec, CUstream hStream);
CUresult cuLaunchKernel_ptsz(CUfunction f, unsigned int gridDimX, unsigned int gridDimY, unsigned int gridDimZ,
                             unsigned int blockDimX, unsigned int blockDimY, unsigned int blockDimZ,
                             unsigned int sharedMemBytes, CUstream hStream, void **kernelParams, void **extra);

#ifdef __cplusplus
}
#endif

#endif /* GDEV_CUDA_H */
