// The lab's computations: the product's call steps (csrc/cuda/step_call.cuh: prepare, launch, wait,
// check the flags) with the lab's kernel (lab_kernels.cuh) in place of the shipped one. The knobs
// (shape, tail, timeline) are a Config the caller passes; launch_lab is defined per build: by
// lab_kernels.cu for the GPU, by the emulation for the CPU.
#pragma once

#include "lab_shapes.h"
#include "step_call.cuh"

namespace otca {
namespace lab {

struct Config {
  int shape = kShippedShape;  // 0 .. kShapes-1
  int tail = kShipped;        // Tail
  LabArgs args{};
};

// Enqueues lab_step<dtype's element, shape, tail> on `stream` over a.N * a.chunks blocks.
cudaError_t launch_lab(const gpu::detail::StepArgs& a, int dtype, cudaStream_t stream, const Config& cfg);
// Calibration (GPU only): `count` launches of an empty kernel taking the same parameter block.
cudaError_t empty_launches(const gpu::detail::StepArgs& a, int count, cudaStream_t stream);

// The product's wait and flag checks, except with the stream-only tail (nothing is published: the
// stream is synchronised instead and the call counted healthy, as no counter was touched).
inline void finish(gpu::detail::Call& call, const Config& cfg) {
  if (cfg.tail == kStreamOnly) {
    cudaStreamSynchronize(call.ctx->stream);
    call.healthy = true;
    return;
  }
  gpu::detail::wait(call);
  gpu::detail::check_flags(call);
}

inline void advantages(gpu::Context& c, const Latents& lat, const Rewards& rew, const Groups& groups, const Options& opt,
                       const ObjectiveFactors& factors, const AllOutputs& out, const Config& cfg) {
  check_options(opt, factors, rew.K);
  gpu::detail::Call call;
  gpu::detail::prepare_advantages(call, c, lat, rew, groups, opt, factors, out, chunk_bytes(cfg.shape));
  gpu::detail::launch(call, [&](const gpu::detail::StepArgs& a, int dtype, cudaStream_t s) { return launch_lab(a, dtype, s, cfg); });
  finish(call, cfg);
}

inline void trajectory_credit(gpu::Context& c, const Latents& lat, const Options& opt, const TrajectoryOutputs& out,
                              const Config& cfg) {
  check_options(opt, ObjectiveFactors{}, 0);
  gpu::detail::Call call;
  gpu::detail::prepare_trajectory(call, c, lat, opt, out, chunk_bytes(cfg.shape));
  gpu::detail::launch(call, [&](const gpu::detail::StepArgs& a, int dtype, cudaStream_t s) { return launch_lab(a, dtype, s, cfg); });
  finish(call, cfg);
}

}  // namespace lab
}  // namespace otca
