// Unwrapping and re-checking a NativeJob (lib/native.ts). Cheap checks only: kinds, integer
// ranges, exact buffer lengths, detached buffers. The option values are re-checked by the core's
// check_options(); the math is the core's.
#include "job.h"

#include <cmath>
#include <limits>
#include <mutex>
#include <utility>

namespace otca_addon {
namespace {

constexpr double kMaxSafeInteger = 9007199254740991.0;  // 2^53 - 1

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

[[noreturn]] void ThrowType(Napi::Env env, const std::string& expected, const std::string& arg,
                            const std::string& got) {
  throw Napi::TypeError::New(env, "Expected " + expected + " for " + arg + " but received " + got);
}

[[noreturn]] void ThrowRange(Napi::Env env, const std::string& expected, const std::string& arg,
                             const std::string& got) {
  throw Napi::RangeError::New(env, "Expected " + expected + " for " + arg + " but received " + got);
}

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

Napi::Object GetObject(Napi::Env env, const Napi::Value& v, const std::string& arg) {
  if (!v.IsObject() || v.IsArray() || v.IsFunction()) ThrowType(env, "object", arg, Describe(v));
  return v.As<Napi::Object>();
}

// a * b without overflow, or -1.
int64_t CheckedMul(int64_t a, int64_t b) {
  if (a < 0 || b < 0) return -1;
  if (a != 0 && b > std::numeric_limits<int64_t>::max() / a) return -1;
  return a * b;
}

// The TypedArray `v`, of element type `type`, not detached, with exactly `length` elements.
// Returns its data pointer; registers it for keep-alive when asked.
void* GetTypedArray(Napi::Env env, Job& job, bool keepAlive, const Napi::Value& v,
                    napi_typedarray_type type, const char* typeName, int64_t length,
                    const ArgName& arg) {
  const TypedArrayMemory m = TypedArrayOf(env, v, typeName, arg.str());
  if (m.type != type) ThrowType(env, typeName, arg.str(), "another TypedArray");
  if (m.detached) ThrowType(env, "a live (not detached) buffer", arg.str(), "a detached ArrayBuffer");
  if (length < 0 || static_cast<uint64_t>(m.length) != static_cast<uint64_t>(length)) {
    ThrowRange(env, "length " + std::to_string(length), arg.str(), "length " + std::to_string(m.length));
  }
  if (keepAlive) job.keepAlive.push_back(Napi::Persistent(v));
  return m.data;
}

// An input or output: a TypedArray as GetTypedArray checks it, or a device view on the job's
// device of exactly length * esize bytes.
Buffer GetBuffer(Napi::Env env, Job& job, bool keepAlive, const Napi::Value& v,
                 napi_typedarray_type type, const char* typeName, int64_t length, size_t esize,
                 const ArgName& arg) {
  Buffer b;
  if (!IsView(v)) {
    b.host = GetTypedArray(env, job, keepAlive, v, type, typeName, length, arg);
    b.bytes = static_cast<size_t>(length) * esize;
    return b;
  }
  DeviceView* view = v.As<Napi::External<DeviceView>>().Data();
  if (!view->alloc) view = UnwrapView(env, v, arg.str());  // released: throws the message
  const auto where = [&] { return "a cuda:" + std::to_string(view->device) + " buffer"; };
  if (job.device < 0) {
    ThrowType(env, "a host buffer (the CPU backend runs this call)", arg.str(), where());
  }
  if (view->device != job.device) {
    ThrowRange(env, "a buffer on cuda:" + std::to_string(job.device) + " (the call's device)", arg.str(),
               where());
  }
  if (length < 0 || CheckedMul(length, static_cast<int64_t>(esize)) < 0 ||
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

// The job header (lib/native.ts JOB_HEADER): every number of a call in one Float64Array, so a
// call reads one property instead of ~30 (each N-API property read by name costs ~0.1 us).
enum Slot : int {
  kSlotDevice, kSlotGroupSize, kSlotLatentDtype, kSlotN, kSlotT, kSlotD, kSlotStacked,
  kSlotRewardDtype, kSlotRewardN, kSlotK, kSlotTemporal, kSlotWeightScale, kSlotObjective,
  kSlotStdScope, kSlotExploration, kSlotMinWeight, kSlotStdCorrection, kSlotAdvClip, kSlotEpsAdv,
  kSlotEpsTcd, kSlotEpsMoca, kSlotEpsSolver, kSlotThreads, kSlotOutputMask, kSlotWeightFlags,
  kSlotCount
};

struct Header {
  const double* v = nullptr;
  double number(Slot s) const { return v[s]; }
};

int64_t HeaderInteger(Napi::Env env, const Header& h, Slot s, const char* arg, int64_t min, int64_t max) {
  const double d = h.number(s);
  if (!std::isfinite(d) || std::floor(d) != d || d < static_cast<double>(min) ||
      d > static_cast<double>(max) || d > kMaxSafeInteger) {
    ThrowRange(env, "integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]", arg,
               Napi::Number::New(env, d).ToString().Utf8Value());
  }
  return static_cast<int64_t>(d);
}

void ParseOptions(Napi::Env env, Job& job, const Napi::Object& desc, const Header& h, int64_t K) {
  otca::Options& opt = job.opt;
  opt.temporal = static_cast<otca::Temporal>(HeaderInteger(env, h, kSlotTemporal, "options.temporal", 0, 1));
  opt.weightScale =
      static_cast<otca::WeightScale>(HeaderInteger(env, h, kSlotWeightScale, "options.weightScale", 0, 1));
  opt.objective =
      static_cast<otca::Objective>(HeaderInteger(env, h, kSlotObjective, "options.objective", 0, 3));
  opt.stdScope = static_cast<otca::StdScope>(HeaderInteger(env, h, kSlotStdScope, "options.stdScope", 0, 1));
  opt.exploration = static_cast<otca::Exploration>(
      HeaderInteger(env, h, kSlotExploration, "options.explorationSignal", 0, 1));
  opt.minWeight = h.number(kSlotMinWeight);
  opt.stdCorrection =
      static_cast<int>(HeaderInteger(env, h, kSlotStdCorrection, "options.stdCorrection", 0, 1));
  opt.advClip = h.number(kSlotAdvClip);
  opt.epsAdv = h.number(kSlotEpsAdv);
  opt.epsTcd = h.number(kSlotEpsTcd);
  opt.epsMoca = h.number(kSlotEpsMoca);
  opt.epsSolver = h.number(kSlotEpsSolver);
  opt.threads = static_cast<int>(HeaderInteger(env, h, kSlotThreads, "options.threads", 0, 4096));

  // The weight arrays matter only where there are rewards (K known); they are copied.
  const int64_t flags = HeaderInteger(env, h, kSlotWeightFlags, "weight flags", 0, 3);
  auto vec = [&](int64_t bit, const char* property, const char* key, std::vector<double>& dst) -> const double* {
    if ((flags & bit) == 0 || K <= 0) return nullptr;
    Napi::Value v = GetOwn(env, desc, property);
    if (v.IsUndefined() || v.IsNull()) return nullptr;
    const double* p = static_cast<const double*>(
        GetTypedArray(env, job, false, v, napi_float64_array, "Float64Array", K, key));
    dst.assign(p, p + K);
    return dst.data();
  };
  opt.objectiveWeights = vec(1, "objectiveWeights", "options.objectiveWeights", job.objectiveWeights);
  opt.objectiveScale = vec(2, "objectiveScale", "options.objectiveScale", job.objectiveScale);
}

void ParseLatents(Napi::Env env, Job& job, const Napi::Object& desc, const Header& h, bool keepAlive) {
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
  bool stacked = h.number(kSlotStacked) != 0;
  napi_typedarray_type type =
      lat.dtype == otca::DType::Float32 ? napi_float32_array : napi_uint16_array;
  const char* typeName = lat.dtype == otca::DType::Float32 ? "Float32Array" : "Uint16Array";
  size_t esize = otca::dtype_size(lat.dtype);

  Napi::Value sv = GetOwn(env, desc, "states");
  if (!sv.IsArray()) ThrowType(env, "Array", "states", Describe(sv));
  Napi::Array states = sv.As<Napi::Array>();
  int64_t nd = CheckedMul(lat.N, lat.D);
  int64_t per = CheckedMul(lat.T + 1, lat.D);
  int64_t total = CheckedMul(lat.N, per);
  if (nd < 0 || per < 0 || total < 0 || CheckedMul(total, static_cast<int64_t>(esize)) < 0) {
    ThrowRange(env, "N*(T+1)*D that fits in memory", "latents", "N=" + std::to_string(lat.N) +
               ", T=" + std::to_string(lat.T) + ", D=" + std::to_string(lat.D));
  }
  job.stacked = stacked;
  job.latentBuffers.clear();
  if (stacked) {
    if (states.Length() != 1) {
      ThrowRange(env, "1 buffer", "states", std::to_string(states.Length()) + " buffers");
    }
    job.latentBuffers.push_back(
        GetBuffer(env, job, keepAlive, GetOwn(env, states, 0u), type, typeName, total, esize, "latents"));
    lat.sampleStride = per;
  } else {
    if (static_cast<int64_t>(states.Length()) != lat.T + 1) {
      ThrowRange(env, "T+1 (" + std::to_string(lat.T + 1) + ") states", "latents",
                 std::to_string(states.Length()));
    }
    job.latentBuffers.reserve(static_cast<size_t>(lat.T + 1));
    for (int64_t j = 0; j <= lat.T; ++j) {
      job.latentBuffers.push_back(GetBuffer(env, job, keepAlive,
                                            GetOwn(env, states, static_cast<uint32_t>(j)), type, typeName,
                                            nd, esize, ArgName("latents", j)));
    }
    lat.sampleStride = lat.D;
  }
  lat.states = nullptr;  // set in Run(), where the state pointers are known
}

void ParseRewards(Napi::Env env, Job& job, const Napi::Object& desc, const Header& h, bool keepAlive) {
  int64_t dt = HeaderInteger(env, h, kSlotRewardDtype, "rewards.dtype", 0, 1);
  otca::Rewards& rew = job.rew;
  rew.dtype = static_cast<otca::DType>(dt);
  constexpr int64_t kMax = static_cast<int64_t>(kMaxSafeInteger);
  rew.N = HeaderInteger(env, h, kSlotRewardN, "rewards N", 1, kMax);
  rew.K = HeaderInteger(env, h, kSlotK, "rewards K", 1, kMax);
  int64_t nk = CheckedMul(rew.N, rew.K);
  if (nk < 0 || CheckedMul(nk, 8) < 0) {
    ThrowRange(env, "N*K that fits in memory", "rewards", std::to_string(rew.N) + "x" + std::to_string(rew.K));
  }
  bool f64 = rew.dtype == otca::DType::Float64;
  job.rewards = GetBuffer(env, job, keepAlive, GetOwn(env, desc, "rewards"),
                          f64 ? napi_float64_array : napi_float32_array,
                          f64 ? "Float64Array" : "Float32Array", nk, f64 ? 8 : 4, "rewards");
  rew.data = nullptr;  // set in Run()
}

// Output `index` (OutputIndex order = lib/native.ts OUTPUT_SLOTS) where the header's mask has it.
void GetOutput(Napi::Env env, Job& job, bool keepAlive, const Napi::Array& outs, int64_t mask,
               int64_t length, OutputIndex index) {
  if ((mask & (int64_t(1) << index)) == 0) return;
  static const char* const kArgs[kOutputCount] = {
      "outputs.similarity", "outputs.deltaS", "outputs.rawWeights", "outputs.stepWeights",
      "outputs.trajectoryScore", "outputs.objectiveAdvantages", "outputs.exploration",
      "outputs.lambda", "outputs.coefficients", "outputs.fused", "outputs.advantages"};
  Napi::Value v = GetOwn(env, outs, static_cast<uint32_t>(index));
  if (v.IsUndefined() || v.IsNull()) return;
  job.outputs[index] =
      GetBuffer(env, job, keepAlive, v, napi_float32_array, "Float32Array", length, 4, kArgs[index]);
}

// Leases a stream of `device` from a small process-wide pool (stream creation costs more than a
// small call); a stream whose call failed is destroyed, not returned.
class StreamLease {
 public:
  explicit StreamLease(int device) : device_(device) {
    {
      std::lock_guard<std::mutex> lock(Mutex());
      auto& idle = Idle();
      for (size_t k = idle.size(); k-- > 0;) {
        if (idle[k].first == device) {
          stream_ = idle[k].second;
          idle.erase(idle.begin() + static_cast<std::ptrdiff_t>(k));
          return;
        }
      }
    }
    stream_ = otca::gpu::stream_create(device);
  }
  ~StreamLease() {
    if (!ok_) {
      otca::gpu::stream_destroy(device_, stream_);
      return;
    }
    std::lock_guard<std::mutex> lock(Mutex());
    if (Idle().size() < 32) Idle().emplace_back(device_, stream_);
    else otca::gpu::stream_destroy(device_, stream_);
  }
  StreamLease(const StreamLease&) = delete;
  StreamLease& operator=(const StreamLease&) = delete;
  void* get() const { return stream_; }
  void succeeded() { ok_ = true; }

 private:
  static std::mutex& Mutex() {
    static std::mutex m;
    return m;
  }
  static std::vector<std::pair<int, void*>>& Idle() {
    static auto* idle = new std::vector<std::pair<int, void*>>();  // never destroyed: exit order
    return *idle;
  }
  int device_;
  void* stream_ = nullptr;
  bool ok_ = false;
};

// One device block for a call's host inputs and host outputs, freed on every path.
class Staging {
 public:
  explicit Staging(int device) : device_(device) {}
  ~Staging() { CachedDeviceFree(device_, base_, capacity_); }
  Staging(const Staging&) = delete;
  Staging& operator=(const Staging&) = delete;
  // Reserves room for `b` when it is host memory (256-byte aligned, as cudaMalloc's own blocks).
  void Reserve(const Buffer& b) {
    if (b.host != nullptr) total_ += Align(b.bytes);
  }
  void Allocate() {
    if (total_ > 0) base_ = CachedDeviceMalloc(device_, total_, &capacity_);
  }
  // The device address of `b`: its own for device memory, the next staging slot for host memory.
  void* Place(const Buffer& b) {
    if (b.host == nullptr) return b.device;
    void* p = static_cast<char*>(base_) + used_;
    used_ += Align(b.bytes);
    return p;
  }

 private:
  static size_t Align(size_t n) { return (n + 255) / 256 * 256; }
  int device_;
  void* base_ = nullptr;
  size_t total_ = 0, used_ = 0, capacity_ = 0;
};

}  // namespace

TypedArrayMemory TypedArrayOf(Napi::Env env, const Napi::Value& v, const std::string& expected,
                              const std::string& arg) {
  if (!v.IsTypedArray()) ThrowType(env, expected, arg, Describe(v));
  TypedArrayMemory m;
  napi_value buffer = nullptr;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, v, &m.type, &m.length, &m.data, &buffer, &offset) != napi_ok) {
    ThrowType(env, expected, arg, "an unreadable TypedArray");
  }
  bool isArrayBuffer = false, detached = false;
  if (napi_is_arraybuffer(env, buffer, &isArrayBuffer) == napi_ok && isArrayBuffer &&
      napi_is_detached_arraybuffer(env, buffer, &detached) == napi_ok && detached) {
    m.detached = true;
    m.data = nullptr;
    m.length = 0;
  }
  size_t elementBytes = 1;
  switch (m.type) {
    case napi_int16_array: case napi_uint16_array: elementBytes = 2; break;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: elementBytes = 4; break;
    case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: elementBytes = 8; break;
    default: break;
  }
  m.byteLength = m.length * elementBytes;
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

std::unique_ptr<Job> ParseJob(Napi::Env env, Napi::Value descValue, JobKind kind, bool keepAlive) {
  Napi::Object desc = GetObject(env, descValue, "job");
  auto job = std::make_unique<Job>();
  job->kind = kind;
  Header h;
  {
    Napi::Value hv = GetOwn(env, desc, "header");
    h.v = static_cast<const double*>(
        GetTypedArray(env, *job, false, hv, napi_float64_array, "Float64Array", kSlotCount, "header"));
  }
  job->device = static_cast<int>(HeaderInteger(env, h, kSlotDevice, "device", -1, 1023));

  int64_t N = 0, T = 0, K = 0;
  if (kind != JobKind::Objective) {
    ParseLatents(env, *job, desc, h, keepAlive);
    N = job->lat.N;
    T = job->lat.T;
  }
  if (kind != JobKind::Trajectory) {
    ParseRewards(env, *job, desc, h, keepAlive);
    K = job->rew.K;
    if (kind == JobKind::Advantages && job->rew.N != N) {
      ThrowRange(env, "N (" + std::to_string(N) + ") rows as in latents", "rewards",
                 std::to_string(job->rew.N));
    }
    N = job->rew.N;
    job->groupSize = HeaderInteger(env, h, kSlotGroupSize, "groupSize", 1, N);
    if (N % job->groupSize != 0) {
      ThrowRange(env, "N (" + std::to_string(N) + ") divisible by groupSize", "groupSize",
                 std::to_string(job->groupSize));
    }
    if (kind == JobKind::Objective) {
      job->trajectoryScore = GetBuffer(env, *job, keepAlive, GetOwn(env, desc, "trajectoryScore"),
                                       napi_float32_array, "Float32Array", N, 4, "trajectoryScore");
    }
  }
  ParseOptions(env, *job, desc, h, K);
  TranslateErrors(env, [&] { otca::check_options(job->opt, K > 0 ? K : 1); });

  const int64_t mask = HeaderInteger(env, h, kSlotOutputMask, "outputMask", 0, (int64_t(1) << kOutputCount) - 1);
  Napi::Value ov = GetOwn(env, desc, "outputs");
  if (!ov.IsArray()) ThrowType(env, "Array", "outputs", Describe(ov));
  Napi::Array outs = ov.As<Napi::Array>();
  bool keep = keepAlive;
  if (kind != JobKind::Objective) {
    GetOutput(env, *job, keep, outs, mask, CheckedMul(N, T + 1), kSimilarity);
    GetOutput(env, *job, keep, outs, mask, CheckedMul(N, T), kDeltaS);
    GetOutput(env, *job, keep, outs, mask, CheckedMul(N, T), kRawWeights);
    GetOutput(env, *job, keep, outs, mask, CheckedMul(N, T), kStepWeights);
    GetOutput(env, *job, keep, outs, mask, N, kTrajectoryScore);
  }
  if (kind != JobKind::Trajectory) {
    GetOutput(env, *job, keep, outs, mask, CheckedMul(N, K), kObjectiveAdvantages);
    GetOutput(env, *job, keep, outs, mask, N, kExploration);
    GetOutput(env, *job, keep, outs, mask, N, kLambda);
    GetOutput(env, *job, keep, outs, mask, CheckedMul(N, K), kCoefficients);
    GetOutput(env, *job, keep, outs, mask, N, kFused);
  }
  if (kind == JobKind::Advantages) {
    GetOutput(env, *job, keep, outs, mask, CheckedMul(N, T), kAdvantages);
  }
  return job;
}

namespace {

// The core's state pointers from the latent buffers' addresses (host or device).
std::vector<const void*> StatePointers(const Job& job, const std::vector<void*>& base) {
  std::vector<const void*> states;
  if (base.empty()) return states;  // phase 2: no latents
  const size_t esize = otca::dtype_size(job.lat.dtype);
  for (int64_t j = 0; j <= job.lat.T; ++j) {
    states.push_back(job.stacked ? static_cast<const char*>(base[0]) +
                                       static_cast<size_t>(j * job.lat.D) * esize
                                 : base[static_cast<size_t>(j)]);
  }
  return states;
}

otca::AllOutputs OutputPointers(void* const (&p)[kOutputCount]) {
  otca::AllOutputs o;
  auto f = [&](int k) { return static_cast<float*>(p[k]); };
  o.trajectory = {f(kSimilarity), f(kDeltaS), f(kRawWeights), f(kStepWeights), f(kTrajectoryScore)};
  o.objective = {f(kObjectiveAdvantages), f(kExploration), f(kLambda), f(kCoefficients), f(kFused)};
  o.advantages = f(kAdvantages);
  return o;
}

}  // namespace

void Job::Run() {
  if (device >= 0) RunCuda();
  else RunCpu();
}

void Job::RunCpu() {
  std::vector<void*> base;
  for (const Buffer& b : latentBuffers) base.push_back(b.host);
  std::vector<const void*> states = StatePointers(*this, base);
  lat.states = states.empty() ? nullptr : states.data();
  rew.data = rewards.host;
  void* out[kOutputCount];
  for (int k = 0; k < kOutputCount; ++k) out[k] = outputs[k].host;
  const otca::AllOutputs o = OutputPointers(out);
  const float* q = static_cast<const float*>(trajectoryScore.host);
  switch (kind) {
    case JobKind::Advantages:
      otca::cpu::advantages(lat, rew, groupSize, opt, o);
      break;
    case JobKind::Trajectory:
      otca::cpu::trajectory_credit(lat, opt, o.trajectory);
      break;
    case JobKind::Objective:
      otca::cpu::objective_credit(rew, q, groupSize, opt, o.objective);
      break;
  }
}

// Host inputs are copied into one staging block on the call's stream, host outputs are computed
// there and copied back; device buffers are used in place. The gpu:: calls block until done.
void Job::RunCuda() {
  StreamLease stream(device);
  Staging staging(device);
  for (const Buffer& b : latentBuffers) staging.Reserve(b);
  staging.Reserve(rewards);
  staging.Reserve(trajectoryScore);
  for (const Buffer& b : outputs) staging.Reserve(b);
  staging.Allocate();

  auto in = [&](const Buffer& b) -> void* {
    if (!b.present()) return nullptr;
    void* d = staging.Place(b);
    if (b.host != nullptr) otca::gpu::copy(device, d, b.host, b.bytes, 0, stream.get());
    return d;
  };
  std::vector<void*> base;
  for (const Buffer& b : latentBuffers) base.push_back(in(b));
  std::vector<const void*> states = StatePointers(*this, base);
  lat.states = states.empty() ? nullptr : states.data();
  rew.data = in(rewards);
  const float* q = static_cast<const float*>(in(trajectoryScore));
  void* out[kOutputCount];
  for (int k = 0; k < kOutputCount; ++k) out[k] = outputs[k].present() ? staging.Place(outputs[k]) : nullptr;
  const otca::AllOutputs o = OutputPointers(out);

  switch (kind) {
    case JobKind::Advantages:
      otca::gpu::advantages(device, lat, rew, groupSize, opt, o, stream.get());
      break;
    case JobKind::Trajectory:
      otca::gpu::trajectory_credit(device, lat, opt, o.trajectory, stream.get());
      break;
    case JobKind::Objective:
      otca::gpu::objective_credit(device, rew, q, groupSize, opt, o.objective, stream.get());
      break;
  }
  bool copiedBack = false;
  for (int k = 0; k < kOutputCount; ++k) {
    if (outputs[k].host != nullptr) {
      otca::gpu::copy(device, outputs[k].host, out[k], outputs[k].bytes, 1, stream.get());
      copiedBack = true;
    }
  }
  if (copiedBack) otca::gpu::stream_synchronize(device, stream.get());
  stream.succeeded();
}

}  // namespace otca_addon
