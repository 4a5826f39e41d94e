/*
 * stress.c - random interleavings of copies, launches, streams and events
 * from several threads over several cards, then a leak check.
 *
 *   stress [-t<seconds>] [-j<threads>] [-s<seed>] [-k<kernel dir>]
 *          (default -t20 -j4 -s1 -k.)
 *
 * Each thread picks random operations on random cards (of the first four)
 * until the time is up: a synchronous add_test round trip, a stream pipeline
 * with events, a cross-stream wait behind a loop kernel, memsets, device to
 * device copies, and event polling.  Every operation checks its data and
 * releases what it created.  Afterwards, every card's free memory
 * (sdaaMemGetInfo) must be back at its value from before the threads ran,
 * and no thread may have a pending last error.
 */
#include "conc.h"

#define MAX_CARDS 4
#define MAX_INTS 4096
#define KINDS 6

static const char *kind_name[KINDS] = { "sync add", "stream pipeline", "cross-stream wait", "memset",
                                        "device copy", "event poll" };

struct worker {
    pthread_t tid;
    int index;
    unsigned int seed;
    int cards;
    double deadline;
    unsigned long done[KINDS];
};

static uint32_t rnd(unsigned int *seed, uint32_t below)
{
    return (uint32_t)(rand_r(seed) % (int)below);
}

static void fill(int *p, int n, int salt)
{
    int i;
    for (i = 0; i < n; i++)
        p[i] = i * 31 + salt;
}

static void verify_sum(const int *a, const int *b, const int *c, int n, const char *what, int dev)
{
    int i;
    for (i = 0; i < n; i++) {
        if (c[i] != a[i] + b[i]) {
            printf("Test failed: %s on card %d: c[%d] = %d, expected %d\n", what, dev, i, c[i], a[i] + b[i]);
            conc_die();
        }
    }
}

static void op_sync_add(struct worker *w, int dev)
{
    int n = 1 + (int)rnd(&w->seed, MAX_INTS), arrays = 1 + (int)rnd(&w->seed, 4);
    size_t bytes = (size_t)n * 4;
    int *h = malloc(3 * bytes);
    void *a, *b, *c;
    REQUIRE(h != NULL);
    fill(h, n, w->index);
    fill(h + n, n, (int)w->seed);
    CHECK(sdaaMalloc(&a, bytes));
    CHECK(sdaaMalloc(&b, bytes));
    CHECK(sdaaMalloc(&c, bytes));
    CHECK(sdaaMemcpy(a, h, bytes, sdaaMemcpyHostToDevice));
    CHECK(sdaaMemcpy(b, h + n, bytes, sdaaMemcpyHostToDevice));
    CHECK(sdaaConfigureCall(arrays));
    CHECK(sdaaSetupArgument(&a, sizeof(a), 0));
    CHECK(sdaaSetupArgument(&b, sizeof(b), 8));
    CHECK(sdaaSetupArgument(&c, sizeof(c), 16));
    CHECK(sdaaSetupArgument(&n, sizeof(n), 24));
    CHECK(sdaaLaunch("add_test"));
    CHECK(sdaaMemcpy(h + 2 * n, c, bytes, sdaaMemcpyDeviceToHost));
    verify_sum(h, h + n, h + 2 * n, n, "sync add", dev);
    CHECK(sdaaFree(c));
    CHECK(sdaaFree(b));
    CHECK(sdaaFree(a));
    free(h);
}

static void op_pipeline(struct worker *w, int dev)
{
    int n = 1 + (int)rnd(&w->seed, MAX_INTS);
    size_t bytes = (size_t)n * 4;
    int *h = NULL;
    void *a, *b, *c;
    sdaaStream_t s;
    sdaaEvent_t e1, e2;
    float ms = -1.0f;
    CHECK(sdaaMallocHost((void **)&h, 3 * bytes));
    fill(h, n, 7 * w->index);
    fill(h + n, n, -w->index);
    memset(h + 2 * n, 0xff, bytes);
    CHECK(sdaaStreamCreate(&s));
    CHECK(sdaaEventCreate(&e1));
    CHECK(sdaaEventCreate(&e2));
    CHECK(sdaaMalloc(&a, bytes));
    CHECK(sdaaMalloc(&b, bytes));
    CHECK(sdaaMalloc(&c, bytes));
    CHECK(sdaaMemcpyAsync(a, h, bytes, sdaaMemcpyHostToDevice, s));
    CHECK(sdaaMemcpyAsync(b, h + n, bytes, sdaaMemcpyHostToDevice, s));
    CHECK(sdaaEventRecord(e1, s));
    conc_launch_add(s, a, b, c, n, 1 + (int)rnd(&w->seed, 4));
    CHECK(sdaaEventRecord(e2, s));
    CHECK(sdaaMemcpyAsync(h + 2 * n, c, bytes, sdaaMemcpyDeviceToHost, s));
    CHECK(sdaaStreamSynchronize(s));
    verify_sum(h, h + n, h + 2 * n, n, "stream pipeline", dev);
    CHECK(sdaaEventElapsedTime(&ms, e1, e2));
    REQUIRE(ms >= 0.0f);
    CHECK(sdaaFree(c));
    CHECK(sdaaFree(b));
    CHECK(sdaaFree(a));
    CHECK(sdaaEventDestroy(e2));
    CHECK(sdaaEventDestroy(e1));
    CHECK(sdaaStreamDestroy(s));
    CHECK(sdaaFreeHost(h));
}

