/*
 * abi_fuzz.c - random call sequences over the driver, runtime and Gdev APIs.
 *
 *   abi_fuzz [-n sequences] [-b per_child] [-s seed] [-t seconds] add_test.cubin
 *
 * Each sequence makes random calls with random arguments - valid objects of
 * the sequence, NULL, destroyed or never-created handles, freed, interior,
 * foreign and other-card device pointers, sizes that run past an allocation
 * or overflow, bad kinds, devices and launch shapes - then releases what it
 * still owns, resets the runtime's devices, and checks that every card is
 * back where the child started: the same free VRAM and the same number of
 * open channels (contexts and streams each hold one).  Host buffers are always real (a wild host pointer
 * would crash any driver), so only the library can fail.
 *
 * Sequences run in child processes (fork before the library is first used),
 * per_child at a time; the parent waits with a timeout.  A crash (signal), a
 * hang (timeout) or a leak fails the run.  Prints "Test passed" and exits 0,
 * or "Test failed: <why>" and exits 1.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gdev_api.h"
#include "sdaa.h"
#include "sdaa_runtime.h"
#include "testutil.h"

#define CARDS       2               /* the cards sequences use (0 and 1) */
#define HOSTBUF     (64 * 1024)     /* every host buffer; no valid copy is larger */
#define MAX_ALLOC   (16 * 1024)     /* valid allocations stay below HOSTBUF */
#define POOL        16              /* live objects of each kind per sequence */
#define LEAK_EXIT   3

/* ---- random numbers (xorshift64*, one stream per sequence) ---------------- */
static uint64_t rng_state;

static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static unsigned below(unsigned n) { return n ? (unsigned)(rnd() % n) : 0; }
static int chance(unsigned percent) { return below(100) < percent; }

/* ---- objects a sequence owns ---------------------------------------------- */
enum kind { K_CTX, K_DPTR, K_MOD, K_FN, K_STREAM, K_EVENT, K_RPTR, K_RSTREAM, K_REVENT, K_RPINNED,
            K_GH, K_GADDR, K_KINDS };

struct obj {
    int live;
    uint64_t value;         /* handle, pointer or address */
    size_t size;            /* allocations */
    int owner;              /* index of the owning context / gdev handle, or the runtime device */
};

static struct obj pool[K_KINDS][POOL];
static uint64_t stale[K_KINDS][POOL];      /* destroyed values, for use-after-destroy */
static unsigned stale_count[K_KINDS];
static unsigned char host_a[HOSTBUF], host_b[HOSTBUF];
static unsigned char *image;
static const char garbage_image[] = "this is not a code object";
static unsigned long calls;

static int add(enum kind k, uint64_t value, size_t size, int owner)
{
    for (int i = 0; i < POOL; i++) {
        if (!pool[k][i].live) {
            pool[k][i] = (struct obj){1, value, size, owner};
            return i;
        }
    }
    return -1;                              /* pool full: the object stays unreferenced (leak check catches it) */
}

static void drop(enum kind k, int i)
{
    stale[k][stale_count[k]++ % POOL] = pool[k][i].value;
    if (stale_count[k] > 1000000)
        stale_count[k] = POOL;
    pool[k][i].live = 0;
}

static int pick(enum kind k)
{
    int start = (int)below(POOL);
    for (int j = 0; j < POOL; j++) {
        int i = (start + j) % POOL;
        if (pool[k][i].live)
            return i;
    }
    return -1;
}

/* A value for a handle/pointer parameter: mostly a live object, else something hostile. */
static uint64_t hostile_or(enum kind k, int *index)
{
    int i = pick(k);
    *index = -1;
    if (i >= 0 && chance(75)) {
        *index = i;
        return pool[k][i].value;
    }
    switch (below(5)) {
    case 0: return 0;
    case 1: return stale_count[k] ? stale[k][below(stale_count[k] < POOL ? stale_count[k] : POOL)] : 0;
    case 2: return 0x5EED00001000ULL + 8 * below(64);                 /* never handed out */
    case 3: return i >= 0 ? pool[k][i].value + 8 * (1 + below(8)) : 1; /* interior / misaligned */
    default: return rnd();
    }
}

