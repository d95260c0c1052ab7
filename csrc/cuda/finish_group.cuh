// Stage 3 on the device, run by one block per group (the block that finished the group's last
// sample, or one block per group in the objective-only launch): A, e, lambda, the MOCA solve, c,
// f and Adv, with the otca_math.h functions the CPU backend calls, in the CPU backend's order (a
// group's members in ascending sample order). Per-objective statistics are one thread per
// objective; every member is one thread.
#pragma once

#include <cstdint>

#include "otca_math.h"
#include "step_args.cuh"

namespace otca {
namespace gpu {
namespace detail {

// Reward k of sample i at the view's step (rows = T for per-step rewards [N, T, K], else 1).
struct RewardsView {
  const void* data;
  int64_t stride;  // rows * K
  int f64;
  int64_t offset;  // t * K
  __device__ int64_t index(int64_t i, int64_t k) const { return i * stride + offset + k; }
  __device__ double operator()(int64_t i, int64_t k) const {
    const int64_t at = index(i, k);
    return f64 ? static_cast<const double*>(data)[at]
               : static_cast<double>(static_cast<const float*>(data)[at]);
  }
};

__device__ inline void finish_group_block(const StepArgs& a, int64_t b) {
  const Options& p = a.p;
  const int64_t K = a.K, N = a.N, T = a.T;
  // 32-bit (fill_objectives checks it fits): with 64-bit steps the step loop spills on sm_90
  const int steps = static_cast<int>(a.rewardRows);
  const int64_t n = group_size(a.groups, b);
  const auto member = [&](int64_t m) { return group_member(a.groups, b, m); };
  const double* weights = K <= kInlineObjectives ? a.weights : a.weightsDev;
  const double* scale = K <= kInlineObjectives ? a.scale : a.scaleDev;
  const bool batchStd = p.stdScope == StdScope::Batch;
  const bool weightedReward = p.objective == Objective::WeightedReward;
  const float* q = a.mode == kObjective ? a.qIn : a.qF;
  double* centre = a.gstat + b * (K + 1) * 2;  // [k][0] mean, [k][1] spread; k = K is R
  __shared__ math::Stats qGroup;
  // The serial statistics below read each reward and score two or three times, one dependent load
  // after another: from shared memory that costs ~30 cycles, from L2 ~300 (microseconds at G = 12,
  // tens of them for stdScope 'batch' over N = 96). So the rewards the statistics read (the
  // group's members' rows, or the whole batch's for 'batch') and the group's scores are staged here
  // when they fit; staged rows are indexed by member (group) or by sample (batch).
  __shared__ double rCache[kGroupCache];
  __shared__ float qCache[kGroupCache];
  const bool wholeBatch = batchStd && N * K <= kGroupCache;
  const int64_t rows = wholeBatch ? N : n;
  const bool rCached = rows * K <= kGroupCache, qCached = n <= kGroupCache;
  for (int64_t m = threadIdx.x; qCached && m < n; m += blockDim.x) qCache[m] = __ldcg(q + member(m));
  const auto qm = [&](int64_t m) {
    return static_cast<double>(qCached ? qCache[m] : __ldcg(q + member(m)));
  };
  // the scores' statistics before the step loop (inside it, they spill on sm_90)
  __syncthreads();
  if (threadIdx.x == blockDim.x - 1) {
    qGroup = math::stats_of(qm, n, p.stdCorrection);
    if (a.mode == kObjective)
      for (int64_t m = 0; m < n; ++m)
        if (!(fabs(qm(m)) <= math::kMaxScoreMagnitude)) {
          atomicMin(&a.book->scoreFlag, static_cast<unsigned long long>(member(m)));
          break;
        }
  }
  // per-step rewards: everything below once per step t
  for (int t = 0; t < steps; ++t) {
    const RewardsView r{a.rewards, steps * K, a.rewardsF64, t * K};
    for (int64_t x = threadIdx.x; x < rows * K; x += blockDim.x) {
      const int64_t row = x / K, k = x % K;
      const int64_t i = wholeBatch ? row : member(row);
      const double v = r(i, k);
      if (rCached) rCache[x] = v;
      if (!(fabs(v) <= math::kMaxRewardMagnitude))  // non-finite, or past the limit (NaN fails too)
        atomicMin(&a.book->rewardFlag, static_cast<unsigned long long>(r.index(i, k)));
    }
    __syncthreads();
    // member m's reward k; sample i's reward k (the batch statistics)
    const auto rm = [&](int64_t m, int64_t k) {
      if (!rCached) return r(member(m), k);
      return wholeBatch ? rCache[member(m) * K + k] : rCache[m * K + k];
    };
    const auto ri = [&](int64_t i, int64_t k) { return rCached && wholeBatch ? rCache[i * K + k] : r(i, k); };

    const auto R = [&](auto rowReward) {  // R = sum_k weight_k r_k, index order
      double s = 0.0;
      for (int64_t k = 0; k < K; ++k) s += weights[k] * rowReward(k);
      return s;
    };

    for (int64_t k = threadIdx.x; k <= K; k += blockDim.x) {
      math::Stats s;
      double spread;
      if (k < K) {
        s = math::stats_of([&](int64_t m) { return rm(m, k); }, n, p.stdCorrection);
        spread = batchStd ? math::stats_of([&](int64_t i) { return ri(i, k); }, N, p.stdCorrection).std : s.std;
      } else {
        if (!weightedReward) continue;
        s = math::stats_of([&](int64_t m) { return R([&](int64_t kk) { return rm(m, kk); }); }, n, p.stdCorrection);
        spread = batchStd ? math::stats_of([&](int64_t i) { return R([&](int64_t kk) { return ri(i, kk); }); }, N,
                                           p.stdCorrection).std
                          : s.std;
      }
      centre[2 * k] = s.mean;
      centre[2 * k + 1] = spread;
    }
    __syncthreads();

    for (int64_t m = threadIdx.x; m < n; m += blockDim.x) {
      const int64_t i = member(m), row = i * steps + t;
      double* A = a.Ad + i * K;  // this step's, read by this thread only
      for (int64_t k = 0; k < K; ++k) {
        A[k] = math::group_advantage(rm(m, k), centre[2 * k], centre[2 * k + 1], p, scale[k]);
        if (a.A) a.A[row * K + k] = static_cast<float>(A[k]);
      }
      const auto advantageOf = [&](int64_t k) { return A[k]; };
      const auto weightOf = [&](int64_t k) { return weights[k]; };
      const math::Fused fz = math::fuse_sample(
          advantageOf, K, qm(m), qGroup, weightOf,
          [&] { return math::group_advantage(R([&](int64_t k) { return rm(m, k); }), centre[2 * K], centre[2 * K + 1], p, 1.0); },
          p);
      if (a.c)
        for (int64_t k = 0; k < K; ++k)
          a.c[row * K + k] = static_cast<float>(math::fused_coefficient(fz, k, weights[k]));
      if (a.e && t == 0) a.e[i] = static_cast<float>(fz.e);
      if (a.lam) a.lam[row] = static_cast<float>(fz.lam);
      if (p.fusedNormalization == FusedNormalization::None) {
        const float f = static_cast<float>(math::final_fused(fz.f, math::Stats{}, p));
        if (a.f) a.f[row] = f;
        a.fF[row] = f;
      } else {
        a.fD[row] = fz.f;
      }
    }
    if (p.fusedNormalization == FusedNormalization::Group) {
      __shared__ math::Stats fGroup;
      __syncthreads();
      if (threadIdx.x == 0)
        fGroup = math::stats_of([&](int64_t m) { return a.fD[member(m) * steps + t]; }, n, p.stdCorrection);
      __syncthreads();
      for (int64_t m = threadIdx.x; m < n; m += blockDim.x) {
        const int64_t row = member(m) * steps + t;
        const float f = static_cast<float>(math::final_fused(a.fD[row], fGroup, p));
        if (a.f) a.f[row] = f;
        a.fF[row] = f;
      }
    }
    if (steps > 1) __syncthreads();  // the next step restages the rewards and the statistics
  }
  // fusedNormalization 'batch': the batch's last group finishes every f and Adv (finish_batch_block)
  if (p.fusedNormalization == FusedNormalization::Batch) return;
  if (!a.adv) return;
  __syncthreads();
  for (int64_t x = threadIdx.x; x < n * T; x += blockDim.x) {
    const int64_t m = x / T, t = x - m * T;
    const int64_t i = member(m);
    a.adv[i * T + t] = math::effective_advantage(__ldcg(a.wF + i * T + t), a.fF[i * steps + (steps > 1 ? t : 0)]);
  }
}

// fusedNormalization 'batch', run by the block that finished the batch's last group: the batch's
// statistics of f in sample order (as the CPU backend sums them), per step, then every f and Adv.
__device__ inline void finish_batch_block(const StepArgs& a) {
  const Options& p = a.p;
  const int64_t N = a.N, T = a.T, steps = a.rewardRows;
  __shared__ math::Stats fBatch;
  for (int64_t t = 0; t < steps; ++t) {
    if (threadIdx.x == 0)
      fBatch = math::stats_of([&](int64_t i) { return __ldcg(a.fD + i * steps + t); }, N, p.stdCorrection);
    __syncthreads();
    for (int64_t i = threadIdx.x; i < N; i += blockDim.x) {
      const float f = static_cast<float>(math::final_fused(__ldcg(a.fD + i * steps + t), fBatch, p));
      if (a.f) a.f[i * steps + t] = f;
      a.fF[i * steps + t] = f;
    }
    __syncthreads();
  }
  if (!a.adv) return;
  for (int64_t x = threadIdx.x; x < N * T; x += blockDim.x) {
    const int64_t i = x / T, t = x - i * T;
    a.adv[x] = math::effective_advantage(__ldcg(a.wF + x), a.fF[i * steps + (steps > 1 ? t : 0)]);
  }
}

}  // namespace detail
}  // namespace gpu
}  // namespace otca
