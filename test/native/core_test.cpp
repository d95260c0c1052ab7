// Native checks of the C++ core's CPU backend: conversions, the reduction's accuracy and
// determinism, the drivers on hand-made cases, errors, concurrency, and a timing line.
// Build and run: `cmake --build build --target otca_core_test && ctest --test-dir build -R core`
// (`npm test` builds and runs it).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <atomic>
#include <cstdlib>
#include <new>

#include "cosine_partials.h"
#include "dtype.h"
#include "otca.h"
#include "otca_math.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_X86 1
__attribute__((target("f16c"))) static uint16_t f16_hardware(float f) {
  return _cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT);
}
#endif

using namespace otca;

// Contiguous groups of G (the API's groupSize) over N samples.
static Groups groups_of(int64_t N, int64_t G) {
  Groups g;
  g.size = G;
  g.count = N / G;
  return g;
}

// The reduction with a scratch of its own (a plan's workspace keeps one across calls).
static void partials(const Latents& lat, int threads, double* dot, double* sq, cpu::Isa isa = cpu::Isa::Auto) {
  cpu::Reduction scratch;
  cpu::cosine_partials(lat, threads, dot, sq, scratch, isa);
}

static int failures = 0;
#define CHECK(cond, ...)                                               \
  do {                                                                 \
    if (!(cond)) {                                                     \
      ++failures;                                                      \
      std::fprintf(stderr, "FAIL %s:%d: %s | ", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, __VA_ARGS__);                               \
      std::fprintf(stderr, "\n");                                      \
    }                                                                  \
  } while (0)

template <class E>
static std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("wrong exception type: ") + e.what();
  }
  return "no exception";
}

// ------------------------------------------------------------------ counting allocations

// Every operator new of the process, counted while g_counting is set (test_no_allocations).
static std::atomic<bool> g_counting{false};
static std::atomic<long> g_allocations{0};

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // this operator new is malloc
#endif
void* operator new(std::size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n > 0 ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

// ------------------------------------------------------------------ test data

// Latents of N samples with T+1 states as a list of T+1 [N, D] buffers of dtype `dt`, each
// sample `stride` elements apart, every buffer starting `misalign` elements past an aligned
// address. The states drift from noise towards z_T, as a sampler's do.
struct TestLatents {
  DType dt;
  int64_t N, T, D, stride;
  std::vector<std::vector<unsigned char>> storage;
  std::vector<const void*> pointers;
  Latents view() const {
    Latents l;
    l.dtype = dt;
    l.N = N;
    l.T = T;
    l.D = D;
    l.states = pointers.data();
    l.sampleStride = stride;
    return l;
  }
  void set(int64_t i, int64_t j, int64_t d, float v) {
    void* p = const_cast<void*>(pointers[j]);
    const int64_t at = i * stride + d;
    if (dt == DType::Float32) static_cast<float*>(p)[at] = v;
    else if (dt == DType::BFloat16) static_cast<uint16_t*>(p)[at] = dtype::float_to_bf16(v);
    else static_cast<uint16_t*>(p)[at] = dtype::float_to_f16(v);
  }
  float get(int64_t i, int64_t j, int64_t d) const {
    const int64_t at = i * stride + d;
    if (dt == DType::Float32) return static_cast<const float*>(pointers[j])[at];
    if (dt == DType::BFloat16) return dtype::bf16_to_float(static_cast<const uint16_t*>(pointers[j])[at]);
    return dtype::f16_to_float(static_cast<const uint16_t*>(pointers[j])[at]);
  }
};

static TestLatents make_latents(DType dt, int64_t N, int64_t T, int64_t D, int64_t stridePad,
                                int misalign, uint32_t seed, float scale = 1.0f) {
  TestLatents t{dt, N, T, D, D + stridePad, {}, {}};
  const size_t es = dtype_size(dt);
  t.storage.resize(T + 1);
  for (int64_t j = 0; j <= T; ++j) {
    t.storage[j].assign((N * t.stride + misalign + 64) * es, 0);
    unsigned char* base = t.storage[j].data();
    base += (64 - reinterpret_cast<uintptr_t>(base) % 64) % 64;  // aligned, then misaligned
    t.pointers.push_back(base + misalign * es);
  }
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> zT(D), z0(D);
  for (int64_t i = 0; i < N; ++i) {
    for (auto& v : zT) v = normal(rng) * scale;
    for (auto& v : z0) v = normal(rng) * scale;
    for (int64_t j = 0; j <= T; ++j) {
      const float a = static_cast<float>(j) / static_cast<float>(T);
      const float mix = a * a * (1.5f - 0.5f * a);  // non-uniform progress per step
      for (int64_t d = 0; d < D; ++d) t.set(i, j, d, mix * zT[d] + (1 - mix) * z0[d]);
    }
  }
  return t;
}

// dot and sq from the stored elements in long double.
static void reference_sums(const TestLatents& t, std::vector<long double>& dot,
                           std::vector<long double>& sq, std::vector<long double>& absDot) {
  const int64_t S = t.T + 1;
  dot.assign(t.N * S, 0);
  sq.assign(t.N * S, 0);
  absDot.assign(t.N * S, 0);
  for (int64_t i = 0; i < t.N; ++i)
    for (int64_t j = 0; j < S; ++j)
      for (int64_t d = 0; d < t.D; ++d) {
        const long double x = t.get(i, j, d), y = t.get(i, t.T, d);
        dot[i * S + j] += x * y;
        absDot[i * S + j] += std::fabs(x * y);
        sq[i * S + j] += x * x;
      }
}

// ------------------------------------------------------------------ conversions

static double f16_reference(uint16_t h) {
  const int sign = h >> 15, e = (h >> 10) & 31, m = h & 1023;
  double v;
  if (e == 31) v = m ? NAN : INFINITY;
  else if (e == 0) v = std::ldexp(m, -24);
  else v = std::ldexp(1024 + m, e - 25);
  return sign ? -v : v;
}

static uint16_t bf16_round_reference(float f) {  // nearest of the two neighbours, ties to even
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const uint16_t down = u >> 16, up = down + 1;
  const double dd = std::fabs(double(f) - double(dtype::bf16_to_float(down)));
  const double upValue = (up & 0x7f80) == 0x7f80 ? std::copysign(std::ldexp(1.0, 128), f)  // past the max: 2^128
                                                 : double(dtype::bf16_to_float(up));
  const double du = std::fabs(double(f) - upValue);
  if (dd < du) return down;
  if (du < dd) return up;
  return (down & 1) ? up : down;
}

static void test_conversions() {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float got = dtype::f16_to_float(static_cast<uint16_t>(h));
    const double want = f16_reference(static_cast<uint16_t>(h));
    if (std::isnan(want)) {
      uint32_t bits;
      std::memcpy(&bits, &got, 4);
      CHECK(std::isnan(got) && ((bits >> 13) & 1023) == (h & 1023), "f16 NaN 0x%04x", h);
    } else {
      CHECK(double(got) == want && std::signbit(got) == std::signbit(want), "f16 0x%04x: %g vs %g", h,
            got, want);
      CHECK(dtype::float_to_f16(got) == h, "f16 round trip 0x%04x", h);
    }
    const float b = dtype::bf16_to_float(static_cast<uint16_t>(h));
    const double bw = std::ldexp(1.0, 0) * double(b);
    uint32_t bits;
    std::memcpy(&bits, &b, 4);
    CHECK(bits == h << 16, "bf16 0x%04x", h);
    if (!std::isnan(bw)) CHECK(dtype::float_to_bf16(b) == h, "bf16 round trip 0x%04x", h);
    else CHECK(std::isnan(dtype::bf16_to_float(dtype::float_to_bf16(b))), "bf16 NaN 0x%04x", h);
  }
  // Encoders over a sweep of float32 bit patterns (every 97th, ~44M values).
  int f16Mismatch = 0, bf16Mismatch = 0;
#ifdef HAVE_X86
  const bool f16c = __builtin_cpu_supports("f16c");
#endif
  for (uint64_t u = 0; u < (1ull << 32); u += 97) {
    float f;
    const uint32_t bits = static_cast<uint32_t>(u);
    std::memcpy(&f, &bits, 4);
    if (std::isnan(f)) {
      CHECK(std::isnan(dtype::f16_to_float(dtype::float_to_f16(f))), "f16 NaN encode");
      continue;
    }
    if (dtype::float_to_bf16(f) != bf16_round_reference(f) && ++bf16Mismatch < 5)
      CHECK(false, "bf16 encode 0x%08x", bits);
#ifdef HAVE_X86
    if (f16c && dtype::float_to_f16(f) != f16_hardware(f) && ++f16Mismatch < 5)
      CHECK(false, "f16 encode 0x%08x: 0x%04x vs 0x%04x", bits, dtype::float_to_f16(f),
            f16_hardware(f));
#endif
  }
}

