// The CPU backend: checks, the latent reduction (cosine_partials_cpu.cpp), then the float64 math
// of otca_math.h per sample (finish_samples) and per group (finish_groups).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "cosine_partials_cpu.h"
#include "internal.h"
#include "otca.h"
#include "otca_math.h"
#include "thread_pool.h"

#if (defined(__GNUC__) || defined(__clang__)) && defined(__SSE2__)
#include <emmintrin.h>
#define OTCA_SSE2_PROBE 1
#endif

namespace otca {
namespace cpu {

int default_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

namespace {

// Below this many latent bytes the calling thread alone is faster than waking helpers.
constexpr double kSerialBytes = 1 << 20;

using detail::params_of;

[[noreturn]] void range_error(const std::string& expected, const char* what, const std::string& got) {
  detail::throw_range(expected, what, got);
}

using detail::check_latents_shape;

double reward_at(const Rewards& rew, int64_t i, int64_t k) {
  const int64_t at = i * rew.K + k;
  return rew.dtype == DType::Float64 ? static_cast<const double*>(rew.data)[at]
                                     : static_cast<double>(static_cast<const float*>(rew.data)[at]);
}

// Shapes, then every value (first sample i, then objective k), before any work.
void check_rewards(const Rewards& rew, int64_t groupSize) {
  detail::check_rewards_shape(rew, groupSize);
  for (int64_t i = 0; i < rew.N; ++i) {
    for (int64_t k = 0; k < rew.K; ++k) {
      const double v = reward_at(rew, i, k);
      if (!detail::reward_ok(v)) detail::throw_bad_reward(v, i, k);
    }
  }
}

void check_trajectory_score(const float* q, int64_t N) {
  if (N > 0 && !q) range_error("a buffer", "trajectoryScore", "none");
  for (int64_t i = 0; i < N; ++i)
    if (!detail::score_ok(q[i])) detail::throw_bad_score(q[i], i);
}

// More threads than the machine runs at once only add pool threads that stay parked for the life
// of the process (the pool never shrinks): the count is capped at the hardware concurrency.
int threads_for(const Options& opt, double bytes) {
  if (bytes < kSerialBytes) return 1;
  const int all = default_threads();
  return opt.threads > 0 && opt.threads < all ? opt.threads : all;
}

// Phase 1 after the reduction: each sample from its T+1 (dot, sq) pairs.
void finish_samples(const Latents& lat, const double* dot, const double* sq, const math::Params& p,
                    const TrajectoryOutputs& out) {
  const int64_t T = lat.T;
  for (int64_t i = 0; i < lat.N; ++i) {
    const double q = math::finish_sample(
        dot + i * (T + 1), sq + i * (T + 1), T, p,
        out.similarity ? out.similarity + i * (T + 1) : nullptr,
        out.deltaS ? out.deltaS + i * T : nullptr, out.rawWeights ? out.rawWeights + i * T : nullptr,
        out.stepWeights ? out.stepWeights + i * T : nullptr);
    if (out.trajectoryScore) out.trajectoryScore[i] = static_cast<float>(q);
  }
}

void trajectory_unchecked(const Latents& lat, const Options& opt, const TrajectoryOutputs& out) {
  if (lat.N == 0) return;
  const size_t pairs = static_cast<size_t>(lat.N * (lat.T + 1));
  std::vector<double> dot(pairs), sq(pairs);
  const double bytes = static_cast<double>(lat.N) * static_cast<double>(lat.T + 1) *
                       static_cast<double>(lat.D) * static_cast<double>(dtype_size(lat.dtype));
  cosine_partials(lat, threads_for(opt, bytes), dot.data(), sq.data());
  finish_samples(lat, dot.data(), sq.data(), params_of(opt), out);
}

// Phase 2: per group, the per-objective statistics once, then every sample of the group.
void finish_groups(const Rewards& rew, const float* q, int64_t groupSize, const Options& opt,
                   const ObjectiveOutputs& out) {
  const math::Params p = params_of(opt);
  const int64_t N = rew.N, K = rew.K, G = groupSize;
  const bool batchStd = opt.stdScope == StdScope::Batch;
  const auto weight = [&](int64_t k) { return opt.objectiveWeights ? opt.objectiveWeights[k] : 1.0; };
  const auto scale = [&](int64_t k) { return opt.objectiveScale ? opt.objectiveScale[k] : 1.0; };
  const auto weightedReward = [&](int64_t i) {  // R_i = sum_k weight_k r_ik, index order
    double s = 0.0;
    for (int64_t k = 0; k < K; ++k) s += weight(k) * reward_at(rew, i, k);
    return s;
  };
  const auto trajectoryScore = [&](int64_t i) { return static_cast<double>(q[i]); };

  // stdScope 'batch': the spread of each objective (and of R) over the whole batch, once
  std::vector<double> batchSpread(K, 0.0);
  double batchSpreadR = 0.0;
  if (batchStd) {
    for (int64_t k = 0; k < K; ++k)
      batchSpread[k] = math::stats_of([&](int64_t i) { return reward_at(rew, i, k); }, 0, N,
                                      p.stdCorrection).std;
    if (opt.objective == Objective::WeightedReward)
      batchSpreadR = math::stats_of(weightedReward, 0, N, p.stdCorrection).std;
  }

  std::vector<double> centre(K), spread(K), A(K);
  const auto advantageOf = [&](int64_t k) { return A[k]; };
  for (int64_t begin = 0; begin < N; begin += G) {
    const int64_t end = begin + G;
    for (int64_t k = 0; k < K; ++k) {
      const math::Stats s =
          math::stats_of([&](int64_t i) { return reward_at(rew, i, k); }, begin, end, p.stdCorrection);
      centre[k] = s.mean;
      spread[k] = batchStd ? batchSpread[k] : s.std;
    }
    const math::Stats qGroup = math::stats_of(trajectoryScore, begin, end, p.stdCorrection);
    math::Stats rGroup;
    if (opt.objective == Objective::WeightedReward) {
      rGroup = math::stats_of(weightedReward, begin, end, p.stdCorrection);
      if (batchStd) rGroup.std = batchSpreadR;
    }

    for (int64_t i = begin; i < end; ++i) {
      for (int64_t k = 0; k < K; ++k)
        A[k] = math::group_advantage(reward_at(rew, i, k), centre[k], spread[k], p, scale(k));
      const math::Fused fz = math::fuse_sample(
          advantageOf, K, trajectoryScore(i), qGroup, weight,
          [&] { return math::group_advantage(weightedReward(i), rGroup.mean, rGroup.std, p, 1.0); }, p);

      if (out.objectiveAdvantages)
        for (int64_t k = 0; k < K; ++k) out.objectiveAdvantages[i * K + k] = static_cast<float>(A[k]);
      if (out.coefficients)
        for (int64_t k = 0; k < K; ++k)
          out.coefficients[i * K + k] =
              static_cast<float>(math::fused_coefficient(fz, k, weight(k)));
      if (out.exploration) out.exploration[i] = static_cast<float>(fz.e);
      if (out.lambda) out.lambda[i] = static_cast<float>(fz.lam);
      if (out.fused) out.fused[i] = static_cast<float>(fz.f);
    }
  }
}

}  // namespace

void trajectory_credit(const Latents& lat, const Options& opt, const TrajectoryOutputs& out) {
  check_options(opt, 0);
  check_latents_shape(lat);
  trajectory_unchecked(lat, opt, out);
}

void objective_credit(const Rewards& rew, const float* trajectoryScore, int64_t groupSize,
                      const Options& opt, const ObjectiveOutputs& out) {
  check_options(opt, rew.K);
  check_rewards(rew, groupSize);
  check_trajectory_score(trajectoryScore, rew.N);
  finish_groups(rew, trajectoryScore, groupSize, opt, out);
}

void advantages(const Latents& lat, const Rewards& rew, int64_t groupSize, const Options& opt,
                const AllOutputs& out) {
  check_options(opt, rew.K);
  check_latents_shape(lat);
  if (rew.N != lat.N)
    range_error(std::to_string(lat.N) + " samples (as latents)", "rewards", std::to_string(rew.N));
  check_rewards(rew, groupSize);
  const int64_t N = lat.N, T = lat.T;

  // w, q and f are needed for Adv even where the caller did not ask for them
  TrajectoryOutputs traj = out.trajectory;
  ObjectiveOutputs obj = out.objective;
  std::vector<float> wBuffer, qBuffer, fBuffer;
  if (out.advantages && !traj.stepWeights) {
    wBuffer.resize(static_cast<size_t>(N * T));
    traj.stepWeights = wBuffer.data();
  }
  if (!traj.trajectoryScore) {
    qBuffer.resize(static_cast<size_t>(N));
    traj.trajectoryScore = qBuffer.data();
  }
  if (out.advantages && !obj.fused) {
    fBuffer.resize(static_cast<size_t>(N));
    obj.fused = fBuffer.data();
  }

  trajectory_unchecked(lat, opt, traj);
  finish_groups(rew, traj.trajectoryScore, groupSize, opt, obj);  // reads q as float32, like phase 2
  if (out.advantages)
    for (int64_t i = 0; i < N; ++i)
      for (int64_t t = 0; t < T; ++t)
        out.advantages[i * T + t] = math::effective_advantage(traj.stepWeights[i * T + t], obj.fused[i]);
}

// ---------------------------------------------------------------- the bandwidth probe

namespace {

// Folds n bytes with 16-byte loads into four independent accumulators (add and xor, so the
// loads stay live and the loop is not latency-bound).
uint64_t fold_bytes(const unsigned char* p, size_t n) {
  uint64_t fold = 0;
  size_t at = 0;
#ifdef OTCA_SSE2_PROBE
  __m128i a0 = _mm_setzero_si128(), a1 = a0, a2 = a0, a3 = a0;
  for (; at + 64 <= n; at += 64) {
    a0 = _mm_add_epi64(a0, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + at)));
    a1 = _mm_xor_si128(a1, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + at + 16)));
    a2 = _mm_add_epi64(a2, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + at + 32)));
    a3 = _mm_xor_si128(a3, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + at + 48)));
  }
  alignas(16) uint64_t lanes[2];
  _mm_store_si128(reinterpret_cast<__m128i*>(lanes), _mm_xor_si128(_mm_add_epi64(a0, a1), _mm_add_epi64(a2, a3)));
  fold = lanes[0] ^ (lanes[1] * 31);
