// Block attention on the tensor cores. The work is a set of lists, each the query rows of one kv head that read
// one block (a history block they selected, or their own block, causally). A CTA takes 128 rows of one list,
// gathers their queries, streams the block's keys and values through shared memory 64 at a time (cp.async,
// double-buffered), and keeps scores, the online softmax and the output in registers (mma.sync m16n8k16, bf16 or
// fp16 operands, fp32 accumulation). Each row's result goes to its own partial slot, which merge_slots combines;
// or, in merge mode (a launch over the causal lists after the history lists ran), the CTA folds the row's earlier
// slots into its own result and stores the final output.
#include "moba_common.cuh"
#include "moba_lists.cuh"
#include "moba_mma.cuh"

#define TILE_MT 2   // m-tiles of 16 rows per warp: every K and V fragment a warp loads serves both
#define TILE_WARPS 4
#define TILE_THREADS (TILE_WARPS * 32)
#define TILE_ROWS (TILE_WARPS * TILE_MT * 16)
#define TILE_KEYS 64
#define TILE_PAD 8

// Keys of one chunk into shared memory: rows [j0, j0 + TILE_KEYS) of the block for one kv head; rows at or past
// `limit` are zero-filled, never read from memory.
template <int D>
__device__ __forceinline__ void load_chunk(u16* dst, const u16* src, long long row_stride, int j0, int limit) {
    constexpr int PIECES = D / 8;
    for (int i = threadIdx.x; i < TILE_KEYS * PIECES; i += TILE_THREADS) {
        int r = i / PIECES, piece = i % PIECES;
        bool valid = j0 + r < limit;
        const u16* from = src + (valid ? (long long) (j0 + r) * row_stride + piece * 8 : 0);
        copy16_async(dst + r * (D + TILE_PAD) + piece * 8, from, valid);
    }
}

// Keys of its block a query row reads: all of a history block, its own block up to its position (none for -1).
__device__ __forceinline__ int row_keys(int row, bool causal, int first, int q_heads, long long block_start,
                                        int block_size) {
    if (row < 0) return 0;
    return causal ? (int) min((long long) block_size, first + row / q_heads - block_start + 1) : block_size;
}

