// Integer hashing, bit tricks, 64-bit and 128-bit (carry chain) arithmetic, byte dot products.
__device__ __forceinline__ unsigned fmix32(unsigned h)
{
    h ^= h >> 16; h *= 0x85ebca6bu;
    h ^= h >> 13; h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

extern "C" __global__ void hash_bits(const unsigned *in, unsigned *out, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    unsigned x = in[i];
    unsigned h = fmix32(x ^ 0x9e3779b9u);
    unsigned r = (x << 13) | (x >> 19);                      // rotate
    out[8 * i + 0] = h;
    out[8 * i + 1] = r ^ (x & ~h) ^ ((x | h) & r);           // lop3
    out[8 * i + 2] = __byte_perm(x, h, 0x5140) ^ __byte_perm(x, h, 0x3276);
    out[8 * i + 3] = __funnelshift_r(x, h, x & 63) + __funnelshift_lc(h, x, x >> 27);
    out[8 * i + 4] = __popc(x) | (__clz(x) << 8) | (__ffs(h) << 16);
    out[8 * i + 5] = __brev(h) + __sad(x, h, 3u);
    out[8 * i + 6] = (unsigned)__dp4a((int)x, (int)h, 17) ^ __dp4a(x, h, 5u);
    out[8 * i + 7] = (unsigned)__dp2a_lo((int)x, (int)h, -3) + __dp2a_hi(x, h, 9u);
}

extern "C" __global__ void int64_ops(const unsigned long long *a, const unsigned long long *b,
                                     unsigned long long *out, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    unsigned long long x = a[i], y = b[i] | 1ull;
    long long sx = (long long)x, sy = (long long)y;
    out[8 * i + 0] = x * y + (x >> (y & 63)) + (x << (x & 63));
    out[8 * i + 1] = __umul64hi(x, y) ^ (unsigned long long)__mul64hi(sx, sy);
    out[8 * i + 2] = x / y + x % y;
    out[8 * i + 3] = (unsigned long long)(sx / sy) ^ (unsigned long long)(sx % sy);
    out[8 * i + 4] = __popcll(x) + 100 * __clzll(y) + 10000 * __ffsll(x);
    out[8 * i + 5] = __brevll(x) ^ (unsigned long long)(sx >> (y & 63));
    out[8 * i + 6] = (x > y ? x - y : y - x) + (sx < sy ? 1 : 2);
    out[8 * i + 7] = (unsigned long long)(double)(x >> 11) + (unsigned long long)(float)(unsigned)y;
}

// 128-bit add, subtract and multiply-accumulate through explicit carry chains.
extern "C" __global__ void carry128(const unsigned *a, const unsigned *b, unsigned *out, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const unsigned *x = a + 4 * i, *y = b + 4 * i;
    unsigned s0, s1, s2, s3, d0, d1, d2, d3, m0, m1, m2;
    asm("add.cc.u32 %0, %4, %8;\n\t"
        "addc.cc.u32 %1, %5, %9;\n\t"
        "addc.cc.u32 %2, %6, %10;\n\t"
        "addc.u32 %3, %7, %11;"
        : "=r"(s0), "=r"(s1), "=r"(s2), "=r"(s3)
        : "r"(x[0]), "r"(x[1]), "r"(x[2]), "r"(x[3]), "r"(y[0]), "r"(y[1]), "r"(y[2]), "r"(y[3]));
    asm("sub.cc.u32 %0, %4, %8;\n\t"
        "subc.cc.u32 %1, %5, %9;\n\t"
        "subc.cc.u32 %2, %6, %10;\n\t"
        "subc.u32 %3, %7, %11;"
        : "=r"(d0), "=r"(d1), "=r"(d2), "=r"(d3)
        : "r"(x[0]), "r"(x[1]), "r"(x[2]), "r"(x[3]), "r"(y[0]), "r"(y[1]), "r"(y[2]), "r"(y[3]));
    // (x1:x0) * y0 as a 96-bit product: lo words and carries through mad.cc/madc.
    asm("mul.lo.u32 %0, %3, %5;\n\t"
        "mul.hi.u32 %1, %3, %5;\n\t"
        "mad.lo.cc.u32 %1, %4, %5, %1;\n\t"
        "madc.hi.u32 %2, %4, %5, 0;"
        : "=r"(m0), "=r"(m1), "=r"(m2) : "r"(x[0]), "r"(x[1]), "r"(y[0]));
    unsigned *o = out + 11 * i;
    o[0] = s0; o[1] = s1; o[2] = s2; o[3] = s3;
    o[4] = d0; o[5] = d1; o[6] = d2; o[7] = d3;
    o[8] = m0; o[9] = m1; o[10] = m2;
}

// Integer division edge cases: by zero and INT_MIN / -1 (defined, no trap).
extern "C" __global__ void div_edges(const int *a, const int *b, int *out, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    int x = a[i], y = b[i];
    out[4 * i + 0] = x / y;
    out[4 * i + 1] = x % y;
    out[4 * i + 2] = (int)((unsigned)x / (unsigned)y);
    out[4 * i + 3] = (int)((unsigned)x % (unsigned)y);
}

// Warp match and reduce: __match_any_sync, __match_all_sync, __reduce_*_sync.
extern "C" __global__ void warp_match(const unsigned *in, unsigned *out)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    unsigned v = in[i];
    int pred;
    out[6 * i + 0] = __match_any_sync(0xffffffffu, v & 3u);
    out[6 * i + 1] = __match_all_sync(0xffffffffu, v >> 30, &pred);
    out[6 * i + 2] = pred;
    out[6 * i + 3] = __reduce_add_sync(0xffffffffu, v);
    out[6 * i + 4] = __reduce_min_sync(0xffffffffu, v) ^ __reduce_max_sync(0xffffffffu, (int)v);
    out[6 * i + 5] = __reduce_or_sync(0xffffffffu, v) ^ __reduce_xor_sync(0xffffffffu, v)
                   ^ __reduce_and_sync(0xffffffffu, v | 0xf0u);
}
