// otca's CUDA backend, kernels and host side, on the CPU emulation of cuda_runtime.h (no GPU): the
// very lines of csrc/cuda/advantage_step.cuh and gpu_runtime.cu, and the lab's shapes and tails
// (bench/lab/lab_kernels.cuh), checked against the CPU backend.
//   - phase 1 (S, dS, wbar, w, q) within 1e-6 of the CPU backend (their chunk orders differ);
//   - phase 2 (A, e, lam, c, f) bit for bit equal to the CPU backend run on the emulated q, and Adv
//     bit for bit float(w) * float(f);
//   - the same bits whatever order the blocks run in (any block may be the last to arrive) and
//     whatever order a block's threads run in between barriers (a missing barrier shows);
//   - trajectoryCredit then objectiveCredit equal the one call bit for bit;
//   - every streaming variant, every dtype, both layouts, misaligned rows, state pointers and objective
//     arrays past the inline parameter block, groups past the shared-memory staging;
//   - non-finite inputs raise the CPU backend's exact messages.
// build.sh --asan runs the small cases under AddressSanitizer + UBSan, with device allocations exactly
// as long as asked: an access past a buffer is reported, as compute-sanitizer memcheck would.
// What it cannot check: timing, the memory model, anything of the real hardware (scripts/gpu-check.sh).
// Built by CMake (otca_emulated_kernels, otca_emulated_kernels_asan); run: [--quick | --small] (--small:
// the AddressSanitizer run's small cases, shapes 0 and 3, shipped tail only).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "cuda_runtime.h"  // the emulation's
#include "dtype.h"
#include "lab_call.h"
#include "otca.h"
#include "outputs.h"
#include "trajectory.h"

using namespace otca;
using otca_test::kFields;
using otca_test::kOutputCount;
using otca_test::Outs;
using otca_test::same_bits;

