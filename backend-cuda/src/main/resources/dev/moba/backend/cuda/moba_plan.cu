// The device-resident prefill: block means of every sealed block, and the attention lists built from the gate's
// selection, so that a whole sequence already on the GPU runs without a round trip to the host.
#include "moba_common.cuh"
#include "moba_lists.cuh"

#define PLAN_THREADS 1024

// The mean keys of blocks [from, sealed), written in the gate's layout: per kv head, [dim][capacity]. Summed in
// double in token order, as the host and kv_block_mean do. One thread per (block, element of the row).
extern "C" __global__ void kv_means_all(const u64* blocks, int from, int sealed, int block_size, int kv_heads,
                                        int dim, int dt, float* means, int capacity) {
    int row = kv_heads * dim;
    long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x;
    if (i >= (long long) (sealed - from) * row) return;
    int b = from + (int) (i / row), e = (int) (i % row);
    const void* keys = (const void*) blocks[b];
    double sum = 0.0;
    for (int t = 0; t < block_size; t++) sum += (double) load_elem(keys, (long long) t * row + e, dt);
    int kh = e / dim, d = e % dim;
    means[((long long) kh * dim + d) * capacity + b] = (float) (sum / block_size);
}

// The selection's (row, slot) pairs are taken PLAN_SPAN per CTA. Many rows pick the same few blocks, so where the
// history lists fit in shared memory a CTA counts (and places) its pairs there and touches each global counter once:
// global atomics on a few hundred addresses would serialise.
#define PLAN_SPAN 16384
#define PLAN_SHARED_LISTS 12288

// The history list (kv head, block) of selection entry i, or -1 for an empty slot.
__device__ __forceinline__ int plan_list_of(const int* selection, long long i, int picks, int q_heads, int group,
                                            int history_blocks) {
    int b = selection[i];
    if (b < 0) return -1;
    int kh = (int) ((i / picks) % q_heads) / group;
    return kh * history_blocks + b;
}

// Counts, per (kv head, history block), the (row, slot) pairs that selected it. Dynamic shared memory: one int per
// history list when they fit (PLAN_SHARED_LISTS), else none.
extern "C" __global__ void __launch_bounds__(PLAN_THREADS)
plan_count(const int* selection, long long rows, int picks, int q_heads, int group, int history_blocks, int* counts) {
    extern __shared__ int bins[];
    int lists = q_heads / group * history_blocks;
    bool local = lists <= PLAN_SHARED_LISTS;
    int* target = local ? bins : counts;
    if (local) {
        for (int l = threadIdx.x; l < lists; l += blockDim.x) bins[l] = 0;
        __syncthreads();
    }
    long long from = (long long) blockIdx.x * PLAN_SPAN, to = min(rows * picks, from + PLAN_SPAN);
    for (long long i = from + threadIdx.x; i < to; i += blockDim.x) {
        int l = plan_list_of(selection, i, picks, q_heads, group, history_blocks);
        if (l >= 0) atomicAdd(&target[l], 1);
    }
    if (local) {
        __syncthreads();
        for (int l = threadIdx.x; l < lists; l += blockDim.x) {
            if (bins[l] > 0) atomicAdd(&counts[l], bins[l]);
        }
    }
}