// ------------------------------------------------------------------ the reduction

static void test_reduction_decodes_every_pattern() {
  // Sample p holds bit pattern p in element 0 of state 0 and z_T = e_0, so dot = decode(p) exactly:
  // checks the vector decoders of both paths (subnormals, signed zeros) against the scalar one.
  for (DType dt : {DType::Float16, DType::BFloat16}) {
    const int64_t N = 65536, D = 16;
    std::vector<uint16_t> z0(N * D, 0), zT(N * D, 0);
    const uint16_t one = dt == DType::Float16 ? 0x3c00 : 0x3f80;
    for (int64_t p = 0; p < N; ++p) {
      const float v = dt == DType::Float16 ? dtype::f16_to_float(uint16_t(p)) : dtype::bf16_to_float(uint16_t(p));
      z0[p * D] = std::fabs(v) < 1e18f ? uint16_t(p) : 0;  // v^2 must not overflow float32
      zT[p * D] = one;
    }
    const void* states[2] = {z0.data(), zT.data()};
    Latents lat;
    lat.dtype = dt;
    lat.N = N;
    lat.T = 1;
    lat.D = D;
    lat.states = states;
    lat.sampleStride = D;
    for (cpu::Isa isa : {cpu::Isa::Auto, cpu::Isa::Portable}) {
      std::vector<double> dot(2 * N), sq(2 * N);
      partials(lat, 2, dot.data(), sq.data(), isa);
      int bad = 0;
      for (int64_t p = 0; p < N; ++p) {
        const uint16_t h = z0[p * D];
        const float want = dt == DType::Float16 ? dtype::f16_to_float(h) : dtype::bf16_to_float(h);
        if (dot[2 * p] != double(want) && ++bad < 4)
          CHECK(false, "%s pattern 0x%04x decoded as %g, want %g", dtype_name(dt), h, dot[2 * p], want);
      }
    }
  }
}

