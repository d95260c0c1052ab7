// The lab's harness on a GPU: the product's kernel and every lab shape and tail (lab_kernels.cuh),
// checked, then timed next to the device's copy and read bandwidth. One run, self-checking, a few
// minutes. Built by CMake (target otca_lab_harness, bench/lab/build.sh); run by bench/lab/check.sh.
//
//   otca_lab_harness [--quick] [--no-large] [--no-timing] [--kernel NAME] [--profile]
//
// Kernels: "product" (the shipped advantage_step, through gpu::advantages), then "shapeS" (lab
// shape S with the product's tail, shape 3 being the product's shape) and "shapeS+lean" (the lean
// hand-off tail). --kernel NAME runs one of them.
//
// Checks, per kernel: every output against a float64 reference written here (double dot/sq per
// state, then otca_math.h's finish_sample; phase 2 by the CPU backend on the reference's q) and
// against cpu::advantages; phase 2 on the GPU's q bit for bit the CPU backend's; Adv bit for bit
// float(w) * float(f); bit-identical reruns; phase 1 then phase 2 == the one call; Adv alone; every
// dtype, both layouts, misaligned pointers, D not a multiple of 8, N = 1 and 96, T = 1, 50 and 70
// (> 64 states), K = 1, 5 and 20, every objective mode, stdScope batch, groups by ids (unequal,
// shuffled), a group of 200. Then non-finite errors (the CPU backend's messages), a batch with
// element indices past 2^32, and timing (CUDA events right around the launch, inputs rotated so
// that they do not sit in L2; the host clock around whole calls).
// --quick: the checks without the large batch or timing (for compute-sanitizer).
// --profile: only the calls that scripts/gpu-check.sh's ncu step profiles (see profile_run).
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
#include "lab_call.h"
#include "otca.h"
#include "otca_math.h"
#include "outputs.h"
#include "trajectory.h"

using namespace otca;
using otca_test::kFields;
using otca_test::kOutputCount;
using otca_test::Outs;
using otca_test::same_bits;

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

gpu::Context* g_ctx = nullptr;
cudaStream_t g_stream = nullptr;

// ------------------------------------------------------------------ the kernels under test

struct Kernel {
  bool product = true;
  int shape = lab::kShippedShape;
  int tail = lab::kShipped;
  std::string name() const {
    if (product) return "product";
    return "shape" + std::to_string(shape) + (tail == lab::kLeanHandoff ? "+lean" : tail == lab::kStreamOnly ? "+stream" : "");
  }
  lab::Config config() const {
    lab::Config c;
    c.product = product;
    c.shape = shape;
    c.tail = tail;
    return c;
  }
};

std::vector<Kernel> all_kernels() {
  std::vector<Kernel> k{Kernel{}};
  for (int s = 0; s < lab::kShapes; ++s)
    for (int tail : {int(lab::kShipped), int(lab::kLeanHandoff)}) k.push_back(Kernel{false, s, tail});
  return k;
}

// ------------------------------------------------------------------ outputs and comparison

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

// Trajectory quantities come straight from the float32 reduction (its order differs from the
// reference's and the CPU backend's); e, lambda, c, f and Adv pass through |q| / std_g(q), which
// magnifies the reduction's ~1e-7 by 1 / std_g(q). A comes from the rewards alone.
double tolerance(int field) {
  if (field == 5) return 1e-12;
  if (field <= 4) return 2e-5;
  return 1e-3;
}

// Every field within its tolerance; reports the field closest to (or furthest past) it.
void compare_to(const std::string& what, const Outs& got, const Outs& want, double* worst, const char** worstField) {
  double worstRatio = -1;
  for (int k = 0; k < kOutputCount; ++k) {
    const double err = rel_err(got.v[k], want.v[k]);
    const double ratio = err / tolerance(k);
    if (ratio > worstRatio) { worstRatio = ratio; *worst = err; *worstField = kFields[k]; }
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s %s rel err %.3g > %.1g", what.c_str(), kFields[k], err, tolerance(k));
    expect(err <= tolerance(k), buf);
  }
}

// ------------------------------------------------------------------ inputs on host and device

struct Setup {
  int64_t N, G, T, D, K;
  Options opt{};
  std::vector<double> weights{}, scale{};
  bool byIds = false;  // groups by ids: sizes 1, 2, ..., G cycling, shuffled, descending ids
};

struct Case {
  std::string name;
  DType dt = DType::Float32;
  bool list = false;   // T+1 buffers [N, D] instead of one [N, T+1, D]
  int misalign = 0;    // elements added to every state pointer
  bool rewF64 = false;
  // D = 1: S = +-1 up to float32 rounding of single products, so every dS is ~1e-7 noise next to
  // epsTcd; the float64 reference is then no yardstick. Compared with the CPU backend only.
  bool cpuOnly = false;
  Setup s;
};

// Latents as the caller holds them: the same bytes on the host and on the device; the groups on
// the host (CPU backend) and on the device (as the addon stages them).
struct Batch {
  Case cs;
  std::vector<std::vector<uint8_t>> host;  // one buffer (one tensor) or T+1
  std::vector<void*> dev;
  std::vector<const void*> hostStates, devStates;
  int64_t stride = 0;
  std::vector<float> zdec;  // decoded values [N][T+1][D]
  std::vector<uint8_t> rewHost;
  void* rewDev = nullptr;
  std::vector<int32_t> ids;
  GroupIndex index;
  void* groupDev = nullptr;

