extern "C" __global__ void branches(const int *in, int *out, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    int v = in[i];
    if (v < 0) { out[i] = -1; return; }
    int acc = 0;
    for (int k = 0; k < v; ++k) {
        if (k & 1) acc += k * 3;
        else acc ^= k;
    }
    if (acc > 100) acc = acc % 97;
    else acc = acc * 2;
    out[i] = acc;
}