static void op_cross_wait(struct worker *w, int dev)
{
    uint32_t n = 32 + rnd(&w->seed, 256), count = 16 + rnd(&w->seed, 512);
    uint32_t *h = NULL;
    void *x;
    sdaaStream_t a, b;
    sdaaEvent_t e;
    long bad;
    CHECK(sdaaMallocHost((void **)&h, n * 4));
    CHECK(sdaaStreamCreate(&a));
    CHECK(sdaaStreamCreate(&b));
    CHECK(sdaaEventCreateWithFlags(&e, sdaaEventDisableTiming));
    CHECK(sdaaMalloc(&x, n * 4));
    CHECK(sdaaMemset(x, 0xab, n * 4));
    conc_launch_loop(a, x, count, n, 1);
    CHECK(sdaaEventRecord(e, a));
    CHECK(sdaaStreamWaitEvent(b, e, 0));
    CHECK(sdaaMemcpyAsync(h, x, n * 4, sdaaMemcpyDeviceToHost, b));
    CHECK(sdaaStreamSynchronize(b));
    bad = conc_check_loop(h, count, n);
    if (bad >= 0) {
        printf("Test failed: cross-stream wait on card %d: element %ld is 0x%08x, expected 0x%08x\n", dev, bad,
               h[bad], tu_lcg((uint32_t)bad, count));
        conc_die();
    }
    CHECK(sdaaFree(x));
    CHECK(sdaaEventDestroy(e));
    CHECK(sdaaStreamDestroy(b));
    CHECK(sdaaStreamDestroy(a));
    CHECK(sdaaFreeHost(h));
}

static void op_memset(struct worker *w, int dev)
{
    size_t bytes = 1 + rnd(&w->seed, 4 * MAX_INTS), i;
    int value = (int)rnd(&w->seed, 256);
    unsigned char *h = malloc(bytes);
    void *d;
    REQUIRE(h != NULL);
    memset(h, value ^ 0xff, bytes);
    CHECK(sdaaMalloc(&d, bytes));
    CHECK(sdaaMemsetAsync(d, value, bytes, 0));
    CHECK(sdaaMemcpy(h, d, bytes, sdaaMemcpyDeviceToHost));
    for (i = 0; i < bytes; i++) {
        if (h[i] != (unsigned char)value) {
            printf("Test failed: memset on card %d: byte %lu is 0x%02x, expected 0x%02x\n", dev, (unsigned long)i,
                   h[i], value);
            conc_die();
        }
    }
    CHECK(sdaaFree(d));
    free(h);
}

static void op_device_copy(struct worker *w, int dev)
{
    int n = 1 + (int)rnd(&w->seed, MAX_INTS), i;
    size_t bytes = (size_t)n * 4;
    int *h = malloc(2 * bytes);
    void *x, *y;
    REQUIRE(h != NULL);
    fill(h, n, (int)rnd(&w->seed, 1000));
    CHECK(sdaaMalloc(&x, bytes));
    CHECK(sdaaMalloc(&y, bytes));
    CHECK(sdaaMemcpy(x, h, bytes, sdaaMemcpyHostToDevice));
    CHECK(sdaaMemcpy(y, x, bytes, sdaaMemcpyDeviceToDevice));
    CHECK(sdaaMemcpy(h + n, y, bytes, sdaaMemcpyDeviceToHost));
    for (i = 0; i < n; i++) {
        if (h[n + i] != h[i]) {
            printf("Test failed: device copy on card %d: word %d is %d, expected %d\n", dev, i, h[n + i], h[i]);
            conc_die();
        }
    }
    CHECK(sdaaFree(y));
    CHECK(sdaaFree(x));
    free(h);
}

static void op_event_poll(struct worker *w, int dev)
{
    uint32_t n = 64, count = 64 + rnd(&w->seed, 1024), h[64];
    void *x;
    sdaaEvent_t e;
    sdaaError_t r;
    double t0 = tu_now_ms();
    long bad;
    CHECK(sdaaEventCreate(&e));
    CHECK(sdaaMalloc(&x, n * 4));
    conc_launch_loop(0, x, count, n, 2);
    CHECK(sdaaEventRecord(e, 0));
    while ((r = sdaaEventQuery(e)) == sdaaErrorNotReady) {
        (void)sdaaGetLastError();
        tu_sleep_ms(0.5);
        REQUIRE(tu_now_ms() - t0 < 60000.0);
    }
    conc_expect(r, sdaaSuccess, "sdaaEventQuery(e)", __LINE__);
    CHECK(sdaaMemcpy(h, x, n * 4, sdaaMemcpyDeviceToHost));
    bad = conc_check_loop(h, count, n);
    if (bad >= 0) {
        printf("Test failed: event poll on card %d: element %ld is 0x%08x, expected 0x%08x\n", dev, bad, h[bad],
               tu_lcg((uint32_t)bad, count));
        conc_die();
    }
    CHECK(sdaaFree(x));
    CHECK(sdaaEventDestroy(e));
}