  // Element (i, j, d) in the host copy, written in the batch's dtype; returns its byte offset.
  int64_t put_host(int64_t i, int64_t j, int64_t d, float v) {
    const size_t es = dtype_size(cs.dt);
    const int64_t at = (cs.misalign + i * stride + d + (cs.list ? 0 : j * cs.s.D)) * static_cast<int64_t>(es);
    uint8_t* h = host[cs.list ? j : 0].data() + at;
    if (cs.dt == DType::Float32) std::memcpy(h, &v, 4);
    else {
      const uint16_t b = cs.dt == DType::BFloat16 ? dtype::float_to_bf16(v) : dtype::float_to_f16(v);
      std::memcpy(h, &b, 2);
    }
    return at;
  }
  // The host copy to the device, whole.
  void upload() {
    for (size_t n = 0; n < dev.size(); ++n) CK(cudaMemcpy(dev[n], host[n].data(), host[n].size(), cudaMemcpyHostToDevice));
    CK(cudaDeviceSynchronize());  // pageable copies may still be in flight when cudaMemcpy returns
  }
  void set(int64_t i, int64_t j, int64_t d, float v) {  // after build: overwrite one element
    const int64_t at = put_host(i, j, d, v);
    const size_t es = dtype_size(cs.dt);
    CK(cudaMemcpy(static_cast<uint8_t*>(dev[cs.list ? j : 0]) + at, host[cs.list ? j : 0].data() + at, es, cudaMemcpyHostToDevice));
    CK(cudaDeviceSynchronize());
  }
  void set_reward(int64_t i, int64_t k, double v) {
    const int64_t at = i * cs.s.K + k;
    if (cs.rewF64) std::memcpy(rewHost.data() + at * 8, &v, 8);
    else { const float f = static_cast<float>(v); std::memcpy(rewHost.data() + at * 4, &f, 4); }
    CK(cudaMemcpy(rewDev, rewHost.data(), rewHost.size(), cudaMemcpyHostToDevice));
    CK(cudaDeviceSynchronize());
  }
  Latents latents(bool device) const {
    Latents l;
    l.dtype = cs.dt;
    l.N = cs.s.N;
    l.T = cs.s.T;
    l.D = cs.s.D;
    l.states = device ? devStates.data() : hostStates.data();
    l.sampleStride = stride;
    return l;
  }
  Rewards rewards(bool device) const {
    Rewards r;
    r.dtype = cs.rewF64 ? DType::Float64 : DType::Float32;
    r.data = device ? rewDev : static_cast<const void*>(rewHost.data());
    r.N = cs.s.N;
    r.K = cs.s.K;
    return r;
  }
  ObjectiveFactors factors() const {
    return {cs.s.weights.empty() ? nullptr : cs.s.weights.data(), cs.s.scale.empty() ? nullptr : cs.s.scale.data()};
  }
  Groups groups(bool device) {
    if (!cs.s.byIds) {
      Groups g;
      g.size = cs.s.G;
      g.count = cs.s.N / cs.s.G;
      return g;
    }
    Groups g = index.build(ids.data(), cs.s.N);
    if (!device) return g;
    const auto* d = static_cast<const int64_t*>(groupDev);
    g.offsets = d;
    g.members = d + g.count + 1;
    g.groupOf = d + g.count + 1 + cs.s.N;
    return g;
  }
  Batch() = default;
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;
  ~Batch() {
    for (void* p : dev) cudaFree(p);
    if (rewDev) cudaFree(rewDev);
    if (groupDev) cudaFree(groupDev);
  }
};

// Trajectory-like latents (test/native/trajectory.h) on the host and the device.
void build(Batch& b, const Case& cs, uint64_t seed) {
  b.cs = cs;
  const Setup& s = cs.s;
  const int64_t N = s.N, T = s.T, D = s.D, K = s.K;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.f, 1.f);
  b.zdec.assign(N * (T + 1) * D, 0.f);
  fill_trajectory(N, T, D, rng, [&](int64_t i, int64_t j, int64_t d, float v) { b.zdec[(i * (T + 1) + j) * D + d] = v; });
  const size_t es = dtype_size(cs.dt);
  const int64_t buffers = cs.list ? T + 1 : 1;
  const int64_t perBuffer = cs.list ? N * D : N * (T + 1) * D;
  b.stride = cs.list ? D : (T + 1) * D;
  b.host.assign(buffers, std::vector<uint8_t>((perBuffer + cs.misalign) * es, 0));
  b.dev.assign(buffers, nullptr);
  // exactly as long as the data: a read past a row's end is outside the allocation (memcheck)
  for (int64_t n = 0; n < buffers; ++n) CK(cudaMalloc(&b.dev[n], b.host[n].size()));
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = 0; j <= T; ++j)
      for (int64_t d = 0; d < D; ++d) {
        float& v = b.zdec[(i * (T + 1) + j) * D + d];
        const int64_t at = b.put_host(i, j, d, v);
        if (cs.dt != DType::Float32) {  // the reference sees the values as stored
          uint16_t bits;
          std::memcpy(&bits, b.host[cs.list ? j : 0].data() + at, 2);
          v = cs.dt == DType::BFloat16 ? dtype::bf16_to_float(bits) : dtype::f16_to_float(bits);
        }
      }
  b.upload();
  b.hostStates.resize(T + 1);
  b.devStates.resize(T + 1);
  for (int64_t j = 0; j <= T; ++j) {
    const size_t off = (cs.misalign + (cs.list ? 0 : j * D)) * es;
    b.hostStates[j] = b.host[cs.list ? j : 0].data() + off;
    b.devStates[j] = static_cast<uint8_t*>(b.dev[cs.list ? j : 0]) + off;
  }
  b.rewHost.assign(N * K * (cs.rewF64 ? 8 : 4), 0);
  for (int64_t x = 0; x < N * K; ++x) {
    const double v = nd(rng) * (1.0 + (x % K));
    if (cs.rewF64) std::memcpy(b.rewHost.data() + x * 8, &v, 8);
    else { const float f = static_cast<float>(v); std::memcpy(b.rewHost.data() + x * 4, &f, 4); }
  }
  CK(cudaMalloc(&b.rewDev, b.rewHost.size()));
  CK(cudaMemcpy(b.rewDev, b.rewHost.data(), b.rewHost.size(), cudaMemcpyHostToDevice));
  if (s.byIds) {
    b.ids = scattered_group_ids(N, s.G);
    b.index.build(b.ids.data(), N);
    const size_t bytes = b.index.arrays.size() * sizeof(int64_t);
    CK(cudaMalloc(&b.groupDev, bytes));
    CK(cudaMemcpy(b.groupDev, b.index.arrays.data(), bytes, cudaMemcpyHostToDevice));
  }
  CK(cudaDeviceSynchronize());  // pageable copies may still be in flight when cudaMemcpy returns
}

// Device output buffers, poisoned (all bits set: NaN) before every call.
struct DevOuts {
  std::vector<float*> p;  // kFields order
  std::vector<size_t> n;
  DevOuts(int64_t N, int64_t T, int64_t K) {
    int64_t sizes[kOutputCount];
    otca_test::output_sizes(N, T, K, sizes);
    n.assign(sizes, sizes + kOutputCount);
    p.assign(n.size(), nullptr);
    for (size_t k = 0; k < n.size(); ++k) CK(cudaMalloc(&p[k], n[k] * 4));
  }
  ~DevOuts() { for (float* x : p) cudaFree(x); }
  DevOuts(const DevOuts&) = delete;
  DevOuts& operator=(const DevOuts&) = delete;
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
  Outs fetch() const {
    Outs o;
    o.v.resize(n.size());
    for (size_t k = 0; k < n.size(); ++k) {
      o.v[k].resize(n[k]);
      CK(cudaMemcpy(o.v[k].data(), p[k], n[k] * 4, cudaMemcpyDeviceToHost));
    }
    return o;
  }
};

