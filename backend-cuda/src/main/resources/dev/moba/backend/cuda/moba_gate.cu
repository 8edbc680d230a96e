// Gating: for each query row, the `picks` sealed blocks whose mean key scores highest (fp32 dot products, ties to
// the lower block index), written in ascending block order and padded with -1.
#include "moba_common.cuh"
#include "moba_mma.cuh"
#include "moba_wgmma.cuh"

#define GATE_MAX_PICKS 16
#define GATE_WARPS 4

__device__ __forceinline__ bool gate_better(float s, int i, float t, int j) { return s > t || (s == t && i < j); }

// The best (score, index) among groups of LANES adjacent lanes (a power of two up to 32), in every lane of a group.
template <int LANES>
__device__ __forceinline__ void gate_best_of_lanes(float& s, int& i) {
#pragma unroll
    for (int o = 1; o < LANES; o <<= 1) {
        float so = __shfl_xor_sync(0xffffffffu, s, o);
        int io = __shfl_xor_sync(0xffffffffu, i, o);
        if (gate_better(so, io, s, i)) { s = so; i = io; }
    }
}

// Writes the chosen blocks (negative entries skipped) to dst in ascending order, then -1 up to `picks` slots.
__device__ __forceinline__ void gate_store_sorted(const int* chosen, int count, int picks, int* dst) {
    int stored = 0;
    for (int p = 0; p < count; p++) {
        int b = chosen[p];
        if (b < 0) continue;
        int k = stored++;
        while (k > 0 && dst[k - 1] > b) { dst[k] = dst[k - 1]; k--; }
        dst[k] = b;
    }
    for (int p = stored; p < picks; p++) dst[p] = -1;
}

// An empty best-first list: every slot worse than any candidate.
template <int N>
__device__ __forceinline__ void gate_clear(float (&best)[N], int (&index)[N]) {
#pragma unroll
    for (int k = 0; k < N; k++) { best[k] = -__int_as_float(0x7f800000); index[k] = 0x7fffffff; }
}

// Inserts candidate c with score s into a best-first list of N held in registers (compile-time indices only).
template <int N>
__device__ __forceinline__ void gate_insert(float (&best)[N], int (&index)[N], float s, int c) {
    int place = 0;
#pragma unroll
    for (int k = 0; k < N; k++) place += gate_better(best[k], index[k], s, c) ? 1 : 0;
#pragma unroll
    for (int k = N - 1; k > 0; k--) {
        if (k > place) { best[k] = best[k - 1]; index[k] = index[k - 1]; }
        if (k == place) { best[k] = s; index[k] = c; }
    }
    if (place == 0) { best[0] = s; index[0] = c; }
}

// One warp selects for one query row (q_row, dim values in q_dt) among `candidates` blocks whose means are the
// columns of head_means ([dim][capacity]); each lane keeps its own best GATE_MAX_PICKS candidates in registers and
// the warp then merges the lanes' lists, so no score matrix is ever written. `chosen` is the warp's scratch.
__device__ void gate_row(const void* q, long long q0, int q_dt, int dim, int candidates, const float* head_means,
                         int capacity, int picks, int* chosen, int* dst) {
    int lane = threadIdx.x & 31;
    float best[GATE_MAX_PICKS];
    int index[GATE_MAX_PICKS];
    gate_clear(best, index);

    for (int c = lane; c < candidates; c += 32) {
        const float* m = head_means + c;
        float s = 0.0f;
        for (int d = 0; d < dim; d++) s = fmaf(load_elem(q, q0 + d, q_dt), m[(long long) d * capacity], s);
        gate_insert(best, index, s, c);
    }

    for (int p = 0; p < picks; p++) {
        float s = best[0];
        int i = index[0];
        gate_best_of_lanes<32>(s, i);
        if (lane == 0) chosen[p] = i < candidates ? i : -1;
        if (index[0] == i) {
#pragma unroll
            for (int k = 0; k < GATE_MAX_PICKS - 1; k++) { best[k] = best[k + 1]; index[k] = index[k + 1]; }
            best[GATE_MAX_PICKS - 1] = -__int_as_float(0x7f800000);
            index[GATE_MAX_PICKS - 1] = 0x7fffffff;
        }
    }
    __syncwarp();
    if (lane == 0) gate_store_sorted(chosen, picks, picks, dst);
}

