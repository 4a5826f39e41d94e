#include <cstdio>
// Device calls: recursion, function pointers, local arrays passed by pointer, printf in a callee.
__device__ __noinline__ int fib(int n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

__device__ __noinline__ long long tree_sum(const int *v, int lo, int hi)
{
    if (hi - lo == 1) return v[lo];
    int mid = (lo + hi) / 2;
    return tree_sum(v, lo, mid) * 3 + tree_sum(v, mid, hi);
}

extern "C" __global__ void recursion(const int *in, const int *vals, int *fibs, long long *sums, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    fibs[i] = fib(in[i]);
    sums[i] = tree_sum(vals, i, i + 1 + (in[i] & 7));
}

__device__ __noinline__ int op_add(int a, int b) { return a + b; }
__device__ __noinline__ int op_mul(int a, int b) { return a * b; }
__device__ __noinline__ int op_xor(int a, int b) { return a ^ b; }
__device__ __noinline__ int op_sub(int a, int b) { return a - b; }
typedef int (*binop)(int, int);
__device__ binop table[4] = {op_add, op_mul, op_xor, op_sub};

extern "C" __global__ void fn_pointers(const int *sel, const int *a, const int *b, int *out, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    binop f = table[sel[i] & 3];
    out[i] = f(a[i], b[i]);
}

__device__ __noinline__ int fill_and_sum(int *arr, int k, int seed)
{
    for (int j = 0; j < 12; ++j) arr[j] = seed * (j + 1) ^ k;
    int s = 0;
    for (int j = 0; j < 12; ++j) s += arr[(j * 5 + k) % 12];
    return s;
}

extern "C" __global__ void local_by_pointer(const int *in, int *out, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    int arr[12];
    double d[3];
    for (int j = 0; j < 3; ++j) d[j] = in[i] * 0.5 + j;
    int s = fill_and_sum(arr, in[i] & 15, in[i]);
    out[i] = s + arr[in[i] & 7] + (int)d[in[i] % 3 < 0 ? 0 : in[i] % 3];
}

__device__ __noinline__ void report(int who, long long big, double val)
{
    printf("who=%d big=%lld val=%.3f hex=%x\n", who, big, val, who * 255);
}

extern "C" __global__ void printf_callee(int base)
{
    if (threadIdx.x % 16 == 3)
        report(base + blockIdx.x * 100 + threadIdx.x, (long long)base << 33, threadIdx.x * 0.25);
}
