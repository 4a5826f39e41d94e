// Each 1024-thread block sorts its 1024 ints ascending with a bitonic network in
// shared memory: one compare-exchange per thread and stage, a barrier after each.
#define BLOCK 1024

extern "C" __global__ void bitonic_sort1024(const int *in, int *out)
{
    __shared__ int s[BLOCK];
    unsigned t = threadIdx.x;
    size_t base = (size_t)blockIdx.x * BLOCK;
    s[t] = in[base + t];
    __syncthreads();
    for (unsigned k = 2; k <= BLOCK; k <<= 1) {
        for (unsigned j = k >> 1; j > 0; j >>= 1) {
            unsigned partner = t ^ j;
            if (partner > t) {
                int a = s[t], b = s[partner];
                bool ascending = (t & k) == 0;
                if ((a > b) == ascending) {
                    s[t] = b;
                    s[partner] = a;
                }
            }
            __syncthreads();
        }
    }
    out[base + t] = s[t];
}