// One warp per query row of a chunk. q: [n][qHeads][dim] in q_dt; means: per kv head an fp32 matrix
// [dim][capacity] whose column c is block c's mean key, so the lanes of a warp read adjacent words.
extern "C" __global__ void __launch_bounds__(GATE_WARPS * 32)
gate_topk(const void* q, int q_dt, int n, int q_heads, int group, int dim, int first, int block_size,
          const float* means, int kv_heads, int capacity, int picks, int* out) {
    __shared__ int chosen[GATE_WARPS][GATE_MAX_PICKS];
    int warp = threadIdx.x >> 5;
    long long row = (long long) blockIdx.x * GATE_WARPS + warp;
    if (row >= (long long) n * q_heads) return;
    int t = (int) (row / q_heads), h = (int) (row % q_heads), kh = h / group;
    gate_row(q, row * dim, q_dt, dim, (first + t) / block_size, means + (long long) kh * dim * capacity, capacity,
             picks, chosen[warp], out + row * picks);
}

// Decode: one token for each of `batch` sequences, one CTA of GATE_DECODE_THREADS per (sequence, head), so that a
// small batch still spreads over the GPU: each thread scores a stripe of the candidates (fp32, dimension order)
// into shared memory, then `picks` rounds of a CTA-wide arg-max take the best (ties to the lower block).
// positions[b] is the token's position, means[b] the sequence's summary matrices (capacity columns each);
// q: [batch][qHeads][dim]. Dynamic shared memory: dim + max candidates floats.
#define GATE_DECODE_THREADS 256
extern "C" __global__ void __launch_bounds__(GATE_DECODE_THREADS)
gate_decode(const void* q, int q_dt, int batch, int q_heads, int group, int dim, const int* positions,
            int block_size, const u64* means, int capacity, int picks, int* out) {
    extern __shared__ float decode_shared[];
    __shared__ float best_score[GATE_DECODE_THREADS / 32];
    __shared__ int best_index[GATE_DECODE_THREADS / 32];
    __shared__ int chosen[GATE_MAX_PICKS];
    float* qs = decode_shared;
    float* scores = decode_shared + dim;
    long long row = blockIdx.x;
    int b = (int) (row / q_heads), h = (int) (row % q_heads), kh = h / group;
    int candidates = positions[b] / block_size;
    const float* head_means = (const float*) means[b] + (long long) kh * dim * capacity;
    for (int d = threadIdx.x; d < dim; d += blockDim.x) qs[d] = load_elem(q, row * dim + d, q_dt);
    __syncthreads();
    for (int c = threadIdx.x; c < candidates; c += blockDim.x) {
        float s = 0.0f;
        for (int d = 0; d < dim; d++) s = fmaf(qs[d], head_means[(long long) d * capacity + c], s);
        scores[c] = s;
    }
    __syncthreads();
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int rounds = min(picks, candidates);  // a chosen candidate is marked -inf, so never past the candidates
    for (int p = 0; p < rounds; p++) {
        float s = -__int_as_float(0x7f800000);
        int i = 0x7fffffff;
        for (int c = threadIdx.x; c < candidates; c += blockDim.x) {
            if (gate_better(scores[c], c, s, i)) { s = scores[c]; i = c; }
        }
        gate_best_of_lanes<32>(s, i);
        if (lane == 0) { best_score[warp] = s; best_index[warp] = i; }
        __syncthreads();
        if (threadIdx.x == 0) {
            for (int w = 1; w < GATE_DECODE_THREADS / 32; w++) {
                if (gate_better(best_score[w], best_index[w], s, i)) { s = best_score[w]; i = best_index[w]; }
            }
            chosen[p] = i < candidates ? i : -1;
            if (i < candidates) scores[i] = -__int_as_float(0x7f800000);
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) gate_store_sorted(chosen, rounds, picks, out + row * picks);
}

// Offers the scores of candidates [c0, c0 + limit) (row[j] is candidate c0 + j) to one of four threads ranking a
// token: this thread takes every fourth column from `quarter`.
template <int PICKS>
__device__ __forceinline__ void gate_rank_chunk(float (&best)[PICKS], int (&index)[PICKS], const float* row, int c0,
                                                int limit, int quarter) {
    for (int j = quarter; j < limit; j += 4) {
        float s = row[j];
        int c = c0 + j;
        if (gate_better(s, c, best[PICKS - 1], index[PICKS - 1])) gate_insert(best, index, s, c);
    }
}

// The best `picks` of four threads' lists (adjacent lanes, one token), stored by the first of them in ascending
// block order and padded with -1; blocks at or past `own` (the token's current block) are never stored.
template <int PICKS>
__device__ __forceinline__ void gate_finish(float (&best)[PICKS], int (&index)[PICKS], int picks, int own, bool store,
                                            int* dst) {
    int chosen[PICKS];
#pragma unroll
    for (int p = 0; p < PICKS; p++) {
        float s = best[0];
        int i = index[0];
        gate_best_of_lanes<4>(s, i);
        chosen[p] = i;
        if (index[0] == i) {
#pragma unroll
            for (int k = 0; k < PICKS - 1; k++) { best[k] = best[k + 1]; index[k] = index[k + 1]; }
            best[PICKS - 1] = -__int_as_float(0x7f800000);
            index[PICKS - 1] = 0x7fffffff;
        }
    }
    if (!store) return;
    int count = 0;
#pragma unroll
    for (int k = 0; k < PICKS; k++) {
        if (k >= picks || chosen[k] >= own) continue;
        int b = chosen[k];
        int at = count++;
        while (at > 0 && dst[at - 1] > b) { dst[at] = dst[at - 1]; at--; }
        dst[at] = b;
    }
    for (int p = count; p < picks; p++) dst[p] = -1;
}

// The two tokens a thread of the tensor-core gates ranks for (rows g and g + 8 of its warp's 16 tokens of the
// tile): their current blocks, which are never history, and their best PICKS candidates so far, best first, in
// registers.
template <int PICKS>
struct GateTokenPair {
    int own0, own1;
    float best0[PICKS], best1[PICKS];
    int index0[PICKS], index1[PICKS];

    // Token `row` of the tile (of `tokens`, the first at position `first`) and the one 8 rows below it.
    __device__ __forceinline__ GateTokenPair(int first, int row, int tokens, int block_size) {
        own0 = row < tokens ? (first + row) / block_size : 0;
        own1 = row + 8 < tokens ? (first + row + 8) / block_size : 0;
        gate_clear(best0, index0);
        gate_clear(best1, index1);
    }

    // Ranks one chunk of candidates [c0, c0 + 8 * NT): sums each score's three term accumulators (smallest terms
    // first) and offers it to its token's list (this thread holds columns 2t, 2t + 1 of each n8 tile).
    template <int NT>
    __device__ __forceinline__ void rank(float (&acc)[3][NT][4], int c0, int t) {
#pragma unroll
        for (int nt = 0; nt < NT; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) acc[0][nt][e] += acc[2][nt][e] + acc[1][nt][e];
#pragma unroll
        for (int nt = 0; nt < NT; nt++) {
#pragma unroll
            for (int e = 0; e < 2; e++) {
                int cand = c0 + nt * 8 + 2 * t + e;
                float s0 = acc[0][nt][e], s1 = acc[0][nt][2 + e];
                if (cand < own0 && gate_better(s0, cand, best0[PICKS - 1], index0[PICKS - 1])) {
                    gate_insert(best0, index0, s0, cand);
                }
                if (cand < own1 && gate_better(s1, cand, best1[PICKS - 1], index1[PICKS - 1])) {
                    gate_insert(best1, index1, s1, cand);
                }
            }
        }
    }

    // Merges the lists of the four threads of each token and stores them (the first thread, for tokens of the
    // tile) at row `row0` of out and 8 tokens below it.
    __device__ __forceinline__ void finish(int picks, int t, int row, int tokens, long long row0, int q_heads,
                                           int* out) {
        gate_finish<PICKS>(best0, index0, picks, own0, t == 0 && row < tokens, out + row0 * picks);
        gate_finish<PICKS>(best1, index1, picks, own1, t == 0 && row + 8 < tokens,
                           out + (row0 + 8LL * q_heads) * picks);
    }
};

#define GATE_TILE 64
#define GATE_THREADS 256
#define GATE_QS 68  // row stride of the transposed queries: 16-byte aligned, and a 4-way (not 32-way) bank spread

// Candidates [c0, c0 + 64) of every dimension into ms ([dim][64]) with cp.async; columns at or past `most` are
// zero-filled and never read (capacity is a multiple of 4, so a piece never straddles the end of a row).
__device__ __forceinline__ void gate_load_means(float* ms, const float* head_means, int capacity, int dim, int c0,
                                                int most) {
    for (int i = threadIdx.x; i < dim * (GATE_TILE / 4); i += GATE_THREADS) {
        int d = i / (GATE_TILE / 4), j = (i % (GATE_TILE / 4)) * 4;
        bool valid = c0 + j < most;
        const float* src = head_means + (valid ? (long long) d * capacity + c0 + j : 0);
        asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;"
                     :: "r"((u32) __cvta_generic_to_shared(ms + d * GATE_TILE + j)), "l"(src), "r"(valid ? 16 : 0));
    }
    asm volatile("cp.async.commit_group;");
}

