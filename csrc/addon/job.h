// A call of the core, unwrapped from its JS description (see lib/native.ts, NativeJob) and
// re-checked: the TypeScript layer validates everything first, but a forged call straight into
// the native module must still never read or write outside the buffers it passed.
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "otca.h"

namespace otca_addon {

enum class JobKind { Advantages, Trajectory, Objective };

// Where an error came from, so the async path can reject with the right JS class.
enum class ErrorKind { None, Type, Range, Device, Other };

struct Job {
  JobKind kind = JobKind::Advantages;
  int device = -1;  // -1: CPU backend; >= 0: cuda:N (the CUDA step)
  otca::Options opt;
  std::vector<double> objectiveWeights, objectiveScale;  // copied: they are tiny
  otca::Latents lat;
  std::vector<const void*> states;
  otca::Rewards rew;
  const float* trajectoryScore = nullptr;
  int64_t groupSize = 1;
  otca::AllOutputs out;
  // Async calls hold every input and output TypedArray until the work is done.
  std::vector<Napi::Reference<Napi::TypedArray>> keepAlive;

  // Runs the computation (any thread; touches no JS value). Throws otca errors.
  void Run();
};

// Parses and checks `desc` (a NativeJob); throws Napi::TypeError / Napi::RangeError.
std::unique_ptr<Job> ParseJob(Napi::Env env, Napi::Value desc, JobKind kind, bool keepAlive);

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
