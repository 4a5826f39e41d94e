/*
 * gdev_roundtrip.c - the raw Gdev API: memory, copies and a hand-built launch.
 *
 *   gdev_roundtrip <add_test.cubin>
 *
 * Uploads the code object itself, fills struct gdev_kernel by hand, launches
 * add_test and checks the result; then the documented edge cases of gsync,
 * gmalloc and gfree, and a large copy after gtune.
 * Prints "Test passed" and exits 0, or "Test failed: <why>" and exits 1.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gdev_api.h"
#include "testutil.h"

#define N (1 << 16)             /* elements: 256 KiB buffers, a page multiple */
#define BYTES ((uint64_t)N * sizeof(int))
#define BLOCK 128
#define BIG ((uint64_t)8 << 20) /* the copy after gtune: many chunks */
#define CHUNK 0x10000

static int ha[N], hb[N], hc[N];

int main(int argc, char **argv)
{
    int count = 0, n = N, i;
    struct gdev_handle *h;
    uint64_t mem_size = 0, a, b, c, code, big_src, big_dst;
    long code_size = 0;
    void *cubin;
    uint32_t params[8];         /* a, b, c (8 bytes each), n: 28 bytes used */
    struct gdev_kernel k;
    uint32_t id = 0;
    struct gdev_time timeout;
    double t0;
    unsigned char *big_in, *big_out;

    if (argc < 2) {
        printf("Test failed: usage: gdev_roundtrip <add_test.cubin>\n");
        return 1;
    }

    CHECK_INT(gdevice_count(&count));
    REQUIRE(count >= 1);
    h = gopen(count - 1);
    REQUIRE(h != NULL);
    CHECK_INT(gquery(h, GDEV_QUERY_DEVICE_MEM_SIZE, &mem_size));
    REQUIRE(mem_size >= 3 * BYTES + BIG * 2);

    /* ---- data ---- */
    a = gmalloc(h, BYTES);
    b = gmalloc(h, BYTES);
    c = gmalloc(h, BYTES);
    REQUIRE(a != 0 && b != 0 && c != 0 && a != b && b != c && a != c);
    for (i = 0; i < N; i++) {
        ha[i] = i;
        hb[i] = 5 * i + 1;
        hc[i] = -1;
    }
    CHECK_INT(gmemcpy_to_device(h, a, ha, BYTES));
    CHECK_INT(gmemcpy_to_device(h, b, hb, BYTES));
    CHECK_INT(gmemcpy_to_device(h, c, hc, BYTES));     /* stale values a skipped launch would leave */

    /* ---- the code object, uploaded by hand ---- */
    cubin = tu_read_file(argv[1], &code_size);
    if (!cubin) {
        printf("Test failed: cannot read %s\n", argv[1]);
        return 1;
    }
    code = gmalloc(h, (uint64_t)code_size);
    REQUIRE(code != 0);
    CHECK_INT(gmemcpy_to_device(h, code, cubin, (uint64_t)code_size));

    memset(params, 0, sizeof(params));
    memcpy((char *)params + 0, &a, 8);
    memcpy((char *)params + 8, &b, 8);
    memcpy((char *)params + 16, &c, 8);
    memcpy((char *)params + 24, &n, 4);
    memset(&k, 0, sizeof(k));
    k.code_addr = code;
    k.code_size = (uint64_t)code_size;
    k.code_pc = 0;                              /* the first kernel of the image */
    k.param_size = 28;
    k.param_buf = params;
    k.grid_x = N / BLOCK / 4;                   /* fewer threads than elements: the loop strides */
    k.grid_y = 1;
    k.grid_z = 1;
    k.block_x = BLOCK;
    k.block_y = 1;
    k.block_z = 1;
    k.globals_addr = 0;
    CHECK_INT(glaunch(h, &k, &id));
    REQUIRE(id != 0);
    memset(params, 0xff, sizeof(params));       /* the launch copied them already */
    CHECK_INT(gsync(h, id, NULL));
    CHECK_INT(gmemcpy_from_device(h, hc, c, BYTES));
    for (i = 0; i < N; i++) {
        if (hc[i] != ha[i] + hb[i]) {
            printf("Test failed: c[%d]=%d, expected %d\n", i, hc[i], ha[i] + hb[i]);
            return 1;
        }
    }
    /* A reached fence with a timeout returns 0 as well. */
    timeout.sec = 1;
    timeout.usec = 0;
    timeout.neg = 0;
    CHECK_INT(gsync(h, id, &timeout));
    CHECK_INT(gbarrier(h));

    /* ---- documented edge cases ---- */
    t0 = tu_now_ms();
    CHECK_INT(gsync(h, 0, NULL));
    REQUIRE(tu_now_ms() - t0 < 500.0);          /* id 0 returns at once */
    REQUIRE(gmalloc(h, (uint64_t)1 << 62) == 0);
    REQUIRE(gfree(h, c) == BYTES);
    REQUIRE(gfree(h, c) == 0);                  /* already freed */
    REQUIRE(gfree(h, 0xdead0000ull) == 0);      /* never ours */

    /* ---- gtune, then a large copy through many chunks ---- */
    CHECK_INT(gtune(h, GDEV_TUNE_MEMCPY_CHUNK_SIZE, CHUNK));
    big_in = malloc(BIG);
    big_out = malloc(BIG);
    REQUIRE(big_in != NULL && big_out != NULL);
    for (i = 0; i < (int)BIG; i++)
        big_in[i] = (unsigned char)(i * 131 + (i >> 12));
    memset(big_out, 0, BIG);
    big_src = gmalloc(h, BIG);
    big_dst = gmalloc(h, BIG);
    REQUIRE(big_src != 0 && big_dst != 0);
    CHECK_INT(gmemcpy_to_device(h, big_src, big_in, BIG));
    CHECK_INT(gmemcpy(h, big_dst, big_src, BIG)); /* device to device */
    CHECK_INT(gmemcpy_from_device_async(h, big_out, big_dst, BIG, &id));
    CHECK_INT(gsync(h, id, NULL));
    REQUIRE(memcmp(big_in, big_out, BIG) == 0);

    REQUIRE(gfree(h, big_dst) == BIG);
    REQUIRE(gfree(h, big_src) == BIG);
    REQUIRE(gfree(h, code) >= (uint64_t)code_size);  /* page rounding may add */
    REQUIRE(gfree(h, b) == BYTES);
    REQUIRE(gfree(h, a) == BYTES);
    CHECK_INT(gclose(h));
    free(big_in);
    free(big_out);
    free(cubin);

    printf("Test passed\n");
    return 0;
}
