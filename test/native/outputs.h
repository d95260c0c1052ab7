// The eleven outputs of a call held on the host, for the native tests (emulation/kernel_test.cpp)
// and the lab's GPU harness (bench/lab/harness.cu): their names, sizes and the backends' views.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "otca.h"

namespace otca_test {

constexpr int kOutputCount = 11;

// In the order of the backends' output structs: trajectory (5), objective (5), advantages.
inline const char* const kFields[kOutputCount] = {
    "similarity",          "deltaS",      "rawWeights", "stepWeights",  "trajectoryScore", "objectiveAdvantages",
    "exploration",         "lambda",      "coefficients", "fused",      "advantages"};

// The element count of each output for N samples, T steps and K objectives (S: the steps of
// per-step rewards, 0 for rewards [N, K]).
inline void output_sizes(int64_t N, int64_t T, int64_t K, int64_t (&n)[kOutputCount], int64_t S = 0) {
  const int64_t R = N * (S > 0 ? S : 1);  // phase 2's rows
  const int64_t sizes[kOutputCount] = {N * (T + 1), N * T, N * T, N * T, N, R * K, N, R, R * K, R, N * T};
  std::memcpy(n, sizes, sizeof sizes);
}

// Every output, poisoned (NaN bits) so that an element a call did not write shows.
struct Outs {
  std::vector<std::vector<float>> v;
  Outs() = default;
  Outs(int64_t N, int64_t T, int64_t K, int64_t S = 0) { resize(N, T, K, S); }
  void resize(int64_t N, int64_t T, int64_t K, int64_t S = 0) {
    int64_t n[kOutputCount];
    output_sizes(N, T, K, n, S);
    v.clear();
    for (int64_t k : n) v.emplace_back(static_cast<size_t>(k), std::nanf(""));
  }
  float* p(int k) { return v[k].data(); }
  otca::TrajectoryOutputs trajectory() { return {p(0), p(1), p(2), p(3), p(4)}; }
  otca::ObjectiveOutputs objective() { return {p(5), p(6), p(7), p(8), p(9)}; }
  otca::AllOutputs all() { return {trajectory(), objective(), p(10)}; }
};

inline bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * 4) == 0;
}

}  // namespace otca_test
