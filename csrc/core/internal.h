// Helpers both backends share and the binding never sees: the shape checks and the error messages
// for bad input values (defined once in common.cpp so CPU and CUDA say the same).
#pragma once

#include <cstdint>
#include <string>

#include "otca.h"
#include "otca_math.h"

namespace otca {
namespace detail {

// Defensive shape checks both backends run before any work (the binding validates first): they keep
// every access in bounds. Values are not read here (device memory may not be readable).
void check_latents_shape(const Latents& lat);
void check_rewards_shape(const Rewards& rew);
// The groups cover N samples: a size dividing N, or count >= 1 groups with their arrays.
void check_groups(const Groups& groups, int64_t N);

// A double as JavaScript's String(x) writes it (1.5, 1e-8, -Infinity, NaN, 1e+21).
std::string js_number(double x);

// RangeError "Expected <expected> for <what> but received <got>".
[[noreturn]] void throw_range(const std::string& expected, const char* what, const std::string& got);

const char* non_finite_name(double v);  // "NaN", "Infinity" or "-Infinity"

[[noreturn]] void throw_non_finite_latent(double v, int64_t sample, int64_t state);

// Rewards: finite with |r| <= math::kMaxRewardMagnitude; trajectory scores (phase 2's q input):
// finite with |q| <= math::kMaxScoreMagnitude. NaN fails both tests.
bool reward_ok(double v);
bool score_ok(double v);
// "Expected finite values for rewards but received NaN at sample 3, objective 1", or for a finite
// value past the limit "Expected |r| <= 1e+100 for rewards but received 1e+308 at ...".
[[noreturn]] void throw_bad_reward(double v, int64_t sample, int64_t objective);
// The same for per-step rewards: "... at sample 3, step 2, objective 1". `flat` is the element's
// index in the rewards (i*K + k, or (i*T + t)*K + k).
[[noreturn]] void throw_bad_reward_at(const Rewards& rew, double v, int64_t flat);
[[noreturn]] void throw_bad_score(double v, int64_t sample);

}  // namespace detail
}  // namespace otca
