/*
 * gdev_memcpy.c - the raw Gdev API's copies under the memcpy tuning knobs.
 *
 *   gdev_memcpy [--dev=<card>] [--data=<bytes>] [--chunk=<bytes>] [--pl=<count>]
 *               (default: card 0, 0x2000000 bytes, the library's chunk size and
 *                pipeline count)
 *
 * --chunk and --pl go to gtune (GDEV_TUNE_MEMCPY_CHUNK_SIZE and
 * GDEV_TUNE_MEMCPY_PIPELINE_COUNT) before any copy.  The data then travels
 * host -> device -> device -> host through every copy form (plain, _user_,
 * _async with gsync, from and to gmalloc_dma memory), and every byte is
 * compared.  Throughputs are printed.  Numbers may have a 0x prefix.
 */
#define _POSIX_C_SOURCE 200809L

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gdev_api.h"
#include "testutil.h"

/* A non-negative number; zero only where min is 0. */
static uint64_t parse_number(const char *s, const char *what, uint64_t min)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 0);
    if (*s == 0 || *end || *s == '-' || v < min) {
        printf("Test failed: bad %s value '%s'\n", what, s);
        exit(1);
    }
    return (uint64_t)v;
}

static void fill(unsigned char *p, uint64_t n, unsigned seed)
{
    uint64_t i;
    for (i = 0; i < n; i++)
        p[i] = (unsigned char)((i * 167u) ^ (i >> 13) ^ seed);
}

static void compare(const unsigned char *got, const unsigned char *want, uint64_t n, const char *what)
{
    uint64_t i;
    if (memcmp(got, want, n) == 0)
        return;
    for (i = 0; got[i] == want[i]; i++)
        ;
    printf("Test failed: %s: byte %llu is 0x%02x, expected 0x%02x\n", what, (unsigned long long)i, got[i],
           want[i]);
    exit(1);
}

