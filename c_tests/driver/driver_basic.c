/*
 * driver_basic.c - the SDAA driver API end to end.
 *
 *   driver_basic <add_test.cubin>
 *
 * Devices, attributes, the context stack, modules, memory, every launch form
 * (sdLaunchKernel with kernelParams and with extra, sdLaunchGrid, sdLaunch),
 * and the error codes of bad input, after which the API must still work.
 * Prints "Test passed" and exits 0, or "Test failed: <why>" and exits 1.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdaa.h"
#include "testutil.h"

#define N 1000                  /* elements; not a multiple of any block size */
#define BLOCK 64

/* A call that must succeed. */
#define CHECK(call) expect((call), SDAA_SUCCESS, #call, __LINE__)
/* A call that must fail with a given code. */
#define EXPECT(call, code) expect((call), (code), #call, __LINE__)

static void expect(SDresult got, SDresult want, const char *what, int line)
{
    if (got != want) {
        printf("Test failed: line %d: %s returned %d, expected %d\n", line, what, (int)got, (int)want);
        exit(1);
    }
}

static int ha[N], hb[N], hc[N];

static void clear_result(SDdeviceptr dc)
{
    int i;
    /* A pattern the kernel never produces, so a skipped launch shows. */
    CHECK(sdMemsetD32(dc, 0xdeadbeefu, N));
    for (i = 0; i < N; i++)
        hc[i] = 0;
}

static void verify_sum(SDdeviceptr dc, const char *launch)
{
    int i;
    CHECK(sdMemcpyDtoH(hc, dc, sizeof(hc)));
    for (i = 0; i < N; i++) {
        if (hc[i] != ha[i] + hb[i]) {
            printf("Test failed: after %s: c[%d]=%d, expected %d\n", launch, i, hc[i], ha[i] + hb[i]);
            exit(1);
        }
    }
}

