#include "plan.h"

#include <cmath>
#include <string>

#include "async_task.h"
#include "job.h"

namespace otca_addon {
namespace {

// Random, fixed: marks the plan objects made by this addon (napi_type_tag_object, N-API 8).
constexpr napi_type_tag kPlanTag = {0x6f7463615f706c61ULL, 0x4e1d8c2b7f90a365ULL};

// An enumeration option by name (options.h's tables).
template <class E>
E EnumOption(Napi::Env env, const Napi::Object& o) {
  const char* option = otca::EnumNames<E>::kOption;
  const Napi::Value v = GetOwn(env, o, option);
  std::string names;
  for (int k = 0; k < otca::EnumNames<E>::kCount; ++k)
    names += (k ? ", '" : "'") + std::string(otca::EnumNames<E>::kNames[k]) + "'";
  if (!v.IsString()) ThrowType(env, "one of " + names, option, Describe(v));
  E value;
  if (!otca::enum_from_name(v.As<Napi::String>().Utf8Value().c_str(), &value))
    ThrowRange(env, "one of " + names, option, "'" + v.As<Napi::String>().Utf8Value() + "'");
  return value;
}

double NumberOption(Napi::Env env, const Napi::Object& o, const char* option) {
  const Napi::Value v = GetOwn(env, o, option);
  if (!v.IsNumber()) ThrowType(env, "number", option, Describe(v));
  return v.As<Napi::Number>().DoubleValue();
}

// objectiveWeights / objectiveScale: a Float64Array (copied: it is small), or undefined for all 1.
std::vector<double> FactorOption(Napi::Env env, const Napi::Object& o, const char* option) {
  const Napi::Value v = GetOwn(env, o, option);
  if (v.IsUndefined()) return {};
  const TypedArrayMemory m = TypedArrayOf(env, v, "Float64Array or undefined", option);
  if (m.type != napi_float64_array || m.detached || m.length == 0)
    ThrowType(env, "a live, non-empty Float64Array or undefined", option, "another value");
  const double* p = static_cast<const double*>(m.data);
  return std::vector<double>(p, p + m.length);
}

void DeleteSlot(PlanState::Slot* s) {
  otca::cpu::workspace_destroy(s->cpu);
  otca::gpu::context_destroy(s->gpu);
  delete s;
}

// Runs a Job on the libuv pool (async_task.h: a completion that never throws). The job holds its
// inputs, outputs and plan until it is destroyed, on the JS thread, after the run.
class JobTask : public AsyncTask {
 public:
  JobTask(std::unique_ptr<Job> job, std::shared_ptr<PlanState> plan) : job_(std::move(job)), plan_(std::move(plan)) {}

 protected:
  void Execute() override { job_->Run(); }

