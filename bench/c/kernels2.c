/*
 * kernels2.c - eight kernel classes (the .cu files of bench/cuda) launched through the
 * driver API of libusdaa.so, each against a C twin: the same algorithm run
 * sequentially (-O2) in the same process.
 *
 *   kernels2 <repeats> [<case> <size> <cubin>]...
 *
 * cases (size in parentheses):
 *   saxpy        (n)       saxpy_stride: out = a*x + y, 1024 blocks of 256 threads striding over n
 *   reduce_tree  (n)       reduce_tree512: per-1024-element sums, 512-thread blocks, shared tree
 *   reduce_shfl  (n)       reduce_shfl: per-256-element int sums, __shfl_down_sync trees
 *   histogram    (n)       histogram256: 256 bins of n bytes, shared-memory atomics, 256x256 threads
 *   bitonic      (blocks)  bitonic_sort1024: each 1024-thread block sorts 1024 ints
 *   scan         (blocks)  scan_hillis_steele1024: inclusive scan of each 1024-int block
 *   stencil      (side)    stencil5: 5-point stencil on side x side floats, 16x16 blocks
 *   matmul       (n)       matmul16: n x n floats, 16x16 tiles
 *
 * Every case prints RESULT lines keyed <case>.<what>: ref_ms (median of <repeats> runs
 * of the twin), first_ms (the process's first launch + sync of that kernel: with the
 * kernel's compilation), settle_launches and settle_excess_ms (see below), kernel_ms
 * (median of <repeats> launches + syncs), kernel_cpu_ms (median of the CPU time the
 * process spent, all its threads, in each of them: on a busy machine steadier than the
 * wall clock), ref_alone_ms (median of <repeats> runs of the twin back to back, before
 * the module is loaded), threads, digest
 * (sum over the result's 32-bit words w[i] * (2i + 1), mod 2^32: lets a test check
 * the result independently), checked (the card's result equals the twin's; a
 * mismatch fails the program) and, first of all, data_kb (what the case holds:
 * host inputs, output and twin output, device inputs and output).  Last,
 * maxrss_kb: the peak resident set of the process (with no case: of the runtime
 * alone, initialised with a context).
 * Inputs are small integers, so every float result is exact in any summation order.
 *
 * The JIT first runs a kernel's quick code while a background thread builds its optimised
 * code (GDEV_JIT_TIER).  With KERNELS2_SETTLE_MS=<ms> in the environment, the launches after
 * the first keep going for that long before the <repeats> that give the steady state, so it
 * is the optimised code's; settle_excess_ms is what those launches took beyond the steady
 * state (the quick code's cost, the compiler's competition for the cores included).
 *
 * The twin's and the kernel's <repeats> timed runs alternate (twin then kernel, then
 * kernel then twin, ...), so that a machine whose load changes during the run (other
 * processes sharing its cores) weighs on both medians alike, and their ratio holds.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <sys/resource.h>
#include <time.h>

#include "bench.h"
#include "sdaa.h"

#define MAX_REPEATS 64
#define MAX_SETTLE 100000
#define MAX_ARGS 6

struct job {
    const char *name;
    const char *kernel;
    /* host inputs and their device copies; the output and the twin's output */
    void *in[2];
    size_t in_bytes[2];
    SDdeviceptr d_in[2];
    void *out, *expect;
    size_t out_bytes;
    SDdeviceptr d_out;
    /* kernel arguments: args[i] points at the value (d_in/d_out fields or the scalars) */
    void *args[MAX_ARGS];
    int n, w;
    float a;
    unsigned grid[3], block[3];
    /* the histogram's bins accumulate over launches: the twin counts one launch */
    int accumulates;
    void (*twin)(struct job *);
};

static double g_samples[MAX_REPEATS];

