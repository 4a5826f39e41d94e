// A module variable initialised with the address of another one.
__device__ int value[4] = {1, 2, 3, 4};
__device__ int *ptr = &value[1];

extern "C" __global__ void read_through(int *out)
{
    out[0] = *ptr;
}
