// Unwrapping and re-checking a NativeRun (lib/native.ts) for a plan. Cheap checks only: kinds,
// integer ranges, exact buffer lengths, detached buffers, group ids. The options were parsed and
// checked when the plan was made; the math is the core's.
#include "job.h"

#include <cmath>
#include <limits>
#include <utility>

#include "plan.h"

namespace otca_addon {

const char* const kOutputNames[kOutputCount] = {
    "similarity", "deltaS", "rawWeights", "stepWeights", "trajectoryScore", "objectiveAdvantages",
    "exploration", "lambda", "coefficients", "fused", "advantages"};

const char* const kHeaderSlotNames[kSlotCount] = {"kind", "async", "latentDtype", "N", "T", "D", "stacked",
                                                  "rewardDtype", "rewardN", "K", "groupSize", "outputMask",
                                                  "rewardSteps"};

namespace {

constexpr double kMaxSafeInteger = 9007199254740991.0;  // 2^53 - 1

// An argument's name for messages, built only when a message needs it: "latents" or "latents[j]".
struct ArgName {
  const char* text;
  int64_t index = -1;
  ArgName(const char* t) : text(t) {}  // NOLINT: implicit from a literal
  ArgName(const char* t, int64_t i) : text(t), index(i) {}
  std::string str() const {
    return index < 0 ? std::string(text) : std::string(text) + "[" + std::to_string(index) + "]";
  }
};


// The TypedArray `v`, of element type `type`, not detached, with exactly `length` elements.
// Returns its data pointer; registers it for keep-alive when asked.
void* GetTypedArray(Napi::Env env, Job& job, bool keepAlive, const Napi::Value& v,
                    napi_typedarray_type type, const char* typeName, int64_t length,
                    const ArgName& arg) {
  TypedArrayMemory m;
  if (!ReadTypedArray(env, v, &m)) ThrowType(env, typeName, arg.str(), Describe(v));
  if (m.type != type) ThrowType(env, typeName, arg.str(), "another TypedArray");
  if (length < 0 || static_cast<uint64_t>(m.length) != static_cast<uint64_t>(length)) {
    if (m.detached) ThrowType(env, "a live (not detached) buffer", arg.str(), "a detached ArrayBuffer");
    ThrowRange(env, "length " + std::to_string(length), arg.str(), "length " + std::to_string(m.length));
  }
  if (keepAlive) job.keepAlive.push_back(Napi::Persistent(v));
  return m.data;
}

// An input or output: a TypedArray as GetTypedArray checks it, or a device view on the plan's
// device of exactly length * esize bytes.
Buffer GetBuffer(Napi::Env env, Job& job, bool keepAlive, const Napi::Value& v,
                 napi_typedarray_type type, const char* typeName, int64_t length, size_t esize,
                 const ArgName& arg) {
  Buffer b;
  TypedArrayMemory m;
  if (ReadTypedArray(env, v, &m)) {  // host memory: the common case, one N-API call
    if (m.type != type) ThrowType(env, typeName, arg.str(), "another TypedArray");
    if (length < 0 || static_cast<uint64_t>(m.length) != static_cast<uint64_t>(length)) {
      if (m.detached) ThrowType(env, "a live (not detached) buffer", arg.str(), "a detached ArrayBuffer");
      ThrowRange(env, "length " + std::to_string(length), arg.str(), "length " + std::to_string(m.length));
    }
    if (keepAlive) job.keepAlive.push_back(Napi::Persistent(v));
    b.host = m.data;
    b.bytes = static_cast<size_t>(length) * esize;
    return b;
  }
  if (!IsView(v)) ThrowType(env, typeName, arg.str(), Describe(v));
  DeviceView* view = v.As<Napi::External<DeviceView>>().Data();
  if (!view->alloc) view = UnwrapView(env, v, arg.str());  // released: throws the message
  const int device = job.plan->device;
  const auto where = [&] { return "a cuda:" + std::to_string(view->device) + " buffer"; };
  if (device < 0) ThrowType(env, "a host buffer (the CPU backend runs this call)", arg.str(), where());
  if (view->device != device) {
    ThrowRange(env, "a buffer on cuda:" + std::to_string(device) + " (the call's device)", arg.str(), where());
  }
  if (length < 0 || otca::checked_mul(length, static_cast<int64_t>(esize)) < 0 ||
      view->bytes != static_cast<size_t>(length) * esize) {
    ThrowRange(env, std::to_string(length) + " elements (" + std::to_string(length) + " x " +
               std::to_string(esize) + " bytes)", arg.str(), std::to_string(view->bytes) + " bytes");
  }
  if (keepAlive) job.keepAlive.push_back(Napi::Persistent(v));
  job.deviceRefs.push_back(view->alloc);
  b.device = view->ptr();
  b.bytes = view->bytes;
  return b;
}

int64_t HeaderInteger(Napi::Env env, const double* h, HeaderSlot s, const char* arg, int64_t min, int64_t max) {
  const double d = h[s];
  // in range first (NaN fails it), then integral through the cast (no libm floor on baseline x86-64)
  if (!(d >= static_cast<double>(min) && d <= static_cast<double>(max) && d <= kMaxSafeInteger) ||
      static_cast<double>(static_cast<int64_t>(d)) != d) {
    ThrowRange(env, "integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]", arg,
               Napi::Number::New(env, d).ToString().Utf8Value());
  }
  return static_cast<int64_t>(d);
}

void ParseLatents(Napi::Env env, Job& job, const RunArgs& run, const double* h, bool keepAlive) {
  int64_t dt = HeaderInteger(env, h, kSlotLatentDtype, "latents.dtype", 0, 3);
  if (dt == static_cast<int64_t>(otca::DType::Float64)) {
    ThrowType(env, "float32, float16 or bfloat16", "latents dtype", "float64");
  }
  otca::Latents& lat = job.lat;
  lat.dtype = static_cast<otca::DType>(dt);
  constexpr int64_t kMax = static_cast<int64_t>(kMaxSafeInteger);
  lat.N = HeaderInteger(env, h, kSlotN, "latents N", 1, kMax);
  lat.T = HeaderInteger(env, h, kSlotT, "latents T", 1, kMax);
  lat.D = HeaderInteger(env, h, kSlotD, "latents D", 1, kMax);
  const bool stacked = h[kSlotStacked] != 0;
  const napi_typedarray_type type = lat.dtype == otca::DType::Float32 ? napi_float32_array : napi_uint16_array;
  const char* typeName = lat.dtype == otca::DType::Float32 ? "Float32Array" : "Uint16Array";
  const size_t esize = otca::dtype_size(lat.dtype);

  const Napi::Value& sv = run.states;
  if (!sv.IsArray()) ThrowType(env, "Array", "states", Describe(sv));
  Napi::Array states = sv.As<Napi::Array>();
  const int64_t nd = otca::checked_mul(lat.N, lat.D);
  const int64_t per = otca::checked_mul(lat.T + 1, lat.D);
  const int64_t total = otca::checked_mul(lat.N, per);
  TranslateErrors(env, [&] { otca::check_latent_count(lat.N, lat.T, lat.D, esize); });
  job.stacked = stacked;
  job.latentBuffers.clear();
  if (stacked) {
    if (states.Length() != 1) ThrowRange(env, "1 buffer", "states", std::to_string(states.Length()) + " buffers");
    job.latentBuffers.push_back(
        GetBuffer(env, job, keepAlive, Element(env, states, 0u), type, typeName, total, esize, "latents"));
    lat.sampleStride = per;
  } else {
    if (static_cast<int64_t>(states.Length()) != lat.T + 1) {
      ThrowRange(env, "T+1 (" + std::to_string(lat.T + 1) + ") states", "latents", std::to_string(states.Length()));
    }
    job.latentBuffers.reserve(static_cast<size_t>(lat.T + 1));
    for (int64_t j = 0; j <= lat.T; ++j) {
      job.latentBuffers.push_back(GetBuffer(env, job, keepAlive, Element(env, states, static_cast<uint32_t>(j)),
                                            type, typeName, nd, esize, ArgName("latents", j)));
    }
    lat.sampleStride = lat.D;
  }
  lat.states = nullptr;  // set in Run(), where the state pointers are known
}

void ParseRewards(Napi::Env env, Job& job, const RunArgs& run, const double* h, bool keepAlive) {
  const int64_t dt = HeaderInteger(env, h, kSlotRewardDtype, "rewards.dtype", 0, 1);
  otca::Rewards& rew = job.rew;
  rew.dtype = static_cast<otca::DType>(dt);
  constexpr int64_t kMax = static_cast<int64_t>(kMaxSafeInteger);
  rew.N = HeaderInteger(env, h, kSlotRewardN, "rewards N", 1, kMax);
  rew.K = HeaderInteger(env, h, kSlotK, "rewards K", 1, kMax);
  rew.T = HeaderInteger(env, h, kSlotRewardSteps, "rewards T", 0, kMax);  // 0: [N, K]; T: per-step [N, T, K]
  TranslateErrors(env, [&] { otca::check_reward_count(rew.N, otca::reward_rows(rew), rew.K); });
  const int64_t nk = rew.N * otca::reward_rows(rew) * rew.K;
  const bool f64 = rew.dtype == otca::DType::Float64;
  job.rewards = GetBuffer(env, job, keepAlive, run.rewards,
                          f64 ? napi_float64_array : napi_float32_array,
                          f64 ? "Float64Array" : "Float32Array", nk, f64 ? 8 : 4, "rewards");
  rew.data = nullptr;  // set in Run()
  TranslateErrors(env, [&] { otca::check_factor_lengths(job.plan->options, rew.K); });
}

// groupSize from the header, or groupIds: an Int32Array of N integers >= 0, read once, here, into
// the job's own copy, which is checked and from which the groups are built (never the caller's array
// again: an async run must not see a write made while it is in flight).
void ParseGroups(Napi::Env env, Job& job, const RunArgs& run, const double* h, int64_t N) {
  job.groupSize = HeaderInteger(env, h, kSlotGroupSize, "groupSize", 0, N);
  if (job.groupSize > 0) {
    TranslateErrors(env, [&] { otca::check_group_size(job.groupSize, N); });
    return;
  }
  const auto* given = static_cast<const int32_t*>(
      GetTypedArray(env, job, false, run.groupIds, napi_int32_array, "Int32Array", N, "groupIds"));
  std::vector<int32_t>& ids = job.groupIdCopy;
  ids.assign(given, given + N);
  TranslateErrors(env, [&] { otca::check_group_ids(ids.data(), N); });
  job.groupIds = ids.data();
}

// Output `index` where the header's mask has it.
void GetOutput(Napi::Env env, Job& job, bool keepAlive, const Napi::Array& outs, int64_t mask,
               int64_t length, OutputIndex index) {
  if ((mask & (int64_t(1) << index)) == 0) return;
  Napi::Value v = Element(env, outs, static_cast<uint32_t>(index));
  if (v.IsUndefined() || v.IsNull()) return;
  const std::string arg = std::string("outputs.") + kOutputNames[index];
  job.outputs[index] = GetBuffer(env, job, keepAlive, v, napi_float32_array, "Float32Array", length, 4, arg.c_str());
}

}  // namespace

std::string Describe(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsNumber()) return v.ToString().Utf8Value();
  if (v.IsBoolean()) return v.ToBoolean().Value() ? "true" : "false";
  if (v.IsString()) return "string";
  if (v.IsTypedArray()) return "TypedArray";
  if (v.IsArray()) return "Array";
  if (v.IsFunction()) return "function";
  return "object";
}

