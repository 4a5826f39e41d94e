// Graphs built node by node through the driver API: a diamond (a copy in, two kernels on
// the two halves, a host node that reads both kernels' results from managed memory, a
// copy out) launched several times; edges listed, removed and added again, a clone, a
// node removed, kernel node parameters read and replaced; bad nodes and edges refused.
//   graph_nodes DIR    (DIR holds kernels.ptx)
#include <string>
#include <vector>

#include "check.h"

static const int N = 1024;
static float *observed;              // managed: the host node reads what the kernels wrote
static float expect_lo, expect_hi;   // the factors the kernels applied this launch
static int round_no, checks, bad_checks;

static void CUDA_CB observe(void *)
{
    checks++;
    for (int i = 0; i < N; i++) {
        float want = (float)(i * round_no) * (i < N / 2 ? expect_lo : expect_hi);
        if (observed[i] != want) {
            std::fprintf(stderr, "host node: x[%d] = %g, want %g\n", i, observed[i], want);
            bad_checks++;
            return;
        }
    }
}

static CUDA_KERNEL_NODE_PARAMS scale_params(CUfunction f, CUdeviceptr *x, float *a, int *n, void **args)
{
    args[0] = x;
    args[1] = a;
    args[2] = n;
    CUDA_KERNEL_NODE_PARAMS p = {};
    p.func = f;
    p.gridDimX = (*n + 127) / 128;
    p.gridDimY = p.gridDimZ = 1;
    p.blockDimX = 128;
    p.blockDimY = p.blockDimZ = 1;
    p.kernelParams = args;
    return p;
}

static size_t count_edges(CUgraph g)
{
    size_t n = 0;
    CU_OK(cuGraphGetEdges(g, NULL, NULL, NULL, &n));
    return n;
}

static void launch_rounds(CUgraphExec exec, CUstream s, std::vector<float> &src, std::vector<float> &out,
                          int first, int last)
{
    for (round_no = first; round_no <= last; round_no++) {
        for (int i = 0; i < N; i++)
            src[i] = (float)(i * round_no);          // the copy node reads the host buffer at each launch
        CU_OK(cuGraphLaunch(exec, s));
        CU_OK(cuStreamSynchronize(s));
        for (int i = 0; i < N; i++)
            EXPECT(out[i] == src[i] * (i < N / 2 ? expect_lo : expect_hi));
    }
}

