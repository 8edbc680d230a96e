// KV blocks on the device: appending tokens into their blocks and freezing a sealed block's mean key.
//
// A block is one allocation: keys [blockSize][kvHeads][headDim] then values of the same shape, in the storage type.
// `blocks` is the device table of block base addresses of one sequence.
#include "moba_common.cuh"

// Stores tokens [first, first + n) of k and v ([n][row] in src_dt, row = kvHeads * headDim) into their blocks,
// rounded to the storage type. One thread per element.
extern "C" __global__ void kv_append(const void* k, const void* v, int src_dt, int n, int first,
                                     const u64* blocks, int block_size, int row, int dt) {
    long long total = (long long) n * row;
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < total;
         i += (long long) gridDim.x * blockDim.x) {
        int t = (int) (i / row);
        int e = (int) (i - (long long) t * row);
        int pos = first + t;
        char* base = (char*) blocks[pos / block_size];
        long long at = (long long) (pos % block_size) * row + e;
        store_elem(base, at, dt, load_elem(k, i, src_dt));
        store_elem(base + (long long) block_size * row * elem_bytes(dt), at, dt, load_elem(v, i, src_dt));
    }
}

// kv_append for sources already in the storage type: 16 bytes per thread. Needs row * element size to be a
// multiple of 16 bytes (checked by the caller).
extern "C" __global__ void kv_append_copy(const char* k, const char* v, int n, int first, const u64* blocks,
                                          int block_size, int row, int dt) {
    int row_bytes = row * elem_bytes(dt);
    int pieces = row_bytes / 16;
    long long total = (long long) n * pieces;
    long long block_bytes = (long long) block_size * row_bytes;
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < total;
         i += (long long) gridDim.x * blockDim.x) {
        int t = (int) (i / pieces), piece = (int) (i - (long long) t * pieces);
        int pos = first + t;
        char* base = (char*) blocks[pos / block_size] + (long long) (pos % block_size) * row_bytes + piece * 16;
        *(uint4*) base = *(const uint4*) (k + i * 16);
        *(uint4*) (base + block_bytes) = *(const uint4*) (v + i * 16);
    }
}

// Adds the 8 bytes of one key row in `piece` (four 16-bit or two fp32 elements) to the double sums.
__device__ __forceinline__ void add_piece(double (&sum)[4], uint2 piece, int dt) {
    if (dt == DT_FP32) {
        sum[0] += (double) __uint_as_float(piece.x);
        sum[1] += (double) __uint_as_float(piece.y);
        return;
    }
    u32 w[2] = {piece.x, piece.y};
#pragma unroll
    for (int j = 0; j < 4; j++) {
        u16 h = (u16) (w[j >> 1] >> ((j & 1) * 16));
        sum[j] += (double) (dt == DT_BF16 ? bf16_to_float(h) : fp16_to_float(h));
    }
}

// kv_append_copy and the means of the blocks this append seals in one pass over the keys, so that a prefill reads
// its keys from memory once: one thread per (block, 8 bytes of the row) walks the block's tokens in order, copying
// its piece of each key and value and summing the keys in double in token order as the host does (keys of the
// block appended earlier are read back from it). Means go to the gate's layout, per kv head [dim][capacity]. A
// thread keeps APPEND_BATCH tokens' loads in flight: a long block gives the grid few threads. Needs row * element
// size to be a multiple of 8 bytes (checked by the caller).
constexpr int APPEND_BATCH = 8;
extern "C" __global__ void kv_append_means(const char* k, const char* v, int n, int first, const u64* blocks,
                                           int block_size, int row, int dt, float* means, int capacity) {
    int row_bytes = row * elem_bytes(dt);
    int pieces = row_bytes / 8;
    int end = first + n;
    int first_block = first / block_size;
    long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x;
    if (i >= (long long) ((end - 1) / block_size - first_block + 1) * pieces) return;
    int b = first_block + (int) (i / pieces), piece = (int) (i % pieces);
    int start = b * block_size;
    int from = max(first, start), to = min(end, start + block_size);
    bool seals = start + block_size <= end;
    char* key_rows = (char*) blocks[b] + piece * 8;
    char* value_rows = key_rows + (long long) block_size * row_bytes;
    double sum[4] = {0.0, 0.0, 0.0, 0.0};
    for (int t = start; seals && t < from; t++) {
        add_piece(sum, *(const uint2*) (key_rows + (long long) (t - start) * row_bytes), dt);
    }
    const char* key_src = k + (long long) (from - first) * row_bytes + piece * 8;
    const char* value_src = v + (long long) (from - first) * row_bytes + piece * 8;
    for (int t0 = from; t0 < to; t0 += APPEND_BATCH) {
        uint2 keys[APPEND_BATCH], values[APPEND_BATCH];
#pragma unroll
        for (int u = 0; u < APPEND_BATCH; u++) {
            if (t0 + u < to) {
                long long at = (long long) (t0 + u - from) * row_bytes;
                keys[u] = *(const uint2*) (key_src + at);
                values[u] = *(const uint2*) (value_src + at);
            }
        }
#pragma unroll
        for (int u = 0; u < APPEND_BATCH; u++) {
            if (t0 + u < to) {
                long long at = (long long) (t0 + u - start) * row_bytes;
                *(uint2*) (key_rows + at) = keys[u];
                *(uint2*) (value_rows + at) = values[u];
                if (seals) add_piece(sum, keys[u], dt);
            }
        }
    }
    if (!seals) return;
    int per_piece = 8 / elem_bytes(dt);
#pragma unroll
    for (int j = 0; j < 4; j++) {
        if (j < per_piece) means[(long long) (piece * per_piece + j) * capacity + b] = (float) (sum[j] / block_size);
    }
}

// The mean key of block `b`, [row] fp32: summed in double in token order and divided once, as the host does,
// so that every backend gates on bit-identical means.
extern "C" __global__ void kv_block_mean(const u64* blocks, int b, int block_size, int row, int dt, float* out) {
    int e = blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= row) return;
    const void* keys = (const void*) blocks[b];
    double sum = 0.0;
    for (int t = 0; t < block_size; t++) sum += (double) load_elem(keys, (long long) t * row + e, dt);
    out[e] = (float) (sum / block_size);
}