namespace {

int g_checks = 0, g_failures = 0;

void expect(bool ok, const std::string& what) {
  ++g_checks;
  if (ok) return;
  ++g_failures;
  std::fprintf(stderr, "FAIL %s\n", what.c_str());
}

struct Setup {
  std::string name;
  int64_t N, G, T, D, K;
  DType dt = DType::Float32;
  bool list = false;
  int misalign = 0;
  bool rewF64 = false;
  Options opt{};
  std::vector<double> weights{}, scale{};
  // Latents: the trajectory's values, then `scaleBy` (tiny or huge latents), or `nearFinal`: every
  // state the final one times (1 + nearFinal * noise), dS at the scale of float32 rounding.
  double scaleBy = 1.0, nearFinal = 0.0;
  // Groups by ids instead of G: N samples in groups of the sizes 1, 2, ... (cycling up to G),
  // shuffled by a fixed permutation.
  bool byIds = false;
  // Per-step rewards [N, T, K] (rewardSteps = T) instead of [N, K] (0).
  int64_t rewardSteps = 0;
};

// Latents in emulated device memory (host memory here) and the same rewards on the host.
struct Inputs {
  Setup s;
  std::vector<void*> buffers;
  std::vector<const void*> states;
  int64_t stride = 0;
  void* rewards = nullptr;
  explicit Inputs(const Setup& setup, uint64_t seed) : s(setup) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> nd(0.f, 1.f);
    const int64_t N = s.N, T = s.T, D = s.D;
    const size_t es = dtype_size(s.dt);
    const int64_t nBuf = s.list ? T + 1 : 1;
    const int64_t perBuf = s.list ? N * D : N * (T + 1) * D;
    stride = s.list ? D : (T + 1) * D;
    for (int64_t b = 0; b < nBuf; ++b) {
      void* p = nullptr;
      cudaMalloc(&p, (perBuf + s.misalign) * es);  // no slack: a read past the end is an error (--asan)
      buffers.push_back(p);
    }
    std::vector<float> values(static_cast<size_t>(N * (T + 1) * D));
    fill_trajectory(N, T, D, rng, [&](int64_t i, int64_t j, int64_t d, float v) { values[(i * (T + 1) + j) * D + d] = v; });
    std::uniform_real_distribution<float> ud(-0.5f, 0.5f);
    for (int64_t i = 0; i < N; ++i)
      for (int64_t j = 0; j <= T; ++j)
        for (int64_t d = 0; d < D; ++d) {
          float v = values[(i * (T + 1) + j) * D + d];
          if (s.nearFinal > 0) v = values[(i * (T + 1) + T) * D + d] * (1.0f + static_cast<float>(s.nearFinal) * ud(rng));
          set(i, j, d, static_cast<float>(v * s.scaleBy));
        }
    for (int64_t j = 0; j <= T; ++j)
      states.push_back(static_cast<const char*>(buffers[s.list ? j : 0]) + (s.misalign + (s.list ? 0 : j * D)) * es);
    const int64_t rows = N * (s.rewardSteps > 0 ? s.rewardSteps : 1);  // a row per sample, or per (sample, step)
    cudaMalloc(&rewards, rows * s.K * 8);
    for (int64_t x = 0; x < rows * s.K; ++x) set_reward(x / s.K, x % s.K, nd(rng) * (1.0 + (x % s.K)));
  }
  ~Inputs() {
    for (void* p : buffers) cudaFree(p);
    cudaFree(rewards);
    if (groupArrays) cudaFree(groupArrays);
  }
  Inputs(const Inputs&) = delete;
  Inputs& operator=(const Inputs&) = delete;
  void set(int64_t i, int64_t j, int64_t d, float v) {
    const size_t es = dtype_size(s.dt);
    const int64_t at = s.misalign + i * stride + d + (s.list ? 0 : j * s.D);
    char* p = static_cast<char*>(buffers[s.list ? j : 0]) + at * es;
    if (s.dt == DType::Float32) std::memcpy(p, &v, 4);
    else {
      const uint16_t h = s.dt == DType::BFloat16 ? dtype::float_to_bf16(v) : dtype::float_to_f16(v);
      std::memcpy(p, &h, 2);
    }
  }
  void set_reward(int64_t i, int64_t k, double v) {
    if (s.rewF64) static_cast<double*>(rewards)[i * s.K + k] = v;
    else static_cast<float*>(rewards)[i * s.K + k] = static_cast<float>(v);
  }
  Latents latents() const {
    Latents l;
    l.dtype = s.dt;
    l.N = s.N;
    l.T = s.T;
    l.D = s.D;
    l.states = states.data();
    l.sampleStride = stride;
    return l;
  }
  Rewards rewards_view() const {
    Rewards r;
    r.dtype = s.rewF64 ? DType::Float64 : DType::Float32;
    r.data = rewards;
    r.N = s.N;
    r.K = s.K;
    r.T = s.rewardSteps;
    return r;
  }
  Options options() const { return s.opt; }
  ObjectiveFactors factors() const {
    return {s.weights.empty() ? nullptr : s.weights.data(), s.scale.empty() ? nullptr : s.scale.data()};
  }
  // The groups on the host (CPU backend) and in emulated device memory (a copy, as the addon stages).
  GroupIndex hostIndex;
  std::vector<int32_t> ids;
  void* groupArrays = nullptr;
  Groups host_groups() {
    if (!s.byIds) {
      Groups g;
      g.size = s.G;
      g.count = s.N / s.G;
      return g;
    }
    if (ids.empty()) ids = scattered_group_ids(s.N, s.G);
    return hostIndex.build(ids.data(), s.N);
  }
  Groups device_groups() {
    Groups g = host_groups();
    if (g.size > 0) return g;
    const size_t bytes = hostIndex.arrays.size() * sizeof(int64_t);
    if (groupArrays) cudaFree(groupArrays);
    cudaMalloc(&groupArrays, bytes);
    std::memcpy(groupArrays, hostIndex.arrays.data(), bytes);
    auto* d = static_cast<int64_t*>(groupArrays);
    g.offsets = d;
    g.members = d + g.count + 1;
    g.groupOf = d + g.count + 1 + s.N;
    return g;
  }
};


