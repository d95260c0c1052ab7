// The kernels of the advantage step (launched by advantage_step.cu). A header so that the native
// CPU emulation (test/native/emulation) and the lab (bench/lab) compile the very lines the GPU runs.
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

namespace otca {
namespace gpu {
namespace detail {

// One thread of the last block: hand the flags to the host and reset them for the next launch.
__device__ inline void publish(const StepArgs& a) {
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
}

// Returns (to every thread) whether this block is the last of `total` to arrive at `counter`;
// the last one resets the counter and sees every other block's writes (as the CUDA samples'
// threadFenceReduction: every thread fences its own writes, thread 0 counts).
__device__ inline bool last_to_arrive(unsigned int* counter, unsigned int total) {
  __shared__ int last;
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
}

// After a group: the block of the batch's last group runs the batch-wide pass where one is asked
// for (fusedNormalization 'batch'), then publishes.
__device__ inline void finish_batch(const StepArgs& a) {
  if (!last_to_arrive(&a.book->done, static_cast<unsigned int>(a.groups.count))) return;
  if (a.p.fusedNormalization == FusedNormalization::Batch) finish_batch_block(a);
  if (threadIdx.x == 0) publish(a);
}

// The register cap is 65536 / (threads * minBlocks), chosen per shape so that ptxas neither spills
// nor needs a stack frame (scripts/cuda-static-checks.sh).
template <class Raw, class Shape>
__global__ void __launch_bounds__(Shape::kThreads, Shape::kMinBlocks)
    advantage_step(const __grid_constant__ StepArgs a) {
  __shared__ PartialsSmem sm;
  // 32-bit division: the host launches at most 2^31 - 1 blocks (prepare's check), so chunks fits
  // 32 bits; a 64-bit division's inlined routine holds registers the 16-bit streaming loop needs
  // (with it, ptxas spills advantage_step<F16> on sm_75..89 at the 128-register cap).
  const unsigned int chunks = static_cast<unsigned int>(a.chunks);
  const int64_t i = blockIdx.x / chunks;
  const int64_t c = blockIdx.x - static_cast<unsigned int>(i) * chunks;
  cosine_partials<Raw, Shape>(a, i, c, sm);  // ends with a __syncthreads (flush_states)
  if (!last_to_arrive(a.sampleCount + i, static_cast<unsigned int>(a.chunks))) return;
  finish_sample_block<Raw>(a, i);
  if (a.mode == kTrajectory) {
    if (last_to_arrive(&a.book->done, static_cast<unsigned int>(a.N)) && threadIdx.x == 0) publish(a);
    return;
  }
  const int64_t b = group_of(a.groups, i);
  if (!last_to_arrive(a.groupCount + b, static_cast<unsigned int>(group_size(a.groups, b)))) return;
  finish_group_block(a, b);
  finish_batch(a);
}

// static: each translation unit that includes this header (the product's advantage_step.cu, the
// lab's lab_kernels.cu) has its own copy, so that both link into one program
static __global__ void __launch_bounds__(kThreads, 1) objective_step(const __grid_constant__ StepArgs a) {
  finish_group_block(a, blockIdx.x);
  finish_batch(a);
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
    if (!isfinite(latent_value<Raw>(row + d))) atomicMin(first, static_cast<unsigned long long>(x));
  }
}

}  // namespace detail
}  // namespace gpu
}  // namespace otca