template <int D, bool BF16>
__device__ void attend_tile(const u16* q, int q_heads, int first, const u64* blocks, int block_size, int kv_heads,
                            float scale_log2, const TileList* lists, const int* tile_starts, int list_count,
                            const int2* entries, int slots, float* part_out, float* part_lse, u16* merged) {
    extern __shared__ __align__(16) u16 shared[];
    constexpr int STRIDE = D + TILE_PAD;
    const float NEG_INF = -__int_as_float(0x7f800000);
    u16* qs = shared;
    u16* ks = qs + TILE_ROWS * STRIDE;             // two stages
    u16* vs = ks + 2 * TILE_KEYS * STRIDE;         // two stages
    __shared__ int tile_rows[TILE_ROWS];
    __shared__ int tile_slots[TILE_ROWS];
    __shared__ int tile_keys, tile_full_keys;  // the most keys a row of the tile reads, and the fewest

    int tile = tile_starts[0] + blockIdx.x;  // a launch may cover a later range of lists
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

    if (threadIdx.x == 0) {
        tile_keys = 0;
        tile_full_keys = block_size;
    }
    __syncthreads();
    for (int r = threadIdx.x; r < TILE_ROWS; r += TILE_THREADS) {
        int row = -1, slot = 0;
        if (r < rows_here) {
            int2 e = entries[list.first_entry + base_entry + r];
            row = e.x;
            slot = e.y;
            int keys = row_keys(row, list.causal, first, q_heads, block_start, block_size);
            atomicMax(&tile_keys, keys);
            atomicMin(&tile_full_keys, keys);
        }
        tile_rows[r] = row;
        tile_slots[r] = slot;
    }
    __syncthreads();

    constexpr int PIECES = D / 8;
    for (int i = threadIdx.x; i < TILE_ROWS * PIECES; i += TILE_THREADS) {
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

    // Each warp owns TILE_MT m-tiles of 16 rows; every K and V fragment it loads feeds all of them.
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int g = lane >> 2, t = lane & 3;
    const int full_keys = tile_full_keys;

    float o[TILE_MT][D / 8][4];
    float m[TILE_MT][2], l[TILE_MT][2];
#pragma unroll
    for (int mt = 0; mt < TILE_MT; mt++) {
#pragma unroll
        for (int n = 0; n < D / 8; n++) o[mt][n][0] = o[mt][n][1] = o[mt][n][2] = o[mt][n][3] = 0.0f;
        m[mt][0] = m[mt][1] = NEG_INF;
        l[mt][0] = l[mt][1] = 0.0f;
    }

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
        const u16* kc = ks + stage * TILE_KEYS * STRIDE;
        const u16* vc = vs + stage * TILE_KEYS * STRIDE;

        // Scores of all m-tiles, each K fragment loaded once for all of them; then the softmax per m-tile, and one
        // pass over V whose fragments also serve every m-tile.
        int j0 = c * TILE_KEYS;
        float s[TILE_MT][TILE_KEYS / 8][4];
#pragma unroll
        for (int mt = 0; mt < TILE_MT; mt++)
#pragma unroll
            for (int n = 0; n < TILE_KEYS / 8; n++) s[mt][n][0] = s[mt][n][1] = s[mt][n][2] = s[mt][n][3] = 0.0f;
#pragma unroll
        for (int k = 0; k < D / 16; k++) {
            u32 qa[TILE_MT][4];
#pragma unroll
            for (int mt = 0; mt < TILE_MT; mt++) {
                ldmatrix_x4(qa[mt], qs + ((warp * TILE_MT + mt) * 16 + (lane & 15)) * STRIDE + k * 16 + (lane >> 4) * 8);
            }
#pragma unroll
            for (int n = 0; n < TILE_KEYS / 16; n++) {  // two n-tiles of keys per fragment load
                u32 b[4];
                ldmatrix_x4(b, kc + (n * 16 + (lane & 7) + (lane >> 4) * 8) * STRIDE + k * 16 + ((lane >> 3) & 1) * 8);
#pragma unroll
                for (int mt = 0; mt < TILE_MT; mt++) {
                    mma<BF16>(s[mt][2 * n], qa[mt], b[0], b[1]);
                    mma<BF16>(s[mt][2 * n + 1], qa[mt], b[2], b[3]);
                }
            }
        }
        // Keys past a row's end only in chunks that reach past the shortest row: history blocks never mask.
        const bool masked = j0 + TILE_KEYS > full_keys;
        u32 p[TILE_MT][TILE_KEYS / 16][4];
        float c0[TILE_MT], c1[TILE_MT];  // each m-tile's rescale factors for its two rows
        bool grew = false;
#pragma unroll
        for (int mt = 0; mt < TILE_MT; mt++) {
            if (masked) {
                int r = (warp * TILE_MT + mt) * 16 + g;
                int keys0 = row_keys(tile_rows[r], list.causal, first, q_heads, block_start, block_size);
                int keys1 = row_keys(tile_rows[r + 8], list.causal, first, q_heads, block_start, block_size);
#pragma unroll
                for (int n = 0; n < TILE_KEYS / 8; n++) {
#pragma unroll
                    for (int e = 0; e < 2; e++) {
                        int key = j0 + n * 8 + 2 * t + e;
                        if (key >= keys0) s[mt][n][e] = NEG_INF;
                        if (key >= keys1) s[mt][n][2 + e] = NEG_INF;
                    }
                }
            }
            // Maxima of the raw scores (the scale is positive), scaled once.
            float top0 = NEG_INF, top1 = NEG_INF;
#pragma unroll
            for (int n = 0; n < TILE_KEYS / 8; n++) {
                top0 = fmaxf(top0, fmaxf(s[mt][n][0], s[mt][n][1]));
                top1 = fmaxf(top1, fmaxf(s[mt][n][2], s[mt][n][3]));
            }
#pragma unroll
            for (int x = 1; x < 4; x <<= 1) {
                top0 = fmaxf(top0, __shfl_xor_sync(0xffffffffu, top0, x));
                top1 = fmaxf(top1, __shfl_xor_sync(0xffffffffu, top1, x));
            }
            top0 *= scale_log2;
            top1 *= scale_log2;
            // A row keeps its running maximum until a score passes it by more than 8 (log2 units): probabilities
            // then stay below 2^8, exact in fp32 and as precise in the 16-bit operand, and the pass that rescales
            // the output accumulators runs only in chunks where some row of the warp moved its maximum.
            bool grow0 = top0 > m[mt][0] + 8.0f, grow1 = top1 > m[mt][1] + 8.0f;
            float new0 = grow0 ? top0 : m[mt][0], new1 = grow1 ? top1 : m[mt][1];
            float use0 = new0 == NEG_INF ? 0.0f : new0;
            float use1 = new1 == NEG_INF ? 0.0f : new1;
            float corr0 = grow0 ? fast_exp2(m[mt][0] - use0) : 1.0f, corr1 = grow1 ? fast_exp2(m[mt][1] - use1) : 1.0f;
            grew |= grow0 | grow1;
            m[mt][0] = new0;
            m[mt][1] = new1;
            float sum0 = 0.0f, sum1 = 0.0f;
#pragma unroll
            for (int n = 0; n < TILE_KEYS / 8; n++) {
                s[mt][n][0] = fast_exp2(fmaf(s[mt][n][0], scale_log2, -use0));
                s[mt][n][1] = fast_exp2(fmaf(s[mt][n][1], scale_log2, -use0));
                s[mt][n][2] = fast_exp2(fmaf(s[mt][n][2], scale_log2, -use1));
                s[mt][n][3] = fast_exp2(fmaf(s[mt][n][3], scale_log2, -use1));
                sum0 += s[mt][n][0] + s[mt][n][1];
                sum1 += s[mt][n][2] + s[mt][n][3];
            }
            l[mt][0] = l[mt][0] * corr0 + sum0;
            l[mt][1] = l[mt][1] * corr1 + sum1;
            c0[mt] = corr0;
            c1[mt] = corr1;
#pragma unroll
            for (int kk = 0; kk < TILE_KEYS / 16; kk++) {
                p[mt][kk][0] = pack2<BF16>(s[mt][2 * kk][0], s[mt][2 * kk][1]);
                p[mt][kk][1] = pack2<BF16>(s[mt][2 * kk][2], s[mt][2 * kk][3]);
                p[mt][kk][2] = pack2<BF16>(s[mt][2 * kk + 1][0], s[mt][2 * kk + 1][1]);
                p[mt][kk][3] = pack2<BF16>(s[mt][2 * kk + 1][2], s[mt][2 * kk + 1][3]);
            }
        }
        if (__any_sync(0xffffffffu, grew)) {
#pragma unroll
            for (int mt = 0; mt < TILE_MT; mt++) {
#pragma unroll
                for (int n = 0; n < D / 8; n++) {
                    o[mt][n][0] *= c0[mt];
                    o[mt][n][1] *= c0[mt];
                    o[mt][n][2] *= c1[mt];
                    o[mt][n][3] *= c1[mt];
                }
            }
        }
#pragma unroll
        for (int kk = 0; kk < TILE_KEYS / 16; kk++) {
#pragma unroll
            for (int n = 0; n < D / 16; n++) {
                u32 b[4];
                ldmatrix_x4_trans(b, vc + (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * STRIDE + n * 16
                                         + (lane >> 4) * 8);
#pragma unroll
                for (int mt = 0; mt < TILE_MT; mt++) {
                    mma<BF16>(o[mt][2 * n], p[mt][kk], b[0], b[1]);
                    mma<BF16>(o[mt][2 * n + 1], p[mt][kk], b[2], b[3]);
                }
            }
        }
        __syncthreads();
    }

    const float ln2 = 0.69314718055994531f;
#pragma unroll
    for (int mt = 0; mt < TILE_MT; mt++) {
#pragma unroll
        for (int half = 0; half < 2; half++) {
            float sum = l[mt][half];
            sum += __shfl_xor_sync(0xffffffffu, sum, 1);
            sum += __shfl_xor_sync(0xffffffffu, sum, 2);
            int r = (warp * TILE_MT + mt) * 16 + g + half * 8;
            int row = tile_rows[r];
            if (row < 0) continue;
            float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
            float lse = sum > 0.0f ? m[mt][half] * ln2 + logf(sum) : NEG_INF;
            if (merged == nullptr) {
                long long slot = (long long) row * slots + tile_slots[r];
                float* dst = part_out + slot * D;
#pragma unroll
                for (int n = 0; n < D / 8; n++) {
                    *(float2*) (dst + n * 8 + 2 * t) =
                            make_float2(o[mt][n][2 * half] * inv, o[mt][n][2 * half + 1] * inv);
                }
                if (t == 0) part_lse[slot] = lse;
                continue;
            }
            // Merge mode: fold in the row's partials of slots before this one (the history blocks, written by an
            // earlier launch) and store the final output in the storage type.
            int before = tile_slots[r];
            const float* row_lse = part_lse + (long long) row * slots;
            float top = lse;
            for (int h = 0; h < before; h++) top = fmaxf(top, row_lse[h]);
            float own = lse == NEG_INF ? 0.0f : expf(lse - top);
            float total = own;
            float acc[D / 8][2];
#pragma unroll
            for (int n = 0; n < D / 8; n++) {
                acc[n][0] = own * o[mt][n][2 * half] * inv;
                acc[n][1] = own * o[mt][n][2 * half + 1] * inv;
            }
            for (int h = 0; h < before; h++) {
                if (row_lse[h] == NEG_INF) continue;
                float w = expf(row_lse[h] - top);
                total += w;
                const float* part = part_out + ((long long) row * slots + h) * D;
#pragma unroll
                for (int n = 0; n < D / 8; n++) {
                    float2 v = *(const float2*) (part + n * 8 + 2 * t);
                    acc[n][0] += w * v.x;
                    acc[n][1] += w * v.y;
                }
            }
            float scale = total > 0.0f ? 1.0f / total : 0.0f;
            u32* dst = (u32*) (merged + (long long) row * D);
#pragma unroll
            for (int n = 0; n < D / 8; n++) dst[n * 4 + t] = pack2<BF16>(acc[n][0] * scale, acc[n][1] * scale);
        }
    }
}

#define TILE_KERNEL(NAME, D, BF16)                                                                                 \
    extern "C" __global__ void __launch_bounds__(TILE_THREADS, 1) NAME(                                         \
        const u16* q, int q_heads, int first, const u64* blocks, int block_size, int kv_heads, float scale_log2,    \
        const TileList* lists, const int* tile_starts, int list_count, const int2* entries, int slots,             \
        float* part_out, float* part_lse, u16* merged) {                                                           \
        attend_tile<D, BF16>(q, q_heads, first, blocks, block_size, kv_heads, scale_log2, lists, tile_starts,      \
                             list_count, entries, slots, part_out, part_lse, merged);                              \
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
