/*
 * events.c - sdaaEvent* behaviour and error codes.
 *
 *   events [-d<dev>] [-m<kernel ms>] [-k<kernel dir>]     (default -d0 -m100 -k.)
 *
 * Checked, with CUDA's semantics:
 *   - a never-recorded event: Query and Synchronize succeed, ElapsedTime
 *     fails with InvalidResourceHandle;
 *   - an event behind a long kernel: Query and ElapsedTime say NotReady until
 *     it is reached, Synchronize waits for it (the kernel's results are then
 *     there), and afterwards both succeed;
 *   - elapsed times: positive across the kernel, within the host's wall time,
 *     antisymmetric (end, start) = -(start, end), zero for (e, e), additive
 *     over three events, and a re-recorded event takes its new position;
 *   - DisableTiming events synchronize but give no time
 *     (InvalidResourceHandle); BlockingSync events work; unknown flags and
 *     NULL pointers are InvalidValue;
 *   - a destroyed event (and one never created) is InvalidResourceHandle for
 *     every call, also as the thread's last error; destroying a pending event
 *     is allowed; recording on a destroyed stream is InvalidResourceHandle.
 */
#include "conc.h"

#define N 256

static uint32_t count;
static uint32_t host[N];
static void *d;

/* A long kernel on s, ending in the loop values for `c`. */
static void long_kernel(sdaaStream_t s, uint32_t c)
{
    CHECK(sdaaMemset(d, 0, N * 4));
    conc_launch_loop(s, d, c, N, 1);
}

static void verify(uint32_t c, const char *what)
{
    long bad;
    CHECK(sdaaMemcpy(host, d, N * 4, sdaaMemcpyDeviceToHost));
    bad = conc_check_loop(host, c, N);
    if (bad >= 0) {
        printf("Test failed: %s: element %ld is 0x%08x, expected 0x%08x\n", what, bad, host[bad],
               tu_lcg((uint32_t)bad, c));
        conc_die();
    }
}

static float elapsed(sdaaEvent_t a, sdaaEvent_t b)
{
    float ms = -12345.0f;
    CHECK(sdaaEventElapsedTime(&ms, a, b));
    return ms;
}

static int near(double x, double y, double tol)
{
    return x - y <= tol && y - x <= tol;
}

