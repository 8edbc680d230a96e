// Block attention on the tensor cores. The work is a set of lists, each the query rows of one kv head that read
// one block (a history block they selected, or their own block, causally). A CTA takes 128 rows of one list,
// gathers their queries, streams the block's keys and values (values lie value_offset bytes after keys: a cache
// block's second half) through shared memory 64 at a time (cp.async, double-buffered), and keeps scores, the online
// softmax and the output in registers (mma.sync m16n8k16, bf16 or fp16 operands, fp32 accumulation). Each row's
// result goes to its own partial slot, which merge_slots combines; or, in merge mode (a launch over the causal lists after the history lists ran), the CTA folds
// the row's earlier slots into its own result and stores the final output.
#include "moba_common.cuh"
#include "moba_lists.cuh"
#include "moba_mma.cuh"
#include "moba_wgmma.cuh"

#define TILE_ROWS 128
#define TILE_KEYS 64
#define TILE_PAD 8
#define TILE_MT 2   // m-tiles of 16 rows per warp, so every K and V fragment a warp loads serves both
#define TILE_THREADS (TILE_ROWS / (TILE_MT * 16) * 32)

// Keys of its block a query row reads: all of a history block, its own block up to its position (none for -1).
__device__ __forceinline__ int row_keys(int row, bool causal, int first, int q_heads, long long block_start,
                                        int block_size) {
    if (row < 0) return 0;
    return causal ? (int) min((long long) block_size, first + row / q_heads - block_start + 1) : block_size;
}

// What a CTA learns about its tile before the products: its list, and the keys its rows read.
struct TileWork {
    TileList list;
    long long block_start;
    int keys;       // the most keys a row of the tile reads
    int full_keys;  // the fewest: chunks below it need no mask
};

// The last list whose first tile is at or before `tile` (lists are never empty, so the one the tile belongs to),
// found by each warp with a 32-way search: a launch over thousands of lists waits for three rounds of loads before
// its first product, where a binary search waited for a dozen.
__device__ __forceinline__ int find_list(const int* tile_starts, int list_count, int tile) {
    int lane = threadIdx.x & 31;
    int lo = 0, hi = list_count - 1;  // tile_starts[lo] <= tile, and the answer is at most hi
    while (lo < hi) {
        int step = (hi - lo + 32) / 32;
        int probe = lo + lane * step;
        unsigned below = __ballot_sync(0xffffffffu, probe <= hi && tile_starts[probe] <= tile);
        lo += (31 - __clz(below)) * step;
        hi = min(hi, lo + step - 1);
    }
    return lo;
}

// Finds the CTA's tile and fills rows[] and slots[] (-1 rows past the list's end); false when the launch has more
// CTAs than tiles. Ends with a barrier.
__device__ bool tile_begin(int first, int q_heads, int block_size, const TileList* lists, const int* tile_starts,
                           int list_count, const int2* entries, int* rows, int* slots, TileWork& work) {
    __shared__ int tile_keys, tile_full_keys;
    int tile = tile_starts[0] + blockIdx.x;  // a launch may cover a later range of lists
    if (tile >= tile_starts[list_count]) return false;
    int list = find_list(tile_starts, list_count, tile);
    work.list = lists[list];
    int base_entry = (tile - tile_starts[list]) * TILE_ROWS;
    int rows_here = min(TILE_ROWS, work.list.count - base_entry);
    work.block_start = (long long) work.list.block * block_size;
    if (threadIdx.x == 0) {
        tile_keys = 0;
        tile_full_keys = block_size;
    }
    __syncthreads();
    for (int r = threadIdx.x; r < TILE_ROWS; r += blockDim.x) {
        int row = -1, slot = 0;
        if (r < rows_here) {
            int2 e = entries[work.list.first_entry + base_entry + r];
            row = e.x;
            slot = e.y;
            int keys = row_keys(row, work.list.causal, first, q_heads, work.block_start, block_size);
            atomicMax(&tile_keys, keys);
            atomicMin(&tile_full_keys, keys);
        }
        rows[r] = row;
        slots[r] = slot;
    }
    __syncthreads();
    work.keys = tile_keys;
    work.full_keys = tile_full_keys;
    return true;
}