static void report(const char *what, uint64_t bytes, double ms)
{
    printf("%-28s %10.3f ms %10.1f MB/s\n", what, ms, ms > 0 ? bytes / ms / 1e3 : 0.0);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "data", required_argument, NULL, 'D' },
        { "chunk", required_argument, NULL, 'C' },
        { "pl", required_argument, NULL, 'P' },
        { "dev", required_argument, NULL, 'd' },
        { NULL, 0, NULL, 0 },
    };
    uint64_t data = 0x2000000, chunk = 0, pl = 0, mem = 0, d1, d2;
    int dev = 0, count = 0, opt;
    struct gdev_handle *h;
    unsigned char *src, *dst, *dma;
    uint32_t id = 0, id2 = 0;
    double t0;

    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'D':
            data = parse_number(optarg, "--data", 1);
            break;
        case 'C':
            chunk = parse_number(optarg, "--chunk", 1);
            break;
        case 'P':
            pl = parse_number(optarg, "--pl", 1);
            break;
        case 'd':
            dev = (int)parse_number(optarg, "--dev", 0);
            break;
        default:
            printf("Test failed: usage: gdev_memcpy [--dev=<card>] [--data=<bytes>] [--chunk=<bytes>] "
                   "[--pl=<count>]\n");
            return 1;
        }
    }
    if (optind < argc || chunk > 0xffffffffu || pl > 0xffffffffu || dev > 1024) {
        printf("Test failed: bad arguments\n");
        return 1;
    }
    printf("data %llu bytes, chunk %llu, pipeline %llu (0: library default)\n", (unsigned long long)data,
           (unsigned long long)chunk, (unsigned long long)pl);

    CHECK_INT(gdevice_count(&count));
    REQUIRE(dev < count);
    h = gopen(dev);
    REQUIRE(h != NULL);
    CHECK_INT(gquery(h, GDEV_QUERY_DEVICE_MEM_SIZE, &mem));
    REQUIRE(mem >= 2 * data);
    if (chunk)
        CHECK_INT(gtune(h, GDEV_TUNE_MEMCPY_CHUNK_SIZE, (uint32_t)chunk));
    if (pl)
        CHECK_INT(gtune(h, GDEV_TUNE_MEMCPY_PIPELINE_COUNT, (uint32_t)pl));
    REQUIRE(gtune(h, 0x7fff, 1) < 0);           /* not a GDEV_TUNE_* type */

    src = malloc(data);
    dst = malloc(data);
    REQUIRE(src != NULL && dst != NULL);
    d1 = gmalloc(h, data);
    d2 = gmalloc(h, data);
    REQUIRE(d1 != 0 && d2 != 0 && d1 != d2);

    /* plain: H2D, D2D, D2H */
    fill(src, data, 1);
    memset(dst, 0, data);
    t0 = tu_now_ms();
    CHECK_INT(gmemcpy_to_device(h, d1, src, data));
    report("gmemcpy_to_device", data, tu_now_ms() - t0);
    t0 = tu_now_ms();
    CHECK_INT(gmemcpy(h, d2, d1, data));
    report("gmemcpy (device to device)", data, tu_now_ms() - t0);
    t0 = tu_now_ms();
    CHECK_INT(gmemcpy_from_device(h, dst, d2, data));
    report("gmemcpy_from_device", data, tu_now_ms() - t0);
    compare(dst, src, data, "plain copies");

    /* _user_ forms */
    fill(src, data, 2);
    memset(dst, 0, data);
    t0 = tu_now_ms();
    CHECK_INT(gmemcpy_user_to_device(h, d2, src, data));
    CHECK_INT(gmemcpy_user_from_device(h, dst, d2, data));
    report("user to and from device", 2 * data, tu_now_ms() - t0);
    compare(dst, src, data, "_user_ copies");

    /* _async forms: both directions queued, then gsync on each fence */
    fill(src, data, 3);
    memset(dst, 0, data);
    t0 = tu_now_ms();
    CHECK_INT(gmemcpy_to_device_async(h, d1, src, data, &id));
    CHECK_INT(gmemcpy_async(h, d2, d1, data, &id2));
    REQUIRE(id != 0 && id2 != 0);
    CHECK_INT(gsync(h, id2, NULL));
    CHECK_INT(gmemcpy_from_device_async(h, dst, d2, data, &id));
    CHECK_INT(gsync(h, id, NULL));
    report("async H2D, D2D, D2H", 3 * data, tu_now_ms() - t0);
    compare(dst, src, data, "async copies");
    fill(src, data, 4);
    memset(dst, 0, data);
    CHECK_INT(gmemcpy_user_to_device_async(h, d1, src, data, &id));
    CHECK_INT(gsync(h, id, NULL));
    CHECK_INT(gmemcpy_user_from_device_async(h, dst, d1, data, &id));
    CHECK_INT(gsync(h, id, NULL));
    compare(dst, src, data, "async _user_ copies");

    /* DMA-reachable host memory as source and destination */
    dma = gmalloc_dma(h, data);
    REQUIRE(dma != NULL);
    fill(dma, data, 5);
    memcpy(src, dma, data);
    t0 = tu_now_ms();
    CHECK_INT(gmemcpy_to_device(h, d2, dma, data));
    memset(dma, 0, data);
    CHECK_INT(gmemcpy_from_device(h, dma, d2, data));
    report("DMA memory to and from device", 2 * data, tu_now_ms() - t0);
    compare(dma, src, data, "gmalloc_dma copies");
    REQUIRE(gfree_dma(h, dma) >= data);

    /* bad ranges */
    REQUIRE(gmemcpy_to_device(h, d1 + 8, src, data) < 0);
    REQUIRE(gmemcpy_from_device(h, dst, 0xdead0000ull, 16) < 0);

    REQUIRE(gfree(h, d2) == data);
    REQUIRE(gfree(h, d1) == data);
    CHECK_INT(gclose(h));
    free(src);
    free(dst);
    printf("Test passed: %llu bytes\n", (unsigned long long)data);
    return 0;
}