static void test_accuracy_large_d() {
  // D = 1e6 against the long-double sums of the same elements. The float32 products round (an
  // error of u = 6e-8 relative per product, which no summation order removes), so the dot error is
  // measured against sum |x y| (the condition of the sum), the squared norms against themselves.
  // Float32 runs of <= 64 elements, then float64: ~2e-10 here (the former 16 x 32 runs: 1.4e-9).
  const TestLatents t = make_latents(DType::Float32, 2, 3, 1000000, 0, 1, 7);
  std::vector<long double> rd, rs, ra;
  reference_sums(t, rd, rs, ra);
  for (cpu::Isa isa : {cpu::Isa::Auto, cpu::Isa::Portable}) {
    std::vector<double> dot(8), sq(8);
    partials(t.view(), 2, dot.data(), sq.data(), isa);
    double worstDot = 0, worstSq = 0, worstRel = 0;
    for (int k = 0; k < 8; ++k) {
      worstDot = std::max(worstDot, double(std::fabs(dot[k] - rd[k]) / ra[k]));
      worstSq = std::max(worstSq, double(std::fabs(sq[k] - rs[k]) / rs[k]));
      worstRel = std::max(worstRel, double(std::fabs(dot[k] - rd[k]) / std::fabs(rd[k])));
    }
    CHECK(worstDot < 5e-10, "D=1e6 dot error %.3g of sum|xy| (isa %d)", worstDot, int(isa));
    CHECK(worstSq < 5e-10, "D=1e6 squared-norm relative error %.3g (isa %d)", worstSq, int(isa));
    CHECK(worstRel < 1e-6, "D=1e6 dot relative error %.3g (isa %d)", worstRel, int(isa));
    std::printf("D=1e6 float32 sums, worst error: dot %.2e of sum|xy| (%.2e of |dot|), squared norm %.2e (%s)\n",
                worstDot, worstRel, worstSq, isa == cpu::Isa::Auto ? "auto" : "portable");
  }
}

static void test_accuracy_dtypes() {
  for (DType dt : {DType::Float32, DType::Float16, DType::BFloat16}) {
    const TestLatents t = make_latents(dt, 3, 4, 40000, 3, 1, 11);
    std::vector<long double> rd, rs, ra;
    reference_sums(t, rd, rs, ra);
    for (cpu::Isa isa : {cpu::Isa::Auto, cpu::Isa::Portable}) {
      std::vector<double> dot(15), sq(15);
      partials(t.view(), 3, dot.data(), sq.data(), isa);
      for (int k = 0; k < 15; ++k) {
        CHECK(std::fabs(dot[k] - rd[k]) <= 1e-6 * ra[k], "%s dot %d", dtype_name(dt), k);
        CHECK(std::fabs(sq[k] - rs[k]) <= 1e-6 * rs[k], "%s sq %d", dtype_name(dt), k);
      }
    }
  }
}

static void test_shapes() {
  // Odd and even T (the AVX2 path streams states in pairs, then a single one), D around the
  // 64-element group and the chunk (zero-padded tail groups), padded strides, misaligned starts.
  for (DType dt : {DType::Float32, DType::Float16, DType::BFloat16}) {
    for (int64_t T : {1, 2, 3, 5}) {
      for (int64_t D : {int64_t(1), int64_t(15), int64_t(63), int64_t(64), int64_t(65), int64_t(200),
                        cpu::kChunkElems + 100}) {
        const TestLatents t = make_latents(dt, 2, T, D, 3, int(D % 2), uint32_t(17 + T + D));
        std::vector<long double> rd, rs, ra;
        reference_sums(t, rd, rs, ra);
        const int64_t S = T + 1;
        for (cpu::Isa isa : {cpu::Isa::Auto, cpu::Isa::Portable}) {
          std::vector<double> dot(t.N * S), sq(t.N * S);
          partials(t.view(), 2, dot.data(), sq.data(), isa);
          for (int64_t k = 0; k < t.N * S; ++k) {
            CHECK(std::fabs(dot[k] - rd[k]) <= 1e-6 * ra[k], "%s T=%ld D=%ld dot %ld (isa %d)", dtype_name(dt),
                  long(T), long(D), long(k), int(isa));
            CHECK(std::fabs(sq[k] - rs[k]) <= 1e-6 * rs[k], "%s T=%ld D=%ld sq %ld (isa %d)", dtype_name(dt),
                  long(T), long(D), long(k), int(isa));
          }
        }
      }
    }
  }
}

static void test_determinism() {
  // D not a multiple of the chunk, padded stride, misaligned starts; 1, 2, 8 threads.
  for (DType dt : {DType::Float32, DType::Float16, DType::BFloat16}) {
    const TestLatents t = make_latents(dt, 5, 6, 3 * cpu::kChunkElems + 777, 5, 1, 3);
    const int64_t S = t.T + 1;
    for (cpu::Isa isa : {cpu::Isa::Auto, cpu::Isa::Portable}) {
      std::vector<double> dot1(t.N * S), sq1(t.N * S);
      partials(t.view(), 1, dot1.data(), sq1.data(), isa);
      for (int threads : {2, 8, 3}) {
        std::vector<double> dot(t.N * S), sq(t.N * S);
        partials(t.view(), threads, dot.data(), sq.data(), isa);
        CHECK(std::memcmp(dot.data(), dot1.data(), dot.size() * 8) == 0 &&
                  std::memcmp(sq.data(), sq1.data(), sq.size() * 8) == 0,
              "%s %d threads not bit-identical", dtype_name(dt), threads);
      }
    }
    // and through the whole step
    std::vector<double> rewards(t.N * 2);
    for (size_t k = 0; k < rewards.size(); ++k) rewards[k] = std::sin(double(k) * 1.7);
    Rewards rew{DType::Float64, rewards.data(), t.N, 2};
    std::vector<float> adv1(t.N * t.T), adv(t.N * t.T), S1(t.N * S), Sx(t.N * S);
    Options opt;
    opt.threads = 1;
    AllOutputs out;
    out.advantages = adv1.data();
    out.trajectory.similarity = S1.data();
    cpu::advantages(t.view(), rew, groups_of(rew.N, 5), opt, ObjectiveFactors{}, out);
    for (int threads : {2, 8}) {
      opt.threads = threads;
      out.advantages = adv.data();
      out.trajectory.similarity = Sx.data();
      cpu::advantages(t.view(), rew, groups_of(rew.N, 5), opt, ObjectiveFactors{}, out);
      CHECK(std::memcmp(adv.data(), adv1.data(), adv.size() * 4) == 0 &&
                std::memcmp(Sx.data(), S1.data(), Sx.size() * 4) == 0,
            "advantages %s %d threads not bit-identical", dtype_name(dt), threads);
    }
  }
}

