// The streaming reduction of the CPU backend: one pass over the latents, fixed work partition
// (see cosine_partials_cpu.h), float32 element sums, float64 combination in a fixed order.
#include "cosine_partials.h"
#include "internal.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "dtype.h"
#include "thread_pool.h"

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define OTCA_X86_AVX2_PATH 1
#include <immintrin.h>
#define OTCA_TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))
#endif

#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"  // vectors never cross a non-inlined call
#define OTCA_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define OTCA_ALWAYS_INLINE inline
#endif

namespace otca {
namespace cpu {
namespace {

#if defined(__GNUC__) || defined(__clang__)
#define OTCA_VECTOR_LANES 1
// Eight float32 lanes as a GCC/Clang vector (one AVX register, or two SSE ones). Written out
// because GCC's auto-vectoriser turns the plain lane loop below into shuffles.
typedef float F32x8 __attribute__((vector_size(32)));
typedef uint16_t U16x8 __attribute__((vector_size(16)));
typedef uint32_t U32x8 __attribute__((vector_size(32)));
#endif

// Element loaders. one(p): element p[0] as float32; eight(p): p[0..7] as a vector; chunk(src,
// n, buffer): n elements as float32, in place (float32) or converted into `buffer`. Every
// conversion is exact, so every path sums the same float32 values.
struct LoadF32 {
  using Elem = float;
  static OTCA_ALWAYS_INLINE float one(const float* p) { return *p; }
#ifdef OTCA_VECTOR_LANES
  static OTCA_ALWAYS_INLINE void eight(const float* p, F32x8& v) { std::memcpy(&v, p, sizeof v); }
#endif
  static OTCA_ALWAYS_INLINE const float* chunk(const float* src, int64_t, float*) { return src; }
};

struct LoadBF16 {
  using Elem = uint16_t;
  static OTCA_ALWAYS_INLINE float one(const uint16_t* p) { return dtype::bf16_to_float(*p); }
#ifdef OTCA_VECTOR_LANES
  static OTCA_ALWAYS_INLINE void eight(const uint16_t* p, F32x8& v) {
    U16x8 h;
    std::memcpy(&h, p, sizeof h);
    const U32x8 bits = __builtin_convertvector(h, U32x8) << 16;  // bfloat16 = top half of float32
    std::memcpy(&v, &bits, sizeof v);
  }
#endif
  static OTCA_ALWAYS_INLINE const float* chunk(const uint16_t* src, int64_t n, float* buffer) {
    for (int64_t k = 0; k < n; ++k) buffer[k] = dtype::bf16_to_float(src[k]);
    return buffer;
  }
};

struct LoadF16 {
  using Elem = uint16_t;
  static OTCA_ALWAYS_INLINE float one(const uint16_t* p) { return dtype::f16_to_float(*p); }
#ifdef OTCA_VECTOR_LANES
  // dtype::f16_to_float on eight lanes at once (integer ops and masks, no per-element branches)
  static OTCA_ALWAYS_INLINE void eight(const uint16_t* p, F32x8& v) {
    U16x8 h;
    std::memcpy(&h, p, sizeof h);
    const U32x8 w = __builtin_convertvector(h, U32x8);
    const U32x8 magnitude = (w & 0x7fffu) << 13;
    const U32x8 exponent = magnitude & 0x0f800000u;
    U32x8 bits = magnitude + 0x38000000u;
    bits += reinterpret_cast<U32x8>(exponent == 0x0f800000u) & 0x38000000u;
    // vector casts reinterpret the bits (GCC/Clang vector extension semantics)
    const F32x8 subnormal = (F32x8)(bits + 0x00800000u) - dtype::float_from_bits(0x38800000u);
    const U32x8 isSubnormal = reinterpret_cast<U32x8>(exponent == 0u);
    bits = ((U32x8)subnormal & isSubnormal) | (bits & ~isSubnormal);
    v = (F32x8)(bits | ((w & 0x8000u) << 16));
  }
#endif
  static OTCA_ALWAYS_INLINE const float* chunk(const uint16_t* src, int64_t n, float* buffer) {
    for (int64_t k = 0; k < n; ++k) buffer[k] = dtype::f16_to_float(src[k]);
    return buffer;
  }
};


// Sums one group of kGroupElems elements of x against z_T (already float32) into the float64
// accumulators. Lane l (0..kLanes-1) takes the kRun elements l, l + kLanes, ...: its float32
// products are summed in element order (a run of kRun terms), then the kLanes/8 partial vectors
// of eight lanes are added pairwise in float32 ((v0 + v1) + (v2 + v3)), so every float32 total
// covers at most kGroupElems = 64 elements. Each of the eight float32 totals is then added, in
// float64, into accumulator lane l % 8; the caller adds the eight accumulator lanes in lane order.
// Every path (AVX2, portable vectors, plain scalar) does these same operations in this order.
#ifdef OTCA_VECTOR_LANES
typedef float F32x4 __attribute__((vector_size(16)));
typedef double F64x4 __attribute__((vector_size(32)));
struct F64x8 {  // two halves: a 64-byte vector type spills through the stack without AVX-512
  F64x4 lo, hi;
};

OTCA_ALWAYS_INLINE void add_to(F64x8& acc, const F32x8& v) {
  F32x4 lo, hi;
  std::memcpy(&lo, &v, sizeof lo);
  std::memcpy(&hi, reinterpret_cast<const char*>(&v) + sizeof lo, sizeof hi);
  acc.lo += __builtin_convertvector(lo, F64x4);
  acc.hi += __builtin_convertvector(hi, F64x4);
}

template <class Load>
OTCA_ALWAYS_INLINE void group_dot_sq(const typename Load::Elem* x, const float* zT, F64x8& dot, F64x8& sq) {
  static_assert(kLanes == 32 && kRun == 2, "the vector form below holds 4 x 8 lanes, 2 terms each");
  F32x8 d[4], s[4];
  for (int q = 0; q < 4; ++q) {
    F32x8 v, y;
    Load::eight(x + 8 * q, v);
    LoadF32::eight(zT + 8 * q, y);
    d[q] = v * y;
    s[q] = v * v;
  }
  for (int q = 0; q < 4; ++q) {
    F32x8 v, y;
    Load::eight(x + kLanes + 8 * q, v);
    LoadF32::eight(zT + kLanes + 8 * q, y);
    d[q] += v * y;
    s[q] += v * v;
  }
  add_to(dot, (d[0] + d[1]) + (d[2] + d[3]));
  add_to(sq, (s[0] + s[1]) + (s[2] + s[3]));
}

OTCA_ALWAYS_INLINE double lane_sum(const F64x8& v) {
  double total = 0.0;
  for (int l = 0; l < 4; ++l) total += v.lo[l];
  for (int l = 0; l < 4; ++l) total += v.hi[l];
  return total;
}
#else
struct F64x8 {
  double v[8] = {};
};

template <class Load>
inline void group_dot_sq(const typename Load::Elem* x, const float* zT, F64x8& dot, F64x8& sq) {
  static_assert(kLanes == 32 && kRun == 2, "the form below holds 4 x 8 lanes, 2 terms each");
  float d[4][8], s[4][8];
  for (int q = 0; q < 4; ++q) {
    for (int l = 0; l < 8; ++l) {
      const float v = Load::one(x + 8 * q + l);
      d[q][l] = v * zT[8 * q + l];
      s[q][l] = v * v;
    }
  }
  for (int q = 0; q < 4; ++q) {
    for (int l = 0; l < 8; ++l) {
      const float v = Load::one(x + kLanes + 8 * q + l);
      d[q][l] += v * zT[kLanes + 8 * q + l];
      s[q][l] += v * v;
    }
  }
  for (int l = 0; l < 8; ++l) {
    dot.v[l] += double((d[0][l] + d[1][l]) + (d[2][l] + d[3][l]));
    sq.v[l] += double((s[0][l] + s[1][l]) + (s[2][l] + s[3][l]));
  }
}

inline double lane_sum(const F64x8& a) {
  double total = 0.0;
  for (int l = 0; l < 8; ++l) total += a.v[l];
  return total;
}
#endif

// <x, z_T> and |x|^2 over n elements: whole groups in place, the last n % kGroupElems elements
// through a zero-padded copy (x * 0 adds exactly nothing), so the tail takes the same path.
template <class Load>
OTCA_ALWAYS_INLINE void run_dot_sq(const typename Load::Elem* x, const float* zT, int64_t n, double& dot,
                                   double& sq) {
  F64x8 dotAcc{}, sqAcc{};
  int64_t k = 0;
  for (; k + kGroupElems <= n; k += kGroupElems) group_dot_sq<Load>(x + k, zT + k, dotAcc, sqAcc);
  if (k < n) {
    float xs[kGroupElems] = {}, ys[kGroupElems] = {};
    for (int64_t m = 0; k + m < n; ++m) {
      xs[m] = Load::one(x + k + m);
      ys[m] = zT[k + m];
    }
    group_dot_sq<LoadF32>(xs, ys, dotAcc, sqAcc);
  }
  dot = lane_sum(dotAcc);
  sq = lane_sum(sqAcc);
}

// z_T's float32 buffer is a whole number of these (the AVX2 path fills whole groups, zero-padded)
constexpr int64_t kScratchRound = 64;

struct Item {
  const Latents* lat;
  int64_t sample, chunk;
  double* dot;  // [T+1] partials of this item
  double* sq;
  float* zTBuffer;  // kChunkElems floats
};

// One work item: z_T's chunk converted once, then every state's chunk streamed once.
template <class Load>
OTCA_ALWAYS_INLINE void item_partials(const Item& it) {
  using Elem = typename Load::Elem;
  const Latents& lat = *it.lat;
  const int64_t begin = it.chunk * kChunkElems;
  const int64_t n = std::min(kChunkElems, lat.D - begin);
  const int64_t offset = it.sample * lat.sampleStride + begin;
  const float* zT = Load::chunk(static_cast<const Elem*>(lat.states[lat.T]) + offset, n, it.zTBuffer);
  for (int64_t j = 0; j <= lat.T; ++j) {
    double dot, sq;
    if (j == lat.T) run_dot_sq<LoadF32>(zT, zT, n, dot, sq);  // z_T: reuse the converted chunk
    else run_dot_sq<Load>(static_cast<const Elem*>(lat.states[j]) + offset, zT, n, dot, sq);
    it.dot[j] = dot;
    it.sq[j] = sq;
  }
}

using ItemFn = void (*)(const Item&);

void item_f32(const Item& it) { item_partials<LoadF32>(it); }
void item_bf16(const Item& it) { item_partials<LoadBF16>(it); }
void item_f16(const Item& it) { item_partials<LoadF16>(it); }
#ifdef OTCA_X86_AVX2_PATH
// ------------------------------------------------------------------ the AVX2 + FMA + F16C path
// Written with intrinsics (the compiler's code for the generic loops above spent more instructions
// on shuffles and spills than on products). Its own fixed order, the same for every thread count:
// - a group is 64 elements of a state, read as four blocks of 16; a block gives two float32
//   vectors (load16 below: for bfloat16 the even and the odd elements, so each takes one integer
//   op; z_T's float32 copy is stored in that same lane order, so products pair the same elements);
// - two float32 accumulators per sum (first vector of a block, second vector of a block), each
//   taking its 4 products of the group in block order (one multiply, then three FMAs); their sum
//   gives eight float32 totals of 8 elements each, which are widened and added, lo half + hi half,
//   into one float64 accumulator of four lanes per sum (float32 rounding never spans more than 8
//   elements, as in the portable path);
// - the four float64 lanes are added in lane order at the end of the chunk.
// Two states are streamed at once (the z_T vector is loaded once for both), with software prefetch
// (struct Prefetch). Elements past n are zeros, added exactly, so the tail group takes the same path.
#define OTCA_AVX2_INLINE inline __attribute__((always_inline, target("avx2,fma,f16c")))

struct Avx2F32 {
  using Elem = float;
  static OTCA_AVX2_INLINE void load16(const float* p, __m256& a, __m256& b) {
    a = _mm256_loadu_ps(p);
    b = _mm256_loadu_ps(p + 8);
  }
};

struct Avx2BF16 {  // bfloat16 = the top half of a float32: even elements shifted up, odd masked
  using Elem = uint16_t;
  static OTCA_AVX2_INLINE void load16(const uint16_t* p, __m256& a, __m256& b) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    a = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
    b = _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32(int32_t(0xffff0000u))));
  }
};

