/*
 * runtime_errors.c - the SDAA runtime API under bad input.
 *
 *   runtime_errors [add_test.cubin]     (default: add_test.cubin)
 *
 * Each bad call must return its documented sdaaError and record it as the
 * last error; memory must land on the card chosen by sdaaSetDevice; and
 * afterwards a full add_test round trip must still work.
 * Prints "Test passed" and exits 0, or "Test failed: <why>" and exits 1.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdaa_runtime.h"
#include "testutil.h"

#define N 4097                  /* elements of the final round trip */
#define SMALL 4096              /* bytes: one page, so rounding cannot hide overruns */
#define MIB ((size_t)1 << 20)

static const char *error_text(sdaaError_t err)
{
    const char *s = sdaaGetErrorString(err);
    return s ? s : "NULL";
}

static void expect(sdaaError_t got, sdaaError_t want, const char *what, int line)
{
    if (got != want) {
        printf("Test failed: line %d: %s returned %d (%s), expected %d (%s)\n", line, what,
               (int)got, error_text(got), (int)want, error_text(want));
        exit(1);
    }
}
#define CHECK(call) expect((call), sdaaSuccess, #call, __LINE__)
#define EXPECT(call, code) expect((call), (code), #call, __LINE__)

static int ha[N], hb[N], hc[N];