/* A size for an object of `size` bytes: usually inside it, sometimes past it or overflowing. */
static size_t size_for(size_t size)
{
    switch (below(10)) {
    case 0: return size + 1 + below(4096);
    case 1: return SIZE_MAX - below(16);
    case 2: return 0;
    default: return size ? 1 + below((unsigned)size) : below(64);
    }
}

/* Device memory is owned by contexts: objects of a destroyed context go stale with it. */
static void ctx_gone(int c)
{
    static const enum kind owned[] = {K_DPTR, K_MOD, K_FN, K_STREAM, K_EVENT};
    for (size_t k = 0; k < sizeof owned / sizeof owned[0]; k++)
        for (int i = 0; i < POOL; i++)
            if (pool[owned[k]][i].live && pool[owned[k]][i].owner == c)
                drop(owned[k], i);
}

static void device_reset(int dev)
{
    static const enum kind owned[] = {K_RPTR, K_RSTREAM, K_REVENT, K_RPINNED};
    for (size_t k = 0; k < sizeof owned / sizeof owned[0]; k++)
        for (int i = 0; i < POOL; i++)
            if (pool[owned[k]][i].live && pool[owned[k]][i].owner == dev)
                drop(owned[k], i);
}

static int runtime_device;

/* ---- the operations ----------------------------------------------------------- */
static SDcontext as_ctx(uint64_t v) { return (SDcontext)(uintptr_t)v; }
static SDstream as_stream(uint64_t v) { return (SDstream)(uintptr_t)v; }
static SDevent as_event(uint64_t v) { return (SDevent)(uintptr_t)v; }

static void op_driver_context(void)
{
    int i;
    switch (below(6)) {
    case 0: {
        SDcontext c;
        int dev = chance(85) ? (int)below(CARDS) : (chance(50) ? -1 : 7);
        if (sdCtxCreate(&c, chance(90) ? 0 : 0x100, dev) == SDAA_SUCCESS)
            add(K_CTX, (uint64_t)(uintptr_t)c, 0, dev);
        break;
    }
    case 1: {
        uint64_t v = hostile_or(K_CTX, &i);
        if (sdCtxDestroy(as_ctx(v)) == SDAA_SUCCESS && i >= 0) {
            ctx_gone(i);
            drop(K_CTX, i);
        }
        break;
    }
    case 2: sdCtxSetCurrent(as_ctx(hostile_or(K_CTX, &i))); break;
    case 3: sdCtxPushCurrent(as_ctx(hostile_or(K_CTX, &i))); break;
    case 4: { SDcontext c; sdCtxPopCurrent(chance(50) ? &c : NULL); break; }
    default: sdCtxSynchronize(); break;
    }
}

/* The context index current in this thread, if it is one of ours. */
static int current_ctx(void)
{
    SDcontext c = NULL;
    if (sdCtxGetCurrent(&c) != SDAA_SUCCESS || !c)
        return -1;
    for (int i = 0; i < POOL; i++)
        if (pool[K_CTX][i].live && pool[K_CTX][i].value == (uint64_t)(uintptr_t)c)
            return i;
    return -1;
}

