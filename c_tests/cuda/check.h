/* What every CUDA test program here shares: a checked call and a checked condition,
 * each failing the program with the line and, for calls, CUDA's name of the error. */
#ifndef CUDA_TEST_CHECK_H
#define CUDA_TEST_CHECK_H

#include <cstdio>
#include <cstdlib>
#include <cuda_runtime.h>

#define CUDA_OK(call)                                                                \
    do {                                                                             \
        cudaError_t err_ = (call);                                                   \
        if (err_ != cudaSuccess) {                                                   \
            std::fprintf(stderr, "%s:%d: %s -> %s (%s)\n", __FILE__, __LINE__, #call, \
                         cudaGetErrorName(err_), cudaGetErrorString(err_));          \
            std::exit(1);                                                            \
        }                                                                            \
    } while (0)

#define TEST_RESULT_T cudaError_t
static inline const char *test_result_name(cudaError_t e) { return cudaGetErrorName(e); }
#include "../common/cuda_expect.h"

#endif
