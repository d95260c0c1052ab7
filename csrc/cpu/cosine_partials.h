// The CPU latent reduction: per sample i and state j, dot = <z[i,j], z[i,T]> and sq = |z[i,j]|^2.
// Internal to the CPU backend (cpu_backend.cpp and test/native use it).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "otca.h"

namespace otca {
namespace cpu {

// The fixed partition of the reduction. It never depends on the thread count, so results are bit
// for bit the same for any number of threads:
// - a work item is (sample i, chunk c), chunk c = elements [c*kChunkElems, (c+1)*kChunkElems) of D;
//   it reads z[i,T]'s chunk once into float32, then streams every state's chunk once;
// - inside a chunk (portable path; the AVX2 path's own fixed order, with the same 8-element float32
//   runs, is described in cosine_partials_cpu.cpp), each state's elements go in groups of
//   kGroupElems = kLanes * kRun: lane l
//   sums its kRun float32 products, four 8-lane vectors are added pairwise in float32, and the
//   resulting eight float32 totals (each covering <= 64 elements) are added into eight float64
//   accumulators, summed in lane order at the end of the chunk. Float32 rounding thus only
//   touches runs of <= 64 elements: sums are accurate to ~1e-9 relative at D = 1e6, not 1e-7;
// - the chunk totals of a (sample, state) are added in float64 in chunk order.
constexpr int64_t kChunkElems = 16384;  // 64 KiB of float32: the z_T chunk stays in L2
constexpr int kLanes = 32;              // independent float32 accumulators: 4 AVX registers
constexpr int kRun = 2;                 // float32 products per lane before the float64 step
constexpr int64_t kGroupElems = int64_t(kLanes) * kRun;  // elements per float64 step
static_assert(kGroupElems <= 64 && kChunkElems % kGroupElems == 0, "short float32 runs only");

// Which instruction set the element loops use. Auto takes AVX2+FMA+F16C where the CPU has them
// (results then differ from Portable in the last bits, never between thread counts).
enum class Isa { Auto, Portable };

// Whether Isa::Auto runs the AVX2 path on this machine.
bool cosine_partials_have_avx2();

// Fills dot[i*(T+1) + j] and sq[i*(T+1) + j] for every sample and state, in float64, with
// `threads` threads (>= 1). A sample whose float32 sums are not good enough (math::needs_exact_sums:
// a non-finite or overflowed sum, a tiny norm, a trajectory that barely gains alignment) is summed
// again in float64. Throws RangeError naming the first (sample, state) that holds a non-finite
// element, before returning anything.
// The reduction's scratch (per-chunk partial sums, z_T's converted chunks), kept by a workspace so
// that a repeated call of one shape allocates nothing.
struct Reduction {
  std::vector<double> dotPartials, sqPartials;
  std::unique_ptr<float[]> scratch;
  size_t scratchFloats = 0;
};
void cosine_partials(const Latents& lat, int threads, double* dot, double* sq, Reduction& scratch,
                     Isa isa = Isa::Auto);

}  // namespace cpu
}  // namespace otca
