// Decode on the device: one new token for each sequence of a batch, its key and value appended into the
// sequence's blocks, its query attending its selected blocks and its own block split into key ranges (split-K),
// so that a handful of tokens still spreads over the whole GPU and reads the blocks at memory speed. The
// partials are then merged by merge_slots.
#include "moba_common.cuh"

#define DECODE_WARPS 4
#define DECODE_SPLIT 512  // keys per CTA
#define DECODE_UNROLL 4

// Moves every sequence on by one token after a step (the host keeps the same count).
extern "C" __global__ void decode_advance(int* positions, int batch) {
    int b = blockIdx.x * blockDim.x + threadIdx.x;
    if (b < batch) positions[b] += 1;
}

// Copies each sequence's new key and value row (16 bytes per thread) to position positions[b] of its blocks.
// k, v: [batch][row_bytes]; tables[b]: the sequence's device block table. Grid: (ceil(pieces / 128), batch).
extern "C" __global__ void decode_append(const char* k, const char* v, const u64* tables, const int* positions,
                                         int block_size, int row_bytes) {
    int b = blockIdx.y;
    int piece = blockIdx.x * blockDim.x + threadIdx.x;
    if (piece >= row_bytes / 16) return;
    int pos = positions[b];
    const u64* blocks = (const u64*) tables[b];
    char* base = (char*) blocks[pos / block_size] + (long long) (pos % block_size) * row_bytes + piece * 16;
    long long src = (long long) b * row_bytes + piece * 16;
    *(uint4*) base = *(const uint4*) (k + src);
    *(uint4*) (base + (long long) block_size * row_bytes) = *(const uint4*) (v + src);
}

