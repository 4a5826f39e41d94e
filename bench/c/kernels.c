/*
 * kernels.c - kernels launched through libusdaa.so against the same computation
 * in C (-O2) in the same process.
 *
 *   kernels <case> <size> <repeats> <cubin>
 *
 * cases (size in parentheses):
 *   add_cuda  (bytes per vector) add_test, sdLaunchKernel, full grid of 256-thread blocks
 *   add_sdaa  (bytes per vector) add_test, sdaaConfigureCall(1) + sdaaLaunch: one SPE array,
 *                                grid-stride
 *   matmul    (n)  matmul_tiled, n x n floats, 16x16 blocks
 *   reduce    (n)  reduce_sum: per-256-block sums of n floats
 *   branches  (n)  branches: data-dependent loops and branches over n ints
 *
 * Prints (RESULT lines) first_ms (first launch + sync: includes compiling the
 * kernel), kernel_ms and ref_ms (medians of <repeats> launches + syncs and of
 * <repeats> runs of the C reference), kernel_cpu_ms (driver API cases: median of
 * the CPU time the whole process, all its threads, spent per launch + sync) and
 * threads (threads launched).  The result of the card is compared with the
 * reference: a mismatch fails.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>

#include "bench.h"
#include "sdaa.h"
#include "sdaa_runtime.h"

#define MAX_REPEATS 64

/* ---- the C references (noinline: each repeat really runs) ----------------- */

__attribute__((noinline)) static void ref_add(const int *a, const int *b, int *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        c[i] = a[i] + b[i];
}

__attribute__((noinline)) static void ref_matmul(const float *a, const float *b, float *c, int n)
{
    for (int i = 0; i < n; i++) {
        float *row = c + (size_t)i * n;
        for (int j = 0; j < n; j++)
            row[j] = 0.0f;
        for (int k = 0; k < n; k++) {
            float aik = a[(size_t)i * n + k];
            const float *brow = b + (size_t)k * n;
            for (int j = 0; j < n; j++)
                row[j] += aik * brow[j];
        }
    }
}

__attribute__((noinline)) static void ref_reduce(const float *in, float *out, int n)
{
    for (int blk = 0; blk < n / 256; blk++) {
        float s = 0.0f;
        for (int t = 0; t < 256; t++)
            s += in[blk * 256 + t];
        out[blk] = s;
    }
}

__attribute__((noinline)) static void ref_branches(const int *in, int *out, int n)
{
    for (int i = 0; i < n; i++) {
        int v = in[i], acc = 0;
        if (v < 0) {
            out[i] = -1;
            continue;
        }
        for (int k = 0; k < v; ++k) {
            if (k & 1)
                acc += k * 3;
            else
                acc ^= k;
        }
        out[i] = acc > 100 ? acc % 97 : acc * 2;
    }
}

/* ---- one benchmark case ---------------------------------------------------- */

struct bench_case {
    const char *name;
    const char *kernel;
    int repeats;
    /* host data */
    void *in0, *in1, *out, *expect;
    size_t in_bytes, out_bytes;
    unsigned grid[3], block[3];
};

static double g_samples[MAX_REPEATS];
static double g_cpu[MAX_REPEATS];

/* CPU time of the whole process (all its threads) so far, in ms: wall time on a busy
 * machine also counts other processes' turns. */
