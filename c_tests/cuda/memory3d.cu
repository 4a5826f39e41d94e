/* 3-D memory: cudaMalloc3D volumes, cudaMemcpy3D[Async] between pitched host and device
 * volumes at offsets, cudaMemset3D on sub-boxes, a 3-D copy captured into a graph; each
 * result compared with the same operations done by plain loops on host models. */
#include <cstring>
#include <vector>

#include "check.h"

struct Volume {                       // a host model or buffer: bytes, pitch, rows per slice
    std::vector<unsigned char> bytes;
    size_t pitch, ysize;
    Volume(size_t pitch_, size_t ysize_, size_t depth) : bytes(pitch_ * ysize_ * depth), pitch(pitch_), ysize(ysize_) {}
    unsigned char &at(size_t x, size_t y, size_t z) { return bytes[(z * ysize + y) * pitch + x]; }
    cudaPitchedPtr ptr(size_t xsize) { return make_cudaPitchedPtr(bytes.data(), pitch, xsize, ysize); }
};

static void model_copy(Volume &dst, cudaPos dp, Volume &src, cudaPos sp, cudaExtent e)
{
    for (size_t z = 0; z < e.depth; ++z)
        for (size_t y = 0; y < e.height; ++y)
            for (size_t x = 0; x < e.width; ++x)
                dst.at(dp.x + x, dp.y + y, dp.z + z) = src.at(sp.x + x, sp.y + y, sp.z + z);
}

static void model_set(Volume &v, size_t x0, unsigned char value, cudaExtent e)
{
    for (size_t z = 0; z < e.depth; ++z)
        for (size_t y = 0; y < e.height; ++y)
            for (size_t x = 0; x < e.width; ++x)
                v.at(x0 + x, y, z) = value;
}

static cudaMemcpy3DParms params(cudaPitchedPtr src, cudaPos sp, cudaPitchedPtr dst, cudaPos dp, cudaExtent e,
                                cudaMemcpyKind kind)
{
    cudaMemcpy3DParms p = {};
    p.srcPtr = src;
    p.srcPos = sp;
    p.dstPtr = dst;
    p.dstPos = dp;
    p.extent = e;
    p.kind = kind;
    return p;
}

static void expect_same(Volume &a, Volume &b, size_t width, size_t height, size_t depth)
{
    for (size_t z = 0; z < depth; ++z)
        for (size_t y = 0; y < height; ++y)
            for (size_t x = 0; x < width; ++x)
                if (a.at(x, y, z) != b.at(x, y, z)) {
                    std::fprintf(stderr, "byte (%zu, %zu, %zu): %d, expected %d\n", x, y, z, a.at(x, y, z),
                                 b.at(x, y, z));
                    std::exit(1);
                }
}

