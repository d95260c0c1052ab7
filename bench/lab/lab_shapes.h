// The lab's streaming shapes, tails and timeline slots (bench/lab/lab_kernels.cuh has the kernels):
// what the lab's host code needs without compiling the kernels.
#pragma once

#include <cstdint>

#include "step_args.cuh"

namespace otca {
namespace lab {

template <int Threads, int Packs, int Round, int MinBlocks>
struct Shape {
  static constexpr int kThreads = Threads, kPacks = Packs, kRound = Round, kMinBlocks = MinBlocks;
};
using Shape0 = Shape<128, 2, 4, 4>;  // 32 B/thread/state, 4 KB per block-state, 4 blocks/SM (128 regs)
using Shape1 = Shape<256, 2, 4, 2>;  // as 0 with 256 threads: 8 KB per block-state
using Shape2 = Shape<128, 4, 2, 3>;  // 64 B/thread/state, 8 KB per block-state, 3 blocks/SM (168 regs)
using Shape3 = Shape<256, 4, 1, 2>;  // the shipped StreamShape: 16 KB per block-state, 2 blocks/SM
constexpr int kShapes = 4;
constexpr int kShippedShape = 3;
static_assert(Shape3::kThreads == gpu::detail::StreamShape::kThreads && Shape3::kPacks == gpu::detail::StreamShape::kPacks &&
                  Shape3::kRound == gpu::detail::StreamShape::kRound && Shape3::kMinBlocks == gpu::detail::StreamShape::kMinBlocks,
              "shape 3 is the shipped one");

// Threads, packs and round of shape s (host side).
struct ShapeInfo {
  int threads, packs, round;
};
constexpr ShapeInfo kShapeInfo[kShapes] = {{128, 2, 4}, {256, 2, 4}, {128, 4, 2}, {256, 4, 1}};
// The bytes of D a block of shape s streams per state (prepare_advantages' chunkBytes).
constexpr int64_t chunk_bytes(int s) { return int64_t(kShapeInfo[s].threads) * kShapeInfo[s].packs * 16; }

enum Tail : int { kShipped = 0, kStreamOnly = 1, kLeanHandoff = 2 };

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

// What a lab launch carries beside the product's parameter block.
struct LabArgs {
  unsigned long long* timeline = nullptr;  // device, kTlSlots stamps; null: none
};

}  // namespace lab
}  // namespace otca
