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

#ifdef OTCA_NO_INT64_DIV
// x = first, first + step, first + 2 step, ... as (x / d, x % d) for first, step < 2^31: at most one
// 32-bit division at the start instead of a 64-bit division (a ~70-instruction routine) per step.
// An experiment for the next device run (bench/NOTES.md section 7); off in the addon.
struct DivCursor {
  int64_t q, r, d, dq, dr;
  __device__ DivCursor(unsigned int first, unsigned int step, int64_t divisor) : d(divisor) {
    if (divisor > 0x7fffffff) {  // first and step are below it
      q = 0; r = first; dq = 0; dr = step;
    } else {
      const unsigned int dd = static_cast<unsigned int>(divisor);
      q = first / dd; r = first % dd; dq = step / dd; dr = step % dd;
    }
  }
  __device__ void next() {
    q += dq;
    r += dr;
    if (r >= d) { r -= d; ++q; }
  }
};
#endif

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
  // The serial statistics below read each reward and score two or three times, one dependent load
  // after another: from shared memory that costs ~30 cycles, from L2 ~300 (microseconds at G = 12,
  // tens of them for stdScope 'batch' over N = 96). So the rewards the statistics read (the
  // group's, or the whole batch's for 'batch') and the group's scores are staged here when they fit.
  __shared__ double rCache[kGroupCache];
  __shared__ float qCache[kGroupCache];
  int64_t cBegin = begin, cEnd = end;
  if (batchStd && N * K <= kGroupCache) {
    cBegin = 0;
    cEnd = N;
  }
  const bool rCached = (cEnd - cBegin) * K <= kGroupCache, qCached = G <= kGroupCache;
#ifdef OTCA_NO_INT64_DIV
  DivCursor ik(threadIdx.x, blockDim.x, K);
  OTCA_ROLLED for (int64_t x = threadIdx.x; x < (cEnd - cBegin) * K; x += blockDim.x, ik.next()) {
    const int64_t i = cBegin + ik.q, k = ik.r;
#else
  OTCA_ROLLED for (int64_t x = threadIdx.x; x < (cEnd - cBegin) * K; x += blockDim.x) {
    const int64_t i = cBegin + x / K, k = x % K;
#endif
    const double v = r(i, k);
    if (rCached) rCache[x] = v;
    if (!(fabs(v) <= math::kMaxRewardMagnitude))  // non-finite, or past the limit (NaN fails too)
      atomicMin(&a.book->rewardFlag, static_cast<unsigned long long>(i * K + k));
  }
  OTCA_ROLLED for (int64_t x = threadIdx.x; qCached && x < G; x += blockDim.x) qCache[x] = __ldcg(q + begin + x);
  __syncthreads();
  const auto rg = [&](int64_t i, int64_t k) {
    return rCached && i >= cBegin && i < cEnd ? rCache[(i - cBegin) * K + k] : r(i, k);
  };
  const auto qg = [&](int64_t i) {
    return static_cast<double>(qCached ? qCache[i - begin] : __ldcg(q + i));
  };

  const auto R = [&](int64_t i) {  // R_i = sum_k weight_k r_ik, index order
    double s = 0.0;
    OTCA_ROLLED for (int64_t k = 0; k < K; ++k) s += weights[k] * rg(i, k);
    return s;
  };

  OTCA_ROLLED for (int64_t k = threadIdx.x; k <= K; k += blockDim.x) {
    math::Stats s;
    double spread;
    if (k < K) {
      const auto rk = [&](int64_t i) { return rg(i, k); };
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
    qGroup = math::stats_of(qg, begin, end, p.stdCorrection);
    if (a.mode == kObjective)
      OTCA_ROLLED for (int64_t i = begin; i < end; ++i)
        if (!(fabs(qg(i)) <= math::kMaxScoreMagnitude)) {
          atomicMin(&a.book->scoreFlag, static_cast<unsigned long long>(i));
          break;
        }
  }
  __syncthreads();

  OTCA_ROLLED for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    double* A = a.Ad + i * K;
    OTCA_ROLLED for (int64_t k = 0; k < K; ++k) {
      A[k] = math::group_advantage(rg(i, k), centre[2 * k], centre[2 * k + 1], p, scale[k]);
      if (a.A) a.A[i * K + k] = static_cast<float>(A[k]);
    }
    const auto advantageOf = [&](int64_t k) { return A[k]; };
    const auto weightOf = [&](int64_t k) { return weights[k]; };
    const math::Fused fz = math::fuse_sample(
        advantageOf, K, qg(i), qGroup, weightOf,
        [&] { return math::group_advantage(R(i), centre[2 * K], centre[2 * K + 1], p, 1.0); }, p);
    if (a.c)
      OTCA_ROLLED for (int64_t k = 0; k < K; ++k)
        a.c[i * K + k] = static_cast<float>(math::fused_coefficient(fz, k, weights[k]));
    if (a.e) a.e[i] = static_cast<float>(fz.e);
    if (a.lam) a.lam[i] = static_cast<float>(fz.lam);
    if (a.f) a.f[i] = static_cast<float>(fz.f);
    a.fF[i] = static_cast<float>(fz.f);
  }
  if (!a.adv) return;
  __syncthreads();
#ifdef OTCA_NO_INT64_DIV
  DivCursor it(threadIdx.x, blockDim.x, T);
  OTCA_ROLLED for (int64_t x = threadIdx.x; x < G * T; x += blockDim.x, it.next()) {
    const int64_t i = begin + it.q;
#else
  OTCA_ROLLED for (int64_t x = threadIdx.x; x < G * T; x += blockDim.x) {
    const int64_t i = begin + x / T;
#endif
    a.adv[begin * T + x] = math::effective_advantage(__ldcg(a.wF + begin * T + x), a.fF[i]);
  }
}

}  // namespace detail
}  // namespace gpu
}  // namespace otca
