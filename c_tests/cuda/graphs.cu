/* CUDA graphs made by stream capture: a captured pipeline (copies, memset, kernels, a host
 * function) replayed with new input data, kernel arguments fixed at capture, fork and join
 * across streams, and the capture rules' error codes. */
#include <cstring>
#include <thread>

#include "check.h"

__global__ void affine(const int *x, int *y, int a, int b, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        y[i] = a * x[i] + b;
}

__global__ void add_into(int *y, const int *z, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        y[i] += z[i];
}

static void count_call(void *data)
{
    ++*static_cast<int *>(data);
}

static const int N = 300;

static void pipeline_replayed_with_new_data()
{
    int *x, *y, *z;
    CUDA_OK(cudaMalloc(&x, N * sizeof(int)));
    CUDA_OK(cudaMalloc(&y, N * sizeof(int)));
    CUDA_OK(cudaMalloc(&z, N * sizeof(int)));
    static int in[N], out[N];
    int calls = 0;
    cudaStream_t s;
    CUDA_OK(cudaStreamCreate(&s));

    int a = 3, b = -7;
    cudaStreamCaptureStatus status;
    CUDA_OK(cudaStreamIsCapturing(s, &status));
    EXPECT(status == cudaStreamCaptureStatusNone);
    CUDA_OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
    CUDA_OK(cudaStreamIsCapturing(s, &status));
    EXPECT(status == cudaStreamCaptureStatusActive);
    CUDA_OK(cudaMemcpyAsync(x, in, sizeof in, cudaMemcpyHostToDevice, s));
    affine<<<(N + 127) / 128, 128, 0, s>>>(x, y, a, b, N);
    CUDA_OK(cudaMemsetAsync(z, 1, N * sizeof(int), s));          // 0x01010101 each
    add_into<<<(N + 63) / 64, 64, 0, s>>>(y, z, N);
    CUDA_OK(cudaLaunchHostFunc(s, count_call, &calls));
    CUDA_OK(cudaMemcpyAsync(out, y, sizeof out, cudaMemcpyDeviceToHost, s));

    unsigned long long id = 0;
    cudaGraph_t during = nullptr;
    CUDA_OK(cudaStreamGetCaptureInfo(s, &status, &id, &during));
    EXPECT(status == cudaStreamCaptureStatusActive && id != 0 && during != nullptr);
    // cudaMalloc is not stream-ordered: during a global capture, only in a relaxed thread
    int *scratch;
    cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
    CUDA_OK(cudaThreadExchangeStreamCaptureMode(&mode));
    CUDA_OK(cudaMalloc(&scratch, 64));
    CUDA_OK(cudaThreadExchangeStreamCaptureMode(&mode));
    EXPECT(calls == 0);                                           // nothing ran yet

    cudaGraph_t graph;
    CUDA_OK(cudaStreamEndCapture(s, &graph));
    EXPECT(graph == during);
    CUDA_OK(cudaStreamIsCapturing(s, &status));
    EXPECT(status == cudaStreamCaptureStatusNone);
    size_t count = 0;
    CUDA_OK(cudaGraphGetNodes(graph, nullptr, &count));
    EXPECT(count == 6);
    cudaGraphNode_t nodes[8];
    count = 8;
    CUDA_OK(cudaGraphGetNodes(graph, nodes, &count));
    EXPECT(count == 6 && nodes[0] != nullptr && nodes[0] != nodes[5] && nodes[6] == nullptr);

    cudaGraphExec_t exec;
    CUDA_OK(cudaGraphInstantiate(&exec, graph, 0));
    CUDA_OK(cudaGraphDestroy(graph));                             // the executable graph stays
    a = 1000;                                                     // the captured arguments stay 3, -7
    for (int round = 0; round < 4; ++round) {
        for (int i = 0; i < N; ++i)
            in[i] = i * (round + 1) - 50;
        std::memset(out, 0, sizeof out);
        CUDA_OK(cudaGraphLaunch(exec, round % 2 ? s : cudaStreamPerThread));
        CUDA_OK(cudaStreamSynchronize(s));
        CUDA_OK(cudaDeviceSynchronize());
        for (int i = 0; i < N; ++i)
            EXPECT(out[i] == 3 * in[i] - 7 + 0x01010101);
        EXPECT(calls == round + 1);
    }
    CUDA_OK(cudaGraphExecDestroy(exec));
    EXPECT_CODE(cudaGraphLaunch(exec, s), cudaErrorInvalidValue);
    EXPECT_CODE(cudaGraphExecDestroy(nullptr), cudaErrorInvalidValue);
    CUDA_OK(cudaStreamDestroy(s));
    CUDA_OK(cudaFree(scratch));
    CUDA_OK(cudaFree(x));
    CUDA_OK(cudaFree(y));
    CUDA_OK(cudaFree(z));
}

