// dtype names and sizes, and the option checks every backend runs before any work.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "internal.h"
#include "otca.h"

namespace otca {

size_t dtype_size(DType dt) {
  switch (dt) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::Float16: return 2;
    case DType::BFloat16: return 2;
  }
  return 0;
}

const char* dtype_name(DType dt) {
  switch (dt) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Float16: return "float16";
    case DType::BFloat16: return "bfloat16";
  }
  return "unknown dtype";
}

// A double as JavaScript's String(x) writes it (shortest round-trip digits), so that messages
// read the same as the TypeScript checks': 1.5, 1e-8, -Infinity, NaN, 1e+21.
std::string detail::js_number(double x) {
  if (std::isnan(x)) return "NaN";
  if (std::isinf(x)) return x > 0 ? "Infinity" : "-Infinity";
  if (x == 0) return "0";
  char buf[40];
  int precision = 1;
  for (; precision < 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*e", precision - 1, x);
    if (std::strtod(buf, nullptr) == x) break;
  }
  std::snprintf(buf, sizeof buf, "%.*e", precision - 1, x);
  // buf = [-]d[.ddd]e[+-]xx: split into sign, digits and decimal exponent
  std::string s(buf), sign, digits;
  size_t p = 0;
  if (s[p] == '-') { sign = "-"; ++p; }
  const size_t e = s.find('e');
  for (; p < e; ++p) if (s[p] != '.') digits += s[p];
  const int exp10 = std::atoi(s.c_str() + e + 1);
  const int k = static_cast<int>(digits.size()), n = exp10 + 1;  // value = 0.digits * 10^n
  if (k <= n && n <= 21) return sign + digits + std::string(n - k, '0');
  if (0 < n && n <= 21) return sign + digits.substr(0, n) + "." + digits.substr(n);
  if (-6 < n && n <= 0) return sign + "0." + std::string(-n, '0') + digits;
  const std::string mantissa = k == 1 ? digits : digits.substr(0, 1) + "." + digits.substr(1);
  return sign + mantissa + "e" + (n - 1 >= 0 ? "+" : "-") + std::to_string(std::abs(n - 1));
}

namespace {

using detail::js_number;

[[noreturn]] void range_error(const std::string& expected, const char* option, double got) {
  throw RangeError("Expected " + expected + " for " + option + " but received " + js_number(got));
}

// An enumeration's value against its names (options.h's EnumNames: one table for the count, the
// message and the binding's encoding).
template <class E>
void check_enum(E value) {
  using Names = EnumNames<E>;
  const int v = static_cast<int>(value);
  if (v >= 0 && v < Names::kCount) return;
  std::string choices;
  for (int k = 0; k < Names::kCount; ++k) choices += std::string(k ? ", '" : "'") + Names::kNames[k] + "'";
  throw RangeError("Expected one of " + choices + " for " + Names::kOption + " but received " + std::to_string(v));
}

// objectiveWeights, objectiveScale: |x| <= 1e9 keeps every float32 output finite (lib/validate.ts).
constexpr double kMaxObjectiveFactor = 1e9;

void check_array(const double* values, int64_t K, const char* option) {
  if (!values) return;
  for (int64_t k = 0; k < K; ++k) {
    if (!(std::fabs(values[k]) <= kMaxObjectiveFactor))
      throw RangeError(std::string("Expected finite number in [-1000000000, 1000000000] for ") + option + "[" +
                       std::to_string(k) + "] but received " + js_number(values[k]));
  }
}

}  // namespace

