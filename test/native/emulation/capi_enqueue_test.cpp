// The C ABI's CUDA paths on the CPU emulation of CUDA (no GPU): libotca's own code (csrc/capi, the
// enqueue mode of csrc/cuda/gpu_runtime.cu, the kernels of advantage_step.cuh and enqueue.cuh) over
// the emulated runtime, through the public header only.
//   - otca_run_cuda with a caller's workspace (filled with garbage first) and status word gives the
//     bits of the synchronous otca_run on the same CUDA plan, for the whole step and both phases,
//     every latent dtype, both layouts, groups by size and by a device group index, more than 64
//     states (one array or a list) and more than 16 objectives (the upload kernel);
//     a second run in the same workspace gives the same bits;
//   - a non-finite latent, a bad reward or a bad trajectory score: every requested output NaN, and
//     otca_check_status returns the synchronous path's status and message (and the CPU plan's);
//   - the enqueue mode's refusals: a small workspace, host group ids, no status word;
//     otca_check_status of a run never enqueued.
// Built under AddressSanitizer + UBSan (otca_emulated_capi): device allocations are host blocks of
// exactly the asked size, so an access past the caller's workspace shows.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "../../../csrc/capi/otca.h"
#include "cuda_runtime.h"  // the emulation's: cudaMalloc gives host memory the kernels run on

namespace {

int g_checks = 0, g_failures = 0;

void expect(bool ok, const std::string& what) {
  ++g_checks;
  if (ok) return;
  ++g_failures;
  std::printf("FAIL %s\n", what.c_str());
}

struct Device {
  void* p = nullptr;
  size_t bytes = 0;
  explicit Device(size_t n) : bytes(n) { cudaMalloc(&p, n); }
  ~Device() { cudaFree(p); }
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;
  template <class T>
  T* as() const { return static_cast<T*>(p); }
};

uint16_t to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
uint16_t to_f16(float f) {  // normal-range values only
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const uint32_t sign = (u >> 16) & 0x8000u;
  const int32_t e = static_cast<int32_t>((u >> 23) & 0xff) - 127 + 15;
  if (e <= 0) return static_cast<uint16_t>(sign);
  uint32_t h = sign | (static_cast<uint32_t>(e) << 10) | ((u & 0x7fffffu) >> 13);
  const uint32_t rest = u & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
  return static_cast<uint16_t>(h);
}

struct Case {
  std::string name;
  int64_t N, G, T, D, K;
  int dtype = OTCA_FLOAT32;
  bool list = false, byIds = false, f64Rewards = false;
  int kind = OTCA_KIND_ADVANTAGES;
  std::vector<double> weights{};
};

int64_t output_size(const Case& c, int k) {
  const int64_t N = c.N, T = c.T, K = c.K;
  const int64_t n[OTCA_OUTPUT_COUNT] = {N * (T + 1), N * T, N * T, N * T, N, N * K, N, N, N * K, N, N * T};
  return n[k];
}

bool made_by(int kind, int k) {
  return kind == OTCA_KIND_ADVANTAGES || (kind == OTCA_KIND_TRAJECTORY && k <= OTCA_OUT_TRAJECTORY_SCORE) ||
         (kind == OTCA_KIND_OBJECTIVE && k > OTCA_OUT_TRAJECTORY_SCORE && k < OTCA_OUT_ADVANTAGES);
}

// A case's inputs in (emulated) device memory, and its outputs.
struct Inputs {
  const Case& c;
  size_t esize;
  std::vector<std::unique_ptr<Device>> states;  // the list layout
  std::unique_ptr<Device> array, rewards, q, index;
  std::vector<const void*> statePtrs;
  std::vector<int32_t> ids;
  int64_t groupCount = 0;
  otca_latents lat{};
  otca_rewards rew{};
  otca_groups groups{};

