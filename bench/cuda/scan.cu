// Inclusive prefix sums of each 1024-int block (Hillis-Steele): log2(1024) steps,
// double-buffered in shared memory so no step reads what it writes.
#define BLOCK 1024

extern "C" __global__ void scan_hillis_steele1024(const int *in, int *out)
{
    __shared__ int buf[2][BLOCK];
    unsigned t = threadIdx.x;
    size_t base = (size_t)blockIdx.x * BLOCK;
    int cur = 0;
    buf[cur][t] = in[base + t];
    __syncthreads();
    for (unsigned offset = 1; offset < BLOCK; offset <<= 1) {
        int v = buf[cur][t];
        if (t >= offset)
            v += buf[cur][t - offset];
        buf[1 - cur][t] = v;
        cur = 1 - cur;
        __syncthreads();
    }
    out[base + t] = buf[cur][t];
}