void ThrowType(Napi::Env env, const std::string& expected, const std::string& arg, const std::string& got) {
  throw Napi::TypeError::New(env, "Expected " + expected + " for " + arg + " but received " + got);
}

void ThrowRange(Napi::Env env, const std::string& expected, const std::string& arg, const std::string& got) {
  throw Napi::RangeError::New(env, "Expected " + expected + " for " + arg + " but received " + got);
}

bool ReadTypedArray(napi_env env, napi_value v, TypedArrayMemory* m) {
  napi_value buffer = nullptr;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, v, &m->type, &m->length, &m->data, &buffer, &offset) != napi_ok) return false;
  size_t elementBytes = 1;
  switch (m->type) {
    case napi_int16_array: case napi_uint16_array: elementBytes = 2; break;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: elementBytes = 4; break;
    case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: elementBytes = 8; break;
    default: break;
  }
  m->byteLength = m->length * elementBytes;
  // a detached buffer has no elements left: where a length > 0 is expected, that check refuses it
  if (m->length == 0) {
    bool isArrayBuffer = false, detached = false;
    if (napi_is_arraybuffer(env, buffer, &isArrayBuffer) == napi_ok && isArrayBuffer &&
        napi_is_detached_arraybuffer(env, buffer, &detached) == napi_ok && detached) {
      m->detached = true;
      m->data = nullptr;
    }
  }
  return true;
}