// ------------------------------------------------------------------ the drivers

// Algorithm 1 as docs/algorithm.md writes it, with a sort.
static std::vector<double> solve_reference(const std::vector<double>& A, double lam, double eps) {
  const size_t K = A.size();
  std::vector<double> c(K, 0.0);
  const double smin = *std::min_element(A.begin(), A.end());
  const double smax = *std::max_element(A.begin(), A.end());
  if (smax - smin < eps) {
    c[std::max_element(A.begin(), A.end()) - A.begin()] = 1;
    return c;
  }
  const double z = std::min(std::max(lam / 2, smin), smax);
  for (size_t k = 0; k < K; ++k)
    if (std::fabs(A[k] - z) < eps) {
      c[k] = 1;
      return c;
    }
  std::vector<size_t> order(K);
  for (size_t k = 0; k < K; ++k) order[k] = k;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return A[a] < A[b]; });
  for (size_t p = 0; p + 1 < K; ++p) {
    const double lo = A[order[p]], hi = A[order[p + 1]];
    if (lo <= z && z <= hi) {
      c[order[p]] = (hi - z) / (hi - lo);
      c[order[p + 1]] = (z - lo) / (hi - lo);
      return c;
    }
  }
  return c;
}

static void test_solver_and_drivers() {
  // the interpolated case: A = (-1, 1), lam = 1 -> zhat = 0.5, c = (0.25, 0.75)
  const double A2[2] = {-1.0, 1.0};
  const math::Solve s = math::moca_solve([&](int64_t k) { return A2[k]; }, 2, 1.0, 1e-8);
  CHECK(math::solve_coefficient(s, 0) == 0.25 && math::solve_coefficient(s, 1) == 0.75 && s.f == 0.5,
        "interpolated solve");

  // G = 3, K = 2: column 0 = (0, 1, 2) -> A = (-1, 0, 1); column 1 = (0, 0, 3) -> A = (-1, -1, 2)/sqrt3
  const float rewards[6] = {0, 0, 1, 0, 2, 3};
  const float q[3] = {0.1f, 0.2f, 0.9f};
  Rewards rew{DType::Float32, rewards, 3, 2};
  std::vector<float> A(6), e(3), lam(3), c(6), f(3);
  ObjectiveOutputs out{A.data(), e.data(), lam.data(), c.data(), f.data()};
  Options opt;
  cpu::objective_credit(rew, q, groups_of(3, 3), opt, ObjectiveFactors{}, out);
  const double r3 = 1 / std::sqrt(3.0);
  const double wantA[6] = {-1, -r3, 0, -r3, 1, 2 * r3};
  for (int k = 0; k < 6; ++k) CHECK(std::fabs(A[k] - wantA[k]) < 1e-6, "A[%d] = %g", k, A[k]);
  // sample 0: s < 0, lam 0, zhat = max(A) -> one-hot at 1; sample 1: zhat = 0 = A0 -> one-hot at 0;
  // sample 2: zhat = clip(lam/2 < 0.5, 1, 1.155) = 1 = A0 -> one-hot at 0
  const float wantC[6] = {0, 1, 1, 0, 1, 0};
  for (int k = 0; k < 6; ++k) CHECK(c[k] == wantC[k], "c[%d] = %g", k, c[k]);
  CHECK(lam[0] == 0 && lam[1] == 0 && lam[2] > 0 && lam[2] < 1, "lambda %g %g %g", lam[0], lam[1], lam[2]);
  CHECK(std::fabs(f[0] + r3) < 1e-6 && f[1] == 0 && std::fabs(f[2] - 1) < 1e-6, "f");
  const double qStd = math::stats_of([&](int64_t i) { return double(q[i]); }, 3, 1).std;
  CHECK(std::fabs(e[2] - 0.9f / (qStd + 1e-6)) < 1e-5, "e[2] = %g", e[2]);

  // K = 1: c = 1, f = A
  Rewards rew1{DType::Float32, rewards, 6, 1};
  std::vector<float> q6(6, 0.5f), A1(6), c1(6), f1(6);
  cpu::objective_credit(rew1, q6.data(), groups_of(6, 3), opt, ObjectiveFactors{}, ObjectiveOutputs{A1.data(), nullptr, nullptr, c1.data(), f1.data()});
  for (int i = 0; i < 6; ++i) CHECK(c1[i] == 1 && f1[i] == A1[i], "K=1 sample %d", i);

  // random cases against the sort-based reference, every objective
  std::mt19937 rng(5);
  std::normal_distribution<double> normal;
  for (int trial = 0; trial < 200; ++trial) {
    const int64_t K = 1 + trial % 5, G = 1 + trial % 4, N = G * 3;
    std::vector<double> r(N * K), w(K);
    std::vector<float> qs(N);
    for (auto& v : r) v = trial % 7 == 0 ? std::round(normal(rng)) : normal(rng);  // ties too
    for (auto& v : qs) v = static_cast<float>(normal(rng));
    for (auto& v : w) v = normal(rng);
    Rewards rr{DType::Float64, r.data(), N, K};
    Options o;
    o.objective = static_cast<Objective>(trial % 4);
    o.stdScope = static_cast<StdScope>((trial / 4) % 2);
    const ObjectiveFactors factors{w.data(), nullptr};
    std::vector<float> oA(N * K), oe(N), olam(N), oc(N * K), of(N);
    cpu::objective_credit(rr, qs.data(), groups_of(N, G), o, factors, ObjectiveOutputs{oA.data(), oe.data(), olam.data(), oc.data(), of.data()});
    for (int64_t i = 0; i < N; ++i) {
      const int64_t g0 = i / G * G;
      std::vector<double> Ai(K);
      for (int64_t k = 0; k < K; ++k) {
        double mean = 0, ss = 0, bmean = 0, bss = 0;
        for (int64_t m = g0; m < g0 + G; ++m) mean += r[m * K + k] / G;
        for (int64_t m = g0; m < g0 + G; ++m) ss += (r[m * K + k] - mean) * (r[m * K + k] - mean);
        for (int64_t m = 0; m < N; ++m) bmean += r[m * K + k] / N;
        for (int64_t m = 0; m < N; ++m) bss += (r[m * K + k] - bmean) * (r[m * K + k] - bmean);
        const double sd = o.stdScope == StdScope::Batch ? std::sqrt(bss / (N - 1)) : (G > 1 ? std::sqrt(ss / (G - 1)) : 0);
        Ai[k] = std::min(5.0, std::max(-5.0, (r[i * K + k] - mean) / (sd + 1e-8)));
        CHECK(std::fabs(oA[i * K + k] - Ai[k]) < 1e-5 * (1 + std::fabs(Ai[k])), "trial %d A", trial);
      }
      if (o.objective == Objective::Moca || o.objective == Objective::MinNorm) {
        double sum = 0;
        for (double a : Ai) sum += a;
        const double lamRef = o.objective == Objective::Moca ? std::max(0.0, sum) / (std::fabs(sum) + 1e-6) * std::tanh(double(oe[i])) : 0.0;
        CHECK(std::fabs(olam[i] - lamRef) < 1e-5, "trial %d lambda %g vs %g", trial, olam[i], lamRef);
        const std::vector<double> cRef = solve_reference(Ai, double(olam[i]), 1e-8);
        double fRef = 0;
        for (int64_t k = 0; k < K; ++k) {
          fRef += cRef[k] * Ai[k];
          CHECK(std::fabs(oc[i * K + k] - cRef[k]) < 1e-4, "trial %d c[%lld] %g vs %g", trial, (long long)k, oc[i * K + k], cRef[k]);
        }
        CHECK(std::fabs(of[i] - fRef) < 1e-5 * (1 + std::fabs(fRef)), "trial %d f", trial);
      } else {
        CHECK(olam[i] == 0, "lambda is 0 for objective %d", int(o.objective));
        for (int64_t k = 0; k < K; ++k) CHECK(oc[i * K + k] == static_cast<float>(w[k]), "weights as c");
        if (o.objective == Objective::WeightedAdvantage) {
          double fRef = 0;
          for (int64_t k = 0; k < K; ++k) fRef += w[k] * Ai[k];
          CHECK(std::fabs(of[i] - fRef) < 1e-5 * (1 + std::fabs(fRef)), "trial %d weighted f", trial);
        }
      }
    }
  }
}