static void *work(void *arg)
{
    struct worker *w = arg;
    while (tu_now_ms() < w->deadline) {
        int dev = (int)rnd(&w->seed, (uint32_t)w->cards), kind = (int)rnd(&w->seed, KINDS);
        CHECK(sdaaSetDevice(dev));
        switch (kind) {
        case 0: op_sync_add(w, dev); break;
        case 1: op_pipeline(w, dev); break;
        case 2: op_cross_wait(w, dev); break;
        case 3: op_memset(w, dev); break;
        case 4: op_device_copy(w, dev); break;
        default: op_event_poll(w, dev); break;
        }
        w->done[kind]++;
    }
    conc_expect(sdaaGetLastError(), sdaaSuccess, "sdaaGetLastError() at the end of a thread", __LINE__);
    return NULL;
}

/* Loads both kernels and creates the per-card state the operations use, so
 * that what stays allocated for the process's lifetime is there before the
 * free memory is measured. */
static void warm_up(int dev)
{
    struct worker w;
    memset(&w, 0, sizeof(w));
    w.seed = 1;
    CHECK(sdaaSetDevice(dev));
    op_sync_add(&w, dev);
    op_pipeline(&w, dev);
    op_cross_wait(&w, dev);
    op_event_poll(&w, dev);
    CHECK(sdaaDeviceSynchronize());
}

int main(int argc, char **argv)
{
    int seconds = 20, threads = 4, cards = 0, opt, t, d, k;
    unsigned int seed = 1;
    const char *dir = ".";
    size_t free0[MAX_CARDS], free1, total;
    struct worker *w;
    unsigned long total_ops = 0;
    char *end;
    double t0;

    while ((opt = getopt(argc, argv, "t:j:s:k:")) != -1) {
        long v = 0;
        if (opt == 't' || opt == 'j' || opt == 's') {
            v = strtol(optarg, &end, 0);
            if (*end || v < 0 || v > 100000 || (opt != 's' && v == 0)) {
                printf("Test failed: bad -%c value\n", opt);
                return 1;
            }
        }
        switch (opt) {
        case 't':
            seconds = (int)v;
            break;
        case 'j':
            threads = (int)v;
            break;
        case 's':
            seed = (unsigned int)v;
            break;
        case 'k':
            dir = optarg;
            break;
        default:
            printf("Test failed: usage: stress [-t<seconds>] [-j<threads>] [-s<seed>] [-k<kernel dir>]\n");
            return 1;
        }
    }
    conc_register(dir);
    CHECK(sdaaGetDeviceCount(&cards));
    REQUIRE(cards >= 1);
    if (cards > MAX_CARDS)
        cards = MAX_CARDS;
    for (d = 0; d < cards; d++) {
        warm_up(d);
        CHECK(sdaaMemGetInfo(&free0[d], &total));
        REQUIRE(free0[d] > 0 && free0[d] <= total);
    }

    w = calloc((size_t)threads, sizeof(*w));
    REQUIRE(w != NULL);
    t0 = tu_now_ms();
    for (t = 0; t < threads; t++) {
        w[t].index = t;
        w[t].seed = seed * 7919u + (unsigned int)t;
        w[t].cards = cards;
        w[t].deadline = t0 + seconds * 1e3;
        REQUIRE(pthread_create(&w[t].tid, NULL, work, &w[t]) == 0);
    }
    for (t = 0; t < threads; t++)
        REQUIRE(pthread_join(w[t].tid, NULL) == 0);
    printf("%d threads, %d cards, %.1f s, seed %u\n", threads, cards, (tu_now_ms() - t0) / 1e3, seed);
    for (k = 0; k < KINDS; k++) {
        unsigned long sum = 0;
        for (t = 0; t < threads; t++)
            sum += w[t].done[k];
        printf("  %-18s %lu\n", kind_name[k], sum);
        total_ops += sum;
    }
    for (t = 0; t < threads; t++) {
        unsigned long sum = 0;
        for (k = 0; k < KINDS; k++)
            sum += w[t].done[k];
        if (sum == 0) {
            printf("Test failed: thread %d completed no operation\n", t);
            return 1;
        }
    }

    for (d = 0; d < cards; d++) {
        CHECK(sdaaSetDevice(d));
        CHECK(sdaaDeviceSynchronize());
        CHECK(sdaaMemGetInfo(&free1, &total));
        printf("card %d: free %lu bytes before, %lu after\n", d, (unsigned long)free0[d], (unsigned long)free1);
        if (free1 != free0[d]) {
            printf("Test failed: card %d leaked %ld bytes of device memory\n", d, (long)(free0[d] - free1));
            return 1;
        }
    }
    free(w);
    printf("Test passed: %lu operations, no leaks\n", total_ops);
    return 0;
}