// The same selection for head dimensions up to 128, as a register-tiled product: a CTA scores 64 tokens of one
// head against 64 candidate blocks at a time (each thread a 4 x 4 patch, fp32 FMAs in dimension order, operands
// from shared memory), and four threads per token keep its best PICKS blocks in registers, merged at the end, so no
// score matrix leaves the CTA. Grid: (ceil(n / 64), qHeads). Dynamic shared memory: (dim * (68 + 64) + 64 * 65) floats.
template <int PICKS>
__device__ void gate_tile(const void* q, int q_dt, int n, int q_heads, int group, int dim, int first, int block_size,
                          const float* means, int capacity, int picks, int* out) {
    extern __shared__ __align__(16) float gate_shared[];
    float* qs = gate_shared;                              // [dim][GATE_QS]: the tile's queries, transposed
    float* ms = qs + dim * GATE_QS;                       // [dim][64]: a chunk of candidate means
    float* sc = ms + dim * GATE_TILE;                     // [64][65]: the chunk's scores
    int h = blockIdx.y, kh = h / group;
    int t0 = blockIdx.x * GATE_TILE;
    int tokens = min(GATE_TILE, n - t0);
    // Queries in 16-byte pieces (dim is a multiple of 8), all of a thread's loads in flight before the stores.
    int per_piece = 16 / elem_bytes(q_dt), pieces = dim / per_piece;
    for (int i = threadIdx.x; i < GATE_TILE * pieces; i += GATE_THREADS) {
        int t = i / pieces, d0 = (i % pieces) * per_piece;
        uint4 raw = make_uint4(0, 0, 0, 0);
        if (t < tokens) raw = *(const uint4*) ((const char*) q + (((long long) (t0 + t) * q_heads + h) * dim + d0) * elem_bytes(q_dt));
        u32 words[4] = {raw.x, raw.y, raw.z, raw.w};
        if (q_dt == DT_FP32) {
#pragma unroll
            for (int e = 0; e < 4; e++) qs[(d0 + e) * GATE_QS + t] = __uint_as_float(words[e]);
        } else {
#pragma unroll
            for (int e = 0; e < 8; e++) {
                u16 half = (u16) (words[e / 2] >> (16 * (e % 2)));
                qs[(d0 + e) * GATE_QS + t] = q_dt == DT_BF16 ? bf16_to_float(half) : fp16_to_float(half);
            }
        }
    }
    int most = (first + t0 + tokens - 1) / block_size;   // candidates of the tile's last token
    // Four threads rank each token's candidates (every fourth column each) and merge their lists at the end.
    int token = threadIdx.x / 4, quarter = threadIdx.x % 4;
    int own = token < tokens ? (first + t0 + token) / block_size : 0;
    float best[PICKS];
    int index[PICKS];
    gate_clear(best, index);
    int tx = threadIdx.x % 16, ty = threadIdx.x / 16;  // a 4 x 4 patch: tokens ty*4.., candidates tx*4..
    const float* head_means = means + (long long) kh * dim * capacity;

    gate_load_means(ms, head_means, capacity, dim, 0, most);
    for (int c0 = 0; c0 < most; c0 += GATE_TILE) {
        asm volatile("cp.async.wait_group 0;");
        __syncthreads();
        float acc[4][4];
#pragma unroll
        for (int a = 0; a < 4; a++)
#pragma unroll
            for (int b = 0; b < 4; b++) acc[a][b] = 0.0f;
#pragma unroll 4
        for (int d = 0; d < dim; d++) {
            float4 qv = *(const float4*) (qs + d * GATE_QS + ty * 4);
            float4 mv = *(const float4*) (ms + d * GATE_TILE + tx * 4);
            float qa[4] = {qv.x, qv.y, qv.z, qv.w};
            float mb[4] = {mv.x, mv.y, mv.z, mv.w};
#pragma unroll
            for (int a = 0; a < 4; a++)
#pragma unroll
                for (int b = 0; b < 4; b++) acc[a][b] = fmaf(qa[a], mb[b], acc[a][b]);
        }
#pragma unroll
        for (int a = 0; a < 4; a++)
#pragma unroll
            for (int b = 0; b < 4; b++) sc[(ty * 4 + a) * (GATE_TILE + 1) + tx * 4 + b] = acc[a][b];
        __syncthreads();
        // The next chunk of means streams in while the scores of this one are ranked.
        if (c0 + GATE_TILE < most) gate_load_means(ms, head_means, capacity, dim, c0 + GATE_TILE, most);
        gate_rank_chunk(best, index, sc + token * (GATE_TILE + 1), c0, min(GATE_TILE, own - c0), quarter);
    }
    gate_finish<PICKS>(best, index, picks, own, quarter == 0 && token < tokens,
                       out + ((long long) (t0 + token) * q_heads + h) * picks);
}

