/*
 * ordering.c - stream and event dependencies that must hold.
 *
 *   ordering [-d<dev>] [-m<kernel ms>] [-k<kernel dir>]     (default -d0 -m200 -k.)
 *
 * Each case queues a long kernel (the loop kernel, calibrated to about -m
 * milliseconds) that writes a buffer prefilled with a sentinel, then reads
 * the buffer back through a path that is ordered after the kernel only by
 * the dependency under test, and waits for nothing else.  Had the dependency
 * been dropped, the read would return the sentinel (or a partial result):
 *
 *   event:    kernel on A, event on A, B waits on the event, D2H on B
 *   chain:    kernel on A -> event -> B adds (reads A's result) -> event -> A copies back
 *   legacy-1: kernel on A, then D2H on the default stream (async, and sdaaMemcpy)
 *   legacy-2: kernel on the default stream, then D2H on A
 *   stream:   kernel on A, then D2H on A
 *
 * Each case first checks that the kernel is still running once everything is
 * queued (sdaaStreamQuery NotReady), so a pass is not an accident of timing;
 * where a stream waits behind the dependency, its own query must say
 * NotReady too.
 */
#include "conc.h"

#define N 256                   /* ints written by the long kernel: 8 per SPE */

static uint32_t count;          /* loop iterations of the long kernel */
static uint32_t *host;          /* pinned: the async reads land here */
static void *x, *y, *w;

static void prefill(void *d)
{
    CHECK(sdaaMemset(d, 0xab, N * 4));
    CHECK(sdaaDeviceSynchronize());
    memset(host, 0, N * 4);
}

static void verify_loop(const char *name, uint32_t c)
{
    long bad = conc_check_loop(host, c, N);
    if (bad >= 0) {
        printf("Test failed: %s: element %ld is 0x%08x, expected 0x%08x (sentinel 0xabababab: "
               "the read did not wait for the kernel)\n", name, bad, host[bad], tu_lcg((uint32_t)bad, c));
        conc_die();
    }
    printf("ok    %s\n", name);
}

static void still_running(sdaaStream_t s, const char *name)
{
    sdaaError_t r = sdaaStreamQuery(s);
    (void)sdaaGetLastError();
    if (r != sdaaErrorNotReady) {
        printf("Test failed: %s: stream %d reports %d (%s) right after queueing a ~%u-step kernel; "
               "expected sdaaErrorNotReady\n", name, s, (int)r, conc_error_text(r), count);
        conc_die();
    }
}