// ------------------------------------------------------------------ calls

void run_advantages(const Kernel& k, Batch& b, const AllOutputs& out) {
  if (k.product) {
    gpu::advantages(*g_ctx, b.latents(true), b.rewards(true), b.groups(true), b.cs.s.opt, b.factors(), out);
    return;
  }
  lab::advantages(*g_ctx, b.latents(true), b.rewards(true), b.groups(true), b.cs.s.opt, b.factors(), out, k.config());
}

void run_trajectory(const Kernel& k, Batch& b, const TrajectoryOutputs& out) {
  if (k.product) {
    gpu::trajectory_credit(*g_ctx, b.latents(true), b.cs.s.opt, out);
    return;
  }
  lab::trajectory_credit(*g_ctx, b.latents(true), b.cs.s.opt, out, k.config());
}

// ------------------------------------------------------------------ the float64 reference

// Phase 1 from float64 dot/sq ([N][T+1] each) through otca_math.h's finish_sample; phase 2 by the
// CPU backend on that q (float64 math on both backends); Adv = float(w) * float(f).
void reference_from_sums(Batch& b, const std::vector<double>& dot, const std::vector<double>& sq, Outs& o) {
  const Setup& s = b.cs.s;
  const int64_t N = s.N, T = s.T;
  o.resize(N, T, s.K);
  for (int64_t i = 0; i < N; ++i)
    o.v[4][i] = static_cast<float>(math::finish_sample(&dot[i * (T + 1)], &sq[i * (T + 1)], T, s.opt, o.p(0) + i * (T + 1),
                                                       o.p(1) + i * T, o.p(2) + i * T, o.p(3) + i * T));
  cpu::objective_credit(b.rewards(false), o.p(4), b.groups(false), s.opt, b.factors(), o.objective());
  for (int64_t i = 0; i < N; ++i)
    for (int64_t t = 0; t < T; ++t) o.v[10][i * T + t] = math::effective_advantage(o.v[3][i * T + t], o.v[9][i]);
}

// The float64 reference and the CPU backend's outputs for a batch.
void host_results(Batch& b, Outs& ref, Outs& cpu) {
  const Setup& s = b.cs.s;
  const int64_t N = s.N, T = s.T, D = s.D;
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
  reference_from_sums(b, dot, sq, ref);
  cpu.resize(N, T, s.K);
  cpu::advantages(b.latents(false), b.rewards(false), b.groups(false), s.opt, b.factors(), cpu.all());
}

// ------------------------------------------------------------------ parity

struct Row {
  std::string name;
  double errRef = 0, errCpu = 0;
  const char* worstRef = "";
  const char* worstCpu = "";
  bool ok = true;
};
std::vector<Row> g_rows;

void parity(const Case& cs, const Kernel& k, uint64_t seed) {
  Batch b;
  build(b, cs, seed);
  const Setup& s = cs.s;
  const int64_t N = s.N, T = s.T, K = s.K;
  const std::string name = k.name() + " " + cs.name;
  Row row;
  row.name = name;
  const int failuresBefore = g_failures;
  Outs ref, cpu;
  host_results(b, ref, cpu);

  DevOuts d(N, T, K);
  d.poison();
  run_advantages(k, b, d.all());
  const Outs g1 = d.fetch();
  if (!cs.cpuOnly) compare_to(name + ": vs float64 reference", g1, ref, &row.errRef, &row.worstRef);
  else row.worstRef = "n/a";
  compare_to(name + ": vs cpu::advantages", g1, cpu, &row.errCpu, &row.worstCpu);

  // phase 2 on the GPU's own q: the CPU backend's bits; Adv = float(w) * float(f) bit for bit
  Outs cpu2(N, T, K);
  cpu::objective_credit(b.rewards(false), g1.v[4].data(), b.groups(false), s.opt, b.factors(), cpu2.objective());
  for (int f = 5; f < 10; ++f)
    expect(same_bits(g1.v[f], cpu2.v[f]), name + ": " + kFields[f] + " is not the CPU backend's bits on the GPU's q");
  bool advBits = true;
  for (int64_t i = 0; i < N; ++i)
    for (int64_t t = 0; t < T; ++t) {
      const float want = g1.v[3][i * T + t] * g1.v[9][i];
      advBits = advBits && std::memcmp(&want, &g1.v[10][i * T + t], 4) == 0;
    }
  expect(advBits, name + ": advantages are not float(w) * float(f) bit for bit");

  // a rerun: the same bits (fixed reduction order whatever order the blocks run in)
  d.poison();
  run_advantages(k, b, d.all());
  const Outs g2 = d.fetch();
  for (int f = 0; f < kOutputCount; ++f) expect(same_bits(g1.v[f], g2.v[f]), name + ": rerun changed " + kFields[f]);

  // phase 1 then phase 2 == the one call, bit for bit
  d.poison();
  AllOutputs two = d.all();
  run_trajectory(k, b, two.trajectory);
  gpu::objective_credit(*g_ctx, b.rewards(true), two.trajectory.trajectoryScore, b.groups(true), s.opt, b.factors(),
                        two.objective);
  const Outs g3 = d.fetch();
  for (int f = 0; f < 10; ++f)
    expect(same_bits(g1.v[f], g3.v[f]), name + ": the two phases' " + kFields[f] + " differs from the one call");

  // only Adv requested: the same bits
  d.poison();
  AllOutputs only;
  only.advantages = d.p[10];
  run_advantages(k, b, only);
  std::vector<float> adv(N * T);
  CK(cudaMemcpy(adv.data(), d.p[10], N * T * 4, cudaMemcpyDeviceToHost));
  expect(same_bits(adv, g1.v[10]), name + ": Adv alone differs");
  row.ok = g_failures == failuresBefore;
  g_rows.push_back(row);
}

