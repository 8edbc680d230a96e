// Block attention for the engine's plans: every (query row, block) entry of a plan yields an output and a
// log-sum-exp over that block's keys, and the entries of each row are then merged with online softmax.
#include "moba_common.cuh"

#define ATTEND_WARPS 4
#define ATTEND_MAX_DIM 256

// One warp per entry {row, block, keys, slot}: the row's query (fp32, [rows][dim] with rows = n * qHeads) against
// the first `keys` keys of `block`, online softmax in fp32. Writes slot `slot` of the row's partials.
extern "C" __global__ void __launch_bounds__(ATTEND_WARPS * 32)
attend_entries(const float* q, int q_heads, int group, int dim, const u64* blocks, int block_size, int kv_heads,
               int dt, float scale, const int4* entries, int count, int slots, float* part_out, float* part_lse) {
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int e = blockIdx.x * ATTEND_WARPS + warp;
    if (e >= count) return;
    int4 entry = entries[e];
    int row = entry.x, keys = entry.z;
    int kh = (row % q_heads) / group;
    const float* qr = q + (long long) row * dim;
    const char* base = (const char*) blocks[entry.y];
    long long row_elems = (long long) kv_heads * dim;
    const void* kb = base;
    const void* vb = base + (long long) block_size * row_elems * elem_bytes(dt);

    float qv[ATTEND_MAX_DIM / 32], acc[ATTEND_MAX_DIM / 32];
#pragma unroll
    for (int i = 0; i < ATTEND_MAX_DIM / 32; i++) {
        int d = lane + 32 * i;
        qv[i] = d < dim ? qr[d] : 0.0f;
        acc[i] = 0.0f;
    }
    float m = -__int_as_float(0x7f800000), l = 0.0f;
    for (int j = 0; j < keys; j++) {
        long long at = j * row_elems + (long long) kh * dim;
        float s = 0.0f;
#pragma unroll
        for (int i = 0; i < ATTEND_MAX_DIM / 32; i++) {
            int d = lane + 32 * i;
            if (d < dim) s = fmaf(qv[i], load_elem(kb, at + d, dt), s);
        }
        s = warp_sum(s) * scale;
        float m_new = fmaxf(m, s);
        float correction = expf(m - m_new), p = expf(s - m_new);
        l = l * correction + p;
#pragma unroll
        for (int i = 0; i < ATTEND_MAX_DIM / 32; i++) {
            int d = lane + 32 * i;
            if (d < dim) acc[i] = acc[i] * correction + p * load_elem(vb, at + d, dt);
        }
        m = m_new;
    }
    long long slot = (long long) row * slots + entry.w;
#pragma unroll
    for (int i = 0; i < ATTEND_MAX_DIM / 32; i++) {
        int d = lane + 32 * i;
        if (d < dim) part_out[slot * dim + d] = acc[i] / l;
    }
    if (lane == 0) part_lse[slot] = m + logf(l);
}

// Merges each row's `slots` partials (unused slots have lse -inf) into its output (stored as out_dt) and its
// log-sum-exp (skipped when lse is null): one CTA per row, the weights computed once into shared memory, then each
// thread sums its columns over all partials with independent loads. Dynamic shared memory: slots floats.
extern "C" __global__ void merge_slots(const float* part_out, const float* part_lse, int rows, int slots, int dim,
                                       void* out, int out_dt, float* lse) {
    extern __shared__ float weights[];
    __shared__ float shared_total;
    long long row = blockIdx.x;
    const float* pl = part_lse + row * slots;
    if (threadIdx.x < 32) {
        float top = -__int_as_float(0x7f800000);
        for (int s = threadIdx.x; s < slots; s += 32) top = fmaxf(top, pl[s]);
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) top = fmaxf(top, __shfl_xor_sync(0xffffffffu, top, o));
        float total = 0.0f;
        for (int s = threadIdx.x; s < slots; s += 32) {
            float w = top == -__int_as_float(0x7f800000) ? 0.0f : expf(pl[s] - top);
            weights[s] = w;
            total += w;
        }
        total = warp_sum(total);
        if (threadIdx.x == 0) {
            shared_total = total;
            if (lse) lse[row] = total > 0.0f ? top + logf(total) : top;
        }
    }
    __syncthreads();
    float scale = shared_total > 0.0f ? 1.0f / shared_total : 0.0f;
    const float* po = part_out + row * slots * dim;
    for (int d = threadIdx.x; d < dim; d += blockDim.x) {
        float acc = 0.0f;
        for (int s = 0; s < slots; s++) {
            if (weights[s] > 0.0f) acc = fmaf(weights[s], po[(long long) s * dim + d], acc);
        }
        store_elem(out, row * dim + d, out_dt, acc * scale);
    }
}
