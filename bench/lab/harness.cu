// Native harness of the CUDA backend (otca::gpu): parity, determinism, errors, 64-bit indexing,
// then timing next to the device's copy and read bandwidth. One run, self-checking, < 2 minutes.
//
//   test/native/gpu_build.sh [arch]   then   build/native-gpu/gpu_core_test [--quick] [--no-large]
//                                                                 [--no-timing] [--variant N]
//                                                                 [--profile]
//
// Every streaming variant (csrc/core/step_args.cuh kVariants, all compiled in by gpu_build.sh)
// runs the parity suite, the 2^32 check and each timed size's float64 device-reference check, and
// gets its own timing table: the whole call, trajectory only, and the streaming part alone; then
// the best variant per workload. The host overhead is timed for each wait mode (sync mode 0/1/2).
//
// Parity: gpu::advantages against a float64 reference written here (double dot/sq, then the
// otca_math.h functions in the CPU backend's order) and against cpu::advantages, for every dtype,
// both layouts, misaligned pointers, D not a multiple of 8, N = 1 and 96, T = 1, 50 and 70 (> 64
// states), K = 1, 5 and 20 (> 16 objectives), every objective mode, stdScope batch. Then
// bit-identical reruns, phase 1 + phase 2 == the one call, non-finite errors (same message as the
// CPU backend), a batch with element indices past 2^32, and timing (median of 50 CUDA-event
// intervals around the launch, inputs rotated so they do not sit in L2).
// --profile: none of that, only the few calls that scripts/gpu-check.sh's ncu step profiles (see
// profile_run).
// Exit status: 0 when every check passed (or no device: prints SKIP and the reason), 1 otherwise.
#include <cuda_profiler_api.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "dtype.h"
#include "gpu_testing.cuh"
#include "otca.h"
#include "otca_math.h"
#include "step_args.cuh"  // detail::TimelineSlot (the debug timeline's slots)
#include "trajectory.h"

using namespace otca;