  Inputs(const Case& cs, uint64_t seed) : c(cs), esize(cs.dtype == OTCA_FLOAT32 ? 4 : 2) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(-1, 1);
    const int64_t per = (c.T + 1) * c.D;
    std::vector<char> host(static_cast<size_t>(c.N * per) * esize);
    for (int64_t i = 0; i < c.N; ++i)
      for (int64_t d = 0; d < c.D; ++d) {
        double x = u(rng);
        for (int64_t j = 0; j <= c.T; ++j) {
          x += 0.3 * u(rng);
          const float f = static_cast<float>(std::fabs(x) < 1e-3 ? 1e-3 : x);
          char* at = host.data() + static_cast<size_t>(i * per + j * c.D + d) * esize;
          if (c.dtype == OTCA_FLOAT32) std::memcpy(at, &f, 4);
          else {
            const uint16_t h = c.dtype == OTCA_BFLOAT16 ? to_bf16(f) : to_f16(f);
            std::memcpy(at, &h, 2);
          }
        }
      }
    lat.struct_size = sizeof lat;
    lat.dtype = c.dtype;
    lat.N = c.N;
    lat.T = c.T;
    lat.D = c.D;
    if (c.list) {
      for (int64_t j = 0; j <= c.T; ++j) {
        states.push_back(std::make_unique<Device>(static_cast<size_t>(c.N * c.D) * esize));
        for (int64_t i = 0; i < c.N; ++i)
          std::memcpy(states.back()->as<char>() + static_cast<size_t>(i * c.D) * esize,
                      host.data() + static_cast<size_t>(i * per + j * c.D) * esize, static_cast<size_t>(c.D) * esize);
        statePtrs.push_back(states.back()->p);
      }
      lat.states = statePtrs.data();
    } else {
      array = std::make_unique<Device>(host.size());
      std::memcpy(array->p, host.data(), host.size());
      lat.data = array->p;
    }
    rewards = std::make_unique<Device>(static_cast<size_t>(c.N * c.K) * 8);
    for (int64_t x = 0; x < c.N * c.K; ++x) {
      const double v = x % 7 == 3 ? 0.5 : u(rng) * 2;
      if (c.f64Rewards) rewards->as<double>()[x] = v;
      else rewards->as<float>()[x] = static_cast<float>(v);
    }
    rew.struct_size = sizeof rew;
    rew.dtype = c.f64Rewards ? OTCA_FLOAT64 : OTCA_FLOAT32;
    rew.N = c.N;
    rew.K = c.K;
    rew.data = rewards->p;
    q = std::make_unique<Device>(static_cast<size_t>(c.N) * 4);
    for (int64_t i = 0; i < c.N; ++i) q->as<float>()[i] = static_cast<float>(0.9 * u(rng));
    groups.struct_size = sizeof groups;
    if (c.byIds) {
      for (int64_t i = 0; i < c.N; ++i) ids.push_back(static_cast<int32_t>(5 * ((i * 7) % c.G) + 2));
      std::vector<int64_t> block(static_cast<size_t>(3 * c.N + 1));
      expect(otca_group_index(ids.data(), c.N, block.data(), &groupCount) == OTCA_OK, c.name + ": otca_group_index");
      index = std::make_unique<Device>(block.size() * 8);
      std::memcpy(index->p, block.data(), block.size() * 8);
      groups.index = index->as<int64_t>();
      groups.group_count = groupCount;
    } else {
      groups.group_size = c.N / c.G;
      groupCount = c.G;
    }
  }
  const otca_latents* latents() const { return c.kind == OTCA_KIND_OBJECTIVE ? nullptr : &lat; }
  const otca_rewards* rewards_arg() const { return c.kind == OTCA_KIND_TRAJECTORY ? nullptr : &rew; }
  const otca_groups* groups_arg() const { return c.kind == OTCA_KIND_TRAJECTORY ? nullptr : &groups; }
  const float* q_arg() const { return c.kind == OTCA_KIND_OBJECTIVE ? q->as<float>() : nullptr; }
  // element (i, j, d) of the latents, wherever it lives
  char* latent(int64_t i, int64_t j, int64_t d) const {
    if (c.list) return static_cast<char*>(states[static_cast<size_t>(j)]->p) + static_cast<size_t>(i * c.D + d) * esize;
    return array->as<char>() + static_cast<size_t>(i * (c.T + 1) * c.D + j * c.D + d) * esize;
  }
};