int main(int argc, char **argv)
{
    int count = 0, version = 0, value = 0, major = -1, minor = -1, i;
    int n = N;
    SDdevice dev, other, dev_of_ctx;
    char name[256];
    size_t total = 0, free_mem = 0, total_mem = 0;
    SDdevprop prop;
    SDcontext ctx, ctx2, cur;
    SDmodule mod, bad_mod;
    SDfunction f, missing;
    SDdeviceptr da, db, dc, scratch, never = 0;
    unsigned long long phys = 0, phys_b = 0;
    void *params[4];
    unsigned char packed[28];
    size_t packed_size = sizeof(packed);
    void *extra[5];
    unsigned char bytes[64];
    unsigned char garbage[64];
    unsigned int words[N];
    unsigned int grid = (N + BLOCK - 1) / BLOCK;

    if (argc < 2) {
        printf("Test failed: usage: driver_basic <add_test.cubin>\n");
        return 1;
    }

    /* ---- devices ---- */
    CHECK(sdInit(0));
    CHECK(sdDriverGetVersion(&version));
    REQUIRE(version > 0);
    CHECK(sdDeviceGetCount(&count));
    REQUIRE(count >= 1);                        /* 4 by default; GDEV_SIM_CARDS changes it */
    CHECK(sdDeviceGet(&dev, count - 1));        /* the last card */
    REQUIRE(dev == count - 1);
    memset(name, 0, sizeof(name));
    CHECK(sdDeviceGetName(name, (int)sizeof(name), dev));
    REQUIRE(strlen(name) > 0);
    CHECK(sdDeviceTotalMem(&total, dev));
    REQUIRE(total > 0);
    CHECK(sdDeviceComputeCapability(&major, &minor, dev));
    REQUIRE(major >= 0 && minor >= 0);
    CHECK(sdDeviceGetAttribute(&value, SD_DEVICE_ATTRIBUTE_SPE_ARRAY_COUNT, dev));
    REQUIRE(value == tu_env_int("GDEV_SIM_SPE_ARRAYS", 4));
    CHECK(sdDeviceGetAttribute(&value, SD_DEVICE_ATTRIBUTE_SPES_PER_ARRAY, dev));
    REQUIRE(value == tu_env_int("GDEV_SIM_SPES", 32));
    CHECK(sdDeviceGetAttribute(&value, SD_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK, dev));
    REQUIRE(value >= BLOCK);
    CHECK(sdDeviceGetAttribute(&value, SD_DEVICE_ATTRIBUTE_WARP_SIZE, dev));
    REQUIRE(value > 0);
    CHECK(sdDeviceGetProperties(&prop, dev));
    REQUIRE(prop.maxThreadsPerBlock >= BLOCK && prop.maxThreadsDim[0] >= BLOCK && prop.maxGridSize[0] > 0);

    /* ---- contexts ---- */
    CHECK(sdCtxGetCurrent(&cur));
    REQUIRE(cur == NULL);
    CHECK(sdCtxCreate(&ctx, 0, dev));
    REQUIRE(ctx != NULL);
    CHECK(sdCtxGetCurrent(&cur));
    REQUIRE(cur == ctx);
    CHECK(sdCtxGetDevice(&dev_of_ctx));
    REQUIRE(dev_of_ctx == dev);
    CHECK(sdCtxPopCurrent(&cur));
    REQUIRE(cur == ctx);
    CHECK(sdCtxGetCurrent(&cur));
    REQUIRE(cur == NULL);
    CHECK(sdCtxPushCurrent(ctx));
    CHECK(sdCtxGetCurrent(&cur));
    REQUIRE(cur == ctx);
    /* A second context on card 0 stacks above the first and pops back off. */
    CHECK(sdDeviceGet(&other, 0));
    CHECK(sdCtxCreate(&ctx2, 0, other));
    REQUIRE(ctx2 != NULL && ctx2 != ctx);
    CHECK(sdCtxGetDevice(&dev_of_ctx));
    REQUIRE(dev_of_ctx == other);
    CHECK(sdCtxPopCurrent(&cur));
    REQUIRE(cur == ctx2);
    CHECK(sdCtxGetCurrent(&cur));
    REQUIRE(cur == ctx);
    CHECK(sdCtxDestroy(ctx2));
    CHECK(sdCtxSetCurrent(ctx));
    CHECK(sdCtxGetCurrent(&cur));
    REQUIRE(cur == ctx);

    /* ---- module and function ---- */
    CHECK(sdModuleLoad(&mod, argv[1]));
    CHECK(sdModuleGetFunction(&f, mod, "add_test"));
    REQUIRE(f != NULL);
    EXPECT(sdModuleGetFunction(&missing, mod, "no_such_kernel"), SDAA_ERROR_NOT_FOUND);
    CHECK(sdFuncGetAttribute(&value, SD_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, f));
    REQUIRE(value >= BLOCK);

    /* ---- memory ---- */
    for (i = 0; i < N; i++) {
        ha[i] = i * 7 - 300;
        hb[i] = 100000 - i * 3;
    }
    CHECK(sdMemAlloc(&da, sizeof(ha)));
    CHECK(sdMemAlloc(&db, sizeof(hb)));
    CHECK(sdMemAlloc(&dc, sizeof(hc)));
    REQUIRE(da != 0 && db != 0 && dc != 0 && da != db && db != dc && da != dc);
    CHECK(sdMemcpyHtoD(da, ha, sizeof(ha)));
    CHECK(sdMemcpyHtoD(db, hb, sizeof(hb)));
    CHECK(sdMemcpyDtoH(hc, da, sizeof(hc)));
    REQUIRE(memcmp(hc, ha, sizeof(ha)) == 0);
    CHECK(sdMemcpyDtoD(dc, db, sizeof(hb)));
    CHECK(sdMemcpyDtoH(hc, dc, sizeof(hc)));
    REQUIRE(memcmp(hc, hb, sizeof(hb)) == 0);
    CHECK(sdMemsetD32(dc, 0x12345678u, N));
    CHECK(sdMemcpyDtoH(words, dc, sizeof(words)));
    for (i = 0; i < N; i++)
        REQUIRE(words[i] == 0x12345678u);
    /* D8 over the first 64 bytes only: the rest keeps the D32 pattern. */
    CHECK(sdMemsetD8(dc, 0xa5, sizeof(bytes)));
    CHECK(sdMemcpyDtoH(words, dc, sizeof(words)));
    memcpy(bytes, words, sizeof(bytes));
    for (i = 0; i < (int)sizeof(bytes); i++)
        REQUIRE(bytes[i] == 0xa5);
    REQUIRE(words[sizeof(bytes) / 4] == 0x12345678u);
    CHECK(sdMemGetPhysAddr(&phys, da));
    CHECK(sdMemGetPhysAddr(&phys_b, db));
    REQUIRE(phys != phys_b);
    CHECK(sdMemGetInfo(&free_mem, &total_mem));
    REQUIRE(total_mem == total && free_mem <= total_mem);

    /* ---- sdLaunchKernel, kernelParams ---- */
    clear_result(dc);
    params[0] = &da;
    params[1] = &db;
    params[2] = &dc;
    params[3] = &n;
    CHECK(sdLaunchKernel(f, grid, 1, 1, BLOCK, 1, 1, 0, NULL, params, NULL));
    CHECK(sdCtxSynchronize());
    verify_sum(dc, "sdLaunchKernel(kernelParams)");

    /* ---- sdLaunchKernel, extra ---- */
    clear_result(dc);
    memcpy(packed + 0, &da, 8);
    memcpy(packed + 8, &db, 8);
    memcpy(packed + 16, &dc, 8);
    memcpy(packed + 24, &n, 4);
    extra[0] = (void *)SD_LAUNCH_PARAM_BUFFER_POINTER;
    extra[1] = packed;
    extra[2] = (void *)SD_LAUNCH_PARAM_BUFFER_SIZE;
    extra[3] = &packed_size;
    extra[4] = (void *)SD_LAUNCH_PARAM_END;
    /* One block: the grid-stride loop covers all N elements. */
    CHECK(sdLaunchKernel(f, 1, 1, 1, BLOCK, 1, 1, 0, NULL, NULL, extra));
    CHECK(sdCtxSynchronize());
    verify_sum(dc, "sdLaunchKernel(extra)");

    /* ---- sdLaunchGrid with the sdParamSet* calls ---- */
    clear_result(dc);
    CHECK(sdFuncSetBlockShape(f, BLOCK, 1, 1));
    CHECK(sdParamSetv(f, 0, &da, sizeof(da)));
    CHECK(sdParamSetv(f, 8, &db, sizeof(db)));
    CHECK(sdParamSetv(f, 16, &dc, sizeof(dc)));
    CHECK(sdParamSeti(f, 24, (unsigned int)n));
    CHECK(sdParamSetSize(f, 28));
    CHECK(sdLaunchGrid(f, (int)grid, 1));
    CHECK(sdCtxSynchronize());
    verify_sum(dc, "sdLaunchGrid");

    /* ---- sdLaunch: SDAA array style, same parameters ---- */
    clear_result(dc);
    CHECK(sdLaunch(f, 4, NULL));
    CHECK(sdCtxSynchronize());
    verify_sum(dc, "sdLaunch");

    /* ---- bad input ---- */
    EXPECT(sdDeviceGetCount(NULL), SDAA_ERROR_INVALID_VALUE);
    EXPECT(sdCtxGetCurrent(NULL), SDAA_ERROR_INVALID_VALUE);
    EXPECT(sdMemAlloc(NULL, 16), SDAA_ERROR_INVALID_VALUE);
    EXPECT(sdMemcpyDtoH(NULL, da, 16), SDAA_ERROR_INVALID_VALUE);
    EXPECT(sdModuleGetFunction(NULL, mod, "add_test"), SDAA_ERROR_INVALID_VALUE);
    EXPECT(sdDeviceTotalMem(NULL, dev), SDAA_ERROR_INVALID_VALUE);
    never = da + 0x10000000ull;                 /* far beyond any allocation here */
    EXPECT(sdMemFree(never), SDAA_ERROR_INVALID_VALUE);
    EXPECT(sdMemAlloc(&scratch, total + ((size_t)1 << 30)), SDAA_ERROR_OUT_OF_MEMORY);
    {
        /* Past the end of da: the host side is big enough, the device side is not. */
        size_t over = sizeof(ha) + 65536;
        void *big = calloc(1, over);
        REQUIRE(big != NULL);
        EXPECT(sdMemcpyDtoH(big, da, over), SDAA_ERROR_INVALID_VALUE);
        EXPECT(sdMemcpyHtoD(da, big, over), SDAA_ERROR_INVALID_VALUE);
        free(big);
    }
    EXPECT(sdDeviceGet(&other, 99), SDAA_ERROR_INVALID_DEVICE);
    EXPECT(sdModuleLoad(&bad_mod, "/nonexistent/dir/add_test.cubin"), SDAA_ERROR_FILE_NOT_FOUND);
    memset(garbage, 0xa5, sizeof(garbage));
    garbage[sizeof(garbage) - 1] = 0;           /* terminated, so a text loader stops */
    EXPECT(sdModuleLoadData(&bad_mod, garbage), SDAA_ERROR_INVALID_IMAGE);

    /* ---- the API still works after the errors ---- */
    CHECK(sdMemcpyDtoH(hc, da, sizeof(hc)));
    REQUIRE(memcmp(hc, ha, sizeof(ha)) == 0);
    for (i = 0; i < N; i++)
        hb[i] = -i;
    CHECK(sdMemcpyHtoD(db, hb, sizeof(hb)));
    clear_result(dc);
    CHECK(sdLaunchKernel(f, grid, 1, 1, BLOCK, 1, 1, 0, NULL, params, NULL));
    CHECK(sdCtxSynchronize());
    verify_sum(dc, "sdLaunchKernel after errors");

    /* ---- teardown ---- */
    CHECK(sdMemFree(dc));
    EXPECT(sdMemFree(dc), SDAA_ERROR_INVALID_VALUE);   /* double free */
    CHECK(sdMemFree(db));
    CHECK(sdMemFree(da));
    CHECK(sdModuleUnload(mod));
    CHECK(sdCtxDestroy(ctx));

    printf("Test passed\n");
    return 0;
}
