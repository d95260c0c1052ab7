// The host side of otca::gpu (otca.h): status, memory, streams, and the three computations, which
// check their arguments, take a workspace, launch (advantage_step.cu), synchronise and turn the
// non-finite flags into the CPU backend's RangeErrors.
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "gpu_launch.cuh"
#include "gpu_testing.cuh"
#include "otca.h"
#include "otca_math.h"
#include "step_args.cuh"

#ifndef OTCA_CUDA_ARCHITECTURES_STRING
#define OTCA_CUDA_ARCHITECTURES_STRING "unknown"
#endif

namespace otca {
namespace gpu {

using detail::Bookkeeping;
using detail::Mailbox;
using detail::StepArgs;

namespace {

std::string error_text(cudaError_t e) {
  return std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
}

std::string device_name(int device) { return "cuda:" + std::to_string(device); }

std::string bytes_text(size_t bytes) {
  char buf[64];
  const double b = static_cast<double>(bytes);
  if (b >= 1024.0 * 1024 * 1024) std::snprintf(buf, sizeof buf, "%.1f GiB", b / (1024.0 * 1024 * 1024));
  else if (b >= 1024.0 * 1024) std::snprintf(buf, sizeof buf, "%.1f MiB", b / (1024.0 * 1024));
  else if (b >= 1024.0) std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024.0);
  else std::snprintf(buf, sizeof buf, "%zu bytes", bytes);
  return buf;
}

// "cudaErrorMemoryAllocation while allocating 1.2 GiB for the workspace on cuda:0"
void check(cudaError_t e, const std::string& operation, int device) {
  if (e == cudaSuccess) return;
  throw DeviceError(std::string(cudaGetErrorName(e)) + " while " + operation + " on " +
                    device_name(device) + " (" + cudaGetErrorString(e) + ")");
}

void use_device(int device) {
  int current = -1;
  if (cudaGetDevice(&current) == cudaSuccess && current == device) return;
  check(cudaSetDevice(device), "selecting the device", device);
}

[[noreturn]] void range_error(const std::string& expected, const char* what, const std::string& got) {
  throw RangeError("Expected " + expected + " for " + what + " but received " + got);
}

const char* non_finite_name(double v) {
  return std::isnan(v) ? "NaN" : (v > 0 ? "Infinity" : "-Infinity");
}

math::Params params_of(const Options& opt) {
  math::Params p;
  p.temporal = static_cast<int>(opt.temporal);
  p.weightScale = static_cast<int>(opt.weightScale);
  p.objective = static_cast<int>(opt.objective);
  p.stdScope = static_cast<int>(opt.stdScope);
  p.exploration = static_cast<int>(opt.exploration);
  p.stdCorrection = opt.stdCorrection;
  p.minWeight = opt.minWeight;
  p.advClip = opt.advClip;
  p.epsAdv = opt.epsAdv;
  p.epsTcd = opt.epsTcd;
  p.epsMoca = opt.epsMoca;
  p.epsSolver = opt.epsSolver;
  return p;
}

// ------------------------------------------------------------------ workspaces
// One per concurrent call: a call takes one from its device's pool and returns it after it has
// synchronised, so no two launches ever share counters. Device part: Bookkeeping, the per-sample
// and per-group counters (nCapacity each; self-resetting), then the float64/float32 scratch.
struct Workspace {
  int device = 0;
  char* dev = nullptr;
  size_t bytes = 0;
  int64_t nCapacity = 0;
  Mailbox* mailbox = nullptr;        // pinned, mapped
  Mailbox* mailboxDev = nullptr;
  char* staging = nullptr;           // pinned: state pointers and objective arrays beyond inline
  size_t stagingBytes = 0;
  unsigned long long* firstDev = nullptr;  // in dev: the non-finite scan's answer
};

constexpr size_t kAlign = 256;
size_t round_up(size_t x) { return (x + kAlign - 1) / kAlign * kAlign; }

struct Layout {
  size_t book, counters, first, part, sums, Sd, prod, wF, qF, fF, Ad, gstat, statesDev, objDev, total;
};

Layout layout_for(int64_t N, int64_t T, int64_t chunks, int64_t K, int64_t B, int64_t nCap) {
  Layout l{};
  size_t at = 0;
  const auto take = [&](size_t bytes) { const size_t here = at; at += round_up(bytes); return here; };
  l.book = take(sizeof(Bookkeeping));
  l.counters = take(sizeof(unsigned int) * 2 * static_cast<size_t>(nCap));
  l.first = take(sizeof(unsigned long long));
  l.part = take(sizeof(double) * 2 * N * (T + 1) * chunks);
  l.sums = take(sizeof(double) * 2 * N * (T + 1));
  l.Sd = take(sizeof(double) * N * (T + 1));
  l.prod = take(sizeof(double) * N * T);
  l.wF = take(sizeof(float) * N * T);
  l.qF = take(sizeof(float) * N);
  l.fF = take(sizeof(float) * N);
  l.Ad = take(sizeof(double) * N * K);
  l.gstat = take(sizeof(double) * 2 * B * (K + 1));
  l.statesDev = take(sizeof(void*) * (T + 1));
  l.objDev = take(sizeof(double) * 2 * K);
  l.total = at;
  return l;
}

struct Pool {
  std::mutex mutex;
  std::vector<Workspace*> free[64];
};
Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: calls may run during process teardown
  return *p;
}

void release_memory(Workspace* w) {
  if (w->dev) cudaFree(w->dev);
  w->dev = nullptr;
  w->bytes = 0;
  w->nCapacity = 0;
}

// A workspace with room for this call, its counters zeroed and flags cleared.
Workspace* acquire(int device, cudaStream_t stream, int64_t N, int64_t T, int64_t chunks, int64_t K,
                   int64_t B, Layout& layout) {
  if (device < 0 || device >= 64) range_error("a device index in [0, 64)", "device", std::to_string(device));
  Workspace* w = nullptr;
  {
    std::lock_guard<std::mutex> lock(pool().mutex);
    auto& list = pool().free[device];
    if (!list.empty()) {
      w = list.back();
      list.pop_back();
    }
  }
  if (!w) {
    w = new Workspace();
    w->device = device;
    void* mb = nullptr;
    const cudaError_t e = cudaHostAlloc(&mb, sizeof(Mailbox), cudaHostAllocMapped);
    if (e != cudaSuccess) {
      delete w;
      check(e, "allocating the pinned result mailbox", device);
    }
    w->mailbox = static_cast<Mailbox*>(mb);
    void* mbDev = nullptr;
    check(cudaHostGetDevicePointer(&mbDev, mb, 0), "mapping the pinned result mailbox", device);
    w->mailboxDev = static_cast<Mailbox*>(mbDev);
  }
  const int64_t nCap = N > w->nCapacity ? N : w->nCapacity;
  layout = layout_for(N, T, chunks, K, B, nCap);
  if (layout.total > w->bytes || N > w->nCapacity) {
    release_memory(w);
    const size_t bytes = layout.total + layout.total / 4;  // headroom for the next, slightly larger call
    void* p = nullptr;
    cudaError_t e = cudaMalloc(&p, bytes);
    if (e != cudaSuccess) {
      cudaGetLastError();
      delete w;  // (its mailbox leaks: a few bytes, on an out-of-memory path)
      throw DeviceError(std::string(cudaGetErrorName(e)) + " while allocating " + bytes_text(bytes) +
                        " for the workspace on " + device_name(device));
    }
    w->dev = static_cast<char*>(p);
    w->bytes = bytes;
    w->nCapacity = nCap;
    // counters 0, then flags none (all ones); done once per allocation, the kernels self-reset
    // (on the call's stream: a plain cudaMemset would not be ordered before a non-blocking stream)
    check(cudaMemsetAsync(w->dev, 0, layout.first, stream), "clearing the workspace", device);
    check(cudaMemsetAsync(w->dev, 0xff, 3 * sizeof(unsigned long long), stream), "clearing the workspace", device);
  }
  w->firstDev = reinterpret_cast<unsigned long long*>(w->dev + layout.first);
  return w;
}

void give_back(Workspace* w) {
  std::lock_guard<std::mutex> lock(pool().mutex);
  pool().free[w->device].push_back(w);
}

// Returns the workspace to the pool unless the call failed with a CUDA error (then the counters
// may be mid-launch: the memory is dropped and reallocated next time).
struct Lease {
  Workspace* w;
  bool healthy = false;
  ~Lease() {
    if (!w) return;
    if (!healthy) release_memory(w);
    give_back(w);
  }
};

void ensure_staging(Workspace* w, size_t bytes) {
  if (w->stagingBytes >= bytes) return;
  if (w->staging) cudaFreeHost(w->staging);
  w->staging = nullptr;
  w->stagingBytes = 0;
  void* p = nullptr;
  check(cudaHostAlloc(&p, bytes, cudaHostAllocDefault), "allocating " + bytes_text(bytes) + " of pinned staging", w->device);
  w->staging = static_cast<char*>(p);
  w->stagingBytes = bytes;
}

// ------------------------------------------------------------------ argument checks (cheap)

void check_latents(const Latents& lat) {
  if (lat.dtype != DType::Float32 && lat.dtype != DType::Float16 && lat.dtype != DType::BFloat16)
    throw TypeError(std::string("Expected dtype float32, float16 or bfloat16 for latents but received ") +
                    dtype_name(lat.dtype));
  if (lat.N < 0) range_error("integer >= 0", "latents' sample count N", std::to_string(lat.N));
  if (lat.T < 1) range_error("at least 2 states (T >= 1)", "latents", std::to_string(lat.T + 1) + " states");
  if (lat.D < 1) range_error("latent size D >= 1", "latents", std::to_string(lat.D));
  if (lat.N > 1 && lat.sampleStride < lat.D)
    range_error("sampleStride >= D", "latents", std::to_string(lat.sampleStride));
  if (lat.N > 0 && !lat.states) range_error("T+1 state pointers", "latents", "none");
  for (int64_t j = 0; lat.N > 0 && j <= lat.T; ++j)
    if (!lat.states[j]) range_error("a buffer", "latents", "none at state " + std::to_string(j));
}

void check_rewards(const Rewards& rew, int64_t groupSize) {
  if (rew.dtype != DType::Float32 && rew.dtype != DType::Float64)
    throw TypeError(std::string("Expected dtype float32 or float64 for rewards but received ") +
                    dtype_name(rew.dtype));
  if (rew.K < 1) range_error("at least 1 objective (K >= 1)", "rewards", std::to_string(rew.K));
  if (rew.N < 0) range_error("integer >= 0", "rewards' sample count N", std::to_string(rew.N));
  if (rew.N > 0 && !rew.data) range_error("a buffer", "rewards", "none");
  if (groupSize < 1) range_error("integer >= 1", "groupSize", std::to_string(groupSize));
  if (rew.N % groupSize != 0)
    range_error("a divisor of the sample count " + std::to_string(rew.N), "groupSize",
                std::to_string(groupSize));
}

int dtype_code(DType d) { return static_cast<int>(d); }

// ------------------------------------------------------------------ one call

struct Call {
  int device;
  cudaStream_t stream;
  Lease lease{nullptr};
  Layout layout{};
  StepArgs a{};
};

void fill_latents(Call& call, const Latents& lat) {
  StepArgs& a = call.a;
  a.N = lat.N;
  a.T = lat.T;
  a.D = lat.D;
  a.stride = lat.sampleStride;
  a.chunks = (lat.D + detail::kChunk - 1) / detail::kChunk;
  const int64_t blocks = lat.N * a.chunks;
  if (blocks > 0x7fffffffLL || a.chunks > 0xffffffffLL)
    range_error("at most 2^31-1 blocks of 2048 elements", "latents", std::to_string(blocks) + " blocks");
  for (int64_t j = 0; j <= lat.T && j < detail::kInlineStates; ++j) a.states[j] = lat.states[j];
}

void fill_objectives(Call& call, const Options& opt, int64_t K) {
  StepArgs& a = call.a;
  a.K = K;
  if (K <= detail::kInlineObjectives) {
    for (int64_t k = 0; k < K; ++k) {
      a.weights[k] = opt.objectiveWeights ? opt.objectiveWeights[k] : 1.0;
      a.scale[k] = opt.objectiveScale ? opt.objectiveScale[k] : 1.0;
    }
  }
}

// Points the arguments at the workspace and copies what does not fit in the parameter block.
void bind_workspace(Call& call, const Options* opt) {
  StepArgs& a = call.a;
  Workspace* w = call.lease.w;
  const Layout& l = call.layout;
  char* base = w->dev;
  a.book = reinterpret_cast<Bookkeeping*>(base + l.book);
  a.sampleCount = reinterpret_cast<unsigned int*>(base + l.counters);
  a.groupCount = a.sampleCount + w->nCapacity;
  a.part = reinterpret_cast<double*>(base + l.part);
  a.sums = reinterpret_cast<double*>(base + l.sums);
  a.Sd = reinterpret_cast<double*>(base + l.Sd);
  a.prod = reinterpret_cast<double*>(base + l.prod);
  if (!a.w) a.wF = reinterpret_cast<float*>(base + l.wF);
  if (!a.qF) a.qF = reinterpret_cast<float*>(base + l.qF);
  a.fF = reinterpret_cast<float*>(base + l.fF);
  a.Ad = reinterpret_cast<double*>(base + l.Ad);
  a.gstat = reinterpret_cast<double*>(base + l.gstat);
  a.mailbox = w->mailboxDev;

  const bool manyStates = a.mode != detail::kObjective && a.T + 1 > detail::kInlineStates;
  const bool manyObjectives = a.mode != detail::kTrajectory && a.K > detail::kInlineObjectives;
  if (!manyStates && !manyObjectives) return;
  // one pinned staging copy; safe to overwrite: the workspace's previous call has synchronised
  const size_t statesBytes = manyStates ? sizeof(void*) * (a.T + 1) : 0;
  const size_t objBytes = manyObjectives ? sizeof(double) * 2 * a.K : 0;
  ensure_staging(w, statesBytes + objBytes);
  if (manyStates) {
    std::memcpy(w->staging, call.a.statesDev, statesBytes);  // statesDev holds the host array here
    check(cudaMemcpyAsync(base + l.statesDev, w->staging, statesBytes, cudaMemcpyHostToDevice, call.stream),
          "copying the latent state pointers", call.device);
    a.statesDev = reinterpret_cast<const void* const*>(base + l.statesDev);
  }
  if (manyObjectives) {
    double* h = reinterpret_cast<double*>(w->staging + statesBytes);
    for (int64_t k = 0; k < a.K; ++k) {
      h[k] = opt->objectiveWeights ? opt->objectiveWeights[k] : 1.0;
      h[a.K + k] = opt->objectiveScale ? opt->objectiveScale[k] : 1.0;
    }
    check(cudaMemcpyAsync(base + l.objDev, h, objBytes, cudaMemcpyHostToDevice, call.stream),
          "copying the objective weights", call.device);
    a.weightsDev = reinterpret_cast<const double*>(base + l.objDev);
    a.scaleDev = a.weightsDev + a.K;
  }
}

// Stream-ordered: the stream may be non-blocking, so a plain cudaMemcpy would not wait for it.
template <class T>
T read_back(const void* devicePtr, int device, cudaStream_t stream) {
  T v{};
  check(cudaMemcpyAsync(&v, devicePtr, sizeof(T), cudaMemcpyDeviceToHost, stream), "reading a non-finite value back", device);
  check(cudaStreamSynchronize(stream), "reading a non-finite value back", device);
  return v;
}

float element_value(DType dt, const void* p, int device, cudaStream_t stream) {
  if (dt == DType::Float32) return read_back<float>(p, device, stream);
  const uint16_t h = read_back<uint16_t>(p, device, stream);
  if (dt == DType::BFloat16) {
    const uint32_t u = static_cast<uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
  }
  // float16: only its class matters here
  if ((h & 0x7c00u) != 0x7c00u) return 0.0f;
  if (h & 0x03ffu) return NAN;
  return (h & 0x8000u) ? -INFINITY : INFINITY;
}

thread_local cudaEvent_t timingStart = nullptr, timingStop = nullptr;

// Launch, wait, and turn the flags into errors (rewards first, as the CPU backend checks them
// before any work; then latents, then trajectory scores).
void run(Call& call, const Latents* lat, const Rewards* rew) {
  Workspace* w = call.lease.w;
  StepArgs& a = call.a;
  *static_cast<volatile unsigned long long*>(&w->mailbox->finished) = 0ull;
  const int dt = lat ? dtype_code(lat->dtype) : 0;
  if (timingStart) check(cudaEventRecord(timingStart, call.stream), "recording a timing event", call.device);
  const cudaError_t launched = a.mode == detail::kObjective ? launch::objective_step(a, call.stream)
                                                            : launch::advantage_step(a, dt, call.stream);
  check(launched, "launching the advantage kernel", call.device);
  if (timingStop) check(cudaEventRecord(timingStop, call.stream), "recording a timing event", call.device);
  check(cudaStreamSynchronize(call.stream), "running the advantage kernel", call.device);
  const volatile Mailbox* m = w->mailbox;
  if (m->finished != 1ull)
    throw DeviceError("cudaErrorUnknown while running the advantage kernel on " + device_name(call.device) +
                      " (the kernel did not publish its result)");
  const unsigned long long latentFlag = m->latentFlag, rewardFlag = m->rewardFlag, scoreFlag = m->scoreFlag;
  call.lease.healthy = true;  // the launch completed and reset its counters
  if (rewardFlag != detail::kNoFlag && rew) {
    const int64_t i = static_cast<int64_t>(rewardFlag / rew->K), k = static_cast<int64_t>(rewardFlag % rew->K);
    const size_t size = rew->dtype == DType::Float64 ? 8 : 4;
    const char* p = static_cast<const char*>(rew->data) + rewardFlag * size;
    const double v = size == 8 ? read_back<double>(p, call.device, call.stream) : read_back<float>(p, call.device, call.stream);
    range_error("finite values", "rewards", std::string(non_finite_name(v)) + " at sample " +
                std::to_string(i) + ", objective " + std::to_string(k));
  }
  if (latentFlag != detail::kNoFlag && lat) {
    const int64_t i = static_cast<int64_t>(latentFlag / (lat->T + 1));
    const int64_t jFlag = static_cast<int64_t>(latentFlag % (lat->T + 1));
    unsigned long long* first = w->firstDev;
    check(cudaMemsetAsync(first, 0xff, sizeof *first, call.stream), "scanning for non-finite latents", call.device);
    check(launch::first_non_finite(a, dt, i, first, call.stream), "scanning for non-finite latents", call.device);
    const unsigned long long x = read_back<unsigned long long>(first, call.device, call.stream);
    const std::string at = " at sample " + std::to_string(i) + ", state ";
    if (x == detail::kNoFlag)
      range_error("finite values", "latents",
                  "latents too large for float32 accumulation" + at + std::to_string(jFlag));
    const int64_t j = static_cast<int64_t>(x / lat->D), d = static_cast<int64_t>(x % lat->D);
    const size_t size = dtype_size(lat->dtype);
    const char* p = static_cast<const char*>(lat->states[j]) + (i * lat->sampleStride + d) * size;
    range_error("finite values", "latents",
                std::string(non_finite_name(element_value(lat->dtype, p, call.device, call.stream))) + at + std::to_string(j));
  }
  if (scoreFlag != detail::kNoFlag && a.mode == detail::kObjective) {
    const int64_t i = static_cast<int64_t>(scoreFlag);
    const float v = read_back<float>(a.qIn + i, call.device, call.stream);
    range_error("finite values", "trajectoryScore", std::string(non_finite_name(v)) + " at sample " + std::to_string(i));
  }
}

void start(Call& call, int device, void* stream) {
  call.device = device;
  call.stream = static_cast<cudaStream_t>(stream);
  use_device(device);
}

}  // namespace

