// The core's CPU call, made directly, for capi_test.c (capi_reference.h).
#include "capi_reference.h"

#include <cstdio>
#include <exception>
#include <vector>

#include "otca.h"

extern "C" int ref_advantages(const ref_options* o, int dtype, int64_t N, int64_t T, int64_t D, const void* latents,
                              int reward_dtype, int64_t K, const void* rewards, int64_t group_size,
                              const int32_t* group_ids, float* const* out, char* error) {
  try {
    otca::Options opt;
    opt.temporal = static_cast<otca::Temporal>(o->temporal);
    opt.weightScale = static_cast<otca::WeightScale>(o->weight_scale);
    opt.objective = static_cast<otca::Objective>(o->objective);
    opt.stdScope = static_cast<otca::StdScope>(o->std_scope);
    opt.exploration = static_cast<otca::Exploration>(o->exploration);
    opt.stdCorrection = o->std_correction;
    opt.threads = o->threads;
    opt.minWeight = o->min_weight;
    opt.advClip = o->adv_clip;
    opt.epsAdv = o->eps_adv;
    opt.epsTcd = o->eps_tcd;
    opt.epsMoca = o->eps_moca;
    opt.epsSolver = o->eps_solver;
    opt.fusedNormalization = static_cast<otca::FusedNormalization>(o->fused_normalization);
    opt.stdStabilizer = static_cast<otca::StdStabilizer>(o->std_stabilizer);
    opt.fusedClip = o->fused_clip;
    const otca::DType dt = static_cast<otca::DType>(dtype);
    const size_t esize = otca::dtype_size(dt);
    std::vector<const void*> states;
    for (int64_t j = 0; j <= T; ++j) states.push_back(static_cast<const char*>(latents) + j * D * esize);
    otca::Latents lat;
    lat.dtype = dt;
    lat.N = N;
    lat.T = T;
    lat.D = D;
    lat.states = states.data();
    lat.sampleStride = (T + 1) * D;
    otca::Rewards rew;
    rew.dtype = static_cast<otca::DType>(reward_dtype);
    rew.data = rewards;
    rew.N = N;
    rew.K = K;
    otca::GroupIndex index;
    otca::Groups g;
    if (group_size > 0) {
      g.size = group_size;
      g.count = N / group_size;
    } else {
      g = index.build(group_ids, N);
    }
    otca::AllOutputs all;
    all.trajectory = {out[0], out[1], out[2], out[3], out[4]};
    all.objective = {out[5], out[6], out[7], out[8], out[9]};
    all.advantages = out[10];
    otca::cpu::advantages(lat, rew, g, opt, otca::ObjectiveFactors{o->weights, o->scale}, all);
    return 0;
  } catch (const std::exception& e) {
    std::snprintf(error, 256, "%s", e.what());
    return 1;
  }
}