int main()
{
    // a host volume with its own pitch and slice height, patterned
    Volume host(120, 9, 6);
    for (size_t z = 0; z < 6; ++z)
        for (size_t y = 0; y < 9; ++y)
            for (size_t x = 0; x < 120; ++x)
                host.at(x, y, z) = (unsigned char)(x + 3 * y + 7 * z);

    cudaPitchedPtr d1, d2;
    CUDA_OK(cudaMalloc3D(&d1, make_cudaExtent(100, 7, 5)));
    CUDA_OK(cudaMalloc3D(&d2, make_cudaExtent(64, 8, 6)));
    EXPECT(d1.ptr != nullptr && d1.pitch >= 100 && d1.xsize == 100 && d1.ysize == 7);
    EXPECT(d2.pitch >= 64 && d2.pitch != 64 && d2.ysize == 8);
    Volume m1(d1.pitch, 7, 5), m2(d2.pitch, 8, 6);      // what the device volumes should hold

    // fill, then host -> device into an offset box
    CUDA_OK(cudaMemset3D(d1, 0xEE, make_cudaExtent(100, 7, 5)));
    model_set(m1, 0, 0xEE, make_cudaExtent(100, 7, 5));
    CUDA_OK(cudaMemset3D(d2, 0x11, make_cudaExtent(64, 8, 6)));
    model_set(m2, 0, 0x11, make_cudaExtent(64, 8, 6));
    cudaMemcpy3DParms p = params(host.ptr(120), make_cudaPos(4, 1, 1), d1, make_cudaPos(8, 1, 0),
                                 make_cudaExtent(90, 6, 4), cudaMemcpyHostToDevice);
    CUDA_OK(cudaMemcpy3D(&p));
    model_copy(m1, p.dstPos, host, p.srcPos, p.extent);

    // device -> device on a stream, between two pitches
    cudaStream_t s;
    CUDA_OK(cudaStreamCreate(&s));
    p = params(d1, make_cudaPos(10, 2, 1), d2, make_cudaPos(3, 1, 2), make_cudaExtent(50, 4, 3),
               cudaMemcpyDeviceToDevice);
    CUDA_OK(cudaMemcpy3DAsync(&p, s));
    model_copy(m2, p.dstPos, m1, p.srcPos, p.extent);
    CUDA_OK(cudaStreamSynchronize(s));

    // a memset of a sub-box: four bytes of every row, through a pointer moved along x
    cudaPitchedPtr column = d2;
    column.ptr = static_cast<char *>(d2.ptr) + 60;
    CUDA_OK(cudaMemset3DAsync(column, 0x5A, make_cudaExtent(4, 8, 6), s));
    model_set(m2, 60, 0x5A, make_cudaExtent(4, 8, 6));

    // both device volumes back to host volumes of other pitches (the kind from the pointers)
    Volume back1(100, 7, 5), back2(70, 10, 6), want2(70, 10, 6);
    p = params(d1, make_cudaPos(0, 0, 0), back1.ptr(100), make_cudaPos(0, 0, 0), make_cudaExtent(100, 7, 5),
               cudaMemcpyDefault);
    CUDA_OK(cudaMemcpy3DAsync(&p, s));
    p = params(d2, make_cudaPos(0, 0, 0), back2.ptr(70), make_cudaPos(1, 1, 0), make_cudaExtent(64, 8, 6),
               cudaMemcpyDeviceToHost);
    CUDA_OK(cudaMemcpy3D(&p));
    model_copy(want2, p.dstPos, m2, p.srcPos, p.extent);
    CUDA_OK(cudaStreamSynchronize(s));
    Volume want1(100, 7, 5);
    model_copy(want1, make_cudaPos(0, 0, 0), m1, make_cudaPos(0, 0, 0), make_cudaExtent(100, 7, 5));
    expect_same(back1, want1, 100, 7, 5);
    expect_same(back2, want2, 70, 10, 6);

    // a 3-D copy captured into a graph reads the host volume anew at each launch
    p = params(host.ptr(120), make_cudaPos(0, 2, 0), d2, make_cudaPos(0, 0, 0), make_cudaExtent(32, 5, 2),
               cudaMemcpyHostToDevice);
    cudaMemcpy3DParms out = params(d2, make_cudaPos(0, 0, 0), back2.ptr(70), make_cudaPos(0, 0, 0),
                                   make_cudaExtent(32, 5, 2), cudaMemcpyDeviceToHost);
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    CUDA_OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
    CUDA_OK(cudaMemcpy3DAsync(&p, s));
    CUDA_OK(cudaMemcpy3DAsync(&out, s));
    CUDA_OK(cudaStreamEndCapture(s, &graph));
    CUDA_OK(cudaGraphInstantiate(&exec, graph, 0));
    for (int round = 0; round < 2; ++round) {
        for (auto &b : host.bytes)
            b = (unsigned char)(b * 5 + round);
        CUDA_OK(cudaGraphLaunch(exec, s));
        CUDA_OK(cudaStreamSynchronize(s));
        model_copy(want2, make_cudaPos(0, 0, 0), host, make_cudaPos(0, 2, 0), make_cudaExtent(32, 5, 2));
        expect_same(back2, want2, 70, 10, 6);
    }
    CUDA_OK(cudaGraphExecDestroy(exec));
    CUDA_OK(cudaGraphDestroy(graph));

    // bad parameters get CUDA's codes
    p = params(host.ptr(120), make_cudaPos(0, 0, 0), d1, make_cudaPos(0, 0, 0), make_cudaExtent(121, 1, 1),
               cudaMemcpyHostToDevice);
    EXPECT_CODE(cudaMemcpy3D(&p), cudaErrorInvalidPitchValue);
    p.extent = make_cudaExtent(10, 10, 2);                       // more rows than a host slice holds
    EXPECT_CODE(cudaMemcpy3D(&p), cudaErrorInvalidValue);
    p.extent = make_cudaExtent(10, 1, 1);
    p.srcArray = reinterpret_cast<cudaArray_t>(&p);              // no array
    EXPECT_CODE(cudaMemcpy3D(&p), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMemcpy3D(nullptr), cudaErrorInvalidValue);
    EXPECT_CODE(cudaMemset3D(d1, 0, make_cudaExtent(d1.pitch + 1, 1, 1)), cudaErrorInvalidPitchValue);
    EXPECT_CODE(cudaMalloc3D(nullptr, make_cudaExtent(1, 1, 1)), cudaErrorInvalidValue);
    cudaGetLastError();

    CUDA_OK(cudaStreamDestroy(s));
    CUDA_OK(cudaFree(d1.ptr));
    CUDA_OK(cudaFree(d2.ptr));
    return test_passed();
}
