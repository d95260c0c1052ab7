// The lab's kernels: the product's stages (csrc/cuda/*.cuh, included, never copied) composed with
// the lab's streaming shapes and tail experiments, for the harness (harness.cu, on a GPU) and the
// emulated-kernel test (test/native/emulation, on the CPU). Nothing here ships.
//
// Shapes: the four timed in runs 2-5 on the H100 (bench/NOTES.md); shape 3 is the shipped StreamShape.
// Tails: how the kernel ends after the streaming stage.
//   kShipped      the product's advantage_step body, with the debug timeline's stamps between stages
//   kStreamOnly   stop after the chunk partials (times the streaming stage alone)
//   kLeanHandoff  the cooperative-groups grid-sync pattern at each hand-off (one fence by thread 0,
//                 the barrier before it orders the block's writes; no fence and no atomic where the
//                 block is the only one), bench/NOTES.md section 7
#pragma once

#include "advantage_step.cuh"
#include "lab_shapes.h"

namespace otca {
namespace lab {

using gpu::detail::StepArgs;

__device__ __forceinline__ unsigned long long global_ns() {
#if defined(__CUDA_ARCH__)
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
#else
  return 0;  // the emulation has no clock
#endif
}

__device__ __forceinline__ void stamp(const LabArgs& l, int slot) {
  if (!l.timeline) return;
  const unsigned long long t = global_ns();
  if ((kTlMinSlots >> slot) & 1u) atomicMin(l.timeline + slot, t);
  else atomicMax(l.timeline + slot, t);
}

// The lean hand-off (kLeanHandoff): thread 0 fences once after the barrier (fences are cumulative),
// the last block's thread 0 fences again before the barrier that lets its threads read the others'
// writes; a block that is the only one neither fences nor counts.
__device__ bool last_to_arrive_lean(unsigned int* counter, unsigned int total) {
  __shared__ int last;
  __syncthreads();
  if (threadIdx.x == 0) {
    bool isLast = true;
    if (total > 1) {
      __threadfence();
      isLast = atomicAdd(counter, 1u) == total - 1;
      if (isLast) {
        *counter = 0;
        __threadfence();
      }
    }
    last = isLast;
  }
  __syncthreads();
  return last;
}

template <int Tail>
__device__ __forceinline__ bool hand_off(unsigned int* counter, unsigned int total) {
  if constexpr (Tail == kLeanHandoff) return last_to_arrive_lean(counter, total);
  else return gpu::detail::last_to_arrive(counter, total);
}

// The product's kernel body, stage for stage, with a shape, a tail and the timeline's stamps.
template <class Raw, class S, int Tail>
__global__ void __launch_bounds__(S::kThreads, Tail == kStreamOnly ? 1 : S::kMinBlocks)
    lab_step(const __grid_constant__ StepArgs a, const __grid_constant__ LabArgs l) {
  namespace d = gpu::detail;
  __shared__ d::PartialsSmem sm;
  if (threadIdx.x == 0) {
    stamp(l, kTlEntryFirst);
    stamp(l, kTlEntryLast);
  }
  const unsigned int chunks = static_cast<unsigned int>(a.chunks);  // as the product: 32-bit division
  const int64_t i = blockIdx.x / chunks;
  const int64_t c = blockIdx.x - static_cast<unsigned int>(i) * chunks;
  d::cosine_partials<Raw, S>(a, i, c, sm);
  if (threadIdx.x == 0) {
    stamp(l, kTlStreamEndFirst);
    stamp(l, kTlStreamEndLast);
  }
  if constexpr (Tail == kStreamOnly) {
    return;
  } else {
    if (!hand_off<Tail>(a.sampleCount + i, static_cast<unsigned int>(a.chunks))) return;
    if (threadIdx.x == 0) stamp(l, kTlSampleStart);
    d::finish_sample_block<Raw>(a, i);
    if (threadIdx.x == 0) stamp(l, kTlSampleEnd);
    if (a.mode == d::kTrajectory) {
      if (hand_off<Tail>(&a.book->done, static_cast<unsigned int>(a.N)) && threadIdx.x == 0) {
        stamp(l, kTlPublishStart);
        d::publish(a);
        stamp(l, kTlPublishEnd);
      }
      return;
    }
    const int64_t b = group_of(a.groups, i);
    if (!hand_off<Tail>(a.groupCount + b, static_cast<unsigned int>(group_size(a.groups, b)))) return;
    if (threadIdx.x == 0) stamp(l, kTlGroupStart);
    d::finish_group_block(a, b);
    if (threadIdx.x == 0) stamp(l, kTlGroupEnd);
    if (!hand_off<Tail>(&a.book->done, static_cast<unsigned int>(a.groups.count))) return;
    if (a.p.fusedNormalization == FusedNormalization::Batch) d::finish_batch_block(a);
    if (threadIdx.x == 0) {
      stamp(l, kTlPublishStart);
      d::publish(a);
      stamp(l, kTlPublishEnd);
    }
  }
}

// Calibration: an empty kernel taking the same parameter block.
__global__ void empty_kernel(const __grid_constant__ StepArgs a) {
  if (a.N == -1) a.book->pad = 1;  // never: keeps the parameter block live
}

}  // namespace lab
}  // namespace otca