struct Avx2F16 {  // VCVTPH2PS: exact, subnormals included
  using Elem = uint16_t;
  static OTCA_AVX2_INLINE void load16(const uint16_t* p, __m256& a, __m256& b) {
    a = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    b = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 8)));
  }
};

constexpr int64_t kAvx2Group = 64;
static_assert(kAvx2Group == kScratchRound && kChunkElems % kAvx2Group == 0, "whole groups");

// Eight float32 totals -> float64, lo half + hi half, into acc.
OTCA_AVX2_INLINE void fold(__m256 v, __m256d& acc) {
  const __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
  const __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
  acc = _mm256_add_pd(acc, _mm256_add_pd(lo, hi));
}

OTCA_AVX2_INLINE double lanes_in_order(__m256d acc) {
  alignas(32) double l[4];
  _mm256_store_pd(l, acc);
  return ((l[0] + l[1]) + l[2]) + l[3];
}

// One group of S states against z_T's 64 float32 values.
template <class L, int S>
OTCA_AVX2_INLINE void group_avx2(const typename L::Elem* const* x, const float* zT, __m256d* dotAcc,
                                 __m256d* sqAcc) {
  __m256 d0[S], d1[S], s0[S], s1[S];
  {
    const __m256 y0 = _mm256_loadu_ps(zT), y1 = _mm256_loadu_ps(zT + 8);
    for (int s = 0; s < S; ++s) {
      __m256 a, b;
      L::load16(x[s], a, b);
      d0[s] = _mm256_mul_ps(a, y0);
      d1[s] = _mm256_mul_ps(b, y1);
      s0[s] = _mm256_mul_ps(a, a);
      s1[s] = _mm256_mul_ps(b, b);
    }
  }
  for (int r = 1; r < 4; ++r) {
    const __m256 y0 = _mm256_loadu_ps(zT + 16 * r), y1 = _mm256_loadu_ps(zT + 16 * r + 8);
    for (int s = 0; s < S; ++s) {
      __m256 a, b;
      L::load16(x[s] + 16 * r, a, b);
      d0[s] = _mm256_fmadd_ps(a, y0, d0[s]);
      d1[s] = _mm256_fmadd_ps(b, y1, d1[s]);
      s0[s] = _mm256_fmadd_ps(a, a, s0[s]);
      s1[s] = _mm256_fmadd_ps(b, b, s1[s]);
    }
  }
  for (int s = 0; s < S; ++s) {
    fold(_mm256_add_ps(d0[s], d1[s]), dotAcc[s]);
    fold(_mm256_add_ps(s0[s], s1[s]), sqAcc[s]);
  }
}

