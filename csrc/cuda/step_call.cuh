// One call of the CUDA backend on a context, in the steps the host takes: prepare (the parameter
// block, the workspace bound, the state pointers and objective arrays copied where they do not fit),
// launch, wait for the kernel's mailbox, then turn its flags into the CPU backend's errors.
// gpu_runtime.cu runs the steps with the shipped kernels; the lab (bench/lab) with its own.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "otca.h"
#include "step_args.cuh"

namespace otca {
namespace gpu {

// What a plan owns on one device (otca.h); the fields are the CUDA backend's.
struct Context {
  int device = 0;
  cudaStream_t stream = nullptr;
  char* dev = nullptr;               // the workspace: Bookkeeping, counters, scratch (Layout)
  size_t bytes = 0;
  int64_t nCapacity = 0;             // samples (and groups) the counters hold
  detail::Mailbox* mailbox = nullptr;     // pinned, mapped: the kernel's last word
  detail::Mailbox* mailboxDev = nullptr;
  char* pinned = nullptr;            // pinned: state pointers and objective arrays beyond inline
  size_t pinnedBytes = 0;
  void* staging = nullptr;           // device: the host inputs and outputs of a call
  size_t stagingBytes = 0;
  bool busy = false;                 // a call is running on it (calls on one context never overlap)
};

namespace detail {

struct Layout {
  size_t book, counters, first, part, sums, Sd, prod, wF, qF, fF, Ad, fD, gstat, statesDev, objDev, total;
};

// A call prepared on a context, ready to launch.
struct Call {
  Context* ctx = nullptr;
  StepArgs a{};
  Layout layout{};
  int dtype = 0;               // the latents' otca::DType code
  const Latents* lat = nullptr;   // for the error messages
  const Rewards* rew = nullptr;
  bool healthy = false;        // the launch completed and reset its counters
  Call() = default;
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;
  ~Call();                     // drops the workspace where the call failed mid-launch
};

// The bytes of a streaming block's chunk of D (StreamShape: 16 KB); the lab passes its shapes'.
constexpr int64_t kShippedChunkBytes = int64_t(StreamShape::kThreads) * StreamShape::kPacks * 16;

void prepare_trajectory(Call& call, Context& c, const Latents& lat, const Options& opt,
                        const TrajectoryOutputs& out, int64_t chunkBytes = kShippedChunkBytes);
void prepare_objective(Call& call, Context& c, const Rewards& rew, const float* trajectoryScore,
                       const Groups& groups, const Options& opt, const ObjectiveFactors& factors,
                       const ObjectiveOutputs& out);
void prepare_advantages(Call& call, Context& c, const Latents& lat, const Rewards& rew, const Groups& groups,
                        const Options& opt, const ObjectiveFactors& factors, const AllOutputs& out,
                        int64_t chunkBytes = kShippedChunkBytes);

// Clears the mailbox, then `launch` (which enqueues the kernel on the context's stream and returns
// the launch error).
template <class Launch>
void launch(Call& call, Launch&& launch);
void launch_checked(Call& call, cudaError_t launched);

// Waits until the kernel's last block has published (spinning on the pinned mailbox, with a
// cudaStreamQuery every 256 polls so that a failed launch ends the wait with its error).
void wait(Call& call);
// Turns the published flags into the errors the CPU backend raises (rewards, then latents, then
// trajectory scores), reading the offending value back where the message names it.
void check_flags(Call& call);

template <class Launch>
void launch(Call& call, Launch&& fn) {
  *static_cast<volatile unsigned long long*>(&call.ctx->mailbox->finished) = 0ull;
  launch_checked(call, fn(call.a, call.dtype, call.ctx->stream));
}

}  // namespace detail
}  // namespace gpu
}  // namespace otca
