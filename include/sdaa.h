/*
 * sdaa.h - the SDAA driver API (libusdaa.so).
 *
 * The CUDA driver API of the CUDA 4 era with sd/SD/SDAA_ prefixes, plus the
 * SDAA array launch (sdLaunch with a count of SPE arrays).  Byte counts are
 * size_t.  Every function returns an SDresult; out-pointers that are NULL
 * give SDAA_ERROR_INVALID_VALUE.
 *
 * The header is also read by cffi (together with sdaa_runtime.h, which shares
 * no identifier with it), so outside preprocessor-only lines it holds plain
 * declarations and every #define is an integer literal.
 */
#ifndef SDAA_H
#define SDAA_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- result codes ------------------------------------------------------- */
typedef enum SDresult_enum {
    SDAA_SUCCESS                              = 0,
    SDAA_ERROR_INVALID_VALUE                  = 1,
    SDAA_ERROR_OUT_OF_MEMORY                  = 2,
    SDAA_ERROR_NOT_INITIALIZED                = 3,
    SDAA_ERROR_DEINITIALIZED                  = 4,
    SDAA_ERROR_PROFILER_DISABLED              = 5,
    SDAA_ERROR_PROFILER_NOT_INITIALIZED       = 6,
    SDAA_ERROR_PROFILER_ALREADY_STARTED       = 7,
    SDAA_ERROR_PROFILER_ALREADY_STOPPED       = 8,
    SDAA_ERROR_DEVICE_UNAVAILABLE             = 46,   /* the card is lost: its daemon is gone */
    SDAA_ERROR_NO_DEVICE                      = 100,
    SDAA_ERROR_INVALID_DEVICE                 = 101,
    SDAA_ERROR_INVALID_IMAGE                  = 200,
    SDAA_ERROR_INVALID_CONTEXT                = 201,
    SDAA_ERROR_CONTEXT_ALREADY_CURRENT        = 202,
    SDAA_ERROR_MAP_FAILED                     = 205,
    SDAA_ERROR_UNMAP_FAILED                   = 206,
    SDAA_ERROR_ARRAY_IS_MAPPED                = 207,
    SDAA_ERROR_ALREADY_MAPPED                 = 208,
    SDAA_ERROR_NO_BINARY_FOR_GPU              = 209,
    SDAA_ERROR_ALREADY_ACQUIRED               = 210,
    SDAA_ERROR_NOT_MAPPED                     = 211,
    SDAA_ERROR_NOT_MAPPED_AS_ARRAY            = 212,
    SDAA_ERROR_NOT_MAPPED_AS_POINTER          = 213,
    SDAA_ERROR_ECC_UNCORRECTABLE              = 214,
    SDAA_ERROR_UNSUPPORTED_LIMIT              = 215,
    SDAA_ERROR_CONTEXT_ALREADY_IN_USE         = 216,
    SDAA_ERROR_INVALID_SOURCE                 = 300,
    SDAA_ERROR_FILE_NOT_FOUND                 = 301,
    SDAA_ERROR_SHARED_OBJECT_SYMBOL_NOT_FOUND = 302,
    SDAA_ERROR_SHARED_OBJECT_INIT_FAILED      = 303,
    SDAA_ERROR_OPERATING_SYSTEM               = 304,
    SDAA_ERROR_INVALID_HANDLE                 = 400,
    SDAA_ERROR_NOT_FOUND                      = 500,
    SDAA_ERROR_NOT_READY                      = 600,
    SDAA_ERROR_LAUNCH_FAILED                  = 700,
    SDAA_ERROR_LAUNCH_OUT_OF_RESOURCES        = 701,
    SDAA_ERROR_LAUNCH_TIMEOUT                 = 702,
    SDAA_ERROR_LAUNCH_INCOMPATIBLE_TEXTURING  = 703,
    SDAA_ERROR_PEER_ACCESS_ALREADY_ENABLED    = 704,
    SDAA_ERROR_PEER_ACCESS_NOT_ENABLED        = 705,
    SDAA_ERROR_PRIMARY_CONTEXT_ACTIVE         = 708,
    SDAA_ERROR_CONTEXT_IS_DESTROYED           = 709,
    SDAA_ERROR_UNKNOWN                        = 999
} SDresult;