int main(int argc, char **argv)
{
    EXPECT(argc == 2);
    std::string dir = argv[1];
    CUdevice dev = use_primary_context();
    CUmodule mod;
    CU_OK(cuModuleLoad(&mod, (dir + "/kernels.ptx").c_str()));
    CUfunction scale;
    CU_OK(cuModuleGetFunction(&scale, mod, "scale"));
    CUdeviceptr x;
    CU_OK(cuMemAllocManaged(&x, N * sizeof(float), CU_MEM_ATTACH_GLOBAL));
    observed = (float *)x;
    std::vector<float> src(N), out(N);

    CUgraph g;
    CU_OK(cuGraphCreate(&g, 0));
    // top: the host vector into x
    CUDA_MEMCPY3D cp = {};
    cp.srcMemoryType = CU_MEMORYTYPE_HOST;
    cp.srcHost = src.data();
    cp.srcPitch = N * sizeof(float);
    cp.dstMemoryType = CU_MEMORYTYPE_UNIFIED;
    cp.dstDevice = x;
    cp.dstPitch = N * sizeof(float);
    cp.WidthInBytes = N * sizeof(float);
    cp.Height = cp.Depth = 1;
    CUgraphNode top, left, right, bottom, copy_out;
    CU_OK(cuGraphAddMemcpyNode(&top, g, NULL, 0, &cp, NULL));
    // the two sides: each half scaled by its own factor (arguments copied at node creation)
    CUdeviceptr lo = x, hi = x + N / 2 * sizeof(float);
    float two = 2.0f, three = 3.0f;
    int half = N / 2;
    void *largs[3], *rargs[3];
    CUDA_KERNEL_NODE_PARAMS lp = scale_params(scale, &lo, &two, &half, largs);
    CUDA_KERNEL_NODE_PARAMS rp = scale_params(scale, &hi, &three, &half, rargs);
    CU_OK(cuGraphAddKernelNode(&left, g, &top, 1, &lp));
    CU_OK(cuGraphAddKernelNode(&right, g, &top, 1, &rp));
    two = three = 100.0f;
    // bottom: the host node after the left side only, for now; the copy out after both
    CUDA_HOST_NODE_PARAMS hp = {observe, NULL};
    CU_OK(cuGraphAddHostNode(&bottom, g, &left, 1, &hp));
    CUgraphNode sides[] = {left, right};
    cp.srcMemoryType = CU_MEMORYTYPE_DEVICE;
    cp.srcDevice = x;
    cp.srcHost = NULL;
    cp.dstMemoryType = CU_MEMORYTYPE_HOST;
    cp.dstHost = out.data();
    cp.dstDevice = 0;
    CU_OK(cuGraphAddMemcpyNode(&copy_out, g, sides, 2, &cp, NULL));

    // edges: top->left, top->right, left->bottom, left->copy_out, right->copy_out; then right->bottom
    EXPECT(count_edges(g) == 5);
    CU_OK(cuGraphAddDependencies(g, &right, &bottom, NULL, 1));
    EXPECT(count_edges(g) == 6);
    std::vector<CUgraphNode> from(8), to(8);
    size_t n = 8;
    CU_OK(cuGraphGetEdges(g, from.data(), to.data(), NULL, &n));
    EXPECT(n == 6 && from[6] == NULL && to[7] == NULL);
    int into_bottom = 0;
    for (size_t i = 0; i < n; i++)
        into_bottom += to[i] == bottom && (from[i] == left || from[i] == right);
    EXPECT(into_bottom == 2);
    CUgraphNode deps[4];
    n = 4;
    CU_OK(cuGraphNodeGetDependencies(bottom, deps, NULL, &n));
    EXPECT(n == 2);
    n = 4;
    CU_OK(cuGraphNodeGetDependentNodes(top, deps, NULL, &n));
    EXPECT(n == 2 && ((deps[0] == left && deps[1] == right) || (deps[0] == right && deps[1] == left)));
    n = 4;
    CU_OK(cuGraphGetRootNodes(g, deps, &n));
    EXPECT(n == 1 && deps[0] == top);
    CUgraphNodeType type;
    CU_OK(cuGraphNodeGetType(top, &type));
    EXPECT(type == CU_GRAPH_NODE_TYPE_MEMCPY);
    CU_OK(cuGraphNodeGetType(bottom, &type));
    EXPECT(type == CU_GRAPH_NODE_TYPE_HOST);
    CU_OK(cuGraphNodeGetType(right, &type));
    EXPECT(type == CU_GRAPH_NODE_TYPE_KERNEL);

    CUstream s;
    CU_OK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
    CUgraphExec exec;
    CU_OK(cuGraphInstantiate(&exec, g, 0));
    expect_lo = 2.0f;
    expect_hi = 3.0f;
    launch_rounds(exec, s, src, out, 1, 3);
    EXPECT(checks == 3 && bad_checks == 0);

    // the left kernel's factor read back and replaced in the graph; a new executable has it
    CUDA_KERNEL_NODE_PARAMS got;
    CU_OK(cuGraphKernelNodeGetParams(left, &got));
    EXPECT(got.func == scale && *(float *)got.kernelParams[1] == 2.0f && *(int *)got.kernelParams[2] == half);
    *(float *)got.kernelParams[1] = 5.0f;
    CU_OK(cuGraphKernelNodeSetParams(left, &got));
    launch_rounds(exec, s, src, out, 4, 4);          // the executable keeps its own parameters
    CUgraphExec exec5;
    CU_OK(cuGraphInstantiate(&exec5, g, 0));
    expect_lo = 5.0f;
    launch_rounds(exec5, s, src, out, 5, 6);
    EXPECT(checks == 6 && bad_checks == 0);

    // a clone runs the same work; an extra node of it removed with its edges
    CUgraph copy;
    CU_OK(cuGraphClone(&copy, g));
    CUgraphNode cbottom, extra;
    CU_OK(cuGraphNodeFindInClone(&cbottom, bottom, copy));
    EXPECT(cbottom != bottom);
    CU_OK(cuGraphAddEmptyNode(&extra, copy, &cbottom, 1));
    EXPECT(count_edges(copy) == 7);
    CU_OK(cuGraphDestroyNode(extra));
    EXPECT(count_edges(copy) == 6 && count_edges(g) == 6);
    EXPECT_CODE(cuGraphDestroyNode(extra), CUDA_ERROR_INVALID_VALUE);
    CUgraphExec cexec;
    CU_OK(cuGraphInstantiate(&cexec, copy, 0));
    launch_rounds(cexec, s, src, out, 7, 8);
    round_no = 8;                                     // the same host vector again
    CU_OK(cuGraphLaunch(cexec, NULL));               // on the default stream too
    CU_OK(cuCtxSynchronize());
    EXPECT(checks == 9 && bad_checks == 0);

    // an edge removed and added back; removing one that is not there is refused
    CU_OK(cuGraphRemoveDependencies(g, &right, &bottom, NULL, 1));
    EXPECT(count_edges(g) == 5);
    EXPECT_CODE(cuGraphRemoveDependencies(g, &right, &bottom, NULL, 1), CUDA_ERROR_INVALID_VALUE);
    CU_OK(cuGraphAddDependencies(g, &right, &bottom, NULL, 1));
    EXPECT_CODE(cuGraphAddDependencies(g, &right, &bottom, NULL, 1), CUDA_ERROR_INVALID_VALUE);

    // bad nodes, parameters and edges: CUDA's codes, nothing added
    CUgraphNode bad = NULL, stray = (CUgraphNode)0x1234;
    EXPECT_CODE(cuGraphAddEmptyNode(&bad, g, NULL, 1), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuGraphAddEmptyNode(&bad, g, &stray, 1), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuGraphAddEmptyNode(NULL, g, NULL, 0), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuGraphAddEmptyNode(&bad, NULL, NULL, 0), CUDA_ERROR_INVALID_VALUE);
    CUDA_MEMSET_NODE_PARAMS mp = {};
    mp.dst = x;
    mp.elementSize = 3;
    mp.width = 4;
    mp.height = 1;
    EXPECT_CODE(cuGraphAddMemsetNode(&bad, g, NULL, 0, &mp, NULL), CUDA_ERROR_INVALID_VALUE);
    mp.elementSize = 4;
    mp.width = 64 * N;                                // far past the allocation
    EXPECT_CODE(cuGraphAddMemsetNode(&bad, g, NULL, 0, &mp, NULL), CUDA_ERROR_INVALID_VALUE);
    cp.dstMemoryType = CU_MEMORYTYPE_ARRAY;
    EXPECT_CODE(cuGraphAddMemcpyNode(&bad, g, NULL, 0, &cp, NULL), CUDA_ERROR_NOT_SUPPORTED);
    cp.dstMemoryType = (CUmemorytype)9;
    EXPECT_CODE(cuGraphAddMemcpyNode(&bad, g, NULL, 0, &cp, NULL), CUDA_ERROR_INVALID_VALUE);
    cp.dstMemoryType = CU_MEMORYTYPE_HOST;
    cp.WidthInBytes = 64 * N * sizeof(float);         // reads far past x
    cp.srcPitch = cp.dstPitch = cp.WidthInBytes;
    EXPECT_CODE(cuGraphAddMemcpyNode(&bad, g, NULL, 0, &cp, NULL), CUDA_ERROR_INVALID_VALUE);
    hp.fn = NULL;
    EXPECT_CODE(cuGraphAddHostNode(&bad, g, NULL, 0, &hp), CUDA_ERROR_INVALID_VALUE);
    lp.func = (CUfunction)&lp;
    EXPECT_CODE(cuGraphAddKernelNode(&bad, g, NULL, 0, &lp), CUDA_ERROR_INVALID_HANDLE);
    CUgraphEdgeData data = {};
    data.type = 1;                                    // a programmatic edge
    EXPECT_CODE(cuGraphAddDependencies(g, &top, &bottom, &data, 1), CUDA_ERROR_NOT_SUPPORTED);
    EXPECT_CODE(cuGraphAddDependencies(g, NULL, &bottom, NULL, 1), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuGraphNodeFindInClone(&bad, bottom, g), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuGraphGetEdges(g, NULL, NULL, NULL, NULL), CUDA_ERROR_INVALID_VALUE);
    size_t nodes = 0;
    CU_OK(cuGraphGetNodes(g, NULL, &nodes));
    EXPECT(nodes == 5);
    // a cycle is refused when instantiated
    CU_OK(cuGraphAddDependencies(g, &copy_out, &top, NULL, 1));
    CUgraphExec none;
    EXPECT_CODE(cuGraphInstantiate(&none, g, 0), CUDA_ERROR_INVALID_VALUE);

    CU_OK(cuGraphExecDestroy(exec));
    CU_OK(cuGraphExecDestroy(exec5));
    CU_OK(cuGraphExecDestroy(cexec));
    CU_OK(cuGraphDestroy(copy));
    CU_OK(cuGraphDestroy(g));
    EXPECT_CODE(cuGraphNodeGetType(top, &type), CUDA_ERROR_INVALID_VALUE);
    CU_OK(cuStreamDestroy(s));
    CU_OK(cuMemFree(x));
    CU_OK(cuModuleUnload(mod));
    CU_OK(cuDevicePrimaryCtxRelease(dev));
    return test_passed();
}
