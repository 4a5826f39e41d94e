/*
 * memcpy.c - synchronous host <-> device copies through the driver API.
 *
 *   memcpy [-d<dev>] [-n<bytes>]     (default -d0 -n0x1000000)
 *
 * Sizes from one byte to -n, odd ones and page multiples, go to the card and
 * back (sdMemcpyHtoD, sdMemcpyDtoH); partial copies at offsets inside one
 * allocation must touch only their range; copies that leave the allocation
 * must fail with SDAA_ERROR_INVALID_VALUE.
 */
#include "suite.h"

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    size_t i;
    for (i = 0; i < n; i++)
        p[i] = (unsigned char)((i * 131u) ^ (i >> 9) ^ seed);
}

static void compare(const unsigned char *got, const unsigned char *want, size_t n, const char *what)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (got[i] != want[i]) {
            printf("Test failed: %s: byte %lu is 0x%02x, expected 0x%02x\n", what, (unsigned long)i, got[i],
                   want[i]);
            exit(1);
        }
    }
}

int main(int argc, char **argv)
{
    struct suite_opts o = { 0, "", 0x1000000 };
    size_t sizes[] = { 1, 3, 4096, 4097, 65536 + 13, 1u << 20, 0 };
    SDcontext ctx;
    SDdeviceptr d;
    unsigned char *src, *dst;
    size_t max, i, n;
    double t0, t1;
    char what[64];

    suite_options(argc, argv, &o);
    max = o.size;
    sizes[6] = max;
    ctx = suite_context(o.dev, 0);
    src = suite_malloc(max);
    dst = suite_malloc(max);

    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        n = sizes[i];
        if (n > max)
            continue;
        fill(src, n, (unsigned)i);
        memset(dst, 0, n);
        CHECK(sdMemAlloc(&d, n));
        t0 = tu_now_ms();
        CHECK(sdMemcpyHtoD(d, src, n));
        t1 = tu_now_ms();
        CHECK(sdMemcpyDtoH(dst, d, n));
        snprintf(what, sizeof(what), "%lu-byte round trip", (unsigned long)n);
        compare(dst, src, n, what);
        if (n == max)
            printf("%lu bytes: to device %.3f ms, back %.3f ms\n", (unsigned long)n, t1 - t0, tu_now_ms() - t1);
        CHECK(sdMemFree(d));
    }

    /* Partial copies: the middle third changes, the rest keeps its bytes. */
    n = max < 3000 ? 3000 : max;
    if (n > max) {
        free(src);
        free(dst);
        src = suite_malloc(n);
        dst = suite_malloc(n);
    }
    CHECK(sdMemAlloc(&d, n));
    fill(src, n, 7);
    CHECK(sdMemcpyHtoD(d, src, n));
    fill(dst, n / 3, 99);
    CHECK(sdMemcpyHtoD(d + n / 3, dst, n / 3));
    memcpy(src + n / 3, dst, n / 3);             /* what the card must now hold */
    memset(dst, 0, n);
    CHECK(sdMemcpyDtoH(dst, d, n));
    compare(dst, src, n, "after a copy at an offset");
    memset(dst, 0, n);
    CHECK(sdMemcpyDtoH(dst + 5, d + n - 17, 17));
    compare(dst + 5, src + n - 17, 17, "the last 17 bytes");
    REQUIRE(dst[4] == 0 && dst[22] == 0);

    /* Outside the allocation. */
    EXPECT(sdMemcpyHtoD(d + n - 4, src, 8), SDAA_ERROR_INVALID_VALUE);
    EXPECT(sdMemcpyDtoH(dst, d + 1, n), SDAA_ERROR_INVALID_VALUE);
    EXPECT(sdMemcpyHtoD(d, NULL, 8), SDAA_ERROR_INVALID_VALUE);
    CHECK(sdMemFree(d));
    EXPECT(sdMemcpyDtoH(dst, d, 8), SDAA_ERROR_INVALID_VALUE);     /* freed */

    CHECK(sdCtxDestroy(ctx));
    free(src);
    free(dst);
    printf("Test passed: up to %lu bytes\n", (unsigned long)max);
    return 0;
}
