/*
 * threads.c - many host threads sharing the runtime and the cards.
 *
 *   threads [-t<threads>] [-i<iterations>] [-n<ints>] [-k<kernel dir>]
 *           (default -t8 -i100 -n1024 -k.)
 *
 * Thread t selects card t % <cards> and repeats: sdaaMalloc three buffers,
 * copy a and b in, sdaaConfigureCall/SetupArgument/Launch add_test, copy c
 * out, check every element, sdaaFree.  Each thread's data differ (they carry
 * the thread and iteration number), so one thread reading another's buffer,
 * a launch configuration crossing threads, or a card mix-up shows as a wrong
 * value.  The selected card must stay each thread's own throughout.
 */
#include "conc.h"

struct worker {
    pthread_t tid;
    int index;
    int device;
    int iterations;
    int n;
    double ms;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    size_t bytes = (size_t)w->n * sizeof(int);
    int *ha = malloc(bytes), *hb = malloc(bytes), *hc = malloc(bytes);
    int it, i, dev = -1;
    double t0 = tu_now_ms();

    REQUIRE(ha != NULL && hb != NULL && hc != NULL);
    CHECK(sdaaSetDevice(w->device));
    for (it = 0; it < w->iterations; it++) {
        void *da = NULL, *db = NULL, *dc = NULL;
        int arrays = 1 + (it + w->index) % 4;
        for (i = 0; i < w->n; i++) {
            ha[i] = i * 7 + w->index * 1000003;
            hb[i] = it * 65537 - i;
            hc[i] = -1;
        }
        CHECK(sdaaMalloc(&da, bytes));
        CHECK(sdaaMalloc(&db, bytes));
        CHECK(sdaaMalloc(&dc, bytes));
        CHECK(sdaaMemcpy(da, ha, bytes, sdaaMemcpyHostToDevice));
        CHECK(sdaaMemcpy(db, hb, bytes, sdaaMemcpyHostToDevice));
        CHECK(sdaaConfigureCall(arrays));
        CHECK(sdaaSetupArgument(&da, sizeof(da), 0));
        CHECK(sdaaSetupArgument(&db, sizeof(db), 8));
        CHECK(sdaaSetupArgument(&dc, sizeof(dc), 16));
        CHECK(sdaaSetupArgument(&w->n, sizeof(w->n), 24));
        CHECK(sdaaLaunch("add_test"));
        CHECK(sdaaMemcpy(hc, dc, bytes, sdaaMemcpyDeviceToHost));
        for (i = 0; i < w->n; i++) {
            if (hc[i] != ha[i] + hb[i]) {
                printf("Test failed: thread %d (card %d) iteration %d: c[%d] = %d, expected %d\n", w->index,
                       w->device, it, i, hc[i], ha[i] + hb[i]);
                conc_die();
            }
        }
        CHECK(sdaaFree(dc));
        CHECK(sdaaFree(db));
        CHECK(sdaaFree(da));
        CHECK(sdaaGetDevice(&dev));
        if (dev != w->device) {
            printf("Test failed: thread %d selected card %d but sdaaGetDevice says %d\n", w->index, w->device, dev);
            conc_die();
        }
    }
    w->ms = tu_now_ms() - t0;
    free(ha);
    free(hb);
    free(hc);
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = 8, iterations = 100, n = 1024, cards = 0, opt, t;
    const char *dir = ".";
    struct worker *w;
    char *end;
    double t0;

    while ((opt = getopt(argc, argv, "t:i:n:k:")) != -1) {
        long v = 0;
        if (opt != 'k' && opt != '?') {
            v = strtol(optarg, &end, 0);
            if (*end || v <= 0 || v > 1000000) {
                printf("Test failed: bad -%c value\n", opt);
                return 1;
            }
        }
        switch (opt) {
        case 't':
            threads = (int)v;
            break;
        case 'i':
            iterations = (int)v;
            break;
        case 'n':
            n = (int)v;
            break;
        case 'k':
            dir = optarg;
            break;
        default:
            printf("Test failed: usage: threads [-t<threads>] [-i<iterations>] [-n<ints>] [-k<kernel dir>]\n");
            return 1;
        }
    }
    conc_register(dir);
    CHECK(sdaaGetDeviceCount(&cards));
    REQUIRE(cards >= 1);
    w = calloc((size_t)threads, sizeof(*w));
    REQUIRE(w != NULL);

    t0 = tu_now_ms();
    for (t = 0; t < threads; t++) {
        w[t].index = t;
        w[t].device = t % (cards < 4 ? cards : 4);
        w[t].iterations = iterations;
        w[t].n = n;
        REQUIRE(pthread_create(&w[t].tid, NULL, work, &w[t]) == 0);
    }
    for (t = 0; t < threads; t++)
        REQUIRE(pthread_join(w[t].tid, NULL) == 0);
    for (t = 0; t < threads; t++)
        printf("thread %d on card %d: %d iterations in %.1f ms\n", t, w[t].device, iterations, w[t].ms);
    printf("Test passed: %d threads x %d iterations of %d ints in %.1f ms\n", threads, iterations, n,
           tu_now_ms() - t0);
    free(w);
    return 0;
}