namespace {

int g_failures = 0;
int g_checks = 0;

#define CK(x)                                                                                   \
  do {                                                                                          \
    const cudaError_t e_ = (x);                                                                 \
    if (e_ != cudaSuccess) {                                                                    \
      std::printf("FATAL %s at %s:%d: %s\n", cudaGetErrorName(e_), __FILE__, __LINE__, #x);     \
      std::exit(1);                                                                             \
    }                                                                                           \
  } while (0)

void expect(bool ok, const std::string& what) {
  ++g_checks;
  if (!ok) {
    ++g_failures;
    if (g_failures <= 40) std::printf("FAIL %s\n", what.c_str());
    else if (g_failures == 41) std::printf("FAIL ... (further failures counted, not printed)\n");
  }
}

size_t elem_size(DType dt) { return dt == DType::Float32 ? 4 : 2; }

// ------------------------------------------------------------------ outputs and comparison

struct Outs {
  std::vector<float> S, dS, wbar, w, q, A, e, lam, c, f, adv;
  void resize(int64_t N, int64_t T, int64_t K) {
    S.assign(N * (T + 1), 0.f);
    dS.assign(N * T, 0.f);
    wbar.assign(N * T, 0.f);
    w.assign(N * T, 0.f);
    q.assign(N, 0.f);
    A.assign(N * K, 0.f);
    e.assign(N, 0.f);
    lam.assign(N, 0.f);
    c.assign(N * K, 0.f);
    f.assign(N, 0.f);
    adv.assign(N * T, 0.f);
  }
  std::vector<std::pair<const char*, const std::vector<float>*>> fields() const {
    return {{"S", &S},     {"dS", &dS}, {"wbar", &wbar}, {"w", &w}, {"q", &q}, {"A", &A},
            {"e", &e},     {"lam", &lam}, {"c", &c},     {"f", &f}, {"adv", &adv}};
  }
};

// Normwise relative error max|a-b| / max|b|; infinity if a holds a non-finite value.
double rel_err(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0.0, den = 0.0;
  for (size_t k = 0; k < a.size(); ++k) {
    if (!std::isfinite(a[k])) return INFINITY;
    num = std::max(num, std::fabs(static_cast<double>(a[k]) - b[k]));
    den = std::max(den, std::fabs(static_cast<double>(b[k])));
  }
  return den > 0 ? num / den : num;
}

// Trajectory quantities come straight from the float32 reduction; e, lambda, c, f and Adv pass
// through |q| / std_g(q), which magnifies the reduction's ~1e-7 by 1 / std_g(q).
double tolerance(const char* field) {
  const std::string f = field;
  if (f == "A") return 1e-12;  // rewards only: the same float64 arithmetic
  if (f == "S" || f == "dS" || f == "wbar" || f == "w" || f == "q") return 2e-5;
  return 1e-3;
}

// ------------------------------------------------------------------ the float64 reference

struct Setup {
  int64_t N, G, T, D, K;
  Options opt;
  std::vector<double> weights, scale;
};

// From float64 dot/sq ([N][T+1] each): finish_sample per sample, then the groups exactly as the
// CPU backend orders them (SPEC sections 1, 3, 4).
void reference_from_sums(const Setup& s, const std::vector<double>& dot, const std::vector<double>& sq,
                         const std::vector<double>& r, Outs& o) {
  const int64_t N = s.N, T = s.T, K = s.K, G = s.G;
  o.resize(N, T, K);
  math::Params p;
  p.temporal = static_cast<int>(s.opt.temporal);
  p.weightScale = static_cast<int>(s.opt.weightScale);
  p.objective = static_cast<int>(s.opt.objective);
  p.stdScope = static_cast<int>(s.opt.stdScope);
  p.exploration = static_cast<int>(s.opt.exploration);
  p.stdCorrection = s.opt.stdCorrection;
  p.minWeight = s.opt.minWeight;
  p.advClip = s.opt.advClip;
  p.epsAdv = s.opt.epsAdv;
  p.epsTcd = s.opt.epsTcd;
  p.epsMoca = s.opt.epsMoca;
  p.epsSolver = s.opt.epsSolver;
  for (int64_t i = 0; i < N; ++i)
    o.q[i] = static_cast<float>(math::finish_sample(&dot[i * (T + 1)], &sq[i * (T + 1)], T, p,
                                                    &o.S[i * (T + 1)], &o.dS[i * T], &o.wbar[i * T],
                                                    &o.w[i * T]));
  const auto wt = [&](int64_t k) { return s.weights.empty() ? 1.0 : s.weights[k]; };
  const auto sc = [&](int64_t k) { return s.scale.empty() ? 1.0 : s.scale[k]; };
  const auto R = [&](int64_t i) {
    double v = 0.0;
    for (int64_t k = 0; k < K; ++k) v += wt(k) * r[i * K + k];
    return v;
  };
  const auto qd = [&](int64_t i) { return static_cast<double>(o.q[i]); };
  const bool batch = p.stdScope == 1;
  std::vector<double> A(K);
  const auto Af = [&](int64_t k) { return A[k]; };
  for (int64_t b = 0; b < N; b += G) {
    std::vector<double> mean(K), spread(K);
    for (int64_t k = 0; k < K; ++k) {
      const auto rk = [&](int64_t i) { return r[i * K + k]; };
      const math::Stats st = math::stats_of(rk, b, b + G, p.stdCorrection);
      mean[k] = st.mean;
      spread[k] = batch ? math::stats_of(rk, 0, N, p.stdCorrection).std : st.std;
    }
    math::Stats rs = math::stats_of(R, b, b + G, p.stdCorrection);
    if (batch) rs.std = math::stats_of(R, 0, N, p.stdCorrection).std;
    const math::Stats qs = math::stats_of(qd, b, b + G, p.stdCorrection);
    for (int64_t i = b; i < b + G; ++i) {
      for (int64_t k = 0; k < K; ++k) A[k] = math::group_advantage(r[i * K + k], mean[k], spread[k], p, sc(k));
      const double e = math::exploration(qd(i), qs, p);
      const double lam = p.objective == 0 ? math::moca_lambda(Af, K, e, p) : 0.0;
      const bool solved = p.objective <= 1;
      math::Solve so;
      double f = 0.0;
      if (solved) {
        so = math::moca_solve(Af, K, lam, p.epsSolver);
        f = so.f;
      } else if (p.objective == 2) {
        for (int64_t k = 0; k < K; ++k) f += wt(k) * A[k];
      } else {
        f = math::group_advantage(R(i), rs.mean, rs.std, p, 1.0);
      }
      for (int64_t k = 0; k < K; ++k) {
        o.A[i * K + k] = static_cast<float>(A[k]);
        o.c[i * K + k] = static_cast<float>(solved ? math::solve_coefficient(so, k) : wt(k));
      }
      o.e[i] = static_cast<float>(e);
      o.lam[i] = static_cast<float>(lam);
      o.f[i] = static_cast<float>(f);
    }
  }
  for (int64_t i = 0; i < N; ++i)
    for (int64_t t = 0; t < T; ++t) o.adv[i * T + t] = math::effective_advantage(o.w[i * T + t], o.f[i]);
}

// ------------------------------------------------------------------ inputs on host and device

uint16_t encode16(DType dt, float v) {
  return dt == DType::BFloat16 ? dtype::float_to_bf16(v) : dtype::float_to_f16(v);
}
float decode16(DType dt, uint16_t h) {
  return dt == DType::BFloat16 ? dtype::bf16_to_float(h) : dtype::f16_to_float(h);
}

struct Case {
  std::string name;
  DType dt = DType::Float32;
  bool list = false;   // T+1 buffers [N, D] instead of one [N, T+1, D]
  int misalign = 0;    // elements added to every state pointer
  bool rewF64 = false;
  // D = 1: S = +-1 up to float32 rounding of single products, so every dS is ~1e-7 noise next to
  // epsTcd; the float64 reference is then no yardstick. Such a case is compared with the CPU
  // backend only (which rounds those single products exactly as the GPU does).
  bool cpuOnly = false;
  Setup s;
};

// Latents as the caller holds them: the same bytes on the host and on the device.
struct Batch {
  Case cs;
  std::vector<std::vector<uint8_t>> host;  // one buffer (one-tensor) or T+1
  std::vector<void*> dev;
  std::vector<const void*> hostStates, devStates;
  int64_t stride = 0;
  std::vector<float> zdec;                 // decoded values [N][T+1][D]
  std::vector<double> r;                   // rewards as float64 (float32 values when !rewF64)
  std::vector<uint8_t> rewHost;
  void* rewDev = nullptr;

  void set(int64_t i, int64_t j, int64_t d, float v) {  // after build: overwrite one element
    const Setup& s = cs.s;
    const size_t es = elem_size(cs.dt);
    const int64_t at = i * stride + d + cs.misalign;
    uint8_t* h = host[cs.list ? j : 0].data() + (at + (cs.list ? 0 : j * s.D)) * es;
    if (cs.dt == DType::Float32) std::memcpy(h, &v, 4);
    else { const uint16_t b = encode16(cs.dt, v); std::memcpy(h, &b, 2); }
    uint8_t* dptr = static_cast<uint8_t*>(dev[cs.list ? j : 0]) + (at + (cs.list ? 0 : j * s.D)) * es;
    CK(cudaMemcpy(dptr, h, es, cudaMemcpyHostToDevice));
    CK(cudaDeviceSynchronize());
  }
  void set_reward(int64_t i, int64_t k, double v) {
    const int64_t at = i * cs.s.K + k;
    if (cs.rewF64) std::memcpy(rewHost.data() + at * 8, &v, 8);
    else { const float f = static_cast<float>(v); std::memcpy(rewHost.data() + at * 4, &f, 4); }
    CK(cudaMemcpy(rewDev, rewHost.data(), rewHost.size(), cudaMemcpyHostToDevice));
    CK(cudaDeviceSynchronize());
  }
  ~Batch() {
    for (void* p : dev) cudaFree(p);
    if (rewDev) cudaFree(rewDev);
  }
};

// Trajectory-like latents (trajectory.h) on the host and the device.
void build(Batch& b, const Case& cs, uint64_t seed, bool device = true) {
  b.cs = cs;
  const Setup& s = cs.s;
  const int64_t N = s.N, T = s.T, D = s.D, K = s.K;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.f, 1.f);
  b.zdec.assign(N * (T + 1) * D, 0.f);
  fill_trajectory(N, T, D, rng, [&](int64_t i, int64_t j, int64_t d, float v) { b.zdec[(i * (T + 1) + j) * D + d] = v; });
  const size_t es = elem_size(cs.dt);
  const int64_t buffers = cs.list ? T + 1 : 1;
  const int64_t perBuffer = cs.list ? N * D : N * (T + 1) * D;
  b.stride = cs.list ? D : (T + 1) * D;
  b.host.assign(buffers, std::vector<uint8_t>((perBuffer + cs.misalign + 8) * es, 0));
  b.dev.assign(device ? buffers : 0, nullptr);
  for (int64_t n = 0; device && n < buffers; ++n) CK(cudaMalloc(&b.dev[n], b.host[n].size()));
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = 0; j <= T; ++j)
      for (int64_t d = 0; d < D; ++d) {
        float& v = b.zdec[(i * (T + 1) + j) * D + d];
        const int64_t at = cs.misalign + (cs.list ? i * D + d : (i * (T + 1) + j) * D + d);
        uint8_t* h = b.host[cs.list ? j : 0].data() + at * es;
        if (cs.dt == DType::Float32) std::memcpy(h, &v, 4);
        else { const uint16_t bits = encode16(cs.dt, v); std::memcpy(h, &bits, 2); v = decode16(cs.dt, bits); }
      }
  for (int64_t n = 0; device && n < buffers; ++n)
    CK(cudaMemcpy(b.dev[n], b.host[n].data(), b.host[n].size(), cudaMemcpyHostToDevice));
  b.hostStates.resize(T + 1);
  b.devStates.resize(T + 1);
  for (int64_t j = 0; j <= T; ++j) {
    const size_t off = (cs.misalign + (cs.list ? 0 : j * D)) * es;
    b.hostStates[j] = b.host[cs.list ? j : 0].data() + off;
    if (device) b.devStates[j] = static_cast<uint8_t*>(b.dev[cs.list ? j : 0]) + off;
  }
  b.r.assign(N * K, 0.0);
  b.rewHost.assign(N * K * (cs.rewF64 ? 8 : 4), 0);
  for (int64_t x = 0; x < N * K; ++x) {
    const double v = nd(rng) * (1.0 + (x % K));
    if (cs.rewF64) { b.r[x] = v; std::memcpy(b.rewHost.data() + x * 8, &v, 8); }
    else { const float f = static_cast<float>(v); b.r[x] = f; std::memcpy(b.rewHost.data() + x * 4, &f, 4); }
  }
  if (!device) return;
  CK(cudaMalloc(&b.rewDev, b.rewHost.size()));
  CK(cudaMemcpy(b.rewDev, b.rewHost.data(), b.rewHost.size(), cudaMemcpyHostToDevice));
  CK(cudaDeviceSynchronize());  // pageable copies may still be in flight when cudaMemcpy returns
}

Latents latents_of(const Batch& b, bool device) {
  Latents l;
  l.dtype = b.cs.dt;
  l.N = b.cs.s.N;
  l.T = b.cs.s.T;
  l.D = b.cs.s.D;
  l.states = device ? b.devStates.data() : b.hostStates.data();
  l.sampleStride = b.stride;
  return l;
}
Rewards rewards_of(const Batch& b, bool device) {
  Rewards r;
  r.dtype = b.cs.rewF64 ? DType::Float64 : DType::Float32;
  r.data = device ? b.rewDev : static_cast<const void*>(b.rewHost.data());
  r.N = b.cs.s.N;
  r.K = b.cs.s.K;
  return r;
}
Options options_of(const Setup& s) {
  Options o = s.opt;
  o.objectiveWeights = s.weights.empty() ? nullptr : s.weights.data();
  o.objectiveScale = s.scale.empty() ? nullptr : s.scale.data();
  return o;
}

// Device output buffers, poisoned (all bits set: NaN) before every call.
struct DevOuts {
  std::vector<float*> p;  // same order as Outs::fields
  std::vector<size_t> n;
  DevOuts(int64_t N, int64_t T, int64_t K) {
    n = {size_t(N * (T + 1)), size_t(N * T), size_t(N * T), size_t(N * T), size_t(N), size_t(N * K),
         size_t(N), size_t(N), size_t(N * K), size_t(N), size_t(N * T)};
    p.assign(n.size(), nullptr);
    for (size_t k = 0; k < n.size(); ++k) CK(cudaMalloc(&p[k], n[k] * 4 + 4));
  }
  ~DevOuts() { for (float* x : p) cudaFree(x); }
  void poison() {
    for (size_t k = 0; k < n.size(); ++k) CK(cudaMemset(p[k], 0xff, n[k] * 4));
    CK(cudaDeviceSynchronize());  // legacy-stream work is not ordered before a non-blocking stream
  }
  AllOutputs all() const {
    AllOutputs a;
    a.trajectory = {p[0], p[1], p[2], p[3], p[4]};
    a.objective = {p[5], p[6], p[7], p[8], p[9]};
    a.advantages = p[10];
    return a;
  }
  void fetch(Outs& o) const {
    std::vector<std::vector<float>*> dst = {&o.S, &o.dS, &o.wbar, &o.w, &o.q, &o.A, &o.e, &o.lam, &o.c, &o.f, &o.adv};
    for (size_t k = 0; k < n.size(); ++k) {
      dst[k]->resize(n[k]);
      CK(cudaMemcpy(dst[k]->data(), p[k], n[k] * 4, cudaMemcpyDeviceToHost));
    }
  }
};

