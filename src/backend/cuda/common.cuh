// Device helpers shared by the CUDA kernels: error checks, f16/bf16 loads from
// GGUF bytes, warp reductions. Plain CUDA C++: the intrinsics used (__shfl_xor_sync,
// __byte_perm, __half2float) have HIP/MUSA equivalents of the same name (HIP's
// shuffles take a 64-bit mask on wave64 parts: the one place a port needs care).
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <cstring>

#include "pivot/error.h"

namespace pivot::cuda {

// Throws pivot::Error naming the failed call, for host code in .cu files.
#define PIVOT_CUDA_CHECK(call)                                                                    \
  do {                                                                                            \
    cudaError_t pivot_e_ = (call);                                                                \
    if (pivot_e_ != cudaSuccess)                                                                  \
      ::pivot::fail("cuda: %s failed: %s (%s:%d)", #call, cudaGetErrorString(pivot_e_), __FILE__, \
                    __LINE__);                                                                    \
  } while (0)

// Launch errors (bad configuration) surface at once; faults surface at the next sync.
#define PIVOT_CUDA_LAUNCHED() PIVOT_CUDA_CHECK(cudaGetLastError())

constexpr int kWarp = 32;

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = kWarp / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = kWarp / 2; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Block decoding runs on the device and, for tests/cuda, on the host: PIVOT_HD
// marks such helpers; byte_perm() and as_float() are the intrinsics with a host
// fallback.
#define PIVOT_HD __host__ __device__ __forceinline__

PIVOT_HD uint32_t byte_perm(uint32_t x, uint32_t y, uint32_t sel) {
#ifdef __CUDA_ARCH__
  return __byte_perm(x, y, sel);
#else
  const uint64_t xy = x | static_cast<uint64_t>(y) << 32;
  uint32_t r = 0;
  for (int i = 0; i < 4; ++i)
    r |= static_cast<uint32_t>((xy >> (8 * ((sel >> (4 * i)) & 7))) & 0xff) << (8 * i);
  return r;
#endif
}
PIVOT_HD float as_float(uint32_t u) {
#ifdef __CUDA_ARCH__
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, 4);
  return f;
#endif
}

// Little-endian 16-bit load from a 2-byte-aligned address.
PIVOT_HD uint32_t ld_u16(const uint8_t* p) {
  return *reinterpret_cast<const uint16_t*>(p);
}
// 32-bit value from a 2-byte-aligned address (two 16-bit loads).
PIVOT_HD uint32_t ld_u32_a2(const uint8_t* p) {
  return ld_u16(p) | (ld_u16(p + 2) << 16);
}
PIVOT_HD float f16_bits(uint32_t h) {
  return __half2float(__ushort_as_half(static_cast<unsigned short>(h)));
}
PIVOT_HD float ld_f16(const uint8_t* p) {
  return f16_bits(ld_u16(p));
}
PIVOT_HD float bf16_bits(uint32_t h) {
  return as_float(h << 16);
}

// Byte I (0..3) of w minus `bias`, exactly, as a float: 0x4B0000bb is the float
// 2^23 + bb, so one byte permute and one subtraction of 2^23 + bias replace an
// int-to-float conversion (a quarter-rate instruction). bias is a small integer.
template <int I>
PIVOT_HD float byte_f(uint32_t w, float bias = 0.0f) {
  return as_float(byte_perm(w, 0x4B000000u, 0x7540 | I)) - (8388608.0f + bias);
}
// An unsigned integer v < 2^23 minus bias, exactly, the same way.
PIVOT_HD float int_f(uint32_t v, float bias = 0.0f) {
  return as_float(0x4B000000u | v) - (8388608.0f + bias);
}

inline unsigned blocks_for(int64_t n, int threads) {
  return static_cast<unsigned>((n + threads - 1) / threads);
}

}  // namespace pivot::cuda