// max |got - want| / max(1, max |want|); a NaN anywhere is infinitely far.
double rel_diff(const std::vector<float>& got, const std::vector<float>& want) {
  double scale = 1.0, worst = 0.0;
  for (float w : want) scale = std::max(scale, std::fabs(static_cast<double>(w)));
  for (size_t k = 0; k < want.size(); ++k) {
    const double d = std::fabs(static_cast<double>(got[k]) - want[k]);
    if (!(d <= worst)) worst = std::isnan(d) ? INFINITY : d;
  }
  return worst / scale;
}

// Full: every case; Quick: without the three slowest; Small (the AddressSanitizer run): the cases
// of at most 40,000 elements, shapes 0 and 3 with the shipped tail.
enum class Scope { Full, Quick, Small };

// A kernel under test: the shipped one (shape 3, its own launcher), or a lab shape and tail.
struct Kernel {
  int shape;
  int tail;
  bool shipped() const { return shape == lab::kShippedShape && tail == lab::kShipped; }
};

std::vector<Kernel> kernels(Scope scope) {
  std::vector<Kernel> k;
  for (int shape = 0; shape < lab::kShapes; ++shape) {
    if (scope == Scope::Small && shape != 0 && shape != lab::kShippedShape) continue;
    k.push_back({shape, lab::kShipped});
    if (scope != Scope::Small) k.push_back({shape, lab::kLeanHandoff});
  }
  return k;
}

std::string label(const Setup& s, const Kernel& k) {
  return (k.shipped() ? std::string("shipped") : "shape" + std::to_string(k.shape) + (k.tail == lab::kLeanHandoff ? "+lean" : "")) +
         " " + s.name;
}

gpu::Context* g_ctx = nullptr;

void run_kernel(const Kernel& k, Inputs& in, const AllOutputs& out) {
  const Groups g = in.device_groups();
  if (k.shipped()) {
    gpu::advantages(*g_ctx, in.latents(), in.rewards_view(), g, in.options(), in.factors(), out);
    return;
  }
  lab::Config cfg;
  cfg.shape = k.shape;
  cfg.tail = k.tail;
  lab::advantages(*g_ctx, in.latents(), in.rewards_view(), g, in.options(), in.factors(), out, cfg);
}

void run_trajectory(const Kernel& k, Inputs& in, const TrajectoryOutputs& out) {
  if (k.shipped()) {
    gpu::trajectory_credit(*g_ctx, in.latents(), in.options(), out);
    return;
  }
  lab::Config cfg;
  cfg.shape = k.shape;
  cfg.tail = k.tail;
  lab::trajectory_credit(*g_ctx, in.latents(), in.options(), out, cfg);
}