static void test_edge_cases() {
  // T = 1: wbar = 1, w = 1, q = dS = 1 - S0
  {
    const TestLatents t = make_latents(DType::Float32, 2, 1, 100, 0, 0, 9);
    std::vector<float> S(4), dS(2), wbar(2), w(2), q(2);
    cpu::trajectory_credit(t.view(), Options{}, TrajectoryOutputs{S.data(), dS.data(), wbar.data(), w.data(), q.data()});
    for (int i = 0; i < 2; ++i) {
      CHECK(wbar[i] == 1 && w[i] == 1 && S[2 * i + 1] == 1.0f, "T=1 sample %d: %g %g %g", i, wbar[i], w[i], S[2 * i + 1]);
      CHECK(std::fabs(q[i] - (1 - S[2 * i])) < 1e-6 && dS[i] == q[i], "T=1 q");
    }
  }
  // G = 1: A = 0, f = 0, Adv = 0; zero-norm latents: S = 0, wbar = 1/T, q = 0
  {
    TestLatents t = make_latents(DType::BFloat16, 2, 4, 300, 0, 1, 4);
    for (int64_t j = 0; j <= 4; ++j)
      for (int64_t d = 0; d < 300; ++d) t.set(1, j, d, 0.0f);
    const double rewards[4] = {1, 2, 3, 4};
    Rewards rew{DType::Float64, rewards, 2, 2};
    std::vector<float> adv(8, 7), S(10), wbar(8), q(2), A(4), f(2);
    AllOutputs out;
    out.advantages = adv.data();
    out.trajectory.similarity = S.data();
    out.trajectory.rawWeights = wbar.data();
    out.trajectory.trajectoryScore = q.data();
    out.objective.objectiveAdvantages = A.data();
    out.objective.fused = f.data();
    cpu::advantages(t.view(), rew, groups_of(rew.N, 1), Options{}, ObjectiveFactors{}, out);
    for (float v : adv) CHECK(v == 0, "G=1 Adv %g", v);
    for (float v : A) CHECK(v == 0, "G=1 A %g", v);
    for (int j = 5; j < 10; ++j) CHECK(S[j] == 0, "zero-norm S");
    for (int t2 = 4; t2 < 8; ++t2) CHECK(wbar[t2] == 0.25f, "zero-norm wbar %g", wbar[t2]);
    CHECK(q[1] == 0 && S[4] == 1.0f, "zero-norm q");
  }
}

