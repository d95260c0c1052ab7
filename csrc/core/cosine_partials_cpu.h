// The CPU latent reduction: per sample i and state j, dot = <z[i,j], z[i,T]> and sq = |z[i,j]|^2.
// Internal to the CPU backend (cpu_backend.cpp and test/native use it).
#pragma once

#include <cstdint>

#include "otca.h"

namespace otca {
namespace cpu {

// The fixed partition of the reduction. It never depends on the thread count, so results are bit
// for bit the same for any number of threads:
// - a work item is (sample i, chunk c), chunk c = elements [c*kChunkElems, (c+1)*kChunkElems) of D;
//   it reads z[i,T]'s chunk once into float32, then streams every state's chunk once;
// - inside a chunk, float32 products are summed over kLanes lanes per sub-block of kBlockElems
//   elements (32 terms per lane), and each sub-block's total is added into a float64 accumulator;
// - the chunk totals of a (sample, state) are added in float64 in chunk order.
constexpr int64_t kChunkElems = 16384;  // 64 KiB of float32: the z_T chunk stays in L2
constexpr int64_t kBlockElems = 512;    // short float32 runs: relative error ~1e-7 per block
constexpr int kLanes = 16;              // independent accumulators: 4 SSE or 2 AVX registers

// Which instruction set the element loops use. Auto takes AVX2+FMA+F16C where the CPU has them
// (results then differ from Portable in the last bits, never between thread counts).
enum class Isa { Auto, Portable };

// Whether Isa::Auto runs the AVX2 path on this machine.
bool cosine_partials_have_avx2();

// Fills dot[i*(T+1) + j] and sq[i*(T+1) + j] for every sample and state, in float64, with
// `threads` threads (>= 1). Throws RangeError naming the first (sample, state) that holds a
// non-finite element, or whose float32 sums overflowed, before returning anything.
void cosine_partials(const Latents& lat, int threads, double* dot, double* sq, Isa isa = Isa::Auto);

}  // namespace cpu
}  // namespace otca
