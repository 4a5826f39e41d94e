// Instructions the JIT compiles beyond plain arithmetic, fed with chosen edge cases by
// tests/test_jit_isa.py.  Inline PTX pins the exact instruction forms.
#include <cuda_fp16.h>

// shfl in every mode with per-thread value, lane operand and clamp/segment word, under a
// guard: lanes outside it neither take part nor change, their registers still serve as
// sources.  out: 4 results, 4 predicates and the value per thread (stored first, so that
// every lane holds it before the branch).
extern "C" __global__ void shfl_modes(const unsigned *in, unsigned *out)
{
    unsigned t = blockIdx.x * blockDim.x + threadIdx.x;
    unsigned v = in[4 * t], d = in[4 * t + 1], c = in[4 * t + 2], take = in[4 * t + 3];
    out[9 * t + 8] = v;
    unsigned r[4] = {0xdeadbeefu, 0xdeadbeefu, 0xdeadbeefu, 0xdeadbeefu};
    unsigned p[4] = {7, 7, 7, 7};
    if (take) {
        asm volatile("{ .reg .pred q; shfl.sync.up.b32 %0|q, %2, %3, %4, 0xffffffff; selp.u32 %1, 1, 0, q; }"
                     : "+r"(r[0]), "+r"(p[0]) : "r"(v), "r"(d), "r"(c));
        asm volatile("{ .reg .pred q; shfl.sync.down.b32 %0|q, %2, %3, %4, 0xffffffff; selp.u32 %1, 1, 0, q; }"
                     : "+r"(r[1]), "+r"(p[1]) : "r"(v), "r"(d), "r"(c));
        asm volatile("{ .reg .pred q; shfl.sync.bfly.b32 %0|q, %2, %3, %4, 0xffffffff; selp.u32 %1, 1, 0, q; }"
                     : "+r"(r[2]), "+r"(p[2]) : "r"(v), "r"(d), "r"(c));
        asm volatile("{ .reg .pred q; shfl.sync.idx.b32 %0|q, %2, %3, %4, 0xffffffff; selp.u32 %1, 1, 0, q; }"
                     : "+r"(r[3]), "+r"(p[3]) : "r"(v), "r"(d), "r"(c));
    }
    for (int k = 0; k < 4; ++k) {
        out[9 * t + k] = r[k];
        out[9 * t + 4 + k] = p[k];
    }
}

// votes, ballot, activemask, match and redux among the lanes that take a branch.
extern "C" __global__ void warp_votes(const unsigned *in, unsigned *out)
{
    unsigned t = blockIdx.x * blockDim.x + threadIdx.x;
    unsigned v = in[2 * t], take = in[2 * t + 1];
    unsigned o[12] = {0};
    if (take) {
        unsigned m = __activemask();
        o[0] = m;
        o[1] = __ballot_sync(m, v & 1);
        o[2] = __any_sync(m, v > 40);
        o[3] = __all_sync(m, v > 2);
        o[4] = __uni_sync(m, v & 2);
        o[5] = __match_any_sync(m, v & 3);
        int pred;
        o[6] = __match_all_sync(m, v >> 6, &pred);
        o[7] = pred;
        o[8] = __reduce_add_sync(m, v);
        o[9] = __reduce_min_sync(m, v);
        o[10] = (unsigned)__reduce_max_sync(m, (int)v - 30);
        o[11] = __reduce_xor_sync(m, v);
    }
    for (int k = 0; k < 12; ++k)
        out[12 * t + k] = o[k];
}

