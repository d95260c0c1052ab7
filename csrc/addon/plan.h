// An AdvantageStep's native half (lib/step.ts): the options parsed and checked once, and the native
// state its runs reuse on one backend (CPU workspaces, or CUDA contexts: stream, workspace, pinned
// mailbox and staging). Runs may overlap (async runs, worker threads of one plan are not possible:
// a plan belongs to its JS environment); each takes a free workspace or context from the plan's
// pool, making one where none is free, so repeated runs of one shape allocate nothing.
#pragma once

#include <napi.h>

#include <memory>
#include <mutex>
#include <vector>

#include "otca.h"

namespace otca_addon {

struct Job;

struct PlanState {
  int device = -1;  // -1: the CPU backend; N >= 0: cuda:N
  otca::Options options;
  std::vector<double> weights, scale;  // objectiveWeights, objectiveScale (empty: all 1)

  otca::ObjectiveFactors factors() const {
    return {weights.empty() ? nullptr : weights.data(), scale.empty() ? nullptr : scale.data()};
  }

  // What one run holds while it runs (on any thread), returned to the pool after it.
  struct Slot {
    otca::cpu::Workspace* cpu = nullptr;
    otca::gpu::Context* gpu = nullptr;
    otca::GroupIndex groups;          // groupIds' offsets, members and groupOf, built per run
    std::vector<const void*> states;  // the run's T+1 state pointers
  };
  // A free slot for one run (made where none is free), given back to the pool when it goes.
  class Lease {
   public:
    Lease(PlanState& plan, Slot* slot) : plan_(plan), slot_(slot) {}
    ~Lease() { plan_.Give(slot_); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Slot* operator->() const { return slot_; }

   private:
    PlanState& plan_;
    Slot* slot_;
  };
  Lease Take();

  ~PlanState();

 private:
  void Give(Slot* slot);
  std::mutex mutex_;
  std::vector<Slot*> idle_;
};

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

  std::shared_ptr<PlanState> state_;  // shared with the runs in flight; null once disposed
  std::unique_ptr<Job> syncJob_;      // reused by synchronous runs (one at a time on the JS thread)
};

}  // namespace otca_addon