/* ---- handles ------------------------------------------------------------ */
typedef unsigned long long SDdeviceptr;     /* device address */
typedef int SDdevice;                       /* device ordinal */
typedef struct SDctx_st *SDcontext;
typedef struct SDmod_st *SDmodule;
typedef struct SDfunc_st *SDfunction;
typedef struct SDstream_st *SDstream;       /* NULL = the default stream */
typedef struct SDevent_st *SDevent;

/* ---- device attributes (CUDA numbering; 1000+ are aicard-specific) ------ */
typedef enum SDdevice_attribute_enum {
    SD_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK             = 1,
    SD_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X                   = 2,
    SD_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y                   = 3,
    SD_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z                   = 4,
    SD_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X                    = 5,
    SD_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y                    = 6,
    SD_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z                    = 7,
    SD_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK       = 8,
    SD_DEVICE_ATTRIBUTE_TOTAL_CONSTANT_MEMORY             = 9,
    SD_DEVICE_ATTRIBUTE_WARP_SIZE                         = 10,
    SD_DEVICE_ATTRIBUTE_MAX_PITCH                         = 11,
    SD_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK           = 12,
    SD_DEVICE_ATTRIBUTE_CLOCK_RATE                        = 13,
    SD_DEVICE_ATTRIBUTE_TEXTURE_ALIGNMENT                 = 14,
    SD_DEVICE_ATTRIBUTE_GPU_OVERLAP                       = 15,
    SD_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT              = 16,
    SD_DEVICE_ATTRIBUTE_KERNEL_EXEC_TIMEOUT               = 17,
    SD_DEVICE_ATTRIBUTE_INTEGRATED                        = 18,
    SD_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY               = 19,
    SD_DEVICE_ATTRIBUTE_COMPUTE_MODE                      = 20,
    SD_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE1D_WIDTH           = 21,
    SD_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_WIDTH           = 22,
    SD_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_HEIGHT          = 23,
    SD_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_WIDTH           = 24,
    SD_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_HEIGHT          = 25,
    SD_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_DEPTH           = 26,
    SD_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_LAYERED_WIDTH   = 27,
    SD_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_LAYERED_HEIGHT  = 28,
    SD_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_LAYERED_LAYERS  = 29,
    SD_DEVICE_ATTRIBUTE_SURFACE_ALIGNMENT                 = 30,
    SD_DEVICE_ATTRIBUTE_CONCURRENT_KERNELS                = 31,
    SD_DEVICE_ATTRIBUTE_ECC_ENABLED                       = 32,
    SD_DEVICE_ATTRIBUTE_PCI_BUS_ID                        = 33,
    SD_DEVICE_ATTRIBUTE_PCI_DEVICE_ID                     = 34,
    SD_DEVICE_ATTRIBUTE_TCC_DRIVER                        = 35,
    SD_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE                 = 36,
    SD_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH           = 37,
    SD_DEVICE_ATTRIBUTE_L2_CACHE_SIZE                     = 38,
    SD_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR    = 39,
    SD_DEVICE_ATTRIBUTE_ASYNC_ENGINE_COUNT                = 40,
    SD_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING                = 41,
    SD_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE1D_LAYERED_WIDTH   = 42,
    SD_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE1D_LAYERED_LAYERS  = 43,
    SD_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID                     = 50,
    SD_DEVICE_ATTRIBUTE_SPE_ARRAY_COUNT                   = 1000,  /* SPE arrays per card */
    SD_DEVICE_ATTRIBUTE_SPES_PER_ARRAY                    = 1001,  /* SPEs (threads) per array */
    SD_DEVICE_ATTRIBUTE_CHANNELS_IN_USE                   = 1002   /* channels open on the card now (all users) */
} SDdevice_attribute;