 private:
  std::unique_ptr<Job> job_;
  std::shared_ptr<PlanState> plan_;  // the plan's state lives until the run is done, disposed or not
};

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
      if (device < 0) s->cpu = otca::cpu::workspace_create();
      else s->gpu = otca::gpu::context_create(device);
    } catch (...) {
      DeleteSlot(s);
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
  for (Slot* s : idle_) DeleteSlot(s);
}

Napi::Function Plan::Define(Napi::Env env) {
  return DefineClass(env, "NativePlan",
                     {InstanceMethod("run", &Plan::Run), InstanceMethod("dispose", &Plan::Dispose)});
}

// new NativePlan(device, options): options as lib/native.ts NativePlanOptions, every field given.
Plan::Plan(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Plan>(info) {
  Napi::Env env = info.Env();
  info.This().As<Napi::Object>().TypeTag(&kPlanTag);
  const Napi::Value d = info[0];
  if (!d.IsNumber()) ThrowType(env, "integer >= -1", "device", Describe(d));
  const double device = d.As<Napi::Number>().DoubleValue();
  if (!(device >= -1 && device <= 1023) || std::floor(device) != device)
    ThrowRange(env, "integer in [-1, 1023]", "device", d.ToString().Utf8Value());
  if (!info[1].IsObject()) ThrowType(env, "an options object", "options", Describe(info[1]));
  const Napi::Object o = info[1].As<Napi::Object>();
  auto state = std::make_shared<PlanState>();
  state->device = static_cast<int>(device);
  otca::Options& opt = state->options;
  opt.temporal = EnumOption<otca::Temporal>(env, o);
  opt.weightScale = EnumOption<otca::WeightScale>(env, o);
  opt.objective = EnumOption<otca::Objective>(env, o);
  opt.stdScope = EnumOption<otca::StdScope>(env, o);
  opt.exploration = EnumOption<otca::Exploration>(env, o);
  opt.fusedNormalization = EnumOption<otca::FusedNormalization>(env, o);
  opt.stdStabilizer = EnumOption<otca::StdStabilizer>(env, o);
  opt.fusedClip = NumberOption(env, o, "fusedClip");
  const double correction = NumberOption(env, o, "stdCorrection");
  if (correction != 0 && correction != 1) ThrowRange(env, "0 or 1", "stdCorrection", std::to_string(correction));
  opt.stdCorrection = static_cast<int32_t>(correction);
  opt.minWeight = NumberOption(env, o, "minWeight");
  opt.advClip = NumberOption(env, o, "advClip");
  opt.epsAdv = NumberOption(env, o, "epsAdv");
  opt.epsTcd = NumberOption(env, o, "epsTcd");
  opt.epsMoca = NumberOption(env, o, "epsMoca");
  opt.epsSolver = NumberOption(env, o, "epsSolver");
  const double threads = NumberOption(env, o, "threads");
  if (!(threads >= 0 && threads <= 4096) || std::floor(threads) != threads)
    ThrowRange(env, "integer in [0, 4096]", "threads", std::to_string(threads));
  opt.threads = static_cast<int32_t>(threads);
  state->weights = FactorOption(env, o, "objectiveWeights");
  state->scale = FactorOption(env, o, "objectiveScale");
  TranslateErrors(env, [&] {
    const int64_t K = static_cast<int64_t>(std::max(state->weights.size(), state->scale.size()));
    if (!state->weights.empty() && !state->scale.empty() && state->weights.size() != state->scale.size())
      throw otca::RangeError("Expected objectiveScale of the length of objectiveWeights (" +
                             std::to_string(state->weights.size()) + ") for objectiveScale but received length " +
                             std::to_string(state->scale.size()));
    otca::check_options(opt, state->factors(), K);
  });
  state_ = std::move(state);
}

bool Plan::Is(const Napi::Value& v) {
  return v.IsObject() && v.As<Napi::Object>().CheckTypeTag(&kPlanTag);
}

// run(header, states, rewards, trajectoryScore, groupIds, outputs): the header's kind slot says 0
// advantages, 1 trajectory, 2 objective, its async slot whether to return a promise (else undefined).
// Six arguments: node-addon-api reads up to six without allocating.
Napi::Value Plan::Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!state_) throw Napi::Error::New(env, "This AdvantageStep was disposed; create another with createAdvantageStep()");
  const RunArgs run{info[0], info[1], info[2], info[3], info[4], info[5]};
  TypedArrayMemory h;
  if (!ReadTypedArray(env, run.header, &h) || h.type != napi_float64_array || h.length != kSlotCount)
    ThrowType(env, "Float64Array of " + std::to_string(kSlotCount), "header", Describe(run.header));
  const double* header = static_cast<const double*>(h.data);
  const double k = header[kSlotKind];
  if (!(k == 0 || k == 1 || k == 2)) ThrowRange(env, "0, 1 or 2", "kind", std::to_string(k));
  const int kind = static_cast<int>(k);
  const bool async = header[kSlotAsync] != 0;
  if (!async) {
    if (!syncJob_) syncJob_ = std::make_unique<Job>();
    ParseJob(env, *syncJob_, state_.get(), static_cast<JobKind>(kind), run, false);
    TranslateErrors(env, [&] { syncJob_->Run(); });
    return env.Undefined();
  }
  auto job = std::make_unique<Job>();
  ParseJob(env, *job, state_.get(), static_cast<JobKind>(kind), run, true);
  napi_value promise = AsyncTask::Start(env, std::make_unique<JobTask>(std::move(job), state_), "otca:run");
  if (promise == nullptr) throw Napi::Error::New(env, "otca: could not queue the asynchronous call");
  return Napi::Value(env, promise);
}

// Releases the plan's native state now (runs in flight keep what they use until they end).
Napi::Value Plan::Dispose(const Napi::CallbackInfo& info) {
  syncJob_.reset();
  state_.reset();
  return info.Env().Undefined();
}

Plan::~Plan() = default;

}  // namespace otca_addon