int main(int argc, char **argv)
{
    int dev = 0, ms_target = 100, opt;
    const char *dir = ".";
    sdaaEvent_t start, end, mid, never, notime, blocking, dead, pending;
    sdaaStream_t s, gone;
    float ms = 0.0f, t_se, t_sm, t_me;
    double t0, wall;
    char *end_p;

    while ((opt = getopt(argc, argv, "d:m:k:")) != -1) {
        switch (opt) {
        case 'd':
            dev = (int)strtol(optarg, &end_p, 0);
            REQUIRE(*end_p == 0 && dev >= 0);
            break;
        case 'm':
            ms_target = (int)strtol(optarg, &end_p, 0);
            REQUIRE(*end_p == 0 && ms_target > 0 && ms_target <= 10000);
            break;
        case 'k':
            dir = optarg;
            break;
        default:
            printf("Test failed: usage: events [-d<dev>] [-m<kernel ms>] [-k<kernel dir>]\n");
            return 1;
        }
    }
    conc_register(dir);
    CHECK(sdaaSetDevice(dev));
    count = conc_calibrate(ms_target, N);
    CHECK(sdaaMalloc(&d, N * 4));
    CHECK(sdaaStreamCreate(&s));

    /* ---- creation ---- */
    EXPECT_LAST(sdaaEventCreate(NULL), sdaaErrorInvalidValue);
    EXPECT_LAST(sdaaEventCreateWithFlags(&dead, 0x80), sdaaErrorInvalidValue);
    CHECK(sdaaEventCreate(&start));
    CHECK(sdaaEventCreate(&end));
    CHECK(sdaaEventCreate(&mid));
    CHECK(sdaaEventCreate(&never));
    CHECK(sdaaEventCreateWithFlags(&notime, sdaaEventDisableTiming));
    CHECK(sdaaEventCreateWithFlags(&blocking, sdaaEventBlockingSync));
    REQUIRE(start != end && end != mid && mid != never && never != notime && notime != blocking);

    /* ---- never recorded ---- */
    CHECK(sdaaEventQuery(never));
    CHECK(sdaaEventSynchronize(never));
    EXPECT_LAST(sdaaEventElapsedTime(&ms, never, never), sdaaErrorInvalidResourceHandle);

    /* ---- pending, then reached ---- */
    CHECK(sdaaDeviceSynchronize());
    t0 = tu_now_ms();
    CHECK(sdaaEventRecord(start, s));
    long_kernel(s, count);
    CHECK(sdaaEventRecord(mid, s));
    long_kernel(s, count + 1);
    CHECK(sdaaEventRecord(end, s));
    EXPECT(sdaaEventQuery(end), sdaaErrorNotReady);
    EXPECT(sdaaEventElapsedTime(&ms, start, end), sdaaErrorNotReady);
    CHECK(sdaaEventSynchronize(mid));
    /* mid is reached: the first kernel finished; the second one still runs. */
    CHECK(sdaaEventQuery(mid));
    EXPECT(sdaaEventQuery(end), sdaaErrorNotReady);
    CHECK(sdaaEventSynchronize(end));
    wall = tu_now_ms() - t0;
    CHECK(sdaaEventQuery(end));
    CHECK(sdaaEventQuery(start));
    verify(count + 1, "after sdaaEventSynchronize(end)");

    /* ---- elapsed times ---- */
    t_se = elapsed(start, end);
    t_sm = elapsed(start, mid);
    t_me = elapsed(mid, end);
    printf("start->mid %.3f ms, mid->end %.3f ms, start->end %.3f ms, host wall %.3f ms\n", t_sm, t_me, t_se,
           wall);
    REQUIRE(t_sm > 0.0f && t_me > 0.0f && t_se > 0.0f);
    REQUIRE(t_se <= wall + 1.0);                       /* the card's clock cannot outrun the host's */
    REQUIRE(t_se >= 0.3 * ms_target);                  /* two calibrated kernels ran in between */
    REQUIRE(near(t_sm + t_me, t_se, 0.01 + 1e-4 * t_se));
    REQUIRE(near(elapsed(end, start), -t_se, 1e-3));
    REQUIRE(elapsed(mid, mid) == 0.0f);
    EXPECT_LAST(sdaaEventElapsedTime(NULL, start, end), sdaaErrorInvalidValue);

    /* Re-recording moves an event: start now lies after end. */
    CHECK(sdaaEventRecord(start, s));
    CHECK(sdaaEventSynchronize(start));
    REQUIRE(elapsed(end, start) >= 0.0f);
    REQUIRE(elapsed(mid, start) >= t_me);

    /* ---- flags ---- */
    CHECK(sdaaEventRecord(notime, s));
    CHECK(sdaaEventSynchronize(notime));
    CHECK(sdaaEventQuery(notime));
    EXPECT_LAST(sdaaEventElapsedTime(&ms, notime, end), sdaaErrorInvalidResourceHandle);
    EXPECT_LAST(sdaaEventElapsedTime(&ms, end, notime), sdaaErrorInvalidResourceHandle);
    long_kernel(s, count + 2);
    CHECK(sdaaEventRecord(blocking, s));
    CHECK(sdaaEventSynchronize(blocking));
    CHECK(sdaaEventQuery(blocking));
    verify(count + 2, "after a blocking-sync event");

    /* ---- destroyed events ---- */
    CHECK(sdaaEventCreate(&dead));
    CHECK(sdaaEventRecord(dead, s));
    CHECK(sdaaEventDestroy(dead));
    EXPECT_LAST(sdaaEventQuery(dead), sdaaErrorInvalidResourceHandle);
    EXPECT_LAST(sdaaEventRecord(dead, s), sdaaErrorInvalidResourceHandle);
    EXPECT_LAST(sdaaEventSynchronize(dead), sdaaErrorInvalidResourceHandle);
    EXPECT_LAST(sdaaEventElapsedTime(&ms, dead, end), sdaaErrorInvalidResourceHandle);
    EXPECT_LAST(sdaaEventElapsedTime(&ms, end, dead), sdaaErrorInvalidResourceHandle);
    EXPECT_LAST(sdaaStreamWaitEvent(s, dead, 0), sdaaErrorInvalidResourceHandle);
    EXPECT_LAST(sdaaEventDestroy(dead), sdaaErrorInvalidResourceHandle);
    EXPECT_LAST(sdaaEventQuery(0x7ffffff0), sdaaErrorInvalidResourceHandle);
    REQUIRE(sdaaGetLastError() == sdaaSuccess);        /* reading it reset it */

    /* A pending event may be destroyed; the work it followed still completes. */
    CHECK(sdaaEventCreate(&pending));
    long_kernel(s, count + 3);
    CHECK(sdaaEventRecord(pending, s));
    CHECK(sdaaEventDestroy(pending));
    EXPECT_LAST(sdaaEventQuery(pending), sdaaErrorInvalidResourceHandle);
    CHECK(sdaaStreamSynchronize(s));
    verify(count + 3, "after destroying a pending event");

    /* Recording on a destroyed stream. */
    CHECK(sdaaStreamCreate(&gone));
    CHECK(sdaaStreamDestroy(gone));
    EXPECT_LAST(sdaaEventRecord(end, gone), sdaaErrorInvalidResourceHandle);

    CHECK(sdaaEventDestroy(blocking));
    CHECK(sdaaEventDestroy(notime));
    CHECK(sdaaEventDestroy(never));
    CHECK(sdaaEventDestroy(mid));
    CHECK(sdaaEventDestroy(end));
    CHECK(sdaaEventDestroy(start));
    CHECK(sdaaStreamDestroy(s));
    CHECK(sdaaFree(d));
    printf("Test passed: event semantics and error codes\n");
    return 0;
}
