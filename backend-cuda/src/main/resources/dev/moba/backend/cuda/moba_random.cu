// Seeded N(0, 1) values generated on the device, for benchmarks and GPU tests that need large inputs without
// copying them from the host. Each element is a pure function of (seed, index).
#include "moba_common.cuh"

__device__ __forceinline__ u64 mix64(u64 z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

extern "C" __global__ void fill_normal(void* dst, long long n, int dt, u64 seed) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        u64 bits = mix64(seed + 0x9e3779b97f4a7c15ull * (u64) (i + 1));
        float u1 = ((bits >> 40) + 1) * (1.0f / 16777217.0f);
        float u2 = ((bits >> 16) & 0xffffff) * (1.0f / 16777216.0f);
        store_elem(dst, i, dt, sqrtf(-2.0f * logf(u1)) * cospif(2.0f * u2));
    }
}