static void fork_and_join()
{
    int *x, *y;
    CUDA_OK(cudaMalloc(&x, N * sizeof(int)));
    CUDA_OK(cudaMalloc(&y, N * sizeof(int)));
    static int in[N], out[N];
    cudaStream_t s1, s2;
    cudaEvent_t forked, joined;
    CUDA_OK(cudaStreamCreate(&s1));
    CUDA_OK(cudaStreamCreateWithFlags(&s2, cudaStreamNonBlocking));
    CUDA_OK(cudaEventCreate(&forked));
    CUDA_OK(cudaEventCreate(&joined));

    CUDA_OK(cudaStreamBeginCapture(s1, cudaStreamCaptureModeThreadLocal));
    CUDA_OK(cudaMemcpyAsync(x, in, sizeof in, cudaMemcpyHostToDevice, s1));
    CUDA_OK(cudaEventRecord(forked, s1));
    EXPECT_CODE(cudaEventQuery(forked), cudaErrorCapturedEvent);
    CUDA_OK(cudaStreamWaitEvent(s2, forked, 0));                  // s2 joins the capture
    cudaStreamCaptureStatus status;
    CUDA_OK(cudaStreamIsCapturing(s2, &status));
    EXPECT(status == cudaStreamCaptureStatusActive);
    affine<<<(N + 127) / 128, 128, 0, s2>>>(x, y, 2, 1, N);
    CUDA_OK(cudaEventRecord(joined, s2));
    CUDA_OK(cudaStreamWaitEvent(s1, joined, 0));                  // and is joined back
    CUDA_OK(cudaMemcpyAsync(out, y, sizeof out, cudaMemcpyDeviceToHost, s1));
    EXPECT_CODE(cudaStreamEndCapture(s2, nullptr), cudaErrorInvalidValue);
    cudaGraph_t graph;
    EXPECT_CODE(cudaStreamEndCapture(s2, &graph), cudaErrorStreamCaptureUnmatched);
    CUDA_OK(cudaStreamEndCapture(s1, &graph));
    CUDA_OK(cudaStreamIsCapturing(s2, &status));
    EXPECT(status == cudaStreamCaptureStatusNone);

    cudaGraphExec_t exec;
    CUDA_OK(cudaGraphInstantiateWithFlags(&exec, graph, cudaGraphInstantiateFlagAutoFreeOnLaunch));
    for (int round = 0; round < 3; ++round) {
        for (int i = 0; i < N; ++i)
            in[i] = (i ^ round) + round;
        CUDA_OK(cudaGraphLaunch(exec, s2));
        CUDA_OK(cudaStreamSynchronize(s2));
        for (int i = 0; i < N; ++i)
            EXPECT(out[i] == 2 * in[i] + 1);
    }

    // work forked off and never joined back fails the capture
    CUDA_OK(cudaStreamBeginCapture(s1, cudaStreamCaptureModeGlobal));
    CUDA_OK(cudaEventRecord(forked, s1));
    CUDA_OK(cudaStreamWaitEvent(s2, forked, 0));
    affine<<<1, 32, 0, s2>>>(x, y, 1, 0, 32);
    cudaGraph_t lost = graph;
    EXPECT_CODE(cudaStreamEndCapture(s1, &lost), cudaErrorStreamCaptureUnjoined);
    EXPECT(lost == nullptr);
    cudaGetLastError();

    // a helper stream forked, joined back and destroyed before the capture ends
    cudaStream_t helper;
    CUDA_OK(cudaStreamCreate(&helper));
    CUDA_OK(cudaStreamBeginCapture(s1, cudaStreamCaptureModeGlobal));
    CUDA_OK(cudaEventRecord(forked, s1));
    CUDA_OK(cudaStreamWaitEvent(helper, forked, 0));
    CUDA_OK(cudaMemsetAsync(y, 0, N * sizeof(int), helper));
    CUDA_OK(cudaEventRecord(joined, helper));
    CUDA_OK(cudaStreamWaitEvent(s1, joined, 0));
    CUDA_OK(cudaStreamDestroy(helper));
    cudaGraph_t with_helper;
    CUDA_OK(cudaStreamEndCapture(s1, &with_helper));
    size_t count = 0;
    CUDA_OK(cudaGraphGetNodes(with_helper, nullptr, &count));
    EXPECT(count == 1);
    CUDA_OK(cudaGraphDestroy(with_helper));

    CUDA_OK(cudaGraphExecDestroy(exec));
    CUDA_OK(cudaGraphDestroy(graph));
    CUDA_OK(cudaEventDestroy(forked));
    CUDA_OK(cudaEventDestroy(joined));
    CUDA_OK(cudaStreamDestroy(s1));
    CUDA_OK(cudaStreamDestroy(s2));
    CUDA_OK(cudaFree(x));
    CUDA_OK(cudaFree(y));
}

