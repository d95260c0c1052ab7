// Trajectory-like latents for the native tests (bench/lab/harness.cu, emulation/kernel_test.cpp):
// z_j = (1 - a_j) noise + a_j z_T + small noise, a_j rising with jitter, so that S climbs from ~0 to
// 1 and q differs between samples. set(i, j, d, value) receives every element as float32.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

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