bool same_bits(const Outs& a, const Outs& b, std::string* which) {
  const auto fa = a.fields(), fb = b.fields();
  for (size_t k = 0; k < fa.size(); ++k) {
    if (fa[k].second->size() != fb[k].second->size() ||
        std::memcmp(fa[k].second->data(), fb[k].second->data(), fa[k].second->size() * 4) != 0) {
      *which = fa[k].first;
      return false;
    }
  }
  return true;
}

struct Row {
  std::string name;
  double errRef = 0, errCpu = 0;
  const char* worstRef = "";
  const char* worstCpu = "";
  bool ok = true;
};
std::vector<Row> g_rows;

// Checks every output against its tolerance; reports the error of the output closest to (or
// furthest past) its tolerance.
void compare_to(const char* what, const std::string& name, const Outs& got, const Outs& want,
                double* worst, const char** worstField) {
  const auto fg = got.fields(), fw = want.fields();
  double worstRatio = -1;
  for (size_t k = 0; k < fg.size(); ++k) {
    const double err = rel_err(*fg[k].second, *fw[k].second);
    const double ratio = err / tolerance(fg[k].first);
    if (ratio > worstRatio) { worstRatio = ratio; *worst = err; *worstField = fg[k].first; }
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s: %s %s rel err %.3g > %.1g", name.c_str(), what, fg[k].first, err,
                  tolerance(fg[k].first));
    expect(err <= tolerance(fg[k].first), buf);
  }
}

// ------------------------------------------------------------------ parity cases

// The float64 reference and the CPU backend's outputs for a batch built on the host.
void host_results(const Batch& b, Outs& ref, Outs& cpu) {
  const Setup& s = b.cs.s;
  const int64_t N = s.N, T = s.T, D = s.D, K = s.K;
  std::vector<double> dot(N * (T + 1)), sq(N * (T + 1));
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = 0; j <= T; ++j) {
      double a = 0, c = 0;
      const float* zj = &b.zdec[(i * (T + 1) + j) * D];
      const float* zT = &b.zdec[(i * (T + 1) + T) * D];
      for (int64_t d = 0; d < D; ++d) { a += double(zj[d]) * zT[d]; c += double(zj[d]) * zj[d]; }
      dot[i * (T + 1) + j] = a;
      sq[i * (T + 1) + j] = c;
    }
  reference_from_sums(s, dot, sq, b.r, ref);
  cpu.resize(N, T, K);
  AllOutputs co;
  co.trajectory = {cpu.S.data(), cpu.dS.data(), cpu.wbar.data(), cpu.w.data(), cpu.q.data()};
  co.objective = {cpu.A.data(), cpu.e.data(), cpu.lam.data(), cpu.c.data(), cpu.f.data()};
  co.advantages = cpu.adv.data();
  cpu::advantages(latents_of(b, false), rewards_of(b, false), s.G, options_of(s), co);
}

// Without a device: the reference against the CPU backend on every parity case, so that a wrong
// reference shows here and not as a false GPU failure.
void host_selftest(const std::vector<Case>& cases) {
  uint64_t seed = 1;
  for (const Case& cs : cases) {
    Batch b;
    build(b, cs, seed++, false);
    Outs ref, cpu;
    host_results(b, ref, cpu);
    Row row;
    row.name = cs.name;
    const int before = g_failures;
    if (!cs.cpuOnly) compare_to("cpu vs float64 reference", cs.name, cpu, ref, &row.errRef, &row.worstRef);
    row.ok = g_failures == before;
    g_rows.push_back(row);
  }
}

void parity(const Case& cs, cudaStream_t stream, uint64_t seed) {
  Batch b;
  build(b, cs, seed);
  const Setup& s = cs.s;
  const int64_t N = s.N, T = s.T, K = s.K;
  const Options opt = options_of(s);
  Row row;
  row.name = cs.name;
  const int failuresBefore = g_failures;
  Outs ref, cpu;
  host_results(b, ref, cpu);

  DevOuts d(N, T, K);
  Outs g1, g2;
  d.poison();
  gpu::advantages(0, latents_of(b, true), rewards_of(b, true), s.G, opt, d.all(), stream);
  d.fetch(g1);
  if (!cs.cpuOnly) compare_to("vs float64 reference", cs.name, g1, ref, &row.errRef, &row.worstRef);
  else row.worstRef = "n/a";
  compare_to("vs cpu::advantages", cs.name, g1, cpu, &row.errCpu, &row.worstCpu);

  d.poison();
  gpu::advantages(0, latents_of(b, true), rewards_of(b, true), s.G, opt, d.all(), stream);
  d.fetch(g2);
  std::string which;
  expect(same_bits(g1, g2, &which), cs.name + ": rerun not bit-identical (" + which + ")");

  // phase 1 then phase 2 == the one call, bit for bit; Adv = float(w) * float(f)
  d.poison();
  AllOutputs two = d.all();
  gpu::trajectory_credit(0, latents_of(b, true), opt, two.trajectory, stream);
  gpu::objective_credit(0, rewards_of(b, true), two.trajectory.trajectoryScore, s.G, opt, two.objective, stream);
  Outs g3;
  d.fetch(g3);
  for (int64_t i = 0; i < N; ++i)
    for (int64_t t = 0; t < T; ++t) g3.adv[i * T + t] = g3.w[i * T + t] * g3.f[i];
  expect(same_bits(g1, g3, &which), cs.name + ": two phases differ from one call (" + which + ")");

  // only Adv requested: the same bits
  d.poison();
  AllOutputs only;
  only.advantages = d.p[10];
  gpu::advantages(0, latents_of(b, true), rewards_of(b, true), s.G, opt, only, stream);
  std::vector<float> adv(N * T);
  CK(cudaMemcpy(adv.data(), d.p[10], N * T * 4, cudaMemcpyDeviceToHost));
  expect(std::memcmp(adv.data(), g1.adv.data(), N * T * 4) == 0, cs.name + ": Adv alone differs");
  row.ok = g_failures == failuresBefore;
  g_rows.push_back(row);
}

// ------------------------------------------------------------------ errors

std::string gpu_error(const Batch& b, const Options& opt, cudaStream_t stream, DevOuts& d) {
  try {
    gpu::advantages(0, latents_of(b, true), rewards_of(b, true), b.cs.s.G, opt, d.all(), stream);
  } catch (const RangeError& e) {
    return std::string("RangeError: ") + e.what();
  } catch (const std::exception& e) {
    return std::string("other: ") + e.what();
  }
  return "no error";
}
std::string cpu_error(const Batch& b, const Options& opt) {
  Outs o;
  o.resize(b.cs.s.N, b.cs.s.T, b.cs.s.K);
  AllOutputs co;
  co.advantages = o.adv.data();
  try {
    cpu::advantages(latents_of(b, false), rewards_of(b, false), b.cs.s.G, opt, co);
  } catch (const RangeError& e) {
    return std::string("RangeError: ") + e.what();
  } catch (const std::exception& e) {
    return std::string("other: ") + e.what();
  }
  return "no error";
}