static void test_errors() {
  const int64_t T = 4;
  TestLatents t = make_latents(DType::Float32, 3, T, 20000, 0, 0, 1);
  std::vector<float> adv(3 * T, 42.0f), S(3 * (T + 1), 42.0f);
  const double rewards[3] = {1, 2, 3};
  Rewards rew{DType::Float64, rewards, 3, 1};
  AllOutputs out;
  out.advantages = adv.data();
  out.trajectory.similarity = S.data();
  const auto run = [&] { cpu::advantages(t.view(), rew, groups_of(rew.N, 3), Options{}, ObjectiveFactors{}, out); };
  const auto untouched = [&] {
    for (float v : adv) if (v != 42.0f) return false;
    for (float v : S) if (v != 42.0f) return false;
    return true;
  };

  t.set(1, 3, 19999, NAN);
  t.set(2, 0, 5, INFINITY);
  std::string msg = error_of<RangeError>(run);
  CHECK(msg == "Expected finite values for latents but received NaN at sample 1, state 3", "%s", msg.c_str());
  t.set(1, 3, 19999, 0.0f);
  t.set(1, T, 17, -INFINITY);  // in z_T: every dot of sample 1 is non-finite, the element is at state T
  msg = error_of<RangeError>(run);
  CHECK(msg == "Expected finite values for latents but received -Infinity at sample 1, state 4", "%s", msg.c_str());
  t.set(1, T, 17, 0.0f);
  msg = error_of<RangeError>(run);
  CHECK(msg == "Expected finite values for latents but received Infinity at sample 2, state 0", "%s", msg.c_str());
  t.set(2, 0, 5, 0.0f);
  CHECK(untouched(), "outputs written before an error");
  // finite, but |z|^2 overflows float32: the sample is summed again in float64, S is right
  for (int64_t d = 0; d < 20000; ++d) t.set(0, 2, d, 3e19f);
  msg = error_of<RangeError>(run);
  CHECK(msg == "no exception", "latents whose float32 squares overflow: %s", msg.c_str());
  {
    double dot = 0, sq2 = 0, sqT = 0;
    for (int64_t d = 0; d < 20000; ++d) {
      const double x = t.get(0, 2, d), z = t.get(0, T, d);
      dot += x * z;
      sq2 += x * x;
      sqT += z * z;
    }
    const double expected = dot / std::sqrt(sq2 * sqT);
    CHECK(std::fabs(S[2] - expected) < 1e-6, "S[0, 2] %g vs %g", S[2], expected);
  }
  for (int64_t d = 0; d < 20000; ++d) t.set(0, 2, d, 1.0f);
  std::fill(adv.begin(), adv.end(), 42.0f);
  std::fill(S.begin(), S.end(), 42.0f);

  const double badRewards[6] = {1, 2, 3, 4, NAN, INFINITY};
  Rewards bad{DType::Float64, badRewards, 3, 2};
  msg = error_of<RangeError>([&] { cpu::advantages(t.view(), bad, groups_of(bad.N, 3), Options{}, ObjectiveFactors{}, out); });
  CHECK(msg == "Expected finite values for rewards but received NaN at sample 2, objective 0", "%s", msg.c_str());
  CHECK(untouched(), "outputs written before a rewards error");

  Options o;
  o.minWeight = 1.5;
  msg = error_of<RangeError>([&] { check_options(o, ObjectiveFactors{}, 1); });
  CHECK(msg == "Expected number in [0, 1] for minWeight but received 1.5", "%s", msg.c_str());
  o = Options{};
  o.epsAdv = -1e-8;
  msg = error_of<RangeError>([&] { check_options(o, ObjectiveFactors{}, 1); });
  CHECK(msg == "Expected number in [0, 1e+100] for epsAdv but received -1e-8", "%s", msg.c_str());
  o = Options{};
  o.advClip = 0.000001;
  CHECK(error_of<RangeError>([&] { check_options(o, ObjectiveFactors{}, 1); }) == "no exception", "advClip 1e-6 is valid");
  o.advClip = INFINITY;
  CHECK(error_of<RangeError>([&] { check_options(o, ObjectiveFactors{}, 1); }) == "no exception", "advClip inf is valid");
  o.advClip = NAN;
  msg = error_of<RangeError>([&] { check_options(o, ObjectiveFactors{}, 1); });
  CHECK(msg == "Expected number > 0 for advClip but received NaN", "%s", msg.c_str());
  o = Options{};
  const double weights[2] = {1, NAN};
  msg = error_of<RangeError>([&] { check_options(o, ObjectiveFactors{weights, nullptr}, 2); });
  CHECK(msg == "Expected finite number in [-1000000000, 1000000000] for objectiveWeights[1] but received NaN", "%s", msg.c_str());
  msg = error_of<RangeError>([&] { cpu::advantages(t.view(), rew, groups_of(rew.N, 2), Options{}, ObjectiveFactors{}, out); });
  CHECK(msg == "Expected a divisor of the sample count 3 for groupSize but received 2", "%s", msg.c_str());

  CHECK(!gpu::compiled() && gpu::status().reason == "otca was built without CUDA support", "gpu stub");
  msg = error_of<DeviceError>([] { gpu::malloc_device(0, 16); });
  CHECK(msg == "otca was built without CUDA support", "%s", msg.c_str());
}

