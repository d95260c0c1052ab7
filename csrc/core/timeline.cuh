// The native harness's debug timeline. Internal.
//
// stamp(): one thread records %globaltimer (ns) in a slot of StepArgs::timeline (TimelineSlot in
// step_args.cuh). Compiled only with -DOTCA_GPU_TIMELINE (test/native/gpu_build.sh); the addon's
// kernels contain none of it. %globaltimer ticks in whole microseconds on some GPUs and drivers
// (32 ns on others): the harness prints the stamps as they come.
#pragma once

#include "step_args.cuh"

namespace otca {
namespace gpu {
namespace detail {

__device__ __forceinline__ unsigned long long global_ns() {
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

__device__ __forceinline__ void stamp(const StepArgs& a, int slot) {
#ifdef OTCA_GPU_TIMELINE
  if (a.timeline) {
    const unsigned long long t = global_ns();
    if ((kTlMinSlots >> slot) & 1u) atomicMin(a.timeline + slot, t);
    else atomicMax(a.timeline + slot, t);
  }
#else
  (void)a;
  (void)slot;
#endif
}

}  // namespace detail
}  // namespace gpu
}  // namespace otca
