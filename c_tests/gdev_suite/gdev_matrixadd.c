/*
 * gdev_matrixadd.c - matrix addition through the raw Gdev API with a
 * hand-built struct gdev_kernel.
 *
 *   gdev_matrixadd [-d<dev>] [-f<matrix.cubin>] [-n<size>]     (default -d0 -n100)
 *
 * The code object is loaded like data (gmalloc + gmemcpy_to_device); the
 * launch names kernel index 0 of that image (madd, the first kernel of
 * matrix.cu), its parameters packed by hand per the CUDA ABI: three 8-byte
 * pointers at offsets 0, 8, 16 and a 4-byte n at 24.  Two launches of
 * different shape reuse the uploaded code; every element is checked.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gdev_api.h"
#include "testutil.h"

#define BLOCK 16

/* c = a + b on n x n matrices of the device; checks every element. */
static void run(struct gdev_handle *h, uint64_t code, uint64_t code_size, uint32_t n)
{
    uint64_t bytes = (uint64_t)n * n * 4, a, b, c;
    uint32_t *ha = malloc(bytes), *hb = malloc(bytes), *hc = malloc(bytes);
    uint32_t params[7], i, id = 0, grid = (n + BLOCK - 1) / BLOCK;
    struct gdev_kernel k;

    REQUIRE(ha != NULL && hb != NULL && hc != NULL);
    for (i = 0; i < n * n; i++) {
        ha[i] = i * 2654435761u;
        hb[i] = ~i + 17u * n;
        hc[i] = 0xdeadbeefu;
    }
    a = gmalloc(h, bytes);
    b = gmalloc(h, bytes);
    c = gmalloc(h, bytes);
    REQUIRE(a != 0 && b != 0 && c != 0);
    CHECK_INT(gmemcpy_to_device(h, a, ha, bytes));
    CHECK_INT(gmemcpy_to_device(h, b, hb, bytes));
    CHECK_INT(gmemcpy_to_device(h, c, hc, bytes));

    memcpy((char *)params + 0, &a, 8);
    memcpy((char *)params + 8, &b, 8);
    memcpy((char *)params + 16, &c, 8);
    memcpy((char *)params + 24, &n, 4);
    memset(&k, 0, sizeof(k));
    k.code_addr = code;
    k.code_size = code_size;
    k.code_pc = 0;
    k.param_size = sizeof(params);
    k.param_buf = params;
    k.smem_size = 0;
    k.lmem_size = 0;
    k.grid_x = grid;
    k.grid_y = grid;
    k.grid_z = 1;
    k.block_x = BLOCK;
    k.block_y = BLOCK;
    k.block_z = 1;
    k.globals_addr = 0;
    CHECK_INT(glaunch(h, &k, &id));
    REQUIRE(id != 0);
    CHECK_INT(gsync(h, id, NULL));
    CHECK_INT(gmemcpy_from_device(h, hc, c, bytes));
    for (i = 0; i < n * n; i++) {
        if (hc[i] != ha[i] + hb[i]) {
            printf("Test failed: n=%u: c[%u][%u] = %u, expected %u\n", n, i / n, i % n, hc[i], ha[i] + hb[i]);
            exit(1);
        }
    }
    REQUIRE(gfree(h, c) == bytes);
    REQUIRE(gfree(h, b) == bytes);
    REQUIRE(gfree(h, a) == bytes);
    free(ha);
    free(hb);
    free(hc);
}

int main(int argc, char **argv)
{
    const char *path = "matrix.cubin";
    int dev = 0, count = 0, opt;
    unsigned long n = 100;
    char *end;
    struct gdev_handle *h;
    void *image;
    long image_size = 0;
    uint64_t code;

    while ((opt = getopt(argc, argv, "d:f:n:")) != -1) {
        switch (opt) {
        case 'd':
            dev = (int)strtol(optarg, &end, 0);
            REQUIRE(*end == 0 && dev >= 0);
            break;
        case 'f':
            path = optarg;
            break;
        case 'n':
            n = strtoul(optarg, &end, 0);
            REQUIRE(*end == 0 && n > 0 && n <= 2048);
            break;
        default:
            printf("Test failed: usage: gdev_matrixadd [-d<dev>] [-f<matrix.cubin>] [-n<size>]\n");
            return 1;
        }
    }
    image = tu_read_file(path, &image_size);
    if (!image) {
        printf("Test failed: cannot read %s\n", path);
        return 1;
    }
    CHECK_INT(gdevice_count(&count));
    REQUIRE(dev < count);
    h = gopen(dev);
    REQUIRE(h != NULL);
    code = gmalloc(h, (uint64_t)image_size);
    REQUIRE(code != 0);
    CHECK_INT(gmemcpy_to_device(h, code, image, (uint64_t)image_size));
    free(image);                            /* the card has its own copy now */

    run(h, code, (uint64_t)image_size, (uint32_t)n);
    run(h, code, (uint64_t)image_size, (uint32_t)n / 2 + 1);

    REQUIRE(gfree(h, code) >= (uint64_t)image_size);
    CHECK_INT(gclose(h));
    printf("Test passed: %lu x %lu and %lu x %lu\n", n, n, n / 2 + 1, n / 2 + 1);
    return 0;
}