/* ---- function attributes ------------------------------------------------ */
typedef enum SDfunction_attribute_enum {
    SD_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 0,
    SD_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES     = 1,
    SD_FUNC_ATTRIBUTE_CONST_SIZE_BYTES      = 2,
    SD_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES      = 3,
    SD_FUNC_ATTRIBUTE_NUM_REGS              = 4,
    SD_FUNC_ATTRIBUTE_PTX_VERSION           = 5,
    SD_FUNC_ATTRIBUTE_BINARY_VERSION        = 6
} SDfunction_attribute;

/* ---- JIT options of sdModuleLoadDataEx ---------------------------------- */
typedef enum SDjit_option_enum {
    SD_JIT_MAX_REGISTERS                = 0,
    SD_JIT_THREADS_PER_BLOCK            = 1,
    SD_JIT_WALL_TIME                    = 2,
    SD_JIT_INFO_LOG_BUFFER              = 3,
    SD_JIT_INFO_LOG_BUFFER_SIZE_BYTES   = 4,
    SD_JIT_ERROR_LOG_BUFFER             = 5,
    SD_JIT_ERROR_LOG_BUFFER_SIZE_BYTES  = 6,
    SD_JIT_OPTIMIZATION_LEVEL           = 7,
    SD_JIT_TARGET_FROM_SDCONTEXT        = 8,
    SD_JIT_TARGET                       = 9,
    SD_JIT_FALLBACK_STRATEGY            = 10
} SDjit_option;

/* ---- device properties (as CUdevprop) ----------------------------------- */
typedef struct SDdevprop_st {
    int maxThreadsPerBlock;
    int maxThreadsDim[3];
    int maxGridSize[3];
    int sharedMemPerBlock;
    int totalConstantMemory;
    int SIMDWidth;
    int memPitch;
    int regsPerBlock;
    int clockRate;
    int textureAlign;
} SDdevprop;

/* ---- flags -------------------------------------------------------------- */
/* sdCtxCreate */
#define SD_CTX_SCHED_AUTO           0
#define SD_CTX_SCHED_SPIN           1
#define SD_CTX_SCHED_YIELD          2
#define SD_CTX_SCHED_BLOCKING_SYNC  4
#define SD_CTX_SCHED_MASK           7
#define SD_CTX_MAP_HOST             8
#define SD_CTX_LMEM_RESIZE_TO_MAX   16

/* sdMemHostAlloc */
#define SD_MEMHOSTALLOC_PORTABLE        1
#define SD_MEMHOSTALLOC_DEVICEMAP       2
#define SD_MEMHOSTALLOC_WRITECOMBINED   4

/* sdStreamCreate / sdEventCreate */
#define SD_STREAM_DEFAULT           0
#define SD_EVENT_DEFAULT            0
#define SD_EVENT_BLOCKING_SYNC      1
#define SD_EVENT_DISABLE_TIMING     2

/* Keys of the `extra` array of sdLaunchKernel.  They are pointers in the
 * array, so callers cast: (void *)SD_LAUNCH_PARAM_BUFFER_POINTER, followed by
 * the packed parameter buffer, (void *)SD_LAUNCH_PARAM_BUFFER_SIZE, followed
 * by a pointer to a size_t holding its size, and (void *)SD_LAUNCH_PARAM_END
 * to close the array. */
#define SD_LAUNCH_PARAM_END             0
#define SD_LAUNCH_PARAM_BUFFER_POINTER  1
#define SD_LAUNCH_PARAM_BUFFER_SIZE     2

/* ---- initialization and version ---------------------------------------- */
SDresult sdInit(unsigned int flags);                        /* flags must be 0 */
SDresult sdDriverGetVersion(int *driverVersion);