// Global atomics from every thread of many blocks at once.
extern "C" __global__ void atomic_contention(unsigned *counters, unsigned *tickets, float *fsum,
                                             int *minmax, unsigned long long *wide, double *dsum)
{
    unsigned t = blockIdx.x * blockDim.x + threadIdx.x;
    tickets[t] = atomicAdd(&counters[0], 1u);
    atomicAdd(&counters[1], t);                       // result unused: red.global.add
    atomicInc(&counters[2], 99u);
    atomicDec(&counters[3], 7u);
    atomicOr(&counters[4], 1u << (t & 31));
    atomicXor(&counters[5], t * 2654435761u);
    atomicAnd(&counters[6], ~(1u << (t % 29)));
    atomicAdd(fsum, 0.5f);
    atomicMax(&minmax[0], (int)(t * 2654435761u));
    atomicMin(&minmax[1], (int)(t * 2246822519u));
    atomicAdd(&wide[0], (unsigned long long)t << 33);
    atomicMax(&wide[1], (unsigned long long)t * 0x9E3779B97F4A7C15ull);
    atomicAdd(dsum, 0.25);
    while (atomicCAS(&counters[7], t, t + 1) != t) {}  // a chain: thread t waits for t - 1
    atomicExch(&counters[8], 0x55u);
}

// Shared-memory atomics: one block's lanes update in lane order, so float sums and the
// old values returned are fixed.  Generic addresses alternate between shared and global.
extern "C" __global__ void atomic_shared(const float *x, float *out, unsigned *old, unsigned *g)
{
    __shared__ float fs[3];
    __shared__ unsigned us[4];
    unsigned t = threadIdx.x, i = blockIdx.x * blockDim.x + t;
    if (t < 3) fs[t] = 0.0f;
    if (t < 4) us[t] = t == 1 ? 0xFFFFFFFFu : 0u;
    __syncthreads();
    atomicAdd(&fs[0], x[i]);
    atomicAdd(&fs[1], x[i] * 1e-3f);
    old[4 * i] = atomicAdd(&us[0], t);
    old[4 * i + 1] = atomicMin(&us[1], (t * 7919u) % 1000u);
    old[4 * i + 2] = atomicInc(&us[2], 5u);
    unsigned *p = (t & 1) ? &us[3] : &g[blockIdx.x];
    old[4 * i + 3] = atomicAdd(p, t + 1);
    float mx;
    asm volatile("atom.shared.max.f32 %0, [%1], %2;" : "=f"(mx) : "r"((unsigned)__cvta_generic_to_shared(&fs[2])), "f"(x[i]));
    __syncthreads();
    if (t < 3) out[3 * blockIdx.x + t] = fs[t];
    if (t == 0) g[gridDim.x + blockIdx.x] = us[0] + us[1] + us[2] + us[3];
}

// A .shared atomic at a per-thread byte offset into 64 words (one warp): with every offset
// inside, lanes hitting one word count in lane order; else it faults on a chosen lane.
extern "C" __global__ void atomic_shared_at(const unsigned *offs, unsigned *out)
{
    __shared__ unsigned s[64];
    unsigned t = threadIdx.x, old = 0;
    s[t] = 0;
    s[t + 32] = 0;
    __syncthreads();
    if (offs[t] != 0xFFFFFFFFu)   // that lane sits out
        asm volatile("atom.shared.add.u32 %0, [%1], %2;"
                     : "=r"(old) : "r"((unsigned)__cvta_generic_to_shared(s) + offs[t]), "r"(t + 1));
    __syncthreads();
    out[t] = old;
    out[32 + t] = s[t];
    out[64 + t] = s[t + 32];
}

// An atomic at a per-thread offset from a base, to fault on a chosen lane.
extern "C" __global__ void atomic_at(unsigned char *base, const unsigned long long *offs)
{
    unsigned t = blockIdx.x * blockDim.x + threadIdx.x;
    atomicAdd((unsigned *)(base + offs[t]), 1u);
}