void check_case(const Setup& s, const Kernel& kernel, uint64_t seed) {
  const std::string name = label(s, kernel);
  Inputs in(s, seed);
  const Options opt = in.options();
  const int64_t N = s.N, T = s.T, K = s.K;

  const int64_t S = s.rewardSteps, rows = S > 0 ? S : 1;
  Outs emu(N, T, K, S);
  otca_emulation::set_order_seed(1);
  run_kernel(kernel, in, emu.all());
  for (int k = 0; k < kOutputCount; ++k) {
    bool written = true;
    for (float x : emu.v[k]) written = written && std::isfinite(x);
    expect(written, name + ": " + kFields[k] + " has an unwritten or non-finite element");
  }

  // phase 1 against the CPU backend
  Outs cpu(N, T, K, S);
  cpu::advantages(in.latents(), in.rewards_view(), in.host_groups(), opt, in.factors(), cpu.all());
  for (int k = 0; k < 5; ++k) {
    const double d = rel_diff(emu.v[k], cpu.v[k]);
    expect(d <= 1e-6, name + ": " + kFields[k] + " differs from the CPU backend by " + std::to_string(d));
  }
  // phase 2 on the emulated q: the CPU backend's bits
  Outs cpu2(N, T, K, S);
  cpu::objective_credit(in.rewards_view(), emu.p(4), in.host_groups(), opt, in.factors(), cpu2.objective());
  for (int k = 5; k < 10; ++k)
    expect(same_bits(emu.v[k], cpu2.v[k]), name + ": " + kFields[k] + " is not the CPU backend's bits on the same q");
  bool advBits = true;
  for (int64_t i = 0; i < N; ++i)
    for (int64_t t = 0; t < T; ++t) {
      const float want = emu.v[3][i * T + t] * emu.v[9][i * rows + (S > 0 ? t : 0)];
      advBits = advBits && std::memcmp(&want, &emu.v[10][i * T + t], 4) == 0;
    }
  expect(advBits, name + ": advantages are not float(w) * float(f) bit for bit");

  // any block order and thread order: the same bits
  for (uint64_t order : {2ull, 3ull}) {
    Outs again(N, T, K, S);
    otca_emulation::set_order_seed(order);
    run_kernel(kernel, in, again.all());
    for (int k = 0; k < kOutputCount; ++k)
      expect(same_bits(again.v[k], emu.v[k]), name + ": " + kFields[k] + " changes with the block and thread order (seed " +
                                                  std::to_string(order) + ")");
  }
  otca_emulation::set_order_seed(1);

  // the two phases compose to the one call
  Outs t1(N, T, K, S), o2(N, T, K, S);
  run_trajectory(kernel, in, t1.trajectory());
  gpu::objective_credit(*g_ctx, in.rewards_view(), t1.p(4), in.device_groups(), opt, in.factors(), o2.objective());
  for (int k = 0; k < 5; ++k)
    expect(same_bits(t1.v[k], emu.v[k]), name + ": trajectoryCredit's " + kFields[k] + " differs from the one call");
  for (int k = 5; k < 10; ++k)
    expect(same_bits(o2.v[k], emu.v[k]), name + ": objectiveCredit's " + kFields[k] + " differs from the one call");
}

template <class F>
std::string message_of(F&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "no exception";
}

// Non-finite inputs: the CUDA path's flags, its first_non_finite scan and its messages, against the
// CPU backend's on the same inputs.
void check_errors(Scope scope) {
  Setup s{"errors f32 N6/3 T4 D5000 K2", 6, 3, 4, 5000, 2};
  for (DType dt : {DType::Float32, DType::BFloat16, DType::Float16}) {
    s.dt = dt;
    for (const Kernel& kernel : kernels(scope)) {
      const std::string name = label(s, kernel) + " " + dtype_name(dt);
      const auto both = [&](Inputs& in, const char* what) {
        Outs a(s.N, s.T, s.K), b(s.N, s.T, s.K);
        const std::string want = message_of([&] {
          cpu::advantages(in.latents(), in.rewards_view(), in.host_groups(), in.options(), in.factors(), b.all());
        });
        const std::string got = message_of([&] { run_kernel(kernel, in, a.all()); });
        expect(want != "no exception", name + ": " + what + ": the CPU backend did not throw");
        expect(got == want, name + ": " + what + ": \"" + got + "\" instead of \"" + want + "\"");
      };
      {
        Inputs in(s, 7);
        in.set(4, 2, 4097, NAN);
        in.set(5, 1, 3, INFINITY);
        both(in, "NaN and Infinity latents");
      }
      {
        Inputs in(s, 8);
        in.set(2, s.T, 0, -INFINITY);  // in z_T: every state's dot is non-finite
        both(in, "-Infinity in the final state");
      }
      {
        Inputs in(s, 9);
        in.set_reward(3, 1, NAN);
        in.set(0, 0, 0, NAN);
        both(in, "NaN reward (reported before the latents)");
      }
    }
  }
  {  // phase 2 alone: a non-finite trajectory score
    Setup o{"errors objective", 4, 2, 1, 8, 3};
    Inputs in(o, 10);
    std::vector<float> q = {0.1f, NAN, 0.3f, 0.2f};
    float* qDev = nullptr;
    cudaMalloc(reinterpret_cast<void**>(&qDev), 16);
    std::memcpy(qDev, q.data(), 16);
    Outs a(4, 1, 3), b(4, 1, 3);
    const std::string want = message_of([&] {
      cpu::objective_credit(in.rewards_view(), q.data(), in.host_groups(), in.options(), in.factors(), b.objective());
    });
    const std::string got = message_of([&] {
      gpu::objective_credit(*g_ctx, in.rewards_view(), qDev, in.device_groups(), in.options(), in.factors(), a.objective());
    });
    expect(got == want && want != "no exception", "objective-only NaN score: \"" + got + "\" instead of \"" + want + "\"");
    cudaFree(qDev);
  }
  {  // per-step rewards: a NaN reward is named by sample, step and objective
    Setup o{"errors per-step rewards", 4, 2, 3, 8, 2};
    o.rewardSteps = 3;
    Inputs in(o, 11);
    in.set_reward(2 * 3 + 1, 1, NAN);  // sample 2, step 1, objective 1
    std::vector<float> q = {0.1f, 0.2f, 0.3f, 0.2f};
    float* qDev = nullptr;
    cudaMalloc(reinterpret_cast<void**>(&qDev), 16);
    std::memcpy(qDev, q.data(), 16);
    Outs a(4, 3, 2, 3), b(4, 3, 2, 3);
    const std::string want = message_of([&] {
      cpu::objective_credit(in.rewards_view(), q.data(), in.host_groups(), in.options(), in.factors(), b.objective());
    });
    const std::string got = message_of([&] {
      gpu::objective_credit(*g_ctx, in.rewards_view(), qDev, in.device_groups(), in.options(), in.factors(), a.objective());
    });
    expect(want == "Expected finite values for rewards but received NaN at sample 2, step 1, objective 1",
           "per-step NaN reward on the CPU: \"" + want + "\"");
    expect(got == want, "per-step NaN reward: \"" + got + "\" instead of \"" + want + "\"");
    cudaFree(qDev);
  }
}

