// The CPU backend: checks, the latent reduction (cosine_partials.cpp), then the float64 math of
// otca_math.h per sample (finish_samples) and per group (finish_groups).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cosine_partials.h"
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

struct Workspace {
  Reduction reduction;                     // the reduction's partial sums
  std::vector<double> dot, sq;             // [N][T+1]
  std::vector<float> w, q, f;              // w [N][T], q and f [N] where the caller asked for none
  std::vector<double> centre, spread, A;   // [K+1]: one group's statistics, one sample's A
  std::vector<double> batchSpread;         // [K+1]: stdScope 'batch'
  std::vector<double> fused;               // [N]: f before the fused normalisation
};

Workspace* workspace_create() { return new Workspace(); }
void workspace_destroy(Workspace* w) noexcept { delete w; }

namespace {

// Below this many latent bytes the calling thread alone is faster than waking helpers.
constexpr double kSerialBytes = 1 << 20;

[[noreturn]] void range_error(const std::string& expected, const char* what, const std::string& got) {
  detail::throw_range(expected, what, got);
}

using detail::check_latents_shape;

// A vector of at least n elements: grown, never shrunk, so a plan's repeated calls allocate nothing.
template <class T>
T* at_least(std::vector<T>& v, int64_t n) {
  if (v.size() < static_cast<size_t>(n)) v.resize(static_cast<size_t>(n));
  return v.data();
}

// Reward k of sample i at step t (t = 0 for per-sample rewards).
double reward_at(const Rewards& rew, int64_t i, int64_t t, int64_t k) {
  const int64_t at = (i * reward_rows(rew) + t) * rew.K + k;
  return rew.dtype == DType::Float64 ? static_cast<const double*>(rew.data)[at]
                                     : static_cast<double>(static_cast<const float*>(rew.data)[at]);
}

// Shapes, then every value (first sample i, then step t, then objective k), before any work.
void check_rewards(const Rewards& rew, const Groups& groups) {
  detail::check_rewards_shape(rew);
  detail::check_groups(groups, rew.N);
  const int64_t rows = reward_rows(rew);
  for (int64_t i = 0; i < rew.N; ++i) {
    for (int64_t t = 0; t < rows; ++t) {
      for (int64_t k = 0; k < rew.K; ++k) {
        const double v = reward_at(rew, i, t, k);
        if (!detail::reward_ok(v)) detail::throw_bad_reward_at(rew, v, (i * rows + t) * rew.K + k);
      }
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
void finish_samples(const Latents& lat, const double* dot, const double* sq, const Options& p,
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

void trajectory_unchecked(const Latents& lat, const Options& opt, const TrajectoryOutputs& out, Workspace& w) {
  if (lat.N == 0) return;
  const int64_t pairs = lat.N * (lat.T + 1);
  double* dot = at_least(w.dot, pairs);
  double* sq = at_least(w.sq, pairs);
  const double bytes = static_cast<double>(lat.N) * static_cast<double>(lat.T + 1) *
                       static_cast<double>(lat.D) * static_cast<double>(dtype_size(lat.dtype));
  cosine_partials(lat, threads_for(opt, bytes), dot, sq, w.reduction);
  finish_samples(lat, dot, sq, opt, out);
}

// Phase 2: per group, the per-objective statistics once, then every member of the group; with
// per-step rewards, all of it once per step (e from the per-sample q, the same at every step).
void finish_groups(const Rewards& rew, const float* q, const Groups& groups, const Options& p,
                   const ObjectiveFactors& factors, const ObjectiveOutputs& out, Workspace& w) {
  const int64_t N = rew.N, K = rew.K, rows = reward_rows(rew);
  const bool batchStd = p.stdScope == StdScope::Batch;
  const bool weightedReward = p.objective == Objective::WeightedReward;
  const auto weight = [&](int64_t k) { return factors.weights ? factors.weights[k] : 1.0; };
  const auto scale = [&](int64_t k) { return factors.scale ? factors.scale[k] : 1.0; };

  double* batchSpread = at_least(w.batchSpread, K + 1);
  double* centre = at_least(w.centre, K + 1);
  double* spread = at_least(w.spread, K + 1);
  double* A = at_least(w.A, K);
  const bool normalised = p.fusedNormalization != FusedNormalization::None;
  double* fused = normalised ? at_least(w.fused, N) : nullptr;
  const auto advantageOf = [&](int64_t k) { return A[k]; };
  for (int64_t t = 0; t < rows; ++t) {
    const auto r = [&](int64_t i, int64_t k) { return reward_at(rew, i, t, k); };
    const auto R = [&](int64_t i) {  // R_i = sum_k weight_k r_ik, index order
      double s = 0.0;
      for (int64_t k = 0; k < K; ++k) s += weight(k) * r(i, k);
      return s;
    };
    const auto out_row = [&](int64_t i) { return i * rows + t; };

    // stdScope 'batch': the spread of each objective (and of R, slot K) over the whole batch, once
    if (batchStd) {
      for (int64_t k = 0; k < K; ++k)
        batchSpread[k] = math::stats_of([&](int64_t i) { return r(i, k); }, N, p.stdCorrection).std;
      if (weightedReward) batchSpread[K] = math::stats_of(R, N, p.stdCorrection).std;
    }

    for (int64_t b = 0; b < groups.count; ++b) {
      const int64_t n = group_size(groups, b);
      const auto member = [&](int64_t m) { return group_member(groups, b, m); };
      for (int64_t k = 0; k < K; ++k) {
        const math::Stats s = math::stats_of([&](int64_t m) { return r(member(m), k); }, n, p.stdCorrection);
        centre[k] = s.mean;
        spread[k] = batchStd ? batchSpread[k] : s.std;
      }
      const math::Stats qGroup =
          math::stats_of([&](int64_t m) { return static_cast<double>(q[member(m)]); }, n, p.stdCorrection);
      if (weightedReward) {
        const math::Stats s = math::stats_of([&](int64_t m) { return R(member(m)); }, n, p.stdCorrection);
        centre[K] = s.mean;
        spread[K] = batchStd ? batchSpread[K] : s.std;
      }

      for (int64_t m = 0; m < n; ++m) {
        const int64_t i = member(m), row = out_row(i);
        for (int64_t k = 0; k < K; ++k) A[k] = math::group_advantage(r(i, k), centre[k], spread[k], p, scale(k));
        const math::Fused fz = math::fuse_sample(
            advantageOf, K, static_cast<double>(q[i]), qGroup, weight,
            [&] { return math::group_advantage(R(i), centre[K], spread[K], p, 1.0); }, p);

        if (out.objectiveAdvantages)
          for (int64_t k = 0; k < K; ++k) out.objectiveAdvantages[row * K + k] = static_cast<float>(A[k]);
        if (out.coefficients)
          for (int64_t k = 0; k < K; ++k)
            out.coefficients[row * K + k] = static_cast<float>(math::fused_coefficient(fz, k, weight(k)));
        if (out.exploration && t == 0) out.exploration[i] = static_cast<float>(fz.e);
        if (out.lambda) out.lambda[row] = static_cast<float>(fz.lam);
        if (normalised) fused[i] = fz.f;
        else if (out.fused) out.fused[row] = static_cast<float>(math::final_fused(fz.f, math::Stats{}, p));
      }
      if (p.fusedNormalization == FusedNormalization::Group) {
        const math::Stats fGroup = math::stats_of([&](int64_t m) { return fused[member(m)]; }, n, p.stdCorrection);
        for (int64_t m = 0; out.fused && m < n; ++m)
          out.fused[out_row(member(m))] = static_cast<float>(math::final_fused(fused[member(m)], fGroup, p));
      }
    }
    if (p.fusedNormalization == FusedNormalization::Batch) {  // every f of the step first, in sample order
      const math::Stats fBatch = math::stats_of([&](int64_t i) { return fused[i]; }, N, p.stdCorrection);
      for (int64_t i = 0; out.fused && i < N; ++i)
        out.fused[out_row(i)] = static_cast<float>(math::final_fused(fused[i], fBatch, p));
    }
  }
}

// The caller's workspace, or one for this call only.
struct WorkspaceFor {
  std::unique_ptr<Workspace> own;
  Workspace* w;
  explicit WorkspaceFor(Workspace* given) : own(given ? nullptr : new Workspace()), w(given ? given : own.get()) {}
};

}  // namespace

void trajectory_credit(const Latents& lat, const Options& opt, const TrajectoryOutputs& out, Workspace* workspace) {
  check_options(opt, ObjectiveFactors{}, 0);
  check_latents_shape(lat);
  WorkspaceFor w(workspace);
  trajectory_unchecked(lat, opt, out, *w.w);
}

void objective_credit(const Rewards& rew, const float* trajectoryScore, const Groups& groups, const Options& opt,
                      const ObjectiveFactors& factors, const ObjectiveOutputs& out, Workspace* workspace) {
  check_options(opt, factors, rew.K);
  check_rewards(rew, groups);
  check_trajectory_score(trajectoryScore, rew.N);
  WorkspaceFor w(workspace);
  finish_groups(rew, trajectoryScore, groups, opt, factors, out, *w.w);
}

void advantages(const Latents& lat, const Rewards& rew, const Groups& groups, const Options& opt,
                const ObjectiveFactors& factors, const AllOutputs& out, Workspace* workspace) {
  check_options(opt, factors, rew.K);
  check_latents_shape(lat);
  if (rew.N != lat.N)
    range_error(std::to_string(lat.N) + " samples (as latents)", "rewards", std::to_string(rew.N));
  if (rew.T != 0 && rew.T != lat.T)
    range_error(std::to_string(lat.T) + " steps (as latents)", "rewards", std::to_string(rew.T));
  check_rewards(rew, groups);
  WorkspaceFor ws(workspace);
  Workspace& w = *ws.w;
  const int64_t N = lat.N, T = lat.T;

  // w, q and f are needed for Adv even where the caller did not ask for them
  TrajectoryOutputs traj = out.trajectory;
  ObjectiveOutputs obj = out.objective;
  if (out.advantages && !traj.stepWeights) traj.stepWeights = at_least(w.w, N * T);
  if (!traj.trajectoryScore) traj.trajectoryScore = at_least(w.q, N);
  const int64_t rows = reward_rows(rew);
  if (out.advantages && !obj.fused) obj.fused = at_least(w.f, N * rows);

  trajectory_unchecked(lat, opt, traj, w);
  finish_groups(rew, traj.trajectoryScore, groups, opt, factors, obj, w);  // reads q as float32, like phase 2
  if (out.advantages)
    for (int64_t i = 0; i < N; ++i)
      for (int64_t t = 0; t < T; ++t)
        out.advantages[i * T + t] = math::effective_advantage(traj.stepWeights[i * T + t], obj.fused[i * rows + (rows > 1 ? t : 0)]);
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