static void test_concurrent_calls() {
  // several callers at once (libuv workers), each asking for several threads
  const TestLatents t = make_latents(DType::BFloat16, 4, 8, 70000, 0, 1, 21);
  const double rewards[8] = {1, 3, 2, 5, 0, 1, 4, 4};
  Rewards rew{DType::Float64, rewards, 4, 2};
  std::vector<float> want(4 * 8);
  Options opt;
  opt.threads = 1;
  AllOutputs out;
  out.advantages = want.data();
  cpu::advantages(t.view(), rew, groups_of(rew.N, 2), opt, ObjectiveFactors{}, out);
  std::vector<std::thread> callers;
  std::vector<int> ok(6, 0);
  for (int c = 0; c < 6; ++c)
    callers.emplace_back([&, c] {
      for (int rep = 0; rep < 3; ++rep) {
        std::vector<float> got(4 * 8);
        Options o;
        o.threads = 2 + c;
        AllOutputs ao;
        ao.advantages = got.data();
        cpu::advantages(t.view(), rew, groups_of(rew.N, 2), o, ObjectiveFactors{}, ao);
        ok[c] += std::memcmp(got.data(), want.data(), got.size() * 4) == 0;
      }
    });
  for (auto& th : callers) th.join();
  for (int c = 0; c < 6; ++c) CHECK(ok[c] == 3, "concurrent caller %d", c);
}

// ------------------------------------------------------------------ timing (printed, not asserted)