void errors(cudaStream_t stream) {
  Case cs;
  cs.name = "errors";
  cs.dt = DType::Float32;
  cs.s = Setup{4, 2, 5, 3000, 2, Options{}, {}, {}};
  const Options opt = options_of(cs.s);
  struct Mutation {
    const char* name;
    DType dt;
    std::function<void(Batch&)> apply;
    const char* expected;
    bool rewF64 = false;
  };
  const std::vector<Mutation> ms = {
      {"NaN then Inf", DType::Float32,
       [](Batch& b) { b.set(1, 3, 5, INFINITY); b.set(1, 2, 100, NAN); b.set(2, 0, 0, NAN); },
       "Expected finite values for latents but received NaN at sample 1, state 2"},
      {"Inf in z_T (bf16)", DType::BFloat16, [](Batch& b) { b.set(0, 5, 2999, INFINITY); },
       "Expected finite values for latents but received Infinity at sample 0, state 5"},
      {"-Inf (f16)", DType::Float16, [](Batch& b) { b.set(3, 1, 7, -INFINITY); },
       "Expected finite values for latents but received -Infinity at sample 3, state 1"},
      {"float32 overflow of finite latents (summed again in float64) then a NaN", DType::Float32,
       [](Batch& b) { for (int d = 0; d < 64; ++d) b.set(2, 1, d * 37, 3e19f); b.set(3, 4, 9, NAN); },
       "Expected finite values for latents but received NaN at sample 3, state 4"},
      {"reward past 1e100 (float64 rewards)", DType::Float32, [](Batch& b) { b.set_reward(1, 0, -1e200); },
       "Expected |r| <= 1e+100 for rewards but received -1e+200 at sample 1, objective 0", true},
      {"reward NaN", DType::BFloat16, [](Batch& b) { b.set_reward(3, 1, NAN); b.set(0, 0, 0, NAN); },
       "Expected finite values for rewards but received NaN at sample 3, objective 1"},
  };
  DevOuts d(cs.s.N, cs.s.T, cs.s.K);
  for (const Mutation& m : ms) {
    Case c = cs;
    c.dt = m.dt;
    c.rewF64 = m.rewF64;
    Batch b;
    build(b, c, 99);
    m.apply(b);
    const std::string g = gpu_error(b, opt, stream, d), h = cpu_error(b, opt);
    const std::string want = std::string("RangeError: ") + m.expected;
    expect(g == want, std::string("error '") + m.name + "': gpu said '" + g + "', expected '" + want + "'");
    expect(g == h, std::string("error '") + m.name + "': gpu '" + g + "' != cpu '" + h + "'");
  }
  // a clean call right after the errors: the counters and flags were reset
  Batch b;
  build(b, cs, 5);
  expect(gpu_error(b, opt, stream, d) == "no error", "a clean call after errors failed");
  // phase 2 alone with a non-finite trajectory score
  float* q = d.p[4];
  std::vector<float> qh(cs.s.N, 0.25f);
  qh[2] = NAN;
  CK(cudaMemcpy(q, qh.data(), qh.size() * 4, cudaMemcpyHostToDevice));
  CK(cudaDeviceSynchronize());
  std::string msg = "no error";
  try {
    AllOutputs a = d.all();
    gpu::objective_credit(0, rewards_of(b, true), q, cs.s.G, opt, a.objective, stream);
  } catch (const RangeError& e) { msg = e.what(); }
  expect(msg == "Expected finite values for trajectoryScore but received NaN at sample 2",
         "objective_credit with NaN q: '" + msg + "'");
  g_rows.push_back(Row{"non-finite errors (6) + q", 0, 0, "", "", true});
}

// ------------------------------------------------------------------ device-side helpers (large)

__device__ __forceinline__ uint64_t mix(uint64_t x) {
  x ^= x >> 33; x *= 0xff51afd7ed558ccdULL; x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ULL; x ^= x >> 33;
  return x;
}
// Values in [-1, 1) from a hash of the flat index (never all zeros); `pull` mixes z_T into the
// earlier states of the same sample so that S is not ~0.
template <class Raw>
__global__ void fill_latents(Raw* base, int64_t N, int64_t T, int64_t D, uint64_t seed) {
  const int64_t total = N * (T + 1) * D;
  for (int64_t x = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; x < total; x += int64_t(gridDim.x) * blockDim.x) {
    const int64_t d = x % D, ij = x / D, j = ij % (T + 1), i = ij / (T + 1);
    const float own = float(mix(seed ^ uint64_t(x)) >> 40) * (2.0f / 16777216.0f) - 1.0f;
    const float fin = float(mix(seed ^ uint64_t((i * (T + 1) + T) * D + d)) >> 40) * (2.0f / 16777216.0f) - 1.0f;
    const float a = float(j) / float(T);
    const float v = (1.0f - a) * own + a * fin;
    if constexpr (sizeof(Raw) == 4) base[x] = v;
    else base[x] = Raw{dtype::float_to_bf16(v)};
  }
}
struct Bf16Raw { uint16_t bits; };

// Float64 dot and sq per (sample, state), naive: a block per (row, slice), block partials to host.
template <class Raw>
__global__ void reference_sums(const Raw* base, int64_t T, int64_t D, int64_t stride, double* out) {
  const int64_t row = blockIdx.y;  // i*(T+1)+j
  const int64_t i = row / (T + 1), j = row % (T + 1);
  const Raw* zj = base + i * stride + j * D;
  const Raw* zT = base + i * stride + T * D;
  double a = 0, c = 0;
  for (int64_t d = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; d < D; d += int64_t(gridDim.x) * blockDim.x) {
    double x, y;
    if constexpr (sizeof(Raw) == 4) { x = zj[d]; y = zT[d]; }
    else { x = dtype::bf16_to_float(zj[d].bits); y = dtype::bf16_to_float(zT[d].bits); }
    a += x * y;
    c += x * x;
  }
  __shared__ double sa[256], sc[256];
  sa[threadIdx.x] = a;
  sc[threadIdx.x] = c;
  __syncthreads();
  for (int o = blockDim.x / 2; o > 0; o >>= 1) {
    if (threadIdx.x < o) { sa[threadIdx.x] += sa[threadIdx.x + o]; sc[threadIdx.x] += sc[threadIdx.x + o]; }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    out[(row * gridDim.x + blockIdx.x) * 2] = sa[0];
    out[(row * gridDim.x + blockIdx.x) * 2 + 1] = sc[0];
  }
}

template <class Raw>
void device_reference(const Raw* base, int64_t N, int64_t T, int64_t D, std::vector<double>& dot,
                      std::vector<double>& sq) {
  const int slices = 64;
  double* out;
  CK(cudaMalloc(&out, sizeof(double) * 2 * slices * N * (T + 1)));
  reference_sums<Raw><<<dim3(slices, unsigned(N * (T + 1))), 256>>>(base, T, D, (T + 1) * D, out);
  CK(cudaGetLastError());
  std::vector<double> h(2 * slices * N * (T + 1));
  CK(cudaMemcpy(h.data(), out, h.size() * 8, cudaMemcpyDeviceToHost));
  CK(cudaFree(out));
  dot.assign(N * (T + 1), 0.0);
  sq.assign(N * (T + 1), 0.0);
  for (int64_t row = 0; row < N * (T + 1); ++row)
    for (int s = 0; s < slices; ++s) { dot[row] += h[(row * slices + s) * 2]; sq[row] += h[(row * slices + s) * 2 + 1]; }
}

// Rewards on the device from a host array (float32).
float* upload_rewards(const std::vector<double>& r) {
  std::vector<float> f(r.begin(), r.end());
  float* p;
  CK(cudaMalloc(&p, f.size() * 4));
  CK(cudaMemcpy(p, f.data(), f.size() * 4, cudaMemcpyHostToDevice));
  CK(cudaDeviceSynchronize());
  return p;
}

std::vector<double> random_rewards(int64_t N, int64_t K, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<double> r(N * K);
  for (double& x : r) x = static_cast<double>(nd(rng));  // float32 values
  return r;
}

// One [N, T+1, D] device tensor filled by the hash, checked against the float64 device reference.
template <class Raw>
bool large_or_timed_check(const char* name, const Raw* base, int64_t N, int64_t G, int64_t T, int64_t D,
                          cudaStream_t stream, double* errOut) {
  const int64_t K = 3;
  Setup s{N, G, T, D, K, Options{}, {}, {}};
  std::vector<double> dot, sq;
  device_reference<Raw>(base, N, T, D, dot, sq);
  const std::vector<double> r = random_rewards(N, K, 7);
  Outs ref;
  reference_from_sums(s, dot, sq, r, ref);
  std::vector<const void*> states(T + 1);
  for (int64_t j = 0; j <= T; ++j) states[j] = base + j * D;
  Latents l;
  l.dtype = sizeof(Raw) == 4 ? DType::Float32 : DType::BFloat16;
  l.N = N; l.T = T; l.D = D; l.states = states.data(); l.sampleStride = (T + 1) * D;
  float* rd = upload_rewards(r);
  Rewards rw;
  rw.dtype = DType::Float32; rw.data = rd; rw.N = N; rw.K = K;
  DevOuts d(N, T, K);
  d.poison();
  gpu::advantages(0, l, rw, G, options_of(s), d.all(), stream);
  Outs g;
  d.fetch(g);
  CK(cudaFree(rd));
  double worst = 0;
  const char* wf = "";
  const int before = g_failures;
  compare_to("vs float64 device reference", name, g, ref, &worst, &wf);
  *errOut = worst;
  return g_failures == before;
}