int main(int argc, char **argv)
{
    int dev = 0, ms = 200, opt, i;
    const char *dir = ".";
    sdaaStream_t a, b;
    sdaaEvent_t e1, e2;
    char *end;

    while ((opt = getopt(argc, argv, "d:m:k:")) != -1) {
        switch (opt) {
        case 'd':
            dev = (int)strtol(optarg, &end, 0);
            REQUIRE(*end == 0 && dev >= 0);
            break;
        case 'm':
            ms = (int)strtol(optarg, &end, 0);
            REQUIRE(*end == 0 && ms > 0 && ms <= 10000);
            break;
        case 'k':
            dir = optarg;
            break;
        default:
            printf("Test failed: usage: ordering [-d<dev>] [-m<kernel ms>] [-k<kernel dir>]\n");
            return 1;
        }
    }
    conc_register(dir);
    CHECK(sdaaSetDevice(dev));
    count = conc_calibrate(ms, N);
    printf("long kernel: %u loop steps (about %d ms)\n", count, ms);
    CHECK(sdaaMallocHost((void **)&host, N * 4));
    CHECK(sdaaMalloc(&x, N * 4));
    CHECK(sdaaMalloc(&y, N * 4));
    CHECK(sdaaMalloc(&w, N * 4));
    CHECK(sdaaStreamCreate(&a));
    CHECK(sdaaStreamCreate(&b));
    REQUIRE(a != 0 && b != 0 && a != b);
    CHECK(sdaaEventCreate(&e1));
    CHECK(sdaaEventCreate(&e2));

    /* ---- event: B waits on A's event ---- */
    prefill(x);
    conc_launch_loop(a, x, count, N, 1);
    CHECK(sdaaEventRecord(e1, a));
    CHECK(sdaaStreamWaitEvent(b, e1, 0));
    CHECK(sdaaMemcpyAsync(host, x, N * 4, sdaaMemcpyDeviceToHost, b));
    still_running(a, "event");
    still_running(b, "event (the waiting stream)");
    CHECK(sdaaStreamSynchronize(b));
    verify_loop("event: B's copy after sdaaStreamWaitEvent", count);
    CHECK(sdaaDeviceSynchronize());

    /* ---- chain: A -> B -> A through two events ---- */
    prefill(x);
    CHECK(sdaaMemset(w, 0xab, N * 4));
    CHECK(sdaaDeviceSynchronize());
    conc_launch_loop(a, x, count, N, 1);
    CHECK(sdaaEventRecord(e1, a));
    CHECK(sdaaStreamWaitEvent(b, e1, 0));
    conc_launch_add(b, x, x, w, N, 1);              /* w = 2x, on B */
    CHECK(sdaaEventRecord(e2, b));
    CHECK(sdaaStreamWaitEvent(a, e2, 0));
    CHECK(sdaaMemcpyAsync(host, w, N * 4, sdaaMemcpyDeviceToHost, a));
    still_running(a, "chain");
    still_running(b, "chain (the middle stream)");
    CHECK(sdaaStreamSynchronize(a));
    for (i = 0; i < N; i++) {
        uint32_t want = 2u * tu_lcg((uint32_t)i, count);
        if (host[i] != want) {
            printf("Test failed: chain: w[%d] = 0x%08x, expected 0x%08x\n", i, host[i], want);
            conc_die();
        }
    }
    printf("ok    chain: A -> event -> B -> event -> A\n");
    CHECK(sdaaDeviceSynchronize());

    /* ---- legacy default stream: it waits for A ---- */
    prefill(y);
    conc_launch_loop(a, y, count + 1, N, 1);
    CHECK(sdaaMemcpyAsync(host, y, N * 4, sdaaMemcpyDeviceToHost, 0));
    still_running(a, "legacy-1");
    CHECK(sdaaStreamSynchronize(0));
    verify_loop("legacy-1: async copy on stream 0 after a kernel on A", count + 1);
    CHECK(sdaaDeviceSynchronize());

    prefill(y);
    conc_launch_loop(a, y, count + 2, N, 1);
    still_running(a, "legacy-1 (sdaaMemcpy)");
    CHECK(sdaaMemcpy(host, y, N * 4, sdaaMemcpyDeviceToHost));
    verify_loop("legacy-1: sdaaMemcpy after a kernel on A", count + 2);
    CHECK(sdaaDeviceSynchronize());

    /* ---- legacy default stream: A waits for it ---- */
    prefill(y);
    conc_launch_loop(0, y, count + 3, N, 1);
    CHECK(sdaaMemcpyAsync(host, y, N * 4, sdaaMemcpyDeviceToHost, a));
    still_running(0, "legacy-2");
    CHECK(sdaaStreamSynchronize(a));
    verify_loop("legacy-2: copy on A after a kernel on stream 0", count + 3);
    CHECK(sdaaDeviceSynchronize());

    /* ---- one stream ---- */
    prefill(x);
    conc_launch_loop(b, x, count + 4, N, 1);
    CHECK(sdaaMemcpyAsync(host, x, N * 4, sdaaMemcpyDeviceToHost, b));
    still_running(b, "stream");
    CHECK(sdaaStreamSynchronize(b));
    verify_loop("stream: kernel then copy on the same stream", count + 4);

    CHECK(sdaaEventDestroy(e2));
    CHECK(sdaaEventDestroy(e1));
    CHECK(sdaaStreamDestroy(b));
    CHECK(sdaaStreamDestroy(a));
    CHECK(sdaaFree(w));
    CHECK(sdaaFree(y));
    CHECK(sdaaFree(x));
    CHECK(sdaaFreeHost(host));
    printf("Test passed: 6 orderings\n");
    return 0;
}