#define GATE_TILE_KERNEL(PICKS)                                                                                   \
    extern "C" __global__ void __launch_bounds__(GATE_THREADS) gate_tiles_##PICKS(                                \
        const void* q, int q_dt, int n, int q_heads, int group, int dim, int first, int block_size,               \
        const float* means, int capacity, int picks, int* out) {                                                  \
        gate_tile<PICKS>(q, q_dt, n, q_heads, group, dim, first, block_size, means, capacity, picks, out);        \
    }

GATE_TILE_KERNEL(2)
GATE_TILE_KERNEL(4)
GATE_TILE_KERNEL(8)
GATE_TILE_KERNEL(16)

// The tiled gate on the tensor cores, for 16-bit queries and head dimensions that are multiples of 16 up to 128.
// Scores must be fp32-accurate, so each fp32 mean enters as three bf16 terms (hi + mid + lo carry all 24 bits of its
// significand, see gate_split_means) and each query as one bf16 term (exact for bf16) or two (exact for fp16): the
// products are exact and accumulate in fp32. A CTA of 8 warps takes 128 tokens of one head (16 per warp) and streams
// the mean terms through shared memory 32 candidates at a time (cp.async, double-buffered, small enough for two CTAs
// per multiprocessor with bf16 queries); each thread ranks the scores its accumulators hold (two tokens, 8 candidates
// of the chunk each) and the four threads of a token merge their lists at the end, so no score leaves the
// registers. Grid: (ceil(n / 128), qHeads). Dynamic shared memory: (qParts * 128 * (dim + 8) + 2 * 3 * dim * 40)
// bf16 values.
#define GMMA_TOKENS 128
#define GMMA_CANDIDATES 32
#define GMMA_THREADS 256
#define GMMA_PAD 8
#define GMMA_MAX_DIM 128

