// The one parameter block every CUDA kernel of the advantage step receives (by value, as a
// __grid_constant__), and the fixed shape of the work. Internal to csrc/core/*.cu.
#pragma once

#include <cstdint>

#include "otca_math.h"

namespace otca {
namespace gpu {
namespace detail {

// H100: 132 SMs, ~3 TB/s, ~0.8-1.5 us loaded DRAM latency -> several MB must be in flight.
// A block owns a chunk of one sample: every thread holds a fixed number of BYTES of every state
// (kPacks 16-byte packs: the same bytes per block for float32 and 16-bit latents, so bf16 blocks
// are not half-empty), z_T's packs stay in registers as raw bits, and the next round of kRound
// states is loaded while the current one is reduced (two rounds of kRound*kPacks 16-byte loads in
// flight per thread). The streaming shape is a compile-time Variant; the addon builds only
// kDefaultVariant, the native harness (-DOTCA_GPU_ALL_VARIANTS) builds all of them and times each.
struct Variant {
  int threads;    // per block
  int packs;      // 16-byte packs per thread per state
  int round;      // states loaded together (the next round is prefetched while this one is summed)
  int minBlocks;  // launch bounds: blocks per SM (register cap 65536 / (threads * minBlocks))
};
// One launch each (the two-launch design of bench/NOTES.md section 3 lost on the H100, section 4,
// and was removed).
constexpr Variant kVariants[] = {
    {128, 2, 4, 4},  // 0: 32 B/thread/state, 4 KB per block-state; chunk 1024 f32 / 2048 bf16;
                     //    8-16 loads (128-256 B) in flight per thread, 4 blocks/SM (128 regs)
    {256, 2, 4, 2},  // 1: as 0 with 256 threads: 8 KB per block-state, chunk 2048 f32 / 4096 bf16
    {128, 4, 2, 3},  // 2: 64 B/thread/state, 8 KB per block-state, chunk 2048 f32 / 4096 bf16,
                     //    3 blocks/SM (168 regs)
    {256, 4, 1, 2},  // 3: 64 B/thread/state, one state per round (+1 prefetched), 16 KB per
                     //    block-state, chunk 4096 f32 / 8192 bf16, 2 blocks/SM (128 regs)
};
constexpr int kVariantCount = sizeof(kVariants) / sizeof(kVariants[0]);
// THE ONE CONSTANT TO SWITCH after a timing run (the addon compiles only this variant).
constexpr int kDefaultVariant = 3;  // best in runs 2 and 3 (H100)

// Elements of D per block for a variant and an element size in bytes (host side; the kernels
// use the same product of their template constants: threads * packs * 16 / elemBytes).
constexpr int64_t chunk_elems(int variant, int elemBytes) {
  return static_cast<int64_t>(kVariants[variant].threads) * kVariants[variant].packs * (16 / elemBytes);
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
  int64_t N = 0, T = 0, D = 0, stride = 0, chunks = 0, G = 1, B = 0, K = 0;
  const void* rewards = nullptr;
  int rewardsF64 = 0;
  int mode = kBoth;
  int streamOnly = 0;  // testing: stop after the chunk partials (times the streaming part alone)
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
  // Testing only (native harness, OTCA_GPU_TIMELINE): %globaltimer stamps, see Timeline below.
  unsigned long long* timeline = nullptr;
};

// Slots of the debug timeline (ns of %globaltimer). "min" slots keep the earliest stamp (the
// harness initialises them to ~0), "max" slots the latest (initialised to 0).
enum TimelineSlot : int {
  kTlEntryFirst = 0,    // min: a streaming block starts
  kTlEntryLast,         // max: the last streaming block starts
  kTlStreamEndFirst,    // min: a block has written its chunk partials
  kTlStreamEndLast,     // max: the last block has written its chunk partials
  kTlSampleStart,       // max: the last sample finish starts (after its hand-off)
  kTlSampleEnd,         // max: the last sample finish ends
  kTlGroupStart,        // max: the last group finish starts (after its hand-off)
  kTlGroupEnd,          // max: the last group finish ends
  kTlPublishStart,      // max: the publishing thread starts (after the last hand-off)
  kTlPublishEnd,        // max: mailbox written (after __threadfence_system)
  kTlSlots
};
constexpr unsigned kTlMinSlots = (1u << kTlEntryFirst) | (1u << kTlStreamEndFirst);

}  // namespace detail
}  // namespace gpu
}  // namespace otca
