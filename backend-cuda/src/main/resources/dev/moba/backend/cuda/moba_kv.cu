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

// The block table of a contiguous key array [blocks][block_size][row]: block b's keys at k + b * block_bytes, so
// kernels written for a cache's blocks read the array in place.
extern "C" __global__ void kv_source_table(const char* k, long long block_bytes, int count, u64* table) {
    int b = blockIdx.x * blockDim.x + threadIdx.x;
    if (b < count) table[b] = (u64) (k + b * block_bytes);
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
