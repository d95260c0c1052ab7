// Test inputs for the native tests (bench/lab/harness.cu, emulation/kernel_test.cpp): trajectory-like
// latents (fill_trajectory) and scattered groups (scattered_group_ids).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

// z_j = (1 - a_j) noise + a_j z_T + small noise, a_j rising with jitter, so that S climbs from ~0 to
// 1 and q differs between samples. set(i, j, d, value) receives every element as float32.
template <class Set>
void fill_trajectory(int64_t N, int64_t T, int64_t D, std::mt19937_64& rng, Set&& set) {
  std::normal_distribution<float> nd(0.f, 1.f);
  std::uniform_real_distribution<float> ud(-1.f, 1.f);
  std::vector<float> noise(D), fin(D);
  for (int64_t i = 0; i < N; ++i) {
    for (int64_t d = 0; d < D; ++d) { noise[d] = nd(rng); fin[d] = nd(rng); }
    for (int64_t j = 0; j <= T; ++j) {
      double a = std::pow(static_cast<double>(j) / T, 1.3) + (j > 0 && j < T ? 0.06 * ud(rng) : 0.0);
      a = std::min(1.0, std::max(0.0, a));
      for (int64_t d = 0; d < D; ++d)
        set(i, j, d, j == T ? fin[d] : static_cast<float>((1 - a) * noise[d] + a * fin[d] + 0.05 * nd(rng)));
    }
  }
}

// Group ids for N samples in groups of the sizes 1, 2, ..., G (cycling), with descending ids, in an
// order shuffled by a permutation fixed by N: unequal groups, scattered, ids in no particular order.
inline std::vector<int32_t> scattered_group_ids(int64_t N, int64_t G) {
  std::vector<int32_t> ids(static_cast<size_t>(N));
  int64_t at = 0;
  for (int32_t g = 0, size = 1; at < N; ++g, size = size % static_cast<int32_t>(G) + 1)
    for (int32_t m = 0; m < size && at < N; ++m) ids[static_cast<size_t>(at++)] = 100 - 3 * g;
  std::mt19937 shuffle(static_cast<uint32_t>(N));
  std::shuffle(ids.begin(), ids.end(), shuffle);
  return ids;
}
