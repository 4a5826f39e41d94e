/*
 * api_cost.c - the host-side cost of single API calls through libusdaa.so.
 *
 *   api_cost <add_test.cubin> <repeats> <calls per repeat>
 *
 * Each figure is the median over <repeats> of (time of <calls> calls)/<calls>,
 * in nanoseconds per call.  The reference is sdaaGetLastError: the cheapest
 * export (no arguments, one thread-local read), so it measures what any call
 * into the cffi-embedded interpreter costs by itself.
 */
#define _POSIX_C_SOURCE 200809L

#include "bench.h"
#include "sdaa.h"
#include "sdaa_runtime.h"

static void *g_cubin;
static void *g_dev;
static SDdeviceptr g_dptr;
static int g_zero;

static void op_last_error(void) { (void)sdaaGetLastError(); }

static void op_get_device(void)
{
    int dev;
    BENCH_CHECK(sdaaGetDevice(&dev));
}

static void op_malloc_free(void)
{
    void *p;
    BENCH_CHECK(sdaaMalloc(&p, 4096));
    BENCH_CHECK(sdaaFree(p));
}

static void op_mem_alloc_free(void)
{
    SDdeviceptr p;
    BENCH_CHECK(sdMemAlloc(&p, 4096));
    BENCH_CHECK(sdMemFree(p));
}

/* The whole host side of one SDAA-style launch of add_test with n = 0. */
static void launch_empty(sdaaStream_t stream)
{
    BENCH_CHECK(sdaaConfigureCall(1));
    BENCH_CHECK(sdaaSetupArgument(&g_dev, sizeof g_dev, 0));
    BENCH_CHECK(sdaaSetupArgument(&g_dev, sizeof g_dev, 8));
    BENCH_CHECK(sdaaSetupArgument(&g_dev, sizeof g_dev, 16));
    BENCH_CHECK(sdaaSetupArgument(&g_zero, sizeof g_zero, 24));
    BENCH_CHECK(sdaaLaunchAsync("add_test", stream));
}

static void op_launch_enqueue(void) { launch_empty(0); }

static void op_launch_sync(void)
{
    op_launch_enqueue();
    BENCH_CHECK(sdaaDeviceSynchronize());
}

/* A launch on stream g_stream while another stream's kernels keep the card busy. */
static sdaaStream_t g_stream, g_busy_stream;
static void *g_busy[3];
#define BUSY_N (16 << 20)

static void op_launch_enqueue_busy(void) { launch_empty(g_stream); }

/* Queue enough long kernels on the other stream to outlast one measurement. */
static void start_busy_kernels(int count)
{
    int n = BUSY_N, i;
    for (i = 0; i < count; i++) {
        BENCH_CHECK(sdaaConfigureCall(64));
        BENCH_CHECK(sdaaSetupArgument(&g_busy[0], sizeof g_busy[0], 0));
        BENCH_CHECK(sdaaSetupArgument(&g_busy[1], sizeof g_busy[1], 8));
        BENCH_CHECK(sdaaSetupArgument(&g_busy[2], sizeof g_busy[2], 16));
        BENCH_CHECK(sdaaSetupArgument(&n, sizeof n, 24));
        BENCH_CHECK(sdaaLaunchAsync("add_test", g_busy_stream));
    }
}

static void op_stream_sync(void) { BENCH_CHECK(sdaaStreamSynchronize(g_stream)); }

static char g_host4k[4096];

static void op_h2d_4k(void)
{
    BENCH_CHECK(sdaaMemcpy(g_dev, g_host4k, sizeof g_host4k, sdaaMemcpyHostToDevice));
}

/* One 240 MiB allocation per repeat, freed (untimed) by the drain. */
static void *g_large;

static void op_malloc_large(void) { BENCH_CHECK(sdaaMalloc(&g_large, (size_t)240 << 20)); }

static void free_large(void)
{
    BENCH_CHECK(sdaaFree(g_large));
    g_large = NULL;
}

static SDfunction g_func;

static void op_driver_launch_enqueue(void)
{
    void *params[] = {&g_dptr, &g_dptr, &g_dptr, &g_zero};
    BENCH_CHECK(sdLaunchKernel(g_func, 1, 1, 1, 32, 1, 1, 0, 0, params, NULL));
}

static void op_driver_sync(void) { BENCH_CHECK(sdCtxSynchronize()); }
static void op_runtime_sync(void) { BENCH_CHECK(sdaaDeviceSynchronize()); }