// ------------------------------------------------------------------ bandwidth probes

__global__ void read_probe(const uint4* p, int64_t n, unsigned* out) {
  unsigned acc = 0;
#pragma unroll 4
  for (int64_t x = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; x < n; x += int64_t(gridDim.x) * blockDim.x) {
    const uint4 v = __ldcs(p + x);
    acc ^= v.x + v.y + v.z + v.w;
  }
  if (acc == 0x9e3779b9u) out[0] = acc;  // practically never; keeps the loads
}

template <class F>
double median_ms(int warm, int reps, cudaStream_t stream, F launch) {
  cudaEvent_t a, b;
  CK(cudaEventCreate(&a));
  CK(cudaEventCreate(&b));
  std::vector<float> t;
  for (int k = 0; k < warm + reps; ++k) {
    CK(cudaEventRecord(a, stream));
    launch(k);
    CK(cudaEventRecord(b, stream));
    CK(cudaEventSynchronize(b));
    float ms;
    CK(cudaEventElapsedTime(&ms, a, b));
    if (k >= warm) t.push_back(ms);
  }
  CK(cudaEventDestroy(a));
  CK(cudaEventDestroy(b));
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// ------------------------------------------------------------------ debug timeline

std::vector<std::string> g_timeline;  // printed in the summary

// Runs `call` reps times with the debug timeline on (variant already selected) and records the
// median of each stamp relative to the first streaming block's entry, in microseconds.
void timeline_run(const std::string& label, cudaStream_t stream, const std::function<void(int)>& call) {
  using namespace otca::gpu::detail;
  if (!gpu::testing::timeline_compiled()) return;
  unsigned long long* dev;
  CK(cudaMalloc(&dev, sizeof(unsigned long long) * kTlSlots));
  std::vector<unsigned long long> init(kTlSlots), got(kTlSlots);
  for (int k = 0; k < kTlSlots; ++k) init[k] = ((kTlMinSlots >> k) & 1u) ? ~0ull : 0ull;
  const int reps = 21;
  std::vector<std::vector<double>> rel(kTlSlots);
  unsigned long long minStep = ~0ull;
  for (int r = 0; r < reps + 2; ++r) {
    CK(cudaStreamSynchronize(stream));
    CK(cudaMemcpy(dev, init.data(), sizeof(unsigned long long) * kTlSlots, cudaMemcpyHostToDevice));
    CK(cudaDeviceSynchronize());
    gpu::testing::set_timeline(dev);
    call(r);
    gpu::testing::set_timeline(nullptr);
    CK(cudaStreamSynchronize(stream));  // the call may return before the kernel has exited
    CK(cudaMemcpy(got.data(), dev, sizeof(unsigned long long) * kTlSlots, cudaMemcpyDeviceToHost));
    if (r < 2) continue;  // warm-up
    const unsigned long long t0 = got[kTlEntryFirst];
    for (int k = 0; k < kTlSlots; ++k) {
      if (got[k] == init[k] || t0 == ~0ull) { rel[k].push_back(NAN); continue; }
      rel[k].push_back((static_cast<double>(got[k]) - static_cast<double>(t0)) / 1e3);
      if (got[k] > t0) minStep = std::min(minStep, got[k] - t0);
    }
  }
  CK(cudaFree(dev));
  const auto med = [&](int k) {
    std::vector<double> v = rel[k];
    std::sort(v.begin(), v.end(), [](double a, double b) { return std::isnan(b) ? !std::isnan(a) : a < b; });
    return v[v.size() / 2];
  };
  const auto f = [&](int k) {
    char b[32];
    const double m = med(k);
    if (std::isnan(m)) std::snprintf(b, sizeof b, "-");
    else std::snprintf(b, sizeof b, "%.1f", m);
    return std::string(b);
  };
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "%-22s entry last %s | stream end first %s last %s | sample %s..%s | "
                "group %s..%s | publish %s..%s (smallest stamp step %.2f us)",
                label.c_str(), f(kTlEntryLast).c_str(), f(kTlStreamEndFirst).c_str(), f(kTlStreamEndLast).c_str(),
                f(kTlSampleStart).c_str(),
                f(kTlSampleEnd).c_str(), f(kTlGroupStart).c_str(), f(kTlGroupEnd).c_str(),
                f(kTlPublishStart).c_str(), f(kTlPublishEnd).c_str(), minStep == ~0ull ? 0.0 : minStep / 1e3);
  g_timeline.push_back(buf);
}

std::vector<Case> parity_cases() {
  std::vector<Case> cases;
  const auto add = [&](const char* name, DType dt, bool list, int mis, bool f64, Setup s) {
    Case c;
    c.name = name; c.dt = dt; c.list = list; c.misalign = mis; c.rewF64 = f64; c.s = s;
    cases.push_back(c);
  };
  Options o;
  add("f32 tensor N12 T16 D4100 K3 moca", DType::Float32, false, 0, false, Setup{12, 12, 16, 4100, 3, o, {}, {}});
  { Options m = o; m.objective = Objective::MinNorm;
    add("bf16 list N12/6 T16 D5000 K5 min-norm f64r", DType::BFloat16, true, 0, true, Setup{12, 6, 16, 5000, 5, m, {}, {}}); }
  { Options m = o; m.objective = Objective::WeightedAdvantage;
    add("f16 list+1 N8/4 T10 D3001 K2 w-adv", DType::Float16, true, 1, false, Setup{8, 4, 10, 3001, 2, m, {0.7, 1.9}, {}}); }
  add("f32 tensor+1 N1 T1 D777 K1", DType::Float32, false, 1, false, Setup{1, 1, 1, 777, 1, o, {}, {}});
  { Options m = o; m.objective = Objective::WeightedReward; m.stdScope = StdScope::Batch;
    add("bf16 tensor N96/12 T50 D1000 K5 w-reward batch", DType::BFloat16, false, 0, false,
        Setup{96, 12, 50, 1000, 5, m, {0.5, 1, 2, 0.25, 1}, {1, 2, 0.5, 1, 3}}); }
  { Options m = o; m.exploration = Exploration::Centered; m.temporal = Temporal::Uniform; m.stdScope = StdScope::Batch;
    add("f16 tensor N96/96 T1 D6144 K5 centered uniform batch", DType::Float16, false, 0, true, Setup{96, 96, 1, 6144, 5, m, {}, {}}); }
  { Options m = o; m.weightScale = WeightScale::Sum; m.stdCorrection = 0; m.minWeight = 0.2;
    std::vector<double> w(20), sc(20);
    for (int k = 0; k < 20; ++k) { w[k] = 0.1 * (k + 1); sc[k] = 1.0 + 0.05 * k; }
    add("f32 list N4/2 T70 D2500 K20 sum pop", DType::Float32, true, 0, false, Setup{4, 2, 70, 2500, 20, m, w, sc}); }
  { Options m = o; m.stdScope = StdScope::Batch;
    add("bf16 list+1 N6/3 T5 D8 K5 batch", DType::BFloat16, true, 1, false, Setup{6, 3, 5, 8, 5, m, {}, {}}); }
  add("f32 tensor N4/4 T3 D1 K2 (vs cpu only)", DType::Float32, false, 0, false, Setup{4, 4, 3, 1, 2, o, {}, {}});
  cases.back().cpuOnly = true;
  add("bf16 tensor N2/2 T16 D65536+3 K3", DType::BFloat16, false, 0, false, Setup{2, 2, 16, 65539, 3, o, {}, {}});
  add("f16 tensor+1 N3/3 T2 D40961 K4", DType::Float16, false, 1, true, Setup{3, 3, 2, 40961, 4, o, {}, {}});
  // A large group (G = 200: more rewards than the group's shared-memory staging holds) and a long
  // trajectory (T = 300): the same checks (bits, parity).
  add("f32 tensor N200/200 T2 D64 K5 (large group)", DType::Float32, false, 0, false,
      Setup{200, 200, 2, 64, 5, o, {}, {}});
  add("bf16 list N2/2 T300 D24 K2 (long trajectory)", DType::BFloat16, true, 0, false,
      Setup{2, 2, 300, 24, 2, o, {}, {}});
  return cases;
}