// ------------------------------------------------------------------ public API

bool compiled() { return true; }

Status status() {
  static const Status cached = [] {
    Status s;
    s.compiled = true;
    s.architectures = OTCA_CUDA_ARCHITECTURES_STRING;
    cudaRuntimeGetVersion(&s.runtimeVersion);
    if (cudaDriverGetVersion(&s.driverVersion) != cudaSuccess) s.driverVersion = 0;
    int count = 0;
    const cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
      cudaGetLastError();
      s.reason = error_text(e);
      return s;
    }
    s.deviceCount = count;
    if (count < 1) {
      s.reason = "cudaErrorNoDevice: no CUDA-capable device is detected";
      return s;
    }
    // the kernels must have an image for device 0 (e.g. no SASS/PTX for an older GPU)
    int previous = 0;
    cudaGetDevice(&previous);
    cudaSetDevice(0);
    const cudaError_t k = launch::kernel_image_check();
    cudaSetDevice(previous);
    if (k != cudaSuccess) {
      cudaGetLastError();
      s.reason = error_text(k) + " (compiled for " + s.architectures + ")";
      return s;
    }
    s.usable = true;
    return s;
  }();
  return cached;
}

DeviceProps properties(int device) {
  cudaDeviceProp p;
  check(cudaGetDeviceProperties(&p, device), "reading the device properties", device);
  DeviceProps d;
  d.name = p.name;
  d.major = p.major;
  d.minor = p.minor;
  d.multiprocessors = p.multiProcessorCount;
  d.totalMemory = p.totalGlobalMem;
  d.l2Bytes = static_cast<size_t>(p.l2CacheSize);
  return d;
}