static void time_flux512() {
  const int64_t N = 12, T = 16, D = 65536;
  for (DType dt : {DType::Float32, DType::BFloat16, DType::Float16}) {
    const size_t es = dtype_size(dt), bytes = N * (T + 1) * D * es;
    std::vector<unsigned char> buf(bytes);
    std::mt19937 rng(1);
    std::normal_distribution<float> normal;
    for (size_t k = 0; k < bytes / es; ++k) {
      const float v = normal(rng);
      if (dt == DType::Float32) std::memcpy(&buf[k * 4], &v, 4);
      else {
        const uint16_t h = dt == DType::BFloat16 ? dtype::float_to_bf16(v) : dtype::float_to_f16(v);
        std::memcpy(&buf[k * 2], &h, 2);
      }
    }
    std::vector<const void*> states(T + 1);  // one [N, T+1, D] tensor
    for (int64_t j = 0; j <= T; ++j) states[j] = buf.data() + j * D * es;
    Latents lat;
    lat.dtype = dt;
    lat.N = N;
    lat.T = T;
    lat.D = D;
    lat.states = states.data();
    lat.sampleStride = (T + 1) * D;
    const int threads = cpu::default_threads();
    std::vector<double> dot(N * (T + 1)), sq(N * (T + 1));
    const auto best_of = [](int reps, const std::function<void()>& fn) {
      double best = 1e30;
      for (int r = 0; r < reps; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        fn();
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
      return best;
    };
    volatile uint64_t sink = 0;
    const double probe = best_of(5, [&] { sink = sink + cpu::read_probe(buf.data(), bytes, threads); });
    const double reduce = best_of(5, [&] { partials(lat, threads, dot.data(), sq.data()); });
    const double reduce1 = best_of(3, [&] { partials(lat, 1, dot.data(), sq.data()); });
    std::printf("FLUX-512 %-8s %5.1f MB, %d threads: reduction %6.2f GB/s (%.2f ms), read_probe %6.2f GB/s, "
                "ratio %.2f; 1 thread %6.2f GB/s%s\n",
                dtype_name(dt), bytes / 1e6, threads, bytes / reduce / 1e9, reduce * 1e3, bytes / probe / 1e9,
                probe / reduce, bytes / reduce1 / 1e9, cpu::cosine_partials_have_avx2() ? " (avx2 path)" : "");
  }
}

// groupIds: groups of any size in any order give, sample by sample, what the same groups in
// contiguous blocks give. Not bit for bit: a group's statistics sum its members in ascending sample
// order, which a shuffle changes (float64 sums in another order); ids forming contiguous blocks give
// exactly the groupSize bits.
static void test_group_ids() {
  std::mt19937 rng(17);
  std::normal_distribution<double> normal;
  for (int trial = 0; trial < 40; ++trial) {
    const int64_t K = 1 + trial % 3, B = 1 + trial % 4, T = 3, D = 50;
    std::vector<int64_t> sizes(B);
    for (auto& n : sizes) n = 1 + static_cast<int64_t>(rng() % 5);
    int64_t N = 0;
    for (int64_t n : sizes) N += n;
    // the contiguous layout: group b's members at [start_b, start_b + n_b); ids: a shuffle of it
    std::vector<int32_t> idsContiguous(N);
    for (int64_t b = 0, at = 0; b < B; ++b)
      for (int64_t m = 0; m < sizes[b]; ++m) idsContiguous[at++] = static_cast<int32_t>(3 * b + 7);  // any ids
    std::vector<int64_t> perm(N);
    for (int64_t i = 0; i < N; ++i) perm[i] = i;
    std::shuffle(perm.begin(), perm.end(), rng);  // sample i of the shuffled batch is perm[i] of the contiguous one
    const TestLatents t = make_latents(DType::Float32, N, T, D, 0, 0, 40 + trial);
    std::vector<double> r(N * K);
    for (auto& v : r) v = normal(rng);
    // the shuffled batch: latents and rewards permuted; ids permuted alike
    TestLatents ts = make_latents(DType::Float32, N, T, D, 0, 0, 40 + trial);
    std::vector<double> rs(N * K);
    std::vector<int32_t> ids(N);
    for (int64_t i = 0; i < N; ++i) {
      for (int64_t j = 0; j <= T; ++j)
        for (int64_t d = 0; d < D; ++d) ts.set(i, j, d, t.get(perm[i], j, d));
      for (int64_t k = 0; k < K; ++k) rs[i * K + k] = r[perm[i] * K + k];
      ids[i] = idsContiguous[perm[i]];
    }
    Options o;
    o.objective = static_cast<Objective>(trial % 4);
    o.stdScope = static_cast<StdScope>((trial / 4) % 2);
    o.exploration = static_cast<Exploration>((trial / 8) % 2);
    GroupIndex a, c;
    const Groups contiguous = a.build(idsContiguous.data(), N);
    const Groups shuffled = c.build(ids.data(), N);
    CHECK(shuffled.count == B, "groups %lld", static_cast<long long>(shuffled.count));
    const Rewards rew{DType::Float64, r.data(), N, K}, rewS{DType::Float64, rs.data(), N, K};
    std::vector<float> adv(N * T), advS(N * T), e(N), eS(N), A(N * K), AS(N * K);
    AllOutputs out, outS;
    out.advantages = adv.data();
    out.objective.exploration = e.data();
    out.objective.objectiveAdvantages = A.data();
    outS.advantages = advS.data();
    outS.objective.exploration = eS.data();
    outS.objective.objectiveAdvantages = AS.data();
    cpu::advantages(t.view(), rew, contiguous, o, ObjectiveFactors{}, out);
    cpu::advantages(ts.view(), rewS, shuffled, o, ObjectiveFactors{}, outS);
    double worst = 0, scale = 1;
    const auto close = [&](const float* x, const float* y, int64_t n) {
      for (int64_t m = 0; m < n; ++m) {
        scale = std::max(scale, std::fabs(double(y[m])));
        worst = std::max(worst, std::fabs(double(x[m]) - double(y[m])));
      }
    };
    for (int64_t i = 0; i < N; ++i) {
      close(&advS[i * T], &adv[perm[i] * T], T);
      close(&eS[i], &e[perm[i]], 1);
      close(&AS[i * K], &A[perm[i] * K], K);
    }
    CHECK(worst <= 1e-6 * scale, "groupIds trial %d: the shuffled batch differs from the contiguous one by %g", trial, worst);
    // equal-size contiguous ids give exactly the groupSize result
    if (trial % 5 == 0) {
      std::vector<int32_t> blocks(12);
      for (int i = 0; i < 12; ++i) blocks[i] = i / 4;
      const TestLatents t12 = make_latents(DType::BFloat16, 12, T, D, 0, 1, 7 + trial);
      std::vector<double> r12(12 * K);
      for (auto& v : r12) v = normal(rng);
      const Rewards rew12{DType::Float64, r12.data(), 12, K};
      std::vector<float> x(12 * T), y(12 * T);
      AllOutputs ox, oy;
      ox.advantages = x.data();
      oy.advantages = y.data();
      GroupIndex gi;
      cpu::advantages(t12.view(), rew12, groups_of(12, 4), o, ObjectiveFactors{}, ox);
      cpu::advantages(t12.view(), rew12, gi.build(blocks.data(), 12), o, ObjectiveFactors{}, oy);
      CHECK(std::memcmp(x.data(), y.data(), x.size() * 4) == 0, "blocks of groupIds vs groupSize (trial %d)", trial);
    }
  }
}

// A repeated call of one shape with a workspace allocates nothing (a plan's runs), on 1 and 2 threads.
static void test_no_allocations() {
  const TestLatents t = make_latents(DType::BFloat16, 4, 6, 300000, 0, 0, 3);  // several chunks, threads used
  const double rewards[8] = {1, 3, 2, 5, 0, 1, 4, 4};
  const Rewards rew{DType::Float64, rewards, 4, 2};
  std::vector<float> adv(4 * 6), w(4 * 6);
  AllOutputs out;
  out.advantages = adv.data();
  out.trajectory.stepWeights = w.data();
  cpu::Workspace* ws = cpu::workspace_create();
  const int32_t ids[4] = {5, 1, 5, 1};
  GroupIndex index;
  for (int threads : {1, 2}) {
    for (int byIds = 0; byIds < 2; ++byIds) {
      Options o;
      o.threads = threads;
      const Groups g = byIds ? index.build(ids, 4) : groups_of(4, 2);
      cpu::advantages(t.view(), rew, g, o, ObjectiveFactors{}, out, ws);  // sizes the workspace
      g_allocations = 0;
      g_counting = true;
      cpu::advantages(t.view(), rew, g, o, ObjectiveFactors{}, out, ws);
      if (byIds) index.build(ids, 4);  // rebuilt per run, in place
      g_counting = false;
      CHECK(g_allocations == 0, "a repeated call (%d threads, %s) allocated %ld times", threads,
            byIds ? "groupIds" : "groupSize", g_allocations.load());
    }
  }
  cpu::workspace_destroy(ws);
}

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";  // skips the slow sweeps
  if (!quick) test_conversions();
  test_reduction_decodes_every_pattern();
  test_accuracy_large_d();
  test_accuracy_dtypes();
  test_shapes();
  test_determinism();
  test_solver_and_drivers();
  test_edge_cases();
  test_errors();
  test_concurrent_calls();
  test_group_ids();
  test_no_allocations();
  if (!quick) time_flux512();
  if (failures) {
    std::printf("core_test: %d FAILED\n", failures);
    return 1;
  }
  std::printf("core_test: all passed\n");
  return 0;
}