// ------------------------------------------------------------------ --profile (for ncu)

// cudaProfilerStart/Stop. Without a profiler attached they may return an error: cleared, so that
// the next launch's cudaGetLastError does not report it as the launch's.
void profiler_range(bool on) {
  if ((on ? cudaProfilerStart() : cudaProfilerStop()) != cudaSuccess) cudaGetLastError();
}

// The calls that scripts/gpu-check.sh's ncu step profiles (read by bench/gpu/ncu_summary.py): per
// case 3 warm-up calls, then 3 calls between cudaProfilerStart and cudaProfilerStop, which under
// ncu --profile-from-start off are the only profiled launches. Default variant, no timeline, one
// advantage_step launch per call; the "profile-case" lines give the order of ncu's launch IDs.
int profile_run(cudaStream_t stream) {
  constexpr int kWarmups = 3, kProfiled = 3;
  // ncu replays a launch inside the launch call; a plain stream synchronize is the simplest wait
  // to put after that (how the host waits does not change the kernel).
  gpu::testing::set_sync_mode(0);
  gpu::testing::set_variant(-1);
  Case tiny, tiny3, flux;
  tiny.name = "tiny";  // the host-overhead timing's tiny case
  tiny.s = Setup{1, 1, 1, 8, 1, Options{}, {}, {}};
  tiny3.name = "tiny3";
  tiny3.s = Setup{2, 2, 1, 8, 3, Options{}, {}, {}};
  flux.name = "flux512-bf16";
  flux.dt = DType::BFloat16;
  flux.s = Setup{12, 12, 16, 65536, 3, Options{}, {}, {}};
  Batch bTiny, bTiny3, bFlux;
  build(bTiny, tiny, 3);
  build(bTiny3, tiny3, 4);
  build(bFlux, flux, 5);
  struct ProfileCase { const char* name; const Batch* b; bool trajectoryOnly; };
  // The last case is the same latents without the group finish: its cost is the difference.
  const ProfileCase cases[] = {{"tiny", &bTiny, false}, {"tiny3", &bTiny3, false},
                               {"flux512-bf16", &bFlux, false}, {"flux512-bf16-traj", &bFlux, true}};
  std::printf("profile: default variant %d, sync mode 0; per case %d warm-up calls, then %d calls between "
              "cudaProfilerStart/Stop (ncu --profile-from-start off profiles those)\n",
              gpu::testing::default_variant(), kWarmups, kProfiled);
  int nextId = 0, failures = 0;
  for (const ProfileCase& pc : cases) {
    const Setup& s = pc.b->cs.s;
    DevOuts d(s.N, s.T, s.K);
    const Options opt = options_of(s);
    const auto call = [&] {
      if (pc.trajectoryOnly) {
        TrajectoryOutputs t;
        t.stepWeights = d.p[3];
        t.trajectoryScore = d.p[4];
        gpu::trajectory_credit(0, latents_of(*pc.b, true), opt, t, stream);
      } else {
        AllOutputs only;
        only.advantages = d.p[10];
        gpu::advantages(0, latents_of(*pc.b, true), rewards_of(*pc.b, true), s.G, opt, only, stream);
      }
    };
    int launches = 0;
    std::string error;
    try {
      for (int k = 0; k < kWarmups; ++k) call();
      CK(cudaStreamSynchronize(stream));
      profiler_range(true);
      for (int k = 0; k < kProfiled; ++k) {
        ++launches;
        call();
      }
      CK(cudaStreamSynchronize(stream));
      profiler_range(false);
    } catch (const std::exception& e) {
      profiler_range(false);
      error = e.what();
      ++failures;
    }
    std::printf("profile-case name=%s launches=%d ids=%d-%d call=%s N=%lld G=%lld T=%lld D=%lld K=%lld dtype=%s "
                "layout=tensor%s%s\n",
                pc.name, launches, nextId, nextId + launches - 1,
                pc.trajectoryOnly ? "trajectory_credit(stepWeights,trajectoryScore)" : "advantages(advantages)",
                static_cast<long long>(s.N), static_cast<long long>(s.G), static_cast<long long>(s.T),
                static_cast<long long>(s.D), static_cast<long long>(s.K),
                pc.b->cs.dt == DType::BFloat16 ? "bf16" : "f32", error.empty() ? "" : " threw: ", error.c_str());
    nextId += launches;
  }
  gpu::testing::set_sync_mode(-1);
  std::printf("profile: %d launches of advantage_step between cudaProfilerStart/Stop in %zu cases, %d failed\n", nextId,
              sizeof cases / sizeof cases[0], failures);
  return failures ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false, large = true, timing = true, profile = false;
  int onlyVariant = -1;
  for (int k = 1; k < argc; ++k) {
    const std::string a = argv[k];
    if (a == "--variant" && k + 1 < argc) { onlyVariant = std::atoi(argv[++k]); continue; }
    if (a == "--quick") { quick = true; large = false; timing = false; }
    else if (a == "--no-large") large = false;
    else if (a == "--no-timing") timing = false;
    else if (a == "--profile") profile = true;
    else if (a == "--host-selftest") {  // no device needed: the reference against cpu::advantages
      host_selftest(parity_cases());
      for (const Row& r : g_rows)
        std::printf("%-52s %-4s cpu vs ref64 %-8.2g %s\n", r.name.c_str(), r.ok ? "ok" : "FAIL", r.errRef, r.worstRef);
      std::printf("%s: %d checks, %d failed\n", g_failures ? "FAILED" : "PASSED", g_checks, g_failures);
      return g_failures ? 1 : 0;
    }
  }
  if (quick) std::printf("--quick: parity and errors only (for compute-sanitizer)\n");
  const gpu::Status st = gpu::status();
  std::printf("otca gpu_core_test: compiled=%d usable=%d devices=%d driver=%d runtime=%d archs=%s\n", st.compiled,
              st.usable, st.deviceCount, st.driverVersion, st.runtimeVersion, st.architectures.c_str());
  if (!st.usable) {
    std::printf("SKIP: no usable CUDA device: %s\n", st.reason.c_str());
    return 0;
  }
  const gpu::DeviceProps pr = gpu::properties(0);
  std::printf("device 0: %s sm_%d%d, %d SMs, %.1f GiB, L2 %.0f MiB\n", pr.name.c_str(), pr.major, pr.minor,
              pr.multiprocessors, pr.totalMemory / 1073741824.0, pr.l2Bytes / 1048576.0);
  const auto t0 = std::chrono::steady_clock::now();
  cudaStream_t stream = static_cast<cudaStream_t>(gpu::stream_create(0));
  if (profile) {
    const int rc = profile_run(stream);
    gpu::stream_destroy(0, stream);
    return rc;
  }

  // ---------------------------------------------------------------- parity
  // Every compiled streaming variant runs the whole parity suite, --quick too (so memcheck and
  // racecheck see every variant); --variant N: that one only.
  std::vector<int> variants;
  for (int v = 0; v < gpu::testing::variant_count(); ++v)
    if ((onlyVariant < 0 || v == onlyVariant) && gpu::testing::set_variant(v))
      variants.push_back(v);
  gpu::testing::set_variant(-1);
  expect(!variants.empty(), "no streaming variant selected (--variant names one not compiled in?)");
  std::printf("variants:");
  for (int v : variants) {
    int th, pk, rd;
    gpu::testing::variant_shape(v, &th, &pk, &rd);
    std::printf(" [%d] %d threads x %d packs x %d states/round%s;", v, th, pk, rd,
                v == gpu::testing::default_variant() ? " (default)" : "");
  }
  std::printf("\n");
  const std::vector<Case> cases = parity_cases();
  for (int v : variants) {
    gpu::testing::set_variant(v);
    uint64_t seed = 1;
    for (Case c : cases) {
      c.name = "v" + std::to_string(v) + " " + c.name;
      const int before = g_failures;
      try {
        parity(c, stream, seed++);
      } catch (const std::exception& e) {
        expect(false, c.name + ": threw " + e.what());
      }
      if (g_failures != before && !g_rows.empty() && g_rows.back().name == c.name) g_rows.back().ok = false;
    }
  }
  gpu::testing::set_variant(-1);
  try {
    errors(stream);
  } catch (const std::exception& e) {
    expect(false, std::string("errors: threw ") + e.what());
  }

  // ---------------------------------------------------------------- past 2^32 elements
  std::string largeNote = "skipped (--no-large / --quick)";
  if (large) {
    size_t freeB = 0, totalB = 0;
    CK(cudaMemGetInfo(&freeB, &totalB));
    const int64_t N = 2, T = 1, D = 1100000003LL;  // flat indices up to 4.4e9 (> 2^32), D odd
    const size_t bytes = size_t(N * (T + 1) * D) * 2;
    if (freeB < bytes + (size_t(2) << 30)) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "skipped: needs %.1f GiB, %.1f GiB free", bytes / 1073741824.0, freeB / 1073741824.0);
      largeNote = buf;
    } else {
      Bf16Raw* base;
      CK(cudaMalloc(&base, bytes));
      fill_latents<Bf16Raw><<<4096, 256>>>(base, N, T, D, 0x1234);
      CK(cudaGetLastError());
      CK(cudaDeviceSynchronize());
      largeNote = "";
      for (int v : variants) {
        gpu::testing::set_variant(v);
        double err = 0;
        try {
          const bool ok = large_or_timed_check<Bf16Raw>("bf16 N2 T1 D1.1e9 (4.4e9 elements)", base, N, 2, T, D, stream, &err);
          char buf[160];
          std::snprintf(buf, sizeof buf, "v%d %s, max rel err %.2g (%.1f GiB); ", v, ok ? "ok" : "FAILED", err,
                        bytes / 1073741824.0);
          largeNote += buf;
        } catch (const std::exception& e) {
          expect(false, std::string("large: threw ") + e.what());
          largeNote += "v" + std::to_string(v) + " threw; ";
        }
      }
      gpu::testing::set_variant(-1);
      CK(cudaFree(base));
    }
  }

  // ---------------------------------------------------------------- timing
  struct Timed { std::string name; double bytes, ms, err, msTraj, msStream; int variant; };
  std::vector<Timed> timed;
  double copyGBs = 0, readGBs = 0, hostUs = 0;
  double hostUsMode[3] = {0, 0, 0};
  double tinyKernelUs = 0;
  std::vector<std::string> tinyLines;
  std::string emptyLine;
  const int kDefaultSyncModeForReport = gpu::testing::default_sync_mode();
  if (timing) try {
    {  // bandwidth probes over 2 GiB buffers, far larger than L2
      const size_t n = size_t(1) << 31;
      void *a, *b;
      CK(cudaMalloc(&a, n));
      CK(cudaMalloc(&b, n));
      CK(cudaMemset(a, 0x5a, n));
      CK(cudaDeviceSynchronize());
      unsigned* sink;
      CK(cudaMalloc(&sink, 4));
      const double copyMs = median_ms(3, 20, stream, [&](int) { CK(cudaMemcpyAsync(b, a, n, cudaMemcpyDeviceToDevice, stream)); });
      const double readMs = median_ms(3, 20, stream, [&](int) {
        read_probe<<<pr.multiprocessors * 4, 512, 0, stream>>>(static_cast<const uint4*>(a), int64_t(n / 16), sink);
        CK(cudaGetLastError());
      });
      copyGBs = 2.0 * n / copyMs / 1e6;
      readGBs = double(n) / readMs / 1e6;
      CK(cudaFree(a)); CK(cudaFree(b)); CK(cudaFree(sink));
    }
    {  // host overhead per call on a tiny input (host clock around the whole call)
      Case c;
      c.name = "tiny"; c.s = Setup{1, 1, 1, 8, 1, Options{}, {}, {}};
      Batch b;
      build(b, c, 3);
      DevOuts d(1, 1, 1);
      AllOutputs only;
      only.advantages = d.p[10];
      const Options opt = options_of(c.s);
      for (int mode = 0; mode < 3; ++mode) {
        gpu::testing::set_sync_mode(mode);
        for (int k = 0; k < 50; ++k) gpu::advantages(0, latents_of(b, true), rewards_of(b, true), 1, opt, only, stream);
        std::vector<double> us;
        for (int k = 0; k < 500; ++k) {
          const auto a = std::chrono::steady_clock::now();
          gpu::advantages(0, latents_of(b, true), rewards_of(b, true), 1, opt, only, stream);
          us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - a).count());
        }
        CK(cudaStreamSynchronize(stream));
        std::sort(us.begin(), us.end());
        hostUsMode[mode] = us[us.size() / 2];
      }
      gpu::testing::set_sync_mode(-1);
      hostUs = hostUsMode[kDefaultSyncModeForReport];
      {  // the same tiny call's kernel alone (events around the launch): device + launch latency
        cudaEvent_t ta, tb;
        CK(cudaEventCreate(&ta));
        CK(cudaEventCreate(&tb));
        std::vector<float> t;
        gpu::testing::set_timing_events(ta, tb);
        for (int k = 0; k < 200; ++k) {
          gpu::advantages(0, latents_of(b, true), rewards_of(b, true), 1, opt, only, stream);
          CK(cudaEventSynchronize(tb));
          float ms;
          CK(cudaEventElapsedTime(&ms, ta, tb));
          t.push_back(ms);
        }
        gpu::testing::set_timing_events(nullptr, nullptr);
        CK(cudaEventDestroy(ta));
        CK(cudaEventDestroy(tb));
        std::sort(t.begin(), t.end());
        tinyKernelUs = t[t.size() / 2] * 1e3;
      }
      // Per variant: the tiny call's launch alone (events), the whole call (host clock, the
      // default wait), the host-side split of that call, and the debug timeline.
      for (int v : variants) {
        gpu::testing::set_variant(v);
        cudaEvent_t ta, tb;
        CK(cudaEventCreate(&ta));
        CK(cudaEventCreate(&tb));
        std::vector<double> ev, host, prep, submit, wait;
        for (int k = 0; k < 250; ++k) {
          gpu::testing::set_timing_events(ta, tb);
          gpu::advantages(0, latents_of(b, true), rewards_of(b, true), 1, opt, only, stream);
          gpu::testing::set_timing_events(nullptr, nullptr);
          CK(cudaEventSynchronize(tb));
          float ms;
          CK(cudaEventElapsedTime(&ms, ta, tb));
          gpu::testing::set_breakdown(true);
          const auto h0 = std::chrono::steady_clock::now();
          gpu::advantages(0, latents_of(b, true), rewards_of(b, true), 1, opt, only, stream);
          const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - h0).count();
          gpu::testing::set_breakdown(false);
          double p1, p2, p3;
          gpu::testing::last_breakdown(&p1, &p2, &p3);
          if (k < 50) continue;
          ev.push_back(ms * 1e3); host.push_back(us); prep.push_back(p1); submit.push_back(p2); wait.push_back(p3);
        }
        CK(cudaStreamSynchronize(stream));
        CK(cudaEventDestroy(ta));
        CK(cudaEventDestroy(tb));
        const auto med = [](std::vector<double> x) { std::sort(x.begin(), x.end()); return x[x.size() / 2]; };
        char buf[256];
        std::snprintf(buf, sizeof buf, "tiny v%d: launch alone (events) %.1f us | whole call (host clock) %.1f us = "
                      "prep %.1f + submit %.1f + wait %.1f (medians each)", v, med(ev), med(host), med(prep),
                      med(submit), med(wait));
        tinyLines.push_back(buf);
        timeline_run("tiny v" + std::to_string(v), stream, [&](int) {
          gpu::advantages(0, latents_of(b, true), rewards_of(b, true), 1, opt, only, stream);
        });
      }
      gpu::testing::set_variant(-1);
      // Calibration: an empty kernel with the same parameter block, launched as the call launches
      // (events right around it): one launch, two launches.
      {
        const char* what[2] = {"1 launch", "2 launches"};
        for (int kind = 0; kind < 2; ++kind) {
          const double ms = median_ms(20, 200, stream, [&](int) {
            expect(gpu::testing::empty_launch(stream, kind + 1), "empty launch failed");
          });
          char buf[96];
          std::snprintf(buf, sizeof buf, "%s %.1f us", what[kind], ms * 1e3);
          emptyLine += (kind ? " | " : "") + std::string(buf);
        }
      }
    }
    struct W { const char* name; int64_t N, G, T, D; };
    const W ws[] = {{"FLUX-512", 12, 12, 16, 65536}, {"FLUX-1024", 12, 12, 16, 262144},
                    {"Wan", 32, 32, 16, 349440},    {"8 groups", 96, 12, 16, 65536}};
    cudaEvent_t ea, eb;
    CK(cudaEventCreate(&ea));
    CK(cudaEventCreate(&eb));
    for (const W& w : ws) {
      for (int f32 = 0; f32 < 2; ++f32) {
        const size_t es = f32 ? 4 : 2;
        const size_t bytes = size_t(w.N * (w.T + 1) * w.D) * es;
        const int copies = int(std::max<size_t>(1, (size_t(4) * pr.l2Bytes + bytes - 1) / bytes));
        std::vector<void*> bufs(copies);
        for (int k = 0; k < copies; ++k) {
          CK(cudaMalloc(&bufs[k], bytes));
          if (f32) fill_latents<float><<<2048, 256>>>(static_cast<float*>(bufs[k]), w.N, w.T, w.D, 100 + k);
          else fill_latents<Bf16Raw><<<2048, 256>>>(static_cast<Bf16Raw*>(bufs[k]), w.N, w.T, w.D, 100 + k);
          CK(cudaGetLastError());
        }
        CK(cudaDeviceSynchronize());
        const int64_t K = 3;
        const std::vector<double> r = random_rewards(w.N, K, 11);
        float* rd = upload_rewards(r);
        Rewards rw;
        rw.dtype = DType::Float32; rw.data = rd; rw.N = w.N; rw.K = K;
        DevOuts d(w.N, w.T, K);
        const AllOutputs outs = d.all();  // every output, as a logging trainer would ask
        std::vector<std::vector<const void*>> states(copies, std::vector<const void*>(w.T + 1));
        for (int k = 0; k < copies; ++k)
          for (int64_t j = 0; j <= w.T; ++j) states[k][j] = static_cast<const char*>(bufs[k]) + j * w.D * es;
        for (int v : variants) {
          gpu::testing::set_variant(v);
          const std::string name = std::string(w.name) + (f32 ? " f32" : " bf16") + " v" + std::to_string(v);
          double err = 0;
          try {
            if (f32) large_or_timed_check<float>(name.c_str(), static_cast<const float*>(bufs[0]), w.N, w.G, w.T, w.D, stream, &err);
            else large_or_timed_check<Bf16Raw>(name.c_str(), static_cast<const Bf16Raw*>(bufs[0]), w.N, w.G, w.T, w.D, stream, &err);
          } catch (const std::exception& e) {
            expect(false, name + ": threw " + e.what());
          }
          // kind 0: the whole call (every output); 1: trajectory only (no group finish);
          // 2: the streaming part alone (testing hook: stops after the chunk partials)
          double med[3] = {0, 0, 0};
          for (int kind = 0; kind < 3; ++kind) {
            gpu::testing::set_stream_only(kind == 2);
            gpu::testing::set_timing_events(ea, eb);
            std::vector<float> t;
            for (int it = 0; it < 10 + 50; ++it) {
              Latents l;
              l.dtype = f32 ? DType::Float32 : DType::BFloat16;
              l.N = w.N; l.T = w.T; l.D = w.D; l.sampleStride = (w.T + 1) * w.D;
              l.states = states[it % copies].data();
              if (kind == 0) gpu::advantages(0, l, rw, w.G, Options{}, outs, stream);
              else gpu::trajectory_credit(0, l, Options{}, outs.trajectory, stream);
              CK(cudaEventSynchronize(eb));  // the call may return before the stop event (sync mode 1)
              float ms;
              CK(cudaEventElapsedTime(&ms, ea, eb));
              if (it >= 10) t.push_back(ms);
            }
            gpu::testing::set_timing_events(nullptr, nullptr);
            gpu::testing::set_stream_only(false);
            std::sort(t.begin(), t.end());
            med[kind] = t[t.size() / 2];
          }
          timed.push_back(Timed{name, double(bytes), med[0], err, med[1], med[2], v});
          if (!f32 && (std::string(w.name) == "FLUX-512" || std::string(w.name) == "Wan")) {
            timeline_run(name, stream, [&](int it) {
              Latents l;
              l.dtype = DType::BFloat16;
              l.N = w.N; l.T = w.T; l.D = w.D; l.sampleStride = (w.T + 1) * w.D;
              l.states = states[it % copies].data();
              gpu::advantages(0, l, rw, w.G, Options{}, outs, stream);
            });
          }
        }
        gpu::testing::set_variant(-1);
        CK(cudaFree(rd));
        for (void* p : bufs) CK(cudaFree(p));
      }
    }
    CK(cudaEventDestroy(ea));
    CK(cudaEventDestroy(eb));
  } catch (const std::exception& e) {
    gpu::testing::set_timing_events(nullptr, nullptr);
    gpu::testing::set_stream_only(false);
    gpu::testing::set_variant(-1);
    gpu::testing::set_sync_mode(-1);
    gpu::testing::set_timeline(nullptr);
    gpu::testing::set_breakdown(false);
    expect(false, std::string("timing: threw ") + e.what());
  }
  gpu::stream_destroy(0, stream);

  // ---------------------------------------------------------------- summary
  std::printf("\n%-52s %-4s %-12s %-12s\n", "parity case", "ok", "vs ref64", "vs cpu");
  for (const Row& r : g_rows)
    std::printf("%-52s %-4s %-5.2g %-6s %-5.2g %-6s\n", r.name.c_str(), r.ok ? "ok" : "FAIL", r.errRef, r.worstRef,
                r.errCpu, r.worstCpu);
  std::printf("indices past 2^32: %s\n", largeNote.c_str());
  if (timing) {
    std::printf("\nbandwidth: d2d copy %.0f GB/s (read+write), read-only probe %.0f GB/s; host overhead per call %.1f us\n",
                copyGBs, readGBs, hostUs);
    std::printf("host overhead per call by sync mode: 0 cudaStreamSynchronize %.1f us | 1 mailbox spin %.1f us | "
                "2 spin+sync %.1f us (default %d); its kernel alone (events) %.1f us\n", hostUsMode[0], hostUsMode[1],
                hostUsMode[2], kDefaultSyncModeForReport, tinyKernelUs);
    std::printf("empty kernel, same parameter block, events around it (event + launch overhead): %s\n", emptyLine.c_str());
    for (const std::string& line : tinyLines) std::printf("%s\n", line.c_str());
    if (!g_timeline.empty()) {
      std::printf("\ndebug timeline (%%globaltimer, us after the first streaming block's entry, median of 21 calls):\n");
      for (const std::string& line : g_timeline) std::printf("  %s\n", line.c_str());
    }
    std::printf("(full = whole call; traj = trajectory only; stream = chunk partials only; %% of floor from full)\n");
    for (int v : variants) {
      int th, pk, rd;
      gpu::testing::variant_shape(v, &th, &pk, &rd);
      std::printf("\nvariant %d: %d threads, %d x 16 B per thread per state, %d states per round%s\n", v, th, pk, rd,
                  v == gpu::testing::default_variant() ? " (DEFAULT)" : "");
      std::printf("%-20s %8s %9s %9s %9s %9s %8s %8s %9s\n", "workload", "MB", "floor us", "full us", "traj us",
                  "stream us", "% floor", "% strm", "max err");
      for (const Timed& t : timed) {
        if (t.variant != v) continue;
        const double floorUs = t.bytes / (readGBs * 1e9) * 1e6;
        std::printf("%-20s %8.1f %9.1f %9.1f %9.1f %9.1f %7.0f%% %7.0f%% %9.2g\n", t.name.c_str(), t.bytes / 1e6,
                    floorUs, t.ms * 1e3, t.msTraj * 1e3, t.msStream * 1e3, 100.0 * floorUs / (t.ms * 1e3),
                    100.0 * floorUs / (t.msStream * 1e3), t.err);
      }
    }
    std::printf("\nbest full time per workload:\n");
    for (size_t k = 0; k < timed.size(); ++k) {
      const std::string base = timed[k].name.substr(0, timed[k].name.rfind(" v"));
      bool first = true;
      for (size_t m = 0; m < k; ++m) first = first && timed[m].name.substr(0, timed[m].name.rfind(" v")) != base;
      if (!first) continue;
      const Timed* best = &timed[k];
      for (size_t m = k; m < timed.size(); ++m)
        if (timed[m].name.substr(0, timed[m].name.rfind(" v")) == base && timed[m].ms < best->ms) best = &timed[m];
      const double floorUs = best->bytes / (readGBs * 1e9) * 1e6;
      std::printf("  %-16s best v%d %.1f us (%.0f%% of floor)\n", base.c_str(), best->variant, best->ms * 1e3,
                  100.0 * floorUs / (best->ms * 1e3));
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("\n%s: %d checks, %d failed, %.1f s\n", g_failures ? "FAILED" : "PASSED", g_checks, g_failures, secs);
  return g_failures ? 1 : 0;
}
