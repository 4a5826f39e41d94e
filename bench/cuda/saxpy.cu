// out = a * x + y over n floats; a fixed grid strides through any n.
extern "C" __global__ void saxpy_stride(int n, float a, const float *x, const float *y, float *out)
{
    int stride = gridDim.x * blockDim.x;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        out[i] = a * x[i] + y[i];
}