TypedArrayMemory TypedArrayOf(Napi::Env env, const Napi::Value& v, const std::string& expected,
                              const std::string& arg) {
  TypedArrayMemory m;
  if (!ReadTypedArray(env, v, &m)) ThrowType(env, expected, arg, Describe(v));
  return m;
}

Napi::Value GetOwn(Napi::Env env, const Napi::Object& o, const char* key) {
  bool has = false;
  if (napi_has_own_property(env, o, Napi::String::New(env, key), &has) != napi_ok || !has) return env.Undefined();
  return o.Get(key);
}

Napi::Value GetOwn(Napi::Env env, const Napi::Object& o, uint32_t index) {
  bool has = false;
  // napi_has_own_property takes names only; an index's name is its decimal string
  if (napi_has_own_property(env, o, Napi::String::New(env, std::to_string(index)), &has) != napi_ok || !has)
    return env.Undefined();
  return o.Get(index);
}

Napi::Value Element(Napi::Env env, const Napi::Array& a, uint32_t index) {
  napi_value v = nullptr;
  if (napi_get_element(env, a, index, &v) != napi_ok) return env.Undefined();
  return Napi::Value(env, v);
}

void Job::Clear() {
  lat = otca::Latents{};
  stacked = false;
  latentBuffers.clear();
  rew = otca::Rewards{};
  rewards = trajectoryScore = Buffer{};
  groupSize = 0;
  groupIds = nullptr;
  for (Buffer& b : outputs) b = Buffer{};
  keepAlive.clear();
  deviceRefs.clear();
}