// The online softmax of one m-tile's chunk of scores (raw dot products, keys j0.. of the chunk; this thread holds
// rows g and g + 8 of the m-tile, columns 2t, 2t + 1 of each n8 tile): masks keys past each row's end when asked,
// updates the running maximum m and sum l of both rows, leaves the rescale factors of the earlier output in corr,
// and turns the scores into probabilities in place. Returns whether a row's maximum moved.
template <int KEYS = TILE_KEYS>
__device__ __forceinline__ bool softmax_chunk(float (&s)[KEYS / 8][4], float (&m)[2], float (&l)[2],
                                              float (&corr)[2], bool masked, int keys0, int keys1, int j0, int t,
                                              float scale_log2) {
    const float NEG_INF = -__int_as_float(0x7f800000);
    if (masked) {
#pragma unroll
        for (int n = 0; n < KEYS / 8; n++) {
#pragma unroll
            for (int e = 0; e < 2; e++) {
                int key = j0 + n * 8 + 2 * t + e;
                if (key >= keys0) s[n][e] = NEG_INF;
                if (key >= keys1) s[n][2 + e] = NEG_INF;
            }
        }
    }
    // Maxima of the raw scores (the scale is positive), scaled once.
    float top0 = NEG_INF, top1 = NEG_INF;
#pragma unroll
    for (int n = 0; n < KEYS / 8; n++) {
        top0 = fmaxf(top0, fmaxf(s[n][0], s[n][1]));
        top1 = fmaxf(top1, fmaxf(s[n][2], s[n][3]));
    }
#pragma unroll
    for (int x = 1; x < 4; x <<= 1) {
        top0 = fmaxf(top0, __shfl_xor_sync(0xffffffffu, top0, x));
        top1 = fmaxf(top1, __shfl_xor_sync(0xffffffffu, top1, x));
    }
    top0 *= scale_log2;
    top1 *= scale_log2;
    // A row keeps its running maximum until a score passes it by more than 8 (log2 units): probabilities then stay
    // below 2^8, exact in fp32 and as precise in the 16-bit operand, and the pass that rescales the output
    // accumulators runs only in chunks where some row moved its maximum.
    bool grow0 = top0 > m[0] + 8.0f, grow1 = top1 > m[1] + 8.0f;
    float new0 = grow0 ? top0 : m[0], new1 = grow1 ? top1 : m[1];
    float use0 = new0 == NEG_INF ? 0.0f : new0;
    float use1 = new1 == NEG_INF ? 0.0f : new1;
    corr[0] = grow0 ? fast_exp2(m[0] - use0) : 1.0f;
    corr[1] = grow1 ? fast_exp2(m[1] - use1) : 1.0f;
    m[0] = new0;
    m[1] = new1;
    float sum0 = 0.0f, sum1 = 0.0f;
#pragma unroll
    for (int n = 0; n < KEYS / 8; n++) {
        s[n][0] = fast_exp2(fmaf(s[n][0], scale_log2, -use0));
        s[n][1] = fast_exp2(fmaf(s[n][1], scale_log2, -use0));
        s[n][2] = fast_exp2(fmaf(s[n][2], scale_log2, -use1));
        s[n][3] = fast_exp2(fmaf(s[n][3], scale_log2, -use1));
        sum0 += s[n][0] + s[n][1];
        sum1 += s[n][2] + s[n][3];
    }
    l[0] = l[0] * corr[0] + sum0;
    l[1] = l[1] * corr[1] + sum1;
    return grow0 | grow1;
}

// Packs a chunk's probabilities into p, the A fragments of the product with V.
template <bool BF16, int KEYS = TILE_KEYS>
__device__ __forceinline__ void pack_probabilities(const float (&s)[KEYS / 8][4], u32 (&p)[KEYS / 16][4]) {
#pragma unroll
    for (int kk = 0; kk < KEYS / 16; kk++) {
        p[kk][0] = pack2<BF16>(s[2 * kk][0], s[2 * kk][1]);
        p[kk][1] = pack2<BF16>(s[2 * kk][2], s[2 * kk][3]);
        p[kk][2] = pack2<BF16>(s[2 * kk + 1][0], s[2 * kk + 1][1]);
        p[kk][3] = pack2<BF16>(s[2 * kk + 1][2], s[2 * kk + 1][3]);
    }
}