#else
  uint64_t a[8] = {};
  for (; at + 64 <= n; at += 64) {
    uint64_t v[8];
    std::memcpy(v, p + at, 64);
    for (int l = 0; l < 8; ++l) a[l] = (l & 1) ? (a[l] ^ v[l]) : (a[l] + v[l]);
  }
  for (int l = 0; l < 8; ++l) fold = fold * 31 + a[l];
#endif
  for (; at < n; ++at) fold = fold * 31 + p[at];
  return fold;
}

}  // namespace

uint64_t read_probe(const void* data, size_t bytes, int threads) {
  if (!data || bytes == 0) return 0;
  constexpr size_t kSlice = size_t(1) << 20;
  const int64_t slices = static_cast<int64_t>((bytes + kSlice - 1) / kSlice);
  std::vector<uint64_t> folds(static_cast<size_t>(slices));
  const auto* base = static_cast<const unsigned char*>(data);
  const int all = default_threads();
  pool::parallel_for(slices, threads > 0 && threads < all ? threads : all, [&](int64_t s, int) {
    const size_t at = static_cast<size_t>(s) * kSlice;
    folds[static_cast<size_t>(s)] = fold_bytes(base + at, std::min(kSlice, bytes - at));
  });
  uint64_t fold = 0;
  for (uint64_t f : folds) fold = fold * 1099511628211ull ^ f;
  return fold;
}

}  // namespace cpu
}  // namespace otca
