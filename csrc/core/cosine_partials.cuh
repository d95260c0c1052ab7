// Stage 1 on the device: the partial sums dot = <z[i,j], z[i,T]> and sq = |z[i,j]|^2 of one
// (sample i, chunk c) for every state j, written in float64 to part[i][j][c][0..1].
//
// Fixed order, independent of alignment and of the GPU: thread t of the block owns the elements
// chunkStart + (v*kThreads + t)*kVec + u (v < kPacks, u < kVec) and sums their products in that
// order in float32 (fmaf); the 32 lanes of a warp are added by a fixed shuffle tree in float32;
// the kWarps warp sums are added in warp order in float64. The vector path (16-byte loads) and the
// scalar path (misaligned rows, the tail of D) fill the same registers, so they give the same bits.
#pragma once

#include <cuda_fp16.h>

#include <cstdint>

#include "dtype.h"
#include "step_args.cuh"

namespace otca {
namespace gpu {
namespace detail {

// One 16-byte pack of raw elements per load; Elem says how to read and widen them.
template <class Raw>
struct Elem;

template <>
struct Elem<float> {
  static constexpr int kVec = 4;
  __device__ static uint32_t load_one(const float* p) { return __float_as_uint(__ldcs(p)); }
  __device__ static void widen(const uint4& r, float* x) {
    x[0] = __uint_as_float(r.x); x[1] = __uint_as_float(r.y);
    x[2] = __uint_as_float(r.z); x[3] = __uint_as_float(r.w);
  }
};

struct Bf16 { uint16_t bits; };
struct F16 { uint16_t bits; };

template <class Raw>
struct Elem16 {
  static constexpr int kVec = 8;
  __device__ static uint32_t load_one(const Raw* p) {
    return __ldcs(reinterpret_cast<const unsigned short*>(p));
  }
};

template <>
struct Elem<Bf16> : Elem16<Bf16> {
  __device__ static void widen(const uint4& r, float* x) {
    const uint32_t w[4] = {r.x, r.y, r.z, r.w};
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      x[2 * k] = dtype::bf16_to_float(static_cast<uint16_t>(w[k] & 0xffffu));
      x[2 * k + 1] = dtype::bf16_to_float(static_cast<uint16_t>(w[k] >> 16));
    }
  }
};

template <>
struct Elem<F16> : Elem16<F16> {
  // cvt.f32.f16 is exact, like dtype::f16_to_float, and one instruction instead of ten.
  __device__ static void widen(const uint4& r, float* x) {
    const uint32_t w[4] = {r.x, r.y, r.z, r.w};
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      x[2 * k] = __half2float(__ushort_as_half(static_cast<unsigned short>(w[k] & 0xffffu)));
      x[2 * k + 1] = __half2float(__ushort_as_half(static_cast<unsigned short>(w[k] >> 16)));
    }
  }
};

template <class Raw>
__host__ __device__ constexpr int packs_per_thread() { return kElemsPerThread / Elem<Raw>::kVec; }

__device__ __forceinline__ const void* state_pointer(const StepArgs& a, int64_t j) {
  return j < kInlineStates ? a.states[j] : a.statesDev[j];
}

// Loads this thread's elements of row `row` (sample i's D elements of one state) in chunk c.
// Elements past D read as 0 (they add nothing to either sum).
template <class Raw>
__device__ __forceinline__ void load_chunk(const Raw* row, int64_t chunkStart, int64_t D,
                                           uint4 (&r)[packs_per_thread<Raw>()]) {
  constexpr int kVec = Elem<Raw>::kVec;
  const bool aligned = (reinterpret_cast<uintptr_t>(row) & 15u) == 0;
#pragma unroll
  for (int v = 0; v < packs_per_thread<Raw>(); ++v) {
    const int64_t at = chunkStart + (static_cast<int64_t>(v) * kThreads + threadIdx.x) * kVec;
    if (aligned && at + kVec <= D) {
      r[v] = __ldcs(reinterpret_cast<const uint4*>(row + at));
    } else {
      uint32_t b[kVec];
#pragma unroll
      for (int u = 0; u < kVec; ++u) b[u] = at + u < D ? Elem<Raw>::load_one(row + at + u) : 0u;
      if (kVec == 4) {
        r[v] = make_uint4(b[0], b[1], b[2], b[3]);
      } else {
        r[v] = make_uint4(b[0] | (b[1 % kVec] << 16), b[2 % kVec] | (b[3 % kVec] << 16),
                          b[4 % kVec] | (b[5 % kVec] << 16), b[6 % kVec] | (b[7 % kVec] << 16));
      }
    }
  }
}

__device__ __forceinline__ float warp_sum(float x) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) x += __shfl_down_sync(0xffffffffu, x, o);
  return x;  // lane 0 holds the sum
}