std::vector<Case> parity_cases() {
  std::vector<Case> cases;
  const auto add = [&](const char* name, DType dt, bool list, int mis, bool f64, Setup s) -> Case& {
    Case c;
    c.name = name; c.dt = dt; c.list = list; c.misalign = mis; c.rewF64 = f64; c.s = s;
    cases.push_back(c);
    return cases.back();
  };
  Options o;
  add("f32 tensor N12 T16 D4100 K3 moca", DType::Float32, false, 0, false, Setup{12, 12, 16, 4100, 3, o});
  { Options m = o; m.objective = Objective::MinNorm;
    add("bf16 list N12/6 T16 D5000 K5 min-norm f64r", DType::BFloat16, true, 0, true, Setup{12, 6, 16, 5000, 5, m}); }
  { Options m = o; m.objective = Objective::WeightedAdvantage;
    add("f16 list+1 N8/4 T10 D3001 K2 w-adv", DType::Float16, true, 1, false, Setup{8, 4, 10, 3001, 2, m, {0.7, 1.9}}); }
  add("f32 tensor+1 N1 T1 D777 K1", DType::Float32, false, 1, false, Setup{1, 1, 1, 777, 1, o});
  { Options m = o; m.objective = Objective::WeightedReward; m.stdScope = StdScope::Batch;
    add("bf16 tensor N96/12 T50 D1000 K5 w-reward batch", DType::BFloat16, false, 0, false,
        Setup{96, 12, 50, 1000, 5, m, {0.5, 1, 2, 0.25, 1}, {1, 2, 0.5, 1, 3}}); }
  { Options m = o; m.exploration = Exploration::Centered; m.temporal = Temporal::Uniform; m.stdScope = StdScope::Batch;
    add("f16 tensor N96/96 T1 D6144 K5 centered uniform batch", DType::Float16, false, 0, true, Setup{96, 96, 1, 6144, 5, m}); }
  { Options m = o; m.weightScale = WeightScale::Sum; m.stdCorrection = 0; m.minWeight = 0.2;
    std::vector<double> w(20), sc(20);
    for (int k = 0; k < 20; ++k) { w[k] = 0.1 * (k + 1); sc[k] = 1.0 + 0.05 * k; }
    add("f32 list N4/2 T70 D2500 K20 sum pop", DType::Float32, true, 0, false, Setup{4, 2, 70, 2500, 20, m, w, sc}); }
  { Options m = o; m.stdScope = StdScope::Batch;
    add("bf16 list+1 N6/3 T5 D8 K5 batch", DType::BFloat16, true, 1, false, Setup{6, 3, 5, 8, 5, m}); }
  add("f32 tensor N4/4 T3 D1 K2 (vs cpu only)", DType::Float32, false, 0, false, Setup{4, 4, 3, 1, 2, o}).cpuOnly = true;
  add("bf16 tensor N2/2 T16 D65536+3 K3", DType::BFloat16, false, 0, false, Setup{2, 2, 16, 65539, 3, o});
  add("f16 tensor+1 N3/3 T2 D40961 K4", DType::Float16, false, 1, true, Setup{3, 3, 2, 40961, 4, o});
  // groups by ids: unequal sizes 1..G, shuffled, ids in no order (Flow-GRPO's prompt groups)
  { Setup s{13, 4, 5, 900, 3, o}; s.byIds = true;
    add("f32 list N13/ids T5 D900 K3 groupIds", DType::Float32, true, 0, false, s); }
  { Options m = o; m.objective = Objective::WeightedReward; m.stdScope = StdScope::Batch; m.stdCorrection = 0;
    Setup s{40, 7, 4, 3000, 2, m, {0.5, 2}}; s.byIds = true;
    add("bf16 tensor N40/ids T4 D3000 K2 groupIds w-reward batch pop", DType::BFloat16, false, 0, false, s); }
  // a group past the shared-memory staging, a long trajectory, tiny and huge latents (the float64
  // re-summation in the kernel)
  add("f32 tensor N200/200 T2 D64 K5 (large group)", DType::Float32, false, 0, false, Setup{200, 200, 2, 64, 5, o});
  add("bf16 list N2/2 T300 D24 K2 (long trajectory)", DType::BFloat16, true, 0, false, Setup{2, 2, 300, 24, 2, o});
  return cases;
}

// Latents scaled past float32's square range (tiny and huge): the kernel sums them again in
// float64, as the CPU backend does; compared with the CPU backend (phase 1 to 1e-6, phase 2 bits).
void extreme_scales(const Kernel& k) {
  for (double scale : {1e-30, 1e30}) {
    Case cs;
    cs.name = scale < 1 ? "f32 N4/2 T6 D3000 K2 latents x 1e-30" : "bf16 list N4/4 T5 D700 K2 latents x 1e30";
    cs.dt = scale < 1 ? DType::Float32 : DType::BFloat16;
    cs.list = scale > 1;
    cs.s = Setup{4, scale < 1 ? 2 : 4, scale < 1 ? 6 : 5, scale < 1 ? 3000 : 700, 2};
    Batch b;
    build(b, cs, 77);
    const int64_t N = cs.s.N, T = cs.s.T, D = cs.s.D;
    for (int64_t i = 0; i < N; ++i)
      for (int64_t j = 0; j <= T; ++j)
        for (int64_t d = 0; d < D; ++d) b.put_host(i, j, d, static_cast<float>(b.zdec[(i * (T + 1) + j) * D + d] * scale));
    b.upload();
    Outs cpu(N, T, cs.s.K);
    cpu::advantages(b.latents(false), b.rewards(false), b.groups(false), cs.s.opt, b.factors(), cpu.all());
    DevOuts d(N, T, cs.s.K);
    d.poison();
    run_advantages(k, b, d.all());
    const Outs g = d.fetch();
    const std::string name = k.name() + " " + cs.name;
    for (int f = 0; f < 5; ++f) {
      const double e = rel_err(g.v[f], cpu.v[f]);
      expect(e <= 1e-6, name + ": " + kFields[f] + " differs from the CPU backend by " + std::to_string(e));
    }
    Outs cpu2(N, T, cs.s.K);
    cpu::objective_credit(b.rewards(false), g.v[4].data(), b.groups(false), cs.s.opt, b.factors(), cpu2.objective());
    for (int f = 5; f < 10; ++f)
      expect(same_bits(g.v[f], cpu2.v[f]), name + ": " + kFields[f] + " is not the CPU backend's bits on the GPU's q");
  }
}

// ------------------------------------------------------------------ errors

template <class F>
std::string message_of(F&& fn) {
  try {
    fn();
  } catch (const RangeError& e) {
    return std::string("RangeError: ") + e.what();
  } catch (const std::exception& e) {
    return std::string("other: ") + e.what();
  }
  return "no error";
}

