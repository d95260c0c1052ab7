// A plan, below every front end (the N-API addon's NativePlan, the C ABI's otca_plan): its options
// set by name and checked once, the numeric checks of a run, and the scratch its runs reuse (a
// pool of slots, so that runs of one plan may overlap on any threads and a repeated run of one
// shape allocates nothing). Front ends add only what is theirs: reading their own values, and
// their own buffers' kinds and lengths.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "otca.h"

namespace otca {

enum class RunKind : int32_t { Advantages = 0, Trajectory = 1, Objective = 2 };

// ------------------------------------------------------------------ options by name

enum class OptionKind : int32_t { Enum = 0, Number = 1, Factors = 2 };
struct OptionInfo {
  const char* name;
  OptionKind kind;
};
// The native options (options.h OTCA_NATIVE_OPTIONS), in its order; null past the last one.
const OptionInfo* option_info(int index);
const OptionInfo* find_option(const char* name);

// "one of 'tcd', 'uniform'": an enumeration option's expectation, as the messages say it.
std::string enum_choices(const char* option);

// Every option of a plan: the struct the backends take and the per-objective factors.
struct PlanOptions {
  Options options;
  std::vector<double> weights, scale;  // objectiveWeights, objectiveScale (empty: all 1)

  ObjectiveFactors factors() const {
    return {weights.empty() ? nullptr : weights.data(), scale.empty() ? nullptr : scale.data()};
  }
  // Sets one option by name and checks its value at once; leaves everything unchanged when it
  // throws: RangeError naming "options" for an unknown name, TypeError naming the option for a
  // setter of the wrong kind, RangeError naming the option for a value out of its range.
  void set_enum(const char* name, const char* value);
  void set_number(const char* name, double value);
  // values: count >= 1 doubles (copied), or null and 0 for the default (all 1).
  void set_factors(const char* name, const double* values, int64_t count);
  // What only the whole set can say: the two factor arrays of one length, then check_options.
  void check() const;
};

// ------------------------------------------------------------------ the numeric checks of a run

// a * b for counts, or -1 where either is negative or the product overflows int64.
int64_t checked_mul(int64_t a, int64_t b);
// RangeError "Expected integer in [min, max] for <arg> but received <v>" outside [min, max].
void check_integer(int64_t v, int64_t min, int64_t max, const char* arg);
// N*(T+1)*D elements of `elementBytes` that fit in memory (latents).
void check_latent_count(int64_t N, int64_t T, int64_t D, size_t elementBytes);
// N*rows*K doubles that fit in memory (rewards: rows 1, or T for per-step rewards).
void check_reward_count(int64_t N, int64_t rows, int64_t K);
// The rewards' rows equal the latents' (the whole step).
void check_same_rows(int64_t latentN, int64_t rewardN);
// objectiveWeights and objectiveScale, where given, of length K.
void check_factor_lengths(const PlanOptions& p, int64_t K);
// groupSize divides N (groupSize > 0).
void check_group_size(int64_t groupSize, int64_t N);
// N group ids, every one >= 0.
void check_group_ids(const int32_t* ids, int64_t N);

// ------------------------------------------------------------------ the plan and its scratch

struct PlanState {
  int device = -1;  // -1: the CPU backend; N >= 0: cuda:N
  PlanOptions options;

  // What one run holds while it runs (on any thread), returned to the pool after it.
  struct Slot {
    cpu::Workspace* cpu = nullptr;
    gpu::Context* gpu = nullptr;
    GroupIndex groups;                // groupIds' offsets, members and groupOf, built per run
    std::vector<const void*> states;  // the run's T+1 state pointers
  };
  // A free slot for one run (made where none is free: a CPU workspace, or a CUDA context on the
  // plan's device), given back to the pool when the lease goes.
  class Lease {
   public:
    Lease(PlanState& plan, Slot* slot) : plan_(plan), slot_(slot) {}
    ~Lease() { plan_.Give(slot_); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Slot* operator->() const { return slot_; }
    Slot& operator*() const { return *slot_; }

   private:
    PlanState& plan_;
    Slot* slot_;
  };
  Lease Take();

  PlanState() = default;
  PlanState(const PlanState&) = delete;
  PlanState& operator=(const PlanState&) = delete;
  ~PlanState();

 private:
  void Give(Slot* slot);
  std::mutex mutex_;
  std::vector<Slot*> idle_;
};

// One host run (the CPU backend) of a plan: its groups from a size or host ids, checked as
// check_group_size / check_group_ids, or a prebuilt host index (groups.count >= 1).
struct GroupsArg {
  int64_t size = 0;                 // > 0: contiguous groups
  const int32_t* ids = nullptr;     // host [N], ids >= 0 (checked by the caller)
  Groups index;                     // a prebuilt index (count >= 1), host or device as the run
};

// Runs `kind` on the CPU backend with a slot of the plan, every pointer host memory. Where
// lat.states is null, `latentBase` is one array, state j of sample i at
// latentBase + (i * lat.sampleStride + j * D) elements (the slot holds the T+1 pointers).
// The plan's options were checked; the run's numbers too (the checks above). Throws otca errors.
void run_cpu(PlanState& plan, RunKind kind, Latents lat, const void* latentBase, const Rewards& rew,
             const float* q, const GroupsArg& groups, const AllOutputs& out);

}  // namespace otca