struct Outs {
  std::vector<std::unique_ptr<Device>> v;
  otca_outputs o{};
  Outs(const Case& c) {
    o.struct_size = sizeof o;
    for (int k = 0; k < OTCA_OUTPUT_COUNT; ++k) {
      v.push_back(std::make_unique<Device>(static_cast<size_t>(output_size(c, k)) * 4));
      float* p = v.back()->as<float>();
      for (int64_t x = 0; x < output_size(c, k); ++x) p[x] = -7.0f;  // a value no run writes
      o.data[k] = made_by(c.kind, k) ? p : nullptr;
    }
  }
  bool same(const Outs& b, const Case& c, int k) const {
    return std::memcmp(v[k]->p, b.v[k]->p, static_cast<size_t>(output_size(c, k)) * 4) == 0;
  }
  bool all_nan(const Case& c, int k) const {
    const float* p = v[k]->as<float>();
    for (int64_t x = 0; x < output_size(c, k); ++x)
      if (!std::isnan(p[x])) return false;
    return true;
  }
};

otca_plan* make_plan(const Case& c, int device) {
  otca_options* o = nullptr;
  otca_options_create(&o);
  if (!c.weights.empty()) otca_options_set_factors(o, "objectiveWeights", c.weights.data(), static_cast<int64_t>(c.weights.size()));
  otca_plan* plan = nullptr;
  const otca_status st = otca_plan_create(o, device, &plan);
  expect(st == OTCA_OK, c.name + ": plan on device " + std::to_string(device) + ": " + otca_last_error());
  otca_options_destroy(o);
  return plan;
}

struct Enqueued {
  std::unique_ptr<Device> workspace, status;
};

// Enqueues `in` on `plan` into `out` with a fresh workspace full of garbage (or `reuse`).
otca_status enqueue(otca_plan* plan, const Inputs& in, Outs& out, Enqueued& e, size_t shrink = 0) {
  const Case& c = in.c;
  size_t bytes = 0;
  if (!e.workspace) {
    const otca_status st = otca_workspace_size(plan, c.kind, c.N, c.T, c.D, c.K, in.groupCount, &bytes);
    expect(st == OTCA_OK && bytes > 0, c.name + ": otca_workspace_size");
    e.workspace = std::make_unique<Device>(bytes - shrink);
    std::memset(e.workspace->p, 0x5a, e.workspace->bytes);  // counters and flags as a caller's block holds them
    e.status = std::make_unique<Device>(OTCA_STATUS_BYTES);
    std::memset(e.status->p, 0x33, OTCA_STATUS_BYTES);
  }
  return otca_run_cuda(plan, c.kind, in.latents(), in.rewards_arg(), in.q_arg(), in.groups_arg(), &out.o,
                       e.workspace->p, e.workspace->bytes, e.status->p, nullptr);
}

void check_case(const Case& c, uint64_t seed) {
  otca_plan* gpu = make_plan(c, 0);
  Inputs in(c, seed);
  Outs sync(c), queued(c), again(c);
  otca_status st = otca_run(gpu, c.kind, in.latents(), in.rewards_arg(), in.q_arg(), in.groups_arg(), &sync.o);
  expect(st == OTCA_OK, c.name + ": the synchronous run: " + otca_last_error());
  Enqueued e;
  st = enqueue(gpu, in, queued, e);
  expect(st == OTCA_OK, c.name + ": otca_run_cuda: " + otca_last_error());
  expect(otca_check_status(gpu, c.kind, in.latents(), in.rewards_arg(), in.q_arg(), e.status->p, nullptr) == OTCA_OK,
         c.name + ": otca_check_status of a good run");
  st = enqueue(gpu, in, again, e);  // the same workspace and status word again
  expect(st == OTCA_OK, c.name + ": a second otca_run_cuda in one workspace");
  for (int k = 0; k < OTCA_OUTPUT_COUNT; ++k) {
    if (!made_by(c.kind, k)) continue;
    const std::string what = c.name + ": " + otca_output_name(k);
    expect(queued.same(sync, c, k), what + ": the enqueued run differs from the synchronous one");
    expect(again.same(sync, c, k), what + ": a second enqueued run in the same workspace differs");
    expect(!sync.all_nan(c, k), what + ": written");
  }
  otca_plan_destroy(gpu);
}

