// Element types and conversions shared by the MoBA kernels. Written against PTX directly so that the run-time
// compiler needs no CUDA headers: the only include path it relies on is its own.
#pragma once

typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

// Storage type codes, in the order of dev.moba.tensor.DType.
#define DT_FP32 0
#define DT_BF16 1
#define DT_FP16 2

__device__ __forceinline__ float bf16_to_float(u16 h) { return __uint_as_float(((u32) h) << 16); }

// Round to nearest even, as the engine rounds on the host; inputs are finite.
__device__ __forceinline__ u16 float_to_bf16(float f) {
    u32 u = __float_as_uint(f);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (u16) (u >> 16);
}

__device__ __forceinline__ float fp16_to_float(u16 h) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}

__device__ __forceinline__ u16 float_to_fp16(float f) {
    u16 h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
    return h;
}

__device__ __forceinline__ float load_elem(const void* base, long long i, int dt) {
    if (dt == DT_FP32) return ((const float*) base)[i];
    u16 h = ((const u16*) base)[i];
    return dt == DT_BF16 ? bf16_to_float(h) : fp16_to_float(h);
}

__device__ __forceinline__ void store_elem(void* base, long long i, int dt, float value) {
    if (dt == DT_FP32) {
        ((float*) base)[i] = value;
    } else {
        ((u16*) base)[i] = dt == DT_BF16 ? float_to_bf16(value) : float_to_fp16(value);
    }
}

__device__ __forceinline__ int elem_bytes(int dt) { return dt == DT_FP32 ? 4 : 2; }

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