/* ---- devices ------------------------------------------------------------ */
SDresult sdDeviceGet(SDdevice *device, int ordinal);        /* SDAA_ERROR_INVALID_DEVICE past the count */
SDresult sdDeviceGetCount(int *count);
SDresult sdDeviceGetName(char *name, int len, SDdevice dev);
SDresult sdDeviceTotalMem(size_t *bytes, SDdevice dev);
SDresult sdDeviceComputeCapability(int *major, int *minor, SDdevice dev);
SDresult sdDeviceGetAttribute(int *pi, SDdevice_attribute attrib, SDdevice dev);
SDresult sdDeviceGetProperties(SDdevprop *prop, SDdevice dev);

/* ---- contexts (a per-thread stack; the top is current) ------------------ */
/* Creates a context and makes it current (pushes it). */
SDresult sdCtxCreate(SDcontext *pctx, unsigned int flags, SDdevice dev);
SDresult sdCtxDestroy(SDcontext ctx);
/* *pctx = the current context, NULL when the stack is empty. */
SDresult sdCtxGetCurrent(SDcontext *pctx);
/* Replaces the top of the stack (pushes when it is empty). */
SDresult sdCtxSetCurrent(SDcontext ctx);
SDresult sdCtxPushCurrent(SDcontext ctx);
SDresult sdCtxPopCurrent(SDcontext *pctx);
SDresult sdCtxGetDevice(SDdevice *device);
SDresult sdCtxSynchronize(void);

/* ---- modules ------------------------------------------------------------ */
/* A module image is a code object (see aidev_drm.h) or NUL-terminated PTX
 * text.  A missing file gives SDAA_ERROR_FILE_NOT_FOUND, a bad image
 * SDAA_ERROR_INVALID_IMAGE. */
SDresult sdModuleLoad(SDmodule *module, const char *fname);
SDresult sdModuleLoadData(SDmodule *module, const void *image);
SDresult sdModuleLoadDataEx(SDmodule *module, const void *image, unsigned int numOptions, SDjit_option *options, void **optionValues);
SDresult sdModuleUnload(SDmodule hmod);
/* SDAA_ERROR_NOT_FOUND when the module has no such kernel / variable. */
SDresult sdModuleGetFunction(SDfunction *hfunc, SDmodule hmod, const char *name);
SDresult sdModuleGetGlobal(SDdeviceptr *dptr, size_t *bytes, SDmodule hmod, const char *name);

/* ---- functions and launches -------------------------------------------- */
SDresult sdFuncGetAttribute(int *pi, SDfunction_attribute attrib, SDfunction hfunc);
SDresult sdFuncSetBlockShape(SDfunction hfunc, int x, int y, int z);
SDresult sdFuncSetSharedSize(SDfunction hfunc, unsigned int bytes);
/* Parameters of sdLaunch / sdLaunchGrid, set by byte offset. */
SDresult sdParamSetSize(SDfunction hfunc, unsigned int numbytes);
SDresult sdParamSeti(SDfunction hfunc, int offset, unsigned int value);
SDresult sdParamSetf(SDfunction hfunc, int offset, float value);
SDresult sdParamSetv(SDfunction hfunc, int offset, void *ptr, unsigned int numbytes);
/* SDAA array launch: num SPE arrays, each a block of the card's SPE count. */
SDresult sdLaunch(SDfunction f, int num, SDstream hStream);
/* A grid_width x grid_height grid of the shape set by sdFuncSetBlockShape. */
SDresult sdLaunchGrid(SDfunction f, int grid_width, int grid_height);
SDresult sdLaunchGridAsync(SDfunction f, int grid_width, int grid_height, SDstream hStream);
/* Parameters come from kernelParams (one pointer per kernel parameter) or
 * from extra (SD_LAUNCH_PARAM_* keys), not both. */
