// Kernel-level bench of the attention tile kernels on synthetic history lists (no Java): each query row of a
// T-token, H-head prefill picks two random earlier blocks; the lists, tiles and in-place KV table are built as the
// planner builds them. Runs the mma.sync kernel and the warpgroup kernel on the same lists, checks that they agree
// (partial outputs and log-sum-exps, every written entry), and prints the median time of each.
//   nvcc -std=c++17 -gencode=arch=compute_90a,code=sm_90a -I <kernel sources> -o tile_bench tile_bench.cu
//   ./tile_bench [tokens] [heads] [block]
#include <cuda_runtime.h>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "moba_tiles.cu"

#define CHECK(x)                                                                                     \
    do {                                                                                             \
        cudaError_t e = (x);                                                                         \
        if (e != cudaSuccess) {                                                                      \
            std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e));   \
            std::exit(1);                                                                            \
        }                                                                                            \
    } while (0)

static u16 to_bf16(float f) {
    u32 u;
    std::memcpy(&u, &f, 4);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (u16) (u >> 16);
}

typedef void (*TileKernel)(const u16*, int, int, const u64*, long long, int, int, float, const TileList*, const int*,
                           int, const int2*, int, float*, float*);

// A tile kernel in its history mode (no merge target): the warpgroup one or the mma.sync one, as instantiated in
// the backend.
template <bool WARPGROUP>
__global__ void __launch_bounds__(WARPGROUP ? WG_THREADS : TILE_THREADS, WARPGROUP ? 2 : 1) history_tiles(
    const u16* q, int q_heads, int first, const u64* blocks, long long value_offset, int block_size, int kv_heads,
    float scale_log2, const TileList* lists, const int* tile_starts, int list_count, const int2* entries, int slots,
    float* part_out, float* part_lse) {
    if constexpr (WARPGROUP) {
        attend_wg_tile<128, true>(q, q_heads, first, blocks, value_offset, block_size, kv_heads, scale_log2, lists,
                                  tile_starts, list_count, entries, slots, part_out, part_lse, nullptr);
    } else {
        attend_tile<128, true>(q, q_heads, first, blocks, value_offset, block_size, kv_heads, scale_log2, lists,
                               tile_starts, list_count, entries, slots, part_out, part_lse, nullptr);
    }
}

