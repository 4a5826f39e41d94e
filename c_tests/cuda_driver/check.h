/* What every driver-API test program here shares: a checked call, a checked
 * condition and a call expected to fail with a given code, each failing the
 * program with the line and the driver's name of the result. */
#ifndef CUDA_DRIVER_TEST_CHECK_H
#define CUDA_DRIVER_TEST_CHECK_H

#include <cstdio>
#include <cstdlib>
#include <cuda.h>

static inline const char *result_name(CUresult r)
{
    const char *name = NULL;
    return cuGetErrorName(r, &name) == CUDA_SUCCESS ? name : "(no name)";
}

#define CU_OK(call)                                                                   \
    do {                                                                              \
        CUresult r_ = (call);                                                         \
        if (r_ != CUDA_SUCCESS) {                                                     \
            std::fprintf(stderr, "%s:%d: %s -> %s\n", __FILE__, __LINE__, #call,      \
                         result_name(r_));                                            \
            std::exit(1);                                                             \
        }                                                                             \
    } while (0)

#define TEST_RESULT_T CUresult
#define test_result_name result_name
#include "../common/cuda_expect.h"

/* cuInit, then device 0's primary context made current: where most programs here start. */
static inline CUdevice use_primary_context()
{
    CU_OK(cuInit(0));
    CUdevice dev;
    CU_OK(cuDeviceGet(&dev, 0));
    CUcontext ctx;
    CU_OK(cuDevicePrimaryCtxRetain(&ctx, dev));
    CU_OK(cuCtxSetCurrent(ctx));
    return dev;
}

#endif