// Software prefetch for up to three streams of one call: each runs `bytes` from cur[q], then on into
// next[q] (the stream the following call reads; nullptr: none), kPrefetchBytes ahead of the loads.
// The hardware prefetchers alone leave the DRAM reads of these short (32-64 KiB) streams well
// below the bandwidth a plain sequential read gets.
struct Prefetch {
  const char* cur[3];
  const char* next[3];
  int count;
  int64_t bytes;
};

constexpr int64_t kPrefetchBytes = 6144;  // measured best of 2-8 KiB (FLUX-512 x8, 1 and 2 threads)

OTCA_AVX2_INLINE void prefetch_group(const Prefetch& pf, int64_t at, int64_t groupBytes) {
  for (int q = 0; q < pf.count; ++q) {
    for (int64_t line = 0; line < groupBytes; line += 64) {
      const int64_t off = at + kPrefetchBytes + line;  // never forms an address outside the streams
      if (off < pf.bytes) _mm_prefetch(pf.cur[q] + off, _MM_HINT_T0);
      else if (pf.next[q] && off - pf.bytes < pf.bytes) _mm_prefetch(pf.next[q] + (off - pf.bytes), _MM_HINT_T0);
    }
  }
}

// <x_s, z_T> and |x_s|^2 over n elements for S states. zT holds the whole groups' float32 values
// in load16 order; zTail the last partial group's, zero-padded to 64.
template <class L, int S>
OTCA_AVX2_INLINE void states_avx2(const typename L::Elem* const* xs, const float* zT, const float* zTail,
                                  int64_t n, const Prefetch& pf, double* dot, double* sq) {
  using Elem = typename L::Elem;
  __m256d dotAcc[S], sqAcc[S];
  for (int s = 0; s < S; ++s) dotAcc[s] = sqAcc[s] = _mm256_setzero_pd();
  const int64_t whole = n / kAvx2Group * kAvx2Group;
  constexpr int64_t groupBytes = kAvx2Group * sizeof(Elem);
  for (int64_t k = 0; k < whole; k += kAvx2Group) {
    prefetch_group(pf, k * int64_t(sizeof(Elem)), groupBytes);
    const Elem* p[S];
    for (int s = 0; s < S; ++s) p[s] = xs[s] + k;
    group_avx2<L, S>(p, zT + k, dotAcc, sqAcc);
  }
  if (whole < n) {
    alignas(32) Elem pad[S][kAvx2Group];
    const Elem* p[S];
    for (int s = 0; s < S; ++s) {
      std::memset(pad[s], 0, sizeof pad[s]);
      std::memcpy(pad[s], xs[s] + whole, size_t(n - whole) * sizeof(Elem));
      p[s] = pad[s];
    }
    group_avx2<L, S>(p, zTail, dotAcc, sqAcc);
  }
  for (int s = 0; s < S; ++s) {
    dot[s] = lanes_in_order(dotAcc[s]);
    sq[s] = lanes_in_order(sqAcc[s]);
  }
}