template <bool BF16>
__device__ __forceinline__ void unpack8(uint4 raw, float (&out)[8]) {
    u32 words[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
    for (int e = 0; e < 8; e++) {
        u16 h = (u16) (words[e / 2] >> (16 * (e % 2)));
        out[e] = BF16 ? bf16_to_float(h) : fp16_to_float(h);
    }
}

// One CTA per (key range, slot, query row): slot < picks reads the row's selected block, slot == picks its own
// block up to its position. Lanes split each key row in 16-byte pieces (D / 8 lanes per key), so a warp reads
// 32 / (D / 8) keys per step; per lane group an online softmax, combined across the CTA at the end. Writes the
// normalised output and log-sum-exp of partial (slot * splits + range) of the row; -inf when the range is empty.
template <int D, bool BF16>
__device__ void decode_attend(const u16* q, int q_heads, int group, int kv_heads, const u64* tables,
                              const int* positions, int block_size, const int* selection, int picks, int splits,
                              float scale_log2, float* part_out, float* part_lse) {
    constexpr int LANES = D / 8;               // lanes per key
    constexpr int GROUPS = DECODE_WARPS * 32 / LANES;
    __shared__ float group_m[GROUPS], group_l[GROUPS];
    __shared__ float group_acc[GROUPS][D];
    const float NEG_INF = -__int_as_float(0x7f800000);

    int split = blockIdx.x, slot = blockIdx.y;
    long long row = blockIdx.z;
    int b = (int) (row / q_heads), h = (int) (row % q_heads), kh = h / group;
    int pos = positions[b];
    int block = slot < picks ? selection[row * picks + slot] : pos / block_size;
    int keys = slot < picks ? block_size : pos % block_size + 1;
    int from = split * DECODE_SPLIT, to = min(keys, from + DECODE_SPLIT);
    long long part = row * (long long) (picks + 1) * splits + (long long) slot * splits + split;
    if (block < 0 || from >= to) {
        for (int d = threadIdx.x; d < D; d += blockDim.x) part_out[part * D + d] = 0.0f;
        if (threadIdx.x == 0) part_lse[part] = NEG_INF;
        return;
    }
    int lane_in_key = threadIdx.x % LANES, key_group = threadIdx.x / LANES;
    float qv[8];
    unpack8<BF16>(*(const uint4*) (q + row * D + lane_in_key * 8), qv);
    long long key_stride = (long long) kv_heads * D;
    const u16* kb = (const u16*) ((const u64*) tables[b])[block] + (long long) kh * D + lane_in_key * 8;
    const u16* vb = kb + (long long) block_size * key_stride;

    float m = NEG_INF, l = 0.0f, acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    // DECODE_UNROLL keys per lane group per step, their loads issued together: the kernel is bound by how many
    // bytes are in flight. The trip count is the same for every lane, as the shuffles need all of them.
    for (int j0 = from; j0 < to; j0 += GROUPS * DECODE_UNROLL) {
        uint4 kraw[DECODE_UNROLL], vraw[DECODE_UNROLL];
#pragma unroll
        for (int u = 0; u < DECODE_UNROLL; u++) {
            int j = j0 + u * GROUPS + key_group;
            kraw[u] = j < to ? *(const uint4*) (kb + j * key_stride) : make_uint4(0, 0, 0, 0);
            vraw[u] = j < to ? *(const uint4*) (vb + j * key_stride) : make_uint4(0, 0, 0, 0);
        }
        float s[DECODE_UNROLL];
#pragma unroll
        for (int u = 0; u < DECODE_UNROLL; u++) {
            float kf[8];
            unpack8<BF16>(kraw[u], kf);
            float dot = 0.0f;
#pragma unroll
            for (int e = 0; e < 8; e++) dot = fmaf(qv[e], kf[e], dot);
#pragma unroll
            for (int o = LANES / 2; o > 0; o >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, o);
            s[u] = j0 + u * GROUPS + key_group < to ? dot * scale_log2 : NEG_INF;
        }
        float top = m;
#pragma unroll
        for (int u = 0; u < DECODE_UNROLL; u++) top = fmaxf(top, s[u]);
        if (top == NEG_INF) continue;  // every key of this lane group's step is past the range
        float correction = exp2f(m - top);
        l *= correction;
#pragma unroll
        for (int e = 0; e < 8; e++) acc[e] *= correction;
#pragma unroll
        for (int u = 0; u < DECODE_UNROLL; u++) {
            float p = exp2f(s[u] - top);
            float vf[8];
            unpack8<BF16>(vraw[u], vf);
            l += p;
#pragma unroll
            for (int e = 0; e < 8; e++) acc[e] = fmaf(p, vf[e], acc[e]);
        }
        m = top;
    }
    if (lane_in_key == 0) {
        group_m[key_group] = m;
        group_l[key_group] = l;
    }
#pragma unroll
    for (int e = 0; e < 8; e++) group_acc[key_group][lane_in_key * 8 + e] = acc[e];
    __syncthreads();
    for (int d = threadIdx.x; d < D; d += blockDim.x) {
        float top = NEG_INF;
        for (int g = 0; g < GROUPS; g++) top = fmaxf(top, group_m[g]);
        float total = 0.0f, value = 0.0f;
        for (int g = 0; g < GROUPS; g++) {
            if (group_m[g] == NEG_INF) continue;
            float w = exp2f(group_m[g] - top);
            total += w * group_l[g];
            value += w * group_acc[g][d];
        }
        part_out[part * D + d] = value / total;
        if (d == 0) part_lse[part] = (top + log2f(total)) * 0.69314718055994531f;
    }
}

#define DECODE_KERNEL(NAME, D, BF16)                                                                               \
    extern "C" __global__ void __launch_bounds__(DECODE_WARPS * 32) NAME(                                          \
        const u16* q, int q_heads, int group, int kv_heads, const u64* tables, const int* positions,               \
        int block_size, const int* selection, int picks, int splits, float scale_log2, float* part_out,            \
        float* part_lse) {                                                                                         \
        decode_attend<D, BF16>(q, q_heads, group, kv_heads, tables, positions, block_size, selection, picks,       \
                               splits, scale_log2, part_out, part_lse);                                            \
    }

DECODE_KERNEL(decode_attend_bf16_d64, 64, true)
DECODE_KERNEL(decode_attend_bf16_d128, 128, true)
DECODE_KERNEL(decode_attend_fp16_d64, 64, false)
DECODE_KERNEL(decode_attend_fp16_d128, 128, false)
