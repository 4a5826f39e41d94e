/*
 * matrix.h - the matrix programs of the Gdev suite (madd, mmul, fmadd, fmmul,
 * madd_host, madd_pinned) share one body: n x n matrices, Gdev's classic
 * launch sequence (sdFuncSetBlockShape, sdParamSetv/Seti, sdParamSetSize,
 * sdLaunchGrid) of a kernel of matrix.cubin, and an element-by-element check
 * against the host's result.
 *
 * The inputs are chosen so float results are exact (small integers and
 * quarters), which makes the float check exact as well.
 */
#ifndef GDEV_SUITE_MATRIX_H
#define GDEV_SUITE_MATRIX_H

#include "suite.h"

#define MATRIX_BLOCK 16

enum matrix_op { MATRIX_ADD, MATRIX_MUL };
enum matrix_elem { MATRIX_U32, MATRIX_F32 };
enum matrix_host {
    MATRIX_PAGEABLE,        /* malloc'd host buffers, sdMemcpy in and out */
    MATRIX_PINNED,          /* sdMemAllocHost buffers, sdMemcpy in and out */
    MATRIX_MAPPED           /* sdMemHostAlloc(DEVICEMAP): the kernel works on host memory */
};

/* Host memory of the kind `how`; for MATRIX_MAPPED *dev gets its device address. */
static inline void *matrix_host_alloc(enum matrix_host how, size_t bytes, SDdeviceptr *dev)
{
    void *p = NULL;
    *dev = 0;
    switch (how) {
    case MATRIX_PAGEABLE:
        return suite_malloc(bytes);
    case MATRIX_PINNED:
        CHECK(sdMemAllocHost(&p, bytes));
        break;
    case MATRIX_MAPPED:
        CHECK(sdMemHostAlloc(&p, bytes, SD_MEMHOSTALLOC_DEVICEMAP));
        CHECK(sdMemHostGetDevicePointer(dev, p, 0));
        REQUIRE(*dev != 0);
        break;
    }
    REQUIRE(p != NULL);
    return p;
}

static inline void matrix_host_free(enum matrix_host how, void *p)
{
    if (how == MATRIX_PAGEABLE)
        free(p);
    else
        CHECK(sdMemFreeHost(p));
}

/* Inputs: full-range words for integers (products wrap as on the card);
 * exactly representable values for floats. */
static inline void matrix_fill(enum matrix_op op, enum matrix_elem elem, uint32_t *a, uint32_t *b, size_t count)
{
    size_t i;
    for (i = 0; i < count; i++) {
        if (elem == MATRIX_U32) {
            a[i] = (uint32_t)(i * 2654435761u + 12345u);
            b[i] = (uint32_t)(i * 40503u) ^ 0x9e3779b9u;
        } else {
            float fa, fb;
            if (op == MATRIX_ADD) {
                fa = (float)(i % 1000) * 0.25f;
                fb = (float)((i * 7) % 513) - 256.0f;
            } else {
                fa = (float)(i % 7);
                fb = (float)((i * 3) % 7) - 3.0f;
            }
            memcpy(&a[i], &fa, 4);
            memcpy(&b[i], &fb, 4);
        }
    }
}

/* The expected element (row, col) as raw bits. */
static inline uint32_t matrix_expect(enum matrix_op op, enum matrix_elem elem, const uint32_t *a,
                                     const uint32_t *b, uint32_t n, uint32_t row, uint32_t col)
{
    uint32_t k, bits;
    if (elem == MATRIX_U32) {
        uint32_t sum = 0;
        if (op == MATRIX_ADD)
            return a[row * n + col] + b[row * n + col];
        for (k = 0; k < n; k++)
            sum += a[row * n + k] * b[k * n + col];
        return sum;
    } else {
        float fa, fb, sum = 0.0f;
        if (op == MATRIX_ADD) {
            memcpy(&fa, &a[row * n + col], 4);
            memcpy(&fb, &b[row * n + col], 4);
            sum = fa + fb;
        } else {
            for (k = 0; k < n; k++) {
                memcpy(&fa, &a[row * n + k], 4);
                memcpy(&fb, &b[k * n + col], 4);
                sum += fa * fb;
            }
        }
        memcpy(&bits, &sum, 4);
        return bits;
    }
}

