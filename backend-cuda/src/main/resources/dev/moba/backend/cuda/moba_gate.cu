// Gating: for each query row, the `picks` sealed blocks whose mean key scores highest (fp32 dot products, ties to
// the lower block index), written in ascending block order and padded with -1.
#include "moba_common.cuh"

#define GATE_MAX_PICKS 16
#define GATE_WARPS 4

__device__ __forceinline__ bool gate_better(float s, int i, float t, int j) { return s > t || (s == t && i < j); }

// One warp per query row; each lane keeps its own best GATE_MAX_PICKS candidates in registers, and the warp then
// merges the lanes' lists, so no score matrix is ever written. q: [n][qHeads][dim] in q_dt; means: per kv head an
// fp32 matrix [dim][capacity] whose column c is block c's mean key, so the lanes of a warp read adjacent words.
extern "C" __global__ void __launch_bounds__(GATE_WARPS * 32)
gate_topk(const void* q, int q_dt, int n, int q_heads, int group, int dim, int first, int block_size,
          const float* means, int kv_heads, int capacity, int picks, int* out) {
    __shared__ int chosen[GATE_WARPS][GATE_MAX_PICKS];
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    long long row = (long long) blockIdx.x * GATE_WARPS + warp;
    if (row >= (long long) n * q_heads) return;
    int t = (int) (row / q_heads), h = (int) (row % q_heads), kh = h / group;
    int candidates = (first + t) / block_size;
    long long q0 = row * dim;

    float best[GATE_MAX_PICKS];
    int index[GATE_MAX_PICKS];
#pragma unroll
    for (int k = 0; k < GATE_MAX_PICKS; k++) { best[k] = -__int_as_float(0x7f800000); index[k] = 0x7fffffff; }

    for (int c = lane; c < candidates; c += 32) {
        const float* m = means + (long long) kh * dim * capacity + c;
        float s = 0.0f;
        for (int d = 0; d < dim; d++) s = fmaf(load_elem(q, q0 + d, q_dt), m[(long long) d * capacity], s);
        int place = 0;
#pragma unroll
        for (int k = 0; k < GATE_MAX_PICKS; k++) place += gate_better(best[k], index[k], s, c) ? 1 : 0;
#pragma unroll
        for (int k = GATE_MAX_PICKS - 1; k > 0; k--) {
            if (k > place) { best[k] = best[k - 1]; index[k] = index[k - 1]; }
            if (k == place) { best[k] = s; index[k] = c; }
        }
        if (place == 0) { best[0] = s; index[0] = c; }
    }

    for (int p = 0; p < picks; p++) {
        float s = best[0];
        int i = index[0];
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) {
            float so = __shfl_xor_sync(0xffffffffu, s, o);
            int io = __shfl_xor_sync(0xffffffffu, i, o);
            if (gate_better(so, io, s, i)) { s = so; i = io; }
        }
        if (lane == 0) chosen[warp][p] = i < candidates ? i : -1;
        if (index[0] == i) {
#pragma unroll
            for (int k = 0; k < GATE_MAX_PICKS - 1; k++) { best[k] = best[k + 1]; index[k] = index[k + 1]; }
            best[GATE_MAX_PICKS - 1] = -__int_as_float(0x7f800000);
            index[GATE_MAX_PICKS - 1] = 0x7fffffff;
        }
    }
    __syncwarp();
    if (lane == 0) {
        int* dst = out + row * picks;
        int count = 0;
        for (int p = 0; p < picks; p++) {
            int b = chosen[warp][p];
            if (b < 0) continue;
            int k = count++;
            while (k > 0 && dst[k - 1] > b) { dst[k] = dst[k - 1]; k--; }
            dst[k] = b;
        }
        for (int p = count; p < picks; p++) dst[p] = -1;
    }
}
