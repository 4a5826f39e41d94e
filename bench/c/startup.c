/*
 * startup.c - what a C program's first API call costs, timed as a whole process
 * by bench/startup.py against empty.c.
 *
 *     startup none|runtime|gdev
 *
 * none: linked against libusdaa.so and libgdev.so but calls nothing (the
 * embedded interpreter starts when a library loads); runtime: one
 * sdaaGetDeviceCount; gdev: one gdevice_count.  Either call is the process's
 * first, so it also imports the Python side of its library.
 * Prints `RESULT cards <n>` and exits 0, or exits 1 when the call fails.
 */
#include <stdio.h>
#include <string.h>

#include "gdev_api.h"
#include "sdaa_runtime.h"

int main(int argc, char **argv)
{
    int n = -1;
    const char *what = argc > 1 ? argv[1] : "runtime";

    if (strcmp(what, "runtime") == 0) {
        if (sdaaGetDeviceCount(&n) != sdaaSuccess)
            return 1;
    } else if (strcmp(what, "gdev") == 0) {
        if (gdevice_count(&n) != 0)
            return 1;
    } else if (strcmp(what, "none") != 0) {
        fprintf(stderr, "usage: startup none|runtime|gdev\n");
        return 2;
    }
    printf("RESULT cards %d\n", n);
    return 0;
}
