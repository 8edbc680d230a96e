// Block attention on the tensor cores. The work is a set of lists, each the query rows of one kv head that read
// one block (a history block they selected, or their own block, causally). A CTA takes 64 rows of one list,
// gathers their queries, streams the block's keys and values through shared memory 64 at a time (cp.async,
// double-buffered), and keeps scores, the online softmax and the output in registers (mma.sync m16n8k16, bf16 or
// fp16 operands, fp32 accumulation). Each row's result goes to its own partial slot; merge_slots combines them.
#include "moba_common.cuh"
#include "moba_lists.cuh"

#define TILE_ROWS 64
#define TILE_KEYS 64
#define TILE_WARPS 4
#define TILE_PAD 8

__device__ __forceinline__ u32 smem_address(const void* p) { return (u32) __cvta_generic_to_shared(p); }

__device__ __forceinline__ void ldmatrix_x4(u32 (&r)[4], const void* p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(smem_address(p)));
}

__device__ __forceinline__ void ldmatrix_x4_trans(u32 (&r)[4], const void* p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(smem_address(p)));
}

template <bool BF16>
__device__ __forceinline__ void mma(float (&c)[4], const u32 (&a)[4], u32 b0, u32 b1) {
    if (BF16) {
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                     "{%0,%1,%2,%3};"
                     : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    } else {
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                     "{%0,%1,%2,%3};"
                     : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
}

// Packs two floats into the operand type, `low` in the low half (the lower column of an mma fragment).
template <bool BF16>
__device__ __forceinline__ u32 pack2(float low, float high) {
    u32 r;
    if (BF16) {
        asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(high), "f"(low));
    } else {
        asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(high), "f"(low));
    }
    return r;
}

__device__ __forceinline__ void copy16_async(void* dst, const void* src, bool valid) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;"
                 :: "r"(smem_address(dst)), "l"(src), "r"(valid ? 16 : 0));
}

__device__ __forceinline__ void async_commit() { asm volatile("cp.async.commit_group;"); }

template <int N>
__device__ __forceinline__ void async_wait() { asm volatile("cp.async.wait_group %0;" :: "n"(N)); }

// Keys of one chunk into shared memory: rows [j0, j0 + TILE_KEYS) of the block for one kv head; rows at or past
// `limit` are zero-filled, never read from memory.
template <int D>
__device__ __forceinline__ void load_chunk(u16* dst, const u16* src, long long row_stride, int j0, int limit) {
    constexpr int PIECES = D / 8;
    for (int i = threadIdx.x; i < TILE_KEYS * PIECES; i += TILE_WARPS * 32) {
        int r = i / PIECES, piece = i % PIECES;
        bool valid = j0 + r < limit;
        const u16* from = src + (valid ? (long long) (j0 + r) * row_stride + piece * 8 : 0);
        copy16_async(dst + r * (D + TILE_PAD) + piece * 8, from, valid);
    }
}

