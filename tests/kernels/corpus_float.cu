// Row-wise softmax and layer norm: one block per row, shared-memory tree reductions.
__device__ float block_reduce(float v, float *buf, bool is_max)
{
    int t = threadIdx.x;
    buf[t] = v;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (t < s) buf[t] = is_max ? fmaxf(buf[t], buf[t + s]) : buf[t] + buf[t + s];
        __syncthreads();
    }
    float r = buf[0];
    __syncthreads();
    return r;
}

extern "C" __global__ void softmax_rows(const float *x, float *y, int cols)
{
    __shared__ float buf[256];
    const float *row = x + blockIdx.x * cols;
    float m = -INFINITY;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) m = fmaxf(m, row[c]);
    m = block_reduce(m, buf, true);
    float s = 0.0f;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) s += __expf(row[c] - m);
    s = block_reduce(s, buf, false);
    for (int c = threadIdx.x; c < cols; c += blockDim.x)
        y[blockIdx.x * cols + c] = expf(row[c] - m) / s;
}

extern "C" __global__ void layernorm_rows(const float *x, const float *gamma, const float *beta,
                                          float *y, int cols, float eps)
{
    __shared__ float buf[256];
    const float *row = x + blockIdx.x * cols;
    float s = 0.0f;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) s += row[c];
    float mean = block_reduce(s, buf, false) / cols;
    float v = 0.0f;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) { float d = row[c] - mean; v += d * d; }
    float inv = rsqrtf(block_reduce(v, buf, false) / cols + eps);
    for (int c = threadIdx.x; c < cols; c += blockDim.x)
        y[blockIdx.x * cols + c] = (row[c] - mean) * inv * gamma[c] + beta[c];
}

// Single-precision library math and rounding intrinsics.
extern "C" __global__ void float_lib(const float *x, float *out, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float a = x[i];
    out[8 * i + 0] = tanhf(a);
    out[8 * i + 1] = logf(fabsf(a) + 1.0f);
    out[8 * i + 2] = powf(fabsf(a), 1.5f);
    out[8 * i + 3] = atan2f(a, 1.5f);
    out[8 * i + 4] = __fadd_rz(a, 0.1f);
    out[8 * i + 5] = __fmul_ru(a, 3.3f);
    out[8 * i + 6] = __fdiv_rd(a, 7.0f);
    out[8 * i + 7] = copysignf(fminf(fabsf(a), 2.0f), -a) + __saturatef(a);
}
