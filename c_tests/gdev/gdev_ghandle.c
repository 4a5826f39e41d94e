/*
 * gdev_ghandle.c - a program written the way Gdev's own are: `Ghandle h = gopen(0);`.
 *
 *   gdev_ghandle <add_test.cubin>
 *
 * Opens card 0 through a Ghandle, copies two vectors in, launches add_test from
 * a code object it uploads itself, copies the sum out and checks it, and does
 * the same on a second Ghandle of the last card.  The handle is also passed
 * where `struct gdev_handle *` is spelled: Ghandle is that pointer type, so the
 * two mix without a cast.
 * Prints "Test passed" and exits 0, or "Test failed: <why>" and exits 1.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gdev_api.h"
#include "testutil.h"

#define N 1000
#define BYTES ((uint64_t)N * sizeof(int))

_Static_assert(sizeof(Ghandle) == sizeof(void *), "Ghandle is a pointer");

static int ha[N], hb[N], hc[N];

/* The classic spelling, to show the typedef changed no prototype. */
static uint64_t alloc_filled(struct gdev_handle *h, const int *src)
{
    uint64_t addr = gmalloc(h, BYTES);
    if (addr != 0 && gmemcpy_to_device(h, addr, src, BYTES) != 0)
        return 0;
    return addr;
}

static void launch_add(Ghandle h, uint64_t code, uint64_t code_size, uint64_t a, uint64_t b, uint64_t c)
{
    uint32_t params[8] = {0};   /* a, b, c (8 bytes each), n */
    int n = N;
    uint32_t id = 0;
    struct gdev_kernel k;

    memcpy((char *)params + 0, &a, 8);
    memcpy((char *)params + 8, &b, 8);
    memcpy((char *)params + 16, &c, 8);
    memcpy((char *)params + 24, &n, 4);
    memset(&k, 0, sizeof(k));
    k.code_addr = code;
    k.code_size = code_size;
    k.code_pc = 0;
    k.param_size = 28;
    k.param_buf = params;
    k.grid_x = (N + 127) / 128;
    k.grid_y = k.grid_z = 1;
    k.block_x = 128;
    k.block_y = k.block_z = 1;
    CHECK_INT(glaunch(h, &k, &id));
    CHECK_INT(gsync(h, id, NULL));
}

/* a + b on the card through h; exits with "Test failed" on any difference. */
static void add_on(Ghandle h, const void *cubin, long code_size)
{
    uint64_t a, b, c, code;
    int i;

    for (i = 0; i < N; i++) {
        ha[i] = 3 * i;
        hb[i] = 1000 - i;
        hc[i] = -1;
    }
    a = alloc_filled(h, ha);
    b = alloc_filled(h, hb);
    c = alloc_filled(h, hc);
    code = gmalloc(h, (uint64_t)code_size);
    REQUIRE(a != 0 && b != 0 && c != 0 && code != 0);
    CHECK_INT(gmemcpy_to_device(h, code, cubin, (uint64_t)code_size));
    launch_add(h, code, (uint64_t)code_size, a, b, c);
    CHECK_INT(gmemcpy_from_device(h, hc, c, BYTES));
    for (i = 0; i < N; i++) {
        if (hc[i] != ha[i] + hb[i]) {
            printf("Test failed: c[%d]=%d, expected %d\n", i, hc[i], ha[i] + hb[i]);
            exit(1);
        }
    }
    REQUIRE(gfree(h, c) == BYTES);
    REQUIRE(gfree(h, b) == BYTES);
    REQUIRE(gfree(h, a) == BYTES);
    REQUIRE(gfree(h, code) >= (uint64_t)code_size);
}

int main(int argc, char **argv)
{
    Ghandle h, last;
    uint64_t mem = 0;
    long code_size = 0;
    void *cubin;
    int cards = 0;

    if (argc < 2) {
        printf("Test failed: usage: gdev_ghandle <add_test.cubin>\n");
        return 1;
    }
    cubin = tu_read_file(argv[1], &code_size);
    if (!cubin) {
        printf("Test failed: cannot read %s\n", argv[1]);
        return 1;
    }
    h = gopen(0);
    if (!h) {
        printf("Test failed: gopen(0) returned NULL\n");
        return 1;
    }
    CHECK_INT(gquery(h, GDEV_QUERY_DEVICE_MEM_SIZE, &mem));
    REQUIRE(mem >= 3 * BYTES);
    add_on(h, cubin, code_size);

    CHECK_INT(gdevice_count(&cards));
    REQUIRE(cards >= 1);
    last = gopen(cards - 1);
    REQUIRE(last != NULL && last != h);
    add_on(last, cubin, code_size);

    CHECK_INT(gclose(last));
    CHECK_INT(gclose(h));
    REQUIRE(gclose(h) == -EBADF);               /* a closed Ghandle is no handle */
    free(cubin);
    printf("Test passed\n");
    return 0;
}