void ParseJob(Napi::Env env, Job& jobRef, PlanState* plan, JobKind kind, const RunArgs& run, bool keepAlive) {
  Job* job = &jobRef;
  job->Clear();
  job->kind = kind;
  job->plan = plan;
  const double* h = static_cast<const double*>(
      GetTypedArray(env, *job, false, run.header, napi_float64_array, "Float64Array", kSlotCount, "header"));

  int64_t N = 0, T = 0, K = 0;
  if (kind != JobKind::Objective) {
    ParseLatents(env, *job, run, h, keepAlive);
    N = job->lat.N;
    T = job->lat.T;
  }
  if (kind != JobKind::Trajectory) {
    ParseRewards(env, *job, run, h, keepAlive);
    K = job->rew.K;
    if (kind == JobKind::Advantages) TranslateErrors(env, [&] { otca::check_same_rows(N, job->rew.N); });
    if (kind == JobKind::Advantages && job->rew.T != 0 && job->rew.T != T) {
      ThrowRange(env, std::to_string(T) + " steps (as latents)", "rewards", std::to_string(job->rew.T));
    }
    N = job->rew.N;
    ParseGroups(env, *job, run, h, N);
    if (kind == JobKind::Objective) {
      job->trajectoryScore = GetBuffer(env, *job, keepAlive, run.trajectoryScore,
                                       napi_float32_array, "Float32Array", N, 4, "trajectoryScore");
    }
  }

  const int64_t mask = HeaderInteger(env, h, kSlotOutputMask, "outputMask", 0, (int64_t(1) << kOutputCount) - 1);
  const Napi::Value& ov = run.outputs;
  if (!ov.IsArray()) ThrowType(env, "Array", "outputs", Describe(ov));
  Napi::Array outs = ov.As<Napi::Array>();
  if (kind != JobKind::Objective) {
    GetOutput(env, *job, keepAlive, outs, mask, otca::checked_mul(N, T + 1), kSimilarity);
    GetOutput(env, *job, keepAlive, outs, mask, otca::checked_mul(N, T), kDeltaS);
    GetOutput(env, *job, keepAlive, outs, mask, otca::checked_mul(N, T), kRawWeights);
    GetOutput(env, *job, keepAlive, outs, mask, otca::checked_mul(N, T), kStepWeights);
    GetOutput(env, *job, keepAlive, outs, mask, N, kTrajectoryScore);
  }
  if (kind != JobKind::Trajectory) {
    const int64_t rows = otca::checked_mul(N, otca::reward_rows(job->rew));  // per-step rewards: a row per (sample, step)
    GetOutput(env, *job, keepAlive, outs, mask, otca::checked_mul(rows, K), kObjectiveAdvantages);
    GetOutput(env, *job, keepAlive, outs, mask, N, kExploration);
    GetOutput(env, *job, keepAlive, outs, mask, rows, kLambda);
    GetOutput(env, *job, keepAlive, outs, mask, otca::checked_mul(rows, K), kCoefficients);
    GetOutput(env, *job, keepAlive, outs, mask, rows, kFused);
  }
  if (kind == JobKind::Advantages) GetOutput(env, *job, keepAlive, outs, mask, otca::checked_mul(N, T), kAdvantages);
}