/*
 * The whole program: matrix_main(argc, argv, "madd", MATRIX_ADD, MATRIX_U32,
 * MATRIX_PAGEABLE, 128) runs madd on 128 x 128 matrices unless -n says otherwise.
 */
static inline int matrix_main(int argc, char **argv, const char *kernel, enum matrix_op op,
                              enum matrix_elem elem, enum matrix_host how, unsigned long default_n)
{
    struct suite_opts o = { 0, "matrix.cubin", default_n };
    SDcontext ctx;
    SDmodule mod;
    SDfunction f;
    SDdeviceptr da, db, dc, ma, mb, mc;
    uint32_t *a, *b, *c, n, row, col, grid;
    size_t bytes, count;
    double t0, t1;

    suite_options(argc, argv, &o);
    if (o.size > 2048)
        suite_fail("-n must be at most 2048");
    n = (uint32_t)o.size;
    count = (size_t)n * n;
    bytes = count * sizeof(uint32_t);

    ctx = suite_context(o.dev, how == MATRIX_MAPPED ? SD_CTX_MAP_HOST : 0);
    f = suite_function(&mod, o.image, kernel);

    a = matrix_host_alloc(how, bytes, &ma);
    b = matrix_host_alloc(how, bytes, &mb);
    c = matrix_host_alloc(how, bytes, &mc);
    matrix_fill(op, elem, a, b, count);
    memset(c, 0xa5, bytes);         /* a pattern no result here has, so a skipped store shows */

    if (how == MATRIX_MAPPED) {
        da = ma;
        db = mb;
        dc = mc;
    } else {
        CHECK(sdMemAlloc(&da, bytes));
        CHECK(sdMemAlloc(&db, bytes));
        CHECK(sdMemAlloc(&dc, bytes));
        CHECK(sdMemcpyHtoD(da, a, bytes));
        CHECK(sdMemcpyHtoD(db, b, bytes));
        CHECK(sdMemcpyHtoD(dc, c, bytes));
    }

    /* The parameters by byte offset, as the CUDA ABI lays them out. */
    CHECK(sdFuncSetBlockShape(f, MATRIX_BLOCK, MATRIX_BLOCK, 1));
    CHECK(sdParamSetv(f, 0, &da, sizeof(da)));
    CHECK(sdParamSetv(f, 8, &db, sizeof(db)));
    CHECK(sdParamSetv(f, 16, &dc, sizeof(dc)));
    CHECK(sdParamSeti(f, 24, n));
    CHECK(sdParamSetSize(f, 28));
    grid = (n + MATRIX_BLOCK - 1) / MATRIX_BLOCK;
    t0 = tu_now_ms();
    CHECK(sdLaunchGrid(f, (int)grid, (int)grid));
    CHECK(sdCtxSynchronize());
    t1 = tu_now_ms();

    if (how != MATRIX_MAPPED)
        CHECK(sdMemcpyDtoH(c, dc, bytes));
    for (row = 0; row < n; row++) {
        for (col = 0; col < n; col++) {
            uint32_t want = matrix_expect(op, elem, a, b, n, row, col);
            uint32_t got = c[row * n + col];
            if (got != want) {
                float fg, fw;
                memcpy(&fg, &got, 4);
                memcpy(&fw, &want, 4);
                if (elem == MATRIX_F32)
                    printf("Test failed: %s: c[%u][%u] = %g, expected %g\n", kernel, row, col, fg, fw);
                else
                    printf("Test failed: %s: c[%u][%u] = %u, expected %u\n", kernel, row, col, got, want);
                return 1;
            }
        }
    }

    if (how != MATRIX_MAPPED) {
        CHECK(sdMemFree(dc));
        CHECK(sdMemFree(db));
        CHECK(sdMemFree(da));
    }
    matrix_host_free(how, c);
    matrix_host_free(how, b);
    matrix_host_free(how, a);
    CHECK(sdModuleUnload(mod));
    CHECK(sdCtxDestroy(ctx));
    printf("Test passed: %s %u x %u, kernel %.3f ms\n", kernel, n, n, t1 - t0);
    return 0;
}

#endif /* GDEV_SUITE_MATRIX_H */
