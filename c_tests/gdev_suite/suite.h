/*
 * suite.h - helpers shared by the driver-API programs of the Gdev test suite.
 *
 * Every program checks its own results, prints "Test passed..." and exits 0,
 * or prints "Test failed: <why>" and exits 1.  The common command line is
 *
 *   prog [-d<dev>] [-f<code object>] [-n<size>]
 *
 * parsed by suite_options(); the programs run from the kernel directory, so
 * the default code object is a bare file name.
 */
#ifndef GDEV_SUITE_H
#define GDEV_SUITE_H

#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sdaa.h"
#include "testutil.h"

static inline const char *suite_error_name(SDresult r)
{
    const char *s = NULL;
    if (sdGetErrorName(r, &s) != SDAA_SUCCESS || !s)
        return "unknown error";
    return s;
}

static inline void suite_expect(SDresult got, SDresult want, const char *what, int line)
{
    if (got != want) {
        printf("Test failed: line %d: %s returned %d (%s), expected %d (%s)\n", line, what,
               (int)got, suite_error_name(got), (int)want, suite_error_name(want));
        exit(1);
    }
}
/* A call that must succeed / must fail with a given code. */
#define CHECK(call) suite_expect((call), SDAA_SUCCESS, #call, __LINE__)
#define EXPECT(call, code) suite_expect((call), (code), #call, __LINE__)

static inline void suite_fail(const char *why)
{
    printf("Test failed: %s\n", why);
    exit(1);
}

/* Host memory that fails the test instead of returning NULL. */
static inline void *suite_malloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p)
        suite_fail("host malloc");
    return p;
}

struct suite_opts {
    int dev;
    const char *image;
    unsigned long size;
};

/* Fills *o from argv; defaults come in *o.  Exits on bad input. */
static inline void suite_options(int argc, char **argv, struct suite_opts *o)
{
    int opt;
    char *end;
    long v;
    while ((opt = getopt(argc, argv, "d:f:n:")) != -1) {
        switch (opt) {
        case 'd':
            v = strtol(optarg, &end, 0);
            if (*end || v < 0)
                suite_fail("bad -d value");
            o->dev = (int)v;
            break;
        case 'f':
            o->image = optarg;
            break;
        case 'n':
            o->size = strtoul(optarg, &end, 0);
            if (*end || o->size == 0)
                suite_fail("bad -n value");
            break;
        default:
            printf("Test failed: usage: %s [-d<dev>] [-f<code object>] [-n<size>]\n", argv[0]);
            exit(1);
        }
    }
    if (optind < argc)
        suite_fail("unexpected argument");
}

/* sdInit, then a context on card dev made current (flags as sdCtxCreate). */
static inline SDcontext suite_context(int dev, unsigned int flags)
{
    int count = 0;
    SDdevice d;
    SDcontext ctx = NULL;
    CHECK(sdInit(0));
    CHECK(sdDeviceGetCount(&count));
    if (dev >= count) {
        printf("Test failed: card %d requested but only %d present\n", dev, count);
        exit(1);
    }
    CHECK(sdDeviceGet(&d, dev));
    CHECK(sdCtxCreate(&ctx, flags, d));
    REQUIRE(ctx != NULL);
    return ctx;
}

static inline SDfunction suite_function(SDmodule *mod, const char *image, const char *name)
{
    SDfunction f = NULL;
    SDresult r = sdModuleLoad(mod, image);
    if (r != SDAA_SUCCESS) {
        printf("Test failed: sdModuleLoad(%s) returned %d (%s)\n", image, (int)r, suite_error_name(r));
        exit(1);
    }
    CHECK(sdModuleGetFunction(&f, *mod, name));
    REQUIRE(f != NULL);
    return f;
}

#endif /* GDEV_SUITE_H */
