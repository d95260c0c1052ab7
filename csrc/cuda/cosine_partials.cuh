// Stage 1 on the device: the partial sums dot = <z[i,j], z[i,T]> and sq = |z[i,j]|^2 of one
// (sample i, chunk c) for every state j, written in float64 to part[i][j][c][0..1].
//
// Fixed order, independent of alignment and of the GPU (it depends only on the Shape): thread t
// of the block owns the elements chunkStart + (v*threads + t)*kVec + u (v < packs, u < kVec). Its
// products are summed in float32 (fmaf) over RUNS of at most 16 consecutive owned elements (v, u
// in order), each run converted to float64 and added in run order; the 32 lanes of a warp are
// added by a fixed shuffle tree in float64; the warp sums in warp order in float64. So float32
// rounding touches only sums of <= 16 products (relative error ~1e-7 of a short sum, ~1e-9 of
// the whole), and the CPU backend (float runs then float64) agrees to ~1e-9 relative. One float64
// add per run and per level, not per element (FP64 is 1/64 rate on sm_86/89). The vector path
// (16-byte loads) and the scalar path (misaligned rows, the tail of D) fill the same registers, so
// they give the same bits.
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

// One latent element as float32 (exact for every dtype).
template <class Raw>
__device__ __forceinline__ float latent_value(const Raw* p) {
  const uint32_t bits = Elem<Raw>::load_one(p);
  if constexpr (sizeof(Raw) == 4) {
    return __uint_as_float(bits);
  } else {
    uint4 pack = make_uint4(bits, 0, 0, 0);
    float w[8];
    Elem<Raw>::widen(pack, w);
    return w[0];
  }
}

__device__ __forceinline__ const void* state_pointer(const StepArgs& a, int64_t j) {
  return j < kInlineStates ? a.states[j] : a.statesDev[j];
}

// Loads this thread's kPacks packs of row `row` (sample i's D elements of one state) in the chunk
// starting at chunkStart. Elements past D read as 0 (they add nothing to either sum).
template <class Raw, int kThr, int kPacks>
__device__ __forceinline__ void load_chunk(const Raw* row, int64_t chunkStart, int64_t D,
                                           uint4 (&r)[kPacks]) {
  constexpr int kVec = Elem<Raw>::kVec;
  const bool aligned = (reinterpret_cast<uintptr_t>(row) & 15u) == 0;
#pragma unroll
  for (int v = 0; v < kPacks; ++v) {
    const int64_t at = chunkStart + (static_cast<int64_t>(v) * kThr + threadIdx.x) * kVec;
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

__device__ __forceinline__ double warp_sum_d(double x) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) x += __shfl_down_sync(0xffffffffu, x, o);
  return x;  // lane 0 holds the sum
}

// This thread's (dot, sq) of one state: float32 runs of <= 16 elements, float64 across runs.
template <class Raw, int kPacks>
__device__ __forceinline__ void thread_sums(const uint4 (&x)[kPacks], const uint4 (&z)[kPacks],
                                            double& dot, double& sq) {
  constexpr int kVec = Elem<Raw>::kVec;
  constexpr int kRunPacks = 16 / kVec < kPacks ? 16 / kVec : kPacks;  // packs per float32 run
  static_assert(kPacks % kRunPacks == 0, "runs must tile the packs");
  dot = 0.0;
  sq = 0.0;
#pragma unroll
  for (int r0 = 0; r0 < kPacks; r0 += kRunPacks) {
    float fd = 0.0f, fs = 0.0f;
#pragma unroll
    for (int v = r0; v < r0 + kRunPacks; ++v) {
      float xv[kVec], zv[kVec];
      Elem<Raw>::widen(x[v], xv);
      Elem<Raw>::widen(z[v], zv);
#pragma unroll
      for (int u = 0; u < kVec; ++u) {
        fd = fmaf(xv[u], zv[u], fd);
        fs = fmaf(xv[u], xv[u], fs);
      }
    }
    dot += static_cast<double>(fd);
    sq += static_cast<double>(fs);
  }
}

// Shared memory of a streaming block: per-warp float64 sums of up to kStateBatch states.
struct PartialsSmem {
  double red[kMaxWarps * kStateBatch * 2];
};

