/*
 * testutil.h - helpers every C test program uses: failing checks, the
 * monotonic clock, whole-file reads, environment integers and the busy.cu
 * loop kernel's reference values.  Header only (static inline), C99, and
 * valid C++.
 *
 * A failed check prints "Test failed: line <n>: <what>" and ends the program
 * through TU_EXIT_FAILURE(), exit(1) unless the includer defines it first
 * (the threaded programs use _exit; see conc.h).
 */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifndef TU_EXIT_FAILURE
#define TU_EXIT_FAILURE() exit(1)
#endif

static inline void tu_require(int ok, const char *why, int line)
{
    if (!ok) {
        printf("Test failed: line %d: %s\n", line, why);
        TU_EXIT_FAILURE();
    }
}
/* A condition that must hold. */
#define REQUIRE(cond) tu_require((cond) != 0, #cond, __LINE__)

static inline void tu_check_int(int rc, const char *what, int line)
{
    if (rc != 0) {
        printf("Test failed: line %d: %s returned %d\n", line, what, rc);
        TU_EXIT_FAILURE();
    }
}
/* A call returning int that must return 0 (Gdev: 0 or a negative errno). */
#define CHECK_INT(call) tu_check_int((call), #call, __LINE__)

/* Milliseconds of CLOCK_MONOTONIC; needs _POSIX_C_SOURCE >= 199309L. */
static inline double tu_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static inline void tu_sleep_ms(double ms)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(ms / 1e3);
    ts.tv_nsec = (long)((ms - ts.tv_sec * 1e3) * 1e6);
    nanosleep(&ts, NULL);
}

/* The whole of a non-empty file in malloc'd memory (the caller frees it), its
 * length in *size unless size is NULL; NULL if it cannot be opened, sized or
 * read, or is empty. */
static inline void *tu_read_file(const char *path, long *size)
{
    FILE *f = fopen(path, "rb");
    long n;
    void *data;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    data = malloc((size_t)n);
    if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
        free(data);
        data = NULL;
    }
    fclose(f);
    if (data && size)
        *size = n;
    return data;
}

/* An integer from the environment (any strtol base prefix), or fallback when
 * the variable is unset or empty. */
static inline int tu_env_int(const char *name, int fallback)
{
    const char *s = getenv(name);
    return (s && *s) ? (int)strtol(s, NULL, 0) : fallback;
}

/* The loop kernel's (busy.cu) value for element i: x = i, then `count` steps
 * x = x * 1664525 + 1013904223 (mod 2^32), in O(log count) by composing the
 * affine step with itself. */
static inline uint32_t tu_lcg(uint32_t i, uint32_t count)
{
    uint32_t mul = 1664525u, add = 1013904223u, x = i;     /* mul, add: the step applied 2^k times */
    while (count) {
        if (count & 1)
            x = x * mul + add;
        add = add * mul + add;
        mul = mul * mul;
        count >>= 1;
    }
    return x;
}

/* The loop count that keeps a kernel busy for about target_ms.  `run(ctx, count)`
 * launches with `count` iterations and returns the milliseconds it took.  The
 * count grows fourfold until one run takes a quarter of the target - so that
 * launch overhead does not dominate, whether the card interprets or compiles
 * kernels - then scales linearly; clamped to [1, 2e9]. */
static inline double tu_calibrate(double (*run)(void *ctx, uint32_t count), void *ctx, double target_ms)
{
    double count = 256, t;
    for (;;) {
        t = run(ctx, (uint32_t)count);
        if (t >= target_ms / 4 || count * 4 > 2e9)
            break;
        count *= 4;
    }
    count *= target_ms / (t > 0.01 ? t : 0.01);
    return count < 1 ? 1 : count > 2e9 ? 2e9 : count;
}

#endif /* TESTUTIL_H */