static void op_driver_memory(void)
{
    int i, j;
    switch (below(9)) {
    case 0: {
        SDdeviceptr d;
        size_t size = chance(90) ? 1 + below(MAX_ALLOC) : (chance(50) ? 0 : SIZE_MAX);
        int c = current_ctx();
        if (sdMemAlloc(&d, size) == SDAA_SUCCESS) {
            if (c >= 0)
                add(K_DPTR, d, size, c);
            else
                sdMemFree(d);          /* a context not ours: give it back at once */
        }
        break;
    }
    case 1: {
        uint64_t v = hostile_or(K_DPTR, &i);
        if (sdMemFree(v) == SDAA_SUCCESS && i >= 0)
            drop(K_DPTR, i);
        break;
    }
    case 2: { uint64_t d = hostile_or(K_DPTR, &i); sdMemcpyHtoD(d, host_a, size_for(i >= 0 ? pool[K_DPTR][i].size : 64)); break; }
    case 3: { uint64_t d = hostile_or(K_DPTR, &i); sdMemcpyDtoH(host_b, d, size_for(i >= 0 ? pool[K_DPTR][i].size : 64)); break; }
    case 4: {
        uint64_t d = hostile_or(K_DPTR, &i), s = hostile_or(K_DPTR, &j);
        sdMemcpyDtoD(d, s, size_for(i >= 0 ? pool[K_DPTR][i].size : 64));
        break;
    }
    case 5: {
        uint64_t d = hostile_or(K_DPTR, &i);
        SDstream st = as_stream(chance(40) ? 0 : hostile_or(K_STREAM, &j));
        size_t n = size_for(i >= 0 ? pool[K_DPTR][i].size : 64);
        if (chance(50))
            sdMemcpyHtoDAsync(d, host_a, n, st);
        else
            sdMemcpyDtoHAsync(host_b, d, n, st);
        break;
    }
    case 6: {
        uint64_t d = hostile_or(K_DPTR, &i);
        size_t n = size_for(i >= 0 ? pool[K_DPTR][i].size : 64);
        switch (below(3)) {
        case 0: sdMemsetD8(d, (unsigned char)rnd(), n); break;
        case 1: sdMemsetD16(d, (unsigned short)rnd(), n / 2); break;
        default: sdMemsetD32(d, (unsigned)rnd(), n / 4); break;
        }
        break;
    }
    case 7: { size_t f, t; sdMemGetInfo(chance(80) ? &f : NULL, &t); break; }
    default: {
        unsigned long long phys;
        sdMemGetPhysAddr(&phys, hostile_or(K_DPTR, &i));
        break;
    }
    }
}

static void op_driver_module(void)
{
    int i;
    switch (below(4)) {
    case 0: {
        SDmodule m;
        int c = current_ctx();
        const void *img = chance(85) ? (const void *)image : (const void *)garbage_image;
        if (sdModuleLoadData(&m, img) == SDAA_SUCCESS) {
            if (c >= 0)
                add(K_MOD, (uint64_t)(uintptr_t)m, 0, c);
            else
                sdModuleUnload(m);
        }
        break;
    }
    case 1: {
        uint64_t v = hostile_or(K_MOD, &i);
        if (sdModuleUnload((SDmodule)(uintptr_t)v) == SDAA_SUCCESS && i >= 0) {
            for (int f = 0; f < POOL; f++)      /* its functions go with it */
                if (pool[K_FN][f].live && pool[K_FN][f].size == (size_t)i + 1)
                    drop(K_FN, f);
            drop(K_MOD, i);
        }
        break;
    }
    case 2: {
        SDfunction f;
        uint64_t v = hostile_or(K_MOD, &i);
        if (sdModuleGetFunction(&f, (SDmodule)(uintptr_t)v, chance(85) ? "add_test" : "nope") == SDAA_SUCCESS
            && i >= 0)
            add(K_FN, (uint64_t)(uintptr_t)f, (size_t)i + 1, pool[K_MOD][i].owner);
        break;
    }
    default: {
        int pi;
        sdFuncGetAttribute(&pi, (SDfunction_attribute)below(9), (SDfunction)(uintptr_t)hostile_or(K_FN, &i));
        break;
    }
    }
}

/* A launch shape: usually small and valid, sometimes beyond the card (never a huge valid grid). */
static unsigned dim(unsigned valid_max, unsigned limit)
{
    if (chance(90))
        return 1 + below(valid_max);
    return chance(50) ? 0 : limit + 1 + below(1000);
}