// Splits n fp32 means into three bf16 terms each, hi + mid + lo, every term the rounded remainder of the ones before
// (the remainders are exact in fp32): terms[p * n + i] is term p of means[i].
extern "C" __global__ void gate_split_means(const float* means, long long n, u16* terms) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        float x = means[i];
        u16 hi = float_to_bf16(x);
        float r = x - bf16_to_float(hi);
        u16 mid = float_to_bf16(r);
        terms[i] = hi;
        terms[n + i] = mid;
        terms[2 * n + i] = float_to_bf16(r - bf16_to_float(mid));
    }
}

// Candidates [c0, c0 + 32) of the three term matrices of one kv head ([dim][capacity] each, `term_stride` apart)
// into ms ([3][dim][40]); pieces wholly past `most` are zero-filled. Commits the copies as one group.
__device__ __forceinline__ void gate_mma_load(u16* ms, const u16* head_terms, long long term_stride, int capacity,
                                              int dim, int c0, int most) {
    const int pieces = GMMA_CANDIDATES / 8;  // a power of two: the row and piece come from shifts, not divisions
    for (int p = 0; p < 3; p++) {
        for (int i = threadIdx.x; i < dim * pieces; i += GMMA_THREADS) {
            int d = i / pieces, j = (i % pieces) * 8;
            bool valid = c0 + j < most;
            const u16* src = head_terms + (valid ? p * term_stride + (long long) d * capacity + c0 + j : 0);
            copy16_async(ms + (p * dim + d) * (GMMA_CANDIDATES + GMMA_PAD) + j, src, valid);
        }
    }
    async_commit();
}

