/*
 * memcpy_async.c - stream-ordered copies: sdMemcpyHtoDAsync, sdMemcpyDtoHAsync,
 * sdStreamSynchronize.
 *
 *   memcpy_async [-d<dev>] [-n<bytes>]     (default -d0 -n0x400000)
 *
 * The data goes to the card in chunks on one stream, is doubled there by a
 * D2D copy into the second half of a buffer (queued on the same stream), and
 * comes back in chunks into pinned memory; after sdStreamSynchronize every
 * byte must be there.  A second round on two streams checks that each
 * stream's copies land in order (the later copy to the same range wins), and
 * the default stream (NULL) works as a stream argument.
 */
#include "suite.h"

#define CHUNKS 8

static void fill(uint32_t *p, size_t words, uint32_t seed)
{
    size_t i;
    for (i = 0; i < words; i++)
        p[i] = (uint32_t)(i * 2246822519u) + seed;
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
    struct suite_opts o = { 0, "", 0x400000 };
    SDcontext ctx;
    SDstream s1, s2;
    SDdeviceptr d, e;
    uint32_t *src, *src2, *dst;
    size_t bytes, words, chunk, c;

    suite_options(argc, argv, &o);
    if (o.size % (4 * CHUNKS) || o.size == 0)
        suite_fail("-n must be a positive multiple of 32");
    bytes = o.size;
    words = bytes / 4;
    chunk = bytes / CHUNKS;
    ctx = suite_context(o.dev, 0);
    CHECK(sdStreamCreate(&s1, SD_STREAM_DEFAULT));
    CHECK(sdStreamCreate(&s2, SD_STREAM_DEFAULT));
    CHECK(sdMemAllocHost((void **)&src, bytes));
    CHECK(sdMemAllocHost((void **)&src2, bytes));
    CHECK(sdMemAllocHost((void **)&dst, 2 * bytes));
    CHECK(sdMemAlloc(&d, 2 * bytes));
    CHECK(sdMemAlloc(&e, bytes));
    fill(src, words, 1);
    fill(src2, words, 0x80000000u);
    memset(dst, 0, 2 * bytes);

    /* ---- one stream: chunks in, a D2D, chunks out ---- */
    for (c = 0; c < CHUNKS; c++)
        CHECK(sdMemcpyHtoDAsync(d + c * chunk, (char *)src + c * chunk, chunk, s1));
    CHECK(sdMemcpyDtoDAsync(d + bytes, d, bytes, s1));
    for (c = 0; c < 2 * CHUNKS; c++)
        CHECK(sdMemcpyDtoHAsync((char *)dst + c * chunk, d + c * chunk, chunk, s1));
    CHECK(sdStreamSynchronize(s1));
    CHECK(sdStreamQuery(s1));
    compare(dst, src, words, "first half");
    compare(dst + words, src, words, "the D2D copy");

    /* ---- two streams: within each, the later write of a range wins ---- */
    memset(dst, 0, 2 * bytes);
    CHECK(sdMemcpyHtoDAsync(d, src2, bytes, s1));
    CHECK(sdMemcpyHtoDAsync(d, src, bytes, s1));          /* overwrites the first */
    CHECK(sdMemcpyHtoDAsync(e, src, bytes, s2));
    CHECK(sdMemcpyHtoDAsync(e, src2, bytes, s2));         /* overwrites the first */
    CHECK(sdMemcpyDtoHAsync(dst, d, bytes, s1));
    CHECK(sdMemcpyDtoHAsync(dst + words, e, bytes, s2));
    CHECK(sdStreamSynchronize(s2));
    CHECK(sdStreamSynchronize(s1));
    compare(dst, src, words, "stream 1's last copy");
    compare(dst + words, src2, words, "stream 2's last copy");

    /* ---- the default stream ---- */
    memset(dst, 0, bytes);
    CHECK(sdMemcpyHtoDAsync(e, src, bytes, NULL));
    CHECK(sdMemcpyDtoHAsync(dst, e, bytes, NULL));
    CHECK(sdStreamSynchronize(NULL));
    compare(dst, src, words, "default stream");

    /* Bad input: a range outside the allocation, a destroyed stream. */
    EXPECT(sdMemcpyHtoDAsync(e + 4, src, bytes, s1), SDAA_ERROR_INVALID_VALUE);
    CHECK(sdStreamDestroy(s2));
    EXPECT(sdMemcpyHtoDAsync(e, src, bytes, s2), SDAA_ERROR_INVALID_HANDLE);

    CHECK(sdStreamDestroy(s1));
    CHECK(sdMemFree(e));
    CHECK(sdMemFree(d));
    CHECK(sdMemFreeHost(dst));
    CHECK(sdMemFreeHost(src2));
    CHECK(sdMemFreeHost(src));
    CHECK(sdCtxDestroy(ctx));
    printf("Test passed: %lu bytes in %d chunks\n", (unsigned long)bytes, CHUNKS);
    return 0;
}