static void op_driver_launch(void)
{
    int fi, di, si;
    SDfunction f = (SDfunction)(uintptr_t)hostile_or(K_FN, &fi);
    uint64_t d = hostile_or(K_DPTR, &di);
    int n = di >= 0 ? (int)(pool[K_DPTR][di].size / 4) : (int)below(64);
    void *args[4] = {&d, &d, &d, &n};
    SDstream st = as_stream(chance(50) ? 0 : hostile_or(K_STREAM, &si));
    switch (below(4)) {
    case 0: {
        size_t size = chance(80) ? 28 : below(40);
        unsigned char buf[64] = {0};
        void *extra[] = {(void *)SD_LAUNCH_PARAM_BUFFER_POINTER, buf, (void *)SD_LAUNCH_PARAM_BUFFER_SIZE, &size,
                         (void *)SD_LAUNCH_PARAM_END};
        sdLaunchKernel(f, dim(4, 0x7FFFFFFF), 1, 1, dim(64, 1024), 1, 1, 0, st, NULL, extra);
        break;
    }
    case 1:
        sdLaunchKernel(f, dim(4, 0x7FFFFFFF), dim(2, 65535), 1, dim(128, 1024), dim(2, 1024), 1,
                       chance(90) ? 0 : 1u << 20, st, chance(90) ? args : NULL, NULL);
        break;
    case 2:
        sdParamSetv(f, 0, &d, 8);
        sdParamSetv(f, 8, &d, 8);
        sdParamSetv(f, 16, &d, 8);
        sdParamSeti(f, chance(90) ? 24 : 5000, (unsigned)n);
        sdLaunch(f, chance(90) ? (int)(1 + below(4)) : -(int)below(3), st);
        break;
    default:
        sdFuncSetBlockShape(f, (int)dim(64, 1024), 1, 1);
        sdLaunchGrid(f, (int)dim(4, 0x7FFFFFFF), 1);
        break;
    }
}

static void op_driver_stream(void)
{
    int i, j;
    switch (below(9)) {
    case 0: {
        SDstream s;
        int c = current_ctx();
        if (sdStreamCreate(&s, chance(90) ? 0 : 4) == SDAA_SUCCESS) {
            if (c >= 0)
                add(K_STREAM, (uint64_t)(uintptr_t)s, 0, c);
            else
                sdStreamDestroy(s);
        }
        break;
    }
    case 1: {
        uint64_t v = hostile_or(K_STREAM, &i);
        if (sdStreamDestroy(as_stream(v)) == SDAA_SUCCESS && i >= 0)
            drop(K_STREAM, i);
        break;
    }
    case 2: sdStreamSynchronize(as_stream(hostile_or(K_STREAM, &i))); break;
    case 3: sdStreamQuery(as_stream(hostile_or(K_STREAM, &i))); break;
    case 4: {
        SDevent e;
        int c = current_ctx();
        if (sdEventCreate(&e, chance(90) ? 0 : 8) == SDAA_SUCCESS) {
            if (c >= 0)
                add(K_EVENT, (uint64_t)(uintptr_t)e, 0, c);
            else
                sdEventDestroy(e);
        }
        break;
    }
    case 5: {
        uint64_t v = hostile_or(K_EVENT, &i);
        if (sdEventDestroy(as_event(v)) == SDAA_SUCCESS && i >= 0)
            drop(K_EVENT, i);
        break;
    }
    case 6: sdEventRecord(as_event(hostile_or(K_EVENT, &i)), as_stream(chance(50) ? 0 : hostile_or(K_STREAM, &j))); break;
    case 7: sdStreamWaitEvent(as_stream(hostile_or(K_STREAM, &i)), as_event(hostile_or(K_EVENT, &j)), chance(90) ? 0 : 1); break;
    default: {
        float ms;
        if (chance(50))
            sdEventSynchronize(as_event(hostile_or(K_EVENT, &i)));
        else
            sdEventElapsedTime(&ms, as_event(hostile_or(K_EVENT, &i)), as_event(hostile_or(K_EVENT, &j)));
        break;
    }
    }
}

static int rt_int(enum kind k, int *index)
{
    int i = pick(k);
    *index = -1;
    if (i >= 0 && chance(75)) {
        *index = i;
        return (int)pool[k][i].value;
    }
    switch (below(3)) {
    case 0: return 0;
    case 1: return stale_count[k] ? (int)stale[k][below(stale_count[k] < POOL ? stale_count[k] : POOL)] : -1;
    default: return (int)rnd();
    }
}

