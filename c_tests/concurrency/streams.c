/*
 * streams.c - two streams pipelining chunks: copy in, compute, copy out.
 *
 *   streams [-d<dev>] [-c<chunks>] [-n<ints per chunk>] [-k<kernel dir>]
 *           (default -d0 -c8 -n16384 -k.)
 *
 * Chunk i goes to stream i % 2: H2D of a and b, add_test, D2H of c, with an
 * event before and after each stage.  Both streams start after a `begin`
 * event and the `finish` event follows both (sdaaStreamWaitEvent), so every
 * stage lies between them.  Checked:
 *   - every element of every chunk's c = a + b;
 *   - every event's time after `begin` is >= 0 and <= the begin..finish
 *     span, which is <= the host's wall time of the whole run; the stages of
 *     a chunk are in order, and so are the chunks of one stream;
 *   - the copy time hidden behind compute (the part of the copy intervals
 *     that overlaps some kernel's interval) is printed; it must be > 0 when
 *     the card reports concurrent copy and execution (asyncEngineCount, or
 *     deviceOverlap where that attribute is not reported), in one of ATTEMPTS
 *     runs: the engines' threads share the host's cores with everything else
 *     running there, so one run may find no core free for the copy engine
 *     while a kernel runs; the card that can overlap shows it in some run.
 */
#include "conc.h"
#include "sdaa.h"

#define ARRAYS 2
#define STAGES 4                /* events per chunk: start, copied in, computed, copied out */
#define ATTEMPTS 3

struct span { double from, to; };

static int cmp_span(const void *x, const void *y)
{
    const struct span *a = x, *b = y;
    return (a->from > b->from) - (a->from < b->from);
}

/* Total length of the parts of copies[] that lie inside the union of compute[]. */
static double hidden_time(struct span *compute, int nc, const struct span *copies, int ncopy)
{
    int i, j, m = 0;
    double hidden = 0.0;
    qsort(compute, (size_t)nc, sizeof(*compute), cmp_span);
    for (i = 0; i < nc; i++) {                  /* merge into disjoint spans */
        if (m > 0 && compute[i].from <= compute[m - 1].to) {
            if (compute[i].to > compute[m - 1].to)
                compute[m - 1].to = compute[i].to;
        } else {
            compute[m++] = compute[i];
        }
    }
    for (i = 0; i < ncopy; i++) {
        for (j = 0; j < m; j++) {
            double lo = copies[i].from > compute[j].from ? copies[i].from : compute[j].from;
            double hi = copies[i].to < compute[j].to ? copies[i].to : compute[j].to;
            if (hi > lo)
                hidden += hi - lo;
        }
    }
    return hidden;
}

/* Whether the card says it copies while it computes, and which attribute said so. */
static int concurrent_engines(int dev, const char **which)
{
    int engines = 0;
    struct sdaaDeviceProp prop;
    CHECK(sdaaGetDeviceProperties(&prop, dev));
    if (sdInit(0) == SDAA_SUCCESS &&
        sdDeviceGetAttribute(&engines, SD_DEVICE_ATTRIBUTE_ASYNC_ENGINE_COUNT, dev) == SDAA_SUCCESS) {
        *which = "asyncEngineCount";
        return engines > 0;
    }
    *which = "deviceOverlap (asyncEngineCount is not reported)";
    return prop.deviceOverlap != 0;
}