// Scales the output accumulators of rows g (by c0) and g + 8 (by c1).
template <int D>
__device__ __forceinline__ void rescale(float (&o)[D / 8][4], float c0, float c1) {
#pragma unroll
    for (int n = 0; n < D / 8; n++) {
        o[n][0] *= c0;
        o[n][1] *= c0;
        o[n][2] *= c1;
        o[n][3] *= c1;
    }
}

// A row's softmax total from this thread's share l (the four threads of the row add theirs): the factor that
// normalises its output and its log-sum-exp (m the running maximum, in log2 units); -inf for a row with no keys.
struct RowTotal {
    float inv;
    float lse;
};

__device__ __forceinline__ RowTotal row_total(float m, float l) {
    const float ln2 = 0.69314718055994531f;
    float sum = l;
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    sum += __shfl_xor_sync(0xffffffffu, sum, 2);
    return sum > 0.0f ? RowTotal{1.0f / sum, m * ln2 + logf(sum)} : RowTotal{0.0f, -__int_as_float(0x7f800000)};
}

// Stores one row's result (half 0: row g of the m-tile, half 1: row g + 8; this thread holds columns 2t, 2t + 1 of
// each n8 tile; l is this thread's share of the row's sum) to its partial slot.
template <int D>
__device__ __forceinline__ void store_row(const float (&o)[D / 8][4], int half, float m, float l, int row, int slot,
                                          int t, int slots, float* part_out, float* part_lse) {
    RowTotal total = row_total(m, l);
    if (row < 0) return;
    long long at = (long long) row * slots + slot;
    float* dst = part_out + at * D;
#pragma unroll
    for (int n = 0; n < D / 8; n++) {
        *(float2*) (dst + n * 8 + 2 * t) = make_float2(o[n][2 * half] * total.inv, o[n][2 * half + 1] * total.inv);
    }
    if (t == 0) part_lse[at] = total.lse;
}

// Merge mode's store: folds each row's earlier slots (the history blocks, written by an earlier launch) into the
// tile's own result and stores the final output in the storage type. The slots pass through shared memory one at a
// time, the whole tile's share fetched at once with cp.async into the K/V stages (free after the last chunk): one
// burst of independent loads, where each thread's own reads of its rows' slots stalled on one another. The merge
// is online, in the output registers: o becomes the normalised result, rescaled as each slot's lse raises the top.
template <int D, bool BF16, int MT, int THREADS>
__device__ __forceinline__ void merge_store(float (&o)[MT][D / 8][4], const float (&m)[MT][2],
                                            const float (&l)[MT][2], const int* rows, const int* row_slots,
                                            int warp, int g, int t, int slots, const float* part_out,
                                            const float* part_lse, u16* merged, float* stage) {
    constexpr int STAGE_STRIDE = D + 8;  // floats: rows 8 banks apart, so a half-warp's float2 reads never collide
    const float NEG_INF = -__int_as_float(0x7f800000);
    __shared__ float stage_lse[TILE_ROWS];
    float top[MT][2], total[MT][2];
#pragma unroll
    for (int mt = 0; mt < MT; mt++) {
#pragma unroll
        for (int half = 0; half < 2; half++) {
            RowTotal own = row_total(m[mt][half], l[mt][half]);
            top[mt][half] = own.lse;
            total[mt][half] = own.lse == NEG_INF ? 0.0f : 1.0f;
#pragma unroll
            for (int n = 0; n < D / 8; n++) {
                o[mt][n][2 * half] *= own.inv;
                o[mt][n][2 * half + 1] *= own.inv;
            }
        }
    }
    for (int h = 0; h < slots - 1; h++) {
        for (int i = threadIdx.x; i < TILE_ROWS * (D / 4); i += THREADS) {
            int r = i / (D / 4), piece = i % (D / 4);
            bool valid = rows[r] >= 0 && h < row_slots[r];
            copy16_async(stage + r * STAGE_STRIDE + piece * 4,
                         part_out + (valid ? ((long long) rows[r] * slots + h) * D + piece * 4 : 0), valid);
        }
        async_commit();
        for (int r = threadIdx.x; r < TILE_ROWS; r += THREADS) {
            stage_lse[r] = rows[r] >= 0 && h < row_slots[r] ? part_lse[(long long) rows[r] * slots + h] : NEG_INF;
        }
        async_wait<0>();
        __syncthreads();
#pragma unroll
        for (int mt = 0; mt < MT; mt++) {
#pragma unroll
            for (int half = 0; half < 2; half++) {
                int r = (warp * MT + mt) * 16 + g + half * 8;
                float lse = stage_lse[r];
                if (lse == NEG_INF) continue;
                float now = fmaxf(top[mt][half], lse);
                float keep = top[mt][half] == NEG_INF ? 0.0f : expf(top[mt][half] - now);
                float add = expf(lse - now);
                total[mt][half] = total[mt][half] * keep + add;
                top[mt][half] = now;
                const float* part = stage + r * STAGE_STRIDE;
#pragma unroll
                for (int n = 0; n < D / 8; n++) {
                    float2 v = *(const float2*) (part + n * 8 + 2 * t);
                    o[mt][n][2 * half] = o[mt][n][2 * half] * keep + add * v.x;
                    o[mt][n][2 * half + 1] = o[mt][n][2 * half + 1] * keep + add * v.y;
                }
            }
        }
        __syncthreads();
    }
#pragma unroll
    for (int mt = 0; mt < MT; mt++) {
#pragma unroll
        for (int half = 0; half < 2; half++) {
            int row = rows[(warp * MT + mt) * 16 + g + half * 8];
            if (row < 0) continue;
            float scale = total[mt][half] > 0.0f ? 1.0f / total[mt][half] : 0.0f;
            u32* dst = (u32*) (merged + (long long) row * D);
#pragma unroll
            for (int n = 0; n < D / 8; n++) {
                dst[n * 4 + t] = pack2<BF16>(o[mt][n][2 * half] * scale, o[mt][n][2 * half + 1] * scale);
            }
        }
    }
}