std::vector<Setup> cases(Scope scope) {
  const bool quick = scope != Scope::Full;
  std::vector<Setup> c;
  Options o;
  c.push_back({"f32 tensor N12 T16 D4100 K3 moca", 12, 12, 16, 4100, 3});
  {
    Setup s{"bf16 list N12/6 T16 D9000 K5 min-norm f64 rewards", 12, 6, 16, 9000, 5, DType::BFloat16, true};
    s.rewF64 = true;
    s.opt.objective = Objective::MinNorm;
    c.push_back(s);
  }
  {
    Setup s{"f16 list+1 N8/4 T10 D3001 K2 w-adv", 8, 4, 10, 3001, 2, DType::Float16, true, 1};
    s.opt.objective = Objective::WeightedAdvantage;
    s.weights = {0.7, 1.9};
    c.push_back(s);
  }
  c.push_back({"f32 tensor+1 N1 T1 D777 K1", 1, 1, 1, 777, 1, DType::Float32, false, 1});
  {
    Setup s{"bf16 tensor N24/12 T50 D300 K5 w-reward batch", 24, 12, 50, 300, 5, DType::BFloat16};
    s.opt.objective = Objective::WeightedReward;
    s.opt.stdScope = StdScope::Batch;
    s.weights = {0.5, 1, 2, 0.25, 1};
    s.scale = {1, 2, 0.5, 1, 3};
    c.push_back(s);
  }
  {
    Setup s{"f16 tensor N48/48 T1 D600 K5 centered uniform batch f64", 48, 48, 1, 600, 5, DType::Float16};
    s.rewF64 = true;
    s.opt.exploration = Exploration::Centered;
    s.opt.temporal = Temporal::Uniform;
    s.opt.stdScope = StdScope::Batch;
    c.push_back(s);
  }
  {
    Setup s{"f32 list N4/2 T70 D250 K20 sum pop (states and objectives past the parameter block)", 4, 2, 70, 250, 20,
            DType::Float32, true};
    s.opt.weightScale = WeightScale::Sum;
    s.opt.stdCorrection = 0;
    s.opt.minWeight = 0.2;
    for (int k = 0; k < 20; ++k) { s.weights.push_back(0.1 * (k + 1)); s.scale.push_back(1.0 + 0.05 * k); }
    c.push_back(s);
  }
  {
    Setup s{"bf16 list+1 N6/3 T5 D8 K5 batch", 6, 3, 5, 8, 5, DType::BFloat16, true, 1};
    s.opt.stdScope = StdScope::Batch;
    c.push_back(s);
  }
  // Aligned rows whose last pack runs past D at the very end of their buffer: an over-read there is
  // outside the allocation, which the AddressSanitizer run reports.
  c.push_back({"f32 list N1 T2 D1001 K1 (ragged end of buffer)", 1, 1, 2, 1001, 1, DType::Float32, true});
  c.push_back({"bf16 list N1 T2 D1001 K2 (ragged end of buffer)", 1, 1, 2, 1001, 2, DType::BFloat16, true});
  // Sums the float32 reduction cannot give well, summed again in float64 in the kernel (as the CPU
  // backend does): tiny latents (squares below float32's range), huge ones (squares past it), D = 1
  // and states within 1e-3 of the final one (dS at the scale of float32 rounding).
  {
    Setup s{"f32 tensor N4/2 T6 D3000 K2 tiny latents (1e-30)", 4, 2, 6, 3000, 2};
    s.scaleBy = 1e-30;
    c.push_back(s);
    s = Setup{"bf16 list N4/4 T5 D700 K2 huge latents (1e30)", 4, 4, 5, 700, 2, DType::BFloat16, true};
    s.scaleBy = 1e30;
    c.push_back(s);
    c.push_back({"f16 tensor N6/3 T16 D1 K2 (D = 1)", 6, 3, 16, 1, 2, DType::Float16});
    s = Setup{"f32 list+1 N4/2 T12 D5000 K3 every state within 1e-3 of the final", 4, 2, 12, 5000, 3, DType::Float32, true, 1};
    s.nearFinal = 1e-3;
    c.push_back(s);
  }
  // groups given by ids: unequal sizes (1 .. G), shuffled, ids in no particular order
  {
    Setup s{"f32 list N13/ids T5 D900 K3 groupIds", 13, 4, 5, 900, 3, DType::Float32, true};
    s.byIds = true;
    c.push_back(s);
    s = Setup{"bf16 tensor N10/ids T4 D300 K2 groupIds w-reward batch", 10, 3, 4, 300, 2, DType::BFloat16};
    s.byIds = true;
    s.opt.objective = Objective::WeightedReward;
    s.opt.stdScope = StdScope::Batch;
    s.weights = {0.5, 2};
    c.push_back(s);
  }
  // beyond the paper: f standardised over its group or the batch (a second pass over every group's
  // f for 'batch'), the floor stabiliser, the clip of the final f
  {
    Setup s{"f32 tensor N12/4 T8 D700 K3 fused batch floor clip", 12, 4, 8, 700, 3};
    s.opt.fusedNormalization = FusedNormalization::Batch;
    s.opt.stdStabilizer = StdStabilizer::Floor;
    s.opt.epsAdv = 1e-6;
    s.opt.fusedClip = 1.25;
    c.push_back(s);
    s = Setup{"bf16 list N13/ids T5 D300 K3 w-adv fused group", 13, 4, 5, 300, 3, DType::BFloat16, true};
    s.byIds = true;
    s.opt.objective = Objective::WeightedAdvantage;
    s.opt.fusedNormalization = FusedNormalization::Group;
    s.weights = {0.5, 1, 2};
    c.push_back(s);
    s = Setup{"f16 tensor N10/ids T3 D100 K1 w-reward fused batch, f64 rewards", 10, 3, 3, 100, 1, DType::Float16};
    s.byIds = true;
    s.rewF64 = true;
    s.opt.objective = Objective::WeightedReward;
    s.opt.fusedNormalization = FusedNormalization::Batch;
    s.opt.advClip = __builtin_huge_val();
    s.weights = {3};
    c.push_back(s);
    s = Setup{"f32 list N8/4 T4 D64 K2 moca clip only", 8, 4, 4, 64, 2, DType::Float32, true};
    s.opt.fusedClip = 0.1;
    s.opt.stdStabilizer = StdStabilizer::Floor;
    c.push_back(s);
  }
  // per-step rewards [N, T, K]: eq. 2 and the fusion per step, e per sample
  {
    Setup s{"f32 tensor N12/4 T5 D300 K3 moca per-step rewards", 12, 4, 5, 300, 3};
    s.rewardSteps = 5;
    c.push_back(s);
    s = Setup{"bf16 list N13/ids T4 D200 K2 w-reward batch std per-step rewards, f64", 13, 4, 4, 200, 2, DType::BFloat16, true};
    s.byIds = true;
    s.rewF64 = true;
    s.rewardSteps = 4;
    s.opt.objective = Objective::WeightedReward;
    s.opt.stdScope = StdScope::Batch;
    s.weights = {1, -0.5};
    c.push_back(s);
    s = Setup{"f32 tensor N8/4 T6 D64 K4 w-adv fused batch clip per-step rewards (G2RPO-like)", 8, 4, 6, 64, 4};
    s.rewardSteps = 6;
    s.opt.objective = Objective::WeightedAdvantage;
    s.opt.fusedNormalization = FusedNormalization::Batch;
    s.opt.fusedClip = 1.5;
    c.push_back(s);
    s = Setup{"f16 list N9/ids T3 D50 K1 min-norm fused group per-step rewards", 9, 3, 3, 50, 1, DType::Float16, true};
    s.byIds = true;
    s.rewardSteps = 3;
    s.opt.objective = Objective::MinNorm;
    s.opt.fusedNormalization = FusedNormalization::Group;
    c.push_back(s);
  }
  if (!quick) {
    {
      Setup s{"f32 tensor N300/300 T2 D64 K2 fused batch (a group past the shared-memory staging)", 300, 300, 2, 64, 2};
      s.opt.fusedNormalization = FusedNormalization::Batch;
      c.push_back(s);
    }
    c.push_back({"f32 tensor N300/300 T2 D64 K4 (a group past the shared-memory staging)", 300, 300, 2, 64, 4});
    c.push_back({"bf16 list N2/2 T300 D24 K2 (a long trajectory)", 2, 2, 300, 24, 2, DType::BFloat16, true});
    c.push_back({"bf16 tensor N2/2 T3 D17000+3 K3 (several chunks, a ragged tail)", 2, 2, 3, 17003, 3, DType::BFloat16});
  }
  (void)o;
  if (scope == Scope::Small) {
    std::vector<Setup> small;
    for (const Setup& x : c)
      if (x.N * (x.T + 1) * x.D <= 40000) small.push_back(x);
    return small;
  }
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string arg = argc > 1 ? argv[1] : "";
  const Scope scope = arg == "--quick" ? Scope::Quick : arg == "--small" ? Scope::Small : Scope::Full;
  const gpu::Status st = gpu::status();
  expect(st.usable, "the emulated device is usable");
  g_ctx = gpu::context_create(0);
  uint64_t seed = 1;
  for (const Setup& s : cases(scope)) {
    for (const Kernel& kernel : kernels(scope)) {
      const int before = g_failures;
      try {
        check_case(s, kernel, seed);
      } catch (const std::exception& e) {
        expect(false, label(s, kernel) + ": threw " + e.what());
      }
      std::printf("%-4s %s\n", g_failures == before ? "ok" : "FAIL", label(s, kernel).c_str());
      std::fflush(stdout);
    }
    ++seed;
  }
  const int before = g_failures;
  check_errors(scope);
  std::printf("%-4s non-finite inputs: the CPU backend's messages, every kernel and dtype\n",
              g_failures == before ? "ok" : "FAIL");
  gpu::context_destroy(g_ctx);
  std::printf("%s: %d checks, %d failed\n", g_failures ? "FAILED" : "PASSED", g_checks, g_failures);
  return g_failures ? 1 : 0;
}