static void op_runtime(void)
{
    int i, j;
    switch (below(16)) {
    case 0: {
        int dev = chance(90) ? (int)below(CARDS) : (chance(50) ? -1 : 9);
        if (sdaaSetDevice(dev) == sdaaSuccess)
            runtime_device = dev;
        break;
    }
    case 1: {
        void *p;
        size_t size = chance(90) ? 1 + below(MAX_ALLOC) : (chance(50) ? 0 : SIZE_MAX);
        if (sdaaMalloc(&p, size) == sdaaSuccess)
            add(K_RPTR, (uint64_t)(uintptr_t)p, size, runtime_device);
        break;
    }
    case 2: {
        uint64_t v = hostile_or(K_RPTR, &i);
        if (sdaaFree((void *)(uintptr_t)v) == sdaaSuccess && i >= 0)
            drop(K_RPTR, i);
        break;
    }
    case 3: case 4: {
        /* host sides are always host buffers; device sides anything */
        uint64_t d = hostile_or(K_RPTR, &i), s = hostile_or(K_RPTR, &j);
        size_t n = size_for(i >= 0 ? pool[K_RPTR][i].size : 64);
        int kind = chance(90) ? (int)below(4) : (int)below(100) - 50;
        switch (kind) {
        case 0: n = below(HOSTBUF); sdaaMemcpy(host_a, host_b, n, sdaaMemcpyHostToHost); break;
        case 1: sdaaMemcpy((void *)(uintptr_t)d, host_a, n, sdaaMemcpyHostToDevice); break;
        case 2: sdaaMemcpy(host_b, (void *)(uintptr_t)d, n, sdaaMemcpyDeviceToHost); break;
        case 3: sdaaMemcpy((void *)(uintptr_t)d, (void *)(uintptr_t)s, n, sdaaMemcpyDeviceToDevice); break;
        default: sdaaMemcpy((void *)(uintptr_t)d, (void *)(uintptr_t)s, n, (enum sdaaMemcpyKind)kind); break;
        }
        break;
    }
    case 5: {
        uint64_t d = hostile_or(K_RPTR, &i);
        size_t n = size_for(i >= 0 ? pool[K_RPTR][i].size : 64);
        if (chance(50))
            sdaaMemset((void *)(uintptr_t)d, (int)rnd(), n);
        else
            sdaaMemcpyAsync((void *)(uintptr_t)d, host_a, n, sdaaMemcpyHostToDevice, rt_int(K_RSTREAM, &j));
        break;
    }
    case 6: {
        sdaaStream_t s;
        if (sdaaStreamCreate(&s) == sdaaSuccess)
            add(K_RSTREAM, (uint64_t)s, 0, runtime_device);
        break;
    }
    case 7: {
        int v = rt_int(K_RSTREAM, &i);
        if (sdaaStreamDestroy(v) == sdaaSuccess && i >= 0)
            drop(K_RSTREAM, i);
        break;
    }
    case 8: sdaaStreamSynchronize(rt_int(K_RSTREAM, &i)); break;
    case 9: {
        sdaaEvent_t e;
        if (sdaaEventCreateWithFlags(&e, chance(90) ? 0 : 16) == sdaaSuccess)
            add(K_REVENT, (uint64_t)e, 0, runtime_device);
        break;
    }
    case 10: {
        int v = rt_int(K_REVENT, &i);
        if (sdaaEventDestroy(v) == sdaaSuccess && i >= 0)
            drop(K_REVENT, i);
        break;
    }
    case 11: {
        if (chance(50))
            sdaaEventRecord(rt_int(K_REVENT, &i), rt_int(K_RSTREAM, &j));
        else
            sdaaStreamWaitEvent(rt_int(K_RSTREAM, &i), rt_int(K_REVENT, &j), chance(90) ? 0 : 2);
        break;
    }
    case 12: {
        struct { uint64_t a, b, c; int n; } args;
        uint64_t d = hostile_or(K_RPTR, &i);
        args.a = args.b = args.c = d;
        args.n = i >= 0 ? (int)(pool[K_RPTR][i].size / 4) : (int)below(64);
        if (chance(90))
            sdaaConfigureCall(chance(90) ? (int)(1 + below(8)) : -(int)below(2));
        sdaaSetupArgument(&args, chance(90) ? 28 : below(32), chance(90) ? 0 : 4090);
        if (chance(50))
            sdaaLaunch(chance(90) ? "add_test" : "nope");
        else
            sdaaLaunchAsync("add_test", rt_int(K_RSTREAM, &j));
        break;
    }
    case 13: {
        void *p;
        if (chance(60) && sdaaMallocHost(&p, 1 + below(MAX_ALLOC)) == sdaaSuccess) {
            add(K_RPINNED, (uint64_t)(uintptr_t)p, 0, runtime_device);
        } else {
            uint64_t v = hostile_or(K_RPINNED, &i);
            if (sdaaFreeHost((void *)(uintptr_t)v) == sdaaSuccess && i >= 0)
                drop(K_RPINNED, i);
        }
        break;
    }
    case 14:
        if (chance(5)) {
            if (sdaaDeviceReset() == sdaaSuccess)
                device_reset(runtime_device);
        } else {
            sdaaDeviceSynchronize();
        }
        break;
    default:
        sdaaGetLastError();
        break;
    }
}