/* ns per call of op; `drain` (not timed) empties the queue after each repeat. */
static double measure(void (*op)(void), void (*drain)(void), int repeats, int calls)
{
    double *samples = malloc(sizeof(double) * (size_t)repeats);
    double t, m;
    int r, i;
    BENCH_REQUIRE(samples != NULL);
    for (i = 0; i < calls / 10 + 1; i++)      /* warm-up: first-call paths, caches */
        op();
    if (drain)
        drain();
    for (r = 0; r < repeats; r++) {
        t = bench_now_ns();
        for (i = 0; i < calls; i++)
            op();
        samples[r] = (bench_now_ns() - t) / calls;
        if (drain)
            drain();
    }
    m = bench_median(samples, repeats);
    free(samples);
    return m;
}

int main(int argc, char **argv)
{
    struct { void *a, *b; } fbin;
    void **handle;
    int repeats, calls;
    SDdevice dev;
    SDcontext ctx;
    SDmodule mod;

    if (argc != 4) {
        fprintf(stderr, "usage: api_cost <add_test.cubin> <repeats> <calls per repeat>\n");
        return 2;
    }
    repeats = atoi(argv[2]);
    calls = atoi(argv[3]);
    BENCH_REQUIRE(repeats > 0 && calls > 0);
    g_cubin = bench_read_file(argv[1]);
    BENCH_REQUIRE(g_cubin != NULL);

    BENCH_CHECK(sdaaSetDevice(0));
    fbin.a = NULL;
    fbin.b = g_cubin;
    handle = __sdaaRegisterFatBinary(&fbin);
    BENCH_REQUIRE(handle != NULL);
    __sdaaRegisterFunction(handle, "add_test");
    BENCH_CHECK(sdaaMalloc(&g_dev, 4096));

    bench_result("empty_call", measure(op_last_error, NULL, repeats, calls));
    bench_result("get_device", measure(op_get_device, NULL, repeats, calls));
    bench_result("malloc_free", measure(op_malloc_free, NULL, repeats, calls / 4 + 1));
    /* Launch figures use fewer calls: each one queues work the card must drain. */
    bench_result("launch_enqueue", measure(op_launch_enqueue, op_runtime_sync, repeats, calls / 10 + 1));
    bench_result("launch_sync", measure(op_launch_sync, NULL, repeats, calls / 20 + 1));
    bench_result("h2d_4k", measure(op_h2d_4k, NULL, repeats, calls / 10 + 1));
    bench_result("malloc_240m", measure(op_malloc_large, free_large, repeats, 1));

    BENCH_CHECK(sdaaStreamCreate(&g_stream));
    BENCH_CHECK(sdaaStreamCreate(&g_busy_stream));
    for (int i = 0; i < 3; i++) {
        BENCH_CHECK(sdaaMalloc(&g_busy[i], (size_t)BUSY_N * sizeof(int)));
        BENCH_CHECK(sdaaMemset(g_busy[i], 1, (size_t)BUSY_N * sizeof(int)));
    }
    start_busy_kernels(repeats * 4 + 4);
    bench_result("launch_enqueue_busy", measure(op_launch_enqueue_busy, op_stream_sync, repeats,
                                                calls / 10 + 1));
    /* 1 when the other stream's kernels outlasted the measurement, as they must */
    bench_result("busy_after", (double)(sdaaStreamQuery(g_busy_stream) == sdaaErrorNotReady));
    BENCH_CHECK(sdaaStreamSynchronize(g_busy_stream));
    for (int i = 0; i < 3; i++)
        BENCH_CHECK(sdaaFree(g_busy[i]));
    BENCH_CHECK(sdaaStreamDestroy(g_stream));
    BENCH_CHECK(sdaaStreamDestroy(g_busy_stream));

    /* The driver API in its own context, after the runtime's work is done. */
    BENCH_CHECK(sdInit(0));
    BENCH_CHECK(sdDeviceGet(&dev, 0));
    BENCH_CHECK(sdCtxCreate(&ctx, 0, dev));
    BENCH_CHECK(sdModuleLoadData(&mod, g_cubin));
    BENCH_CHECK(sdModuleGetFunction(&g_func, mod, "add_test"));
    BENCH_CHECK(sdMemAlloc(&g_dptr, 4096));
    bench_result("mem_alloc_free", measure(op_mem_alloc_free, NULL, repeats, calls / 4 + 1));
    bench_result("driver_launch_enqueue",
                 measure(op_driver_launch_enqueue, op_driver_sync, repeats, calls / 10 + 1));
    bench_result("empty_call_end", measure(op_last_error, NULL, repeats, calls));

    BENCH_CHECK(sdMemFree(g_dptr));
    BENCH_CHECK(sdModuleUnload(mod));
    BENCH_CHECK(sdCtxDestroy(ctx));
    BENCH_CHECK(sdaaFree(g_dev));
    __sdaaUnregisterFatBinary(handle);
    free(g_cubin);
    return 0;
}
