/*
 * loop.c - a kernel that loops: each thread runs `count` dependent steps.
 *
 *   loop [-d<dev>] [-f<busy.cubin>] [-n<count>]     (default -d0 -n1000)
 *
 * Launches loop(out, count, N) through sdLaunchKernel with kernelParams,
 * once with one thread per element and once with fewer threads than elements
 * (the kernel strides), plus count 0 (no iterations: out[i] = i); every
 * element is checked against the host's value of the same recurrence.
 */
#include "suite.h"

#define N 2048
#define BLOCK 128

static uint32_t out[N];

static void run(SDfunction f, SDdeviceptr dout, uint32_t count, unsigned int grid)
{
    uint32_t n = N, i;
    void *params[3];
    params[0] = &dout;
    params[1] = &count;
    params[2] = &n;
    CHECK(sdMemsetD32(dout, 0xdeadbeefu, N));
    CHECK(sdLaunchKernel(f, grid, 1, 1, BLOCK, 1, 1, 0, NULL, params, NULL));
    CHECK(sdMemcpyDtoH(out, dout, sizeof(out)));
    for (i = 0; i < N; i++) {
        if (out[i] != tu_lcg(i, count)) {
            printf("Test failed: count %u, grid %u: out[%u] = %u, expected %u\n", count, grid, i, out[i],
                   tu_lcg(i, count));
            exit(1);
        }
    }
}

int main(int argc, char **argv)
{
    struct suite_opts o = { 0, "busy.cubin", 1000 };
    SDcontext ctx;
    SDmodule mod;
    SDfunction f;
    SDdeviceptr dout;

    suite_options(argc, argv, &o);
    if (o.size > 0xffffffffUL)
        suite_fail("-n must fit 32 bits");
    ctx = suite_context(o.dev, 0);
    f = suite_function(&mod, o.image, "loop");
    CHECK(sdMemAlloc(&dout, sizeof(out)));
    run(f, dout, (uint32_t)o.size, N / BLOCK);
    run(f, dout, (uint32_t)o.size + 3, 3);      /* 384 threads for 2048 elements */
    run(f, dout, 0, N / BLOCK);
    CHECK(sdMemFree(dout));
    CHECK(sdModuleUnload(mod));
    CHECK(sdCtxDestroy(ctx));
    printf("Test passed: %lu iterations per thread\n", o.size);
    return 0;
}