void errors(const Kernel& k) {
  Case cs;
  cs.name = "errors";
  cs.s = Setup{4, 2, 5, 3000, 2};
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
  Outs h(cs.s.N, cs.s.T, cs.s.K);
  for (const Mutation& m : ms) {
    Case c = cs;
    c.dt = m.dt;
    c.rewF64 = m.rewF64;
    Batch b;
    build(b, c, 99);
    m.apply(b);
    const std::string g = message_of([&] { run_advantages(k, b, d.all()); });
    const std::string want = std::string("RangeError: ") + m.expected;
    const std::string onCpu = message_of([&] {
      cpu::advantages(b.latents(false), b.rewards(false), b.groups(false), c.s.opt, b.factors(), h.all());
    });
    expect(g == want, k.name() + " error '" + m.name + "': gpu said '" + g + "', expected '" + want + "'");
    expect(g == onCpu, k.name() + " error '" + m.name + "': gpu '" + g + "' != cpu '" + onCpu + "'");
  }
  // a clean call right after the errors: the counters and flags were reset
  Batch b;
  build(b, cs, 5);
  expect(message_of([&] { run_advantages(k, b, d.all()); }) == "no error", k.name() + ": a clean call after errors failed");
  // phase 2 alone with a non-finite trajectory score
  std::vector<float> qh(cs.s.N, 0.25f);
  qh[2] = NAN;
  CK(cudaMemcpy(d.p[4], qh.data(), qh.size() * 4, cudaMemcpyHostToDevice));
  CK(cudaDeviceSynchronize());
  const std::string msg = message_of([&] {
    gpu::objective_credit(*g_ctx, b.rewards(true), d.p[4], b.groups(true), cs.s.opt, b.factors(), d.all().objective);
  });
  expect(msg == "RangeError: Expected finite values for trajectoryScore but received NaN at sample 2",
         "objective_credit with NaN q: '" + msg + "'");
  g_rows.push_back(Row{k.name() + " non-finite errors (6) + q", 0, 0, "", "", true});
}

// ------------------------------------------------------------------ device-side helpers (large, timed)

__device__ __forceinline__ uint64_t mix(uint64_t x) {
  x ^= x >> 33; x *= 0xff51afd7ed558ccdULL; x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ULL; x ^= x >> 33;
  return x;
}
// Values in [-1, 1) from a hash of the flat index, z_T mixed into the earlier states of the same
// sample so that S is not ~0.
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

// A batch over one device tensor [N, T+1, D] filled on the device (no host copy of the latents):
// float32 rewards, K = 3, default options.
struct DeviceBatch {
  Batch b;  // rewards and groups only; the latents are the caller's
  std::vector<const void*> states;
  DType dt;
  int64_t N, G, T, D;
  DeviceBatch(const void* base, DType dtype, int64_t n, int64_t g, int64_t t, int64_t d, uint64_t seed)
      : dt(dtype), N(n), G(g), T(t), D(d) {
    const int64_t K = 3;
    b.cs.s = Setup{N, G, T, D, K};
    b.cs.dt = dtype;
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> nd(0.f, 1.f);
    b.rewHost.assign(N * K * 4, 0);
    for (int64_t x = 0; x < N * K; ++x) { const float f = nd(rng); std::memcpy(b.rewHost.data() + x * 4, &f, 4); }
    CK(cudaMalloc(&b.rewDev, b.rewHost.size()));
    CK(cudaMemcpy(b.rewDev, b.rewHost.data(), b.rewHost.size(), cudaMemcpyHostToDevice));
    CK(cudaDeviceSynchronize());
    rebase(base);
  }
  void rebase(const void* base) {
    states.resize(T + 1);
    for (int64_t j = 0; j <= T; ++j) states[j] = static_cast<const char*>(base) + j * D * dtype_size(dt);
  }
  Latents latents() const {
    Latents l;
    l.dtype = dt;
    l.N = N; l.T = T; l.D = D;
    l.states = states.data();
    l.sampleStride = (T + 1) * D;
    return l;
  }
};

// The lab call (or the product's, through the lab's call steps) on a DeviceBatch.
void run_device(const lab::Config& cfg, DeviceBatch& db, const AllOutputs& out, bool trajectoryOnly = false) {
  if (trajectoryOnly) lab::trajectory_credit(*g_ctx, db.latents(), db.b.cs.s.opt, out.trajectory, cfg);
  else lab::advantages(*g_ctx, db.latents(), db.b.rewards(true), db.b.groups(true), db.b.cs.s.opt, db.b.factors(), out, cfg);
}

// The kernel's outputs on a device tensor against the float64 device reference.
template <class Raw>
bool device_check(const std::string& name, const Kernel& k, const Raw* base, DeviceBatch& db, double* errOut) {
  std::vector<double> dot, sq;
  device_reference<Raw>(base, db.N, db.T, db.D, dot, sq);
  Outs ref;
  reference_from_sums(db.b, dot, sq, ref);
  DevOuts d(db.N, db.T, 3);
  d.poison();
  run_device(k.config(), db, d.all());
  const Outs g = d.fetch();
  double worst = 0;
  const char* wf = "";
  const int before = g_failures;
  compare_to(name + ": vs float64 device reference", g, ref, &worst, &wf);
  *errOut = worst;
  return g_failures == before;
}

// ------------------------------------------------------------------ timing helpers

__global__ void read_probe(const uint4* p, int64_t n, unsigned* out) {
  unsigned acc = 0;
#pragma unroll 4
  for (int64_t x = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; x < n; x += int64_t(gridDim.x) * blockDim.x) {
    const uint4 v = __ldcs(p + x);
    acc ^= v.x + v.y + v.z + v.w;
  }
  if (acc == 0x9e3779b9u) out[0] = acc;  // practically never; keeps the loads
}

