// A plan's options by name, the numeric checks of a run, the slot pool, and a CPU run (plan.h).
#include "plan.h"

#include <cstring>
#include <limits>
#include <string>

#include "internal.h"

namespace otca {

using detail::js_number;

// ------------------------------------------------------------------ options by name

namespace {

#define OTCA_ENUM_INFO(field, E) {EnumNames<E>::kOption, OptionKind::Enum},
#define OTCA_NUMBER_INFO(field) {#field, OptionKind::Number},
#define OTCA_FACTORS_INFO(name) {#name, OptionKind::Factors},
constexpr OptionInfo kOptions[] = {OTCA_NATIVE_OPTIONS(OTCA_ENUM_INFO, OTCA_NUMBER_INFO, OTCA_FACTORS_INFO)};
#undef OTCA_ENUM_INFO
#undef OTCA_NUMBER_INFO
#undef OTCA_FACTORS_INFO
constexpr int kOptionCount = static_cast<int>(sizeof(kOptions) / sizeof(kOptions[0]));

[[noreturn]] void type_error(const std::string& expected, const char* option, const std::string& got) {
  throw TypeError("Expected " + expected + " for " + option + " but received " + got);
}

// What a setter of another kind expects, as the messages say it.
std::string expectation(const OptionInfo& o) {
  switch (o.kind) {
    case OptionKind::Enum: return enum_choices(o.name);
    case OptionKind::Number: return "number";
    case OptionKind::Factors: return "an array of K numbers";
  }
  return "a value";
}

// The option `name` set by a setter of `kind`, or the error an unknown name or another kind gets.
const OptionInfo& option_for(const char* name, OptionKind kind, const std::string& got) {
  const OptionInfo* o = name ? find_option(name) : nullptr;
  if (o == nullptr) {
    std::string names;
    for (int k = 0; k < kOptionCount; ++k) names += std::string(k ? ", " : "") + kOptions[k].name;
    detail::throw_range("an option name (one of " + names + ")", "options",
                        name ? "\"" + std::string(name) + "\"" : "null");
  }
  if (o->kind != kind) type_error(expectation(*o), o->name, got);
  return *o;
}

template <class E>
bool set_enum_field(E& field, const char* name, const char* value) {
  if (std::strcmp(name, EnumNames<E>::kOption) != 0) return false;
  E v;
  if (value == nullptr) type_error(enum_choices(name), name, "null");
  if (!enum_from_name(value, &v)) detail::throw_range(enum_choices(name), name, "'" + std::string(value) + "'");
  field = v;
  return true;
}

// An integer option from a double: integral and in int32's range, else its own expectation.
void assign(int32_t& field, double value, const char* name) {
  if (!(value >= -2147483648.0 && value <= 2147483647.0) || static_cast<double>(static_cast<int32_t>(value)) != value) {
    const char* expected = std::strcmp(name, "stdCorrection") == 0 ? "0 or 1" : "integer in [0, 4096]";
    detail::throw_range(expected, name, js_number(value));
  }
  field = static_cast<int32_t>(value);
}
void assign(double& field, double value, const char*) { field = value; }

}  // namespace

const OptionInfo* option_info(int index) { return index >= 0 && index < kOptionCount ? &kOptions[index] : nullptr; }

const OptionInfo* find_option(const char* name) {
  for (const OptionInfo& o : kOptions)
    if (std::strcmp(o.name, name) == 0) return &o;
  return nullptr;
}

std::string enum_choices(const char* option) {
  std::string names;
  const auto add = [&](auto tag) {
    using Names = EnumNames<decltype(tag)>;
    if (std::strcmp(Names::kOption, option) != 0) return;
    for (int k = 0; k < Names::kCount; ++k) names += std::string(k ? ", '" : "'") + Names::kNames[k] + "'";
  };
#define OTCA_ENUM_CHOICES(field, E) add(E{});
#define OTCA_SKIP(...)
  OTCA_NATIVE_OPTIONS(OTCA_ENUM_CHOICES, OTCA_SKIP, OTCA_SKIP)
#undef OTCA_ENUM_CHOICES
  return "one of " + names;
}

void PlanOptions::set_enum(const char* name, const char* value) {
  const OptionInfo& o = option_for(name, OptionKind::Enum, "string");
  Options next = options;
#define OTCA_SET_ENUM(field, E) if (set_enum_field(next.field, o.name, value)) {}
  OTCA_NATIVE_OPTIONS(OTCA_SET_ENUM, OTCA_SKIP, OTCA_SKIP)
#undef OTCA_SET_ENUM
  options = next;
}

void PlanOptions::set_number(const char* name, double value) {
  const OptionInfo& o = option_for(name, OptionKind::Number, js_number(value));
  Options next = options;
#define OTCA_SET_NUMBER(field) if (std::strcmp(o.name, #field) == 0) assign(next.field, value, #field);
  OTCA_NATIVE_OPTIONS(OTCA_SKIP, OTCA_SET_NUMBER, OTCA_SKIP)
#undef OTCA_SET_NUMBER
  check_options(next, ObjectiveFactors{}, 0);  // the others were checked when set: this one fails
  options = next;
}

void PlanOptions::set_factors(const char* name, const double* values, int64_t count) {
  const OptionInfo& o = option_for(name, OptionKind::Factors, "an array of numbers");
  const bool weights = std::strcmp(o.name, "objectiveWeights") == 0;
  std::vector<double>& target = weights ? this->weights : scale;
  if (values == nullptr) {
    if (count != 0) detail::throw_range("0 values with no array", o.name, std::to_string(count) + " values");
    target.clear();
    return;
  }
  if (count < 1) detail::throw_range("at least 1 value (one per objective)", o.name, std::to_string(count));
  ObjectiveFactors f;
  (weights ? f.weights : f.scale) = values;
  check_options(options, f, count);
  target.assign(values, values + count);
}

void PlanOptions::check() const {
  if (!weights.empty() && !scale.empty() && weights.size() != scale.size())
    throw RangeError("Expected objectiveScale of the length of objectiveWeights (" + std::to_string(weights.size()) +
                     ") for objectiveScale but received length " + std::to_string(scale.size()));
  const int64_t K = static_cast<int64_t>(weights.size() > scale.size() ? weights.size() : scale.size());
  check_options(options, factors(), K);
}
#undef OTCA_SKIP

// ------------------------------------------------------------------ the numeric checks of a run

int64_t checked_mul(int64_t a, int64_t b) {
  if (a < 0 || b < 0) return -1;
  if (a != 0 && b > std::numeric_limits<int64_t>::max() / a) return -1;
  return a * b;
}

void check_integer(int64_t v, int64_t min, int64_t max, const char* arg) {
  if (v < min || v > max)
    detail::throw_range("integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]", arg,
                        std::to_string(v));
}

void check_latent_count(int64_t N, int64_t T, int64_t D, size_t elementBytes) {
  const int64_t nd = checked_mul(N, D);
  const int64_t per = T < std::numeric_limits<int64_t>::max() ? checked_mul(T + 1, D) : -1;
  const int64_t total = checked_mul(N, per);
  if (nd < 0 || per < 0 || total < 0 || checked_mul(total, static_cast<int64_t>(elementBytes)) < 0)
    detail::throw_range("N*(T+1)*D that fits in memory", "latents",
                        "N=" + std::to_string(N) + ", T=" + std::to_string(T) + ", D=" + std::to_string(D));
}

void check_reward_count(int64_t N, int64_t rows, int64_t K) {
  const int64_t nk = checked_mul(checked_mul(N, rows), K);
  if (nk < 0 || checked_mul(nk, 8) < 0)
    detail::throw_range("N*T*K that fits in memory", "rewards", std::to_string(N) + "x" + std::to_string(K));
}

void check_same_rows(int64_t latentN, int64_t rewardN) {
  if (rewardN != latentN)
    detail::throw_range("N (" + std::to_string(latentN) + ") rows as in latents", "rewards", std::to_string(rewardN));
}

void check_factor_lengths(const PlanOptions& p, int64_t K) {
  for (const auto* arr : {&p.weights, &p.scale}) {
    if (!arr->empty() && static_cast<int64_t>(arr->size()) != K)
      detail::throw_range("length K (" + std::to_string(K) + ")", arr == &p.weights ? "objectiveWeights" : "objectiveScale",
                          "length " + std::to_string(arr->size()));
  }
}

void check_group_size(int64_t groupSize, int64_t N) {
  if (groupSize < 1) detail::throw_range("integer >= 1", "groupSize", std::to_string(groupSize));
  if (N % groupSize != 0)
    detail::throw_range("N (" + std::to_string(N) + ") divisible by groupSize", "groupSize", std::to_string(groupSize));
}

void check_group_ids(const int32_t* ids, int64_t N) {
  if (ids == nullptr) detail::throw_range("a buffer", "groupIds", "none");
  for (int64_t i = 0; i < N; ++i) {
    if (ids[i] < 0)
      detail::throw_range("integers >= 0", "groupIds", std::to_string(ids[i]) + " at sample " + std::to_string(i));
  }
}

// ------------------------------------------------------------------ the slot pool

namespace {
void delete_slot(PlanState::Slot* s) noexcept {
  cpu::workspace_destroy(s->cpu);
  gpu::context_destroy(s->gpu);
  delete s;
}
}  // namespace

PlanState::Lease PlanState::Take() {
  Slot* s = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!idle_.empty()) {
      s = idle_.back();
      idle_.pop_back();
    }
  }
  if (s == nullptr) {
    s = new Slot();
    try {
      if (device < 0) s->cpu = cpu::workspace_create();
      else s->gpu = gpu::context_create(device);
    } catch (...) {
      delete_slot(s);
      throw;
    }
  }
  return Lease(*this, s);
}

