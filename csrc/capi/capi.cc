// The C ABI (otca.h in this folder) over the core: C structs in, the core's plan and backends
// (csrc/core/plan.h) below, the core's messages out. Every entry point catches everything and maps
// it to a status; the run checks are the core's (the addon calls the same ones), plus what only a
// raw pointer needs (null checks, struct sizes, the layout and group-index checks).
#include "otca.h"  // the public header (this folder's)

#include <cstring>
#include <exception>
#include <new>
#include <string>

#include "../core/internal.h"
#include "../core/otca.h"
#include "../core/plan.h"

#ifndef OTCA_VERSION_STRING
#define OTCA_VERSION_STRING "unknown"
#endif

struct otca_options {
  otca::PlanOptions value;
};

struct otca_plan {
  otca::PlanState state;
};

namespace {

using otca::detail::throw_range;

thread_local std::string g_error;
thread_local std::string g_argument;

// A call the object cannot take (OTCA_E_STATE).
struct StateError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void throw_type(const std::string& expected, const std::string& what, const std::string& got) {
  throw otca::TypeError("Expected " + expected + " for " + what + " but received " + got);
}

// The argument a message names: between " for " and " but received ", up to its first space or
// quote ("latents N" -> "latents", "objectiveWeights[2]" stays).
std::string argument_of(const std::string& message) {
  const size_t but = message.find(" but received ");
  if (but == std::string::npos) return "";
  const size_t f = message.rfind(" for ", but);
  if (f == std::string::npos) return "";
  std::string arg = message.substr(f + 5, but - f - 5);
  const size_t cut = arg.find_first_of(" '");
  return cut == std::string::npos ? arg : arg.substr(0, cut);
}

otca_status fail(otca_status code, const char* message) noexcept {
  try {
    g_error = message;
    g_argument = argument_of(g_error);
  } catch (...) {  // no memory for the message itself
    g_error.clear();
    g_argument.clear();
  }
  return code;
}

// Runs `fn` and maps every exception to a status with its message.
template <class Fn>
otca_status guard(Fn&& fn) noexcept {
  try {
    fn();
    return OTCA_OK;
  } catch (const otca::TypeError& e) {
    return fail(OTCA_E_TYPE, e.what());
  } catch (const otca::RangeError& e) {
    return fail(OTCA_E_RANGE, e.what());
  } catch (const otca::DeviceError& e) {
    const bool memory = std::strncmp(e.what(), "cudaErrorMemoryAllocation", 25) == 0;
    return fail(memory ? OTCA_E_NO_MEMORY : OTCA_E_DEVICE, e.what());
  } catch (const StateError& e) {
    return fail(OTCA_E_STATE, e.what());
  } catch (const std::bad_alloc&) {
    return fail(OTCA_E_NO_MEMORY, "Expected enough host memory for otca but received an allocation failure");
  } catch (const std::exception& e) {
    return fail(OTCA_E_INTERNAL, e.what());
  } catch (...) {
    return fail(OTCA_E_INTERNAL, "otca: an unknown exception");
  }
}

// A caller's struct of the version it was built with: the fields its struct_size covers, the rest
// zero. `what` names it in the messages.
template <class S>
S read_struct(const S* given, size_t minimum, const char* what) {
  if (given == nullptr) throw_type("an " + std::string(what) + " struct", what, "null");
  S s;
  std::memset(&s, 0, sizeof s);
  const size_t size = given->struct_size;
  if (size < minimum)
    throw_range("struct_size >= " + std::to_string(minimum) + " (sizeof)", what, std::to_string(size));
  std::memcpy(&s, given, size < sizeof s ? size : sizeof s);
  return s;
}

constexpr int64_t kMaxCount = 9007199254740991LL;  // 2^53 - 1, as the Node package's integers

const char* const kOutputNames[OTCA_OUTPUT_COUNT] = {
    "similarity", "deltaS", "rawWeights", "stepWeights", "trajectoryScore", "objectiveAdvantages",
    "exploration", "lambda", "coefficients", "fused", "advantages"};

static_assert(OTCA_FLOAT32 == static_cast<int>(otca::DType::Float32) &&
                  OTCA_FLOAT64 == static_cast<int>(otca::DType::Float64) &&
                  OTCA_FLOAT16 == static_cast<int>(otca::DType::Float16) &&
                  OTCA_BFLOAT16 == static_cast<int>(otca::DType::BFloat16),
              "dtype codes");
static_assert(OTCA_KIND_ADVANTAGES == static_cast<int>(otca::RunKind::Advantages) &&
                  OTCA_KIND_TRAJECTORY == static_cast<int>(otca::RunKind::Trajectory) &&
                  OTCA_KIND_OBJECTIVE == static_cast<int>(otca::RunKind::Objective),
              "run kinds");
static_assert(OTCA_STATUS_BYTES == otca::gpu::kStatusBytes, "status word");
static_assert(OTCA_OPTION_ENUM == static_cast<int>(otca::OptionKind::Enum) &&
                  OTCA_OPTION_NUMBER == static_cast<int>(otca::OptionKind::Number) &&
                  OTCA_OPTION_FACTORS == static_cast<int>(otca::OptionKind::Factors),
              "option kinds");

// A run's arguments, checked, as the core takes them.
struct Run {
  otca::RunKind kind = otca::RunKind::Advantages;
  int64_t N = 0, T = 0, K = 0;
  otca::Latents lat;
  const void* latentBase = nullptr;  // one [N, T+1, D] array (lat.states null)
  otca::Rewards rew;
  const float* q = nullptr;
  otca::GroupsArg groups;
  bool groupIndex = false;  // groups.index given
  otca::AllOutputs out;
};

otca::PlanState& plan_of(otca_plan* plan) {
  if (plan == nullptr) throw StateError("Expected a plan (otca_plan_create) for plan but received null");
  return plan->state;
}

otca::RunKind kind_of(int32_t kind) {
  otca::check_integer(kind, 0, 2, "kind");
  return static_cast<otca::RunKind>(kind);
}

void read_latents(Run& r, const otca_latents* given) {
  const otca_latents l = read_struct(given, sizeof(otca_latents), "latents");
  if (l.dtype == OTCA_FLOAT64) throw_type("float32, float16 or bfloat16", "latents dtype", "float64");
  otca::check_integer(l.dtype, 0, 3, "latents.dtype");
  otca::check_integer(l.N, 1, kMaxCount, "latents N");
  otca::check_integer(l.T, 1, kMaxCount, "latents T");
  otca::check_integer(l.D, 1, kMaxCount, "latents D");
  const otca::DType dt = static_cast<otca::DType>(l.dtype);
  otca::check_latent_count(l.N, l.T, l.D, otca::dtype_size(dt));
  if ((l.data == nullptr) == (l.states == nullptr))
    throw_type("exactly one of data and states", "latents", l.data ? "both" : "neither");
  const int64_t minStride = l.data ? (l.T + 1) * l.D : l.D;
  const int64_t stride = l.sample_stride == 0 ? minStride : l.sample_stride;
  if (stride < minStride || otca::checked_mul(l.N, stride) < 0 ||
      otca::checked_mul(otca::checked_mul(l.N, stride), static_cast<int64_t>(otca::dtype_size(dt))) < 0)
    throw_range("0 or an integer >= " + std::to_string(minStride), "latents.sample_stride", std::to_string(l.sample_stride));
  if (l.states) {
    for (int64_t j = 0; j <= l.T; ++j)
      if (l.states[j] == nullptr) throw_type("a pointer", "latents[" + std::to_string(j) + "]", "null");
  }
  r.lat.dtype = dt;
  r.lat.N = l.N;
  r.lat.T = l.T;
  r.lat.D = l.D;
  r.lat.states = l.states;
  r.lat.sampleStride = stride;
  r.latentBase = l.data;
}

void read_rewards(Run& r, const otca_rewards* given, const otca::PlanState& plan) {
  const otca_rewards w = read_struct(given, sizeof(otca_rewards), "rewards");
  if (w.dtype != OTCA_FLOAT32 && w.dtype != OTCA_FLOAT64) {
    otca::check_integer(w.dtype, 0, 3, "rewards.dtype");
    throw_type("float32 or float64", "rewards dtype", otca::dtype_name(static_cast<otca::DType>(w.dtype)));
  }
  otca::check_integer(w.N, 1, kMaxCount, "rewards N");
  otca::check_integer(w.T, 0, kMaxCount, "rewards T");  // 0: [N, K]; T: per-step [N, T, K], as the addon's rewardSteps
  otca::check_integer(w.K, 1, kMaxCount, "rewards K");
  r.rew.T = w.T;
  otca::check_reward_count(w.N, otca::reward_rows(r.rew), w.K);
  if (w.data == nullptr) throw_type("a pointer", "rewards", "null");
  otca::check_factor_lengths(plan.options, w.K);
  r.rew.dtype = static_cast<otca::DType>(w.dtype);
  r.rew.N = w.N;
  r.rew.K = w.K;
  r.rew.data = w.data;
}

// A host group index: offsets from 0 to N, ascending; members a permutation walk of [0, N) that
// groupOf inverts. O(N), so that a bad block never makes the CPU backend read out of bounds.
void check_host_index(const otca::Groups& g, int64_t N) {
  const int64_t B = g.count;
  if (g.offsets[0] != 0 || g.offsets[B] != N)
    throw_range("a group index of N (" + std::to_string(N) + ") samples (otca_group_index)", "groups.index", "another block");
  for (int64_t b = 0; b < B; ++b) {
    if (g.offsets[b + 1] <= g.offsets[b])
      throw_range("a group index with non-empty groups (otca_group_index)", "groups.index", "an empty group " + std::to_string(b));
    for (int64_t m = g.offsets[b]; m < g.offsets[b + 1]; ++m) {
      const int64_t i = g.members[m];
      if (i < 0 || i >= N || g.groupOf[i] != b || (m > g.offsets[b] && i <= g.members[m - 1]))
        throw_range("a group index (otca_group_index)", "groups.index", "a bad member at " + std::to_string(m));
    }
  }
}

void read_groups(Run& r, const otca_groups* given, bool device) {
  const otca_groups g = read_struct(given, sizeof(otca_groups), "groups");
  const int given_ = (g.group_size != 0) + (g.group_ids != nullptr) + (g.index != nullptr);
  if (given_ != 1)
    throw_type("exactly one of group_size, group_ids and index", "groups", given_ ? "several" : "none");
  const int64_t N = r.rew.N;
  if (g.group_size != 0) {
    otca::check_group_size(g.group_size, N);
    r.groups.size = g.group_size;
  } else if (g.group_ids != nullptr) {
    if (device)
      throw_type("group_size or a device group index (otca_group_index)", "groupIds", "host group ids");
    otca::check_group_ids(g.group_ids, N);
    r.groups.ids = g.group_ids;
  } else {
    otca::check_integer(g.group_count, 1, N, "groupCount");
    otca::Groups& x = r.groups.index;
    x.count = g.group_count;
    x.size = 0;
    x.offsets = g.index;
    x.members = g.index + g.group_count + 1;
    x.groupOf = x.members + N;
    r.groupIndex = true;
  }
}

void read_outputs(Run& r, const otca_outputs* given) {
  const otca_outputs o = read_struct(given, offsetof(otca_outputs, data), "outputs");
  for (int k = 0; k < OTCA_OUTPUT_COUNT; ++k) {
    const bool phase1 = k <= OTCA_OUT_TRAJECTORY_SCORE, phase2 = k > OTCA_OUT_TRAJECTORY_SCORE && k < OTCA_OUT_ADVANTAGES;
    const bool made = r.kind == otca::RunKind::Advantages ||
                      (r.kind == otca::RunKind::Trajectory && phase1) || (r.kind == otca::RunKind::Objective && phase2);
    if (o.data[k] != nullptr && !made) {
      const char* run = r.kind == otca::RunKind::Trajectory ? "a trajectory run" : "an objective run";
      throw_range(std::string("null (") + run + " does not compute it)", (std::string("outputs.") + kOutputNames[k]).c_str(),
                  "a pointer");
    }
  }
  float* const* p = o.data;
  r.out.trajectory = {p[0], p[1], p[2], p[3], p[4]};
  r.out.objective = {p[5], p[6], p[7], p[8], p[9]};
  r.out.advantages = p[10];
}

Run read_run(const otca::PlanState& plan, int32_t kind, const otca_latents* latents, const otca_rewards* rewards,
             const float* q, const otca_groups* groups, const otca_outputs* outputs, bool device) {
  Run r;
  r.kind = kind_of(kind);
  if (r.kind != otca::RunKind::Objective) read_latents(r, latents);
  if (r.kind != otca::RunKind::Trajectory) {
    read_rewards(r, rewards, plan);
    if (r.kind == otca::RunKind::Advantages) otca::check_same_rows(r.lat.N, r.rew.N);
    if (r.kind == otca::RunKind::Advantages && r.rew.T != 0 && r.rew.T != r.lat.T)  // the addon's words
      throw_range(std::to_string(r.lat.T) + " steps (as latents)", "rewards", std::to_string(r.rew.T));
    read_groups(r, groups, device);
    if (r.kind == otca::RunKind::Objective) {
      if (q == nullptr) throw_type("a pointer", "trajectoryScore", "null");
      r.q = q;
    }
  }
  read_outputs(r, outputs);
  return r;
}

// A CUDA plan's synchronous run (otca_run): device pointers, the plan's own context, host group
// ids copied through the context's staging block; returns when the outputs are written.
void run_cuda_sync(otca::PlanState& plan, Run& r) {
  auto slot = plan.Take();
  otca::gpu::Context& ctx = *slot->gpu;
  if (r.kind != otca::RunKind::Objective && r.lat.states == nullptr) {
    const size_t esize = otca::dtype_size(r.lat.dtype);
    slot->states.resize(static_cast<size_t>(r.lat.T + 1));
    for (int64_t j = 0; j <= r.lat.T; ++j)
      slot->states[static_cast<size_t>(j)] = static_cast<const char*>(r.latentBase) + static_cast<size_t>(j * r.lat.D) * esize;
    r.lat.states = slot->states.data();
  }
  otca::Groups g;
  if (r.kind != otca::RunKind::Trajectory) {
    const int64_t N = r.rew.N;
    if (r.groups.size > 0) {
      g.size = r.groups.size;
      g.count = N / g.size;
    } else if (r.groups.ids != nullptr) {
      g = slot->groups.build(r.groups.ids, N);
      const size_t bytes = slot->groups.arrays.size() * sizeof(int64_t);
      int64_t* d = static_cast<int64_t*>(otca::gpu::context_staging(ctx, bytes));
      otca::gpu::copy_async(ctx, d, slot->groups.arrays.data(), bytes, 0);
      g.offsets = d;
      g.members = d + g.count + 1;
      g.groupOf = g.members + N;
    } else {
      g = r.groups.index;
    }
  }
  const otca::Options& opt = plan.options.options;
  const otca::ObjectiveFactors f = plan.options.factors();
  switch (r.kind) {
    case otca::RunKind::Advantages: otca::gpu::advantages(ctx, r.lat, r.rew, g, opt, f, r.out); break;
    case otca::RunKind::Trajectory: otca::gpu::trajectory_credit(ctx, r.lat, opt, r.out.trajectory); break;
    case otca::RunKind::Objective: otca::gpu::objective_credit(ctx, r.rew, r.q, g, opt, f, r.out.objective); break;
  }
}

otca::PlanState& cuda_plan_of(otca_plan* plan, const char* call) {
  otca::PlanState& p = plan_of(plan);
  if (p.device < 0) throw StateError(std::string("Expected a CUDA plan (") + call + ") for plan but received a CPU plan");
  return p;
}

}  // namespace

