// CUDA graphs through the driver API: a stream's work captured once (fills, copies, a
// kernel, a host function, a second stream forked and joined by events) and replayed
// many times; the capture rules' codes (the default stream, a synchronisation during
// capture, an unjoined fork, a second begin); graphs and executables destroyed; a graph
// launched again with new arguments: kernel node parameters read and changed, an
// executable updated from the work captured again.
//   graphs DIR    (DIR holds kernels.ptx)
#include <string>
#include <vector>

#include "check.h"

static CUmodule mod;
static int replays = 0;
static void CUDA_CB count(void *) { replays++; }

static void launch_scale(CUstream s, CUdeviceptr x, float a, int n)
{
    CUfunction f;
    CU_OK(cuModuleGetFunction(&f, mod, "scale"));
    void *params[] = {&x, &a, &n};
    CU_OK(cuLaunchKernel(f, (n + 127) / 128, 1, 1, 128, 1, 1, 0, s, params, NULL));
}

static void capture_and_replay(void)
{
    const int n = 2048;
    CUstream s, side;
    CU_OK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
    CU_OK(cuStreamCreate(&side, CU_STREAM_NON_BLOCKING));
    CUevent forked, joined;
    CU_OK(cuEventCreate(&forked, CU_EVENT_DISABLE_TIMING));
    CU_OK(cuEventCreate(&joined, CU_EVENT_DISABLE_TIMING));
    CUdeviceptr x, y;
    CU_OK(cuMemAlloc(&x, n * sizeof(float)));
    CU_OK(cuMemAlloc(&y, n * sizeof(float)));
    std::vector<float> src(n), out_x(n), out_y(n);
    for (int i = 0; i < n; i++)
        src[i] = (float)i;

    CUstreamCaptureStatus status;
    CU_OK(cuStreamIsCapturing(s, &status));
    EXPECT(status == CU_STREAM_CAPTURE_STATUS_NONE);
    CU_OK(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_GLOBAL));
    CU_OK(cuStreamIsCapturing(s, &status));
    EXPECT(status == CU_STREAM_CAPTURE_STATUS_ACTIVE);
    CU_OK(cuMemcpyHtoDAsync(x, src.data(), n * sizeof(float), s));
    CU_OK(cuEventRecord(forked, s));
    CU_OK(cuStreamWaitEvent(side, forked, 0));          // side joins the capture
    CU_OK(cuStreamIsCapturing(side, &status));
    EXPECT(status == CU_STREAM_CAPTURE_STATUS_ACTIVE);
    CU_OK(cuMemsetD32Async(y, 0x3f800000, n, side));     // 1.0f
    launch_scale(side, y, 5.0f, n);
    CU_OK(cuEventRecord(joined, side));
    launch_scale(s, x, 2.0f, n);
    CU_OK(cuStreamWaitEvent(s, joined, 0));             // joined back
    CU_OK(cuMemcpyDtoHAsync(out_x.data(), x, n * sizeof(float), s));
    CU_OK(cuMemcpyDtoHAsync(out_y.data(), y, n * sizeof(float), s));
    CU_OK(cuLaunchHostFunc(s, count, NULL));
    CUgraph graph;
    CU_OK(cuStreamEndCapture(s, &graph));
    CU_OK(cuStreamIsCapturing(s, &status));
    EXPECT(status == CU_STREAM_CAPTURE_STATUS_NONE);
    EXPECT(replays == 0 && out_x[1] == 0.0f);            // capturing ran nothing

    size_t nodes = 0;
    CU_OK(cuGraphGetNodes(graph, NULL, &nodes));
    EXPECT(nodes == 7);                                  // copy, fill, 2 kernels, 2 copies back, host
    std::vector<CUgraphNode> handles(nodes);
    CU_OK(cuGraphGetNodes(graph, handles.data(), &nodes));
    EXPECT(handles[0] != NULL && handles[0] != handles[nodes - 1]);

    CUgraphExec exec;
    CU_OK(cuGraphInstantiate(&exec, graph, 0));
    CU_OK(cuGraphDestroy(graph));                        // the executable is a copy
    for (int round = 1; round <= 3; round++) {
        for (int i = 0; i < n; i++)
            src[i] = (float)(i * round);                 // the copy reads the host buffer at replay
        CU_OK(cuGraphLaunch(exec, s));
        CU_OK(cuStreamSynchronize(s));
        EXPECT(replays == round);
        for (int i = 0; i < n; i++)
            EXPECT(out_x[i] == 2.0f * i * round && out_y[i] == 5.0f);
    }
    CU_OK(cuGraphLaunch(exec, NULL));                    // on the default stream too
    CU_OK(cuCtxSynchronize());
    EXPECT(replays == 4);
    CU_OK(cuGraphExecDestroy(exec));
    EXPECT_CODE(cuGraphLaunch(exec, s), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuGraphExecDestroy(exec), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuGraphDestroy(graph), CUDA_ERROR_INVALID_VALUE);

    CU_OK(cuMemFree(x));
    CU_OK(cuMemFree(y));
    CU_OK(cuEventDestroy(forked));
    CU_OK(cuEventDestroy(joined));
    CU_OK(cuStreamDestroy(s));
    CU_OK(cuStreamDestroy(side));
}