namespace {

// The core's T+1 state pointers from the latent buffers' addresses (host or device, `address(b)`),
// in a vector kept by the caller's slot (no allocation once it has room).
template <class Address>
const void* const* StatePointers(const Job& job, std::vector<const void*>& states, Address address) {
  if (job.latentBuffers.empty()) return nullptr;  // phase 2: no latents
  const size_t esize = otca::dtype_size(job.lat.dtype);
  states.resize(static_cast<size_t>(job.lat.T + 1));
  const char* base0 = static_cast<const char*>(address(job.latentBuffers[0]));
  for (int64_t j = 0; j <= job.lat.T; ++j) {
    states[static_cast<size_t>(j)] = job.stacked ? base0 + static_cast<size_t>(j * job.lat.D) * esize
                                                 : address(job.latentBuffers[static_cast<size_t>(j)]);
  }
  return states.data();
}

otca::AllOutputs OutputPointers(void* const (&p)[kOutputCount]) {
  otca::AllOutputs o;
  auto f = [&](int k) { return static_cast<float*>(p[k]); };
  o.trajectory = {f(kSimilarity), f(kDeltaS), f(kRawWeights), f(kStepWeights), f(kTrajectoryScore)};
  o.objective = {f(kObjectiveAdvantages), f(kExploration), f(kLambda), f(kCoefficients), f(kFused)};
  o.advantages = f(kAdvantages);
  return o;
}

// The run's groups on the host: contiguous, or built from the ids in the slot's GroupIndex.
otca::Groups HostGroups(const Job& job, otca::GroupIndex& index, int64_t N) {
  if (job.groupSize > 0) {
    otca::Groups g;
    g.size = job.groupSize;
    g.count = N / job.groupSize;
    return g;
  }
  return index.build(job.groupIds, N);
}

}  // namespace

void Job::Run() {
  if (plan->device >= 0) RunCuda();
  else RunCpu();
}

