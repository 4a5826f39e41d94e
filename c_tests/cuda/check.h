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

#define EXPECT(cond)                                                                 \
    do {                                                                             \
        if (!(cond)) {                                                               \
            std::fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);  \
            std::exit(1);                                                            \
        }                                                                            \
    } while (0)

#define EXPECT_CODE(call, code)                                                      \
    do {                                                                             \
        cudaError_t err_ = (call);                                                   \
        if (err_ != (code)) {                                                        \
            std::fprintf(stderr, "%s:%d: %s -> %s, expected %s\n", __FILE__, __LINE__, \
                         #call, cudaGetErrorName(err_), cudaGetErrorName(code));     \
            std::exit(1);                                                            \
        }                                                                            \
    } while (0)

static inline int test_passed(void)
{
    std::printf("Test passed\n");
    return 0;
}

#endif