static void op_gdev(void)
{
    int i, j;
    switch (below(7)) {
    case 0: {
        int minor = chance(90) ? (int)below(CARDS) : (chance(50) ? -1 : 11);
        struct gdev_handle *h = gopen(minor);
        if (h)
            add(K_GH, (uint64_t)(uintptr_t)h, 0, minor);
        break;
    }
    case 1: {
        uint64_t v = hostile_or(K_GH, &i);
        if (gclose((struct gdev_handle *)(uintptr_t)v) == 0 && i >= 0) {
            for (int a = 0; a < POOL; a++)
                if (pool[K_GADDR][a].live && pool[K_GADDR][a].owner == i)
                    drop(K_GADDR, a);
            drop(K_GH, i);
        }
        break;
    }
    case 2: {
        uint64_t h = hostile_or(K_GH, &i);
        uint64_t size = chance(90) ? 1 + below(MAX_ALLOC) : (chance(50) ? 0 : UINT64_MAX);
        uint64_t a = gmalloc((struct gdev_handle *)(uintptr_t)h, size);
        if (a && i >= 0)
            add(K_GADDR, a, size, i);
        break;
    }
    case 3: {
        uint64_t a = hostile_or(K_GADDR, &j);
        int owner = j >= 0 ? pool[K_GADDR][j].owner : -1;
        uint64_t h = owner >= 0 && chance(85) ? pool[K_GH][owner].value : hostile_or(K_GH, &i);
        if (gfree((struct gdev_handle *)(uintptr_t)h, a) && j >= 0 && owner >= 0
            && h == pool[K_GH][owner].value)
            drop(K_GADDR, j);
        break;
    }
    case 4: case 5: {
        uint64_t a = hostile_or(K_GADDR, &j);
        int owner = j >= 0 ? pool[K_GADDR][j].owner : -1;
        uint64_t h = owner >= 0 && chance(85) ? pool[K_GH][owner].value : hostile_or(K_GH, &i);
        uint64_t n = size_for(j >= 0 ? pool[K_GADDR][j].size : 64);
        uint32_t id;
        if (chance(50))
            gmemcpy_to_device((struct gdev_handle *)(uintptr_t)h, a, host_a, n);
        else if (chance(50))
            gmemcpy_from_device((struct gdev_handle *)(uintptr_t)h, host_b, a, n);
        else if (gmemcpy_to_device_async((struct gdev_handle *)(uintptr_t)h, a, host_a, n, &id) == 0)
            gsync((struct gdev_handle *)(uintptr_t)h, chance(90) ? id : id + 1000, NULL);
        break;
    }
    default: {
        uint64_t h = hostile_or(K_GH, &i);
        if (chance(50))
            gbarrier((struct gdev_handle *)(uintptr_t)h);
        else
            gquery((struct gdev_handle *)(uintptr_t)h, below(9), chance(90) ? (uint64_t *)(void *)host_b : NULL);
        break;
    }
    }
}

