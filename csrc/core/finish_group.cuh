// Stage 3 on the device, run by one block per group (the block that finished the group's last
// sample, or one block per group in the objective-only launch): A, e, lambda, the MOCA solve, c,
// f and Adv, with the otca_math.h functions the CPU backend calls, in the CPU backend's order.
// Per-objective statistics are one thread per objective; every sample is one thread.
#pragma once

#include <cstdint>

#include "otca_math.h"
#include "step_args.cuh"

namespace otca {
namespace gpu {
namespace detail {

struct RewardsView {
  const void* data;
  int64_t K;
  int f64;
  __device__ double operator()(int64_t i, int64_t k) const {
    const int64_t at = i * K + k;
    return f64 ? static_cast<const double*>(data)[at]
               : static_cast<double>(static_cast<const float*>(data)[at]);
  }
};

__device__ void finish_group_block(const StepArgs& a, int64_t b) {
  const math::Params& p = a.p;
  const int64_t K = a.K, G = a.G, N = a.N, T = a.T;
  const int64_t begin = b * G, end = begin + G;
  const RewardsView r{a.rewards, K, a.rewardsF64};
  const double* weights = K <= kInlineObjectives ? a.weights : a.weightsDev;
  const double* scale = K <= kInlineObjectives ? a.scale : a.scaleDev;
  const bool batchStd = p.stdScope == 1;
  const bool weightedReward = p.objective == 3;
  const float* q = a.mode == kObjective ? a.qIn : a.qF;
  double* centre = a.gstat + b * (K + 1) * 2;  // [k][0] mean, [k][1] spread; k = K is R
  __shared__ math::Stats qGroup;

  const auto R = [&](int64_t i) {  // R_i = sum_k weight_k r_ik, index order
    double s = 0.0;
    for (int64_t k = 0; k < K; ++k) s += weights[k] * r(i, k);
    return s;
  };

  for (int64_t x = threadIdx.x; x < G * K; x += blockDim.x) {
    const int64_t i = begin + x / K, k = x % K;
    if (!isfinite(r(i, k))) atomicMin(&a.book->rewardFlag, static_cast<unsigned long long>(i * K + k));
  }
  for (int64_t k = threadIdx.x; k <= K; k += blockDim.x) {
    math::Stats s;
    double spread;
    if (k < K) {
      const auto rk = [&](int64_t i) { return r(i, k); };
      s = math::stats_of(rk, begin, end, p.stdCorrection);
      spread = batchStd ? math::stats_of(rk, 0, N, p.stdCorrection).std : s.std;
    } else {
      if (!weightedReward) continue;
      s = math::stats_of(R, begin, end, p.stdCorrection);
      spread = batchStd ? math::stats_of(R, 0, N, p.stdCorrection).std : s.std;
    }
    centre[2 * k] = s.mean;
    centre[2 * k + 1] = spread;
  }
  if (threadIdx.x == blockDim.x - 1) {
    const auto qi = [&](int64_t i) { return static_cast<double>(__ldcg(q + i)); };
    qGroup = math::stats_of(qi, begin, end, p.stdCorrection);
    if (a.mode == kObjective)
      for (int64_t i = begin; i < end; ++i)
        if (!isfinite(qi(i))) {
          atomicMin(&a.book->scoreFlag, static_cast<unsigned long long>(i));
          break;
        }
  }
  __syncthreads();

  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    double* A = a.Ad + i * K;
    for (int64_t k = 0; k < K; ++k) {
      A[k] = math::group_advantage(r(i, k), centre[2 * k], centre[2 * k + 1], p, scale[k]);
      if (a.A) a.A[i * K + k] = static_cast<float>(A[k]);
    }
    const auto advantageOf = [&](int64_t k) { return A[k]; };
    const double e = math::exploration(static_cast<double>(__ldcg(q + i)), qGroup, p);
    const double lam = p.objective == 0 ? math::moca_lambda(advantageOf, K, e, p) : 0.0;
    const bool solved = p.objective == 0 || p.objective == 1;
    math::Solve solve;
    double f = 0.0;
    if (solved) {
      solve = math::moca_solve(advantageOf, K, lam, p.epsSolver);
      f = solve.f;
    } else if (!weightedReward) {
      for (int64_t k = 0; k < K; ++k) f += weights[k] * A[k];
    } else {
      f = math::group_advantage(R(i), centre[2 * K], centre[2 * K + 1], p, 1.0);
    }
    if (a.c)
      for (int64_t k = 0; k < K; ++k)
        a.c[i * K + k] = static_cast<float>(solved ? math::solve_coefficient(solve, k) : weights[k]);
    if (a.e) a.e[i] = static_cast<float>(e);
    if (a.lam) a.lam[i] = static_cast<float>(lam);
    if (a.f) a.f[i] = static_cast<float>(f);
    a.fF[i] = static_cast<float>(f);
  }
  if (!a.adv) return;
  __syncthreads();
  for (int64_t x = threadIdx.x; x < G * T; x += blockDim.x) {
    const int64_t i = begin + x / T;
    a.adv[begin * T + x] = math::effective_advantage(__ldcg(a.wF + begin * T + x), a.fF[i]);
  }
}

}  // namespace detail
}  // namespace gpu
}  // namespace otca
