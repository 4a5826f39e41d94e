/*
 * launch.c - the seed program: c = a + b through the SDAA runtime API.
 *
 *   launch [-d<dev>] [-s<hex bytes>] [-f<cubin>] [-a<arrays>]
 *
 * Registers the code object the way compiler-generated code does, launches
 * add_test on <arrays> SPE arrays and checks every element of the result.
 * Prints "Test passed: ..." and exits 0, or "Test failed: <why>" and exits 1.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sdaa_runtime.h"

static const char *error_text(sdaaError_t err)
{
    const char *s = sdaaGetErrorString(err);
    return s ? s : "no description";
}

/* Any runtime error ends the test with the failing call's text. */
#define CHECK(call)                                                          \
    do {                                                                     \
        sdaaError_t err_ = (call);                                           \
        if (err_ != sdaaSuccess) {                                           \
            printf("Test failed: %s returned %d (%s)\n", #call, (int)err_,   \
                   error_text(err_));                                        \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

static void fail(const char *why)
{
    printf("Test failed: %s\n", why);
    exit(1);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Reads a whole file into malloc'd memory; *size gets its length. */
static void *read_file(const char *path, long *size)
{
    FILE *f = fopen(path, "rb");
    void *data;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (*size = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    data = malloc((size_t)*size);
    if (data && fread(data, 1, (size_t)*size, f) != (size_t)*size) {
        free(data);
        data = NULL;
    }
    fclose(f);
    return data;
}

int main(int argc, char **argv)
{
    int dev = 0, arrays = 4, count = 0, opt;
    unsigned long size = 0x1000;
    const char *path = "add_test.cubin";
    char *end;
    long file_size = 0;
    void *cubin;
    struct { void *a, *b; } fbin;
    void **handle;
    int *ha, *hb, *hc;
    void *da = NULL, *db = NULL, *dc = NULL;
    int n;
    size_t i;
    double t0, t1;

    while ((opt = getopt(argc, argv, "d:s:f:a:")) != -1) {
        switch (opt) {
        case 'd':
            dev = (int)strtol(optarg, &end, 0);
            if (*end || dev < 0)
                fail("bad -d value");
            break;
        case 's':
            size = strtoul(optarg, &end, 16);
            if (*end)
                fail("bad -s value");
            break;
        case 'f':
            path = optarg;
            break;
        case 'a':
            arrays = (int)strtol(optarg, &end, 0);
            if (*end || arrays <= 0)
                fail("bad -a value");
            break;
        default:
            fail("usage: launch [-d<dev>] [-s<hex size>] [-f<cubin>] [-a<arrays>]");
        }
    }
    if (size == 0 || size % sizeof(int) != 0 || size / sizeof(int) > 0x7fffffffUL / 3)
        fail("-s must be a positive multiple of 4 small enough for int elements");
    n = (int)(size / sizeof(int));

    printf("size = 0x%lx, dev_num = %d\n", size, dev);

    cubin = read_file(path, &file_size);
    if (!cubin) {
        printf("Test failed: cannot read %s\n", path);
        return 1;
    }
    printf("file size =%ld\n", file_size);

    CHECK(sdaaGetDeviceCount(&count));
    printf("dev count %d\n", count);
    if (dev >= count) {
        printf("Test failed: -d%d but only %d devices\n", dev, count);
        return 1;
    }
    CHECK(sdaaSetDevice(dev));

    printf("--------cubin = %p-------\n", cubin);
    fbin.a = NULL;
    fbin.b = cubin;
    handle = __sdaaRegisterFatBinary(&fbin);
    if (!handle)
        fail("__sdaaRegisterFatBinary returned NULL");
    __sdaaRegisterFunction(handle, "add_test");

    CHECK(sdaaMalloc(&da, size));
    CHECK(sdaaMalloc(&db, size));
    CHECK(sdaaMalloc(&dc, size));

    ha = malloc(size);
    hb = malloc(size);
    hc = malloc(size);
    if (!ha || !hb || !hc)
        fail("host malloc");
    for (i = 0; i < (size_t)n; i++) {
        ha[i] = (int)i;
        hb[i] = (int)(2 * i);
        hc[i] = -1;         /* stale data must not pass for results */
    }
    CHECK(sdaaMemcpy(da, ha, size, sdaaMemcpyHostToDevice));
    CHECK(sdaaMemcpy(db, hb, size, sdaaMemcpyHostToDevice));

    t0 = now_ms();
    CHECK(sdaaConfigureCall(arrays));
    CHECK(sdaaSetupArgument(&da, sizeof(da), 0));
    CHECK(sdaaSetupArgument(&db, sizeof(db), 8));
    CHECK(sdaaSetupArgument(&dc, sizeof(dc), 16));
    CHECK(sdaaSetupArgument(&n, sizeof(n), 24));
    CHECK(sdaaLaunch("add_test"));
    CHECK(sdaaDeviceSynchronize());
    t1 = now_ms();
    printf("launch_sync time: %f\n", t1 - t0);

    CHECK(sdaaMemcpy(hc, dc, size, sdaaMemcpyDeviceToHost));
    for (i = 0; i < 5 && i < (size_t)n; i++)
        printf("out[%d]=%d\n", (int)i, hc[i]);
    for (i = 0; i < (size_t)n; i++) {
        if (hc[i] != (int)(3 * i)) {
            printf("Test failed: out[%lu]=%d, expected %d\n", (unsigned long)i, hc[i], (int)(3 * i));
            return 1;
        }
    }

    CHECK(sdaaFree(dc));
    CHECK(sdaaFree(db));
    CHECK(sdaaFree(da));
    __sdaaUnregisterFatBinary(handle);
    free(cubin);
    free(ha);
    free(hb);
    free(hc);

    printf("Test passed: size = 0x%lx, dev_num = %d\n", size, dev);
    return 0;
}