// A bad input: the enqueued run's outputs all NaN and its status the synchronous path's error.
void check_bad(const Case& c, const std::string& what, const std::function<void(Inputs&)>& spoil) {
  otca_plan* gpu = make_plan(c, 0);
  otca_plan* cpu = make_plan(c, -1);
  Inputs in(c, 99);
  spoil(in);
  Outs sync(c), queued(c);
  const otca_status want = otca_run(gpu, c.kind, in.latents(), in.rewards_arg(), in.q_arg(), in.groups_arg(), &sync.o);
  const std::string message = otca_last_error(), argument = otca_last_error_argument();
  expect(want == OTCA_E_RANGE, c.name + ": " + what + ": the synchronous run refuses it");
  // the CPU plan on host copies says the same (the emulated device memory is host memory)
  Outs host(c);
  const otca_status cpuStatus =
      otca_run(cpu, c.kind, in.latents(), in.rewards_arg(), in.q_arg(), in.groups_arg(), &host.o);
  expect(cpuStatus == want && message == otca_last_error(),
         c.name + ": " + what + ": the CPU plan says \"" + otca_last_error() + "\", the CUDA plan \"" + message + "\"");
  Enqueued e;
  expect(enqueue(gpu, in, queued, e) == OTCA_OK, c.name + ": " + what + ": otca_run_cuda enqueues it (values are not read)");
  for (int k = 0; k < OTCA_OUTPUT_COUNT; ++k)
    if (made_by(c.kind, k))
      expect(queued.all_nan(c, k), c.name + ": " + what + ": " + otca_output_name(k) + " is not all NaN");
  const otca_status got = otca_check_status(gpu, c.kind, in.latents(), in.rewards_arg(), in.q_arg(), e.status->p, nullptr);
  expect(got == want && message == otca_last_error() && argument == otca_last_error_argument(),
         c.name + ": " + what + ": otca_check_status says \"" + otca_last_error() + "\" instead of \"" + message + "\"");
  otca_plan_destroy(cpu);
  otca_plan_destroy(gpu);
}

void set_latent(const Inputs& in, int64_t i, int64_t j, int64_t d, float v) {
  char* at = in.latent(i, j, d);
  if (in.c.dtype == OTCA_FLOAT32) {
    std::memcpy(at, &v, 4);
  } else {
    const uint16_t h = in.c.dtype == OTCA_BFLOAT16 ? (std::isnan(v) ? 0x7fc0 : v > 0 ? 0x7f80 : 0xff80)
                                                    : (std::isnan(v) ? 0x7e00 : v > 0 ? 0x7c00 : 0xfc00);
    std::memcpy(at, &h, 2);
  }
}

void check_refusals() {
  Case c{"refusals", 8, 2, 3, 300, 2};
  otca_plan* gpu = make_plan(c, 0);
  Inputs in(c, 5);
  Outs out(c);
  Enqueued e;
  expect(enqueue(gpu, in, out, e, 256) == OTCA_E_RANGE && std::string(otca_last_error_argument()) == "workspace",
         "a workspace below otca_workspace_size is refused, naming workspace");
  Enqueued ok;
  expect(enqueue(gpu, in, out, ok) == OTCA_OK, "the size otca_workspace_size gives is enough");
  otca_groups byIds = in.groups;
  std::vector<int32_t> ids(8, 1);
  byIds.group_size = 0;
  byIds.group_ids = ids.data();
  expect(otca_run_cuda(gpu, 0, &in.lat, &in.rew, nullptr, &byIds, &out.o, ok.workspace->p, ok.workspace->bytes,
                       ok.status->p, nullptr) == OTCA_E_TYPE &&
             std::string(otca_last_error_argument()) == "groupIds",
         "host group ids are refused by otca_run_cuda, naming groupIds");
  expect(otca_run_cuda(gpu, 0, &in.lat, &in.rew, nullptr, &in.groups, &out.o, ok.workspace->p, ok.workspace->bytes,
                       nullptr, nullptr) == OTCA_E_RANGE &&
             std::string(otca_last_error_argument()) == "status",
         "no status word is refused, naming status");
  Device fresh(OTCA_STATUS_BYTES);
  std::memset(fresh.p, 0, OTCA_STATUS_BYTES);
  expect(otca_check_status(gpu, 0, &in.lat, &in.rew, nullptr, fresh.p, nullptr) == OTCA_E_DEVICE,
         "otca_check_status of a run never enqueued is a device error");
  int device = -1;
  expect(cudaGetDevice(&device) == cudaSuccess && device == 0, "the caller's device stays current");
  otca_plan_destroy(gpu);
}

}  // namespace

