/*
 * lifetime.c - programs that use the library the way real programs end and fork.
 *
 *   lifetime MODE add_test.cubin busy.cubin
 *
 * MODE:
 *   leak       allocates, launches and copies, never frees anything, returns 0
 *   inflight   queues a long kernel and a copy, returns from main without waiting
 *   fork-used  uses the runtime, forks; the child must get sdaaErrorInitializationError /
 *              SDAA_ERROR_NOT_INITIALIZED / NULL from gopen, the parent keeps working
 *   fork-busy  as fork-used, but forks while a kernel runs on the card
 *   fork-fresh forks before any call; the child must work normally
 *   threads    starts 4 threads before the first call; each does a full round trip
 * Prints "Test passed" and exits 0, or "Test failed: <why>" and exits 1.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gdev_api.h"
#include "sdaa.h"
#include "sdaa_runtime.h"
#include "testutil.h"

#define N 4096

static int failed(const char *why, int code)
{
    printf("Test failed: %s (%d)\n", why, code);
    return 1;
}

/* A full runtime round trip on device dev; 0 on success. */
static int roundtrip(int dev)
{
    static __thread unsigned char in[N], out[N];
    void *d;
    for (int i = 0; i < N; i++)
        in[i] = (unsigned char)(i * 13 + dev);
    if (sdaaSetDevice(dev) || sdaaMalloc(&d, N) || sdaaMemcpy(d, in, N, sdaaMemcpyHostToDevice)
        || sdaaMemcpy(out, d, N, sdaaMemcpyDeviceToHost) || sdaaFree(d))
        return -1;
    return memcmp(in, out, N) != 0;
}

/* Queues `loop` with a large count on the current context; 0 on success. */
static int start_busy(void *busy, SDdeviceptr *out)
{
    SDmodule m;
    SDfunction f;
    unsigned count = 20000, n = 4096;
    void *args[3] = {out, &count, &n};
    SDcontext c;
    if (sdInit(0) || sdCtxCreate(&c, 0, 0) || sdModuleLoadData(&m, busy) || sdModuleGetFunction(&f, m, "loop")
        || sdMemAlloc(out, n * 4))
        return -1;
    return sdLaunchKernel(f, 4, 1, 1, 128, 1, 1, 0, NULL, args, NULL);
}

static int child_after_use(void)
{
    void *p;
    SDdeviceptr d;
    int rc1 = sdaaMalloc(&p, 64), rc2 = sdMemAlloc(&d, 64);
    struct gdev_handle *h = gopen(0);
    if (rc1 != sdaaErrorInitializationError)
        return failed("child: sdaaMalloc after fork", rc1);
    if (rc2 != SDAA_ERROR_NOT_INITIALIZED)
        return failed("child: sdMemAlloc after fork", rc2);
    if (h != NULL)
        return failed("child: gopen after fork gave a handle", 0);
    printf("Test passed: child got its documented errors\n");
    return 0;
}

static int fork_and_check(int (*in_child)(void))
{
    int status;
    pid_t pid;
    fflush(stdout);
    pid = fork();
    if (pid < 0)
        return failed("fork", 0);
    if (pid == 0) {
        int rc = in_child();
        fflush(stdout);
        _exit(rc);
    }
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return failed("child", status);
    return 0;
}

static int child_fresh(void)
{
    int rc = roundtrip(0);
    if (rc)
        return failed("fresh child round trip", rc);
    printf("Test passed: fresh child works\n");
    return 0;
}

static void *thread_main(void *arg)
{
    intptr_t dev = (intptr_t)arg;
    return (void *)(intptr_t)(roundtrip((int)dev) || roundtrip((int)dev));
}

int main(int argc, char **argv)
{
    const char *mode;
    void *image, *busy;
    SDdeviceptr d;
    if (argc < 4 || !(image = tu_read_file(argv[2], NULL)) || !(busy = tu_read_file(argv[3], NULL)))
        return failed("usage: lifetime MODE add_test.cubin busy.cubin", 0);
    mode = argv[1];
    if (!strcmp(mode, "leak")) {
        void *p, *h;
        SDcontext c;
        SDmodule m;
        for (int i = 0; i < 50; i++)
            if (sdaaMalloc(&p, 1 << 16) || sdaaMallocHost(&h, 4096))
                return failed("allocation", i);
        if (sdInit(0) || sdCtxCreate(&c, 0, 1) || sdModuleLoadData(&m, image) || sdMemAlloc(&d, 4096))
            return failed("driver objects", 0);
        if (!gopen(2) || roundtrip(3))
            return failed("gdev handle / round trip", 0);
        printf("Test passed: exits holding everything\n");
        return 0;
    }
    if (!strcmp(mode, "inflight")) {
        static unsigned char host[4096 * 4];
        int rc = start_busy(busy, &d);
        if (rc)
            return failed("start", rc);
        sdMemcpyDtoHAsync(host, d, sizeof host, NULL);
        printf("Test passed: returning with work queued\n");
        return 0;
    }
    if (!strcmp(mode, "fork-used") || !strcmp(mode, "fork-busy")) {
        int rc = roundtrip(0);
        if (rc)
            return failed("parent round trip", rc);
        if (!strcmp(mode, "fork-busy") && (rc = start_busy(busy, &d)) != 0)
            return failed("start busy", rc);
        if (fork_and_check(child_after_use))
            return 1;
        if ((rc = sdCtxSynchronize()) != 0 && !strcmp(mode, "fork-busy"))
            return failed("parent sync after fork", rc);
        if ((rc = roundtrip(1)) != 0)
            return failed("parent round trip after fork", rc);
        printf("Test passed: parent works after fork\n");
        return 0;
    }
    if (!strcmp(mode, "fork-fresh")) {
        if (fork_and_check(child_fresh))
            return 1;
        if (roundtrip(0))
            return failed("parent after fresh fork", 0);
        printf("Test passed: both work\n");
        return 0;
    }
    if (!strcmp(mode, "threads")) {
        pthread_t t[4];
        void *rc;
        for (intptr_t i = 0; i < 4; i++)
            if (pthread_create(&t[i], NULL, thread_main, (void *)(i % 2)))
                return failed("pthread_create", (int)i);
        for (int i = 0; i < 4; i++) {
            pthread_join(t[i], &rc);
            if (rc)
                return failed("thread round trip", i);
        }
        printf("Test passed: threads started before first use\n");
        return 0;
    }
    return failed("unknown mode", 0);
}
