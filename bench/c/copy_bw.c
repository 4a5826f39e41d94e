/*
 * copy_bw.c - sdaaMemcpy bandwidth against libc memcpy in the same process.
 *
 *   copy_bw <repeats> <bytes>...
 *
 * For each size: memcpy host to host (the reference), H2D and D2H from
 * pageable (malloc) and pinned (sdaaMallocHost) memory, and D2D.  Each figure
 * is the median over <repeats> of one timed batch; a batch repeats the copy
 * until it moves BATCH_BYTES (at most BATCH_MAX times), so small copies are not
 * timer noise.  The kinds take turns batch by batch (bandwidths()).
 * Printed in GB/s (1e9 bytes per second).
 */
#define _POSIX_C_SOURCE 200809L

#include "bench.h"
#include "sdaa_runtime.h"

#define BATCH_BYTES (8u << 20)
#define BATCH_MAX   32u         /* small copies cost ~100 us each: keep batches short */

enum what { REF_MEMCPY, H2D_PAGEABLE, D2H_PAGEABLE, H2D_PINNED, D2H_PINNED, D2D, N_WHAT };
static const char *const names[N_WHAT] = {"memcpy", "h2d_pageable", "d2h_pageable",
                                          "h2d_pinned", "d2h_pinned", "d2d"};

struct buffers {
    unsigned char *src, *dst;   /* pageable */
    unsigned char *pinned;
    void *dev0, *dev1;
    size_t size;
};

static void copy_once(enum what w, struct buffers *b)
{
    switch (w) {
    case REF_MEMCPY:
        memcpy(b->dst, b->src, b->size);
        break;
    case H2D_PAGEABLE:
        BENCH_CHECK(sdaaMemcpy(b->dev0, b->src, b->size, sdaaMemcpyHostToDevice));
        break;
    case D2H_PAGEABLE:
        BENCH_CHECK(sdaaMemcpy(b->dst, b->dev0, b->size, sdaaMemcpyDeviceToHost));
        break;
    case H2D_PINNED:
        BENCH_CHECK(sdaaMemcpy(b->dev0, b->pinned, b->size, sdaaMemcpyHostToDevice));
        break;
    case D2H_PINNED:
        BENCH_CHECK(sdaaMemcpy(b->pinned, b->dev0, b->size, sdaaMemcpyDeviceToHost));
        break;
    case D2D:
        BENCH_CHECK(sdaaMemcpy(b->dev1, b->dev0, b->size, sdaaMemcpyDeviceToDevice));
        break;
    default:
        break;
    }
}

static size_t batch_of(const struct buffers *b)
{
    size_t batch = b->size >= BATCH_BYTES ? 1 : BATCH_BYTES / b->size;
    return batch > BATCH_MAX ? BATCH_MAX : batch;
}

/* One timed batch of w, in GB/s (bytes/ns). */
static double sample(enum what w, struct buffers *b)
{
    size_t batch = batch_of(b), i;
    double t = bench_now_ns();
    for (i = 0; i < batch; i++)
        copy_once(w, b);
    return (double)(b->size * batch) / (bench_now_ns() - t);
}

/* The median bandwidth of every kind.  The kinds take turns, one batch each per round,
 * so the reference and the copies it is compared with see the same machine: a burst of
 * other work, or the card still committing the buffers just allocated, slows them all
 * alike rather than whichever happened to be measured then. */
static void bandwidths(struct buffers *b, int repeats, double out[N_WHAT])
{
    static double samples[N_WHAT][64];
    int r, w;
    BENCH_REQUIRE(repeats <= 64);
    for (w = 0; w < N_WHAT; w++)
        copy_once((enum what)w, b);      /* warm-up: page faults, first-use paths */
    for (r = 0; r < repeats; r++)
        for (w = 0; w < N_WHAT; w++)
            samples[w][r] = sample((enum what)w, b);
    for (w = 0; w < N_WHAT; w++)
        out[w] = bench_median(samples[w], repeats);
}

int main(int argc, char **argv)
{
    int repeats, a, w;
    char key[96];
    double bw[N_WHAT];

    if (argc < 3) {
        fprintf(stderr, "usage: copy_bw <repeats> <bytes>...\n");
        return 2;
    }
    repeats = atoi(argv[1]);
    BENCH_REQUIRE(repeats > 0 && repeats <= 64);
    BENCH_CHECK(sdaaSetDevice(0));
    for (a = 2; a < argc; a++) {
        struct buffers b;
        size_t i;
        b.size = strtoul(argv[a], NULL, 0);
        BENCH_REQUIRE(b.size > 0);
        b.src = malloc(b.size);
        b.dst = malloc(b.size);
        BENCH_REQUIRE(b.src && b.dst);
        for (i = 0; i < b.size; i++)
            b.src[i] = (unsigned char)(i * 7 + 3);
        memset(b.dst, 0, b.size);
        BENCH_CHECK(sdaaMallocHost((void **)&b.pinned, b.size));
        memcpy(b.pinned, b.src, b.size);
        BENCH_CHECK(sdaaMalloc(&b.dev0, b.size));
        BENCH_CHECK(sdaaMalloc(&b.dev1, b.size));
        bandwidths(&b, repeats, bw);
        for (w = 0; w < N_WHAT; w++) {
            snprintf(key, sizeof key, "%s:%zu", names[w], b.size);
            bench_result(key, bw[w]);
        }
        /* the copies must have moved the data: src -> dev0 -> dst, dev0 -> dev1 -> dst */
        memset(b.dst, 0, b.size);
        BENCH_CHECK(sdaaMemcpy(b.dst, b.dev1, b.size, sdaaMemcpyDeviceToHost));
        BENCH_REQUIRE(memcmp(b.dst, b.src, b.size) == 0);
        BENCH_REQUIRE(memcmp(b.pinned, b.src, b.size) == 0);
        BENCH_CHECK(sdaaFree(b.dev1));
        BENCH_CHECK(sdaaFree(b.dev0));
        BENCH_CHECK(sdaaFreeHost(b.pinned));
        free(b.dst);
        free(b.src);
    }
    return 0;
}