// Keys (or values) of one chunk into shared memory: rows [j0, j0 + TILE_KEYS) of the block for one kv head, with
// THREADS threads; rows at or past `limit` are zero-filled, never read from memory. The rows are padded by
// TILE_PAD values for the mma.sync kernel's fragment loads, or SWIZZLED for the warpgroup products.
template <int D, int THREADS, bool SWIZZLED>
__device__ __forceinline__ void load_chunk(u16* dst, const u16* src, long long row_stride, int j0, int limit) {
    constexpr int PIECES = D / 8;
    for (int i = threadIdx.x; i < TILE_KEYS * PIECES; i += THREADS) {
        int r = i / PIECES, piece = i % PIECES;
        bool valid = j0 + r < limit;
        const u16* from = src + (valid ? (long long) (j0 + r) * row_stride + piece * 8 : 0);
        copy16_async(SWIZZLED ? (void*) ((char*) dst + sw128_offset(r, piece, TILE_KEYS))
                              : (void*) (dst + r * (D + TILE_PAD) + piece * 8),
                     from, valid);
    }
}

template <int D, bool BF16>
__device__ void attend_tile(const u16* q, int q_heads, int first, const u64* blocks, long long value_offset,
                            int block_size, int kv_heads,
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
    TileWork work;
    if (!tile_begin(first, q_heads, block_size, lists, tile_starts, list_count, entries, tile_rows, tile_slots,
                    work)) {
        return;
    }
    constexpr int PIECES = D / 8;
    for (int i = threadIdx.x; i < TILE_ROWS * PIECES; i += TILE_THREADS) {
        int r = i / PIECES, piece = i % PIECES;
        int row = tile_rows[r];
        copy16_async(qs + r * STRIDE + piece * 8, q + (row >= 0 ? (long long) row * D + piece * 8 : 0), row >= 0);
    }
    const long long key_stride = (long long) kv_heads * D;
    const u16* kbase = (const u16*) blocks[work.list.block] + (long long) work.list.kv_head * D;
    const u16* vbase = (const u16*) ((const char*) kbase + value_offset);
    int chunks = (work.keys + TILE_KEYS - 1) / TILE_KEYS;
    load_chunk<D, TILE_THREADS, false>(ks, kbase, key_stride, 0, work.keys);
    load_chunk<D, TILE_THREADS, false>(vs, vbase, key_stride, 0, work.keys);
    async_commit();

    // Each warp owns TILE_MT m-tiles of 16 rows; every K and V fragment it loads feeds all of them.
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int g = lane >> 2, t = lane & 3;
    float o[TILE_MT][D / 8][4];
    float m[TILE_MT][2], l[TILE_MT][2];
#pragma unroll
    for (int mt = 0; mt < TILE_MT; mt++) {
        m[mt][0] = m[mt][1] = NEG_INF;
        l[mt][0] = l[mt][1] = 0.0f;
#pragma unroll
        for (int n = 0; n < D / 8; n++) o[mt][n][0] = o[mt][n][1] = o[mt][n][2] = o[mt][n][3] = 0.0f;
    }

    for (int c = 0; c < chunks; c++) {
        int stage = c & 1;
        if (c + 1 < chunks) {
            load_chunk<D, TILE_THREADS, false>(ks + (stage ^ 1) * TILE_KEYS * STRIDE, kbase, key_stride,
                                               (c + 1) * TILE_KEYS, work.keys);
            load_chunk<D, TILE_THREADS, false>(vs + (stage ^ 1) * TILE_KEYS * STRIDE, vbase, key_stride,
                                               (c + 1) * TILE_KEYS, work.keys);
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
        const bool masked = j0 + TILE_KEYS > work.full_keys;
        u32 p[TILE_MT][TILE_KEYS / 16][4];
        float corr[TILE_MT][2];
        bool grew = false;
#pragma unroll
        for (int mt = 0; mt < TILE_MT; mt++) {
            int r = (warp * TILE_MT + mt) * 16 + g;
            int keys0 = masked ? row_keys(tile_rows[r], work.list.causal, first, q_heads, work.block_start, block_size) : 0;
            int keys1 = masked ? row_keys(tile_rows[r + 8], work.list.causal, first, q_heads, work.block_start, block_size) : 0;
            grew |= softmax_chunk(s[mt], m[mt], l[mt], corr[mt], masked, keys0, keys1, j0, t, scale_log2);
            pack_probabilities<BF16>(s[mt], p[mt]);
        }
        if (__any_sync(0xffffffffu, grew)) {
#pragma unroll
            for (int mt = 0; mt < TILE_MT; mt++) rescale<D>(o[mt], corr[mt][0], corr[mt][1]);
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

    if (merged != nullptr) {
        merge_store<D, BF16, TILE_MT, TILE_THREADS>(o, m, l, tile_rows, tile_slots, warp, g, t, slots, part_out, part_lse, merged,
                             (float*) ks);
        return;
    }
#pragma unroll
    for (int mt = 0; mt < TILE_MT; mt++) {
#pragma unroll
        for (int half = 0; half < 2; half++) {
            int r = (warp * TILE_MT + mt) * 16 + g + half * 8;
            store_row<D>(o[mt], half, m[mt][half], l[mt][half], tile_rows[r], tile_slots[r], t, slots, part_out,
                         part_lse);
        }
    }
}

// One instantiation of a tile kernel: FUNCTION (attend_tile or attend_wg_tile) for a head dimension and operand type.
#define TILE_KERNEL(NAME, FUNCTION, THREADS, MIN_CTAS, D, BF16)                                                    \
    extern "C" __global__ void __launch_bounds__(THREADS, MIN_CTAS) NAME(                                         \
        const u16* q, int q_heads, int first, const u64* blocks, long long value_offset, int block_size,            \
        int kv_heads, float scale_log2, const TileList* lists, const int* tile_starts, int list_count,             \
        const int2* entries, int slots, float* part_out, float* part_lse, u16* merged) {                           \
        FUNCTION<D, BF16>(q, q_heads, first, blocks, value_offset, block_size, kv_heads, scale_log2, lists,         \
                          tile_starts, list_count, entries, slots, part_out, part_lse, merged);                    \
    }

TILE_KERNEL(attend_tiles_bf16_d64, attend_tile, TILE_THREADS, 1, 64, true)
TILE_KERNEL(attend_tiles_bf16_d128, attend_tile, TILE_THREADS, 1, 128, true)
TILE_KERNEL(attend_tiles_fp16_d64, attend_tile, TILE_THREADS, 1, 64, false)
TILE_KERNEL(attend_tiles_fp16_d128, attend_tile, TILE_THREADS, 1, 128, false)

// ---- Hopper: the same tiles on warpgroup products (sm_90a) ----
// Two warpgroups of 64 rows each (a warp's 16 rows are one m-tile in mma.sync's fragment layout); Q, K and V in the
// 128-byte swizzle (sw128_offset); S = Q K^T and O += P V issued as wgmma from shared memory (P from registers).
// Two CTAs share a multiprocessor (128 registers, 97 KB of shared memory each), so one's loads and softmax overlap
// the other's products: measured on the H100, this beats both mma.sync (1.3x) and one CTA per multiprocessor with
// each chunk's softmax overlapping its own products (which needs more registers).
#define WG_THREADS 256

template <int D, bool BF16>
__device__ void attend_wg_tile(const u16* q, int q_heads, int first, const u64* blocks, long long value_offset,
                               int block_size, int kv_heads, float scale_log2, const TileList* lists,
                               const int* tile_starts, int list_count, const int2* entries, int slots,
                               float* part_out, float* part_lse, u16* merged) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    extern __shared__ __align__(16) u16 shared[];
    constexpr int PIECES = D / 8;
    const float NEG_INF = -__int_as_float(0x7f800000);
    // The swizzle repeats every 1024 bytes: the tiles start on such a boundary (the launch adds 1 KB of slack).
    char* base = (char*) shared + ((1024 - (smem_address(shared) & 1023)) & 1023);
    char* qs = base;                                    // [TILE_ROWS][D]
    char* ks = qs + TILE_ROWS * D * 2;                  // two stages of [TILE_KEYS][D]
    char* vs = ks + 2 * TILE_KEYS * D * 2;              // two stages of [TILE_KEYS][D]
    constexpr int STAGE = TILE_KEYS * D * 2;
    __shared__ int tile_rows[TILE_ROWS];
    __shared__ int tile_slots[TILE_ROWS];
    TileWork work;
    if (!tile_begin(first, q_heads, block_size, lists, tile_starts, list_count, entries, tile_rows, tile_slots,
                    work)) {
        return;
    }
    for (int i = threadIdx.x; i < TILE_ROWS * PIECES; i += WG_THREADS) {
        int r = i / PIECES, piece = i % PIECES;
        int row = tile_rows[r];
        copy16_async(qs + sw128_offset(r, piece, TILE_ROWS), q + (row >= 0 ? (long long) row * D + piece * 8 : 0),
                     row >= 0);
    }
    const long long key_stride = (long long) kv_heads * D;
    const u16* kbase = (const u16*) blocks[work.list.block] + (long long) work.list.kv_head * D;
    const u16* vbase = (const u16*) ((const char*) kbase + value_offset);
    int chunks = (work.keys + TILE_KEYS - 1) / TILE_KEYS;
    load_chunk<D, WG_THREADS, true>((u16*) ks, kbase, key_stride, 0, work.keys);
    load_chunk<D, WG_THREADS, true>((u16*) vs, vbase, key_stride, 0, work.keys);
    async_commit();

    // Warp w holds rows 16w.. of the tile (warpgroup w / 4 rows 64 (w / 4)..), in mma.sync's fragment layout.
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int g = lane >> 2, t = lane & 3;
    // Descriptors of this warpgroup's queries and of the first stage of keys and values; products step through
    // them by adding offsets (in 16-byte units) to the address field.
    const u64 q_desc = sw128_desc(qs + (warp >> 2) * 64 * 128, 16, 1024);
    const u64 k_desc0 = sw128_desc(ks, 16, 1024);
    const u64 v_desc0 = sw128_desc(vs, TILE_KEYS * 128, 1024);
    float o[1][D / 8][4];
#pragma unroll
    for (int n = 0; n < D / 8; n++) o[0][n][0] = o[0][n][1] = o[0][n][2] = o[0][n][3] = 0.0f;
    float m[1][2] = {{NEG_INF, NEG_INF}}, l[1][2] = {{0.0f, 0.0f}};

    for (int c = 0; c < chunks; c++) {
        int stage = c & 1;
        async_wait<0>();
        // The tensor cores read shared memory through the async proxy: order the copies' writes before it.
        asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
        __syncthreads();
        // The other stage was last read by the previous chunk's products, which every warpgroup has waited for.
        if (c + 1 < chunks) {
            load_chunk<D, WG_THREADS, true>((u16*) (ks + (stage ^ 1) * STAGE), kbase, key_stride, (c + 1) * TILE_KEYS,
                                            work.keys);
            load_chunk<D, WG_THREADS, true>((u16*) (vs + (stage ^ 1) * STAGE), vbase, key_stride, (c + 1) * TILE_KEYS,
                                            work.keys);
            async_commit();
        }
        // S = Q K^T, both K-major: 16 dimensions (32 bytes of a panel) per product.
        const u64 k_desc = k_desc0 + stage * (STAGE >> 4);
        float s[TILE_KEYS / 8][4];
        gmma_fence();
#pragma unroll
        for (int k = 0; k < D / 16; k++) {
            int panel = k >> 2, within = (k & 3) * 32;
            gmma_scores<BF16>(s, q_desc + ((panel * TILE_ROWS * 128 + within) >> 4),
                              k_desc + ((panel * TILE_KEYS * 128 + within) >> 4), k);
        }
        gmma_commit();
        gmma_wait<0>();

        int j0 = c * TILE_KEYS;
        const bool masked = j0 + TILE_KEYS > work.full_keys;
        int r = warp * 16 + g;
        int keys0 = masked ? row_keys(tile_rows[r], work.list.causal, first, q_heads, work.block_start, block_size)
                           : 0;
        int keys1 = masked ? row_keys(tile_rows[r + 8], work.list.causal, first, q_heads, work.block_start,
                                      block_size)
                           : 0;
        u32 p[TILE_KEYS / 16][4];
        float corr[2];
        bool grew = softmax_chunk(s, m[0], l[0], corr, masked, keys0, keys1, j0, t, scale_log2);
        pack_probabilities<BF16>(s, p);
        if (__any_sync(0xffffffffu, grew)) rescale<D>(o[0], corr[0], corr[1]);

        // O += P V, V N-major: 16 keys (two groups of eight 128-byte rows) per product, panels TILE_KEYS rows apart.
        gmma_fence();
#pragma unroll
        for (int kk = 0; kk < TILE_KEYS / 16; kk++) {
            gmma_values<BF16>(o[0], p[kk], v_desc0 + ((stage * STAGE + kk * 16 * 128) >> 4));
        }
        gmma_commit();
        gmma_wait<0>();
    }
    if (merged != nullptr) {
        __syncthreads();  // every warpgroup is done with the tiles that become the merge's staging area
        merge_store<D, BF16, 1, WG_THREADS>(o, m, l, tile_rows, tile_slots, warp, g, t, slots, part_out, part_lse,
                                            merged, (float*) qs);
        return;
    }
#pragma unroll
    for (int half = 0; half < 2; half++) {
        int r = warp * 16 + g + half * 8;
        store_row<D>(o[0], half, m[0][half], l[0][half], tile_rows[r], tile_slots[r], t, slots, part_out, part_lse);
    }
#endif
}

TILE_KERNEL(attend_wg_bf16_d64, attend_wg_tile, WG_THREADS, 2, 64, true)
TILE_KERNEL(attend_wg_bf16_d128, attend_wg_tile, WG_THREADS, 2, 128, true)
TILE_KERNEL(attend_wg_fp16_d64, attend_wg_tile, WG_THREADS, 2, 64, false)
TILE_KERNEL(attend_wg_fp16_d128, attend_wg_tile, WG_THREADS, 2, 128, false)

// Rounds n fp32 values to the storage type (exact for values the engine already rounded).
extern "C" __global__ void convert_from_f32(const float* src, long long n, int dt, void* dst) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        store_elem(dst, i, dt, src[i]);
    }
}