/* Card 0 and card 1 allocations: different address ranges, independent data. */
static void check_per_device_memory(void)
{
    void *p[2][2];
    unsigned long long phys[2];
    unsigned char *pattern, *back;
    uintptr_t lo[2], hi[2];
    int dev, k, cur = -1;

    pattern = malloc(MIB);
    back = malloc(MIB);
    REQUIRE(pattern != NULL && back != NULL);
    for (dev = 0; dev < 2; dev++) {
        CHECK(sdaaSetDevice(dev));
        CHECK(sdaaGetDevice(&cur));
        REQUIRE(cur == dev);
        CHECK(sdaaMalloc(&p[dev][0], MIB));
        CHECK(sdaaMalloc(&p[dev][1], MIB));
        CHECK(sdaaMemGetPhysAddr(&phys[dev], p[dev][0]));
        memset(pattern, 0x10 + dev, MIB);
        CHECK(sdaaMemcpy(p[dev][0], pattern, MIB, sdaaMemcpyHostToDevice));
    }
    /* The two cards' pointers must not interleave: each card owns a range. */
    for (dev = 0; dev < 2; dev++) {
        lo[dev] = (uintptr_t)p[dev][0];
        hi[dev] = (uintptr_t)p[dev][0] + MIB;
        for (k = 1; k < 2; k++) {
            if ((uintptr_t)p[dev][k] < lo[dev])
                lo[dev] = (uintptr_t)p[dev][k];
            if ((uintptr_t)p[dev][k] + MIB > hi[dev])
                hi[dev] = (uintptr_t)p[dev][k] + MIB;
        }
    }
    if (!(hi[0] <= lo[1] || hi[1] <= lo[0])) {
        printf("Test failed: card 0 pointers [%#lx, %#lx) and card 1 pointers [%#lx, %#lx) overlap\n",
               (unsigned long)lo[0], (unsigned long)hi[0], (unsigned long)lo[1], (unsigned long)hi[1]);
        exit(1);
    }
    printf("card 0: %p phys %#llx, card 1: %p phys %#llx\n", p[0][0], phys[0], p[1][0], phys[1]);
    /* Each card kept its own data. */
    for (dev = 0; dev < 2; dev++) {
        CHECK(sdaaSetDevice(dev));
        CHECK(sdaaMemcpy(back, p[dev][0], MIB, sdaaMemcpyDeviceToHost));
        memset(pattern, 0x10 + dev, MIB);
        REQUIRE(memcmp(back, pattern, MIB) == 0);
        CHECK(sdaaFree(p[dev][1]));
        CHECK(sdaaFree(p[dev][0]));
    }
    free(pattern);
    free(back);
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "add_test.cubin";
    int count = 0, dev, value = 0, n = N, i;
    struct sdaaDeviceProp prop;
    struct sdaaFuncAttributes fattr;
    void *d = NULL, *big = NULL, *host_big;
    void *da = NULL, *db = NULL, *dc = NULL;
    int local = 0;
    unsigned char small_host[SMALL];
    void *cubin;
    struct { void *a, *b; } fbin;
    void **handle;
    const char *s;

    REQUIRE(sdaaGetLastError() == sdaaSuccess);
    CHECK(sdaaGetDeviceCount(&count));
    REQUIRE(count >= 1);
    dev = count - 1;

    /* ---- invalid device, and the last-error protocol ---- */
    EXPECT(sdaaSetDevice(99), sdaaErrorInvalidDevice);
    CHECK(sdaaGetDeviceCount(&count));          /* a success does not clear it */
    EXPECT(sdaaPeekAtLastError(), sdaaErrorInvalidDevice);
    EXPECT(sdaaPeekAtLastError(), sdaaErrorInvalidDevice);
    EXPECT(sdaaGetLastError(), sdaaErrorInvalidDevice);
    EXPECT(sdaaGetLastError(), sdaaSuccess);
    EXPECT(sdaaPeekAtLastError(), sdaaSuccess);
    s = sdaaGetErrorString(sdaaErrorInvalidDevice);
    REQUIRE(s != NULL && *s != '\0');
    s = sdaaGetErrorString((sdaaError_t)12345);
    REQUIRE(s != NULL);

    CHECK(sdaaSetDevice(dev));
    CHECK(sdaaGetDeviceProperties(&prop, dev));
    REQUIRE(prop.totalGlobalMem > 0);
    REQUIRE(prop.speArrayCount == tu_env_int("GDEV_SIM_SPE_ARRAYS", 4));
    REQUIRE(prop.spesPerArray == tu_env_int("GDEV_SIM_SPES", 32));
    CHECK(sdaaDeviceGetAttribute(&value, sdaaDevAttrSpeArrayCount, dev));
    REQUIRE(value == prop.speArrayCount);
    CHECK(sdaaDeviceGetAttribute(&value, sdaaDevAttrSpesPerArray, dev));
    REQUIRE(value == prop.spesPerArray);

    /* ---- allocation errors ---- */
    EXPECT(sdaaMalloc(NULL, 16), sdaaErrorInvalidValue);
    EXPECT(sdaaGetLastError(), sdaaErrorInvalidValue);
    EXPECT(sdaaMalloc(&big, prop.totalGlobalMem + ((size_t)1 << 30)), sdaaErrorMemoryAllocation);
    EXPECT(sdaaGetLastError(), sdaaErrorMemoryAllocation);

    /* ---- free errors ---- */
    EXPECT(sdaaFree(&local), sdaaErrorInvalidDevicePointer);       /* host memory */
    CHECK(sdaaMalloc(&d, SMALL));
    CHECK(sdaaFree(d));
    EXPECT(sdaaFree(d), sdaaErrorInvalidDevicePointer);            /* already freed */
    (void)sdaaGetLastError();

    /* ---- copy errors ---- */
    CHECK(sdaaMalloc(&d, SMALL));
    host_big = calloc(1, SMALL + 65536);
    REQUIRE(host_big != NULL);
    EXPECT(sdaaMemcpy(host_big, d, SMALL + 65536, sdaaMemcpyDeviceToHost), sdaaErrorInvalidValue);
    EXPECT(sdaaMemcpy(d, host_big, SMALL + 65536, sdaaMemcpyHostToDevice), sdaaErrorInvalidValue);
    EXPECT(sdaaMemcpy((char *)d + 4000, host_big, 200, sdaaMemcpyHostToDevice), sdaaErrorInvalidValue);
    EXPECT(sdaaMemcpy(d, small_host, 16, (enum sdaaMemcpyKind)7), sdaaErrorInvalidMemcpyDirection);
    EXPECT(sdaaGetLastError(), sdaaErrorInvalidMemcpyDirection);
    /* The allocation is intact and usable after the refused copies. */
    for (i = 0; i < SMALL; i++)
        small_host[i] = (unsigned char)(i ^ 0x5a);
    CHECK(sdaaMemcpy(d, small_host, SMALL, sdaaMemcpyHostToDevice));
    memset(host_big, 0, SMALL);
    CHECK(sdaaMemcpy(host_big, d, SMALL, sdaaMemcpyDeviceToHost));
    REQUIRE(memcmp(host_big, small_host, SMALL) == 0);
    CHECK(sdaaMemset(d, 0x3c, SMALL));
    CHECK(sdaaMemcpy(host_big, d, SMALL, sdaaMemcpyDeviceToHost));
    memset(small_host, 0x3c, SMALL);
    REQUIRE(memcmp(host_big, small_host, SMALL) == 0);
    CHECK(sdaaFree(d));
    free(host_big);

    /* ---- memory goes to the card sdaaSetDevice chose ---- */
    if (count >= 2)
        check_per_device_memory();
    else
        printf("only one device: per-card memory check skipped\n");

    /* ---- launches: unknown entry, then a full round trip ---- */
    CHECK(sdaaSetDevice(dev));
    cubin = tu_read_file(path, NULL);
    if (!cubin) {
        printf("Test failed: cannot read %s\n", path);
        return 1;
    }
    fbin.a = NULL;
    fbin.b = cubin;
    handle = __sdaaRegisterFatBinary(&fbin);
    REQUIRE(handle != NULL);
    __sdaaRegisterFunction(handle, "add_test");
    CHECK(sdaaFuncGetAttributes(&fattr, "add_test"));
    REQUIRE(fattr.maxThreadsPerBlock > 0);

    CHECK(sdaaConfigureCall(1));
    EXPECT(sdaaLaunch("nope"), sdaaErrorInvalidDeviceFunction);
    EXPECT(sdaaGetLastError(), sdaaErrorInvalidDeviceFunction);

    for (i = 0; i < N; i++) {
        ha[i] = 3 * i - 1000;
        hb[i] = 77 - i;
        hc[i] = 0x5555;
    }
    CHECK(sdaaMalloc(&da, sizeof(ha)));
    CHECK(sdaaMalloc(&db, sizeof(hb)));
    CHECK(sdaaMalloc(&dc, sizeof(hc)));
    CHECK(sdaaMemcpy(da, ha, sizeof(ha), sdaaMemcpyHostToDevice));
    CHECK(sdaaMemcpy(db, hb, sizeof(hb), sdaaMemcpyHostToDevice));
    CHECK(sdaaMemcpy(dc, hc, sizeof(hc), sdaaMemcpyHostToDevice));
    CHECK(sdaaConfigureCall(prop.speArrayCount));
    CHECK(sdaaSetupArgument(&da, sizeof(da), 0));
    CHECK(sdaaSetupArgument(&db, sizeof(db), 8));
    CHECK(sdaaSetupArgument(&dc, sizeof(dc), 16));
    CHECK(sdaaSetupArgument(&n, sizeof(n), 24));
    CHECK(sdaaLaunch("add_test"));
    CHECK(sdaaDeviceSynchronize());
    CHECK(sdaaMemcpy(hc, dc, sizeof(hc), sdaaMemcpyDeviceToHost));
    for (i = 0; i < N; i++) {
        if (hc[i] != ha[i] + hb[i]) {
            printf("Test failed: c[%d]=%d, expected %d\n", i, hc[i], ha[i] + hb[i]);
            return 1;
        }
    }
    REQUIRE(sdaaGetLastError() == sdaaSuccess);

    CHECK(sdaaFree(dc));
    CHECK(sdaaFree(db));
    CHECK(sdaaFree(da));
    __sdaaUnregisterFatBinary(handle);
    free(cubin);

    printf("Test passed\n");
    return 0;
}