// `red` is shared memory of kWarps * kStateBatch * 2 floats.
template <class Raw>
__device__ void cosine_partials(const StepArgs& a, int64_t i, int64_t c, float* red) {
  constexpr int kPacks = packs_per_thread<Raw>();
  constexpr int kVec = Elem<Raw>::kVec;
  constexpr int kUnroll = kLoadsInFlight / kPacks;  // states loaded together
  const int64_t T = a.T, D = a.D, C = a.chunks;
  const int64_t chunkStart = c * kChunk;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t rowOffset = i * a.stride;

  float zT[kElemsPerThread];
  {
    uint4 r[kPacks];
    load_chunk<Raw>(static_cast<const Raw*>(state_pointer(a, T)) + rowOffset, chunkStart, D, r);
#pragma unroll
    for (int v = 0; v < kPacks; ++v) Elem<Raw>::widen(r[v], zT + v * kVec);
  }

  for (int64_t jb = 0; jb <= T; jb += kStateBatch) {
    const int64_t je = jb + kStateBatch < T + 1 ? jb + kStateBatch : T + 1;
    for (int64_t j0 = jb; j0 < je; j0 += kUnroll) {
      uint4 r[kUnroll][kPacks];
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        const int64_t j = j0 + u;
        if (j < je && j < T)
          load_chunk<Raw>(static_cast<const Raw*>(state_pointer(a, j)) + rowOffset, chunkStart, D, r[u]);
      }
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        const int64_t j = j0 + u;
        if (j >= je) break;
        float x[kElemsPerThread];
        if (j < T) {
#pragma unroll
          for (int v = 0; v < kPacks; ++v) Elem<Raw>::widen(r[u][v], x + v * kVec);
        } else {
#pragma unroll
          for (int k = 0; k < kElemsPerThread; ++k) x[k] = zT[k];
        }
        float dot = 0.0f, sq = 0.0f;
#pragma unroll
        for (int k = 0; k < kElemsPerThread; ++k) {
          dot = fmaf(x[k], zT[k], dot);
          sq = fmaf(x[k], x[k], sq);
        }
        dot = warp_sum(dot);
        sq = warp_sum(sq);
        if (lane == 0) {
          float* slot = red + (warp * kStateBatch + (j - jb)) * 2;
          slot[0] = dot;
          slot[1] = sq;
        }
      }
    }
    __syncthreads();
    for (int64_t s = threadIdx.x; s < je - jb; s += kThreads) {
      double dot = 0.0, sq = 0.0;
#pragma unroll
      for (int w = 0; w < kWarps; ++w) {
        dot += static_cast<double>(red[(w * kStateBatch + s) * 2]);
        sq += static_cast<double>(red[(w * kStateBatch + s) * 2 + 1]);
      }
      const int64_t j = jb + s;
      double* out = a.part + ((i * (T + 1) + j) * C + c) * 2;
      out[0] = dot;
      out[1] = sq;
      if (!isfinite(dot) || !isfinite(sq))
        atomicMin(&a.book->latentFlag, static_cast<unsigned long long>(i * (T + 1) + j));
    }
    __syncthreads();
  }
}

}  // namespace detail
}  // namespace gpu
}  // namespace otca
