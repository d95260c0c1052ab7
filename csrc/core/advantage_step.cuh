// The kernels of the advantage step (launched by advantage_step.cu). A header so that the native
// CPU emulation (test/native/emulation) compiles the very lines the GPU runs.
//
// One launch does everything: block (i, c) reduces chunk c of sample i (cosine_partials.cuh); the
// last block of sample i to finish (an integer counter, after a fence) adds the chunk partials in
// chunk order and finishes the sample (finish_sample.cuh); the last sample of a group finishes the
// group (finish_group.cuh); the last group publishes the non-finite flags to the host's mailbox.
// No floating-point atomics anywhere: every sum has one fixed order, so reruns are bit-identical.
#pragma once

#include "cosine_partials.cuh"
#include "finish_group.cuh"
#include "finish_sample.cuh"
#include "step_args.cuh"
#include "timeline.cuh"

namespace otca {
namespace gpu {
namespace detail {

// One thread of the last block: hand the flags to the host and reset them for the next launch.
__device__ void publish(const StepArgs& a) {
  stamp(a, kTlPublishStart);
  Mailbox* m = a.mailbox;
  const unsigned long long latent = atomicExch(&a.book->latentFlag, kNoFlag);
  const unsigned long long reward = atomicExch(&a.book->rewardFlag, kNoFlag);
  const unsigned long long score = atomicExch(&a.book->scoreFlag, kNoFlag);
  a.book->done = 0;
  volatile unsigned long long* v = &m->latentFlag;
  v[0] = latent;
  v[1] = reward;
  v[2] = score;
  __threadfence_system();
  *static_cast<volatile unsigned long long*>(&m->finished) = 1ull;
  stamp(a, kTlPublishEnd);
}

// Returns (to every thread) whether this block is the last of `total` to arrive at `counter`;
// the last one resets the counter and sees every other block's writes (as the CUDA samples'
// threadFenceReduction: every thread fences its own writes, thread 0 counts).
//
// -DOTCA_LEAN_HANDOFF (an experiment for the next device run, bench/NOTES.md section 7; off in the
// addon): the cooperative-groups grid-sync pattern instead. The barrier orders the block's writes
// before thread 0's fence, which releases them all (fences are cumulative); the last block's thread
// 0 fences again (acquire) before the barrier that lets its threads read what the others wrote (they
// read it with __ldcg, past L1). With total == 1 the block is the only one: no fence and no atomic.
__device__ bool last_to_arrive(unsigned int* counter, unsigned int total) {
  __shared__ int last;
#ifdef OTCA_LEAN_HANDOFF
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
#else
  __threadfence();
  __syncthreads();
  if (threadIdx.x == 0) {
    const unsigned int before = atomicAdd(counter, 1u);
    last = before == total - 1;
    if (last) *counter = 0;
  }
  __syncthreads();
  if (last) __threadfence();
  return last;
#endif
}

// Launch bounds from the variant: the register cap is 65536 / (threads * minBlocks), chosen per
// variant so that ptxas neither spills nor needs a stack frame (scripts/cuda-static-checks.sh).
template <int V>
constexpr int min_blocks() { return kVariants[V].minBlocks; }

template <class Raw, int V>
__global__ void __launch_bounds__(kVariants[V].threads, min_blocks<V>())
    advantage_step(const __grid_constant__ StepArgs a) {
  __shared__ PartialsSmem sm;
  if (threadIdx.x == 0) {
    stamp(a, kTlEntryFirst);
    stamp(a, kTlEntryLast);
  }
#ifdef OTCA_NO_INT64_DIV  // blocks <= 2^31 - 1 (gpu_runtime.cu checks): chunks fits 32 bits
  const int64_t i = blockIdx.x / static_cast<unsigned int>(a.chunks);
#else
  const int64_t i = static_cast<int64_t>(blockIdx.x) / a.chunks;
#endif
  const int64_t c = static_cast<int64_t>(blockIdx.x) - i * a.chunks;
  cosine_partials<Raw, V>(a, i, c, sm);  // ends with a __syncthreads (flush_states)
  if (threadIdx.x == 0) {
    stamp(a, kTlStreamEndFirst);
    stamp(a, kTlStreamEndLast);
  }
  // Testing (the streaming part alone): no counters touched. A runtime flag rather than a
  // compile-time return: without the finishing code in the kernel, ptxas spills the 16-bit
  // streaming loop at the 128-register cap (seen with CUDA 13.0, sm_90).
  if (a.streamOnly) return;
  if (!last_to_arrive(a.sampleCount + i, static_cast<unsigned int>(a.chunks))) return;
  finish_sample_block<Raw>(a, i);
  if (a.mode == kTrajectory) {
    if (last_to_arrive(&a.book->done, static_cast<unsigned int>(a.N)) && threadIdx.x == 0) publish(a);
    return;
  }
#ifdef OTCA_NO_INT64_DIV  // i < N <= 2^31 - 1, G <= N
  const int64_t b = static_cast<unsigned int>(i) / static_cast<unsigned int>(a.G);
#else
  const int64_t b = i / a.G;
#endif
  if (!last_to_arrive(a.groupCount + b, static_cast<unsigned int>(a.G))) return;
  if (threadIdx.x == 0) stamp(a, kTlGroupStart);
  finish_group_block(a, b);
  if (threadIdx.x == 0) stamp(a, kTlGroupEnd);
  if (last_to_arrive(&a.book->done, static_cast<unsigned int>(a.B)) && threadIdx.x == 0) publish(a);
}

__global__ void __launch_bounds__(kThreads, 1) objective_step(const __grid_constant__ StepArgs a) {
  finish_group_block(a, blockIdx.x);
  if (last_to_arrive(&a.book->done, static_cast<unsigned int>(a.B)) && threadIdx.x == 0) publish(a);
}

// Error path only: the first non-finite element of sample i, as the flat index j*D + d.
template <class Raw>
__global__ void first_non_finite(const __grid_constant__ StepArgs a, int64_t i,
                                 unsigned long long* first) {
  const int64_t total = (a.T + 1) * a.D;
  for (int64_t x = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; x < total;
       x += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t j = x / a.D, d = x - j * a.D;
    const Raw* row = static_cast<const Raw*>(state_pointer(a, j)) + i * a.stride;
    float v;
    if constexpr (sizeof(Raw) == 4) {
      v = __ldg(reinterpret_cast<const float*>(row) + d);
    } else {
      uint4 pack = make_uint4(__ldg(reinterpret_cast<const unsigned short*>(row) + d), 0, 0, 0);
      float w[8];
      Elem<Raw>::widen(pack, w);
      v = w[0];
    }
    if (!isfinite(v)) atomicMin(first, static_cast<unsigned long long>(x));
  }
}

}  // namespace detail

}  // namespace gpu
}  // namespace otca
