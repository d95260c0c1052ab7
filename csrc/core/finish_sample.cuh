// Stage 2 on the device, run by the last block of sample i to finish its chunks: the chunk
// partials added in float64 (a fixed tree that depends only on the chunk count), then S, dS,
// wbar, w and q.
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
#include "timeline.cuh"

namespace otca {
namespace gpu {
namespace detail {

__device__ void finish_sample_block(const StepArgs& a, int64_t i) {
  const int64_t T = a.T, C = a.chunks;
  const math::Params& p = a.p;
  double* sums = a.sums + i * (T + 1) * 2;
  double* S = a.Sd + i * (T + 1);
  double* prod = a.prod + i * T;
  __shared__ double sumU;
  if (threadIdx.x == 0) stamp(a, kTlSampleStart);

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
  const double sqT = sums[2 * T + 1];
  OTCA_ROLLED for (int64_t j = threadIdx.x; j <= T; j += blockDim.x) {
    S[j] = math::cosine(sums[2 * j], sums[2 * j + 1], sqT);
    if (a.S) a.S[i * (T + 1) + j] = static_cast<float>(S[j]);
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    double u = 0.0;
    OTCA_ROLLED for (int64_t t = 0; t < T; ++t) {
      u += math::step_gain(S[t + 1] - S[t], p);
    }
    sumU = u;
  }
  __syncthreads();
  OTCA_ROLLED for (int64_t t = threadIdx.x; t < T; t += blockDim.x) {
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
    OTCA_ROLLED for (int64_t t = 0; t < T; ++t) q += prod[t];
    a.qF[i] = static_cast<float>(q);  // the caller's trajectoryScore or scratch
    stamp(a, kTlSampleEnd);
  }
}

}  // namespace detail
}  // namespace gpu
}  // namespace otca