// z_T's chunk as float32 in load16 order, zero-padded to whole groups (buffer: round_up(n, 64)).
template <class L>
OTCA_AVX2_INLINE void convert_avx2(const typename L::Elem* src, int64_t n, const Prefetch& pf, float* buffer) {
  using Elem = typename L::Elem;
  const int64_t whole = n / kAvx2Group * kAvx2Group;
  for (int64_t k = 0; k < whole; k += kAvx2Group) {
    prefetch_group(pf, k * int64_t(sizeof(Elem)), kAvx2Group * sizeof(Elem));
    for (int64_t b16 = k; b16 < k + kAvx2Group; b16 += 16) {
      __m256 a, b;
      L::load16(src + b16, a, b);
      _mm256_storeu_ps(buffer + b16, a);
      _mm256_storeu_ps(buffer + b16 + 8, b);
    }
  }
  if (whole < n) {
    alignas(32) Elem pad[kAvx2Group] = {};
    std::memcpy(pad, src + whole, size_t(n - whole) * sizeof(Elem));
    for (int k = 0; k < kAvx2Group; k += 16) {
      __m256 a, b;
      L::load16(pad + k, a, b);
      _mm256_storeu_ps(buffer + whole + k, a);
      _mm256_storeu_ps(buffer + whole + k + 8, b);
    }
  }
}

