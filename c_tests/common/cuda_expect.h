/* The checks every CUDA test program shares, whichever face it calls: a checked
 * condition, a call expected to give a code, and the success line.  The including
 * header first defines TEST_RESULT_T (its API's result type) and test_result_name(). */
#ifndef CUDA_TEST_EXPECT_H
#define CUDA_TEST_EXPECT_H

#include <cstdio>
#include <cstdlib>

#define EXPECT(cond)                                                                 \
    do {                                                                             \
        if (!(cond)) {                                                               \
            std::fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);  \
            std::exit(1);                                                            \
        }                                                                            \
    } while (0)

#define EXPECT_CODE(call, code)                                                      \
    do {                                                                             \
        TEST_RESULT_T r_ = (call);                                                   \
        if (r_ != (code)) {                                                          \
            std::fprintf(stderr, "%s:%d: %s -> %s, expected %s\n", __FILE__, __LINE__, \
                         #call, test_result_name(r_), test_result_name(code));       \
            std::exit(1);                                                            \
        }                                                                            \
    } while (0)

static inline int test_passed(void)
{
    std::printf("Test passed\n");
    return 0;
}

#endif
