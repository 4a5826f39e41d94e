/*
 * conc.h - helpers shared by the concurrency programs (runtime API, pthreads).
 *
 * The programs run from the kernel directory: conc_register() reads
 * add_test.cubin and busy.cubin from there (or from -k<dir>) and registers
 * them the way compiler-generated code does.  A failure in any thread prints
 * "Test failed: <why>" and ends the process with status 1 at once.
 */
#ifndef CONC_H
#define CONC_H

#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sdaa_runtime.h"

/* A failure ends the whole process from any thread; _exit because other
 * threads may still be inside the library.  testutil.h's checks do the same. */
#define TU_EXIT_FAILURE() (fflush(stdout), _exit(1))
#include "testutil.h"

static inline const char *conc_error_text(sdaaError_t err)
{
    const char *s = sdaaGetErrorString(err);
    return s ? s : "no description";
}

/* Ends the whole process from any thread (TU_EXIT_FAILURE). */
static inline void conc_die(void)
{
    TU_EXIT_FAILURE();
}

static inline void conc_expect(sdaaError_t got, sdaaError_t want, const char *what, int line)
{
    if (got != want) {
        printf("Test failed: line %d: %s returned %d (%s), expected %d (%s)\n", line, what, (int)got,
               conc_error_text(got), (int)want, conc_error_text(want));
        conc_die();
    }
}
#define CHECK(call) conc_expect((call), sdaaSuccess, #call, __LINE__)
/* A call that must return a given code; the thread's last error is then
 * cleared so later calls start clean. */
#define EXPECT(call, code)                                                   \
    do {                                                                     \
        conc_expect((call), (code), #call, __LINE__);                        \
        (void)sdaaGetLastError();                                            \
    } while (0)
/* The same, and the code must also be what sdaaGetLastError reports. */
#define EXPECT_LAST(call, code)                                              \
    do {                                                                     \
        conc_expect((call), (code), #call, __LINE__);                        \
        conc_expect(sdaaGetLastError(), (code), "sdaaGetLastError() after " #call, __LINE__); \
    } while (0)

/* Registers add_test (add_test.cubin) and loop (busy.cubin) from dir.  The
 * images stay allocated for the life of the process, as the registry needs. */
static inline void conc_register(const char *dir)
{
    static struct { void *a, *b; } add_bin, busy_bin;
    char path[4096];
    void **h;

    snprintf(path, sizeof(path), "%s/add_test.cubin", dir);
    add_bin.b = tu_read_file(path, NULL);
    if (!add_bin.b) {
        printf("Test failed: cannot read %s\n", path);
        conc_die();
    }
    snprintf(path, sizeof(path), "%s/busy.cubin", dir);
    busy_bin.b = tu_read_file(path, NULL);
    if (!busy_bin.b) {
        printf("Test failed: cannot read %s\n", path);
        conc_die();
    }
    h = __sdaaRegisterFatBinary(&add_bin);
    REQUIRE(h != NULL);
    __sdaaRegisterFunction(h, "add_test");
    h = __sdaaRegisterFatBinary(&busy_bin);
    REQUIRE(h != NULL);
    __sdaaRegisterFunction(h, "loop");
}

/* c = a + b (n ints) on `arrays` SPE arrays of the current card, queued on s. */
static inline void conc_launch_add(sdaaStream_t s, void *a, void *b, void *c, int n, int arrays)
{
    CHECK(sdaaConfigureCall(arrays));
    CHECK(sdaaSetupArgument(&a, sizeof(a), 0));
    CHECK(sdaaSetupArgument(&b, sizeof(b), 8));
    CHECK(sdaaSetupArgument(&c, sizeof(c), 16));
    CHECK(sdaaSetupArgument(&n, sizeof(n), 24));
    CHECK(sdaaLaunchAsync("add_test", s));
}

/* out[i] = tu_lcg(i, count) for i < n, queued on s. */
static inline void conc_launch_loop(sdaaStream_t s, void *out, uint32_t count, uint32_t n, int arrays)
{
    CHECK(sdaaConfigureCall(arrays));
    CHECK(sdaaSetupArgument(&out, sizeof(out), 0));
    CHECK(sdaaSetupArgument(&count, sizeof(count), 8));
    CHECK(sdaaSetupArgument(&n, sizeof(n), 12));
    CHECK(sdaaLaunchAsync("loop", s));
}

/* First index where host[] differs from the loop kernel's values, or -1. */
static inline long conc_check_loop(const uint32_t *host, uint32_t count, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n; i++)
        if (host[i] != tu_lcg(i, count))
            return (long)i;
    return -1;
}

struct conc_run {
    void *d;
    uint32_t n;
};

static inline double conc_timed_loop(void *ctx, uint32_t count)
{
    struct conc_run *r = (struct conc_run *)ctx;
    double t0 = tu_now_ms();
    conc_launch_loop(0, r->d, count, r->n, 1);
    CHECK(sdaaStreamSynchronize(0));
    return tu_now_ms() - t0;
}

/* The loop count that keeps one SPE array of the current card busy for about target_ms. */
static inline uint32_t conc_calibrate(double target_ms, uint32_t n)
{
    struct conc_run r = { NULL, n };
    double count;
    CHECK(sdaaMalloc(&r.d, (size_t)n * 4));
    conc_timed_loop(&r, 256);               /* the first launch also loads the module */
    count = tu_calibrate(conc_timed_loop, &r, target_ms);
    CHECK(sdaaFree(r.d));
    return (uint32_t)count;
}

#endif /* CONC_H */