// Half precision: the f16/bf16 instruction forms on raw bit patterns.
extern "C" __global__ void half_forms(const unsigned short *a, const unsigned short *b,
                                      const unsigned short *c, unsigned short *out)
{
    unsigned t = blockIdx.x * blockDim.x + threadIdx.x;
    unsigned short x = a[t], y = b[t], z = c[t], r[12];
    asm("add.f16 %0, %1, %2;" : "=h"(r[0]) : "h"(x), "h"(y));
    asm("sub.ftz.f16 %0, %1, %2;" : "=h"(r[1]) : "h"(x), "h"(y));
    asm("mul.sat.f16 %0, %1, %2;" : "=h"(r[2]) : "h"(x), "h"(y));
    asm("fma.rn.f16 %0, %1, %2, %3;" : "=h"(r[3]) : "h"(x), "h"(y), "h"(z));
    asm("min.f16 %0, %1, %2;" : "=h"(r[4]) : "h"(x), "h"(y));
    asm("max.NaN.f16 %0, %1, %2;" : "=h"(r[5]) : "h"(x), "h"(y));
    asm("add.bf16 %0, %1, %2;" : "=h"(r[6]) : "h"(x), "h"(y));
    asm("fma.rn.bf16 %0, %1, %2, %3;" : "=h"(r[7]) : "h"(x), "h"(y), "h"(z));
    asm("neg.f16 %0, %1;" : "=h"(r[8]) : "h"(x));
    asm("abs.bf16 %0, %1;" : "=h"(r[9]) : "h"(y));
    unsigned pair, xy = (unsigned)x | ((unsigned)y << 16), zz = (unsigned)z | ((unsigned)z << 16);
    asm("fma.rn.f16x2 %0, %1, %2, %2;" : "=r"(pair) : "r"(xy), "r"(zz));
    r[10] = (unsigned short)pair;
    r[11] = (unsigned short)(pair >> 16);
    for (int k = 0; k < 12; ++k)
        out[12 * t + k] = r[k];
}

// Conversions with half ends.
extern "C" __global__ void half_convert(const float *f, const double *d, unsigned short *h,
                                        unsigned *packed, float *back, int *ints)
{
    unsigned t = blockIdx.x * blockDim.x + threadIdx.x;
    unsigned short r0, r1, r2, r3;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(r0) : "f"(f[t]));
    asm("cvt.rn.f16.f64 %0, %1;" : "=h"(r1) : "d"(d[t]));
    asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(r2) : "f"(f[t]));
    asm("cvt.rn.bf16.f64 %0, %1;" : "=h"(r3) : "d"(d[t]));
    h[4 * t] = r0; h[4 * t + 1] = r1; h[4 * t + 2] = r2; h[4 * t + 3] = r3;
    unsigned p0, p1;
    asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(p0) : "f"(f[t]), "f"((float)d[t]));
    asm("cvt.rn.relu.bf16x2.f32 %0, %1, %2;" : "=r"(p1) : "f"(f[t]), "f"((float)d[t]));
    packed[2 * t] = p0; packed[2 * t + 1] = p1;
    float b0, b1;
    asm("cvt.f32.f16 %0, %1;" : "=f"(b0) : "h"(r0));
    asm("cvt.f32.bf16 %0, %1;" : "=f"(b1) : "h"(r2));
    back[2 * t] = b0; back[2 * t + 1] = b1;
    int i0, i1;
    unsigned short i2, i3;
    asm("cvt.rni.s32.f16 %0, %1;" : "=r"(i0) : "h"(r0));
    asm("cvt.rzi.u32.bf16 %0, %1;" : "=r"(i1) : "h"(r2));
    asm("cvt.rn.f16.s32 %0, %1;" : "=h"(i2) : "r"((int)(f[t] * 1000.0f)));
    asm("cvt.rn.bf16.s64 %0, %1;" : "=h"(i3) : "l"((long long)(d[t] * 1e15)));
    unsigned pq;
    asm("{ .reg .pred p, q; .reg .u32 a, b; setp.lt.f16x2 p|q, %1, %2;\n\t"
        "selp.u32 a, 1, 0, p; selp.u32 b, 2, 0, q; or.b32 %0, a, b; }"
        : "=r"(pq) : "r"(p0), "r"(p1));
    ints[4 * t] = i0; ints[4 * t + 1] = i1; ints[4 * t + 2] = i2; ints[4 * t + 3] = i3 | pq << 16;
}