void* malloc_device(int device, size_t bytes) {
  use_device(device);
  void* p = nullptr;
  const cudaError_t e = cudaMalloc(&p, bytes > 0 ? bytes : 1);
  if (e != cudaSuccess) {
    cudaGetLastError();
    throw DeviceError(std::string(cudaGetErrorName(e)) + " while allocating " + bytes_text(bytes) +
                      " for a device tensor on " + device_name(device));
  }
  return p;
}

void free_device(int device, void* ptr) noexcept {
  if (!ptr) return;
  int current = -1;
  if (cudaGetDevice(&current) != cudaSuccess || current != device) cudaSetDevice(device);
  cudaFree(ptr);
  cudaGetLastError();
}

void* malloc_host_pinned(size_t bytes) {
  void* p = nullptr;
  const cudaError_t e = cudaHostAlloc(&p, bytes > 0 ? bytes : 1, cudaHostAllocPortable);
  if (e != cudaSuccess) {
    cudaGetLastError();
    throw DeviceError(std::string(cudaGetErrorName(e)) + " while allocating " + bytes_text(bytes) +
                      " of pinned host memory");
  }
  return p;
}

void free_host_pinned(void* ptr) noexcept {
  if (ptr) cudaFreeHost(ptr);
}

void copy(int device, void* dst, const void* src, size_t bytes, int kind, void* stream) {
  if (bytes == 0) return;
  use_device(device);
  const cudaMemcpyKind k = kind == 0 ? cudaMemcpyHostToDevice
                           : kind == 1 ? cudaMemcpyDeviceToHost
                                       : cudaMemcpyDeviceToDevice;
  const std::string op = "copying " + bytes_text(bytes) +
                         (kind == 0 ? " to the device" : kind == 1 ? " to the host" : " on the device");
  if (stream) check(cudaMemcpyAsync(dst, src, bytes, k, static_cast<cudaStream_t>(stream)), op, device);
  else check(cudaMemcpy(dst, src, bytes, k), op, device);
}