void check_options(const Options& opt, const ObjectiveFactors& factors, int64_t K) {
#define OTCA_CHECK_ENUM(field, E) check_enum(opt.field);
#define OTCA_SKIP(...)
  OTCA_NATIVE_OPTIONS(OTCA_CHECK_ENUM, OTCA_SKIP, OTCA_SKIP)
#undef OTCA_CHECK_ENUM
#undef OTCA_SKIP
  if (!(opt.minWeight >= 0.0 && opt.minWeight <= 1.0))
    range_error("number in [0, 1]", "minWeight", opt.minWeight);
  if (opt.stdCorrection != 0 && opt.stdCorrection != 1)
    range_error("0 or 1", "stdCorrection", opt.stdCorrection);
  if (!(opt.advClip > 0.0)) range_error("number > 0", "advClip", opt.advClip);
  if (!(opt.fusedClip > 0.0)) range_error("number > 0", "fusedClip", opt.fusedClip);
  // the limits of lib/options.ts (the eps options' ranges)
  if (!(opt.epsAdv >= 0.0 && opt.epsAdv <= 1e100)) range_error("number in [0, 1e+100]", "epsAdv", opt.epsAdv);
  if (!(opt.epsTcd > 0.0 && opt.epsTcd <= 1e100)) range_error("number in (0, 1e+100]", "epsTcd", opt.epsTcd);
  if (!(opt.epsMoca >= 1e-30 && opt.epsMoca <= 1e100))
    range_error("number in [1e-30, 1e+100]", "epsMoca", opt.epsMoca);
  if (!(opt.epsSolver >= 0.0 && opt.epsSolver <= 1e100))
    range_error("number in [0, 1e+100]", "epsSolver", opt.epsSolver);
  if (opt.threads < 0 || opt.threads > kMaxThreads) range_error("integer in [0, 4096]", "threads", opt.threads);
  check_array(factors.weights, K, "objectiveWeights");
  check_array(factors.scale, K, "objectiveScale");
}

Groups GroupIndex::build(const int32_t* given, int64_t N) {
  // `given` is read once, into `ids`: memory another thread writes meanwhile gives one grouping
  // (the ids as they were read), never a sample whose group was not counted
  ids.assign(given, given + N);
  // groups in ascending id order: rank the distinct ids, then a counting sort of the samples
  distinct.assign(ids.begin(), ids.end());
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  const int64_t B = static_cast<int64_t>(distinct.size());
  arrays.assign(static_cast<size_t>(B + 1 + 2 * N), 0);
  int64_t* offsets = arrays.data();
  int64_t* members = offsets + B + 1;
  int64_t* groupOf = members + N;
  for (int64_t i = 0; i < N; ++i) {
    const int32_t id = ids[static_cast<size_t>(i)];
    const int64_t b = std::lower_bound(distinct.begin(), distinct.end(), id) - distinct.begin();
    groupOf[i] = b;
    ++offsets[b + 1];
  }
  for (int64_t b = 0; b < B; ++b) offsets[b + 1] += offsets[b];
  // members in ascending sample order: each sample at its group's next free slot (offsets[b] moves
  // to the end of group b, the start of group b + 1), then the offsets shifted back by one group
  for (int64_t i = 0; i < N; ++i) members[offsets[groupOf[i]]++] = i;
  for (int64_t b = B; b > 0; --b) offsets[b] = offsets[b - 1];
  offsets[0] = 0;
  Groups g;
  g.count = B;
  g.size = 0;
  g.offsets = offsets;
  g.members = members;
  g.groupOf = groupOf;
  return g;
}