template <class L>
OTCA_AVX2_INLINE void item_avx2(const Item& it) {
  using Elem = typename L::Elem;
  const Latents& lat = *it.lat;
  const int64_t begin = it.chunk * kChunkElems;
  const int64_t n = std::min(kChunkElems, lat.D - begin);
  const int64_t whole = n / kAvx2Group * kAvx2Group;
  const int64_t offset = it.sample * lat.sampleStride + begin;
  const Elem* zTsrc = static_cast<const Elem*>(lat.states[lat.T]) + offset;
  const float* zT;
  const float* zTail;
  alignas(32) float zTpad[kAvx2Group];
  if (std::is_same<Elem, float>::value) {  // float32: read in place, only the tail is copied
    zT = reinterpret_cast<const float*>(zTsrc);
    std::memset(zTpad, 0, sizeof zTpad);
    std::memcpy(zTpad, zT + whole, size_t(n - whole) * sizeof(float));
    zTail = zTpad;
  } else {
    Prefetch pf{{reinterpret_cast<const char*>(zTsrc)}, {nullptr}, 1, n * int64_t(sizeof(Elem))};
    if (lat.T > 0) pf.next[0] = reinterpret_cast<const char*>(static_cast<const Elem*>(lat.states[0]) + offset);
    convert_avx2<L>(zTsrc, n, pf, it.zTBuffer);
    zT = it.zTBuffer;
    zTail = it.zTBuffer + whole;
  }
  const auto state = [&](int64_t j) { return static_cast<const Elem*>(lat.states[j]) + offset; };
  const auto bytes = [](const Elem* p) { return reinterpret_cast<const char*>(p); };
  const int64_t T = lat.T;
  // states in pairs (j, j+1), then a last single one when T is odd; each call prefetches the
  // streams of the next (float32: z_T, read in place, with the first call)
  Prefetch pf{};
  pf.bytes = n * int64_t(sizeof(Elem));
  const bool zTInPlace = std::is_same<Elem, float>::value;
  int64_t j = 0;
  while (j < T) {
    const int S = T - j >= 2 ? 2 : 1;
    const int64_t nextJ = j + S;
    pf.count = 0;
    for (int s = 0; s < S; ++s) {
      pf.cur[pf.count] = bytes(state(j + s));
      pf.next[pf.count] = nextJ + s < T ? bytes(state(nextJ + s)) : nullptr;
      ++pf.count;
    }
    if (zTInPlace && j == 0) {
      pf.cur[pf.count] = bytes(zTsrc);
      pf.next[pf.count] = nullptr;
      ++pf.count;
    }
    double dot[2], sq[2];
    if (S == 2) {
      const Elem* xs[2] = {state(j), state(j + 1)};
      states_avx2<L, 2>(xs, zT, zTail, n, pf, dot, sq);
    } else {
      const Elem* xs[1] = {state(j)};
      states_avx2<L, 1>(xs, zT, zTail, n, pf, dot, sq);
    }
    for (int s = 0; s < S; ++s) it.dot[j + s] = dot[s], it.sq[j + s] = sq[s];
    j = nextJ;
  }
  // z_T against itself, from its float32 values (in place or the converted chunk): cached
  pf.count = 0;
  const float* self[1] = {zT};
  double dot, sq;
  if (zTInPlace) states_avx2<Avx2F32, 1>(self, zT, zTail, n, pf, &dot, &sq);
  else states_avx2<Avx2F32, 1>(self, zT, zTail, whole + (whole < n ? kAvx2Group : 0), pf, &dot, &sq);
  it.dot[T] = dot;
  it.sq[T] = sq;
}