// 128-bit arithmetic by carry chains, and a 64x64->128 multiply with mad.cc/madc.
extern "C" __global__ void carry_chains(const unsigned *a, const unsigned *b, unsigned *out)
{
    unsigned t = blockIdx.x * blockDim.x + threadIdx.x;
    const unsigned *x = a + 4 * t, *y = b + 4 * t;
    unsigned s0, s1, s2, s3, c, d0, d1, d2, d3, bw;
    asm("add.cc.u32 %0, %5, %9;\n\taddc.cc.u32 %1, %6, %10;\n\taddc.cc.u32 %2, %7, %11;\n\t"
        "addc.cc.u32 %3, %8, %12;\n\taddc.u32 %4, 0, 0;"
        : "=r"(s0), "=r"(s1), "=r"(s2), "=r"(s3), "=r"(c)
        : "r"(x[0]), "r"(x[1]), "r"(x[2]), "r"(x[3]), "r"(y[0]), "r"(y[1]), "r"(y[2]), "r"(y[3]));
    asm("sub.cc.u32 %0, %5, %9;\n\tsubc.cc.u32 %1, %6, %10;\n\tsubc.cc.u32 %2, %7, %11;\n\t"
        "subc.cc.u32 %3, %8, %12;\n\tsubc.u32 %4, 0, 0;"
        : "=r"(d0), "=r"(d1), "=r"(d2), "=r"(d3), "=r"(bw)
        : "r"(x[0]), "r"(x[1]), "r"(x[2]), "r"(x[3]), "r"(y[0]), "r"(y[1]), "r"(y[2]), "r"(y[3]));
    unsigned m0, m1, m2, m3;
    asm("mul.lo.u32 %0, %4, %6;\n\tmul.hi.u32 %1, %4, %6;\n\t"
        "mad.lo.cc.u32 %1, %5, %6, %1;\n\tmadc.hi.u32 %2, %5, %6, 0;\n\t"
        "mad.lo.cc.u32 %1, %4, %7, %1;\n\tmadc.hi.cc.u32 %2, %4, %7, %2;\n\taddc.u32 %3, 0, 0;\n\t"
        "mad.lo.cc.u32 %2, %5, %7, %2;\n\tmadc.hi.u32 %3, %5, %7, %3;"
        : "=r"(m0), "=r"(m1), "=r"(m2), "=r"(m3) : "r"(x[0]), "r"(x[1]), "r"(y[0]), "r"(y[1]));
    unsigned long long w0, w1;
    asm("add.cc.u64 %0, %2, %3;\n\taddc.u64 %1, 0, 0;" : "=l"(w0), "=l"(w1)
        : "l"(((unsigned long long)x[1] << 32) | x[0]), "l"(((unsigned long long)y[1] << 32) | y[0]));
    unsigned *o = out + 16 * t;
    o[0] = s0; o[1] = s1; o[2] = s2; o[3] = s3; o[4] = c;
    o[5] = d0; o[6] = d1; o[7] = d2; o[8] = d3; o[9] = bw;
    o[10] = m0; o[11] = m1; o[12] = m2; o[13] = m3;
    o[14] = (unsigned)w0; o[15] = (unsigned)w1;
}