void* stream_create(int device) {
  use_device(device);
  cudaStream_t s = nullptr;
  check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "creating a stream", device);
  return s;
}

void stream_synchronize(int device, void* stream) {
  use_device(device);
  check(cudaStreamSynchronize(static_cast<cudaStream_t>(stream)), "synchronising a stream", device);
}

void stream_destroy(int device, void* stream) noexcept {
  if (!stream) return;
  int current = -1;
  if (cudaGetDevice(&current) != cudaSuccess || current != device) cudaSetDevice(device);
  cudaStreamDestroy(static_cast<cudaStream_t>(stream));
  cudaGetLastError();
}

void trajectory_credit(int device, const Latents& lat, const Options& opt, const TrajectoryOutputs& out,
                       void* stream) {
  check_options(opt, 0);
  check_latents(lat);
  if (lat.N == 0) return;
  Call call;
  start(call, device, stream);
  StepArgs& a = call.a;
  a.mode = detail::kTrajectory;
  a.p = params_of(opt);
  fill_latents(call, lat);
  a.statesDev = lat.states;  // host array until bind_workspace copies it
  a.S = out.similarity;
  a.dS = out.deltaS;
  a.wbar = out.rawWeights;
  a.w = out.stepWeights;
  a.wF = out.stepWeights;
  a.qF = out.trajectoryScore;
  call.lease.w = acquire(device, call.stream, lat.N, lat.T, a.chunks, 0, 0, call.layout);
  bind_workspace(call, &opt);
  run(call, &lat, nullptr);
}

