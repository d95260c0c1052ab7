// One run of a plan, unwrapped from its JS description (lib/native.ts NativeRun) and re-checked:
// the TypeScript layer validates everything first, but a forged call straight into the native
// module must still never read or write outside the buffers it passed.
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "device_memory.h"
#include "otca.h"

namespace otca {
struct PlanState;  // csrc/core/plan.h
}  // namespace otca

namespace otca_addon {

using PlanState = otca::PlanState;

enum class JobKind : int { Advantages = 0, Trajectory = 1, Objective = 2 };

// One input or output of a call: host memory (a TypedArray's bytes) or device memory on the
// call's device (a DeviceView's range), never both.
struct Buffer {
  void* host = nullptr;
  void* device = nullptr;
  size_t bytes = 0;
  bool present() const { return host != nullptr || device != nullptr; }
};

// The outputs, in the order of AllOutputs' fields (lib/native.ts OUTPUT_SLOTS).
enum OutputIndex : int {
  kSimilarity, kDeltaS, kRawWeights, kStepWeights, kTrajectoryScore, kObjectiveAdvantages,
  kExploration, kLambda, kCoefficients, kFused, kAdvantages, kOutputCount
};
extern const char* const kOutputNames[kOutputCount];

// The numbers of a run, one Float64Array (lib/native.ts RUN_HEADER): reading one property instead of
// nine (each N-API property read by name costs ~0.1 us).
enum HeaderSlot : int {
  kSlotKind, kSlotAsync, kSlotLatentDtype, kSlotN, kSlotT, kSlotD, kSlotStacked, kSlotRewardDtype, kSlotRewardN,
  kSlotK, kSlotGroupSize, kSlotOutputMask, kSlotRewardSteps, kSlotCount
};
extern const char* const kHeaderSlotNames[kSlotCount];

struct Job {
  JobKind kind = JobKind::Advantages;
  PlanState* plan = nullptr;  // kept alive by the caller (the plan object, or an async run's task)
  otca::Latents lat;
  bool stacked = false;
  std::vector<Buffer> latentBuffers;  // 1 (stacked [N, T+1, D]) or T+1 ([N, D] each)
  otca::Rewards rew;
  Buffer rewards, trajectoryScore;
  int64_t groupSize = 0;              // > 0, or 0 where groupIds were given
  // The run's group ids [N] where groupIds were given: a copy taken on the JS thread when the run
  // starts, the one read of the caller's array; checked and used alone (a write to the caller's
  // array while an async run is in flight changes nothing). Its memory is kept between runs.
  std::vector<int32_t> groupIdCopy;
  const int32_t* groupIds = nullptr;  // groupIdCopy.data(), or null
  Buffer outputs[kOutputCount];
  std::vector<const void*> hostStates;  // a CPU run's T+1 state pointers of a list of states
  // Async runs hold every input and output (TypedArrays and device views) until the work is done;
  // every run holds the device allocations it touches, so a dispose() meanwhile frees nothing early.
  // Released on the JS thread (the Job is destroyed there).
  std::vector<Napi::Reference<Napi::Value>> keepAlive;
  std::vector<std::shared_ptr<Allocation>> deviceRefs;

  // Runs the computation (any thread; touches no JS value). Throws otca errors.
  void Run();
  // Empties the job for the next run, keeping its vectors' memory (a plan's synchronous runs reuse one).
  void Clear();

 private:
  void RunCpu();
  void RunCuda();
};

// The arguments of a run (lib/native.ts NativePlan.run), positional: reading them costs no property
// lookup (each N-API read by name costs ~0.1 us and a string), and nothing comes from a prototype.
struct RunArgs {
  Napi::Value header, states, rewards, trajectoryScore, groupIds, outputs;
};

// Parses and checks a run of `plan` into `job` (cleared first); throws Napi::TypeError / RangeError.
void ParseJob(Napi::Env env, Job& job, PlanState* plan, JobKind kind, const RunArgs& run, bool keepAlive);

// Element `index` of an array our TypeScript layer built (dense: every slot set).
Napi::Value Element(Napi::Env env, const Napi::Array& a, uint32_t index);

// A TypedArray's memory, read without going through its ArrayBuffer object, so that views of a
// SharedArrayBuffer work as well. `data` is null and `detached` true where the buffer was detached.
struct TypedArrayMemory {
  napi_typedarray_type type = napi_uint8_array;
  size_t length = 0;      // elements
  size_t byteLength = 0;
  void* data = nullptr;
  bool detached = false;
};
// Reads `v`'s memory; false where `v` is no TypedArray (no exception: the fast path of a run).
bool ReadTypedArray(napi_env env, napi_value v, TypedArrayMemory* m);
// Throws Napi::TypeError "Expected <expected> for <arg> but received ..." where `v` is no TypedArray.
TypedArrayMemory TypedArrayOf(Napi::Env env, const Napi::Value& v, const std::string& expected,
                              const std::string& arg);

// `o[key]` where `o` has its own property `key`, else undefined: a key someone added to
// Object.prototype never reaches a call.
Napi::Value GetOwn(Napi::Env env, const Napi::Object& o, const char* key);
Napi::Value GetOwn(Napi::Env env, const Napi::Object& o, uint32_t index);

[[noreturn]] void ThrowType(Napi::Env env, const std::string& expected, const std::string& arg,
                            const std::string& got);
[[noreturn]] void ThrowRange(Napi::Env env, const std::string& expected, const std::string& arg,
                             const std::string& got);
std::string Describe(const Napi::Value& v);

// Runs `fn`, turning otca::TypeError/RangeError/DeviceError into the JS error of the same kind
// with the message unchanged.
template <typename Fn>
auto TranslateErrors(Napi::Env env, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const otca::TypeError& e) {
    throw Napi::TypeError::New(env, e.what());
  } catch (const otca::RangeError& e) {
    throw Napi::RangeError::New(env, e.what());
  } catch (const otca::DeviceError& e) {
    throw Napi::Error::New(env, e.what());
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw Napi::RangeError::New(env, "Expected enough host memory for otca but received an allocation failure");
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
}

}  // namespace otca_addon
