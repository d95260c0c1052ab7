// The small kernels of the enqueue mode (otca::gpu::enqueue, the C ABI's otca_run_cuda): what the
// synchronous path does with pinned host memory and a host read of the flags, done on the caller's
// stream instead, so that an enqueued run shares no host memory with the next one and can be
// captured into a CUDA graph. A header so that the CPU emulation (test/native/emulation) compiles
// the very lines the GPU runs.
#pragma once

#include <cstdint>

#include "step_args.cuh"

namespace otca {
namespace gpu {
namespace detail {

// Up to kUploadWords words carried in the parameter block itself (copied by the launch, so the
// host's values may change as soon as the launch returns, and a captured graph holds them): the
// state pointers past kInlineStates and the objective factors past kInlineObjectives, written into
// the run's workspace, where the synchronous path copies them from pinned memory.
static __global__ void upload_words(const __grid_constant__ WordUpload u) {
  for (int k = threadIdx.x; k < u.count; k += blockDim.x) u.out[k] = u.words[k];
}

// After the step, on the same stream: where the run's status word holds a flag (a non-finite
// latent, a bad reward, a bad trajectory score of an objective-only run, as check_flags reads them),
// every requested output becomes NaN, so a bad input never gives plausible numbers. A kernel of
// its own rather than the step's last block: the streaming kernel's registers stay as they are,
// and stream order makes the two the same.
__device__ inline bool status_flagged(const Mailbox* m, int mode) {
  return (mode != kObjective && m->latentFlag != kNoFlag) || (mode != kTrajectory && m->rewardFlag != kNoFlag) ||
         (mode == kObjective && m->scoreFlag != kNoFlag);
}

static __global__ void poison_outputs(const __grid_constant__ Poison p) {
  if (!status_flagged(p.status, p.mode)) return;
  const float nan = __uint_as_float(0x7fc00000u);
  for (int k = 0; k < kPoisonOutputs; ++k) {
    float* out = p.out[k];
    if (out == nullptr) continue;
    for (int64_t x = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; x < p.count[k];
         x += static_cast<int64_t>(gridDim.x) * blockDim.x)
      out[x] = nan;
  }
}

}  // namespace detail
}  // namespace gpu
}  // namespace otca