int main(int argc, char** argv) {
    const int T = argc > 1 ? std::atoi(argv[1]) : 131072;
    const int H = argc > 2 ? std::atoi(argv[2]) : 8;
    const int B = argc > 3 ? std::atoi(argv[3]) : 512;
    const int D = 128, picks = 2, slots = picks + 1;
    const int blocks = T / B;
    std::mt19937_64 rng(42);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    size_t elems = (size_t) T * H * D;
    std::vector<u16> hq(elems), hk(elems), hv(elems);
    for (size_t i = 0; i < elems; i++) {
        hq[i] = to_bf16(normal(rng));
        hk[i] = to_bf16(normal(rng));
        hv[i] = to_bf16(normal(rng));
    }
    // Selection: two distinct random earlier blocks per row (row = t * H + h), none in the first block.
    std::vector<std::vector<int2>> per_list((size_t) H * blocks);
    for (int t = 0; t < T; t++) {
        int own = t / B;
        for (int h = 0; h < H; h++) {
            int row = t * H + h;
            int chosen = std::min(picks, own), a = -1;
            for (int p = 0; p < chosen; p++) {
                int b;
                do b = (int) (rng() % own); while (b == a);
                a = b;
                per_list[(size_t) h * blocks + b].push_back(make_int2(row, p));
            }
        }
    }
    std::vector<TileList> lists;
    std::vector<int> tile_starts;
    std::vector<int2> entries;
    int tiles = 0;
    for (int h = 0; h < H; h++) {
        for (int b = 0; b < blocks; b++) {
            auto& l = per_list[(size_t) h * blocks + b];
            if (l.empty()) continue;
            lists.push_back(TileList{b, h, 0, (int) entries.size(), (int) l.size(), tiles, 0, 0});
            tile_starts.push_back(tiles);
            tiles += ((int) l.size() + TILE_ROWS - 1) / TILE_ROWS;
            entries.insert(entries.end(), l.begin(), l.end());
        }
    }
    tile_starts.push_back(tiles);
    int list_count = (int) lists.size();
    std::printf("tokens %d heads %d block %d: %d lists, %d tiles, %zu entries\n", T, H, B, list_count, tiles,
                entries.size());

    u16 *q, *k, *v;
    CHECK(cudaMalloc(&q, elems * 2));
    CHECK(cudaMalloc(&k, elems * 2));
    CHECK(cudaMalloc(&v, elems * 2));
    CHECK(cudaMemcpy(q, hq.data(), elems * 2, cudaMemcpyHostToDevice));
    CHECK(cudaMemcpy(k, hk.data(), elems * 2, cudaMemcpyHostToDevice));
    CHECK(cudaMemcpy(v, hv.data(), elems * 2, cudaMemcpyHostToDevice));
    std::vector<u64> table(blocks);
    for (int b = 0; b < blocks; b++) table[b] = (u64) (k + (size_t) b * B * H * D);
    long long value_offset = (long long) ((char*) v - (char*) k);
    u64* d_table;
    TileList* d_lists;
    int *d_starts;
    int2* d_entries;
    CHECK(cudaMalloc(&d_table, blocks * 8));
    CHECK(cudaMalloc(&d_lists, lists.size() * sizeof(TileList)));
    CHECK(cudaMalloc(&d_starts, tile_starts.size() * 4));
    CHECK(cudaMalloc(&d_entries, entries.size() * sizeof(int2)));
    CHECK(cudaMemcpy(d_table, table.data(), blocks * 8, cudaMemcpyHostToDevice));
    CHECK(cudaMemcpy(d_lists, lists.data(), lists.size() * sizeof(TileList), cudaMemcpyHostToDevice));
    CHECK(cudaMemcpy(d_starts, tile_starts.data(), tile_starts.size() * 4, cudaMemcpyHostToDevice));
    CHECK(cudaMemcpy(d_entries, entries.data(), entries.size() * sizeof(int2), cudaMemcpyHostToDevice));
    size_t rows = (size_t) T * H;
    float *out_a, *lse_a, *out_b, *lse_b;
    CHECK(cudaMalloc(&out_a, rows * slots * D * 4));
    CHECK(cudaMalloc(&out_b, rows * slots * D * 4));
    CHECK(cudaMalloc(&lse_a, rows * slots * 4));
    CHECK(cudaMalloc(&lse_b, rows * slots * 4));
    float scale_log2 = (float) (1.0 / std::sqrt((double) D) / std::log(2.0));

    struct Variant { const char* name; TileKernel kernel; int threads; int shared; float* out; float* lse; };
    Variant variants[] = {
        {"mma.sync", history_tiles<false>, TILE_THREADS, (TILE_ROWS + 4 * TILE_KEYS) * (D + TILE_PAD) * 2,
         out_a, lse_a},
        {"wgmma", history_tiles<true>, WG_THREADS, (TILE_ROWS + 4 * TILE_KEYS) * D * 2 + 1024, out_b, lse_b},
    };
    cudaEvent_t start, stop;
    CHECK(cudaEventCreate(&start));
    CHECK(cudaEventCreate(&stop));
    for (Variant& var : variants) {
        CHECK(cudaFuncSetAttribute((const void*) var.kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, var.shared));
        CHECK(cudaMemset(var.out, 0xff, rows * slots * D * 4));  // NaN: an entry nothing wrote never matches
        CHECK(cudaMemset(var.lse, 0xff, rows * slots * 4));
        std::vector<float> times;
        for (int rep = 0; rep < 21; rep++) {
            CHECK(cudaEventRecord(start));
            var.kernel<<<tiles, var.threads, var.shared>>>(q, H, 0, d_table, value_offset, B, H, scale_log2, d_lists,
                                                           d_starts, list_count, d_entries, slots, var.out, var.lse);
            CHECK(cudaGetLastError());
            CHECK(cudaEventRecord(stop));
            CHECK(cudaEventSynchronize(stop));
            float ms;
            CHECK(cudaEventElapsedTime(&ms, start, stop));
            if (rep > 0) times.push_back(ms);
        }
        std::sort(times.begin(), times.end());
        double flops = 4.0 * D * (double) entries.size() * B;
        std::printf("%-10s median %.3f ms  min %.3f ms  %.0f TFLOP/s\n", var.name, times[times.size() / 2], times[0],
                    flops / (times[times.size() / 2] * 1e-3) / 1e12);
    }
    std::vector<float> oa(rows * slots * D), ob(rows * slots * D), la(rows * slots), lb(rows * slots);
    CHECK(cudaMemcpy(oa.data(), out_a, oa.size() * 4, cudaMemcpyDeviceToHost));
    CHECK(cudaMemcpy(la.data(), lse_a, la.size() * 4, cudaMemcpyDeviceToHost));
    bool pass = true;
    for (int vi = 1; vi < (int) (sizeof(variants) / sizeof(variants[0])); vi++) {
        CHECK(cudaMemcpy(ob.data(), variants[vi].out, ob.size() * 4, cudaMemcpyDeviceToHost));
        CHECK(cudaMemcpy(lb.data(), variants[vi].lse, lb.size() * 4, cudaMemcpyDeviceToHost));
        double max_out = 0, max_lse = 0;
        size_t bad = 0;
        for (const int2& e : entries) {
            size_t at = (size_t) e.x * slots + e.y;
            double dl = std::fabs((double) la[at] - lb[at]);
            if (!(dl <= 1e30)) bad++; else max_lse = std::max(max_lse, dl);
            for (int d = 0; d < D; d++) {
                double x = std::fabs((double) oa[at * D + d] - ob[at * D + d]);
                if (!(x <= 1e30)) bad++; else max_out = std::max(max_out, x);
            }
        }
        bool ok = bad == 0 && max_out < 2e-2 && max_lse < 1e-3;
        pass &= ok;
        std::printf("%s vs %s: max |out diff| %.3e, max |lse diff| %.3e, unwritten or NaN %zu: %s\n", variants[vi].name,
                    variants[0].name, max_out, max_lse, bad, ok ? "pass" : "FAIL");
    }
    return pass ? 0 : 1;
}