static void capture_rules()
{
    int *d;
    static int host[64];
    CUDA_OK(cudaMalloc(&d, sizeof host));
    cudaStream_t s, quiet;
    CUDA_OK(cudaStreamCreate(&s));
    CUDA_OK(cudaStreamCreateWithFlags(&quiet, cudaStreamNonBlocking));
    cudaGraph_t graph = nullptr;

    // the legacy stream cannot be captured; bad modes and double begins are refused
    EXPECT_CODE(cudaStreamBeginCapture(0, cudaStreamCaptureModeGlobal), cudaErrorStreamCaptureUnsupported);
    EXPECT_CODE(cudaStreamBeginCapture(s, (cudaStreamCaptureMode)7), cudaErrorInvalidValue);
    EXPECT_CODE(cudaStreamEndCapture(s, &graph), cudaErrorIllegalState);
    CUDA_OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
    EXPECT_CODE(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaErrorIllegalState);

    // synchronizing a capturing stream fails and invalidates the capture
    EXPECT_CODE(cudaStreamSynchronize(s), cudaErrorStreamCaptureUnsupported);
    cudaStreamCaptureStatus status;
    CUDA_OK(cudaStreamIsCapturing(s, &status));
    EXPECT(status == cudaStreamCaptureStatusInvalidated);
    EXPECT_CODE(cudaMemsetAsync(d, 0, sizeof host, s), cudaErrorStreamCaptureInvalidated);
    EXPECT_CODE(cudaStreamEndCapture(s, &graph), cudaErrorStreamCaptureInvalidated);
    EXPECT(graph == nullptr);

    // a synchronous copy uses the legacy stream, which would wait for the capturing blocking
    // stream; the per-thread default stream of a --default-stream per-thread build waits for
    // no other stream, so there the copy is allowed
    CUDA_OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeRelaxed));
#ifdef CUDA_API_PER_THREAD_DEFAULT_STREAM
    CUDA_OK(cudaMemcpy(d, host, sizeof host, cudaMemcpyHostToDevice));
    CUDA_OK(cudaStreamEndCapture(s, &graph));
    CUDA_OK(cudaGraphDestroy(graph));