SDresult sdLaunchKernel(SDfunction f,
                        unsigned int gridDimX, unsigned int gridDimY, unsigned int gridDimZ,
                        unsigned int blockDimX, unsigned int blockDimY, unsigned int blockDimZ,
                        unsigned int sharedMemBytes, SDstream hStream,
                        void **kernelParams, void **extra);

/* ---- memory ------------------------------------------------------------- */
SDresult sdMemAlloc(SDdeviceptr *dptr, size_t bytesize);    /* SDAA_ERROR_OUT_OF_MEMORY when it cannot fit */
SDresult sdMemFree(SDdeviceptr dptr);                       /* SDAA_ERROR_INVALID_VALUE if not allocated */
SDresult sdMemAllocHost(void **pp, size_t bytesize);
SDresult sdMemFreeHost(void *p);
SDresult sdMemHostAlloc(void **pp, size_t bytesize, unsigned int Flags);
SDresult sdMemHostGetDevicePointer(SDdeviceptr *pdptr, void *p, unsigned int Flags);
SDresult sdMemGetInfo(size_t *freeBytes, size_t *totalBytes);
SDresult sdMemGetPhysAddr(unsigned long long *phys, SDdeviceptr dptr);
/* Copies must lie inside one allocation, else SDAA_ERROR_INVALID_VALUE. */
SDresult sdMemcpyHtoD(SDdeviceptr dstDevice, const void *srcHost, size_t ByteCount);
SDresult sdMemcpyDtoH(void *dstHost, SDdeviceptr srcDevice, size_t ByteCount);
SDresult sdMemcpyDtoD(SDdeviceptr dstDevice, SDdeviceptr srcDevice, size_t ByteCount);
SDresult sdMemcpyHtoDAsync(SDdeviceptr dstDevice, const void *srcHost, size_t ByteCount, SDstream hStream);
SDresult sdMemcpyDtoHAsync(void *dstHost, SDdeviceptr srcDevice, size_t ByteCount, SDstream hStream);
SDresult sdMemcpyDtoDAsync(SDdeviceptr dstDevice, SDdeviceptr srcDevice, size_t ByteCount, SDstream hStream);
/* N counts elements, not bytes. */
SDresult sdMemsetD8(SDdeviceptr dstDevice, unsigned char uc, size_t N);
SDresult sdMemsetD16(SDdeviceptr dstDevice, unsigned short us, size_t N);
SDresult sdMemsetD32(SDdeviceptr dstDevice, unsigned int ui, size_t N);

/* ---- streams ------------------------------------------------------------ */
SDresult sdStreamCreate(SDstream *phStream, unsigned int Flags);
SDresult sdStreamDestroy(SDstream hStream);
SDresult sdStreamQuery(SDstream hStream);                   /* SDAA_ERROR_NOT_READY while busy */
SDresult sdStreamSynchronize(SDstream hStream);
SDresult sdStreamWaitEvent(SDstream hStream, SDevent hEvent, unsigned int Flags);

/* ---- events ------------------------------------------------------------- */
SDresult sdEventCreate(SDevent *phEvent, unsigned int Flags);
SDresult sdEventDestroy(SDevent hEvent);
SDresult sdEventRecord(SDevent hEvent, SDstream hStream);
SDresult sdEventQuery(SDevent hEvent);                      /* SDAA_ERROR_NOT_READY until reached */
SDresult sdEventSynchronize(SDevent hEvent);
SDresult sdEventElapsedTime(float *pMilliseconds, SDevent hStart, SDevent hEnd);

/* ---- errors ------------------------------------------------------------- */
/* *pStr points at a static string; SDAA_ERROR_INVALID_VALUE for an unknown code. */
SDresult sdGetErrorString(SDresult error, const char **pStr);
SDresult sdGetErrorName(SDresult error, const char **pStr);

#ifdef __cplusplus
}
#endif

#endif /* SDAA_H */
