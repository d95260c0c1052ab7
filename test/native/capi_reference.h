/* The expected results of the C ABI's test (capi_test.c): the core's CPU call made directly
 * (capi_reference.cpp, C++), so the test compares libotca.so's bits with the core's own. */
#ifndef OTCA_CAPI_REFERENCE_H
#define OTCA_CAPI_REFERENCE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The options as the core's struct holds them: enumerations by their index in the option's names. */
typedef struct ref_options {
  int temporal, weight_scale, objective, std_scope, exploration, std_correction, threads;
  int fused_normalization, std_stabilizer;
  double min_weight, adv_clip, eps_adv, eps_tcd, eps_moca, eps_solver, fused_clip;
  const double* weights; /* K values or null */
  const double* scale;
} ref_options;

/* The whole step on the CPU backend: latents one [N, T+1, D] array of `dtype`, rewards [N, K]
 * float32 or float64, groups of group_size or by ids; every output (AllOutputs' order) non-null.
 * Returns 0, or 1 with the exception's message in `error` (256 bytes). */
int ref_advantages(const ref_options* o, int dtype, int64_t N, int64_t T, int64_t D, const void* latents,
                   int reward_dtype, int64_t K, const void* rewards, int64_t group_size, const int32_t* group_ids,
                   float* const* outputs, char* error);

#ifdef __cplusplus
}
#endif

#endif