// Directed rounding on float and double, and conversions in every rounding mode.
extern "C" __global__ void directed_f32(const float *a, const float *b, const float *c, float *out)
{
    unsigned t = blockIdx.x * blockDim.x + threadIdx.x;
    float x = a[t], y = b[t], z = c[t], *o = out + 16 * t;
    asm("add.rz.f32 %0, %1, %2;" : "=f"(o[0]) : "f"(x), "f"(y));
    asm("add.rm.f32 %0, %1, %2;" : "=f"(o[1]) : "f"(x), "f"(y));
    asm("sub.rp.f32 %0, %1, %2;" : "=f"(o[2]) : "f"(x), "f"(y));
    asm("mul.rz.f32 %0, %1, %2;" : "=f"(o[3]) : "f"(x), "f"(y));
    asm("mul.rm.ftz.f32 %0, %1, %2;" : "=f"(o[4]) : "f"(x), "f"(y));
    asm("div.rp.f32 %0, %1, %2;" : "=f"(o[5]) : "f"(x), "f"(y));
    asm("div.rz.f32 %0, %1, %2;" : "=f"(o[6]) : "f"(x), "f"(y));
    asm("fma.rm.f32 %0, %1, %2, %3;" : "=f"(o[7]) : "f"(x), "f"(y), "f"(z));
    asm("fma.rp.sat.f32 %0, %1, %2, %3;" : "=f"(o[8]) : "f"(x), "f"(y), "f"(z));
    asm("sqrt.rz.f32 %0, %1;" : "=f"(o[9]) : "f"(fabsf(x)));
    asm("sqrt.rp.f32 %0, %1;" : "=f"(o[10]) : "f"(fabsf(y)));
    asm("rcp.rm.f32 %0, %1;" : "=f"(o[11]) : "f"(y));
    asm("ex2.approx.f32 %0, %1;" : "=f"(o[12]) : "f"(x));
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(o[13]) : "f"(z));
    asm("min.f32 %0, %1, %2;" : "=f"(o[14]) : "f"(x), "f"(y));
    asm("max.NaN.f32 %0, %1, %2;" : "=f"(o[15]) : "f"(x), "f"(y));
}

extern "C" __global__ void directed_f64(const double *a, const double *b, const double *c,
                                        double *out)
{
    unsigned t = blockIdx.x * blockDim.x + threadIdx.x;
    double x = a[t], y = b[t], z = c[t], *o = out + 10 * t;
    asm("add.rz.f64 %0, %1, %2;" : "=d"(o[0]) : "d"(x), "d"(y));
    asm("add.rm.f64 %0, %1, %2;" : "=d"(o[1]) : "d"(x), "d"(y));
    asm("sub.rp.f64 %0, %1, %2;" : "=d"(o[2]) : "d"(x), "d"(y));
    asm("mul.rp.f64 %0, %1, %2;" : "=d"(o[3]) : "d"(x), "d"(y));
    asm("mul.rz.f64 %0, %1, %2;" : "=d"(o[4]) : "d"(x), "d"(y));
    asm("div.rm.f64 %0, %1, %2;" : "=d"(o[5]) : "d"(x), "d"(y));
    asm("fma.rz.f64 %0, %1, %2, %3;" : "=d"(o[6]) : "d"(x), "d"(y), "d"(z));
    asm("fma.rp.f64 %0, %1, %2, %3;" : "=d"(o[7]) : "d"(x), "d"(y), "d"(z));
    asm("sqrt.rm.f64 %0, %1;" : "=d"(o[8]) : "d"(fabs(x)));
    asm("rcp.rp.f64 %0, %1;" : "=d"(o[9]) : "d"(y));
}

extern "C" __global__ void directed_cvt(const double *d, const long long *s, float *f, double *g)
{
    unsigned t = blockIdx.x * blockDim.x + threadIdx.x;
    double x = d[t];
    long long v = s[t];
    float *o = f + 9 * t;
    asm("cvt.rz.f32.f64 %0, %1;" : "=f"(o[0]) : "d"(x));
    asm("cvt.rm.f32.f64 %0, %1;" : "=f"(o[1]) : "d"(x));
    asm("cvt.rp.f32.f64 %0, %1;" : "=f"(o[2]) : "d"(x));
    asm("cvt.rz.f32.s64 %0, %1;" : "=f"(o[3]) : "l"(v));
    asm("cvt.rm.f32.s64 %0, %1;" : "=f"(o[4]) : "l"(v));
    asm("cvt.rp.f32.u64 %0, %1;" : "=f"(o[5]) : "l"(v));
    asm("cvt.rz.f32.s32 %0, %1;" : "=f"(o[6]) : "r"((int)v));
    asm("cvt.rp.f32.u32 %0, %1;" : "=f"(o[7]) : "r"((unsigned)v));
    asm("cvt.rn.f32.u64 %0, %1;" : "=f"(o[8]) : "l"(v));
    asm("cvt.rm.f64.s64 %0, %1;" : "=d"(g[2 * t]) : "l"(v));
    asm("cvt.rp.f64.u64 %0, %1;" : "=d"(g[2 * t + 1]) : "l"(v));
}