// Lays out the lists: history lists (kv head, block) with the counted sizes, then one causal list per (kv head,
// block) holding every query of the block; entry ranges and tile numbers by exclusive prefix sums. One CTA.
extern "C" __global__ void __launch_bounds__(PLAN_THREADS)
plan_lists(const int* counts, int kv_heads, int history_blocks, int blocks, int tokens, int block_size, int group,
           int tile_rows, TileList* lists, int* tile_starts) {
    __shared__ long long entry_sums[PLAN_THREADS];
    __shared__ int tile_sums[PLAN_THREADS];
    int history = kv_heads * history_blocks;
    int total = history + kv_heads * blocks;
    int per = (total + PLAN_THREADS - 1) / PLAN_THREADS;
    int from = threadIdx.x * per, to = min(total, from + per);
    long long entries = 0;
    int tiles = 0;
    for (int l = from; l < to; l++) {
        int count;
        if (l < history) {
            count = counts[l];
        } else {
            int b = (l - history) % blocks;
            count = min(block_size, tokens - b * block_size) * group;
        }
        entries += count;
        tiles += (count + tile_rows - 1) / tile_rows;
    }
    entry_sums[threadIdx.x] = entries;
    tile_sums[threadIdx.x] = tiles;
    __syncthreads();
    for (int offset = 1; offset < PLAN_THREADS; offset <<= 1) {
        long long e = threadIdx.x >= offset ? entry_sums[threadIdx.x - offset] : 0;
        int t = threadIdx.x >= offset ? tile_sums[threadIdx.x - offset] : 0;
        __syncthreads();
        entry_sums[threadIdx.x] += e;
        tile_sums[threadIdx.x] += t;
        __syncthreads();
    }
    long long entry = entry_sums[threadIdx.x] - entries;
    int tile = tile_sums[threadIdx.x] - tiles;
    for (int l = from; l < to; l++) {
        TileList list;
        if (l < history) {
            list.kv_head = l / history_blocks;
            list.block = l % history_blocks;
            list.causal = 0;
            list.count = counts[l];
        } else {
            list.kv_head = (l - history) / blocks;
            list.block = (l - history) % blocks;
            list.causal = 1;
            list.count = min(block_size, tokens - list.block * block_size) * group;
        }
        list.first_entry = (int) entry;
        list.first_tile = tile;
        list.unused0 = list.unused1 = 0;
        lists[l] = list;
        tile_starts[l] = tile;
        entry += list.count;
        tile += (list.count + tile_rows - 1) / tile_rows;
    }
    if (threadIdx.x == PLAN_THREADS - 1) tile_starts[total] = tile;
}

// Writes each selected (row, slot) into its history list; `cursors` starts zeroed. Order within a list is free:
// each row's result depends only on the row and the block. With the lists in shared memory a CTA counts its pairs,
// reserves a range of each list with one global atomic, then places its pairs in that range.
extern "C" __global__ void __launch_bounds__(PLAN_THREADS)
plan_fill_history(const int* selection, long long rows, int picks, int q_heads, int group, int history_blocks,
                  const TileList* lists, int* cursors, int2* entries) {
    extern __shared__ int bins[];
    int list_count = q_heads / group * history_blocks;
    bool local = list_count <= PLAN_SHARED_LISTS;
    long long from = (long long) blockIdx.x * PLAN_SPAN, to = min(rows * picks, from + PLAN_SPAN);
    if (local) {
        for (int l = threadIdx.x; l < list_count; l += blockDim.x) bins[l] = 0;
        __syncthreads();
        for (long long i = from + threadIdx.x; i < to; i += blockDim.x) {
            int l = plan_list_of(selection, i, picks, q_heads, group, history_blocks);
            if (l >= 0) atomicAdd(&bins[l], 1);
        }
        __syncthreads();
        for (int l = threadIdx.x; l < list_count; l += blockDim.x) {
            if (bins[l] > 0) bins[l] = atomicAdd(&cursors[l], bins[l]);
        }
        __syncthreads();
    }
    int* cursor = local ? bins : cursors;
    for (long long i = from + threadIdx.x; i < to; i += blockDim.x) {
        int l = plan_list_of(selection, i, picks, q_heads, group, history_blocks);
        if (l < 0) continue;
        int at = atomicAdd(&cursor[l], 1);
        entries[lists[l].first_entry + at] = make_int2((int) (i / picks), (int) (i % picks));
    }
}

// Writes every query into the causal list of its own block, tokens in order (so a tile's last row sees the most
// keys), its slot the one after the history picks.
extern "C" __global__ void plan_fill_causal(int tokens, int q_heads, int group, int block_size, int blocks,
                                            int history_lists, int picks, const TileList* lists, int2* entries) {
    long long row = blockIdx.x * (long long) blockDim.x + threadIdx.x;
    if (row >= (long long) tokens * q_heads) return;
    int token = (int) (row / q_heads), h = (int) (row % q_heads);
    int kh = h / group, b = token / block_size;
    int l = history_lists + kh * blocks + b;
    int index = (token - b * block_size) * group + (h - kh * group);
    entries[lists[l].first_entry + index] = make_int2((int) row, picks);
}