#else
    EXPECT_CODE(cudaMemcpy(d, host, sizeof host, cudaMemcpyHostToDevice), cudaErrorStreamCaptureImplicit);
    EXPECT_CODE(cudaStreamEndCapture(s, &graph), cudaErrorStreamCaptureInvalidated);
#endif

    // ... but not for a non-blocking stream; stream-ordered allocation is not captured here
    CUDA_OK(cudaStreamBeginCapture(quiet, cudaStreamCaptureModeRelaxed));
    CUDA_OK(cudaMemcpy(d, host, sizeof host, cudaMemcpyHostToDevice));
    void *p = nullptr;
    EXPECT_CODE(cudaMallocAsync(&p, 64, quiet), cudaErrorStreamCaptureUnsupported);
    EXPECT_CODE(cudaStreamEndCapture(quiet, &graph), cudaErrorStreamCaptureInvalidated);

    // the legacy stream's rule holds in every capture mode: a launch on stream 0 and an
    // event recorded there are refused too
#ifndef CUDA_API_PER_THREAD_DEFAULT_STREAM
    CUDA_OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
    EXPECT_CODE((add_into<<<1, 4, 0, 0>>>(d, d, 1), cudaGetLastError()), cudaErrorStreamCaptureImplicit);
    EXPECT_CODE(cudaStreamEndCapture(s, &graph), cudaErrorStreamCaptureInvalidated);
    cudaEvent_t mark;
    CUDA_OK(cudaEventCreate(&mark));
    CUDA_OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
    EXPECT_CODE(cudaEventRecord(mark, 0), cudaErrorStreamCaptureImplicit);
    EXPECT_CODE(cudaStreamEndCapture(s, &graph), cudaErrorStreamCaptureInvalidated);
#else
    cudaEvent_t mark;
    CUDA_OK(cudaEventCreate(&mark));
    CUDA_OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
    CUDA_OK(cudaEventRecord(mark, 0));                          // the thread's own stream
    CUDA_OK(cudaEventSynchronize(mark));
    CUDA_OK(cudaStreamEndCapture(s, &graph));
    CUDA_OK(cudaGraphDestroy(graph));
