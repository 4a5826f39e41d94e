// Launching a graph again with new arguments, the ways real programs do it: reading and
// changing a kernel node's parameters in the graph (cudaGraphKernelNodeGetParams/SetParams)
// and in the executable graph (cudaGraphExecKernelNodeSetParams), and capturing the
// iteration's work again and updating the executable from it (cudaGraphExecUpdate), which
// a graph of another shape fails with the reason; node types of built and captured graphs.
#include <cstring>
#include <vector>

#include "check.h"

__global__ void add(float *y, float a, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        y[i] += a;
}

__global__ void scale(float *y, float a, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        y[i] *= a;
}

static const int N = 1000;

static std::vector<float> read_back(const float *d)
{
    std::vector<float> h(N);
    CUDA_OK(cudaMemcpy(h.data(), d, N * sizeof(float), cudaMemcpyDeviceToHost));
    return h;
}

static void expect_all(const float *d, float v)
{
    std::vector<float> h = read_back(d);
    for (int i = 0; i < N; i++)
        EXPECT(h[i] == v);
}

// A built graph: fill y with 0, then add(y, a) after it.
static void node_parameters(float *y)
{
    cudaGraph_t g;
    CUDA_OK(cudaGraphCreate(&g, 0));
    cudaGraphNode_t fill, kernel;
    cudaMemsetParams mp = {};
    mp.dst = y;
    mp.value = 0;
    mp.elementSize = 4;
    mp.width = N;
    mp.height = 1;
    CUDA_OK(cudaGraphAddMemsetNode(&fill, g, nullptr, 0, &mp));
    float a = 1.5f;
    int n = N;
    void *args[] = {&y, &a, &n};
    cudaKernelNodeParams kp = {};
    kp.func = (void *)add;
    kp.gridDim = dim3((N + 255) / 256);
    kp.blockDim = dim3(256);
    kp.kernelParams = args;
    CUDA_OK(cudaGraphAddKernelNode(&kernel, g, &fill, 1, &kp));

    cudaGraphNodeType type;
    CUDA_OK(cudaGraphNodeGetType(fill, &type));
    EXPECT(type == cudaGraphNodeTypeMemset);
    CUDA_OK(cudaGraphNodeGetType(kernel, &type));
    EXPECT(type == cudaGraphNodeTypeKernel);

    // what the node holds: its own copy of the arguments
    cudaKernelNodeParams got;
    std::memset(&got, 0, sizeof got);
    CUDA_OK(cudaGraphKernelNodeGetParams(kernel, &got));
    EXPECT(got.func == (void *)add && got.gridDim.x == kp.gridDim.x && got.blockDim.x == 256);
    EXPECT(got.sharedMemBytes == 0 && got.extra == nullptr);
    EXPECT(*(float **)got.kernelParams[0] == y && *(float *)got.kernelParams[1] == 1.5f &&
           *(int *)got.kernelParams[2] == N);

    cudaGraphExec_t exec;
    CUDA_OK(cudaGraphInstantiate(&exec, g, 0));
    CUDA_OK(cudaGraphLaunch(exec, 0));
    CUDA_OK(cudaStreamSynchronize(0));
    expect_all(y, 1.5f);

    // the executable's node: the next launches add 4
    float four = 4.0f;
    *(float *)got.kernelParams[1] = four;             // the usual way: change what GetParams gave
    CUDA_OK(cudaGraphExecKernelNodeSetParams(exec, kernel, &got));
    CUDA_OK(cudaGraphLaunch(exec, 0));
    CUDA_OK(cudaStreamSynchronize(0));
    expect_all(y, 4.0f);

    // the graph's node: a later instantiation runs scale(y, 3) instead; the executable keeps add 4
    float three = 3.0f;
    void *scale_args[] = {&y, &three, &n};
    kp.func = (void *)scale;
    kp.kernelParams = scale_args;
    CUDA_OK(cudaGraphKernelNodeSetParams(kernel, &kp));
    CUDA_OK(cudaGraphKernelNodeGetParams(kernel, &got));
    EXPECT(got.func == (void *)scale && *(float *)got.kernelParams[1] == 3.0f);
    CUDA_OK(cudaGraphLaunch(exec, 0));
    CUDA_OK(cudaStreamSynchronize(0));
    expect_all(y, 4.0f);
    cudaGraphExec_t second;
    CUDA_OK(cudaGraphInstantiate(&second, g, 0));
    CUDA_OK(cudaMemset(y, 0, N * sizeof(float)));
    CUDA_OK(cudaGraphLaunch(second, 0));             // fill 0, then scale: still 0
    CUDA_OK(cudaStreamSynchronize(0));
    expect_all(y, 0.0f);

    // bad input
    EXPECT_CODE(cudaGraphKernelNodeGetParams(fill, &got), cudaErrorInvalidValue);
    EXPECT_CODE(cudaGraphKernelNodeSetParams(fill, &kp), cudaErrorInvalidValue);
    EXPECT_CODE(cudaGraphExecKernelNodeSetParams(exec, fill, &kp), cudaErrorInvalidValue);
    EXPECT_CODE(cudaGraphKernelNodeGetParams(kernel, nullptr), cudaErrorInvalidValue);
    EXPECT_CODE(cudaGraphNodeGetType(nullptr, &type), cudaErrorInvalidValue);
    EXPECT_CODE(cudaGraphNodeGetType(kernel, nullptr), cudaErrorInvalidValue);
    kp.gridDim = dim3(0);
    EXPECT_CODE(cudaGraphKernelNodeSetParams(kernel, &kp), cudaErrorInvalidConfiguration);
    CUDA_OK(cudaGraphExecDestroy(second));
    CUDA_OK(cudaGraphExecDestroy(exec));
    CUDA_OK(cudaGraphDestroy(g));
    EXPECT_CODE(cudaGraphNodeGetType(kernel, &type), cudaErrorInvalidValue);
    (void)cudaGetLastError();
}