int main() {
  otca_backend_info info{};
  info.struct_size = sizeof info;
  expect(otca_backend_info_get(&info) == OTCA_OK && info.cuda_compiled && info.cuda_usable,
         "the emulated device is compiled in and usable");
  std::vector<Case> cases;
  cases.push_back({"f32 array N8/2 T4 D5000", 8, 2, 4, 5000, 3});
  cases.push_back({"bf16 list N6/3 T6 D9000 f64 rewards", 6, 3, 6, 9000, 2, OTCA_BFLOAT16, true, false, true});
  cases.push_back({"f16 array N6/ids T3 D700 ids", 6, 3, 3, 700, 2, OTCA_FLOAT16, false, true});
  cases.push_back({"f32 array N4/2 T70 D64 (state pointers past the 64 inline ones)", 4, 2, 70, 64, 2});
  {
    Case k{"f32 list N4/2 T3 D100 K20 (objective factors past 16)", 4, 2, 3, 100, 20, OTCA_FLOAT32, true};
    for (int x = 0; x < 20; ++x) k.weights.push_back(0.1 * (x + 1));
    cases.push_back(k);
    Case b{"bf16 list N4/2 T300 D40 K40 (a list of 301 states, 80 factors: several uploads)", 4, 2, 300, 40, 40,
           OTCA_BFLOAT16, true};
    for (int x = 0; x < 40; ++x) b.weights.push_back(1.0 + 0.01 * x);
    cases.push_back(b);
  }
  {
    Case t{"trajectory bf16 array N4/2 T5 D300", 4, 2, 5, 300, 1, OTCA_BFLOAT16};
    t.kind = OTCA_KIND_TRAJECTORY;
    cases.push_back(t);
    Case o{"objective N10/ids K3", 10, 4, 1, 8, 3, OTCA_FLOAT32, false, true};
    o.kind = OTCA_KIND_OBJECTIVE;
    cases.push_back(o);
  }
  uint64_t seed = 1;
  for (const Case& c : cases) {
    const int before = g_failures;
    check_case(c, seed++);
    std::printf("%-4s %s\n", g_failures == before ? "ok" : "FAIL", c.name.c_str());
  }
  const int before = g_failures;
  for (int dtype : {OTCA_FLOAT32, OTCA_BFLOAT16, OTCA_FLOAT16}) {
    Case c{"bad inputs dtype " + std::to_string(dtype), 6, 3, 4, 5000, 2, dtype, dtype == OTCA_BFLOAT16};
    check_bad(c, "NaN and Infinity latents", [](Inputs& in) {
      set_latent(in, 4, 2, 4097, NAN);
      set_latent(in, 5, 1, 3, INFINITY);
    });
    check_bad(c, "-Infinity in the final state", [](Inputs& in) { set_latent(in, 2, in.c.T, 0, -INFINITY); });
    check_bad(c, "a NaN reward", [](Inputs& in) { in.rewards->as<float>()[3 * 2 + 1] = NAN; });
  }
  {
    Case c{"bad inputs f64 rewards", 4, 2, 2, 10, 2, OTCA_FLOAT32, false, false, true};
    check_bad(c, "a reward past 1e100", [](Inputs& in) { in.rewards->as<double>()[5] = 1e300; });
    Case o{"bad score", 4, 2, 1, 8, 3};
    o.kind = OTCA_KIND_OBJECTIVE;
    check_bad(o, "a NaN trajectory score", [](Inputs& in) { in.q->as<float>()[1] = NAN; });
    check_bad(o, "a trajectory score past 4", [](Inputs& in) { in.q->as<float>()[2] = 9.0f; });
  }
  std::printf("%-4s non-finite inputs: NaN outputs, otca_check_status's messages\n", g_failures == before ? "ok" : "FAIL");
  const int b2 = g_failures;
  check_refusals();
  std::printf("%-4s the enqueue mode's refusals\n", g_failures == b2 ? "ok" : "FAIL");
  std::printf("%s: %d checks, %d failed\n", g_failures ? "FAILED" : "PASSED", g_checks, g_failures);
  return g_failures ? 1 : 0;
}
