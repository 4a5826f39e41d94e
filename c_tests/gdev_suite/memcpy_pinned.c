/*
 * memcpy_pinned.c - copies from and to page-locked host memory.
 *
 *   memcpy_pinned [-d<dev>] [-n<bytes>]     (default -d0 -n0x1000000)
 *
 * sdMemAllocHost buffers go to the card and back, whole and at offsets,
 * beside the same copy from malloc'd memory (both timed and printed); the
 * pinned buffer is freed with sdMemFreeHost, and freeing it twice, or
 * freeing a pointer it never returned, fails with SDAA_ERROR_INVALID_VALUE.
 */
#include "suite.h"

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    size_t i;
    for (i = 0; i < n; i++)
        p[i] = (unsigned char)((i * 193u) ^ (i >> 11) ^ seed);
}

int main(int argc, char **argv)
{
    struct suite_opts o = { 0, "", 0x1000000 };
    SDcontext ctx;
    SDdeviceptr d;
    unsigned char *pin_src = NULL, *pin_dst = NULL, *plain;
    size_t n, i;
    double t0, t_pinned, t_plain;
    int local = 0;

    suite_options(argc, argv, &o);
    if (o.size < 64)
        suite_fail("-n must be at least 64");
    n = o.size;
    ctx = suite_context(o.dev, 0);
    CHECK(sdMemAllocHost((void **)&pin_src, n));
    CHECK(sdMemAllocHost((void **)&pin_dst, n));
    REQUIRE(pin_src != NULL && pin_dst != NULL && pin_src != pin_dst);
    plain = suite_malloc(n);
    fill(pin_src, n, 3);
    memset(pin_dst, 0, n);
    CHECK(sdMemAlloc(&d, n));

    t0 = tu_now_ms();
    CHECK(sdMemcpyHtoD(d, pin_src, n));
    CHECK(sdMemcpyDtoH(pin_dst, d, n));
    t_pinned = tu_now_ms() - t0;
    REQUIRE(memcmp(pin_dst, pin_src, n) == 0);

    /* Pageable memory reads the same device data. */
    memset(plain, 0, n);
    t0 = tu_now_ms();
    CHECK(sdMemcpyDtoH(plain, d, n));
    CHECK(sdMemcpyHtoD(d, plain, n));
    t_plain = tu_now_ms() - t0;
    REQUIRE(memcmp(plain, pin_src, n) == 0);

    /* Offsets inside the pinned buffer: pin_dst[i] = src[i + 7] for the window. */
    memset(pin_dst, 0, n);
    CHECK(sdMemcpyDtoH(pin_dst + 1, d + 7, n - 64));
    REQUIRE(pin_dst[0] == 0);
    for (i = 0; i < n - 64; i++) {
        if (pin_dst[i + 1] != pin_src[i + 7]) {
            printf("Test failed: offset copy byte %lu is 0x%02x, expected 0x%02x\n", (unsigned long)i,
                   pin_dst[i + 1], pin_src[i + 7]);
            return 1;
        }
    }
    REQUIRE(pin_dst[n - 63] == 0);
    printf("%lu bytes round trip: pinned %.3f ms, pageable %.3f ms\n", (unsigned long)n, t_pinned, t_plain);

    CHECK(sdMemFree(d));
    CHECK(sdMemFreeHost(pin_dst));
    EXPECT(sdMemFreeHost(pin_dst), SDAA_ERROR_INVALID_VALUE);
    EXPECT(sdMemFreeHost(&local), SDAA_ERROR_INVALID_VALUE);
    CHECK(sdMemFreeHost(pin_src));
    CHECK(sdCtxDestroy(ctx));
    free(plain);
    printf("Test passed: %lu bytes\n", (unsigned long)n);
    return 0;
}