/* ---- one sequence, its cleanup and the leak check -------------------------------- */
struct counters { size_t free_vram[CARDS]; int channels[CARDS]; };

static int read_counters(struct counters *c)
{
    for (int d = 0; d < CARDS; d++) {
        size_t total;
        if (sdaaSetDevice(d) != sdaaSuccess || sdaaMemGetInfo(&c->free_vram[d], &total) != sdaaSuccess)
            return -1;
        if (sdDeviceGetAttribute(&c->channels[d], SD_DEVICE_ATTRIBUTE_CHANNELS_IN_USE, d) != SDAA_SUCCESS)
            return -1;
    }
    sdaaSetDevice(runtime_device);
    return 0;
}

/* Start each card's runtime state afresh (a reset releases the primary context with the
 * channels its destroyed streams left pooled), then warm it so the baseline includes it. */
static void warm_runtime(void)
{
    for (int d = 0; d < CARDS; d++) {
        void *p;
        sdaaSetDevice(d);
        sdaaDeviceReset();
        if (sdaaMalloc(&p, 64) == sdaaSuccess)
            sdaaFree(p);
        sdaaDeviceSynchronize();
    }
    sdaaSetDevice(0);
    runtime_device = 0;
    sdaaGetLastError();
}

static void release_all(void)
{
    int i;
    for (i = 0; i < POOL; i++) {
        if (pool[K_RPTR][i].live) { sdaaFree((void *)(uintptr_t)pool[K_RPTR][i].value); drop(K_RPTR, i); }
        if (pool[K_RPINNED][i].live) { sdaaFreeHost((void *)(uintptr_t)pool[K_RPINNED][i].value); drop(K_RPINNED, i); }
        if (pool[K_RSTREAM][i].live) { sdaaStreamDestroy((int)pool[K_RSTREAM][i].value); drop(K_RSTREAM, i); }
        if (pool[K_REVENT][i].live) { sdaaEventDestroy((int)pool[K_REVENT][i].value); drop(K_REVENT, i); }
    }
    for (i = 0; i < POOL; i++) {
        if (pool[K_GH][i].live) { gclose((struct gdev_handle *)(uintptr_t)pool[K_GH][i].value); drop(K_GH, i); }
        pool[K_GADDR][i].live = 0;
    }
    /* driver objects go with their contexts */
    for (i = 0; i < POOL; i++) {
        if (pool[K_CTX][i].live) {
            sdCtxDestroy(as_ctx(pool[K_CTX][i].value));
            ctx_gone(i);
            drop(K_CTX, i);
        }
    }
    while (sdCtxPopCurrent(NULL) == SDAA_SUCCESS)
        ;
    sdaaGetLastError();
}

static int run_sequence(uint64_t seed, const struct counters *base, char *why, size_t whylen)
{
    struct counters now;
    unsigned steps = 5 + below(40);
    rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
    for (unsigned s = 0; s < steps; s++, calls++) {
        switch (below(10)) {
        case 0: op_driver_context(); break;
        case 1: case 2: op_driver_memory(); break;
        case 3: op_driver_module(); break;
        case 4: op_driver_launch(); break;
        case 5: op_driver_stream(); break;
        case 6: case 7: op_runtime(); break;
        default: op_gdev(); break;
        }
    }
    release_all();
    warm_runtime();
    if (read_counters(&now) != 0) {
        snprintf(why, whylen, "sequence %llu: the counters cannot be read", (unsigned long long)seed);
        return -1;
    }
    for (int d = 0; d < CARDS; d++) {
        if (now.free_vram[d] != base->free_vram[d] || now.channels[d] != base->channels[d]) {
            snprintf(why, whylen, "sequence %llu: card %d has %zu bytes free and %d channels, started with %zu and %d",
                     (unsigned long long)seed, d, now.free_vram[d], now.channels[d], base->free_vram[d],
                     base->channels[d]);
            return -1;
        }
    }
    return 0;
}

