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

static inline const char *conc_error_text(sdaaError_t err)
{
    const char *s = sdaaGetErrorString(err);
    return s ? s : "no description";
}

/* Ends the whole process from any thread; _exit because other threads may
 * still be inside the library. */
static inline void conc_die(void)
{
    fflush(stdout);
    _exit(1);
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

static inline void conc_require(int ok, const char *why, int line)
{
    if (!ok) {
        printf("Test failed: line %d: %s\n", line, why);
        conc_die();
    }
}
#define REQUIRE(cond) conc_require((cond) != 0, #cond, __LINE__)

static inline double conc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static inline void conc_sleep_ms(double ms)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(ms / 1e3);
    ts.tv_nsec = (long)((ms - ts.tv_sec * 1e3) * 1e6);
    nanosleep(&ts, NULL);
}

static inline void *conc_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    long size;
    void *data;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    data = malloc((size_t)size);
    if (data && fread(data, 1, (size_t)size, f) != (size_t)size) {
        free(data);
        data = NULL;
    }
    fclose(f);
    return data;
}

/* Registers add_test (add_test.cubin) and loop (busy.cubin) from dir.  The
 * images stay allocated for the life of the process, as the registry needs. */
static inline void conc_register(const char *dir)
{
    static struct { void *a, *b; } add_bin, busy_bin;
    char path[4096];
    void **h;

    snprintf(path, sizeof(path), "%s/add_test.cubin", dir);
    add_bin.b = conc_read_file(path);
    if (!add_bin.b) {
        printf("Test failed: cannot read %s\n", path);
        conc_die();
    }
    snprintf(path, sizeof(path), "%s/busy.cubin", dir);
    busy_bin.b = conc_read_file(path);
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

/* out[i] = conc_lcg(i, count) for i < n, queued on s. */
static inline void conc_launch_loop(sdaaStream_t s, void *out, uint32_t count, uint32_t n, int arrays)
{
    CHECK(sdaaConfigureCall(arrays));
    CHECK(sdaaSetupArgument(&out, sizeof(out), 0));
    CHECK(sdaaSetupArgument(&count, sizeof(count), 8));
    CHECK(sdaaSetupArgument(&n, sizeof(n), 12));
    CHECK(sdaaLaunchAsync("loop", s));
}

/* The loop kernel's value: x = i, then `count` steps x = x * 1664525 +
 * 1013904223 (mod 2^32), in O(log count) by squaring the affine step. */
static inline uint32_t conc_lcg(uint32_t i, uint32_t count)
{
    uint32_t mul = 1664525u, add = 1013904223u, x = i;
    while (count) {
        if (count & 1)
            x = x * mul + add;
        add = add * mul + add;
        mul = mul * mul;
        count >>= 1;
    }
    return x;
}

/* First index where host[] differs from the loop kernel's values, or -1. */
static inline long conc_check_loop(const uint32_t *host, uint32_t count, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n; i++)
        if (host[i] != conc_lcg(i, count))
            return (long)i;
    return -1;
}

/* The loop count that keeps one SPE array of the current card busy for about
 * target_ms, from timing two counts (a linear fit of fixed + per-step cost). */
static inline uint32_t conc_calibrate(double target_ms, uint32_t n)
{
    const uint32_t c0 = 256, c1 = 4096;
    void *d = NULL;
    double t0, t1, per, fixed, want;
    int warm;

    CHECK(sdaaMalloc(&d, (size_t)n * 4));
    for (warm = 0; warm < 2; warm++) {      /* the first launch also loads the module */
        t0 = conc_now_ms();
        conc_launch_loop(0, d, c0, n, 1);
        CHECK(sdaaStreamSynchronize(0));
        t0 = conc_now_ms() - t0;
    }
    t1 = conc_now_ms();
    conc_launch_loop(0, d, c1, n, 1);
    CHECK(sdaaStreamSynchronize(0));
    t1 = conc_now_ms() - t1;
    CHECK(sdaaFree(d));
    per = (t1 - t0) / (double)(c1 - c0);
    if (per <= 0.0)
        per = t1 / (double)c1;
    fixed = t0 - per * c0;
    if (fixed < 0.0)
        fixed = 0.0;
    want = (target_ms - fixed) / per;
    if (want < (double)c1)
        want = (double)c1;
    if (want > 2e9)
        want = 2e9;
    return (uint32_t)want;
}

#endif /* CONC_H */
