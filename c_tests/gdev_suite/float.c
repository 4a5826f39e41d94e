/*
 * float.c - float kernel parameters through sdParamSetf.
 *
 *   float [-d<dev>] [-f<busy.cubin>] [-n<elements>]     (default -d0 -n4099)
 *
 * scale(out, a, b, n) stores a * i + b; several (a, b) pairs, including
 * negative and fractional ones, go through sdParamSetf and an SDAA array
 * launch (sdLaunch), and every element is compared exactly (the values are
 * representable, so no rounding can differ between host and card).
 */
#include "suite.h"

static const float pairs[][2] = {
    { 0.5f, -3.25f },
    { -2.0f, 1024.0f },
    { 0.0f, 7.125f },
    { 1.0f / 1024.0f, 0.0f },
};

int main(int argc, char **argv)
{
    struct suite_opts o = { 0, "busy.cubin", 4099 };
    SDcontext ctx;
    SDmodule mod;
    SDfunction f;
    SDdeviceptr dout;
    float *out;
    unsigned int n, i, p;
    int arrays = 0;

    suite_options(argc, argv, &o);
    if (o.size > (1ul << 22))
        suite_fail("-n must be at most 4194304");   /* a * i stays exact below 2^24 */
    n = (unsigned int)o.size;
    ctx = suite_context(o.dev, 0);
    f = suite_function(&mod, o.image, "scale");
    CHECK(sdDeviceGetAttribute(&arrays, SD_DEVICE_ATTRIBUTE_SPE_ARRAY_COUNT, o.dev));
    REQUIRE(arrays > 0);

    out = suite_malloc((size_t)n * sizeof(float));
    CHECK(sdMemAlloc(&dout, (size_t)n * sizeof(float)));
    for (p = 0; p < sizeof(pairs) / sizeof(pairs[0]); p++) {
        float a = pairs[p][0], b = pairs[p][1];
        CHECK(sdMemsetD32(dout, 0x7fc00000u, n));      /* NaN: never a result */
        CHECK(sdParamSetv(f, 0, &dout, sizeof(dout)));
        CHECK(sdParamSetf(f, 8, a));
        CHECK(sdParamSetf(f, 12, b));
        CHECK(sdParamSeti(f, 16, n));
        CHECK(sdParamSetSize(f, 20));
        CHECK(sdLaunch(f, arrays, NULL));
        CHECK(sdMemcpyDtoH(out, dout, (size_t)n * sizeof(float)));
        for (i = 0; i < n; i++) {
            float want = a * (float)i + b;
            if (memcmp(&out[i], &want, sizeof(float)) != 0) {
                printf("Test failed: a=%g b=%g: out[%u] = %g, expected %g\n", a, b, i, out[i], want);
                return 1;
            }
        }
    }
    CHECK(sdMemFree(dout));
    CHECK(sdModuleUnload(mod));
    CHECK(sdCtxDestroy(ctx));
    free(out);
    printf("Test passed: %u elements, %u parameter pairs\n", n, (unsigned)(sizeof(pairs) / sizeof(pairs[0])));
    return 0;
}
