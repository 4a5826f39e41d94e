/*
 * idle.c - a busy kernel and the host's view of it.
 *
 *   idle [-d<dev>] [-f<busy.cubin>] [-n<milliseconds>]     (default -d0 -n50)
 *
 * The loop kernel is first timed at two iteration counts, which gives the
 * count that keeps the card busy for about -n milliseconds.  While such a
 * launch runs, sdStreamQuery and sdEventQuery must say SDAA_ERROR_NOT_READY;
 * once it finished, SDAA_SUCCESS - on a created stream (polled, and waited
 * for with sdEventSynchronize) and on the default stream.  The events' elapsed
 * time must be positive and within the host's wall time, and the kernel's
 * results must be right.
 */
#include "suite.h"

#define THREADS 32              /* one small block: the cost is the loop, not the lanes */

static uint32_t out[THREADS];

static void launch(SDfunction f, SDdeviceptr dout, uint32_t count, SDstream s)
{
    uint32_t n = THREADS;
    void *params[3] = { &dout, &count, &n };
    CHECK(sdLaunchKernel(f, 1, 1, 1, THREADS, 1, 1, 0, s, params, NULL));
}

static void verify(SDdeviceptr dout, uint32_t count, const char *phase)
{
    uint32_t i;
    CHECK(sdMemcpyDtoH(out, dout, sizeof(out)));
    for (i = 0; i < THREADS; i++) {
        if (out[i] != tu_lcg(i, count)) {
            printf("Test failed: %s: out[%u] = %u, expected %u\n", phase, i, out[i], tu_lcg(i, count));
            exit(1);
        }
    }
}

static double timed_run(SDfunction f, SDdeviceptr dout, uint32_t count)
{
    double t0 = tu_now_ms();
    launch(f, dout, count, NULL);
    CHECK(sdCtxSynchronize());
    return tu_now_ms() - t0;
}

struct idle_run {
    SDfunction f;
    SDdeviceptr dout;
};

static double idle_run(void *ctx, uint32_t count)
{
    struct idle_run *r = ctx;
    return timed_run(r->f, r->dout, count);
}

/* The iteration count for about target_ms of kernel time. */
static uint32_t calibrate(SDfunction f, SDdeviceptr dout, double target_ms)
{
    struct idle_run r = { f, dout };
    double want;
    timed_run(f, dout, 256);                /* the first launch also prepares the kernel */
    want = tu_calibrate(idle_run, &r, target_ms);
    printf("calibration: %.0f iterations for %.0f ms\n", want, target_ms);
    return (uint32_t)want;
}

int main(int argc, char **argv)
{
    struct suite_opts o = { 0, "busy.cubin", 50 };
    SDcontext ctx;
    SDmodule mod;
    SDfunction f;
    SDdeviceptr dout;
    SDstream s;
    SDevent start, end;
    uint32_t count;
    SDresult r;
    double t0, wall, busy_ms;
    float ms = -1.0f;
    unsigned long polls = 0;

    suite_options(argc, argv, &o);
    if (o.size > 10000)
        suite_fail("-n must be at most 10000 ms");
    ctx = suite_context(o.dev, 0);
    f = suite_function(&mod, o.image, "loop");
    CHECK(sdMemAlloc(&dout, sizeof(out)));
    count = calibrate(f, dout, (double)o.size);

    /* ---- a created stream, polled ---- */
    CHECK(sdStreamCreate(&s, 0));
    CHECK(sdEventCreate(&start, SD_EVENT_DEFAULT));
    CHECK(sdEventCreate(&end, SD_EVENT_DEFAULT));
    CHECK(sdMemsetD32(dout, 0, THREADS));
    CHECK(sdCtxSynchronize());
    t0 = tu_now_ms();
    CHECK(sdEventRecord(start, s));
    launch(f, dout, count, s);
    CHECK(sdEventRecord(end, s));
    EXPECT(sdStreamQuery(s), SDAA_ERROR_NOT_READY);
    EXPECT(sdEventQuery(end), SDAA_ERROR_NOT_READY);
    while ((r = sdStreamQuery(s)) == SDAA_ERROR_NOT_READY) {
        polls++;
        tu_sleep_ms(1.0);
        if (tu_now_ms() - t0 > 60000.0)
            suite_fail("the kernel did not finish within 60 s");
    }
    busy_ms = tu_now_ms() - t0;
    suite_expect(r, SDAA_SUCCESS, "sdStreamQuery(s) after the kernel", __LINE__);
    CHECK(sdEventQuery(end));
    CHECK(sdEventQuery(start));
    CHECK(sdEventElapsedTime(&ms, start, end));
    wall = tu_now_ms() - t0;
    printf("created stream: NOT_READY for %lu polls over %.2f ms; events say %.3f ms\n", polls, busy_ms, ms);
    REQUIRE(polls > 0);
    REQUIRE(ms > 0.0f);
    REQUIRE(ms <= wall + 1.0);              /* the card's clock cannot outrun the host's */
    verify(dout, count, "created stream");

    /* ---- the same stream, waited for with sdEventSynchronize ---- */
    CHECK(sdMemsetD32(dout, 0, THREADS));
    CHECK(sdCtxSynchronize());
    t0 = tu_now_ms();
    CHECK(sdEventRecord(start, s));
    launch(f, dout, count + 1, s);
    CHECK(sdEventRecord(end, s));
    EXPECT(sdEventQuery(end), SDAA_ERROR_NOT_READY);
    EXPECT(sdEventElapsedTime(&ms, start, end), SDAA_ERROR_NOT_READY);
    CHECK(sdEventSynchronize(end));
    wall = tu_now_ms() - t0;
    CHECK(sdEventQuery(end));
    CHECK(sdStreamQuery(s));
    CHECK(sdEventElapsedTime(&ms, start, end));
    printf("event synchronize: %.2f ms wall, events say %.3f ms\n", wall, ms);
    REQUIRE(ms > 0.0f && ms <= wall + 1.0);
    verify(dout, count + 1, "sdEventSynchronize");

    /* ---- the default stream ---- */
    CHECK(sdMemsetD32(dout, 0, THREADS));
    CHECK(sdCtxSynchronize());
    launch(f, dout, count + 2, NULL);
    EXPECT(sdStreamQuery(NULL), SDAA_ERROR_NOT_READY);
    CHECK(sdStreamSynchronize(NULL));
    CHECK(sdStreamQuery(NULL));
    verify(dout, count + 2, "default stream");

    CHECK(sdEventDestroy(end));
    CHECK(sdEventDestroy(start));
    CHECK(sdStreamDestroy(s));
    CHECK(sdMemFree(dout));
    CHECK(sdModuleUnload(mod));
    CHECK(sdCtxDestroy(ctx));
    printf("Test passed: %u iterations, busy %.2f ms\n", count, busy_ms);
    return 0;
}
