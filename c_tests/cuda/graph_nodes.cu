// Graphs built node by node: copy, fill, kernel, host and empty nodes with dependencies
// given at creation and added afterwards, instantiated and launched twice; kernel
// arguments are those of node creation, copies read the host memory of each launch.
// A diamond (a fill, two kernels on the two halves, a host node reading both results from
// managed memory) launched several times, its edges listed, removed and added back, a
// clone with a node removed.
#include <vector>

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

static const int M = 512;
static int *managed_y;
static int diamond_round, diamond_seen, diamond_bad;

// the bottom of the diamond: both kernels have run when it does
static void observe(void *)
{
    diamond_seen++;
    for (int i = 0; i < M; i++)
        if (managed_y[i] != diamond_round * (i < M / 2 ? 2 : 3)) {
            std::fprintf(stderr, "host node: y[%d] = %d in round %d\n", i, managed_y[i], diamond_round);
            diamond_bad++;
            return;
        }
}

static size_t edge_count(cudaGraph_t g)
{
    size_t n = 0;
    CUDA_OK(cudaGraphGetEdges(g, nullptr, nullptr, nullptr, &n));
    return n;
}

static void run_round(cudaGraphExec_t exec, cudaStream_t s, std::vector<int> &rounds, int r)
{
    diamond_round = r;
    for (int &v : rounds)
        v = r;                                        // what the copy node reads at this launch
    CUDA_OK(cudaGraphLaunch(exec, s));
    CUDA_OK(cudaStreamSynchronize(s));
}

static void diamond()
{
    CUDA_OK(cudaMallocManaged(&managed_y, M * sizeof(int)));
    std::vector<int> rounds(M / 2);
    int *d_rounds = nullptr;
    CUDA_OK(cudaMalloc(&d_rounds, M / 2 * sizeof(int)));
    cudaGraph_t g;
    CUDA_OK(cudaGraphCreate(&g, 0));
    // two roots (the round's vector copied in, y zeroed) joined by the top of the diamond
    cudaGraphNode_t vec, fill, top, left, right, bottom;
    CUDA_OK(cudaGraphAddMemcpyNode1D(&vec, g, nullptr, 0, d_rounds, rounds.data(), M / 2 * sizeof(int),
                                     cudaMemcpyHostToDevice));
    cudaMemsetParams mp = {};
    mp.dst = managed_y;
    mp.elementSize = 4;
    mp.width = M;
    mp.height = 1;
    CUDA_OK(cudaGraphAddMemsetNode(&fill, g, nullptr, 0, &mp));
    cudaGraphNode_t roots_in[] = {vec, fill};
    CUDA_OK(cudaGraphAddEmptyNode(&top, g, roots_in, 2));
    // the sides: y[half] += factor * round
    int half = M / 2, two = 2, three = 3;
    int *lo = managed_y, *hi = managed_y + M / 2;
    void *largs[] = {&lo, &d_rounds, &two, &half};
    void *rargs[] = {&hi, &d_rounds, &three, &half};
    cudaKernelNodeParams kp = {};
    kp.func = (void *)axpy;
    kp.gridDim = dim3((M / 2 + 127) / 128);
    kp.blockDim = dim3(128);
    kp.kernelParams = largs;
    CUDA_OK(cudaGraphAddKernelNode(&left, g, &top, 1, &kp));
    kp.kernelParams = rargs;
    CUDA_OK(cudaGraphAddKernelNode(&right, g, &top, 1, &kp));
    // the bottom: after the left side at creation, after the right one by an edge added later
    cudaHostNodeParams hp = {observe, nullptr};
    CUDA_OK(cudaGraphAddHostNode(&bottom, g, &left, 1, &hp));
    CUDA_OK(cudaGraphAddDependencies(g, &right, &bottom, nullptr, 1));
    EXPECT(edge_count(g) == 6);
    size_t n = 8;
    cudaGraphNode_t list[8], from[8], to[8];
    CUDA_OK(cudaGraphGetRootNodes(g, list, &n));
    EXPECT(n == 2 && list[0] == vec && list[1] == fill);
    n = 8;
    CUDA_OK(cudaGraphNodeGetDependencies(bottom, list, nullptr, &n));
    EXPECT(n == 2 && list[0] == left && list[1] == right);
    n = 8;
    CUDA_OK(cudaGraphNodeGetDependentNodes(top, list, nullptr, &n));
    EXPECT(n == 2 && list[0] == left && list[1] == right);
    n = 3;                                            // a short array gets the first edges
    CUDA_OK(cudaGraphGetEdges(g, from, to, nullptr, &n));
    EXPECT(n == 3 && from[0] == vec && to[0] == top && to[2] == left);

    cudaStream_t s;
    CUDA_OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    cudaGraphExec_t exec;
    CUDA_OK(cudaGraphInstantiate(&exec, g, 0));
    for (int r = 1; r <= 3; r++)
        run_round(exec, s, rounds, r);
    EXPECT(diamond_seen == 3 && diamond_bad == 0);

    // the edge into the host node removed and added back; a missing one is refused
    CUDA_OK(cudaGraphRemoveDependencies(g, &right, &bottom, nullptr, 1));
    EXPECT(edge_count(g) == 5);
    EXPECT_CODE(cudaGraphRemoveDependencies(g, &right, &bottom, nullptr, 1), cudaErrorInvalidValue);
    CUDA_OK(cudaGraphAddDependencies(g, &right, &bottom, nullptr, 1));

    // a clone, with an extra node removed again, runs the same work
    cudaGraph_t copy;
    CUDA_OK(cudaGraphClone(&copy, g));
    cudaGraphNode_t cbottom, extra;
    CUDA_OK(cudaGraphNodeFindInClone(&cbottom, bottom, copy));
    EXPECT(cbottom != bottom);
    CUDA_OK(cudaGraphAddEmptyNode(&extra, copy, &cbottom, 1));
    EXPECT(edge_count(copy) == 7);
    CUDA_OK(cudaGraphDestroyNode(extra));
    EXPECT(edge_count(copy) == 6 && edge_count(g) == 6);
    EXPECT_CODE(cudaGraphDestroyNode(extra), cudaErrorInvalidValue);
    EXPECT_CODE(cudaGraphNodeFindInClone(&extra, bottom, g), cudaErrorInvalidValue);
    cudaGraphNodeType type;
    CUDA_OK(cudaGraphNodeGetType(cbottom, &type));
    EXPECT(type == cudaGraphNodeTypeHost);
    cudaGraphExec_t cexec;
    CUDA_OK(cudaGraphInstantiate(&cexec, copy, 0));
    run_round(cexec, s, rounds, 4);
    run_round(cexec, s, rounds, 5);
    EXPECT(diamond_seen == 5 && diamond_bad == 0);

    CUDA_OK(cudaGraphExecDestroy(exec));
    CUDA_OK(cudaGraphExecDestroy(cexec));
    CUDA_OK(cudaGraphDestroy(copy));
    CUDA_OK(cudaGraphDestroy(g));
    CUDA_OK(cudaStreamDestroy(s));
    CUDA_OK(cudaFree(d_rounds));
    CUDA_OK(cudaFree(managed_y));
}

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
    diamond();
    return test_passed();
}