template <int PICKS>
__device__ void gate_mma_tile(const void* q, int q_dt, int n, int q_heads, int group, int dim, int first,
                              int block_size, const u16* terms, int kv_heads, int capacity, int picks, int* out) {
    extern __shared__ __align__(16) u16 gmma_shared[];
    const int qstride = dim + GMMA_PAD, mstride = GMMA_CANDIDATES + GMMA_PAD;
    const int qparts = q_dt == DT_BF16 ? 1 : 2;
    u16* qs = gmma_shared;                            // [qparts][128][qstride]: query terms
    u16* ms = qs + qparts * GMMA_TOKENS * qstride;    // two stages of [3][dim][mstride]: mean terms
    const int stage_size = 3 * dim * mstride;
    int h = blockIdx.y, kh = h / group;
    int t0 = blockIdx.x * GMMA_TOKENS;
    int tokens = min(GMMA_TOKENS, n - t0);
    int most = (first + t0 + tokens - 1) / block_size;  // candidates of the tile's last token
    const long long term_stride = (long long) kv_heads * dim * capacity;
    const u16* head_terms = terms + (long long) kh * dim * capacity;
    // The queries are copied as stored (fp16 ones into the lo-term rows, then split in place) in the group of the
    // first chunk of means.
    u16* raw = qs + (qparts - 1) * GMMA_TOKENS * qstride;
    for (int i = threadIdx.x; i < GMMA_TOKENS * (dim / 8); i += GMMA_THREADS) {
        int t = i / (dim / 8), d0 = (i % (dim / 8)) * 8;
        const u16* src = (const u16*) q + (t < tokens ? ((long long) (t0 + t) * q_heads + h) * dim + d0 : 0);
        copy16_async(raw + t * qstride + d0, src, t < tokens);
    }
    gate_mma_load(ms, head_terms, term_stride, capacity, dim, 0, most);
    if (q_dt != DT_BF16) {
        async_wait<0>();
        __syncthreads();
        for (int i = threadIdx.x; i < GMMA_TOKENS * (dim / 8); i += GMMA_THREADS) {
            int t = i / (dim / 8), d0 = (i % (dim / 8)) * 8;
            uint4 word4 = *(const uint4*) (raw + t * qstride + d0);
            u32 words[4] = {word4.x, word4.y, word4.z, word4.w}, hi[4], lo[4];
#pragma unroll
            for (int e = 0; e < 4; e++) {  // fp16 to bf16 hi + lo, exactly (11 significant bits in two 8-bit terms)
                float a = fp16_to_float((u16) words[e]), b = fp16_to_float((u16) (words[e] >> 16));
                u16 ah = float_to_bf16(a), bh = float_to_bf16(b);
                hi[e] = ah | ((u32) bh << 16);
                lo[e] = float_to_bf16(a - bf16_to_float(ah)) | ((u32) float_to_bf16(b - bf16_to_float(bh)) << 16);
            }
            *(uint4*) (qs + t * qstride + d0) = make_uint4(hi[0], hi[1], hi[2], hi[3]);
            *(uint4*) (raw + t * qstride + d0) = make_uint4(lo[0], lo[1], lo[2], lo[3]);
        }
    }
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    int rows = warp * 16;
    GateTokenPair<PICKS> pair(first + t0, rows + g, tokens, block_size);
    int chunks = (most + GMMA_CANDIDATES - 1) / GMMA_CANDIDATES;
    for (int c = 0; c < chunks; c++) {
        int c0 = c * GMMA_CANDIDATES;
        if (c + 1 < chunks) {
            gate_mma_load(ms + ((c + 1) & 1) * stage_size, head_terms, term_stride, capacity, dim,
                          c0 + GMMA_CANDIDATES, most);
            async_wait<1>();
        } else {
            async_wait<0>();
        }
        __syncthreads();
        const u16* mc = ms + (c & 1) * stage_size;
        // One accumulator per mean term: twelve independent product chains per warp keep the tensor pipe busy.
        float acc[3][GMMA_CANDIDATES / 8][4];
#pragma unroll
        for (int mp = 0; mp < 3; mp++)
#pragma unroll
            for (int nt = 0; nt < GMMA_CANDIDATES / 8; nt++)
                acc[mp][nt][0] = acc[mp][nt][1] = acc[mp][nt][2] = acc[mp][nt][3] = 0.0f;
#pragma unroll
        for (int k = 0; k < GMMA_MAX_DIM / 16; k++) {  // unrolled for the dimension's upper bound: loads run ahead
            if (k * 16 >= dim) break;
            u32 a[2][4];
#pragma unroll
            for (int qp = 0; qp < 2; qp++) {
                if (qp < qparts) {
                    ldmatrix_x4(a[qp], qs + (qp * GMMA_TOKENS + rows + (lane & 15)) * qstride + k * 16 + (lane >> 4) * 8);
                }
            }
#pragma unroll
            for (int mp = 0; mp < 3; mp++) {
#pragma unroll
                for (int np = 0; np < GMMA_CANDIDATES / 16; np++) {
                    u32 b[4];
                    ldmatrix_x4_trans(b, mc + (mp * dim + k * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * mstride
                                             + np * 16 + (lane >> 4) * 8);
#pragma unroll
                    for (int qp = 0; qp < 2; qp++) {
                        if (qp < qparts) {
                            mma<true>(acc[mp][2 * np], a[qp], b[0], b[1]);
                            mma<true>(acc[mp][2 * np + 1], a[qp], b[2], b[3]);
                        }
                    }
                }
            }
        }
        pair.rank(acc, c0, t);
        __syncthreads();  // every warp is done with this stage before the next load refills it
    }
    async_wait<0>();  // a tile with no candidates still issued its copies
    pair.finish(picks, t, rows + g, tokens, (long long) (t0 + rows + g) * q_heads + h, q_heads, out);
}

// Two CTAs per multiprocessor where the lists leave registers for it (shared memory allows two with bf16 queries).
#define GATE_MMA_KERNEL(PICKS, MIN_CTAS)                                                                          \
    extern "C" __global__ void __launch_bounds__(GMMA_THREADS, MIN_CTAS) gate_mma_##PICKS(                        \
        const void* q, int q_dt, int n, int q_heads, int group, int dim, int first, int block_size,               \
        const u16* terms, int kv_heads, int capacity, int picks, int* out) {                                      \
        gate_mma_tile<PICKS>(q, q_dt, n, q_heads, group, dim, first, block_size, terms, kv_heads, capacity, picks, \
                             out);                                                                                \
    }

