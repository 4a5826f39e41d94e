// Double precision: IEEE-exact operations (fma, div, sqrt, rcp) and library math.
extern "C" __global__ void double_ops(const double *a, const double *b, const double *c, double *out, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    double x = a[i], y = b[i], z = c[i];
    out[8 * i + 0] = fma(x, y, z);
    out[8 * i + 1] = x / y;
    out[8 * i + 2] = sqrt(fabs(x));
    out[8 * i + 3] = __drcp_rn(y) + __dadd_rz(x, z);
    out[8 * i + 4] = __dmul_ru(x, y) - __ddiv_rd(x, z);
    out[8 * i + 5] = __fma_rz(x, y, z);
    out[8 * i + 6] = exp(x * 0.01) + log(fabs(y) + 1.0);
    out[8 * i + 7] = (double)(long long)(x * 1e6) + floor(y) + fmin(x, z) - fmax(y, z);
}

// Kahan-compensated dot product per block (checks exact rounding of every add).
extern "C" __global__ void kahan_dot(const double *a, const double *b, double *out, int n)
{
    if (threadIdx.x != 0) return;
    double s = 0.0, comp = 0.0;
    for (int i = blockIdx.x; i < n; i += gridDim.x) {
        double yv = a[i] * b[i] - comp;
        double t = s + yv;
        comp = (t - s) - yv;
        s = t;
    }
    out[blockIdx.x] = s;
}
