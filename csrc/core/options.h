// The options of a call, as the C++ core holds them: one plain struct (copied by value into the CUDA
// kernels' parameter block) and the names of every enumeration, in one table per enumeration.
//
// The TypeScript schema (lib/options.ts) is the source of the names, ranges and defaults; the addon
// parses a plan's options by these names, exports the tables and the defaults below, and
// test/cpu/options.test.ts checks both against the schema. The static_asserts pin each table's
// order to its enumeration's values.
#pragma once

#include <cstdint>
#include <cstring>

#include "otca_hd.h"

namespace otca {

enum class Temporal : int32_t { Tcd, Uniform };
enum class WeightScale : int32_t { Mean, Sum };
enum class Objective : int32_t { Moca, MinNorm, WeightedAdvantage, WeightedReward };
enum class StdScope : int32_t { Group, Batch };
enum class Exploration : int32_t { Absolute, Centered };
enum class FusedNormalization : int32_t { None, Group, Batch };
enum class StdStabilizer : int32_t { Add, Floor };

// Every option of the computation. The defaults are the schema's (checked by the options test);
// the per-objective weights and scales are passed beside it (ObjectiveFactors), as they have K
// entries.
struct Options {
  Temporal temporal = Temporal::Tcd;
  WeightScale weightScale = WeightScale::Mean;
  Objective objective = Objective::Moca;
  StdScope stdScope = StdScope::Group;
  Exploration exploration = Exploration::Absolute;
  int32_t stdCorrection = 1;  // 1 = Bessel (n - 1), 0 = population
  double minWeight = 0.5;     // w_min, in [0, 1]
  double advClip = 5.0;       // > 0 (Infinity: no clip)
  double epsAdv = 1e-8;
  double epsTcd = 1e-6;
  double epsMoca = 1e-6;
  double epsSolver = 1e-8;
  int32_t threads = 0;  // CPU backend: 0 or more than the hardware concurrency = all of it
  // Beyond the paper (docs/algorithm.md, "Beyond the paper"): f standardised over its group or the
  // batch after the fusion, how eps stabilises every std of eq. 2 and of that step (std + eps, or
  // max(std, eps)), and a clip of the final f.
  FusedNormalization fusedNormalization = FusedNormalization::None;
  StdStabilizer stdStabilizer = StdStabilizer::Add;
  double fusedClip = __builtin_huge_val();  // > 0 (Infinity: no clip)
};

// Every native option by name, once: ENUM(field, Enum) (its name is EnumNames<Enum>::kOption),
// NUMBER(field) (an Options field of that name, double or int32_t), FACTORS(name) (K doubles
// beside the Options: ObjectiveFactors). check_options, the plan's setters by name (plan.h: the
// addon's parsing and the C ABI) and the C ABI's option list expand it, so a new option is one
// line here (and its field above, its check in check_options).
#define OTCA_NATIVE_OPTIONS(ENUM, NUMBER, FACTORS)                                                  \
  ENUM(temporal, Temporal) ENUM(weightScale, WeightScale) ENUM(objective, Objective)               \
  ENUM(stdScope, StdScope) ENUM(exploration, Exploration)                                         \
  NUMBER(stdCorrection) NUMBER(minWeight) NUMBER(advClip) NUMBER(epsAdv) NUMBER(epsTcd)          \
  NUMBER(epsMoca) NUMBER(epsSolver) NUMBER(threads)                                               \
  ENUM(fusedNormalization, FusedNormalization) ENUM(stdStabilizer, StdStabilizer) NUMBER(fusedClip) \
  FACTORS(objectiveWeights) FACTORS(objectiveScale)

// The CPU backend's most threads (lib/options.ts: threads is an integer in [0, 4096]).
constexpr int32_t kMaxThreads = 4096;

// objectiveWeights and objectiveScale: K values each in host memory, or null for all 1.
struct ObjectiveFactors {
  const double* weights = nullptr;
  const double* scale = nullptr;
};

// ------------------------------------------------------------------ the names of the enumerations

template <class E>
struct EnumNames;

#define OTCA_ENUM_NAMES(Enum, option, ...)                              \
  template <>                                                           \
  struct EnumNames<Enum> {                                              \
    static constexpr const char* kOption = option;                      \
    static constexpr const char* kNames[] = {__VA_ARGS__};              \
    static constexpr int kCount = sizeof(kNames) / sizeof(kNames[0]);   \
  }

OTCA_ENUM_NAMES(Temporal, "temporal", "tcd", "uniform");
OTCA_ENUM_NAMES(WeightScale, "weightScale", "mean", "sum");
OTCA_ENUM_NAMES(Objective, "objective", "moca", "min-norm", "weighted-advantage", "weighted-reward");
OTCA_ENUM_NAMES(StdScope, "stdScope", "group", "batch");
OTCA_ENUM_NAMES(Exploration, "explorationSignal", "absolute", "centered");
OTCA_ENUM_NAMES(FusedNormalization, "fusedNormalization", "none", "group", "batch");
OTCA_ENUM_NAMES(StdStabilizer, "stdStabilizer", "add", "floor");
#undef OTCA_ENUM_NAMES

static_assert(EnumNames<Temporal>::kCount == 2 && static_cast<int>(Temporal::Uniform) == 1, "temporal names");
static_assert(EnumNames<WeightScale>::kCount == 2 && static_cast<int>(WeightScale::Sum) == 1, "weightScale names");
static_assert(EnumNames<Objective>::kCount == 4 && static_cast<int>(Objective::WeightedReward) == 3, "objective names");
static_assert(EnumNames<StdScope>::kCount == 2 && static_cast<int>(StdScope::Batch) == 1, "stdScope names");
static_assert(EnumNames<Exploration>::kCount == 2 && static_cast<int>(Exploration::Centered) == 1, "exploration names");
static_assert(EnumNames<FusedNormalization>::kCount == 3 && static_cast<int>(FusedNormalization::Batch) == 2,
              "fusedNormalization names");
static_assert(EnumNames<StdStabilizer>::kCount == 2 && static_cast<int>(StdStabilizer::Floor) == 1, "stdStabilizer names");

// The value named `name`, or false where no value has that name.
template <class E>
bool enum_from_name(const char* name, E* value) {
  for (int k = 0; k < EnumNames<E>::kCount; ++k) {
    if (std::strcmp(EnumNames<E>::kNames[k], name) == 0) {
      *value = static_cast<E>(k);
      return true;
    }
  }
  return false;
}

template <class E>
const char* enum_name(E value) {
  const int k = static_cast<int>(value);
  return k >= 0 && k < EnumNames<E>::kCount ? EnumNames<E>::kNames[k] : "unknown";
}

}  // namespace otca