// dp4a / dp2a in every signedness.
extern "C" __global__ void dots(const unsigned *a, const unsigned *b, const unsigned *c, unsigned *out)
{
    unsigned t = blockIdx.x * blockDim.x + threadIdx.x;
    unsigned x = a[t], y = b[t], z = c[t], *o = out + 6 * t;
    asm("dp4a.u32.u32 %0, %1, %2, %3;" : "=r"(o[0]) : "r"(x), "r"(y), "r"(z));
    asm("dp4a.s32.u32 %0, %1, %2, %3;" : "=r"(o[1]) : "r"(x), "r"(y), "r"(z));
    asm("dp4a.s32.s32 %0, %1, %2, %3;" : "=r"(o[2]) : "r"(x), "r"(y), "r"(z));
    asm("dp2a.lo.u32.s32 %0, %1, %2, %3;" : "=r"(o[3]) : "r"(x), "r"(y), "r"(z));
    asm("dp2a.hi.s32.u32 %0, %1, %2, %3;" : "=r"(o[4]) : "r"(x), "r"(y), "r"(z));
    asm("dp2a.hi.s32.s32 %0, %1, %2, %3;" : "=r"(o[5]) : "r"(x), "r"(y), "r"(z));
}

// The clock registers: a thread's clock64 never runs backwards, globaltimer is wall time.
extern "C" __global__ void clocks(long long *out)
{
    unsigned t = blockIdx.x * blockDim.x + threadIdx.x;
    long long c0 = clock64();
    unsigned c32;
    asm volatile("mov.u32 %0, %%clock;" : "=r"(c32));
    unsigned long long g;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(g));
    long long c1 = clock64();
    out[3 * t] = c1 - c0;
    out[3 * t + 1] = (long long)g;
    out[3 * t + 2] = c32 != 0 || c0 != 0;
}

// Kernel parameters read through a register at per-thread offsets (one may fault).
struct Table { int v[16]; };
extern "C" __global__ void param_through_register(Table tab, const int *idx, int *out)
{
    unsigned t = blockIdx.x * blockDim.x + threadIdx.x;
    int k = idx[t];
    long long base;
    asm("mov.b64 %0, param_through_register_param_0;" : "=l"(base));
    int v;
    asm volatile("ld.param.u32 %0, [%1];" : "=r"(v) : "l"(base + 4 * (long long)k));
    out[t] = v;
    unsigned long long g;
    asm("cvta.param.u64 %0, %1;" : "=l"(g) : "l"(base));
    int p;
    asm("{ .reg .pred q; isspacep.param q, %1; selp.u32 %0, 1, 0, q; }" : "=r"(p) : "l"(g));
    out[blockDim.x * gridDim.x + t] = p;
}

