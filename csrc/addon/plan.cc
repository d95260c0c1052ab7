#include "plan.h"

#include <cmath>
#include <string>

#include "async_task.h"
#include "job.h"

namespace otca_addon {
namespace {

// Random, fixed: marks the plan objects made by this addon (napi_type_tag_object, N-API 8).
constexpr napi_type_tag kPlanTag = {0x6f7463615f706c61ULL, 0x4e1d8c2b7f90a365ULL};

// One option of `o` by the core's table (options.h OTCA_NATIVE_OPTIONS): the JS value's kind here,
// its value by the core's setter (the same checks and messages as the C ABI's).
void ReadOption(Napi::Env env, const Napi::Object& o, const otca::OptionInfo& info, otca::PlanOptions& p) {
  const Napi::Value v = GetOwn(env, o, info.name);
  switch (info.kind) {
    case otca::OptionKind::Enum: {
      if (!v.IsString()) ThrowType(env, otca::enum_choices(info.name), info.name, Describe(v));
      const std::string s = v.As<Napi::String>().Utf8Value();
      TranslateErrors(env, [&] { p.set_enum(info.name, s.c_str()); });
      return;
    }
    case otca::OptionKind::Number: {
      if (!v.IsNumber()) ThrowType(env, "number", info.name, Describe(v));
      const double d = v.As<Napi::Number>().DoubleValue();
      TranslateErrors(env, [&] { p.set_number(info.name, d); });
      return;
    }
    case otca::OptionKind::Factors: {
      // a Float64Array (copied: it is small), or undefined for all 1
      if (v.IsUndefined()) return;
      const TypedArrayMemory m = TypedArrayOf(env, v, "Float64Array or undefined", info.name);
      if (m.type != napi_float64_array || m.detached || m.length == 0)
        ThrowType(env, "a live, non-empty Float64Array or undefined", info.name, "another value");
      TranslateErrors(env, [&] {
        p.set_factors(info.name, static_cast<const double*>(m.data), static_cast<int64_t>(m.length));
      });
      return;
    }
  }
}

// Runs a Job on the libuv pool (async_task.h: a completion that never throws). The job holds its
// inputs, outputs and plan until it is destroyed, on the JS thread, after the run.
class JobTask : public AsyncTask {
 public:
  JobTask(std::unique_ptr<Job> job, std::shared_ptr<otca::PlanState> plan) : job_(std::move(job)), plan_(std::move(plan)) {}

 protected:
  void Execute() override { job_->Run(); }

 private:
  std::unique_ptr<Job> job_;
  std::shared_ptr<otca::PlanState> plan_;  // the plan's state lives until the run is done, disposed or not
};

}  // namespace

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
  auto state = std::make_shared<otca::PlanState>();
  state->device = static_cast<int>(device);
  for (int k = 0; const otca::OptionInfo* option = otca::option_info(k); ++k) ReadOption(env, o, *option, state->options);
  TranslateErrors(env, [&] { state->options.check(); });
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
