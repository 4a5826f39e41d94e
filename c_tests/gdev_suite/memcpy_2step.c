/*
 * memcpy_2step.c - host to device, device to device, device to host.
 *
 *   memcpy_2step [-d<dev>] [-n<bytes>]     (default -d0 -n0x800000)
 *
 * The data reaches the host only through a second device buffer
 * (sdMemcpyDtoD), both whole and in pieces at offsets; then the same
 * through a buffer on another card when there is one (a copy between
 * contexts).  Every byte is compared.
 */
#include "suite.h"

static void fill(uint32_t *p, size_t words, uint32_t seed)
{
    size_t i;
    for (i = 0; i < words; i++)
        p[i] = (uint32_t)(i * 2654435761u) ^ seed;
}

static void compare(const uint32_t *got, const uint32_t *want, size_t words, const char *what)
{
    size_t i;
    for (i = 0; i < words; i++) {
        if (got[i] != want[i]) {
            printf("Test failed: %s: word %lu is 0x%08x, expected 0x%08x\n", what, (unsigned long)i, got[i],
                   want[i]);
            exit(1);
        }
    }
}

int main(int argc, char **argv)
{
    struct suite_opts o = { 0, "", 0x800000 };
    SDcontext ctx, other = NULL;
    SDdeviceptr d1, d2, d3 = 0;
    uint32_t *src, *dst;
    size_t bytes, words, half;
    int count = 0;

    suite_options(argc, argv, &o);
    if (o.size < 16 || o.size % 8)
        suite_fail("-n must be a multiple of 8, at least 16");
    bytes = o.size;
    words = bytes / 4;
    half = bytes / 2;
    ctx = suite_context(o.dev, 0);
    src = suite_malloc(bytes);
    dst = suite_malloc(bytes);
    fill(src, words, 0x5a5a5a5au);
    memset(dst, 0, bytes);

    CHECK(sdMemAlloc(&d1, bytes));
    CHECK(sdMemAlloc(&d2, bytes));
    CHECK(sdMemsetD32(d2, 0xffffffffu, words));
    CHECK(sdMemcpyHtoD(d1, src, bytes));
    CHECK(sdMemcpyDtoD(d2, d1, bytes));
    CHECK(sdMemcpyDtoH(dst, d2, bytes));
    compare(dst, src, words, "H2D, D2D, D2H");

    /* Swap the halves on the card: d2 = d1[half:] + d1[:half]. */
    CHECK(sdMemcpyDtoD(d2, d1 + half, half));
    CHECK(sdMemcpyDtoD(d2 + half, d1, half));
    CHECK(sdMemcpyDtoH(dst, d2, bytes));
    compare(dst, src + words / 2, words / 2, "first half after the swap");
    compare(dst + words / 2, src, words / 2, "second half after the swap");
    EXPECT(sdMemcpyDtoD(d2 + 8, d1, bytes), SDAA_ERROR_INVALID_VALUE);

    /* Through a buffer on another card. */
    CHECK(sdDeviceGetCount(&count));
    if (count > 1) {
        SDdevice dev2;
        SDcontext popped;
        CHECK(sdDeviceGet(&dev2, (o.dev + 1) % count));
        CHECK(sdCtxCreate(&other, 0, dev2));
        CHECK(sdMemAlloc(&d3, bytes));
        CHECK(sdCtxPopCurrent(&popped));
        REQUIRE(popped == other);
        fill(src, words, 0x12345678u);
        CHECK(sdMemcpyHtoD(d1, src, bytes));
        CHECK(sdMemcpyDtoD(d3, d1, bytes));
        CHECK(sdMemsetD32(d1, 0, words));
        CHECK(sdMemcpyDtoD(d2, d3, bytes));
        memset(dst, 0, bytes);
        CHECK(sdMemcpyDtoH(dst, d2, bytes));
        compare(dst, src, words, "through another card");
        CHECK(sdMemFree(d3));
        CHECK(sdCtxDestroy(other));
    }

    CHECK(sdMemFree(d2));
    CHECK(sdMemFree(d1));
    CHECK(sdCtxDestroy(ctx));
    free(src);
    free(dst);
    printf("Test passed: %lu bytes%s\n", (unsigned long)bytes, count > 1 ? ", across two cards" : "");
    return 0;
}
