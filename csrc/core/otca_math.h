// The OTCA math after the latent reduction, written once for both backends.
// Every function here is __host__ __device__ under nvcc and plain inline C++ elsewhere, so the CPU
// tests run the very lines the GPU runs. All arithmetic is float64 and every sum runs in index
// order, the same order as lib/reference.ts, so native results differ from the reference only by
// the float32 latent reduction and the float32 rounding of the outputs.
#pragma once

#include <cmath>
#include <cstdint>

#include "options.h"
#include "otca_hd.h"

namespace otca {
namespace math {

OTCA_HD double clampd(double x, double lo, double hi) { return x < lo ? lo : (x > hi ? hi : x); }

// ------------------------------------------------------------------ TCD (eqs. 6-8)

// Cosine similarity from the reduction's sums: dot = <z_j, z_T>, sqj = |z_j|^2, sqT = |z_T|^2.
// S = 0 where either norm is 0 [a choice of docs/algorithm.md].
OTCA_HD double cosine(double dot, double sqj, double sqT) {
  if (!(sqj > 0.0) || !(sqT > 0.0)) return 0.0;
  return dot / (sqrt(sqj) * sqrt(sqT));
}

// u[t] = max(0, dS[t]) + epsTcd: the (floored) alignment a step gained (eq. 8's numerator).
OTCA_HD double step_gain(double d, const Options& p) { return (d > 0.0 ? d : 0.0) + p.epsTcd; }

// wbar[t] = u[t] / sum_t u[t] (eq. 8).
OTCA_HD double raw_weight(double d, double sumU, const Options& p) { return step_gain(d, p) / sumU; }

// w[t] from wbar[t]: the minWeight blend (mean 1 over t) for 'tcd', 1 for 'uniform'; divided by T
// for weightScale 'sum'.
OTCA_HD double step_weight(double wb, int64_t T, const Options& p) {
  const double Td = static_cast<double>(T);
  double wt = p.temporal == Temporal::Tcd ? p.minWeight + (1.0 - p.minWeight) * Td * wb : 1.0;
  if (p.weightScale == WeightScale::Sum) wt /= Td;
  return wt;
}

// ------------------------------------------------------------------ input limits and precision

// The largest |reward| accepted: with it the sums and squares of eq. 2 stay finite for any N.
constexpr double kMaxRewardMagnitude = 1e100;
// The largest |q| phase 2 accepts (phase 1 gives |q| <= 2): e = |q| / (std + epsMoca) then fits
// in float32 for every accepted epsMoca.
constexpr double kMaxScoreMagnitude = 4.0;

// When a sample's sums from the float32 streaming reduction are not good enough and the backend
// recomputes them in float64 from the latents (exact_sums): a non-finite sum (a non-finite element,
// or float32 products or sums that overflowed), a state whose squared norm is below 2^-80 (its
// float32 products may be subnormal: tiny latents would otherwise give S = 0), or a trajectory that
// gains less than 2^-10 alignment in all (sum_t max(0, dS_t)), where the ~2e-7 float32 error of S
// is a sizeable part of eq. 8's weights (D = 1, or every state within ~1e-3 of the final one).
// The cosine is scale-invariant, so the float64 sums give the right S at any finite scale.
constexpr double kTinySquaredNorm = 0x1p-80;
constexpr double kLowTotalGain = 0x1p-10;

// The two tests, for backends that spread them over threads: one state's sums, and the total gain
// sum_t max(0, S[t+1] - S[t]) of the cosines computed from them.
OTCA_HD bool state_needs_exact_sums(double dot, double sq) {
  return !(dot - dot == 0.0) || !(sq - sq == 0.0) || sq < kTinySquaredNorm;  // x - x: NaN for inf, NaN
}
OTCA_HD bool gain_needs_exact_sums(double gain) { return gain < kLowTotalGain; }

// Both tests over one sample's T+1 sums (dot(j), sq(j) as in finish_sample).
template <class Dot, class Sq>
OTCA_HD bool needs_exact_sums(Dot dot, Sq sq, int64_t T) {
  for (int64_t j = 0; j <= T; ++j)
    if (state_needs_exact_sums(dot(j), sq(j))) return true;
  const double sqT = sq(T);
  double gain = 0.0, prev = cosine(dot(0), sq(0), sqT);
  for (int64_t t = 0; t < T; ++t) {
    const double next = cosine(dot(t + 1), sq(t + 1), sqT), d = next - prev;
    gain += d > 0.0 ? d : 0.0;
    prev = next;
  }
  return gain_needs_exact_sums(gain);
}

// Finishes one sample from its T+1 (dot, sq) pairs (dot[j] = <z_j, z_T>, sq[j] = |z_j|^2, so
// sq[T] = |z_T|^2). Writes whichever outputs are non-null (rows of length T+1 or T) and returns q.
// Two passes over t, no scratch: the first sums u, the second writes. (The CUDA backend spreads the
// same per-step functions over a block: finish_sample.cuh.)
OTCA_HD double finish_sample(const double* dot, const double* sq, int64_t T, const Options& p,
                             float* S, float* dS, float* wbar, float* w) {
  const double sqT = sq[T];
  double sumU = 0.0;
  double prev = cosine(dot[0], sq[0], sqT);
  if (S) S[0] = static_cast<float>(prev);
  for (int64_t t = 0; t < T; ++t) {
    const double next = cosine(dot[t + 1], sq[t + 1], sqT);
    if (S) S[t + 1] = static_cast<float>(next);
    sumU += step_gain(next - prev, p);
    prev = next;
  }
  double q = 0.0;
  prev = cosine(dot[0], sq[0], sqT);
  for (int64_t t = 0; t < T; ++t) {
    const double next = cosine(dot[t + 1], sq[t + 1], sqT);
    const double d = next - prev;
    prev = next;
    const double wb = raw_weight(d, sumU, p);
    q += wb * d;
    if (dS) dS[t] = static_cast<float>(d);
    if (wbar) wbar[t] = static_cast<float>(wb);
    if (w) w[t] = static_cast<float>(step_weight(wb, T, p));
  }
  return q;
}

// ------------------------------------------------------------------ group statistics

struct Stats {
  double mean = 0.0;
  double std = 0.0;
};

// Mean and std of x(m) for m = 0 .. n-1 (a group's members in ascending sample order, or the whole
// batch), two passes in that order. n - corr <= 0 gives std 0 (a group of one sample), never NaN.
// Equal values give exactly that value as the mean and std 0 (a rounded sum / n would leave a
// residue that a zero epsAdv turns into an advantage).
template <class X>
OTCA_HD Stats stats_of(X x, int64_t n, int corr) {
  Stats s;
  if (n <= 0) return s;
  const double first = x(0);
  double sum = 0.0;
  bool equal = true;
  for (int64_t m = 0; m < n; ++m) {
    const double v = x(m);
    sum += v;
    equal = equal && v == first;
  }
  if (equal) {
    s.mean = first;
    return s;
  }
  s.mean = sum / static_cast<double>(n);
  const int64_t dof = n - corr;
  if (dof <= 0) return s;
  double ss = 0.0;
  for (int64_t m = 0; m < n; ++m) {
    const double d = x(m) - s.mean;
    ss += d * d;
  }
  s.std = sqrt(ss / static_cast<double>(dof));
  return s;
}

// The denominator of a standardisation (eq. 2, and the fused normalisation): std + epsAdv
// (stdStabilizer 'add'), or max(std, epsAdv) ('floor').
OTCA_HD double std_denominator(double std, const Options& p) {
  if (p.stdStabilizer == StdStabilizer::Floor) return std > p.epsAdv ? std : p.epsAdv;
  return std + p.epsAdv;
}

// (x - mean) / denominator; a zero denominator (std 0 with epsAdv 0) means every value it covers
// is equal: 0, never NaN.
OTCA_HD double standardise(double x, double centerMean, double spreadStd, const Options& p) {
  const double denominator = std_denominator(spreadStd, p);
  return denominator > 0.0 ? (x - centerMean) / denominator : 0.0;
}

// Eq. 2 for one value: clip((x - mean) / (std + epsAdv), -advClip, advClip) * scale.
// `centerMean` is the group's mean; `spreadStd` the group's or the batch's std (stdScope).
OTCA_HD double group_advantage(double x, double centerMean, double spreadStd, const Options& p,
                               double scale) {
  return clampd(standardise(x, centerMean, spreadStd, p), -p.advClip, p.advClip) * scale;
}

// The final fused advantage from the fusion's f: standardised over `fStats` (the group's or the
// batch's f) where fusedNormalization asks for it, then clipped at fusedClip (Infinity leaves f as
// it is, bit for bit).
OTCA_HD double final_fused(double f, const Stats& fStats, const Options& p) {
  const double g = p.fusedNormalization == FusedNormalization::None ? f : standardise(f, fStats.mean, fStats.std, p);
  return clampd(g, -p.fusedClip, p.fusedClip);
}

// Eq. 12 (absolute) or its centred reading: e = |q - c| / (std_g q + epsMoca).
OTCA_HD double exploration(double q, const Stats& qGroup, const Options& p) {
  const double num = p.exploration == Exploration::Centered ? fabs(q - qGroup.mean) : fabs(q);
  return num / (qGroup.std + p.epsMoca);
}

// Eq. 14: lam = max(0, s) / (|s| + epsMoca) * tanh(e), s = sum_k A_k (index order).
template <class AFn>
OTCA_HD double moca_lambda(AFn A, int64_t K, double e, const Options& p) {
  double s = 0.0;
  for (int64_t k = 0; k < K; ++k) s += A(k);
  return (s > 0.0 ? s : 0.0) / (fabs(s) + p.epsMoca) * tanh(e);
}

// The solution of Algorithm 1 has at most two non-zero coefficients: c[lo] and c[hi]
// (hi = -1 for a one-hot c).
struct Solve {
  int64_t lo = 0, hi = -1;
  double clo = 1.0, chi = 0.0;
  double f = 0.0;  // sum_k c_k A_k
};

// Algorithm 1 (docs/algorithm.md section 3) for one sample, A given as a functor over k = 0..K-1.
// Step 3's "sort ascending (ties by index), first adjacent pair lo <= zhat <= hi" is found without
// sorting: with L = {A < zhat}, E = {A == zhat}, H = {A > zhat}, the sorted order is L, E, H, so
// lo is the last of L (largest value, then largest index) and hi the next element; when L is
// empty, lo is the first of E and hi the element after it. Where hi == lo in value (only possible
// with epsSolver = 0) or no pair exists (K = 1), c is one-hot at lo, since then A[lo] == zhat.
template <class AFn>
OTCA_HD Solve moca_solve(AFn A, int64_t K, double lam, double epsSolver) {
  Solve r;
  double smin = A(0), smax = A(0);
  int64_t argmax = 0;
  for (int64_t k = 1; k < K; ++k) {
    const double a = A(k);
    if (a < smin) smin = a;
    if (a > smax) { smax = a; argmax = k; }
  }
  if (smax - smin < epsSolver) {  // step 1
    r.lo = argmax;
    r.f = A(argmax);
    return r;
  }
  const double zhat = clampd(lam * 0.5, smin, smax);
  for (int64_t k = 0; k < K; ++k) {  // step 2
    if (fabs(A(k) - zhat) < epsSolver) {
      r.lo = k;
      r.f = A(k);
      return r;
    }
  }
  int64_t lastL = -1, firstE = -1, secondE = -1, firstH = -1;  // step 3
  double vL = 0.0, vH = 0.0;
  for (int64_t k = 0; k < K; ++k) {
    const double a = A(k);
    if (a < zhat) {
      if (lastL < 0 || a >= vL) { lastL = k; vL = a; }
    } else if (a == zhat) {
      if (firstE < 0) firstE = k;
      else if (secondE < 0) secondE = k;
    } else {
      if (firstH < 0 || a < vH) { firstH = k; vH = a; }
    }
  }
  int64_t lo, hi;
  if (lastL >= 0) {
    lo = lastL;
    hi = firstE >= 0 ? firstE : firstH;
  } else {
    lo = firstE;
    hi = secondE >= 0 ? secondE : firstH;
  }
  const double alo = A(lo);
  if (hi < 0 || A(hi) == alo) {
    r.lo = lo;
    r.f = alo;
    return r;
  }
  const double ahi = A(hi);
  r.lo = lo;
  r.hi = hi;
  r.clo = (ahi - zhat) / (ahi - alo);
  r.chi = (zhat - alo) / (ahi - alo);
  r.f = r.clo * alo + r.chi * ahi;  // the other K-2 terms are exact zeros
  return r;
}

// Coefficient k of a Solve.
OTCA_HD double solve_coefficient(const Solve& s, int64_t k) {
  if (k == s.lo) return s.clo;
  if (k == s.hi) return s.chi;
  return 0.0;
}

// ------------------------------------------------------------------ one sample's fused advantage

// Everything phase 2 decides for one sample once its A[k] are known: e (eq. 12), lam (eq. 14 for
// 'moca', 0 otherwise), and f by the objective mode: Algorithm 1 for 'moca' and 'min-norm',
// sum_k weight_k A_k for 'weighted-advantage', and for 'weighted-reward' the normalised weighted
// reward that `weightedRewardAdvantage()` computes (called only in that mode).
struct Fused {
  double e = 0.0, lam = 0.0, f = 0.0;
  bool solved = false;  // c comes from `solve`; otherwise c = objectiveWeights
  Solve solve;
};

template <class AFn, class WFn, class RFn>
OTCA_HD Fused fuse_sample(AFn A, int64_t K, double q, const Stats& qGroup, WFn weight,
                          RFn weightedRewardAdvantage, const Options& p) {
  Fused r;
  r.e = exploration(q, qGroup, p);
  r.lam = p.objective == Objective::Moca ? moca_lambda(A, K, r.e, p) : 0.0;
  r.solved = p.objective == Objective::Moca || p.objective == Objective::MinNorm;
  if (r.solved) {
    r.solve = moca_solve(A, K, r.lam, p.epsSolver);
    r.f = r.solve.f;
  } else if (p.objective == Objective::WeightedAdvantage) {
    for (int64_t k = 0; k < K; ++k) r.f += weight(k) * A(k);
  } else {
    r.f = weightedRewardAdvantage();
  }
  return r;
}

// c[k] of a fused sample.
OTCA_HD double fused_coefficient(const Fused& r, int64_t k, double weightK) {
  return r.solved ? solve_coefficient(r.solve, k) : weightK;
}

// ------------------------------------------------------------------ the effective advantage

// Eq. 15 input, in float32 exactly as the two-phase API composes it: float(w) * float(f).
OTCA_HD float effective_advantage(float w, float f) { return w * f; }

}  // namespace math
}  // namespace otca