void PlanState::Give(Slot* slot) {
  std::lock_guard<std::mutex> lock(mutex_);
  idle_.push_back(slot);
}

PlanState::~PlanState() {
  for (Slot* s : idle_) delete_slot(s);
}

// ------------------------------------------------------------------ a CPU run

void run_cpu(PlanState& plan, RunKind kind, Latents lat, const void* latentBase, const Rewards& rew,
             const float* q, const GroupsArg& groups, const AllOutputs& out) {
  auto slot = plan.Take();
  if (kind != RunKind::Objective && lat.states == nullptr && latentBase != nullptr) {
    const size_t esize = dtype_size(lat.dtype);
    slot->states.resize(static_cast<size_t>(lat.T + 1));
    for (int64_t j = 0; j <= lat.T; ++j)
      slot->states[static_cast<size_t>(j)] = static_cast<const char*>(latentBase) + static_cast<size_t>(j * lat.D) * esize;
    lat.states = slot->states.data();
  }
  Groups g;
  if (kind != RunKind::Trajectory) {
    if (groups.size > 0) {
      g.size = groups.size;
      g.count = rew.N / groups.size;
    } else if (groups.ids != nullptr) {
      g = slot->groups.build(groups.ids, rew.N);
    } else {
      g = groups.index;
    }
  }
  const Options& opt = plan.options.options;
  const ObjectiveFactors f = plan.options.factors();
  switch (kind) {
    case RunKind::Advantages: cpu::advantages(lat, rew, g, opt, f, out, slot->cpu); break;
    case RunKind::Trajectory: cpu::trajectory_credit(lat, opt, out.trajectory, slot->cpu); break;
    case RunKind::Objective: cpu::objective_credit(rew, q, g, opt, f, out.objective, slot->cpu); break;
  }
}

}  // namespace otca
