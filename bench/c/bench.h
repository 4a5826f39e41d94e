/*
 * bench.h - what every benchmark program shares: the clock, medians, failing
 * checks and the one output format bench/common.py parses:
 *
 *     RESULT <key> <value>
 *
 * one line per measurement, values in the unit the key's reader expects.
 * Header only (static inline), C99.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline double bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of n samples; sorts them in place. */
static inline double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static inline void bench_fail(const char *what, int code, int line)
{
    /* stdout so the driver sees it next to the results it did get */
    printf("FAILED line %d: %s returned %d\n", line, what, code);
    fflush(stdout);
    exit(1);
}

/* Every API call must succeed (0) or the figure would measure an error path. */
#define BENCH_CHECK(call)                                  \
    do {                                                   \
        int rc_ = (int)(call);                             \
        if (rc_ != 0)                                      \
            bench_fail(#call, rc_, __LINE__);              \
    } while (0)

#define BENCH_REQUIRE(cond)                                \
    do {                                                   \
        if (!(cond))                                       \
            bench_fail(#cond, 0, __LINE__);                \
    } while (0)

/* The whole file at path in malloc'd memory, or NULL if it cannot be read or is empty. */
static inline void *bench_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    long size;
    void *data = NULL;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
        data = malloc((size_t)size);
        if (data && fread(data, 1, (size_t)size, f) != (size_t)size) {
            free(data);
            data = NULL;
        }
    }
    fclose(f);
    return data;
}

static inline void bench_result(const char *key, double value)
{
    printf("RESULT %s %.6g\n", key, value);
    fflush(stdout);
}

#endif