GATE_MMA_KERNEL(2, 2)
GATE_MMA_KERNEL(4, 2)
GATE_MMA_KERNEL(8, 2)
GATE_MMA_KERNEL(16, 1)

// The same gate on Hopper's warpgroup products, for bf16 queries and head dimensions 64 and 128 (fp16 queries, with
// their two query terms, stay on the mma.sync gate): two warpgroups of 64 tokens (128 per CTA, as above, each
// warp's 16 tokens in mma.sync's fragment layout, so the ranking is the same), the query terms in the 128-byte
// swizzle, the mean terms streamed 32 candidates at a time (three stages) in the no-swizzle layout (core matrices
// of 8 dimensions x 8 candidates) and read N-major. The products are asynchronous, so a warp no longer stalls on
// each accumulator's chain, which held the mma.sync gate to a fraction of the tensor rate. Same sums in the same
// order: the same scores. Grid: (ceil(n / 128), qHeads). Dynamic shared memory: the queries, GWG_STAGES stages of
// mean terms, and 1 KB of slack to start the swizzled queries on a 1024-byte boundary.
#define GWG_THREADS 256
#define GWG_CANDIDATES 32
#define GWG_STAGES 3  // a chunk's products take less time than its means take to arrive: load two chunks ahead

// Candidates [c0, c0 + 32) of the three term matrices of one kv head into ms ([3][D / 8][4][8 x 8] core matrices);
// pieces wholly past `most` are zero-filled. Commits the copies as one group.
template <int D>
__device__ __forceinline__ void gate_wg_load(char* ms, const u16* head_terms, long long term_stride, int capacity,
                                             int c0, int most) {
    constexpr int PIECES = GWG_CANDIDATES / 8;
    for (int i = threadIdx.x; i < 3 * D * PIECES; i += GWG_THREADS) {
        int j = i % PIECES, d = (i / PIECES) % D, p = i / (PIECES * D);
        bool valid = c0 + j * 8 < most;
        const u16* src = head_terms + (valid ? p * term_stride + (long long) d * capacity + c0 + j * 8 : 0);
        copy16_async(ms + p * D * GWG_CANDIDATES * 2 + (d >> 3) * (PIECES * 128) + j * 128 + (d & 7) * 16, src,
                     valid);
    }
    async_commit();
}