OTCA_TARGET_AVX2 void item_f32_avx2(const Item& it) { item_avx2<Avx2F32>(it); }
OTCA_TARGET_AVX2 void item_bf16_avx2(const Item& it) { item_avx2<Avx2BF16>(it); }
OTCA_TARGET_AVX2 void item_f16_avx2(const Item& it) { item_avx2<Avx2F16>(it); }
#endif

bool detect_avx2() {
#ifdef OTCA_X86_AVX2_PATH
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
         __builtin_cpu_supports("f16c");
#else
  return false;
#endif
}

ItemFn item_function(DType dt, bool avx2) {
#ifdef OTCA_X86_AVX2_PATH
  if (avx2) {
    if (dt == DType::Float32) return item_f32_avx2;
    if (dt == DType::BFloat16) return item_bf16_avx2;
    if (dt == DType::Float16) return item_f16_avx2;
  }
#endif
  (void)avx2;
  if (dt == DType::Float32) return item_f32;
  if (dt == DType::BFloat16) return item_bf16;
  if (dt == DType::Float16) return item_f16;
  throw TypeError(std::string("Expected dtype float32, float16 or bfloat16 for latents but received ") +
                  dtype_name(dt));
}

float element(const Latents& lat, int64_t i, int64_t j, int64_t d) {
  const int64_t at = i * lat.sampleStride + d;
  switch (lat.dtype) {
    case DType::Float32: return static_cast<const float*>(lat.states[j])[at];
    case DType::BFloat16: return dtype::bf16_to_float(static_cast<const uint16_t*>(lat.states[j])[at]);
    default: return dtype::f16_to_float(static_cast<const uint16_t*>(lat.states[j])[at]);
  }
}