extern "C" {

int32_t otca_abi_version(void) { return OTCA_ABI_VERSION; }

const char* otca_version(void) { return OTCA_VERSION_STRING; }

const char* otca_last_error(void) { return g_error.c_str(); }

const char* otca_last_error_argument(void) { return g_argument.c_str(); }

otca_status otca_options_create(otca_options** out) {
  return guard([&] {
    if (out == nullptr) throw_type("a pointer to an otca_options*", "out", "null");
    *out = nullptr;
    *out = new otca_options();
  });
}

void otca_options_destroy(otca_options* options) { delete options; }

otca_status otca_options_set_enum(otca_options* options, const char* name, const char* value) {
  return guard([&] {
    if (options == nullptr) throw StateError("Expected options (otca_options_create) for options but received null");
    options->value.set_enum(name, value);
  });
}

otca_status otca_options_set_number(otca_options* options, const char* name, double value) {
  return guard([&] {
    if (options == nullptr) throw StateError("Expected options (otca_options_create) for options but received null");
    options->value.set_number(name, value);
  });
}

otca_status otca_options_set_factors(otca_options* options, const char* name, const double* values, int64_t count) {
  return guard([&] {
    if (options == nullptr) throw StateError("Expected options (otca_options_create) for options but received null");
    options->value.set_factors(name, values, count);
  });
}

otca_status otca_option_info(int32_t index, const char** name, int32_t* kind) {
  return guard([&] {
    const otca::OptionInfo* o = otca::option_info(index);
    if (o == nullptr) {
      int count = 0;
      while (otca::option_info(count)) ++count;
      otca::check_integer(index, 0, count - 1, "index");
    }
    if (name) *name = o->name;
    if (kind) *kind = static_cast<int32_t>(o->kind);
  });
}

otca_status otca_plan_create(const otca_options* options, int32_t device, otca_plan** out) {
  return guard([&] {
    if (out == nullptr) throw_type("a pointer to an otca_plan*", "out", "null");
    *out = nullptr;
    otca::check_integer(device, -1, 1023, "device");
    if (device >= 0) {
      const otca::gpu::Status st = otca::gpu::status();
      if (!st.compiled || !st.usable)
        throw otca::DeviceError("Expected a usable CUDA device for device but received cuda:" + std::to_string(device) +
                                " (" + st.reason + ")");
      if (device >= st.deviceCount)
        throw_range("a device index below the device count (" + std::to_string(st.deviceCount) + ")", "device",
                    std::to_string(device));
    }
    auto* plan = new otca_plan();
    try {
      plan->state.device = device;
      if (options) plan->state.options = options->value;
      plan->state.options.check();
    } catch (...) {
      delete plan;
      throw;
    }
    *out = plan;
  });
}

void otca_plan_destroy(otca_plan* plan) { delete plan; }

int32_t otca_plan_device(const otca_plan* plan) { return plan ? plan->state.device : -1; }

otca_status otca_group_index(const int32_t* ids, int64_t N, int64_t* out, int64_t* group_count) {
  return guard([&] {
    otca::check_integer(N, 1, kMaxCount, "N");
    if (out == nullptr) throw_type("a pointer to 3*N + 1 int64", "out", "null");
    if (group_count == nullptr) throw_type("a pointer", "group_count", "null");
    otca::check_group_ids(ids, N);
    otca::GroupIndex index;
    const otca::Groups g = index.build(ids, N);
    std::memcpy(out, index.arrays.data(), index.arrays.size() * sizeof(int64_t));
    *group_count = g.count;
  });
}

const char* otca_output_name(int32_t index) {
  return index >= 0 && index < OTCA_OUTPUT_COUNT ? kOutputNames[index] : nullptr;
}

otca_status otca_run(otca_plan* plan, int32_t kind, const otca_latents* latents, const otca_rewards* rewards,
                     const float* q, const otca_groups* groups, const otca_outputs* outputs) {
  return guard([&] {
    otca::PlanState& p = plan_of(plan);
    Run r = read_run(p, kind, latents, rewards, q, groups, outputs, false);
    if (p.device >= 0) {
      run_cuda_sync(p, r);
      return;
    }
    if (r.groupIndex) check_host_index(r.groups.index, r.rew.N);
    otca::run_cpu(p, r.kind, r.lat, r.latentBase, r.rew, r.q, r.groups, r.out);
  });
}

otca_status otca_workspace_size(const otca_plan* plan, int32_t kind, int64_t N, int64_t T, int64_t D, int64_t K,
                                int64_t num_groups, size_t* bytes) {
  return guard([&] {
    if (plan == nullptr) throw StateError("Expected a plan (otca_plan_create) for plan but received null");
    if (bytes == nullptr) throw_type("a pointer", "bytes", "null");
    const otca::RunKind k = kind_of(kind);
    otca::check_integer(N, 1, kMaxCount, "N");
    if (k != otca::RunKind::Objective) {
      otca::check_integer(T, 1, kMaxCount, "T");
      otca::check_integer(D, 1, kMaxCount, "D");
      otca::check_latent_count(N, T, D, 4);
    } else {
      otca::check_integer(T, 0, kMaxCount, "T");  // the rewards' T: 0 for one reward row per sample
    }
    // phase 2's rows per sample: the whole step sizes for per-step rewards (T rows, the most it can
    // be given), so one size holds for [N, K] and [N, T, K] rewards; an objective run for its rewards' T
    const int64_t rows = k == otca::RunKind::Trajectory ? 1 : T > 0 ? T : 1;
    if (k != otca::RunKind::Trajectory) {
      otca::check_integer(K, 1, kMaxCount, "K");
      otca::check_reward_count(N, k == otca::RunKind::Objective ? rows : 1, K);  // the run checks its own rewards
      otca::check_integer(num_groups, 1, N, "num_groups");
    }
    *bytes = otca::gpu::enqueue_workspace_bytes(kind, N, k == otca::RunKind::Objective ? 0 : T, D,
                                                k == otca::RunKind::Trajectory ? 0 : K,
                                                k == otca::RunKind::Trajectory ? 0 : num_groups, rows);
  });
}

otca_status otca_run_cuda(otca_plan* plan, int32_t kind, const otca_latents* latents, const otca_rewards* rewards,
                          const float* q, const otca_groups* groups, const otca_outputs* outputs, void* workspace,
                          size_t workspace_bytes, void* status, void* stream) {
  return guard([&] {
    otca::PlanState& p = cuda_plan_of(plan, "otca_run_cuda");
    const Run r = read_run(p, kind, latents, rewards, q, groups, outputs, true);
    otca::Groups g;
    if (r.kind != otca::RunKind::Trajectory) {
      if (r.groups.size > 0) {
        g.size = r.groups.size;
        g.count = r.rew.N / g.size;
      } else {
        g = r.groups.index;
      }
    }
    otca::gpu::enqueue(p.device, stream, workspace, workspace_bytes, status, kind,
                       r.kind != otca::RunKind::Objective ? &r.lat : nullptr, r.latentBase,
                       r.kind != otca::RunKind::Trajectory ? &r.rew : nullptr, r.q, g, p.options.options,
                       p.options.factors(), r.out);
  });
}

otca_status otca_check_status(otca_plan* plan, int32_t kind, const otca_latents* latents, const otca_rewards* rewards,
                              const float* q, const void* status, void* stream) {
  return guard([&] {
    otca::PlanState& p = cuda_plan_of(plan, "otca_check_status");
    Run r;
    r.kind = kind_of(kind);
    if (r.kind != otca::RunKind::Objective) read_latents(r, latents);
    if (r.kind != otca::RunKind::Trajectory) read_rewards(r, rewards, p);
    if (r.kind == otca::RunKind::Objective && q == nullptr) throw_type("a pointer", "trajectoryScore", "null");
    otca::gpu::check_status(p.device, stream, status, kind, r.kind != otca::RunKind::Objective ? &r.lat : nullptr,
                            r.latentBase, r.kind != otca::RunKind::Trajectory ? &r.rew : nullptr, q);
  });
}

otca_status otca_backend_info_get(otca_backend_info* info) {
  return guard([&] {
    if (info == nullptr) throw_type("a pointer", "info", "null");
    const size_t size = info->struct_size;
    if (size < sizeof(uint32_t)) throw_range("struct_size = sizeof(otca_backend_info)", "info", std::to_string(size));
    static const otca::gpu::Status st = otca::gpu::status();  // its strings live as long as the process
    otca_backend_info v;
    std::memset(&v, 0, sizeof v);
    v.struct_size = static_cast<uint32_t>(size < sizeof v ? size : sizeof v);
    v.cpu_threads = otca::cpu::default_threads();
    v.cuda_compiled = st.compiled;
    v.cuda_usable = st.usable;
    v.cuda_device_count = st.deviceCount;
    v.cuda_driver_version = st.driverVersion;
    v.cuda_runtime_version = st.runtimeVersion;
    v.cuda_reason = st.reason.c_str();
    v.cuda_architectures = st.architectures.c_str();
    std::memcpy(info, &v, v.struct_size);
  });
}

otca_status otca_device_info_get(int32_t device, otca_device_info* info) {
  return guard([&] {
    if (info == nullptr) throw_type("a pointer", "info", "null");
    const size_t size = info->struct_size;
    if (size < sizeof(uint32_t)) throw_range("struct_size = sizeof(otca_device_info)", "info", std::to_string(size));
    otca::check_integer(device, 0, 1023, "device");
    const otca::gpu::DeviceProps p = otca::gpu::properties(device);
    otca_device_info v;
    std::memset(&v, 0, sizeof v);
    v.struct_size = static_cast<uint32_t>(size < sizeof v ? size : sizeof v);
    std::strncpy(v.name, p.name.c_str(), sizeof v.name - 1);
    v.major = p.major;
    v.minor = p.minor;
    v.multiprocessors = p.multiprocessors;
    v.total_memory = static_cast<int64_t>(p.totalMemory);
    v.l2_bytes = static_cast<int64_t>(p.l2Bytes);
    std::memcpy(info, &v, v.struct_size);
  });
}

}  // extern "C"