// The block's per-warp sums of states [jb, je) (slots 0..je-jb-1) -> part, in warp order.
template <int kThr>
__device__ __forceinline__ void flush_states(const StepArgs& a, int64_t i, int64_t c, int64_t jb,
                                             int64_t je, const PartialsSmem& sm) {
  constexpr int kW = kThr / 32;
  const int64_t T = a.T, C = a.chunks;
  __syncthreads();
  for (int64_t s = threadIdx.x; s < 2 * (je - jb); s += kThr) {
    double acc = 0.0;
#pragma unroll
    for (int w = 0; w < kW; ++w) acc += sm.red[(w * kStateBatch + s / 2) * 2 + (s & 1)];
    const int64_t j = jb + s / 2;
    a.part[((i * (T + 1) + j) * C + c) * 2 + (s & 1)] = acc;  // non-finite: finish_sample rescans
  }
  __syncthreads();
}

// One warp's float64 sums of one state into its shared-memory slot.
template <int kThr>
__device__ __forceinline__ void warp_store(double dot, double sq, int slot, PartialsSmem& sm) {
  dot = warp_sum_d(dot);
  sq = warp_sum_d(sq);
  if ((threadIdx.x & 31) == 0) {
    double* p = sm.red + ((threadIdx.x >> 5) * kStateBatch + slot) * 2;
    p[0] = dot;
    p[1] = sq;
  }
}

template <class Raw, class Shape>
__device__ void cosine_partials(const StepArgs& a, int64_t i, int64_t c, PartialsSmem& sm) {
  constexpr int kThr = Shape::kThreads;
  constexpr int kPacks = Shape::kPacks;
  constexpr int kRound = Shape::kRound;
  static_assert(kStateBatch % kRound == 0, "a round must not straddle a shared-memory batch");
  static_assert(kThr / 32 <= kMaxWarps, "too many warps");
  const int64_t T = a.T, D = a.D;
  constexpr int64_t kChunkElems = static_cast<int64_t>(kThr) * kPacks * Elem<Raw>::kVec;  // = chunk_elems
  const int64_t chunkStart = c * kChunkElems;
  const int64_t rowOffset = i * a.stride;

  uint4 z[kPacks];
  load_chunk<Raw, kThr, kPacks>(static_cast<const Raw*>(state_pointer(a, T)) + rowOffset, chunkStart, D, z);

  // Rounds of kRound states among 0..T-1; the next round's loads are issued before this round is
  // summed. Warp sums go to shared memory; every kStateBatch states (and at the end) the block
  // adds them in warp order and writes the chunk partials.
  uint4 cur[kRound][kPacks];
#pragma unroll
  for (int u = 0; u < kRound; ++u)
    if (u < T) load_chunk<Raw, kThr, kPacks>(static_cast<const Raw*>(state_pointer(a, u)) + rowOffset, chunkStart, D, cur[u]);
  int64_t jb = 0;
  for (int64_t j0 = 0; j0 < T; j0 += kRound) {
    uint4 nxt[kRound][kPacks];
#pragma unroll
    for (int u = 0; u < kRound; ++u) {
      const int64_t j = j0 + kRound + u;
      if (j < T) load_chunk<Raw, kThr, kPacks>(static_cast<const Raw*>(state_pointer(a, j)) + rowOffset, chunkStart, D, nxt[u]);
    }
#pragma unroll
    for (int u = 0; u < kRound; ++u) {
      const int64_t j = j0 + u;
      if (j < T) {
        double dot, sq;
        thread_sums<Raw, kPacks>(cur[u], z, dot, sq);
        warp_store<kThr>(dot, sq, static_cast<int>(j - jb), sm);
      }
    }
    if (j0 + kRound <= T && j0 + kRound - jb == kStateBatch) {  // batch full (block-uniform)
      flush_states<kThr>(a, i, c, jb, j0 + kRound, sm);
      jb = j0 + kRound;
    }
#pragma unroll
    for (int u = 0; u < kRound; ++u)
#pragma unroll
      for (int v = 0; v < kPacks; ++v) cur[u][v] = nxt[u][v];
  }
  // state T: dot = sq = |z_T|^2. jb <= T < jb + kStateBatch here (a full batch was flushed).
  {
    double dot, sq;
    thread_sums<Raw, kPacks>(z, z, dot, sq);
    warp_store<kThr>(dot, sq, static_cast<int>(T - jb), sm);
  }
  flush_states<kThr>(a, i, c, jb, T + 1, sm);
}

}  // namespace detail
}  // namespace gpu
}  // namespace otca