static int child(uint64_t first, unsigned count)
{
    struct counters base;
    char why[256];
    if (sdInit(0) != SDAA_SUCCESS) {
        printf("child: sdInit failed\n");
        return 2;
    }
    warm_runtime();
    if (read_counters(&base) != 0) {
        printf("child: cannot read counters\n");
        return 2;
    }
    for (unsigned k = 0; k < count; k++) {
        if (run_sequence(first + k, &base, why, sizeof why) != 0) {
            printf("leak: %s\n", why);
            return LEAK_EXIT;
        }
    }
    printf("calls %lu\n", calls);
    return 0;
}

/* ---- the parent: batches in children, with a timeout each ---------------------------- */
static int wait_child(pid_t pid, int seconds, int *status)
{
    struct timespec tick = {0, 20 * 1000 * 1000};
    for (long waited = 0; waited < seconds * 50L; waited++) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
        nanosleep(&tick, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, status, 0);
    return 1;
}

int main(int argc, char **argv)
{
    unsigned long total = 10000, per_child = 500;
    uint64_t seed = 1;
    int timeout = 300, opt;
    unsigned long crashes = 0, hangs = 0, leaks = 0, done = 0;
    while ((opt = getopt(argc, argv, "n:b:s:t:")) != -1) {
        switch (opt) {
        case 'n': total = strtoul(optarg, NULL, 0); break;
        case 'b': per_child = strtoul(optarg, NULL, 0); break;
        case 's': seed = strtoull(optarg, NULL, 0); break;
        case 't': timeout = atoi(optarg); break;
        default:
            printf("usage: %s [-n sequences] [-b per_child] [-s seed] [-t seconds] add_test.cubin\n", argv[0]);
            return 1;
        }
    }
    if (optind >= argc || !(image = tu_read_file(argv[optind], NULL)) || per_child == 0) {
        printf("Test failed: need a readable add_test.cubin and -b > 0\n");
        return 1;
    }
    for (int i = 0; i < HOSTBUF; i++)
        host_a[i] = (unsigned char)i;
    fflush(stdout);
    while (done < total) {
        unsigned count = (unsigned)(total - done < per_child ? total - done : per_child);
        int status = 0, timed_out;
        pid_t pid = fork();
        if (pid < 0) {
            printf("Test failed: fork: %s\n", strerror(errno));
            return 1;
        }
        if (pid == 0) {
            int rc = child(seed + done, count);
            fflush(stdout);
            _exit(rc);
        }
        timed_out = wait_child(pid, timeout, &status);
        if (timed_out) {
            hangs++;
            printf("hang: sequences %llu..%llu did not finish in %d s\n", (unsigned long long)(seed + done),
                   (unsigned long long)(seed + done + count - 1), timeout);
        } else if (WIFSIGNALED(status)) {
            crashes++;
            printf("crash: signal %d in sequences %llu..%llu\n", WTERMSIG(status),
                   (unsigned long long)(seed + done), (unsigned long long)(seed + done + count - 1));
        } else if (WEXITSTATUS(status) == LEAK_EXIT) {
            leaks++;
        } else if (WEXITSTATUS(status) != 0) {
            crashes++;
            printf("child exited with %d in sequences %llu..\n", WEXITSTATUS(status),
                   (unsigned long long)(seed + done));
        }
        done += count;
    }
    printf("abi_fuzz: %lu sequences from seed %llu: %lu crashes, %lu hangs, %lu leaks\n", total,
           (unsigned long long)seed, crashes, hangs, leaks);
    if (crashes || hangs || leaks) {
        printf("Test failed: %lu crashes, %lu hangs, %lu leaks\n", crashes, hangs, leaks);
        return 1;
    }
    printf("Test passed: %lu sequences, 0 crashes, 0 hangs, 0 leaks\n", total);
    return 0;
}