static void capture_rules(void)
{
    CUstream s, other;
    CU_OK(cuStreamCreate(&s, 0));
    CU_OK(cuStreamCreate(&other, CU_STREAM_NON_BLOCKING));
    CUgraph graph = NULL;
    CUdeviceptr x;
    CU_OK(cuMemAlloc(&x, 256));
    CU_OK(cuMemsetD8(x, 0, 256));

    EXPECT_CODE(cuStreamBeginCapture(NULL, CU_STREAM_CAPTURE_MODE_GLOBAL), CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
    EXPECT_CODE(cuStreamBeginCapture(s, (CUstreamCaptureMode)7), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuStreamEndCapture(s, &graph), CUDA_ERROR_ILLEGAL_STATE);

    // a synchronisation during capture fails, and the capture with it
    CU_OK(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_GLOBAL));
    EXPECT_CODE(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_GLOBAL), CUDA_ERROR_ILLEGAL_STATE);
    CU_OK(cuMemsetD8Async(x, 1, 256, s));
    EXPECT_CODE(cuStreamSynchronize(s), CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
    CUstreamCaptureStatus status;
    CU_OK(cuStreamIsCapturing(s, &status));
    EXPECT(status == CU_STREAM_CAPTURE_STATUS_INVALIDATED);
    EXPECT_CODE(cuMemsetD8Async(x, 1, 256, s), CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
    EXPECT_CODE(cuStreamEndCapture(s, &graph), CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
    EXPECT(graph == NULL);

    // stream-ordered allocation is not captured here
    CU_OK(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_RELAXED));
    CUdeviceptr y;
    EXPECT_CODE(cuMemAllocAsync(&y, 64, s), CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
    EXPECT_CODE(cuStreamEndCapture(s, &graph), CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);

    // a fork never joined back
    CUevent e;
    CU_OK(cuEventCreate(&e, 0));
    CU_OK(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_GLOBAL));
    CU_OK(cuEventRecord(e, s));
    EXPECT_CODE(cuEventSynchronize(e), CUDA_ERROR_CAPTURED_EVENT);
    CU_OK(cuStreamWaitEvent(other, e, 0));
    CU_OK(cuMemsetD8Async(x, 2, 256, other));
    EXPECT_CODE(cuStreamEndCapture(other, &graph), CUDA_ERROR_STREAM_CAPTURE_UNMATCHED);
    EXPECT_CODE(cuStreamEndCapture(s, &graph), CUDA_ERROR_STREAM_CAPTURE_UNJOINED);

    // the legacy stream would wait for the capturing blocking stream s: synchronous copies
    // and fills, async work on it and events recorded there are refused in every mode
    CUstream blocking;
    CU_OK(cuStreamCreate(&blocking, 0));
    unsigned char bytes[256] = {};
    CU_OK(cuStreamBeginCapture(blocking, CU_STREAM_CAPTURE_MODE_RELAXED));
#ifdef CUDA_API_PER_THREAD_DEFAULT_STREAM
    // a per-thread default stream build's synchronous copy uses the thread's own stream,
    // which waits for no other
    CU_OK(cuMemcpyHtoD(x, bytes, sizeof bytes));
    CU_OK(cuEventRecord(e, NULL));
    CU_OK(cuStreamEndCapture(blocking, &graph));
    CU_OK(cuGraphDestroy(graph));
#else
    EXPECT_CODE(cuMemcpyHtoD(x, bytes, sizeof bytes), CUDA_ERROR_STREAM_CAPTURE_IMPLICIT);
    CU_OK(cuStreamIsCapturing(blocking, &status));
    EXPECT(status == CU_STREAM_CAPTURE_STATUS_INVALIDATED);
    EXPECT_CODE(cuStreamEndCapture(blocking, &graph), CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
    CU_OK(cuStreamBeginCapture(blocking, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL));
    EXPECT_CODE(cuEventRecord(e, NULL), CUDA_ERROR_STREAM_CAPTURE_IMPLICIT);
    EXPECT_CODE(cuStreamEndCapture(blocking, &graph), CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
#endif
    // CU_STREAM_LEGACY named: the legacy stream in either build
    CU_OK(cuStreamBeginCapture(blocking, CU_STREAM_CAPTURE_MODE_GLOBAL));
    EXPECT_CODE(cuMemsetD8Async(x, 3, 256, CU_STREAM_LEGACY), CUDA_ERROR_STREAM_CAPTURE_IMPLICIT);
    EXPECT_CODE(cuStreamEndCapture(blocking, &graph), CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
    // ... but not for a non-blocking stream
    CU_OK(cuStreamBeginCapture(other, CU_STREAM_CAPTURE_MODE_GLOBAL));
    CU_OK(cuMemcpyHtoD(x, bytes, sizeof bytes));
    CU_OK(cuStreamEndCapture(other, &graph));
    CU_OK(cuGraphDestroy(graph));

    // allocation, freeing and context synchronisation are not stream-ordered: refused
    // during a global or thread-local capture of this thread, allowed in a relaxed one
    // and when this thread's mode is relaxed
    CUdeviceptr z;
    CU_OK(cuStreamBeginCapture(other, CU_STREAM_CAPTURE_MODE_GLOBAL));
    EXPECT_CODE(cuMemAlloc(&z, 64), CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
    EXPECT_CODE(cuStreamEndCapture(other, &graph), CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
    CU_OK(cuStreamBeginCapture(other, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL));
    EXPECT_CODE(cuCtxSynchronize(), CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
    EXPECT_CODE(cuStreamEndCapture(other, &graph), CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
    CU_OK(cuStreamBeginCapture(other, CU_STREAM_CAPTURE_MODE_RELAXED));
    CU_OK(cuMemAlloc(&z, 64));
    CU_OK(cuMemFree(z));
    CU_OK(cuStreamEndCapture(other, &graph));
    CU_OK(cuGraphDestroy(graph));
    CU_OK(cuStreamBeginCapture(other, CU_STREAM_CAPTURE_MODE_GLOBAL));
    CUstreamCaptureMode mode = CU_STREAM_CAPTURE_MODE_RELAXED;
    CU_OK(cuThreadExchangeStreamCaptureMode(&mode));
    EXPECT(mode == CU_STREAM_CAPTURE_MODE_GLOBAL);
    CU_OK(cuMemAlloc(&z, 64));
    CU_OK(cuMemFree(z));
    CU_OK(cuThreadExchangeStreamCaptureMode(&mode));
    EXPECT(mode == CU_STREAM_CAPTURE_MODE_RELAXED);
    mode = (CUstreamCaptureMode)9;
    EXPECT_CODE(cuThreadExchangeStreamCaptureMode(&mode), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuThreadExchangeStreamCaptureMode(NULL), CUDA_ERROR_INVALID_VALUE);
    CU_OK(cuStreamEndCapture(other, &graph));
    CU_OK(cuGraphDestroy(graph));
    CU_OK(cuStreamDestroy(blocking));

    // none of the fills captured above ran
    unsigned char back[256];
    CU_OK(cuMemcpyDtoH(back, x, sizeof back));
    for (int i = 0; i < 256; i++)
        EXPECT(back[i] == 0);

    // an empty graph made by cuGraphCreate instantiates and launches
    CU_OK(cuGraphCreate(&graph, 0));
    size_t nodes = 5;
    CU_OK(cuGraphGetNodes(graph, NULL, &nodes));
    EXPECT(nodes == 0);
    CUgraphExec exec;
    EXPECT_CODE(cuGraphInstantiateWithFlags(&exec, graph, CUDA_GRAPH_INSTANTIATE_FLAG_DEVICE_LAUNCH),
                CUDA_ERROR_INVALID_VALUE);
    CU_OK(cuGraphInstantiateWithFlags(&exec, graph, CUDA_GRAPH_INSTANTIATE_FLAG_AUTO_FREE_ON_LAUNCH));
    CU_OK(cuGraphLaunch(exec, s));
    CU_OK(cuStreamSynchronize(s));
    CU_OK(cuGraphExecDestroy(exec));
    CU_OK(cuGraphDestroy(graph));
    EXPECT_CODE(cuGraphCreate(&graph, 1), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuGraphInstantiate(NULL, graph, 0), CUDA_ERROR_INVALID_VALUE);

    CU_OK(cuEventDestroy(e));
    CU_OK(cuMemFree(x));
    CU_OK(cuStreamDestroy(s));
    CU_OK(cuStreamDestroy(other));
}

// x = x * a, then x copied out: captured on s
static void capture_scale(CUstream s, CUdeviceptr x, float a, float *out, int n, CUgraph *graph)
{
    CU_OK(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL));
    launch_scale(s, x, a, n);
    CU_OK(cuMemcpyDtoHAsync(out, x, n * sizeof(float), s));
    CU_OK(cuStreamEndCapture(s, graph));
}

static void new_arguments(void)
{
    const int n = 512;
    CUstream s;
    CU_OK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
    CUdeviceptr x;
    CU_OK(cuMemAlloc(&x, n * sizeof(float)));
    std::vector<float> out(n);
    CUgraph graph;
    capture_scale(s, x, 2.0f, out.data(), n, &graph);
    CUgraphNode nodes[2];
    size_t count = 2;
    CU_OK(cuGraphGetNodes(graph, nodes, &count));
    CUgraphNodeType type;
    CU_OK(cuGraphNodeGetType(nodes[0], &type));
    EXPECT(type == CU_GRAPH_NODE_TYPE_KERNEL);
    CU_OK(cuGraphNodeGetType(nodes[1], &type));
    EXPECT(type == CU_GRAPH_NODE_TYPE_MEMCPY);
    CUfunction scale;
    CU_OK(cuModuleGetFunction(&scale, mod, "scale"));
    CUDA_KERNEL_NODE_PARAMS p;
    CU_OK(cuGraphKernelNodeGetParams(nodes[0], &p));
    EXPECT(p.func == scale && p.gridDimX == (n + 127) / 128 && p.blockDimX == 128 && p.extra == NULL);
    EXPECT(*(CUdeviceptr *)p.kernelParams[0] == x && *(float *)p.kernelParams[1] == 2.0f &&
           *(int *)p.kernelParams[2] == n);
    CUgraphExec exec;
    CU_OK(cuGraphInstantiate(&exec, graph, 0));

    CU_OK(cuMemsetD32(x, 0x3f800000, n));               // 1.0f
    CU_OK(cuGraphLaunch(exec, s));
    CU_OK(cuStreamSynchronize(s));
    EXPECT(out[0] == 2.0f && out[n - 1] == 2.0f);
    *(float *)p.kernelParams[1] = 3.0f;                   // the executable's node: times 3 from now on
    CU_OK(cuGraphExecKernelNodeSetParams(exec, nodes[0], &p));
    CU_OK(cuGraphLaunch(exec, s));
    CU_OK(cuStreamSynchronize(s));
    EXPECT(out[0] == 6.0f && out[n - 1] == 6.0f);
    CU_OK(cuGraphKernelNodeSetParams(nodes[0], &p));     // the graph's node too
    CU_OK(cuGraphKernelNodeGetParams(nodes[0], &p));
    EXPECT(*(float *)p.kernelParams[1] == 3.0f);

    // the usual loop: capture the step again with new arguments, update the executable
    CUgraph again;
    capture_scale(s, x, 0.5f, out.data(), n, &again);
    CUgraphExecUpdateResultInfo info;
    CU_OK(cuGraphExecUpdate(exec, again, &info));
    EXPECT(info.result == CU_GRAPH_EXEC_UPDATE_SUCCESS);
    CU_OK(cuGraphLaunch(exec, s));
    CU_OK(cuStreamSynchronize(s));
    EXPECT(out[0] == 3.0f && out[n - 1] == 3.0f);
    CU_OK(cuGraphDestroy(again));

    // another shape: refused with the reason, the executable unchanged
    CU_OK(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL));
    CU_OK(cuMemsetD32Async(x, 0, n, s));
    CU_OK(cuMemcpyDtoHAsync(out.data(), x, n * sizeof(float), s));
    CU_OK(cuStreamEndCapture(s, &again));
    EXPECT_CODE(cuGraphExecUpdate(exec, again, &info), CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE);
    EXPECT(info.result == CU_GRAPH_EXEC_UPDATE_ERROR_NODE_TYPE_CHANGED);
    CU_OK(cuGraphLaunch(exec, s));
    CU_OK(cuStreamSynchronize(s));
    EXPECT(out[0] == 1.5f);

    EXPECT_CODE(cuGraphKernelNodeGetParams(nodes[1], &p), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuGraphExecKernelNodeSetParams(exec, nodes[1], &p), CUDA_ERROR_INVALID_VALUE);
    EXPECT_CODE(cuGraphExecUpdate(exec, again, NULL), CUDA_ERROR_INVALID_VALUE);
    p.gridDimX = 0;
    EXPECT_CODE(cuGraphKernelNodeSetParams(nodes[0], &p), CUDA_ERROR_INVALID_VALUE);
    p.gridDimX = 1;
    p.func = (CUfunction)&p;
    EXPECT_CODE(cuGraphKernelNodeSetParams(nodes[0], &p), CUDA_ERROR_INVALID_HANDLE);
    EXPECT_CODE(cuGraphNodeGetType(NULL, &type), CUDA_ERROR_INVALID_VALUE);
    CU_OK(cuGraphDestroy(again));
    CU_OK(cuGraphExecDestroy(exec));
    CU_OK(cuGraphDestroy(graph));
    EXPECT_CODE(cuGraphNodeGetType(nodes[0], &type), CUDA_ERROR_INVALID_VALUE);
    CU_OK(cuMemFree(x));
    CU_OK(cuStreamDestroy(s));
}

int main(int argc, char **argv)
{
    EXPECT(argc == 2);
    std::string dir = argv[1];
    CUdevice dev = use_primary_context();
    CU_OK(cuModuleLoad(&mod, (dir + "/kernels.ptx").c_str()));
    capture_and_replay();
    capture_rules();
    new_arguments();
    CU_OK(cuModuleUnload(mod));
    CU_OK(cuDevicePrimaryCtxRelease(dev));
    return test_passed();
}