// One iteration of a solver-like loop: copy in, add, scale, copy out, on a stream.
static void capture_iteration(cudaStream_t s, float *y, const float *in, float *out, float a, float b,
                              cudaGraph_t *g)
{
    int n = N;
    CUDA_OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
    CUDA_OK(cudaMemcpyAsync(y, in, N * sizeof(float), cudaMemcpyHostToDevice, s));
    add<<<(N + 255) / 256, 256, 0, s>>>(y, a, n);
    scale<<<(N + 255) / 256, 256, 0, s>>>(y, b, n);
    CUDA_OK(cudaMemcpyAsync(out, y, N * sizeof(float), cudaMemcpyDeviceToHost, s));
    CUDA_OK(cudaStreamEndCapture(s, g));
}

static void update_from_capture(float *y)
{
    cudaStream_t s;
    CUDA_OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    std::vector<float> in(N, 1.0f), out(N, 0.0f);
    cudaGraph_t g;
    capture_iteration(s, y, in.data(), out.data(), 1.0f, 2.0f, &g);

    size_t count = 0;
    CUDA_OK(cudaGraphGetNodes(g, nullptr, &count));
    EXPECT(count == 4);
    std::vector<cudaGraphNode_t> nodes(count);
    CUDA_OK(cudaGraphGetNodes(g, nodes.data(), &count));
    const cudaGraphNodeType expected[] = {cudaGraphNodeTypeMemcpy, cudaGraphNodeTypeKernel, cudaGraphNodeTypeKernel,
                                          cudaGraphNodeTypeMemcpy};
    for (size_t i = 0; i < count; i++) {
        cudaGraphNodeType type;
        CUDA_OK(cudaGraphNodeGetType(nodes[i], &type));
        EXPECT(type == expected[i]);
    }
    cudaKernelNodeParams got;
    CUDA_OK(cudaGraphKernelNodeGetParams(nodes[2], &got));
    EXPECT(got.func == (void *)scale && *(float *)got.kernelParams[1] == 2.0f);

    cudaGraphExec_t exec;
    CUDA_OK(cudaGraphInstantiate(&exec, g, 0));
    CUDA_OK(cudaGraphDestroy(g));
    for (int it = 1; it <= 4; it++) {
        if (it > 1) {                                // new arguments: capture again and update
            capture_iteration(s, y, in.data(), out.data(), (float)it, 2.0f * it, &g);
            cudaGraphExecUpdateResultInfo info;
            info.result = cudaGraphExecUpdateError;
            CUDA_OK(cudaGraphExecUpdate(exec, g, &info));
            EXPECT(info.result == cudaGraphExecUpdateSuccess && info.errorNode == nullptr);
            CUDA_OK(cudaGraphDestroy(g));
        }
        CUDA_OK(cudaGraphLaunch(exec, s));
        CUDA_OK(cudaStreamSynchronize(s));
        for (int i = 0; i < N; i++)
            EXPECT(out[i] == (1.0f + it) * 2.0f * it);
    }

    // a graph of another shape: the update fails, says why, and the executable is unchanged
    CUDA_OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
    CUDA_OK(cudaMemcpyAsync(y, in.data(), N * sizeof(float), cudaMemcpyHostToDevice, s));
    CUDA_OK(cudaMemsetAsync(y, 0, N * sizeof(float), s));
    scale<<<(N + 255) / 256, 256, 0, s>>>(y, 100.0f, N);
    CUDA_OK(cudaMemcpyAsync(out.data(), y, N * sizeof(float), cudaMemcpyDeviceToHost, s));
    CUDA_OK(cudaStreamEndCapture(s, &g));
    std::vector<cudaGraphNode_t> other(4);
    count = 4;
    CUDA_OK(cudaGraphGetNodes(g, other.data(), &count));
    cudaGraphExecUpdateResultInfo info;
    EXPECT_CODE(cudaGraphExecUpdate(exec, g, &info), cudaErrorGraphExecUpdateFailure);
    EXPECT(info.result == cudaGraphExecUpdateErrorNodeTypeChanged && info.errorNode == other[1]);
    EXPECT(cudaGetLastError() == cudaErrorGraphExecUpdateFailure);
    CUDA_OK(cudaGraphDestroy(g));
    CUDA_OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
    add<<<(N + 255) / 256, 256, 0, s>>>(y, 1.0f, N);
    CUDA_OK(cudaStreamEndCapture(s, &g));
    EXPECT_CODE(cudaGraphExecUpdate(exec, g, &info), cudaErrorGraphExecUpdateFailure);
    EXPECT(info.result == cudaGraphExecUpdateErrorTopologyChanged);
    EXPECT_CODE(cudaGraphExecUpdate(exec, g, nullptr), cudaErrorInvalidValue);
    CUDA_OK(cudaGraphDestroy(g));
    EXPECT_CODE(cudaGraphExecUpdate(exec, g, &info), cudaErrorInvalidValue);
    (void)cudaGetLastError();
    CUDA_OK(cudaGraphLaunch(exec, s));
    CUDA_OK(cudaStreamSynchronize(s));
    for (int i = 0; i < N; i++)
        EXPECT(out[i] == 5.0f * 8.0f);               // still the fourth iteration's arguments

    CUDA_OK(cudaGraphExecDestroy(exec));
    CUDA_OK(cudaStreamDestroy(s));
}

int main()
{
    float *y = nullptr;
    CUDA_OK(cudaMalloc(&y, N * sizeof(float)));
    node_parameters(y);
    update_from_capture(y);
    CUDA_OK(cudaFree(y));
    return test_passed();
}