namespace detail {

void check_latents_shape(const Latents& lat) {
  if (lat.dtype != DType::Float32 && lat.dtype != DType::Float16 && lat.dtype != DType::BFloat16)
    throw TypeError(std::string("Expected dtype float32, float16 or bfloat16 for latents but received ") +
                    dtype_name(lat.dtype));
  if (lat.N < 0) throw_range("integer >= 0", "latents' sample count N", std::to_string(lat.N));
  if (lat.T < 1) throw_range("at least 2 states (T >= 1)", "latents", std::to_string(lat.T + 1) + " states");
  if (lat.D < 1) throw_range("latent size D >= 1", "latents", std::to_string(lat.D));
  if (lat.N > 1 && lat.sampleStride < lat.D)
    throw_range("sampleStride >= D", "latents", std::to_string(lat.sampleStride));
  if (lat.N > 0 && !lat.states) throw_range("T+1 state pointers", "latents", "none");
  for (int64_t j = 0; lat.N > 0 && j <= lat.T; ++j)
    if (!lat.states[j]) throw_range("a buffer", "latents", "none at state " + std::to_string(j));
}

void check_rewards_shape(const Rewards& rew) {
  if (rew.dtype != DType::Float32 && rew.dtype != DType::Float64)
    throw TypeError(std::string("Expected dtype float32 or float64 for rewards but received ") +
                    dtype_name(rew.dtype));
  if (rew.K < 1) throw_range("at least 1 objective (K >= 1)", "rewards", std::to_string(rew.K));
  if (rew.N < 0) throw_range("integer >= 0", "rewards' sample count N", std::to_string(rew.N));
  if (rew.T < 0) throw_range("integer >= 0", "rewards' step count T", std::to_string(rew.T));
  if (rew.N > 0 && !rew.data) throw_range("a buffer", "rewards", "none");
}

void check_groups(const Groups& g, int64_t N) {
  if (g.size > 0) {
    if (N % g.size != 0)
      throw_range("a divisor of the sample count " + std::to_string(N), "groupSize", std::to_string(g.size));
    if (g.count != N / g.size) throw_range(std::to_string(N / g.size) + " groups", "groups", std::to_string(g.count));
    return;
  }
  if (g.size < 0) throw_range("integer >= 1", "groupSize", std::to_string(g.size));
  if (N > 0 && (g.count < 1 || g.count > N || !g.offsets || !g.members || !g.groupOf))
    throw_range("groups with their member arrays", "groupIds", std::to_string(g.count) + " groups");
}

bool reward_ok(double v) { return std::fabs(v) <= math::kMaxRewardMagnitude; }
bool score_ok(double v) { return std::fabs(v) <= math::kMaxScoreMagnitude; }

void throw_range(const std::string& expected, const char* what, const std::string& got) {
  throw RangeError("Expected " + expected + " for " + what + " but received " + got);
}

const char* non_finite_name(double v) {
  return std::isnan(v) ? "NaN" : (v > 0 ? "Infinity" : "-Infinity");
}

void throw_non_finite_latent(double v, int64_t sample, int64_t state) {
  throw_range("finite values", "latents",
              std::string(non_finite_name(v)) + " at sample " + std::to_string(sample) + ", state " +
                  std::to_string(state));
}

void throw_bad_reward(double v, int64_t sample, int64_t objective) {
  const std::string where = " at sample " + std::to_string(sample) + ", objective " + std::to_string(objective);
  if (!std::isfinite(v)) throw_range("finite values", "rewards", non_finite_name(v) + where);
  throw_range("|r| <= 1e+100", "rewards", js_number(v) + where);
}

void throw_bad_reward_at(const Rewards& rew, double v, int64_t flat) {
  const int64_t row = flat / rew.K, k = flat % rew.K;
  if (rew.T <= 0) throw_bad_reward(v, row, k);
  const std::string where = " at sample " + std::to_string(row / rew.T) + ", step " + std::to_string(row % rew.T) +
                            ", objective " + std::to_string(k);
  if (!std::isfinite(v)) throw_range("finite values", "rewards", non_finite_name(v) + where);
  throw_range("|r| <= 1e+100", "rewards", js_number(v) + where);
}

void throw_bad_score(double v, int64_t sample) {
  const std::string where = " at sample " + std::to_string(sample);
  if (!std::isfinite(v)) throw_range("finite values", "trajectoryScore", non_finite_name(v) + where);
  throw_range("|q| <= 4 (phase 1 gives |q| <= 2)", "trajectoryScore", js_number(v) + where);
}

}  // namespace detail
}  // namespace otca
