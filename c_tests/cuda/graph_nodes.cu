// Graphs built node by node: copy, fill, kernel, host and empty nodes with dependencies
// given at creation and added afterwards, instantiated and launched twice; kernel
// arguments are those of node creation, copies read the host memory of each launch.
#include "check.h"

__global__ void axpy(int *y, const int *x, int a, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        y[i] += a * x[i];
}

__global__ void times(int *y, int k, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        y[i] *= k;
}

static void count_calls(void *p) { ++*static_cast<int *>(p); }

int main()
{
    const int n = 300;
    int hx[n], hy[n];
    for (int i = 0; i < n; i++)
        hx[i] = i;
    int *dx = nullptr, *dy = nullptr;
    CUDA_OK(cudaMalloc(&dx, n * sizeof(int)));
    CUDA_OK(cudaMalloc(&dy, n * sizeof(int)));

    cudaGraph_t g;
    CUDA_OK(cudaGraphCreate(&g, 0));
    cudaGraphNode_t copy_in, fill, k1, k2, host, copy_out, join;
    // k2 first, with no dependencies: it is ordered after k1 by an edge added later
    int k = 10, nn = n;
    void *k2_args[] = {&dy, &k, &nn};
    cudaKernelNodeParams kp = {};
    kp.func = (void *)times;
    kp.gridDim = dim3((n + 127) / 128);
    kp.blockDim = dim3(128);
    kp.kernelParams = k2_args;
    CUDA_OK(cudaGraphAddKernelNode(&k2, g, nullptr, 0, &kp));
    k = 1000;                                           // the node keeps the value of its creation

    CUDA_OK(cudaGraphAddMemcpyNode1D(&copy_in, g, nullptr, 0, dx, hx, n * sizeof(int), cudaMemcpyHostToDevice));
    cudaMemsetParams mp = {};
    mp.dst = dy;
    mp.value = 3;
    mp.elementSize = 4;
    mp.width = n;
    mp.height = 1;
    CUDA_OK(cudaGraphAddMemsetNode(&fill, g, nullptr, 0, &mp));
    int a = 2;
    void *k1_args[] = {&dy, &dx, &a, &nn};
    kp.func = (void *)axpy;
    kp.kernelParams = k1_args;
    cudaGraphNode_t before_k1[] = {copy_in, fill};
    CUDA_OK(cudaGraphAddKernelNode(&k1, g, before_k1, 2, &kp));
    CUDA_OK(cudaGraphAddDependencies(g, &k1, &k2, nullptr, 1));

    int calls = 0;
    cudaHostNodeParams hp = {count_calls, &calls};
    CUDA_OK(cudaGraphAddHostNode(&host, g, &k2, 1, &hp));
    cudaMemcpy3DParms cp = {};
    cp.srcPtr = make_cudaPitchedPtr(dy, n * sizeof(int), n * sizeof(int), 1);
    cp.dstPtr = make_cudaPitchedPtr(hy, n * sizeof(int), n * sizeof(int), 1);
    cp.extent = make_cudaExtent(n * sizeof(int), 1, 1);
    cp.kind = cudaMemcpyDeviceToHost;
    CUDA_OK(cudaGraphAddMemcpyNode(&copy_out, g, &k2, 1, &cp));
    cudaGraphNode_t ends[] = {host, copy_out};
    CUDA_OK(cudaGraphAddEmptyNode(&join, g, ends, 2));
    size_t count = 0;
    CUDA_OK(cudaGraphGetNodes(g, nullptr, &count));
    EXPECT(count == 7);

    cudaGraphExec_t exec;
    CUDA_OK(cudaGraphInstantiate(&exec, g, 0));
    cudaStream_t s;
    CUDA_OK(cudaStreamCreate(&s));
    CUDA_OK(cudaGraphLaunch(exec, s));
    CUDA_OK(cudaStreamSynchronize(s));
    for (int i = 0; i < n; i++)
        EXPECT(hy[i] == (3 + 2 * i) * 10);
    EXPECT(calls == 1);
    for (int i = 0; i < n; i++)                       // the copy node reads them at each launch
        hx[i] = 1;
    CUDA_OK(cudaGraphLaunch(exec, s));
    CUDA_OK(cudaStreamSynchronize(s));
    EXPECT(hy[0] == 50 && hy[n - 1] == 50 && calls == 2);

    // bad nodes and edges
    cudaGraphNode_t bad = nullptr, stray = reinterpret_cast<cudaGraphNode_t>(0x1234);
    EXPECT_CODE(cudaGraphAddEmptyNode(&bad, g, &stray, 1), cudaErrorInvalidValue);
    EXPECT_CODE(cudaGraphAddEmptyNode(&bad, g, nullptr, 1), cudaErrorInvalidValue);
    EXPECT_CODE(cudaGraphAddDependencies(g, &k1, &k2, nullptr, 1), cudaErrorInvalidValue);   // exists
    mp.elementSize = 3;
    EXPECT_CODE(cudaGraphAddMemsetNode(&bad, g, nullptr, 0, &mp), cudaErrorInvalidValue);
    kp.kernelParams = nullptr;
    EXPECT_CODE(cudaGraphAddKernelNode(&bad, g, nullptr, 0, &kp), cudaErrorInvalidValue);
    CUDA_OK(cudaGraphAddDependencies(g, &join, &copy_in, nullptr, 1));                   // a cycle
    cudaGraphExec_t none;
    EXPECT_CODE(cudaGraphInstantiate(&none, g, 0), cudaErrorInvalidValue);
    EXPECT_CODE(cudaGetLastError(), cudaErrorInvalidValue);

    CUDA_OK(cudaGraphExecDestroy(exec));
    CUDA_OK(cudaGraphDestroy(g));
    CUDA_OK(cudaStreamDestroy(s));
    CUDA_OK(cudaFree(dx));
    CUDA_OK(cudaFree(dy));
    return test_passed();
}
