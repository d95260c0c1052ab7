// The one parameter block every CUDA kernel of the advantage step receives (by value, as a
// __grid_constant__), and the fixed shape of the work. Internal to csrc/core/*.cu.
#pragma once

#include <cstdint>

#include "otca_math.h"

namespace otca {
namespace gpu {
namespace detail {

// H100: 132 SMs, ~3 TB/s, ~0.8 us DRAM latency -> ~2.5 MB must be in flight. A block of 128 threads
// owns a chunk of 2048 elements of one sample (16 per thread = four or two 16-byte loads per
// state) and keeps 8 16-byte loads in flight per thread; at <= 168 registers (launch bounds 3
// blocks/SM, no spills) that is 48 KB in flight per SM, 6 MB per chip. FLUX-512 (N=12, D=65536)
// gives 384 blocks: one wave on 132 SMs x 3; small blocks keep the last-wave imbalance small.
constexpr int kThreads = 128;
constexpr int kWarps = kThreads / 32;
constexpr int kElemsPerThread = 16;
constexpr int64_t kChunk = kThreads * kElemsPerThread;  // elements of D per block
constexpr int kLoadsInFlight = 8;                        // 16-byte loads per thread per round
constexpr int kStateBatch = 64;     // states whose warp sums share one shared-memory round
constexpr int kInlineStates = 64;   // state pointers passed by value; more go through statesDev
constexpr int kInlineObjectives = 16;
constexpr int kGroupCache = 1024;   // rewards (G*K) and scores (G) of a group staged in shared memory

enum Mode : int { kTrajectory = 1, kObjective = 2, kBoth = 3 };

constexpr unsigned long long kNoFlag = ~0ull;

// Device-side bookkeeping at the front of every workspace; all counters return to 0 (flags to
// kNoFlag) by the end of each launch, so a workspace is initialised once, at allocation.
struct Bookkeeping {
  unsigned long long latentFlag;  // min over i*(T+1)+j of (sample, state) pairs with a non-finite sum
  unsigned long long rewardFlag;  // min over i*K+k of non-finite rewards
  unsigned long long scoreFlag;   // min over i of non-finite trajectory scores (objective-only)
  unsigned int done;              // samples (trajectory) or groups finished
  unsigned int pad;
  // followed by sampleCount[nCapacity] and groupCount[nCapacity] (unsigned int)
};

// What the host reads back (pinned, mapped): written by the launch's last block.
struct Mailbox {
  unsigned long long finished;  // 1 once the last block published; the host sets 0 before launch
  unsigned long long latentFlag, rewardFlag, scoreFlag;
};

struct StepArgs {
  const void* states[kInlineStates];
  const void* const* statesDev;  // all T+1 pointers (device memory) when T+1 > kInlineStates
  int64_t N = 0, T = 0, D = 0, stride = 0, chunks = 0, G = 1, B = 0, K = 0;
  const void* rewards = nullptr;
  int rewardsF64 = 0;
  int mode = kBoth;
  const float* qIn = nullptr;  // objective-only: the caller's trajectory scores
  math::Params p;
  double weights[kInlineObjectives];  // objectiveWeights (all 1 when none), K <= kInlineObjectives
  double scale[kInlineObjectives];
  const double* weightsDev = nullptr;  // K > kInlineObjectives: both arrays in device memory
  const double* scaleDev = nullptr;
  // outputs (null = not requested)
  float *S = nullptr, *dS = nullptr, *wbar = nullptr, *w = nullptr, *q = nullptr;
  float *A = nullptr, *e = nullptr, *lam = nullptr, *c = nullptr, *f = nullptr, *adv = nullptr;
  // workspace
  Bookkeeping* book = nullptr;
  unsigned int* sampleCount = nullptr;
  unsigned int* groupCount = nullptr;
  double* part = nullptr;   // [N][T+1][chunks][2] chunk partials (dot, sq)
  double* sums = nullptr;   // [N][T+1][2]
  double* Sd = nullptr;     // [N][T+1] cosine in float64
  double* prod = nullptr;   // [N][T] wbar*dS, summed in index order for q
  float* wF = nullptr;      // [N][T] w (the caller's stepWeights, or scratch)
  float* qF = nullptr;      // [N]    q as float32 (the caller's trajectoryScore, or scratch)
  float* fF = nullptr;      // [N]    f as float32
  double* Ad = nullptr;     // [N][K] A in float64
  double* gstat = nullptr;  // [B][K+1][2] group centre and spread per objective (+ R)
  Mailbox* mailbox = nullptr;
};

}  // namespace detail
}  // namespace gpu
}  // namespace otca