template <int D, bool BF16>
__device__ void attend_tile(const u16* q, int q_heads, int first, const u64* blocks, int block_size, int kv_heads,
                            float scale_log2, const TileList* lists, const int* tile_starts, int list_count,
                            const int2* entries, int slots, float* part_out, float* part_lse) {
    extern __shared__ __align__(16) u16 shared[];
    constexpr int STRIDE = D + TILE_PAD;
    u16* qs = shared;
    u16* ks = qs + TILE_ROWS * STRIDE;             // two stages
    u16* vs = ks + 2 * TILE_KEYS * STRIDE;         // two stages
    __shared__ int tile_rows[TILE_ROWS];
    __shared__ int tile_slots[TILE_ROWS];
    __shared__ int tile_keys;

    int tile = blockIdx.x;
    if (tile >= tile_starts[list_count]) return;
    int lo = 0, hi = list_count - 1;
    while (lo < hi) {  // the last list whose first tile is at or before this one (it is never empty)
        int mid = (lo + hi + 1) >> 1;
        if (tile_starts[mid] <= tile) lo = mid; else hi = mid - 1;
    }
    TileList list = lists[lo];
    int base_entry = (tile - tile_starts[lo]) * TILE_ROWS;
    int rows_here = min(TILE_ROWS, list.count - base_entry);
    long long block_start = (long long) list.block * block_size;

    if (threadIdx.x == 0) tile_keys = 0;
    __syncthreads();
    for (int r = threadIdx.x; r < TILE_ROWS; r += TILE_WARPS * 32) {
        int row = -1, slot = 0, keys = 0;
        if (r < rows_here) {
            int2 e = entries[list.first_entry + base_entry + r];
            row = e.x;
            slot = e.y;
            keys = list.causal ? (int) min((long long) block_size, first + row / q_heads - block_start + 1)
                               : block_size;
        }
        tile_rows[r] = row;
        tile_slots[r] = slot;
        atomicMax(&tile_keys, keys);
    }
    __syncthreads();

    constexpr int PIECES = D / 8;
    for (int i = threadIdx.x; i < TILE_ROWS * PIECES; i += TILE_WARPS * 32) {
        int r = i / PIECES, piece = i % PIECES;
        int row = tile_rows[r];
        copy16_async(qs + r * STRIDE + piece * 8, q + (row >= 0 ? (long long) row * D + piece * 8 : 0), row >= 0);
    }
    const long long key_stride = (long long) kv_heads * D;
    const u16* kbase = (const u16*) blocks[list.block] + (long long) list.kv_head * D;
    const u16* vbase = kbase + (long long) block_size * key_stride;
    int limit = tile_keys;
    int chunks = (limit + TILE_KEYS - 1) / TILE_KEYS;
    load_chunk<D>(ks, kbase, key_stride, 0, limit);
    load_chunk<D>(vs, vbase, key_stride, 0, limit);
    async_commit();

    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int g = lane >> 2, t = lane & 3;
    int row0 = tile_rows[warp * 16 + g], row1 = tile_rows[warp * 16 + g + 8];
    int keys0 = row0 < 0 ? 0 : (list.causal ? (int) (first + row0 / q_heads - block_start + 1) : block_size);
    int keys1 = row1 < 0 ? 0 : (list.causal ? (int) (first + row1 / q_heads - block_start + 1) : block_size);
    keys0 = min(keys0, block_size);
    keys1 = min(keys1, block_size);

    u32 qf[D / 16][4];
    float o[D / 8][4];
#pragma unroll
    for (int n = 0; n < D / 8; n++) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.0f;
    float m0 = -__int_as_float(0x7f800000), m1 = m0, l0 = 0.0f, l1 = 0.0f;

    for (int c = 0; c < chunks; c++) {
        int stage = c & 1;
        if (c + 1 < chunks) {
            load_chunk<D>(ks + (stage ^ 1) * TILE_KEYS * STRIDE, kbase, key_stride, (c + 1) * TILE_KEYS, limit);
            load_chunk<D>(vs + (stage ^ 1) * TILE_KEYS * STRIDE, vbase, key_stride, (c + 1) * TILE_KEYS, limit);
            async_commit();
            async_wait<1>();
        } else {
            async_wait<0>();
        }
        __syncthreads();
        if (c == 0) {
#pragma unroll
            for (int k = 0; k < D / 16; k++) {
                ldmatrix_x4(qf[k], qs + (warp * 16 + (lane & 15)) * STRIDE + k * 16 + (lane >> 4) * 8);
            }
        }
        const u16* kc = ks + stage * TILE_KEYS * STRIDE;
        const u16* vc = vs + stage * TILE_KEYS * STRIDE;

        float s[TILE_KEYS / 8][4];
#pragma unroll
        for (int n = 0; n < TILE_KEYS / 8; n++) s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.0f;
#pragma unroll
        for (int k = 0; k < D / 16; k += 2) {
#pragma unroll
            for (int n = 0; n < TILE_KEYS / 8; n++) {
                u32 b[4];
                ldmatrix_x4(b, kc + (n * 8 + (lane & 7)) * STRIDE + k * 16 + (lane >> 3) * 8);
                mma<BF16>(s[n], qf[k], b[0], b[1]);
                mma<BF16>(s[n], qf[k + 1], b[2], b[3]);
            }
        }

        int j0 = c * TILE_KEYS;
        float max0 = -__int_as_float(0x7f800000), max1 = max0;
#pragma unroll
        for (int n = 0; n < TILE_KEYS / 8; n++) {
#pragma unroll
            for (int e = 0; e < 2; e++) {
                int key = j0 + n * 8 + 2 * t + e;
                s[n][e] = key < keys0 ? s[n][e] * scale_log2 : -__int_as_float(0x7f800000);
                s[n][2 + e] = key < keys1 ? s[n][2 + e] * scale_log2 : -__int_as_float(0x7f800000);
                max0 = fmaxf(max0, s[n][e]);
                max1 = fmaxf(max1, s[n][2 + e]);
            }
        }
#pragma unroll
        for (int x = 1; x < 4; x <<= 1) {
            max0 = fmaxf(max0, __shfl_xor_sync(0xffffffffu, max0, x));
            max1 = fmaxf(max1, __shfl_xor_sync(0xffffffffu, max1, x));
        }
        float new0 = fmaxf(m0, max0), new1 = fmaxf(m1, max1);
        float use0 = new0 == -__int_as_float(0x7f800000) ? 0.0f : new0;
        float use1 = new1 == -__int_as_float(0x7f800000) ? 0.0f : new1;
        float corr0 = exp2f(m0 - use0), corr1 = exp2f(m1 - use1);
        m0 = new0;
        m1 = new1;
        float sum0 = 0.0f, sum1 = 0.0f;
#pragma unroll
        for (int n = 0; n < TILE_KEYS / 8; n++) {
            s[n][0] = exp2f(s[n][0] - use0);
            s[n][1] = exp2f(s[n][1] - use0);
            s[n][2] = exp2f(s[n][2] - use1);
            s[n][3] = exp2f(s[n][3] - use1);
            sum0 += s[n][0] + s[n][1];
            sum1 += s[n][2] + s[n][3];
        }
        l0 = l0 * corr0 + sum0;
        l1 = l1 * corr1 + sum1;
#pragma unroll
        for (int n = 0; n < D / 8; n++) {
            o[n][0] *= corr0;
            o[n][1] *= corr0;
            o[n][2] *= corr1;
            o[n][3] *= corr1;
        }
#pragma unroll
        for (int kk = 0; kk < TILE_KEYS / 16; kk++) {
            u32 p[4] = {pack2<BF16>(s[2 * kk][0], s[2 * kk][1]), pack2<BF16>(s[2 * kk][2], s[2 * kk][3]),
                        pack2<BF16>(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                        pack2<BF16>(s[2 * kk + 1][2], s[2 * kk + 1][3])};
#pragma unroll
            for (int n = 0; n < D / 16; n++) {
                u32 b[4];
                ldmatrix_x4_trans(b, vc + (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * STRIDE + n * 16
                                         + (lane >> 4) * 8);
                mma<BF16>(o[2 * n], p, b[0], b[1]);
                mma<BF16>(o[2 * n + 1], p, b[2], b[3]);
            }
        }
        __syncthreads();
    }

#pragma unroll
    for (int x = 1; x < 4; x <<= 1) {
        l0 += __shfl_xor_sync(0xffffffffu, l0, x);
        l1 += __shfl_xor_sync(0xffffffffu, l1, x);
    }
    const float ln2 = 0.69314718055994531f;
#pragma unroll
    for (int half = 0; half < 2; half++) {
        int r = warp * 16 + g + half * 8;
        int row = tile_rows[r];
        if (row < 0) continue;
        float l = half ? l1 : l0, m = half ? m1 : m0;
        float inv = l > 0.0f ? 1.0f / l : 0.0f;
        long long slot = (long long) row * slots + tile_slots[r];
        float* dst = part_out + slot * D;
#pragma unroll
        for (int n = 0; n < D / 8; n++) {
            float2 v = make_float2(o[n][2 * half] * inv, o[n][2 * half + 1] * inv);
            *(float2*) (dst + n * 8 + 2 * t) = v;
        }
        if (t == 0) part_lse[slot] = l > 0.0f ? m * ln2 + logf(l) : -__int_as_float(0x7f800000);
    }
}

#define TILE_KERNEL(NAME, D, BF16)                                                                                 \
    extern "C" __global__ void __launch_bounds__(TILE_WARPS * 32) NAME(                                            \
        const u16* q, int q_heads, int first, const u64* blocks, int block_size, int kv_heads, float scale_log2,    \
        const TileList* lists, const int* tile_starts, int list_count, const int2* entries, int slots,             \
        float* part_out, float* part_lse) {                                                                        \
        attend_tile<D, BF16>(q, q_heads, first, blocks, block_size, kv_heads, scale_log2, lists, tile_starts,      \
                             list_count, entries, slots, part_out, part_lse);                                      \
    }

TILE_KERNEL(attend_tiles_bf16_d64, 64, true)
TILE_KERNEL(attend_tiles_bf16_d128, 128, true)
TILE_KERNEL(attend_tiles_fp16_d64, 64, false)
TILE_KERNEL(attend_tiles_fp16_d128, 128, false)

// Rounds n fp32 values to the storage type (exact for values the engine already rounded).
extern "C" __global__ void convert_from_f32(const float* src, long long n, int dt, void* dst) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        store_elem(dst, i, dt, src[i]);
    }
}