// mul24/mad24, prmt's byte modes, saturating integer conversions and flush-to-zero forms.
extern "C" __global__ void misc_forms(const unsigned *a, const unsigned *b, const unsigned *c,
                                      unsigned *out)
{
    unsigned t = blockIdx.x * blockDim.x + threadIdx.x;
    unsigned x = a[t], y = b[t], z = c[t], *o = out + 20 * t;
    asm("mul24.lo.u32 %0, %1, %2;" : "=r"(o[0]) : "r"(x), "r"(y));
    asm("mul24.hi.s32 %0, %1, %2;" : "=r"(o[1]) : "r"(x), "r"(y));
    asm("mad24.lo.s32 %0, %1, %2, %3;" : "=r"(o[2]) : "r"(x), "r"(y), "r"(z));
    asm("mad24.hi.u32 %0, %1, %2, %3;" : "=r"(o[3]) : "r"(x), "r"(y), "r"(z));
    asm("prmt.b32.f4e %0, %1, %2, %3;" : "=r"(o[4]) : "r"(x), "r"(y), "r"(z));
    asm("prmt.b32.b4e %0, %1, %2, %3;" : "=r"(o[5]) : "r"(x), "r"(y), "r"(z));
    asm("prmt.b32.rc8 %0, %1, %2, %3;" : "=r"(o[6]) : "r"(x), "r"(y), "r"(z));
    asm("prmt.b32.ecl %0, %1, %2, %3;" : "=r"(o[7]) : "r"(x), "r"(y), "r"(z));
    asm("prmt.b32.ecr %0, %1, %2, %3;" : "=r"(o[8]) : "r"(x), "r"(y), "r"(z));
    asm("prmt.b32.rc16 %0, %1, %2, %3;" : "=r"(o[9]) : "r"(x), "r"(y), "r"(z));
    unsigned short s8, u16;
    asm("cvt.sat.s8.s32 %0, %1;" : "=h"(s8) : "r"(x));
    asm("cvt.sat.u16.s32 %0, %1;" : "=h"(u16) : "r"(y));
    o[10] = s8;
    o[11] = u16;
    asm("cvt.sat.s32.u32 %0, %1;" : "=r"(o[12]) : "r"(z));
    asm("cvt.sat.u32.s64 %0, %1;" : "=r"(o[13]) : "l"(((long long)(int)x << 8) ^ y));
    float f = __int_as_float(x), g = __int_as_float(y);
    asm("{ .reg .pred q; setp.lt.ftz.f32 q, %1, %2; selp.u32 %0, 1, 0, q; }" : "=r"(o[14]) : "f"(f), "f"(g));
    asm("{ .reg .pred q; setp.eq.ftz.f32 q, %1, 0f00000000; selp.u32 %0, 1, 0, q; }" : "=r"(o[15]) : "f"(f));
    int i;
    asm("cvt.rzi.ftz.s32.f32 %0, %1;" : "=r"(i) : "f"(f));
    o[16] = i;
    double d;
    asm("cvt.ftz.f64.f32 %0, %1;" : "=d"(d) : "f"(g));
    o[17] = (unsigned)(__double_as_longlong(d) >> 32);
    float r;
    asm("cvt.rn.ftz.f32.f64 %0, %1;" : "=f"(r) : "d"(__longlong_as_double(((long long)x << 32) | y)));
    o[18] = __float_as_int(r);
    asm("cvt.rni.ftz.f32.f32 %0, %1;" : "=f"(r) : "f"(g));
    o[19] = __float_as_int(r);
}

// The carry flag is thread state: it survives a barrier, where the JIT parks the warp.
extern "C" __global__ void carry_across_barrier(const unsigned *a, unsigned *out)
{
    unsigned t = blockIdx.x * blockDim.x + threadIdx.x;
    unsigned lo, c;
    asm volatile("add.cc.u32 %0, %1, %2;" : "=r"(lo) : "r"(a[t]), "r"(a[t + 1]));
    __syncthreads();
    asm volatile("addc.u32 %0, 0, 0;" : "=r"(c));
    out[2 * t] = lo;
    out[2 * t + 1] = c;
}

// Float min/max atomics on global memory (a compare-and-swap loop in the JIT): the result is
// the extreme value whatever the order, -0 counting below +0 and NaN operands skipped.
extern "C" __global__ void atomic_float_extremes(const float *x, float *f, double *d)
{
    unsigned t = blockIdx.x * blockDim.x + threadIdx.x;
    float v = x[t];
    asm volatile("red.global.max.f32 [%0], %1;" :: "l"(f), "f"(v) : "memory");
    asm volatile("red.global.min.f32 [%0], %1;" :: "l"(f + 1), "f"(v) : "memory");
    double old;
    asm volatile("atom.global.max.f64 %0, [%1], %2;" : "=d"(old) : "l"(d), "d"((double)v) : "memory");
    asm volatile("atom.global.min.f64 %0, [%1], %2;" : "=d"(old) : "l"(d + 1), "d"((double)v) : "memory");
}
