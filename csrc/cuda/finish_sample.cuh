// Stage 2 on the device, run by the last block of sample i to finish its chunks: the chunk
// partials added in float64 (a fixed tree that depends only on the chunk count), then S, dS,
// wbar, w and q. Where those sums are not good enough (math::needs_exact_sums: a non-finite or
// overflowed sum, a tiny norm, a trajectory that barely gains alignment), the block sums the sample
// again in float64 first, as the CPU backend does.
//
// math::finish_sample is one serial loop; run by one thread it costs ~2(T+1) float64 divisions
// and square roots in a row (~10 us for T=16 on an H100). This runs the same per-step functions of
// otca_math.h (cosine, step_gain, raw_weight, step_weight; sumU and q summed in index order by one
// thread), spread over the block's threads, so its outputs are the bits
// math::finish_sample gives on the same dot/sq (the .cu files are built with -fmad=false, so no
// multiply-add is contracted that the host does not contract).
#pragma once

#include <cstdint>

#include "otca_math.h"
#include "cosine_partials.cuh"  // warp_sum_d
#include "step_args.cuh"

namespace otca {
namespace gpu {
namespace detail {

// Sample i's 2(T+1) sums again in float64, where the float32 reduction's are not good enough
// (math::needs_exact_sums): each thread adds the exact float64 products of its elements d = thread,
// thread + blockDim, ...; then the lanes by the shuffle tree and the warps in warp order. The first
// state holding a non-finite element is flagged for the host's error. Rare, so plain and serial over
// states.
template <class Raw>
__device__ void exact_sums_block(const StepArgs& a, int64_t i, double* sums) {
  __shared__ double warpSums[kMaxWarps * 2];
  __shared__ int nonFinite;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nWarps = blockDim.x >> 5;
  const int64_t T = a.T, D = a.D;
  const Raw* zT = static_cast<const Raw*>(state_pointer(a, T)) + i * a.stride;
  for (int64_t j = 0; j <= T; ++j) {
    const Raw* x = static_cast<const Raw*>(state_pointer(a, j)) + i * a.stride;
    if (threadIdx.x == 0) nonFinite = 0;
    double dot = 0.0, sq = 0.0;
    bool bad = false;
    __syncthreads();
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x) {
      const double v = latent_value<Raw>(x + d), z = latent_value<Raw>(zT + d);
      bad = bad || !isfinite(v);
      dot += v * z;
      sq += v * v;
    }
    if (bad) nonFinite = 1;
    dot = warp_sum_d(dot);
    sq = warp_sum_d(sq);
    if (lane == 0) {
      warpSums[2 * warp] = dot;
      warpSums[2 * warp + 1] = sq;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      double d = 0.0, q = 0.0;
      for (int w = 0; w < nWarps; ++w) {
        d += warpSums[2 * w];
        q += warpSums[2 * w + 1];
      }
      sums[2 * j] = d;
      sums[2 * j + 1] = q;
      if (nonFinite) atomicMin(&a.book->latentFlag, static_cast<unsigned long long>(i * (T + 1) + j));
    }
  }
  __syncthreads();
}

template <class Raw>
__device__ void finish_sample_block(const StepArgs& a, int64_t i) {
  const int64_t T = a.T, C = a.chunks;
  const Options& p = a.p;
  double* sums = a.sums + i * (T + 1) * 2;
  double* S = a.Sd + i * (T + 1);
  double* prod = a.prod + i * T;
  __shared__ double sumU;
  __shared__ int exact;  // 1: the float32 sums are not good enough (math::needs_exact_sums)
  if (threadIdx.x == 0) exact = 0;

  // The 2(T+1) sums of C chunk partials, a warp per sum (four sums per warp at a time, so that
  // every lane has up to four independent L2 loads in flight): lane l adds chunks l, l+32, ... in
  // order, then the lanes by the fixed shuffle tree. The order depends only on C: deterministic.
  {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nWarps = blockDim.x >> 5;
    const int64_t nSums = 2 * (T + 1);
    for (int64_t s0 = warp; s0 < nSums; s0 += 4 * nWarps) {  // warp-uniform trip count
      double acc[4] = {0.0, 0.0, 0.0, 0.0};
      for (int64_t c = lane; c < C; c += 32) {
#pragma unroll
        for (int u = 0; u < 4; ++u) {
          const int64_t s = s0 + u * nWarps;
          if (s < nSums)  // written by other blocks: skip L1
            acc[u] += __ldcg(a.part + (i * (T + 1) + s / 2) * C * 2 + (s & 1) + 2 * c);
        }
      }
#pragma unroll
      for (int u = 0; u < 4; ++u) {
        const double v = warp_sum_d(acc[u]);
        const int64_t s = s0 + u * nWarps;
        if (lane == 0 && s < nSums) sums[s] = v;
      }
    }
  }
  __syncthreads();
  // Twice at most: with the float32 sums, and once more with float64 ones where those are needed.
  for (int pass = 0;; ++pass) {
    const double sqT = sums[2 * T + 1];
    for (int64_t j = threadIdx.x; j <= T; j += blockDim.x) {
      if (pass == 0 && math::state_needs_exact_sums(sums[2 * j], sums[2 * j + 1])) exact = 1;
      S[j] = math::cosine(sums[2 * j], sums[2 * j + 1], sqT);
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      double u = 0.0, gain = 0.0;
      for (int64_t t = 0; t < T; ++t) {
        const double d = S[t + 1] - S[t];
        u += math::step_gain(d, p);
        gain += d > 0.0 ? d : 0.0;
      }
      sumU = u;
      if (pass == 0 && math::gain_needs_exact_sums(gain)) exact = 1;
    }
    __syncthreads();
    if (pass > 0 || !exact) break;  // block-uniform
    exact_sums_block<Raw>(a, i, sums);
  }
  if (a.S)
    for (int64_t j = threadIdx.x; j <= T; j += blockDim.x) a.S[i * (T + 1) + j] = static_cast<float>(S[j]);
  for (int64_t t = threadIdx.x; t < T; t += blockDim.x) {
    const double d = S[t + 1] - S[t];
    const double wb = math::raw_weight(d, sumU, p);
    prod[t] = wb * d;
    const double wt = math::step_weight(wb, T, p);
    if (a.dS) a.dS[i * T + t] = static_cast<float>(d);
    if (a.wbar) a.wbar[i * T + t] = static_cast<float>(wb);
    a.wF[i * T + t] = static_cast<float>(wt);  // the caller's stepWeights or scratch for Adv
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    double q = 0.0;
    for (int64_t t = 0; t < T; ++t) q += prod[t];
    a.qF[i] = static_cast<float>(q);  // the caller's trajectoryScore or scratch
  }
}

}  // namespace detail
}  // namespace gpu
}  // namespace otca