/* CPU time of the whole process (all its threads) so far, in ms. */
static double cpu_ms(void)
{
    struct timespec ts;
    BENCH_REQUIRE(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void *alloc_or_die(size_t bytes)
{
    void *p = malloc(bytes);
    BENCH_REQUIRE(p != NULL);
    return p;
}

/* Knuth's multiplicative hash: scattered but reproducible inputs. */
static uint32_t mix(uint32_t i)
{
    return i * 2654435761u;
}

/* ---- the C twins (noinline: each repeat really runs) ------------------------- */

__attribute__((noinline)) static void twin_saxpy(struct job *j)
{
    const float *x = j->in[0], *y = j->in[1];
    float *out = j->expect;
    for (int i = 0; i < j->n; i++)
        out[i] = j->a * x[i] + y[i];
}

__attribute__((noinline)) static void twin_reduce_tree(struct job *j)
{
    float buf[512];
    const float *in = j->in[0];
    float *out = j->expect;
    for (int blk = 0; blk < j->n / 1024; blk++) {
        const float *chunk = in + (size_t)blk * 1024;
        for (int t = 0; t < 512; t++)
            buf[t] = chunk[t] + chunk[t + 512];
        for (int s = 256; s > 0; s >>= 1)
            for (int t = 0; t < s; t++)
                buf[t] += buf[t + s];
        out[blk] = buf[0];
    }
}

/* One warp's __shfl_down_sync tree; lane 0 ends with the sum. */
static int twin_warp_sum(int *v)
{
    for (int offset = 16; offset > 0; offset >>= 1)
        for (int lane = 0; lane + offset < 32; lane++)      /* reads lanes not yet updated */
            v[lane] += v[lane + offset];
    return v[0];
}

__attribute__((noinline)) static void twin_reduce_shfl(struct job *j)
{
    int lanes[32], warp_sums[32];
    const int *in = j->in[0];
    int *out = j->expect;
    for (int blk = 0; blk < j->n / 256; blk++) {
        for (int warp = 0; warp < 8; warp++) {
            memcpy(lanes, in + (size_t)blk * 256 + warp * 32, sizeof lanes);
            warp_sums[warp] = twin_warp_sum(lanes);
        }
        memset(warp_sums + 8, 0, 24 * sizeof(int));
        out[blk] = twin_warp_sum(warp_sums);
    }
}

__attribute__((noinline)) static void twin_histogram(struct job *j)
{
    const unsigned char *data = j->in[0];
    unsigned *bins = j->expect, local[256];
    size_t threads = (size_t)j->block[0] * j->grid[0], n = (size_t)j->n;
    memset(bins, 0, 256 * sizeof *bins);
    for (unsigned blk = 0; blk < j->grid[0]; blk++) {
        memset(local, 0, sizeof local);
        /* the block's grid-stride share, a contiguous run of block[0] bytes per round */
        for (size_t base = (size_t)blk * j->block[0]; base < n; base += threads)
            for (size_t i = base; i < base + j->block[0] && i < n; i++)
                local[data[i]]++;
        for (int b = 0; b < 256; b++)
            bins[b] += local[b];
    }
}

__attribute__((noinline)) static void twin_bitonic(struct job *j)
{
    int *s = j->expect;
    memcpy(s, j->in[0], j->out_bytes);                   /* sorted in place, block by block */
    for (int blk = 0; blk < j->n; blk++, s += 1024)
        for (unsigned k = 2; k <= 1024; k <<= 1)
            for (unsigned jj = k >> 1; jj > 0; jj >>= 1)
                for (unsigned t = 0; t < 1024; t++) {
                    unsigned partner = t ^ jj;
                    int a = s[t], b = s[partner];
                    if (partner > t && (a > b) == ((t & k) == 0)) {
                        s[t] = b;
                        s[partner] = a;
                    }
                }
}

__attribute__((noinline)) static void twin_scan(struct job *j)
{
    int buf[2][1024];
    const int *in = j->in[0];
    int *out = j->expect;
    for (int blk = 0; blk < j->n; blk++) {
        int cur = 0;
        memcpy(buf[0], in + (size_t)blk * 1024, sizeof buf[0]);
        for (int offset = 1; offset < 1024; offset <<= 1) {
            for (int t = 0; t < 1024; t++)
                buf[1 - cur][t] = buf[cur][t] + (t >= offset ? buf[cur][t - offset] : 0);
            cur = 1 - cur;
        }
        memcpy(out + (size_t)blk * 1024, buf[cur], sizeof buf[cur]);
    }
}

static float twin_cell(const float *in, int w, int x, int y)
{
    return (x >= 0 && x < w && y >= 0 && y < w) ? in[(size_t)y * w + x] : 0.0f;
}

__attribute__((noinline)) static void twin_stencil(struct job *j)
{
    const float *in = j->in[0];
    float *out = j->expect;
    int w = j->w;
    for (int y = 0; y < w; y++)
        for (int x = 0; x < w; x++)
            out[(size_t)y * w + x] = 4.0f * in[(size_t)y * w + x] - twin_cell(in, w, x, y - 1)
                                     - twin_cell(in, w, x, y + 1) - twin_cell(in, w, x - 1, y)
                                     - twin_cell(in, w, x + 1, y);
}

/* Row by row, k ascending: each output sums its products in the kernel's order. */
__attribute__((noinline)) static void twin_matmul(struct job *j)
{
    const float *a = j->in[0], *b = j->in[1];
    float *c = j->expect;
    int n = j->n;
    for (int i = 0; i < n; i++) {
        float *row = c + (size_t)i * n;
        memset(row, 0, (size_t)n * sizeof *row);
        for (int k = 0; k < n; k++) {
            float aik = a[(size_t)i * n + k];
            const float *brow = b + (size_t)k * n;
            for (int x = 0; x < n; x++)
                row[x] += aik * brow[x];
        }
    }
}

/* ---- the cases: inputs, launch shape, arguments ------------------------------ */

static void *new_input(struct job *j, int which, size_t bytes)
{
    j->in_bytes[which] = bytes;
    return j->in[which] = alloc_or_die(bytes);
}

static void set_shape(struct job *j, unsigned gx, unsigned gy, unsigned bx, unsigned by)
{
    j->grid[0] = gx;
    j->grid[1] = gy;
    j->grid[2] = 1;
    j->block[0] = bx;
    j->block[1] = by;
    j->block[2] = 1;
}

static void setup_saxpy(struct job *j, unsigned long size)
{
    float *x, *y;
    BENCH_REQUIRE(size <= 0x7fffffffUL / 4);
    x = new_input(j, 0, size * sizeof(float));
    y = new_input(j, 1, size * sizeof(float));
    for (size_t i = 0; i < size; i++) {
        x[i] = (float)((int)(i % 2001) - 1000);
        y[i] = (float)(i % 17);
    }
    j->n = (int)size;
    j->a = 3.0f;
    j->kernel = "saxpy_stride";
    j->out_bytes = size * sizeof(float);
    set_shape(j, 1024, 1, 256, 1);
    j->args[0] = &j->n;
    j->args[1] = &j->a;
    j->args[2] = &j->d_in[0];
    j->args[3] = &j->d_in[1];
    j->args[4] = &j->d_out;
    j->twin = twin_saxpy;
}

static void setup_reduce_tree(struct job *j, unsigned long size)
{
    float *in;
    BENCH_REQUIRE(size % 1024 == 0 && size <= 0x7fffffffUL / 4);
    in = new_input(j, 0, size * sizeof(float));
    for (size_t i = 0; i < size; i++)
        in[i] = (float)((int)(i % 13) - 6);
    j->n = (int)size;
    j->kernel = "reduce_tree512";
    j->out_bytes = size / 1024 * sizeof(float);
    set_shape(j, (unsigned)(size / 1024), 1, 512, 1);
    j->args[0] = &j->d_in[0];
    j->args[1] = &j->d_out;
    j->twin = twin_reduce_tree;
}

static void setup_reduce_shfl(struct job *j, unsigned long size)
{
    int *in;
    BENCH_REQUIRE(size % 256 == 0 && size <= 0x7fffffffUL / 4);
    in = new_input(j, 0, size * sizeof(int));
    for (size_t i = 0; i < size; i++)
        in[i] = (int)(mix((uint32_t)i) >> 20) - 2048;
    j->n = (int)size;
    j->kernel = "reduce_shfl";
    j->out_bytes = size / 256 * sizeof(int);
    set_shape(j, (unsigned)(size / 256), 1, 256, 1);
    j->args[0] = &j->d_in[0];
    j->args[1] = &j->d_out;
    j->twin = twin_reduce_shfl;
}

static void setup_histogram(struct job *j, unsigned long size)
{
    unsigned char *data;
    BENCH_REQUIRE(size <= 0x7fffffffUL);
    data = new_input(j, 0, size);
    /* every eighth byte hits one bin: lanes of a warp collide on its atomics */
    for (size_t i = 0; i < size; i++)
        data[i] = i % 8 == 0 ? 7 : (unsigned char)(mix((uint32_t)i) >> 24);
    j->n = (int)size;
    j->kernel = "histogram256";
    j->out_bytes = 256 * sizeof(unsigned);
    j->accumulates = 1;
    set_shape(j, 256, 1, 256, 1);
    j->args[0] = &j->d_in[0];
    j->args[1] = &j->n;
    j->args[2] = &j->d_out;
    j->twin = twin_histogram;
}

static void setup_bitonic(struct job *j, unsigned long size)
{
    int *in;
    BENCH_REQUIRE(size <= 0x10000);
    in = new_input(j, 0, size * 1024 * sizeof(int));
    /* a narrow range: duplicates and negative values in every block */
    for (size_t i = 0; i < size * 1024; i++)
        in[i] = (int)(mix((uint32_t)i) >> 22) - 512;
    j->n = (int)size;
    j->kernel = "bitonic_sort1024";
    j->out_bytes = j->in_bytes[0];
    set_shape(j, (unsigned)size, 1, 1024, 1);
    j->args[0] = &j->d_in[0];
    j->args[1] = &j->d_out;
    j->twin = twin_bitonic;
}

static void setup_scan(struct job *j, unsigned long size)
{
    int *in;
    BENCH_REQUIRE(size <= 0x10000);
    in = new_input(j, 0, size * 1024 * sizeof(int));
    for (size_t i = 0; i < size * 1024; i++)
        in[i] = (int)(i % 7) - 3;
    j->n = (int)size;
    j->kernel = "scan_hillis_steele1024";
    j->out_bytes = j->in_bytes[0];
    set_shape(j, (unsigned)size, 1, 1024, 1);
    j->args[0] = &j->d_in[0];
    j->args[1] = &j->d_out;
    j->twin = twin_scan;
}

static void setup_stencil(struct job *j, unsigned long size)
{
    float *in;
    BENCH_REQUIRE(size <= 16384);
    in = new_input(j, 0, size * size * sizeof(float));
    for (size_t y = 0; y < size; y++)
        for (size_t x = 0; x < size; x++)
            in[y * size + x] = (float)((int)((x * 7 + y * 13) % 19) - 9);
    j->w = (int)size;
    j->kernel = "stencil5";
    j->out_bytes = j->in_bytes[0];
    set_shape(j, (unsigned)((size + 15) / 16), (unsigned)((size + 15) / 16), 16, 16);
    j->args[0] = &j->d_in[0];
    j->args[1] = &j->d_out;
    j->args[2] = &j->w;
    j->args[3] = &j->w;
    j->twin = twin_stencil;
}

static void setup_matmul(struct job *j, unsigned long size)
{
    size_t cells = size * size;
    float *a, *b;
    BENCH_REQUIRE(size % 16 == 0 && size <= 8192);
    a = new_input(j, 0, cells * sizeof(float));
    b = new_input(j, 1, cells * sizeof(float));
    for (size_t i = 0; i < cells; i++) {
        a[i] = (float)((int)(i % 7) - 3);
        b[i] = (float)((int)(i % 5) - 2);
    }
    j->n = (int)size;
    j->kernel = "matmul16";
    j->out_bytes = cells * sizeof(float);
    set_shape(j, (unsigned)(size / 16), (unsigned)(size / 16), 16, 16);
    j->args[0] = &j->d_in[0];
    j->args[1] = &j->d_in[1];
    j->args[2] = &j->d_out;
    j->args[3] = &j->n;
    j->twin = twin_matmul;
}

static const struct {
    const char *name;
    void (*setup)(struct job *, unsigned long);
} CASES[] = {
    {"saxpy", setup_saxpy},     {"reduce_tree", setup_reduce_tree},
    {"reduce_shfl", setup_reduce_shfl}, {"histogram", setup_histogram},
    {"bitonic", setup_bitonic}, {"scan", setup_scan},
    {"stencil", setup_stencil}, {"matmul", setup_matmul},
};

/* ---- running one case -------------------------------------------------------- */

static void result(const struct job *j, const char *what, double value)
{
    char key[64];
    snprintf(key, sizeof key, "%s.%s", j->name, what);
    bench_result(key, value);
}

static void result_u32(const struct job *j, const char *what, uint32_t value)
{
    printf("RESULT %s.%s %u\n", j->name, what, value);   /* every digit: a test compares it */
    fflush(stdout);
}

static double twin_ms(struct job *j)
{
    double t = bench_now_ns();
    j->twin(j);
    return (bench_now_ns() - t) / 1e6;
}

static double time_twin(struct job *j, int repeats)
{
    j->twin(j);                                          /* warm-up: page faults */
    for (int r = 0; r < repeats; r++)
        g_samples[r] = twin_ms(j);
    return bench_median(g_samples, repeats);
}

static double launch_sync_ms(const struct job *j, SDfunction fn)
{
    double t = bench_now_ns();
    BENCH_CHECK(sdLaunchKernel(fn, j->grid[0], j->grid[1], j->grid[2], j->block[0], j->block[1],
                               j->block[2], 0, 0, (void **)j->args, NULL));
    BENCH_CHECK(sdCtxSynchronize());
    return (bench_now_ns() - t) / 1e6;
}

static double g_twin[MAX_REPEATS];
static double g_settle[MAX_SETTLE];

/* Launches for KERNELS2_SETTLE_MS (0 if unset) after the first; how many ran. */
static int settle(const struct job *j, SDfunction fn)
{
    const char *text = getenv("KERNELS2_SETTLE_MS");
    double budget = text ? atof(text) : 0.0, start = bench_now_ns();
    int n = 0;
    while (n < MAX_SETTLE && (bench_now_ns() - start) / 1e6 < budget)
        g_settle[n++] = launch_sync_ms(j, fn);
    return n;
}

/* What the settling launches took beyond `steady` each. */
static double settle_excess(int n, double steady)
{
    double excess = 0;
    for (int i = 0; i < n; i++)
        excess += g_settle[i] > steady ? g_settle[i] - steady : 0;
    return excess;
}

static void to_device(struct job *j)
{
    for (int i = 0; i < 2; i++) {
        if (!j->in[i])
            continue;
        BENCH_CHECK(sdMemAlloc(&j->d_in[i], j->in_bytes[i]));
        BENCH_CHECK(sdMemcpyHtoD(j->d_in[i], j->in[i], j->in_bytes[i]));
    }
    BENCH_CHECK(sdMemAlloc(&j->d_out, j->out_bytes));
    /* bins start at zero; any other output starts as garbage, so stale data cannot pass */
    BENCH_CHECK(sdMemsetD8(j->d_out, j->accumulates ? 0 : 0xff, j->out_bytes));
}

static uint32_t digest(const void *data, size_t bytes)
{
    const uint32_t *w = data;
    uint32_t sum = 0;
    for (size_t i = 0; i < bytes / 4; i++)
        sum += w[i] * (uint32_t)(2 * i + 1);
    return sum;
}

/* The card's result against the twin's; the bins hold `launches` launches' counts. */
static void check(struct job *j, int launches)
{
    if (j->accumulates) {
        unsigned *bins = j->expect;
        for (size_t b = 0; b < j->out_bytes / sizeof *bins; b++)
            bins[b] *= (unsigned)launches;
    }
    BENCH_REQUIRE(memcmp(j->out, j->expect, j->out_bytes) == 0);
    result_u32(j, "digest", digest(j->out, j->out_bytes));
    result(j, "checked", 1);
}

static void free_job(struct job *j)
{
    for (int i = 0; i < 2; i++) {
        if (j->d_in[i])
            BENCH_CHECK(sdMemFree(j->d_in[i]));
        free(j->in[i]);
    }
    BENCH_CHECK(sdMemFree(j->d_out));
    free(j->out);
    free(j->expect);
}

static void run_case(struct job *j, int repeats, const char *cubin_path)
{
    SDmodule mod;
    SDfunction fn;
    void *image = bench_read_file(cubin_path);

    BENCH_REQUIRE(image != NULL);
    result(j, "data_kb", (2.0 * (j->in_bytes[0] + j->in_bytes[1]) + 3.0 * j->out_bytes) / 1024);
    j->out = alloc_or_die(j->out_bytes);
    j->expect = alloc_or_die(j->out_bytes);
    double alone = time_twin(j, repeats);
    double t_load = bench_now_ns();
    BENCH_CHECK(sdModuleLoadData(&mod, image));     /* kernels are compiled here */
    result(j, "load_ms", (bench_now_ns() - t_load) / 1e6);
    BENCH_CHECK(sdModuleGetFunction(&fn, mod, j->kernel));
    to_device(j);
    result(j, "first_ms", launch_sync_ms(j, fn));
    int settled = settle(j, fn);
    double cpu[MAX_REPEATS];
    for (int r = 0; r < repeats; r++) {                  /* alternating: see the top */
        if (r % 2 == 0)
            g_twin[r] = twin_ms(j);
        double c0 = cpu_ms();
        g_samples[r] = launch_sync_ms(j, fn);
        cpu[r] = cpu_ms() - c0;
        if (r % 2 == 1)
            g_twin[r] = twin_ms(j);
    }
    double steady = bench_median(g_samples, repeats);
    result(j, "kernel_cpu_ms", bench_median(cpu, repeats));
    result(j, "ref_ms", bench_median(g_twin, repeats));
    result(j, "ref_alone_ms", alone);
    result(j, "settle_launches", settled);
    result(j, "settle_excess_ms", settle_excess(settled, steady));
    result(j, "kernel_ms", steady);
    result(j, "threads", (double)j->grid[0] * j->grid[1] * j->grid[2] * j->block[0] * j->block[1] *
                             j->block[2]);
    BENCH_CHECK(sdMemcpyDtoH(j->out, j->d_out, j->out_bytes));
    check(j, repeats + 1 + settled);
    free_job(j);
    BENCH_CHECK(sdModuleUnload(mod));
    free(image);
}

static int setup(struct job *j, const char *name, unsigned long size)
{
    memset(j, 0, sizeof *j);
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        if (!strcmp(name, CASES[i].name)) {
            j->name = CASES[i].name;
            BENCH_REQUIRE(size > 0);
            CASES[i].setup(j, size);
            return 0;
        }
    }
    return -1;
}

int main(int argc, char **argv)
{
    SDdevice dev;
    SDcontext ctx;
    struct rusage usage;
    struct job j;
    int repeats;

    if (argc < 2 || (argc - 2) % 3 != 0) {
        fprintf(stderr, "usage: kernels2 <repeats> [<case> <size> <cubin>]...\n");
        return 2;
    }
    repeats = atoi(argv[1]);
    BENCH_REQUIRE(repeats > 0 && repeats <= MAX_REPEATS);
    BENCH_CHECK(sdInit(0));
    BENCH_CHECK(sdDeviceGet(&dev, 0));
    BENCH_CHECK(sdCtxCreate(&ctx, 0, dev));
    for (int a = 2; a + 2 < argc; a += 3) {
        if (setup(&j, argv[a], strtoul(argv[a + 1], NULL, 0)) != 0) {
            fprintf(stderr, "kernels2: unknown case %s\n", argv[a]);
            return 2;
        }
        run_case(&j, repeats, argv[a + 2]);
    }
    BENCH_CHECK(sdCtxDestroy(ctx));
    BENCH_REQUIRE(getrusage(RUSAGE_SELF, &usage) == 0);
    bench_result("maxrss_kb", (double)usage.ru_maxrss);
    return 0;
}