void Job::RunCpu() {
  // stacked: the core places the states in the run's slot; a list: its T+1 pointers here
  const void* base = nullptr;
  lat.states = nullptr;
  if (!latentBuffers.empty()) {
    if (stacked) {
      base = latentBuffers[0].host;
    } else {
      hostStates.clear();
      for (const Buffer& b : latentBuffers) hostStates.push_back(b.host);
      lat.states = hostStates.data();
    }
  }
  rew.data = rewards.host;
  void* out[kOutputCount];
  for (int k = 0; k < kOutputCount; ++k) out[k] = outputs[k].host;
  otca::GroupsArg groups;
  groups.size = groupSize;
  groups.ids = groupIds;
  otca::run_cpu(*plan, static_cast<otca::RunKind>(kind), lat, base, rew, static_cast<const float*>(trajectoryScore.host),
                groups, OutputPointers(out));
}

// Host inputs (and group arrays) are copied into the context's staging block on its stream, host
// outputs are computed there and copied back; device buffers are used in place.
void Job::RunCuda() {
  auto slot = plan->Take();
  otca::gpu::Context& ctx = *slot->gpu;
  const int64_t N = kind == JobKind::Trajectory ? lat.N : rew.N;
  otca::Groups groups;
  const bool needGroups = kind != JobKind::Trajectory;
  if (needGroups) groups = HostGroups(*this, slot->groups, N);
  const size_t groupBytes = needGroups && groups.size == 0 ? slot->groups.arrays.size() * sizeof(int64_t) : 0;

  const auto align = [](size_t n) { return (n + 255) / 256 * 256; };
  size_t total = align(groupBytes);
  for (const Buffer& b : latentBuffers) if (b.host) total += align(b.bytes);
  if (rewards.host) total += align(rewards.bytes);
  if (trajectoryScore.host) total += align(trajectoryScore.bytes);
  for (const Buffer& b : outputs) if (b.host) total += align(b.bytes);
  char* staging = total > 0 ? static_cast<char*>(otca::gpu::context_staging(ctx, total)) : nullptr;
  size_t used = 0;
  const auto place = [&](size_t bytes) {
    char* p = staging + used;
    used += align(bytes);
    return p;
  };
  const auto in = [&](const Buffer& b) -> void* {
    if (!b.present()) return nullptr;
    if (b.host == nullptr) return b.device;
    void* d = place(b.bytes);
    otca::gpu::copy_async(ctx, d, b.host, b.bytes, 0);
    return d;
  };
  if (groupBytes > 0) {  // the three arrays, in their host layout, on the device
    int64_t* d = reinterpret_cast<int64_t*>(place(groupBytes));
    otca::gpu::copy_async(ctx, d, slot->groups.arrays.data(), groupBytes, 0);
    const int64_t B = groups.count;
    groups.offsets = d;
    groups.members = d + B + 1;
    groups.groupOf = d + B + 1 + N;
  }
  lat.states = StatePointers(*this, slot->states, [&](const Buffer& b) -> const void* { return in(b); });
  rew.data = in(rewards);
  const float* q = static_cast<const float*>(in(trajectoryScore));
  void* out[kOutputCount];
  for (int k = 0; k < kOutputCount; ++k) {
    out[k] = !outputs[k].present() ? nullptr : outputs[k].host == nullptr ? outputs[k].device : place(outputs[k].bytes);
  }
  const otca::AllOutputs o = OutputPointers(out);
  const otca::Options& opt = plan->options.options;
  switch (kind) {
    case JobKind::Advantages:
      otca::gpu::advantages(ctx, lat, rew, groups, opt, plan->options.factors(), o);
      break;
    case JobKind::Trajectory:
      otca::gpu::trajectory_credit(ctx, lat, opt, o.trajectory);
      break;
    case JobKind::Objective:
      otca::gpu::objective_credit(ctx, rew, q, groups, opt, plan->options.factors(), o.objective);
      break;
  }
  bool copiedBack = false;
  for (int k = 0; k < kOutputCount; ++k) {
    if (outputs[k].host != nullptr) {
      otca::gpu::copy_async(ctx, outputs[k].host, out[k], outputs[k].bytes, 1);
      copiedBack = true;
    }
  }
  if (copiedBack) otca::gpu::context_synchronize(ctx);
}

}  // namespace otca_addon