// The median interval between two events over `reps` runs after `warm`: run(k, a, b) enqueues the
// work with a and b recorded around it.
template <class F>
double median_between(int warm, int reps, F run) {
  cudaEvent_t a, b;
  CK(cudaEventCreate(&a));
  CK(cudaEventCreate(&b));
  std::vector<float> t;
  for (int k = 0; k < warm + reps; ++k) {
    run(k, a, b);
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

// Events around whatever `launch` enqueues on the stream.
template <class F>
double median_ms(int warm, int reps, F launch) {
  return median_between(warm, reps, [&](int k, cudaEvent_t a, cudaEvent_t b) {
    CK(cudaEventRecord(a, g_stream));
    launch(k);
    CK(cudaEventRecord(b, g_stream));
  });
}

// Events the lab's call records right around its launch (the kernel alone, not the host's wait).
double median_launch_ms(int warm, int reps, const lab::Config& cfg, const std::function<void(const lab::Config&, int)>& call) {
  return median_between(warm, reps, [&](int k, cudaEvent_t a, cudaEvent_t b) {
    lab::Config c = cfg;
    c.start = a;
    c.stop = b;
    call(c, k);
  });
}

double median_of(std::vector<double> x) {
  std::sort(x.begin(), x.end());
  return x[x.size() / 2];
}

// ------------------------------------------------------------------ debug timeline

std::vector<std::string> g_timeline;  // printed in the summary

// Runs `call` with the debug timeline on (a lab kernel with the product's tail: the stamps sit
// between its stages) and records the median of each stamp relative to the first streaming
// block's entry, in microseconds.
void timeline_run(const std::string& label, lab::Config cfg, const std::function<void(const lab::Config&, int)>& call) {
  using namespace otca::lab;
  unsigned long long* dev;
  CK(cudaMalloc(&dev, sizeof(unsigned long long) * kTlSlots));
  std::vector<unsigned long long> init(kTlSlots), got(kTlSlots);
  for (int k = 0; k < kTlSlots; ++k) init[k] = ((kTlMinSlots >> k) & 1u) ? ~0ull : 0ull;
  const int reps = 21;
  std::vector<std::vector<double>> rel(kTlSlots);
  unsigned long long minStep = ~0ull;
  cfg.args.timeline = dev;
  for (int r = 0; r < reps + 2; ++r) {
    CK(cudaStreamSynchronize(g_stream));
    CK(cudaMemcpy(dev, init.data(), sizeof(unsigned long long) * kTlSlots, cudaMemcpyHostToDevice));
    CK(cudaDeviceSynchronize());
    call(cfg, r);
    CK(cudaStreamSynchronize(g_stream));  // the call returns at the mailbox, before the kernel exits
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
  const auto f = [&](int k) {
    std::vector<double> v = rel[k];
    std::sort(v.begin(), v.end(), [](double a, double b) { return std::isnan(b) ? !std::isnan(a) : a < b; });
    char b[32];
    if (std::isnan(v[v.size() / 2])) std::snprintf(b, sizeof b, "-");
    else std::snprintf(b, sizeof b, "%.1f", v[v.size() / 2]);
    return std::string(b);
  };
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "%-24s entry last %s | stream end first %s last %s | sample %s..%s | group %s..%s | publish %s..%s "
                "(smallest stamp step %.2f us)",
                label.c_str(), f(kTlEntryLast).c_str(), f(kTlStreamEndFirst).c_str(), f(kTlStreamEndLast).c_str(),
                f(kTlSampleStart).c_str(), f(kTlSampleEnd).c_str(), f(kTlGroupStart).c_str(), f(kTlGroupEnd).c_str(),
                f(kTlPublishStart).c_str(), f(kTlPublishEnd).c_str(), minStep == ~0ull ? 0.0 : minStep / 1e3);
  g_timeline.push_back(buf);
}

// ------------------------------------------------------------------ --profile (for ncu)

// cudaProfilerStart/Stop. Without a profiler attached they may return an error: cleared, so that
// the next launch's cudaGetLastError does not report it as the launch's.
void profiler_range(bool on) {
  if ((on ? cudaProfilerStart() : cudaProfilerStop()) != cudaSuccess) cudaGetLastError();
}

// The calls that scripts/gpu-check.sh's ncu step profiles (read by bench/gpu/ncu_summary.py): per
// case 3 warm-up calls, then 3 calls between cudaProfilerStart and cudaProfilerStop, which under
// ncu --profile-from-start off are the only profiled launches. The product's kernel through
// gpu::advantages, one advantage_step launch per call; the "profile-case" lines give the order of
// ncu's launch IDs.
int profile_run() {
  constexpr int kWarmups = 3, kProfiled = 3;
  Case tiny, tiny3, flux;
  tiny.name = "tiny";
  tiny.s = Setup{1, 1, 1, 8, 1};
  tiny3.name = "tiny3";
  tiny3.s = Setup{2, 2, 1, 8, 3};
  flux.name = "flux512-bf16";
  flux.dt = DType::BFloat16;
  flux.s = Setup{12, 12, 16, 65536, 3};
  Batch bTiny, bTiny3, bFlux;
  build(bTiny, tiny, 3);
  build(bTiny3, tiny3, 4);
  build(bFlux, flux, 5);
  struct ProfileCase { const char* name; Batch* b; bool trajectoryOnly; };
  // The last case is the same latents without the group finish: its cost is the difference.
  const ProfileCase cases[] = {{"tiny", &bTiny, false}, {"tiny3", &bTiny3, false},
                               {"flux512-bf16", &bFlux, false}, {"flux512-bf16-traj", &bFlux, true}};
  std::printf("profile: the product's kernel; per case %d warm-up calls, then %d calls between "
              "cudaProfilerStart/Stop (ncu --profile-from-start off profiles those)\n", kWarmups, kProfiled);
  const Kernel product;
  int nextId = 0, failures = 0;
  for (const ProfileCase& pc : cases) {
    const Setup& s = pc.b->cs.s;
    DevOuts d(s.N, s.T, s.K);
    const auto call = [&] {
      if (pc.trajectoryOnly) {
        TrajectoryOutputs t;
        t.stepWeights = d.p[3];
        t.trajectoryScore = d.p[4];
        run_trajectory(product, *pc.b, t);
      } else {
        AllOutputs only;
        only.advantages = d.p[10];
        run_advantages(product, *pc.b, only);
      }
    };
    int launches = 0;
    std::string error;
    try {
      for (int k = 0; k < kWarmups; ++k) call();
      CK(cudaStreamSynchronize(g_stream));
      profiler_range(true);
      for (int k = 0; k < kProfiled; ++k) {
        ++launches;
        call();
      }
      CK(cudaStreamSynchronize(g_stream));
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
  std::printf("profile: %d launches of advantage_step between cudaProfilerStart/Stop in %zu cases, %d failed\n", nextId,
              sizeof cases / sizeof cases[0], failures);
  return failures ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false, large = true, timing = true, profile = false;
  std::string onlyKernel;
  for (int k = 1; k < argc; ++k) {
    const std::string a = argv[k];
    if (a == "--kernel" && k + 1 < argc) { onlyKernel = argv[++k]; continue; }
    if (a == "--quick") { quick = true; large = false; timing = false; }
    else if (a == "--no-large") large = false;
    else if (a == "--no-timing") timing = false;
    else if (a == "--profile") profile = true;
    else { std::printf("unknown argument %s\n", a.c_str()); return 2; }
  }
  if (quick) std::printf("--quick: parity and errors only (for compute-sanitizer)\n");
  const gpu::Status st = gpu::status();
  std::printf("otca lab harness: compiled=%d usable=%d devices=%d driver=%d runtime=%d archs=%s\n", st.compiled,
              st.usable, st.deviceCount, st.driverVersion, st.runtimeVersion, st.architectures.c_str());
  if (!st.usable) {
    std::printf("SKIP: no usable CUDA device: %s\n", st.reason.c_str());
    return 0;
  }
  const gpu::DeviceProps pr = gpu::properties(0);
  std::printf("device 0: %s sm_%d%d, %d SMs, %.1f GiB, L2 %.0f MiB\n", pr.name.c_str(), pr.major, pr.minor,
              pr.multiprocessors, pr.totalMemory / 1073741824.0, pr.l2Bytes / 1048576.0);
  const auto t0 = std::chrono::steady_clock::now();
  g_ctx = gpu::context_create(0);
  g_stream = g_ctx->stream;
  if (profile) {
    const int rc = profile_run();
    gpu::context_destroy(g_ctx);
    return rc;
  }

  std::vector<Kernel> kernels;
  for (const Kernel& k : all_kernels())
    if (onlyKernel.empty() || k.name() == onlyKernel) kernels.push_back(k);
  expect(!kernels.empty(), "no kernel selected (--kernel " + onlyKernel + ")");
  std::printf("kernels:");
  for (const Kernel& k : kernels) {
    const lab::ShapeInfo si = lab::kShapeInfo[k.shape];
    std::printf(" %s (%d threads x %d packs x %d states/round);", k.name().c_str(), si.threads, si.packs, si.round);
  }
  std::printf("\n");

  // ---------------------------------------------------------------- parity and errors
  const std::vector<Case> cases = parity_cases();
  for (const Kernel& k : kernels) {
    uint64_t seed = 1;
    for (const Case& c : cases) {
      try {
        parity(c, k, seed++);
      } catch (const std::exception& e) {
        expect(false, k.name() + " " + c.name + ": threw " + e.what());
        g_rows.push_back(Row{k.name() + " " + c.name, 0, 0, "threw", "", false});
      }
    }
    try {
      extreme_scales(k);
      errors(k);
    } catch (const std::exception& e) {
      expect(false, k.name() + " extremes/errors: threw " + e.what());
    }
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
      DeviceBatch db(base, DType::BFloat16, N, 2, T, D, 7);
      largeNote = "";
      for (const Kernel& k : kernels) {
        if (k.tail == lab::kLeanHandoff) continue;  // the same indexing as its shape's shipped tail
        double err = 0;
        try {
          const bool ok = device_check<Bf16Raw>(k.name() + " bf16 N2 T1 D1.1e9", k, base, db, &err);
          char buf[160];
          std::snprintf(buf, sizeof buf, "%s %s, max rel err %.2g (%.1f GiB); ", k.name().c_str(), ok ? "ok" : "FAILED", err,
                        bytes / 1073741824.0);
          largeNote += buf;
        } catch (const std::exception& e) {
          expect(false, k.name() + " large: threw " + e.what());
          largeNote += k.name() + " threw; ";
        }
      }
      CK(cudaFree(base));
    }
  }

  // ---------------------------------------------------------------- timing
  struct Timed { std::string workload; std::string kernel; double bytes, ms, err, msTraj, msStream; };
  std::vector<Timed> timed;
  double copyGBs = 0, readGBs = 0, hostUs = 0, tinyKernelUs = 0;
  std::vector<std::string> tinyLines;
  std::string emptyLine;
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
      const double copyMs = median_ms(3, 20, [&](int) { CK(cudaMemcpyAsync(b, a, n, cudaMemcpyDeviceToDevice, g_stream)); });
      const double readMs = median_ms(3, 20, [&](int) {
        read_probe<<<pr.multiprocessors * 4, 512, 0, g_stream>>>(static_cast<const uint4*>(a), int64_t(n / 16), sink);
        CK(cudaGetLastError());
      });
      copyGBs = 2.0 * n / copyMs / 1e6;
      readGBs = double(n) / readMs / 1e6;
      CK(cudaFree(a)); CK(cudaFree(b)); CK(cudaFree(sink));
    }
    {  // a tiny call (N = 1, T = 1, D = 8, K = 1): host overhead and launch latency
      Case c;
      c.name = "tiny";
      c.s = Setup{1, 1, 1, 8, 1};
      Batch b;
      build(b, c, 3);
      DevOuts d(1, 1, 1);
      AllOutputs only;
      only.advantages = d.p[10];
      const Kernel product;
      for (int k = 0; k < 50; ++k) run_advantages(product, b, only);
      std::vector<double> us;
      for (int k = 0; k < 500; ++k) {
        const auto a = std::chrono::steady_clock::now();
        run_advantages(product, b, only);
        us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - a).count());
      }
      hostUs = median_of(us);
      const auto tinyCall = [&](const lab::Config& cfg, int) {
        lab::advantages(*g_ctx, b.latents(true), b.rewards(true), b.groups(true), c.s.opt, b.factors(), only, cfg);
      };
      tinyKernelUs = median_launch_ms(20, 200, product.config(), tinyCall) * 1e3;
      // Per kernel: the launch alone (events), the whole call (host clock) and its host-side split,
      // and (lab kernels with the product's tail) the debug timeline.
      for (const Kernel& k : kernels) {
        const double launchUs = median_launch_ms(50, 200, k.config(), tinyCall) * 1e3;
        std::vector<double> host, split[3];
        for (int r = 0; r < 250; ++r) {
          double parts[3];
          lab::Config cfg = k.config();
          cfg.hostUs = parts;
          const auto h0 = std::chrono::steady_clock::now();
          tinyCall(cfg, r);
          const double whole = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - h0).count();
          if (r < 50) continue;
          host.push_back(whole);
          for (int p = 0; p < 3; ++p) split[p].push_back(parts[p]);
        }
        char buf[256];
        std::snprintf(buf, sizeof buf, "tiny %-12s launch alone (events) %.1f us | whole call (host clock) %.1f us = "
                      "prepare %.1f + launch %.1f + wait %.1f (medians each)", k.name().c_str(), launchUs,
                      median_of(host), median_of(split[0]), median_of(split[1]), median_of(split[2]));
        tinyLines.push_back(buf);
        if (!k.product && k.tail == lab::kShipped) timeline_run("tiny " + k.name(), k.config(), tinyCall);
      }
      // Calibration: an empty kernel with the same parameter block, events right around it: one
      // launch, two launches (the floor of a call's launch cost).
      {
        gpu::detail::Call call;
        gpu::detail::prepare_advantages(call, *g_ctx, b.latents(true), b.rewards(true), b.groups(true), c.s.opt, b.factors(), only);
        const char* what[2] = {"1 launch", "2 launches"};
        for (int kind = 0; kind < 2; ++kind) {
          const double ms = median_ms(20, 200, [&](int) {
            expect(lab::empty_launches(call.a, kind + 1, g_stream) == cudaSuccess, "empty launch failed");
          });
          char buf[96];
          std::snprintf(buf, sizeof buf, "%s %.1f us", what[kind], ms * 1e3);
          emptyLine += (kind ? " | " : "") + std::string(buf);
        }
        CK(cudaStreamSynchronize(g_stream));
        call.healthy = true;  // the counters were never touched: the workspace stays
      }
    }
    struct W { const char* name; int64_t N, G, T, D; };
    const W ws[] = {{"FLUX-512", 12, 12, 16, 65536}, {"FLUX-1024", 12, 12, 16, 262144},
                    {"Wan", 32, 32, 16, 349440},    {"8 groups", 96, 12, 16, 65536}};
    for (const W& w : ws) {
      for (int f32 = 0; f32 < 2; ++f32) {
        const size_t es = f32 ? 4 : 2;
        const DType dt = f32 ? DType::Float32 : DType::BFloat16;
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
        DeviceBatch db(bufs[0], dt, w.N, w.G, w.T, w.D, 11);
        DevOuts d(w.N, w.T, 3);
        const AllOutputs outs = d.all();  // every output, as a logging trainer would ask
        const std::string workload = std::string(w.name) + (f32 ? " f32" : " bf16");
        for (const Kernel& k : kernels) {
          double err = 0;
          try {
            db.rebase(bufs[0]);
            if (f32) device_check<float>(workload + " " + k.name(), k, static_cast<const float*>(bufs[0]), db, &err);
            else device_check<Bf16Raw>(workload + " " + k.name(), k, static_cast<const Bf16Raw*>(bufs[0]), db, &err);
          } catch (const std::exception& e) {
            expect(false, workload + " " + k.name() + ": threw " + e.what());
          }
          // 0: the whole call (every output); 1: trajectory only (no group finish); 2: the
          // streaming stage alone (the lab's stream-only tail of the kernel's shape)
          double med[3] = {0, 0, 0};
          for (int kind = 0; kind < 3; ++kind) {
            lab::Config cfg = k.config();
            if (kind == 2) {
              cfg.product = false;
              cfg.tail = lab::kStreamOnly;
            }
            med[kind] = median_launch_ms(10, 50, cfg, [&](const lab::Config& c, int it) {
              db.rebase(bufs[it % copies]);
              run_device(c, db, outs, kind == 1);
            });
          }
          timed.push_back(Timed{workload, k.name(), double(bytes), med[0], err, med[1], med[2]});
          if (!f32 && !k.product && k.tail == lab::kShipped && (std::string(w.name) == "FLUX-512" || std::string(w.name) == "Wan"))
            timeline_run(workload + " " + k.name(), k.config(), [&](const lab::Config& c, int it) {
              db.rebase(bufs[it % copies]);
              run_device(c, db, outs);
            });
        }
        for (void* p : bufs) CK(cudaFree(p));
      }
    }
  } catch (const std::exception& e) {
    expect(false, std::string("timing: threw ") + e.what());
  }
  gpu::context_destroy(g_ctx);

  // ---------------------------------------------------------------- summary
  std::printf("\n%-64s %-4s %-14s %-14s\n", "parity case", "ok", "vs ref64", "vs cpu");
  for (const Row& r : g_rows)
    std::printf("%-64s %-4s %-6.2g %-7s %-6.2g %-7s\n", r.name.c_str(), r.ok ? "ok" : "FAIL", r.errRef, r.worstRef,
                r.errCpu, r.worstCpu);
  std::printf("indices past 2^32: %s\n", largeNote.c_str());
  if (timing) {
    std::printf("\nbandwidth: d2d copy %.0f GB/s (read+write), read-only probe %.0f GB/s\n", copyGBs, readGBs);
    std::printf("tiny call (product): host clock %.1f us per call; its launch alone (events) %.1f us\n", hostUs, tinyKernelUs);
    std::printf("empty kernel, same parameter block, events around it (event + launch overhead): %s\n", emptyLine.c_str());
    for (const std::string& line : tinyLines) std::printf("%s\n", line.c_str());
    if (!g_timeline.empty()) {
      std::printf("\ndebug timeline (%%globaltimer, us after the first streaming block's entry, median of 21 calls):\n");
      for (const std::string& line : g_timeline) std::printf("  %s\n", line.c_str());
    }
    std::printf("\n(full = whole call; traj = trajectory only; stream = chunk partials only (the shape's stream-only "
                "tail); %% of floor from full; times of the launch alone, CUDA events)\n");
    std::printf("%-16s %-12s %8s %9s %9s %9s %9s %8s %8s %9s\n", "workload", "kernel", "MB", "floor us", "full us",
                "traj us", "stream us", "% floor", "% strm", "max err");
    for (const Timed& t : timed) {
      const double floorUs = t.bytes / (readGBs * 1e9) * 1e6;
      std::printf("%-16s %-12s %8.1f %9.1f %9.1f %9.1f %9.1f %7.0f%% %7.0f%% %9.2g\n", t.workload.c_str(), t.kernel.c_str(),
                  t.bytes / 1e6, floorUs, t.ms * 1e3, t.msTraj * 1e3, t.msStream * 1e3, 100.0 * floorUs / (t.ms * 1e3),
                  100.0 * floorUs / (t.msStream * 1e3), t.err);
    }
    std::printf("\nbest full time per workload (product first):\n");
    for (size_t k = 0; k < timed.size(); ++k) {
      if (timed[k].kernel != kernels.front().name()) continue;
      const Timed* best = &timed[k];
      for (const Timed& t : timed)
        if (t.workload == timed[k].workload && t.ms < best->ms) best = &t;
      const double floorUs = best->bytes / (readGBs * 1e9) * 1e6;
      std::printf("  %-16s %s %.1f us (%.0f%% of floor); best %s %.1f us (%.0f%%)\n", timed[k].workload.c_str(),
                  timed[k].kernel.c_str(), timed[k].ms * 1e3, 100.0 * floorUs / (timed[k].ms * 1e3), best->kernel.c_str(),
                  best->ms * 1e3, 100.0 * floorUs / (best->ms * 1e3));
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("\n%s: %d checks, %d failed, %.1f s\n", g_failures ? "FAILED" : "PASSED", g_checks, g_failures, secs);
  return g_failures ? 1 : 0;
}