#endif
    CUDA_OK(cudaEventDestroy(mark));

    // allocation and freeing are not stream-ordered: refused during a global or this
    // thread's thread-local capture (invalidating it), allowed in a relaxed one and
    // when this thread's mode is relaxed
    void *q = nullptr;
    CUDA_OK(cudaStreamBeginCapture(quiet, cudaStreamCaptureModeGlobal));
    EXPECT_CODE(cudaMalloc(&q, 64), cudaErrorStreamCaptureUnsupported);
    EXPECT_CODE(cudaStreamEndCapture(quiet, &graph), cudaErrorStreamCaptureInvalidated);
    CUDA_OK(cudaStreamBeginCapture(quiet, cudaStreamCaptureModeRelaxed));
    CUDA_OK(cudaMalloc(&q, 64));
    CUDA_OK(cudaFree(q));
    CUDA_OK(cudaStreamEndCapture(quiet, &graph));
    CUDA_OK(cudaGraphDestroy(graph));
    CUDA_OK(cudaStreamBeginCapture(quiet, cudaStreamCaptureModeGlobal));
    cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
    CUDA_OK(cudaThreadExchangeStreamCaptureMode(&mode));
    EXPECT(mode == cudaStreamCaptureModeGlobal);
    CUDA_OK(cudaMallocHost(&q, 64));
    CUDA_OK(cudaFreeHost(q));
    CUDA_OK(cudaThreadExchangeStreamCaptureMode(&mode));
    EXPECT(mode == cudaStreamCaptureModeRelaxed);
    mode = (cudaStreamCaptureMode)9;
    EXPECT_CODE(cudaThreadExchangeStreamCaptureMode(&mode), cudaErrorInvalidValue);
    EXPECT_CODE(cudaThreadExchangeStreamCaptureMode(nullptr), cudaErrorInvalidValue);
    cudaError_t elsewhere = cudaSuccess;
    std::thread([&] { elsewhere = cudaMalloc(&q, 64); }).join();        // another thread, same rule
    EXPECT(elsewhere == cudaErrorStreamCaptureUnsupported);
    EXPECT_CODE(cudaStreamEndCapture(quiet, &graph), cudaErrorStreamCaptureInvalidated);
    CUDA_OK(cudaStreamBeginCapture(quiet, cudaStreamCaptureModeThreadLocal));
    std::thread([&] {                                                   // not its capture
        elsewhere = cudaMalloc(&q, 64);
        if (elsewhere == cudaSuccess)
            elsewhere = cudaFree(q);
    }).join();
    EXPECT(elsewhere == cudaSuccess);
    EXPECT_CODE(cudaFree(d), cudaErrorStreamCaptureUnsupported);        // its own: refused, d kept
    EXPECT_CODE(cudaStreamEndCapture(quiet, &graph), cudaErrorStreamCaptureInvalidated);

    // a global capture forbids device-wide synchronization from any thread
    CUDA_OK(cudaStreamBeginCapture(quiet, cudaStreamCaptureModeGlobal));
    EXPECT_CODE(cudaDeviceSynchronize(), cudaErrorStreamCaptureUnsupported);
    EXPECT_CODE(cudaStreamEndCapture(quiet, &graph), cudaErrorStreamCaptureInvalidated);

    // a launch shape beyond the card is refused when captured, not when replayed
    CUDA_OK(cudaStreamBeginCapture(quiet, cudaStreamCaptureModeGlobal));
    EXPECT_CODE((add_into<<<1, 4096, 0, quiet>>>(d, d, 1), cudaGetLastError()), cudaErrorInvalidConfiguration);
    CUDA_OK(cudaStreamEndCapture(quiet, &graph));
    size_t count = 1;
    CUDA_OK(cudaGraphGetNodes(graph, nullptr, &count));
    EXPECT(count == 0);
    CUDA_OK(cudaGraphDestroy(graph));

    // a capture not begun in relaxed mode is ended by the thread that began it
    CUDA_OK(cudaStreamBeginCapture(quiet, cudaStreamCaptureModeThreadLocal));
    cudaError_t other = cudaSuccess;
    std::thread([&] { other = cudaStreamEndCapture(quiet, &graph); }).join();
    EXPECT(other == cudaErrorStreamCaptureWrongThread);
    CUDA_OK(cudaStreamEndCapture(quiet, &graph));
    count = 1;
    CUDA_OK(cudaGraphGetNodes(graph, nullptr, &count));
    EXPECT(count == 0);
    cudaGraphExec_t exec;
    CUDA_OK(cudaGraphInstantiate(&exec, graph, 0));
    CUDA_OK(cudaGraphLaunch(exec, quiet));                         // an empty graph does nothing
    CUDA_OK(cudaGraphExecDestroy(exec));
    CUDA_OK(cudaGraphDestroy(graph));
    EXPECT_CODE(cudaGraphDestroy(graph), cudaErrorInvalidValue);
    EXPECT_CODE(cudaGraphInstantiate(&exec, nullptr, 0), cudaErrorInvalidValue);

    // after all that the card still works: the last error was the last failure's, then cleared
    EXPECT_CODE(cudaGetLastError(), cudaErrorInvalidValue);
    CUDA_OK(cudaGetLastError());
    CUDA_OK(cudaMemcpy(d, host, sizeof host, cudaMemcpyHostToDevice));
    CUDA_OK(cudaStreamDestroy(s));
    CUDA_OK(cudaStreamDestroy(quiet));
    CUDA_OK(cudaFree(d));
}

int main()
{
    pipeline_replayed_with_new_data();
    fork_and_join();
    capture_rules();
    return test_passed();
}
