extern "C" __global__ void float_math(const float *x, const float *y, float *out, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float a = x[i], b = y[i];
    float r = sqrtf(fabsf(a)) + expf(-fabsf(b)) * sinf(a);
    r = fmaf(a, b, r);
    r += a / (fabsf(b) + 1.0f);
    r = fminf(r, 100.0f) + fmaxf(a, b);
    out[i] = r;
}
