// The one parameter block every CUDA kernel of the advantage step receives (by value, as a
// __grid_constant__), and the fixed shape of the work. Internal to csrc/cuda (and the lab, which includes the stages).
#pragma once

#include <cstdint>

#include "groups.h"
#include "options.h"

namespace otca {
namespace gpu {
namespace detail {

// The shape of the streaming stage. A block owns a chunk of one sample: every thread holds a fixed
// number of BYTES of every state (kPacks 16-byte packs: the same bytes per block for float32 and
// 16-bit latents, so bf16 blocks are not half-empty), z_T's packs stay in registers as raw bits,
// and the next round of kRound states is loaded while the current one is reduced. The shipped
// kernel has one shape; the lab (bench/lab/) instantiates the same stages with others and times them.
// 256 threads x 4 packs (64 B per thread per state, 16 KB per block-state, chunk 4096 float32 or
// 8192 bf16 elements), one state per round (+1 prefetched), 2 blocks per SM (128 registers): the best
// of the four shapes timed on the H100 in runs 2 and 3 (bench/NOTES.md).
struct StreamShape {
  static constexpr int kThreads = 256;   // per block
  static constexpr int kPacks = 4;       // 16-byte packs per thread per state
  static constexpr int kRound = 1;       // states loaded together
  static constexpr int kMinBlocks = 2;   // launch bounds: register cap 65536 / (threads * minBlocks)
};

// Elements of D per block for a shape and an element size in bytes.
template <class Shape>
constexpr int64_t chunk_elems(int elemBytes) {
  return static_cast<int64_t>(Shape::kThreads) * Shape::kPacks * (16 / elemBytes);
}

constexpr int kThreads = 128;       // the objective-only kernel's block
constexpr int kMaxWarps = 8;        // 256 threads at most
constexpr int kStateBatch = 64;     // states whose warp sums share one shared-memory round
constexpr int kInlineStates = 64;   // state pointers passed by value; more go through statesDev
constexpr int kInlineObjectives = 16;
constexpr int kGroupCache = 1024;   // rewards (G*K) and scores (G) of a group staged in shared memory

enum Mode : int { kTrajectory = 1, kObjective = 2, kBoth = 3 };

constexpr unsigned long long kNoFlag = ~0ull;

// Device-side bookkeeping at the front of every workspace; all counters return to 0 (flags to
// kNoFlag) by the end of each launch, so a workspace is initialised once, at allocation.
struct Bookkeeping {
  unsigned long long latentFlag;  // min over i*(T+1)+j of (sample, state) pairs holding a non-finite element
  unsigned long long rewardFlag;  // min over i*K+k of rewards that are non-finite or past the limit
  unsigned long long scoreFlag;   // min over i of bad trajectory scores (objective-only)
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
  int64_t N = 0, T = 0, D = 0, stride = 0, chunks = 0, K = 0;
  Groups groups;  // device arrays where groupIds were given
  const void* rewards = nullptr;
  int rewardsF64 = 0;
  int64_t rewardRows = 1;  // T for per-step rewards [N, T, K], else 1: the rows of f, lam, A and c per sample
  int mode = kBoth;
  const float* qIn = nullptr;  // objective-only: the caller's trajectory scores
  Options p;
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
  float* fF = nullptr;      // [N][rewardRows] f as float32
  double* Ad = nullptr;     // [N][K] A in float64
  double* fD = nullptr;     // [N][rewardRows] f before the fused normalisation (fusedNormalization)
  double* gstat = nullptr;  // [B][K+1][2] group centre and spread per objective (+ R)
  Mailbox* mailbox = nullptr;
};

// The parameter blocks of the enqueue mode's small kernels (enqueue.cuh).
// up to kUploadWords 64-bit words (state pointers, objective factors) carried by the launch itself
constexpr int kUploadWords = 256;
struct WordUpload {
  unsigned long long words[kUploadWords];
  unsigned long long* out;
  int count;
};

// every output of a run (AllOutputs' order) and its length, and the run's status word
constexpr int kPoisonOutputs = 11;
struct Poison {
  float* out[kPoisonOutputs];
  int64_t count[kPoisonOutputs];
  const Mailbox* status;
  int mode;
};

}  // namespace detail
}  // namespace gpu
}  // namespace otca