int main(int argc, char **argv)
{
    int dev = 0, chunks = 8, n = 16384, opt, i, k, concurrent, ncopy, attempt;
    const char *dir = ".", *which = "";
    char *end;
    int *ha, *hb, *hc;
    void **da, **db, **dc;
    sdaaStream_t s[2];
    sdaaEvent_t begin, join, finish, *ev;
    double *at, span_ms, wall, t0, copy_total, compute_total, hidden = 0.0;
    struct span *compute, *copies;
    size_t bytes;
    float ms;

    while ((opt = getopt(argc, argv, "d:c:n:k:")) != -1) {
        long v = 0;
        if (opt == 'd' || opt == 'c' || opt == 'n') {
            v = strtol(optarg, &end, 0);
            if (*end || v < 0 || v > (1 << 24) || (opt != 'd' && v == 0)) {
                printf("Test failed: bad -%c value\n", opt);
                return 1;
            }
        }
        switch (opt) {
        case 'd':
            dev = (int)v;
            break;
        case 'c':
            chunks = (int)v;
            break;
        case 'n':
            n = (int)v;
            break;
        case 'k':
            dir = optarg;
            break;
        default:
            printf("Test failed: usage: streams [-d<dev>] [-c<chunks>] [-n<ints per chunk>] [-k<kernel dir>]\n");
            return 1;
        }
    }
    conc_register(dir);
    CHECK(sdaaSetDevice(dev));
    bytes = (size_t)n * sizeof(int);
    CHECK(sdaaMallocHost((void **)&ha, bytes * chunks));
    CHECK(sdaaMallocHost((void **)&hb, bytes * chunks));
    CHECK(sdaaMallocHost((void **)&hc, bytes * chunks));
    da = calloc((size_t)chunks, sizeof(void *));
    db = calloc((size_t)chunks, sizeof(void *));
    dc = calloc((size_t)chunks, sizeof(void *));
    ev = calloc((size_t)chunks * STAGES, sizeof(*ev));
    at = calloc((size_t)chunks * STAGES, sizeof(*at));
    compute = calloc((size_t)chunks, sizeof(*compute));
    copies = calloc((size_t)chunks * 2, sizeof(*copies));
    REQUIRE(da && db && dc && ev && at && compute && copies);
    for (i = 0; i < n * chunks; i++) {
        ha[i] = i;
        hb[i] = 3 * i + 11;
    }
    for (i = 0; i < chunks; i++) {
        CHECK(sdaaMalloc(&da[i], bytes));
        CHECK(sdaaMalloc(&db[i], bytes));
        CHECK(sdaaMalloc(&dc[i], bytes));
        for (k = 0; k < STAGES; k++)
            CHECK(sdaaEventCreate(&ev[i * STAGES + k]));
    }
    CHECK(sdaaStreamCreate(&s[0]));
    CHECK(sdaaStreamCreate(&s[1]));
    CHECK(sdaaEventCreate(&begin));
    CHECK(sdaaEventCreate(&join));
    CHECK(sdaaEventCreate(&finish));
    /* Load the kernel before timing, so the first chunk does not pay for it. */
    conc_launch_add(0, da[0], da[0], dc[0], 1, 1);
    CHECK(sdaaDeviceSynchronize());

    concurrent = concurrent_engines(dev, &which);
    for (attempt = 1; attempt <= ATTEMPTS; attempt++) {
        for (i = 0; i < n * chunks; i++)
            hc[i] = -1;
        ncopy = 0;
        copy_total = compute_total = 0.0;
        t0 = tu_now_ms();
        CHECK(sdaaEventRecord(begin, s[0]));
        CHECK(sdaaStreamWaitEvent(s[1], begin, 0));
        for (i = 0; i < chunks; i++) {
            sdaaStream_t st = s[i % 2];
            sdaaEvent_t *e = &ev[i * STAGES];
            CHECK(sdaaEventRecord(e[0], st));
            CHECK(sdaaMemcpyAsync(da[i], ha + (size_t)i * n, bytes, sdaaMemcpyHostToDevice, st));
            CHECK(sdaaMemcpyAsync(db[i], hb + (size_t)i * n, bytes, sdaaMemcpyHostToDevice, st));
            CHECK(sdaaEventRecord(e[1], st));
            conc_launch_add(st, da[i], db[i], dc[i], n, ARRAYS);
            CHECK(sdaaEventRecord(e[2], st));
            CHECK(sdaaMemcpyAsync(hc + (size_t)i * n, dc[i], bytes, sdaaMemcpyDeviceToHost, st));
            CHECK(sdaaEventRecord(e[3], st));
        }
        CHECK(sdaaEventRecord(join, s[1]));
        CHECK(sdaaStreamWaitEvent(s[0], join, 0));
        CHECK(sdaaEventRecord(finish, s[0]));
        CHECK(sdaaEventSynchronize(finish));
        wall = tu_now_ms() - t0;

        /* ---- results ---- */
        for (i = 0; i < n * chunks; i++) {
            if (hc[i] != ha[i] + hb[i]) {
                printf("Test failed: chunk %d element %d: %d, expected %d\n", i / n, i % n, hc[i], ha[i] + hb[i]);
                return 1;
            }
        }

        /* ---- timestamps ---- */
        CHECK(sdaaEventElapsedTime(&ms, begin, finish));
        span_ms = ms;
        printf("begin..finish %.3f ms on the card, %.3f ms host wall time\n", span_ms, wall);
        REQUIRE(span_ms >= 0.0 && span_ms <= wall + 1.0);
        for (i = 0; i < chunks * STAGES; i++) {
            CHECK(sdaaEventElapsedTime(&ms, begin, ev[i]));
            at[i] = ms;
            if (at[i] < 0.0 || at[i] > span_ms + 1e-3) {
                printf("Test failed: chunk %d stage %d event at %.3f ms, outside 0..%.3f\n", i / STAGES, i % STAGES,
                       at[i], span_ms);
                return 1;
            }
        }
        for (i = 0; i < chunks; i++) {
            double *t = &at[i * STAGES];
            if (!(t[0] <= t[1] && t[1] <= t[2] && t[2] <= t[3])) {
                printf("Test failed: chunk %d stages out of order: %.3f %.3f %.3f %.3f\n", i, t[0], t[1], t[2], t[3]);
                return 1;
            }
            if (i >= 2 && at[(i - 2) * STAGES + 3] > t[0]) {
                printf("Test failed: chunk %d starts at %.3f ms before chunk %d of its stream ended (%.3f ms)\n", i,
                       t[0], i - 2, at[(i - 2) * STAGES + 3]);
                return 1;
            }
            copies[ncopy].from = t[0];
            copies[ncopy++].to = t[1];
            copies[ncopy].from = t[2];
            copies[ncopy++].to = t[3];
            compute[i].from = t[1];
            compute[i].to = t[2];
            copy_total += (t[1] - t[0]) + (t[3] - t[2]);
            compute_total += t[2] - t[1];
        }
        hidden = hidden_time(compute, chunks, copies, ncopy);
        printf("copies %.3f ms, kernels %.3f ms, serial sum %.3f ms, span %.3f ms\n", copy_total, compute_total,
               copy_total + compute_total, span_ms);
        printf("copy time hidden behind compute: %.3f ms (%.1f%% of copy time)\n", hidden,
               copy_total > 0 ? 100.0 * hidden / copy_total : 0.0);
        if (!concurrent || hidden > 0.0)
            break;
    }
    printf("concurrent copy and execution per %s: %s\n", which, concurrent ? "yes" : "no");
    if (concurrent && !(hidden > 0.0)) {
        printf("Test failed: the card reports concurrent copy and execution (%s) but no copy time was hidden "
               "behind compute in %d runs\n", which, ATTEMPTS);
        return 1;
    }

    for (i = 0; i < chunks; i++) {
        for (k = 0; k < STAGES; k++)
            CHECK(sdaaEventDestroy(ev[i * STAGES + k]));
        CHECK(sdaaFree(dc[i]));
        CHECK(sdaaFree(db[i]));
        CHECK(sdaaFree(da[i]));
    }
    CHECK(sdaaEventDestroy(finish));
    CHECK(sdaaEventDestroy(join));
    CHECK(sdaaEventDestroy(begin));
    CHECK(sdaaStreamDestroy(s[1]));
    CHECK(sdaaStreamDestroy(s[0]));
    CHECK(sdaaFreeHost(hc));
    CHECK(sdaaFreeHost(hb));
    CHECK(sdaaFreeHost(ha));
    free(da);
    free(db);
    free(dc);
    free(ev);
    free(at);
    free(compute);
    free(copies);
    printf("Test passed: %d chunks of %d ints on 2 streams\n", chunks, n);
    return 0;
}