// Sample i's sums recomputed in float64 (math::needs_exact_sums says when): every product of two
// float32 values is exact in float64, so S is right at any finite scale. Throws RangeError naming
// the first non-finite element's state, in state order.
void exact_sums(const Latents& lat, int64_t i, double* dot, double* sq) {
  for (int64_t j = 0; j <= lat.T; ++j) {
    for (int64_t d = 0; d < lat.D; ++d) {
      const float v = element(lat, i, j, d);
      if (!std::isfinite(v)) detail::throw_non_finite_latent(v, i, j);
    }
  }
  for (int64_t j = 0; j <= lat.T; ++j) {
    double dj = 0.0, sj = 0.0;
    for (int64_t d = 0; d < lat.D; ++d) {
      const double x = element(lat, i, j, d), z = element(lat, i, lat.T, d);
      dj += x * z;
      sj += x * x;
    }
    dot[j] = dj;
    sq[j] = sj;
  }
}

}  // namespace

bool cosine_partials_have_avx2() {
  static const bool have = detect_avx2();
  return have;
}

void cosine_partials(const Latents& lat, int threads, double* dot, double* sq, Reduction& r, Isa isa) {
  const int64_t N = lat.N, states = lat.T + 1;
  const int64_t chunks = (lat.D + kChunkElems - 1) / kChunkElems;
  const int64_t items = N * chunks;
  const ItemFn itemFn = item_function(lat.dtype, isa == Isa::Auto && cosine_partials_have_avx2());
  if (items <= 0) return;

  // partials[(i*chunks + c)*states + j]: written by exactly one item, read back in chunk order
  const size_t partials = static_cast<size_t>(items * states);
  if (r.dotPartials.size() < partials) r.dotPartials.resize(partials);
  if (r.sqPartials.size() < partials) r.sqPartials.resize(partials);
  double* dotPartials = r.dotPartials.data();
  double* sqPartials = r.sqPartials.data();
  const int slots =
      static_cast<int>(std::min<int64_t>(std::min(std::max(threads, 1), pool::kMaxThreads), items));
  // z_T's chunk as float32, for the 16-bit dtypes only (float32 is read in place); not
  // zero-filled, and no larger than D: a small call must not pay for 64 KiB per slot
  // (rounded up to whole 64-element groups, which the AVX2 path zero-pads; 64-byte aligned)
  const int64_t scratchPerSlot =
      lat.dtype == DType::Float32 ? 0 : (std::min(kChunkElems, lat.D) + kScratchRound - 1) / kScratchRound * kScratchRound;
  const size_t scratchFloats = scratchPerSlot > 0 ? static_cast<size_t>(slots * scratchPerSlot + 16) : 0;
  if (r.scratchFloats < scratchFloats) {
    r.scratch.reset(new float[scratchFloats]);
    r.scratchFloats = scratchFloats;
  }
  float* scratch = scratchFloats > 0 ? r.scratch.get() : nullptr;
  if (scratch) scratch += (64 - reinterpret_cast<uintptr_t>(scratch) % 64) % 64 / sizeof(float);

  pool::parallel_for(items, slots, [&](int64_t item, int slot) {
    Item it;
    it.lat = &lat;
    it.sample = item / chunks;
    it.chunk = item % chunks;
    it.dot = dotPartials + item * states;
    it.sq = sqPartials + item * states;
    it.zTBuffer = scratch ? scratch + slot * scratchPerSlot : nullptr;
    itemFn(it);
  });

  for (int64_t i = 0; i < N; ++i) {
    for (int64_t j = 0; j < states; ++j) {
      double d = 0.0, s = 0.0;
      for (int64_t c = 0; c < chunks; ++c) {
        d += dotPartials[(i * chunks + c) * states + j];
        s += sqPartials[(i * chunks + c) * states + j];
      }
      dot[i * states + j] = d;
      sq[i * states + j] = s;
    }
  }
  for (int64_t i = 0; i < N; ++i) {
    double* d = dot + i * states;
    double* q = sq + i * states;
    if (math::needs_exact_sums([&](int64_t j) { return d[j]; }, [&](int64_t j) { return q[j]; }, lat.T))
      exact_sums(lat, i, d, q);
  }
}

}  // namespace cpu
}  // namespace otca