template <int D, int PICKS>
__device__ void gate_wg_tile(const u16* q, int n, int q_heads, int group, int first, int block_size,
                             const u16* terms, int kv_heads, int capacity, int picks, int* out) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    extern __shared__ __align__(16) u16 gwg_shared[];
    constexpr int PIECES = D / 8;
    constexpr int Q_BYTES = GMMA_TOKENS * D * 2;
    constexpr int STAGE = 3 * D * GWG_CANDIDATES * 2;
    char* base = (char*) gwg_shared + ((1024 - (smem_address(gwg_shared) & 1023)) & 1023);
    char* qs = base;                // [128 tokens][D], swizzled: the queries
    char* ms = qs + Q_BYTES;        // GWG_STAGES stages of mean terms
    int h = blockIdx.y, kh = h / group;
    int t0 = blockIdx.x * GMMA_TOKENS;
    int tokens = min(GMMA_TOKENS, n - t0);
    int most = (first + t0 + tokens - 1) / block_size;  // candidates of the tile's last token
    const long long term_stride = (long long) kv_heads * D * capacity;
    const u16* head_terms = terms + (long long) kh * D * capacity;
    for (int i = threadIdx.x; i < GMMA_TOKENS * PIECES; i += GWG_THREADS) {
        int t = i / PIECES, piece = i % PIECES;
        const u16* src = q + (t < tokens ? ((long long) (t0 + t) * q_heads + h) * D + piece * 8 : 0);
        copy16_async(qs + sw128_offset(t, piece, GMMA_TOKENS), src, t < tokens);
    }
    gate_wg_load<D>(ms, head_terms, term_stride, capacity, 0, most);
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    int rows = warp * 16;
    GateTokenPair<PICKS> pair(first + t0, rows + g, tokens, block_size);
    const u64 q_desc = sw128_desc(qs + (warp >> 2) * 64 * 128, 16, 1024);
    const u64 m_desc = plain_desc(ms, GWG_CANDIDATES / 8 * 128, 128);
    int chunks = (most + GWG_CANDIDATES - 1) / GWG_CANDIDATES;
    if (chunks > 1) gate_wg_load<D>(ms + STAGE, head_terms, term_stride, capacity, GWG_CANDIDATES, most);
    for (int c = 0; c < chunks; c++) {
        int c0 = c * GWG_CANDIDATES;
        if (c + 1 < chunks) async_wait<1>(); else async_wait<0>();
        // The tensor cores read shared memory through the async proxy: order the copies' writes before it. After
        // the barrier every warpgroup is done with the stage of the chunk before, which the next load refills.
        asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
        __syncthreads();
        if (c + 2 < chunks) {
            gate_wg_load<D>(ms + ((c + 2) % GWG_STAGES) * STAGE, head_terms, term_stride, capacity,
                            c0 + 2 * GWG_CANDIDATES, most);
        }
        // One accumulator per mean term, each summing its products over the dimensions in order.
        float acc[3][GWG_CANDIDATES / 8][4];
        gmma_fence();
#pragma unroll
        for (int mp = 0; mp < 3; mp++) {
#pragma unroll
            for (int k = 0; k < D / 16; k++) {
                u64 b = m_desc + (((c % GWG_STAGES) * STAGE + mp * D * GWG_CANDIDATES * 2 + k * 2 * (GWG_CANDIDATES / 8 * 128)) >> 4);
                int a_offset = (k >> 2) * GMMA_TOKENS * 128 + (k & 3) * 32;
                gmma_n32_bf16(acc[mp], q_desc + (a_offset >> 4), b, k);
            }
        }
        gmma_commit();
        gmma_wait<0>();
        pair.rank(acc, c0, t);
    }
    async_wait<0>();  // a tile with no candidates still issued its copies
    pair.finish(picks, t, rows + g, tokens, (long long) (t0 + rows + g) * q_heads + h, q_heads, out);
#endif
}

#define GATE_WG_KERNEL(D, PICKS, MIN_CTAS)                                                                         \
    extern "C" __global__ void __launch_bounds__(GWG_THREADS, MIN_CTAS) gate_wg_d##D##_##PICKS(                    \
        const u16* q, int n, int q_heads, int group, int first, int block_size, const u16* terms, int kv_heads,    \
        int capacity, int picks, int* out) {                                                                      \
        gate_wg_tile<D, PICKS>(q, n, q_heads, group, first, block_size, terms, kv_heads, capacity, picks,    \
                               out);                                                                              \
    }

GATE_WG_KERNEL(64, 2, 2)
GATE_WG_KERNEL(64, 4, 2)
GATE_WG_KERNEL(64, 8, 2)
GATE_WG_KERNEL(64, 16, 1)
GATE_WG_KERNEL(128, 2, 2)
GATE_WG_KERNEL(128, 4, 2)
GATE_WG_KERNEL(128, 8, 2)
GATE_WG_KERNEL(128, 16, 1)