static double cpu_ms(void)
{
    struct timespec ts;
    BENCH_REQUIRE(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double time_ref(struct bench_case *c, void (*ref)(struct bench_case *))
{
    int r;
    double t;
    ref(c);                             /* warm-up: page faults */
    for (r = 0; r < c->repeats; r++) {
        t = bench_now_ns();
        ref(c);
        g_samples[r] = (bench_now_ns() - t) / 1e6;
    }
    return bench_median(g_samples, c->repeats);
}

/* Driver API: load, copy in, launch + sync repeatedly, copy out. */
static void run_driver(struct bench_case *c, const char *cubin_path, void **kparams_host,
                       int nparams, const int *param_is_ptr)
{
    SDdevice dev;
    SDcontext ctx;
    SDmodule mod;
    SDfunction fn;
    SDdeviceptr d[3] = {0, 0, 0};
    void *params[8];
    int scalars[8];
    void *image = bench_read_file(cubin_path);
    double t;
    int p, r, np = 0;

    BENCH_REQUIRE(image != NULL && nparams <= 8);
    BENCH_CHECK(sdInit(0));
    BENCH_CHECK(sdDeviceGet(&dev, 0));
    BENCH_CHECK(sdCtxCreate(&ctx, 0, dev));
    BENCH_CHECK(sdModuleLoadData(&mod, image));
    BENCH_CHECK(sdModuleGetFunction(&fn, mod, c->kernel));
    BENCH_CHECK(sdMemAlloc(&d[0], c->in_bytes));
    BENCH_CHECK(sdMemcpyHtoD(d[0], c->in0, c->in_bytes));
    if (c->in1) {
        BENCH_CHECK(sdMemAlloc(&d[1], c->in_bytes));
        BENCH_CHECK(sdMemcpyHtoD(d[1], c->in1, c->in_bytes));
    }
    BENCH_CHECK(sdMemAlloc(&d[2], c->out_bytes));
    BENCH_CHECK(sdMemsetD8(d[2], 0xff, c->out_bytes));   /* stale data must not pass */
    /* pointer parameters in order in0, in1 (if any), out; then the scalars */
    for (p = 0; p < nparams; p++) {
        if (param_is_ptr[p]) {
            while (d[np] == 0)
                np++;
            params[p] = &d[np++];
        } else {
            scalars[p] = *(int *)kparams_host[p];
            params[p] = &scalars[p];
        }
    }
    t = bench_now_ns();
    BENCH_CHECK(sdLaunchKernel(fn, c->grid[0], c->grid[1], c->grid[2], c->block[0], c->block[1],
                               c->block[2], 0, 0, params, NULL));
    BENCH_CHECK(sdCtxSynchronize());
    bench_result("first_ms", (bench_now_ns() - t) / 1e6);
    for (r = 0; r < c->repeats; r++) {
        double c0 = cpu_ms();
        t = bench_now_ns();
        BENCH_CHECK(sdLaunchKernel(fn, c->grid[0], c->grid[1], c->grid[2], c->block[0],
                                   c->block[1], c->block[2], 0, 0, params, NULL));
        BENCH_CHECK(sdCtxSynchronize());
        g_samples[r] = (bench_now_ns() - t) / 1e6;
        g_cpu[r] = cpu_ms() - c0;
    }
    bench_result("kernel_ms", bench_median(g_samples, c->repeats));
    bench_result("kernel_cpu_ms", bench_median(g_cpu, c->repeats));
    bench_result("threads", (double)c->grid[0] * c->grid[1] * c->grid[2] * c->block[0] *
                                c->block[1] * c->block[2]);
    BENCH_CHECK(sdMemcpyDtoH(c->out, d[2], c->out_bytes));
    for (p = 0; p < 3; p++)
        if (d[p])
            BENCH_CHECK(sdMemFree(d[p]));
    BENCH_CHECK(sdModuleUnload(mod));
    BENCH_CHECK(sdCtxDestroy(ctx));
    free(image);
}

/* Runtime API, SDAA array shape: sdaaConfigureCall(1) = one block of 32 SPE threads. */
static void run_runtime_add(struct bench_case *c, const char *cubin_path, int n)
{
    struct { void *a, *b; } fbin;
    void **handle;
    void *da, *db, *dc;
    void *image = bench_read_file(cubin_path);
    double t;
    int r;

    BENCH_REQUIRE(image != NULL);
    BENCH_CHECK(sdaaSetDevice(0));
    fbin.a = NULL;
    fbin.b = image;
    handle = __sdaaRegisterFatBinary(&fbin);
    BENCH_REQUIRE(handle != NULL);
    __sdaaRegisterFunction(handle, "add_test");
    BENCH_CHECK(sdaaMalloc(&da, c->in_bytes));
    BENCH_CHECK(sdaaMalloc(&db, c->in_bytes));
    BENCH_CHECK(sdaaMalloc(&dc, c->out_bytes));
    BENCH_CHECK(sdaaMemcpy(da, c->in0, c->in_bytes, sdaaMemcpyHostToDevice));
    BENCH_CHECK(sdaaMemcpy(db, c->in1, c->in_bytes, sdaaMemcpyHostToDevice));
    BENCH_CHECK(sdaaMemset(dc, 0xff, c->out_bytes));
    for (r = -1; r < c->repeats; r++) {
        t = bench_now_ns();
        BENCH_CHECK(sdaaConfigureCall(1));
        BENCH_CHECK(sdaaSetupArgument(&da, sizeof da, 0));
        BENCH_CHECK(sdaaSetupArgument(&db, sizeof db, 8));
        BENCH_CHECK(sdaaSetupArgument(&dc, sizeof dc, 16));
        BENCH_CHECK(sdaaSetupArgument(&n, sizeof n, 24));
        BENCH_CHECK(sdaaLaunch("add_test"));
        BENCH_CHECK(sdaaDeviceSynchronize());
        if (r < 0)
            bench_result("first_ms", (bench_now_ns() - t) / 1e6);
        else
            g_samples[r] = (bench_now_ns() - t) / 1e6;
    }
    bench_result("kernel_ms", bench_median(g_samples, c->repeats));
    bench_result("threads", 32);
    BENCH_CHECK(sdaaMemcpy(c->out, dc, c->out_bytes, sdaaMemcpyDeviceToHost));
    BENCH_CHECK(sdaaFree(dc));
    BENCH_CHECK(sdaaFree(db));
    BENCH_CHECK(sdaaFree(da));
    __sdaaUnregisterFatBinary(handle);
    free(image);
}

static size_t g_n;

static void call_add(struct bench_case *c) { ref_add(c->in0, c->in1, c->expect, g_n); }
static void call_matmul(struct bench_case *c) { ref_matmul(c->in0, c->in1, c->expect, (int)g_n); }
static void call_reduce(struct bench_case *c) { ref_reduce(c->in0, c->expect, (int)g_n); }
static void call_branches(struct bench_case *c) { ref_branches(c->in0, c->expect, (int)g_n); }

int main(int argc, char **argv)
{
    struct bench_case c;
    const char *name, *cubin;
    unsigned long size;
    size_t i;
    int n;

    if (argc != 5) {
        fprintf(stderr, "usage: kernels <add_cuda|add_sdaa|matmul|reduce|branches> <size> <repeats> <cubin>\n");
        return 2;
    }
    memset(&c, 0, sizeof c);
    name = argv[1];
    size = strtoul(argv[2], NULL, 0);
    c.repeats = atoi(argv[3]);
    cubin = argv[4];
    BENCH_REQUIRE(c.repeats > 0 && c.repeats <= MAX_REPEATS && size > 0);
    c.grid[1] = c.grid[2] = c.block[1] = c.block[2] = 1;

    if (!strcmp(name, "add_cuda") || !strcmp(name, "add_sdaa")) {
        int *a, *b;
        BENCH_REQUIRE(size % 4 == 0 && size / 4 <= 0x7fffffffUL);
        g_n = size / 4;
        n = (int)g_n;
        c.kernel = "add_test";
        c.in_bytes = c.out_bytes = size;
        c.in0 = a = malloc(size);
        c.in1 = b = malloc(size);
        c.out = malloc(size);
        c.expect = malloc(size);
        BENCH_REQUIRE(a && b && c.out && c.expect);
        for (i = 0; i < g_n; i++) {
            a[i] = (int)i;
            b[i] = (int)(2 * i);
        }
        bench_result("ref_ms", time_ref(&c, call_add));
        if (name[4] == 'c') {
            void *kp[4] = {NULL, NULL, NULL, &n};
            const int is_ptr[4] = {1, 1, 1, 0};
            c.grid[0] = (unsigned)((g_n + 255) / 256);
            c.block[0] = 256;
            run_driver(&c, cubin, kp, 4, is_ptr);
        } else {
            run_runtime_add(&c, cubin, n);
        }
        BENCH_REQUIRE(memcmp(c.out, c.expect, size) == 0);
    } else if (!strcmp(name, "matmul")) {
        float *a, *b;
        BENCH_REQUIRE(size % 16 == 0 && size <= 8192);
        g_n = size;
        n = (int)size;
        c.kernel = "matmul_tiled";
        c.in_bytes = c.out_bytes = size * size * sizeof(float);
        c.in0 = a = malloc(c.in_bytes);
        c.in1 = b = malloc(c.in_bytes);
        c.out = malloc(c.out_bytes);
        c.expect = malloc(c.out_bytes);
        BENCH_REQUIRE(a && b && c.out && c.expect);
        /* small integers: every partial sum is exact, so any summation order matches */
        for (i = 0; i < size * size; i++) {
            a[i] = (float)((int)(i % 7) - 3);
            b[i] = (float)((int)(i % 5) - 2);
        }
        bench_result("ref_ms", time_ref(&c, call_matmul));
        {
            void *kp[6] = {NULL, NULL, NULL, &n, &n, &n};
            const int is_ptr[6] = {1, 1, 1, 0, 0, 0};
            c.grid[0] = c.grid[1] = (unsigned)(size / 16);
            c.block[0] = c.block[1] = 16;
            run_driver(&c, cubin, kp, 6, is_ptr);
        }
        BENCH_REQUIRE(memcmp(c.out, c.expect, c.out_bytes) == 0);
    } else if (!strcmp(name, "reduce")) {
        float *in;
        BENCH_REQUIRE(size % 256 == 0 && size <= 0x7fffffffUL);
        g_n = size;
        n = (int)size;
        c.kernel = "reduce_sum";
        c.in_bytes = size * sizeof(float);
        c.out_bytes = size / 256 * sizeof(float);
        c.in0 = in = malloc(c.in_bytes);
        c.out = malloc(c.out_bytes);
        c.expect = malloc(c.out_bytes);
        BENCH_REQUIRE(in && c.out && c.expect);
        for (i = 0; i < size; i++)
            in[i] = (float)((int)(i % 13) - 6);          /* exact sums in any order */
        bench_result("ref_ms", time_ref(&c, call_reduce));
        {
            void *kp[3] = {NULL, NULL, &n};
            const int is_ptr[3] = {1, 1, 0};
            c.grid[0] = (unsigned)(size / 256);
            c.block[0] = 256;
            run_driver(&c, cubin, kp, 3, is_ptr);
        }
        BENCH_REQUIRE(memcmp(c.out, c.expect, c.out_bytes) == 0);
    } else if (!strcmp(name, "branches")) {
        int *in;
        BENCH_REQUIRE(size <= 0x7fffffffUL / 4);
        g_n = size;
        n = (int)size;
        c.kernel = "branches";
        c.in_bytes = c.out_bytes = size * sizeof(int);
        c.in0 = in = malloc(c.in_bytes);
        c.out = malloc(c.out_bytes);
        c.expect = malloc(c.out_bytes);
        BENCH_REQUIRE(in && c.out && c.expect);
        /* neighbours differ: lanes of one warp take different paths and trip counts */
        for (i = 0; i < size; i++)
            in[i] = (int)((i * 37) % 80) - 10;
        bench_result("ref_ms", time_ref(&c, call_branches));
        {
            void *kp[3] = {NULL, NULL, &n};
            const int is_ptr[3] = {1, 1, 0};
            c.grid[0] = (unsigned)((size + 255) / 256);
            c.block[0] = 256;
            run_driver(&c, cubin, kp, 3, is_ptr);
        }
        BENCH_REQUIRE(memcmp(c.out, c.expect, c.out_bytes) == 0);
    } else {
        fprintf(stderr, "kernels: unknown case %s\n", name);
        return 2;
    }
    bench_result("checked", 1);
    free(c.in0);
    free(c.in1);
    free(c.out);
    free(c.expect);
    return 0;
}
