// The lab's computations: the product's call steps (csrc/cuda/step_call.cuh: prepare, launch, wait,
// check the flags) with the lab's kernel (lab_kernels.cuh) in place of the shipped one. The knobs
// (shape, tail, timeline) are a Config the caller passes; launch_lab is defined per build: by
// lab_kernels.cu for the GPU, by the emulation for the CPU.
#pragma once

#include <chrono>

#include "gpu_launch.cuh"
#include "lab_shapes.h"
#include "step_call.cuh"

namespace otca {
namespace lab {

struct Config {
  bool product = false;       // the product's own kernel (gpu::launch); shape, tail and args unused
  int shape = kShippedShape;  // 0 .. kShapes-1
  int tail = kShipped;        // Tail
  LabArgs args{};
  // Timing: events recorded on the stream right before and right after the launch (the kernel
  // alone), and the host clock's split of the call: [0] prepare, [1] launch, [2] wait + flags (us).
  cudaEvent_t start = nullptr, stop = nullptr;
  double* hostUs = nullptr;
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

// The bytes of D a block streams per state under `cfg`.
inline int64_t chunk_bytes_of(const Config& cfg) {
  return cfg.product ? gpu::detail::kShippedChunkBytes : chunk_bytes(cfg.shape);
}

// Launches, waits and checks a prepared call under `cfg`, with its events and host split.
inline void run(gpu::detail::Call& call, const Config& cfg, std::chrono::steady_clock::time_point began) {
  using clock = std::chrono::steady_clock;
  const auto us = [](clock::time_point a, clock::time_point b) { return std::chrono::duration<double, std::micro>(b - a).count(); };
  const clock::time_point prepared = clock::now();
  gpu::detail::launch(call, [&](const gpu::detail::StepArgs& a, int dtype, cudaStream_t s) {
    if (cfg.start) cudaEventRecord(cfg.start, s);
    const cudaError_t e = cfg.product ? gpu::launch::advantage_step(a, dtype, s) : launch_lab(a, dtype, s, cfg);
    if (cfg.stop) cudaEventRecord(cfg.stop, s);
    return e;
  });
  const clock::time_point launched = clock::now();
  finish(call, cfg);
  if (cfg.hostUs) {
    cfg.hostUs[0] = us(began, prepared);
    cfg.hostUs[1] = us(prepared, launched);
    cfg.hostUs[2] = us(launched, clock::now());
  }
}

inline void advantages(gpu::Context& c, const Latents& lat, const Rewards& rew, const Groups& groups, const Options& opt,
                       const ObjectiveFactors& factors, const AllOutputs& out, const Config& cfg) {
  const auto began = std::chrono::steady_clock::now();
  check_options(opt, factors, rew.K);
  gpu::detail::Call call;
  gpu::detail::prepare_advantages(call, c, lat, rew, groups, opt, factors, out, chunk_bytes_of(cfg));
  run(call, cfg, began);
}

inline void trajectory_credit(gpu::Context& c, const Latents& lat, const Options& opt, const TrajectoryOutputs& out,
                              const Config& cfg) {
  const auto began = std::chrono::steady_clock::now();
  check_options(opt, ObjectiveFactors{}, 0);
  gpu::detail::Call call;
  gpu::detail::prepare_trajectory(call, c, lat, opt, out, chunk_bytes_of(cfg));
  run(call, cfg, began);
}

}  // namespace lab
}  // namespace otca