void objective_credit(int device, const Rewards& rew, const float* trajectoryScore, int64_t groupSize,
                      const Options& opt, const ObjectiveOutputs& out, void* stream) {
  check_options(opt, rew.K);
  check_rewards(rew, groupSize);
  if (rew.N == 0) return;
  if (!trajectoryScore) range_error("a buffer", "trajectoryScore", "none");
  Call call;
  start(call, device, stream);
  StepArgs& a = call.a;
  a.mode = detail::kObjective;
  a.p = params_of(opt);
  a.N = rew.N;
  a.T = 0;
  a.G = groupSize;
  a.B = rew.N / groupSize;
  a.rewards = rew.data;
  a.rewardsF64 = rew.dtype == DType::Float64;
  a.qIn = trajectoryScore;
  fill_objectives(call, opt, rew.K);
  a.A = out.objectiveAdvantages;
  a.e = out.exploration;
  a.lam = out.lambda;
  a.c = out.coefficients;
  a.f = out.fused;
  call.lease.w = acquire(device, call.stream, rew.N, 0, 0, rew.K, a.B, call.layout);
  bind_workspace(call, &opt);
  run(call, nullptr, &rew);
}

void advantages(int device, const Latents& lat, const Rewards& rew, int64_t groupSize, const Options& opt,
                const AllOutputs& out, void* stream) {
  check_options(opt, rew.K);
  check_latents(lat);
  if (rew.N != lat.N)
    range_error(std::to_string(lat.N) + " samples (as latents)", "rewards", std::to_string(rew.N));
  check_rewards(rew, groupSize);
  if (lat.N == 0) return;
  Call call;
  start(call, device, stream);
  StepArgs& a = call.a;
  a.mode = detail::kBoth;
  a.p = params_of(opt);
  fill_latents(call, lat);
  a.statesDev = lat.states;
  a.G = groupSize;
  a.B = lat.N / groupSize;
  a.rewards = rew.data;
  a.rewardsF64 = rew.dtype == DType::Float64;
  fill_objectives(call, opt, rew.K);
  a.S = out.trajectory.similarity;
  a.dS = out.trajectory.deltaS;
  a.wbar = out.trajectory.rawWeights;
  a.w = out.trajectory.stepWeights;
  a.wF = out.trajectory.stepWeights;
  a.qF = out.trajectory.trajectoryScore;
  a.A = out.objective.objectiveAdvantages;
  a.e = out.objective.exploration;
  a.lam = out.objective.lambda;
  a.c = out.objective.coefficients;
  a.f = out.objective.fused;
  a.adv = out.advantages;
  call.lease.w = acquire(device, call.stream, lat.N, lat.T, a.chunks, rew.K, a.B, call.layout);
  bind_workspace(call, &opt);
  run(call, &lat, &rew);
}

namespace testing {
void set_timing_events(void* start, void* stop) {
  timingStart = static_cast<cudaEvent_t>(start);
  timingStop = static_cast<cudaEvent_t>(stop);
}
}  // namespace testing

}  // namespace gpu
}  // namespace otca
