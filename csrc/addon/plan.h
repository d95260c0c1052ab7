// An AdvantageStep's native half (lib/step.ts): the JS object over the core's plan (csrc/core/plan.h:
// the options parsed and checked once, and the pool of CPU workspaces or CUDA contexts its runs
// reuse). Runs may overlap (async runs; worker threads of one plan are not possible: a plan belongs
// to its JS environment).
#pragma once

#include <napi.h>

#include <memory>
#include <mutex>
#include <vector>

#include "../core/plan.h"  // the core's plan (this file is the addon's)
#include "otca.h"

namespace otca_addon {

struct Job;

// The plan's options, scratch pool and run checks are the core's (csrc/core/plan.h), shared with
// the C ABI (job.h names it PlanState here); this file holds only the JS object.

// The JS object of a plan (type-tagged, so a forged object never reaches C++): run(kind, run,
// async) and dispose().
class Plan : public Napi::ObjectWrap<Plan> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit Plan(const Napi::CallbackInfo& info);
  ~Plan() override;
  static bool Is(const Napi::Value& v);

 private:
  Napi::Value Run(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  std::shared_ptr<otca::PlanState> state_;  // shared with the runs in flight; null once disposed
  std::unique_ptr<Job> syncJob_;      // reused by synchronous runs (one at a time on the JS thread)
};

}  // namespace otca_addon
