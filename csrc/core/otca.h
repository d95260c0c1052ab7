// The C++ contract of the otca core: plain C++17, no N-API, no CUDA headers.
// Everything the binding (csrc/addon) needs from the math is declared here.
// See ../shared/SPEC.md for the formulas; names below follow it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace otca {

enum class DType : int32_t { Float32 = 0, Float64 = 1, Float16 = 2, BFloat16 = 3 };
size_t dtype_size(DType dt);
const char* dtype_name(DType dt);

enum class Temporal : int32_t { Tcd = 0, Uniform = 1 };
enum class WeightScale : int32_t { Mean = 0, Sum = 1 };
enum class Objective : int32_t { Moca = 0, MinNorm = 1, WeightedAdvantage = 2, WeightedReward = 3 };
enum class StdScope : int32_t { Group = 0, Batch = 1 };
enum class Exploration : int32_t { Absolute = 0, Centered = 1 };

// All options of SPEC, with its defaults. Validated by the caller (lib/ in TypeScript) and again,
// cheaply, by check_options() before any work.
struct Options {
  Temporal temporal = Temporal::Tcd;
  WeightScale weightScale = WeightScale::Mean;
  Objective objective = Objective::Moca;
  StdScope stdScope = StdScope::Group;
  Exploration exploration = Exploration::Absolute;
  double minWeight = 0.5;       // w_min, in [0, 1]
  int stdCorrection = 1;        // 1 = Bessel (N-1), 0 = population
  double advClip = 5.0;         // > 0 (Infinity allowed: no clip)
  double epsAdv = 1e-8;         // >= 0
  double epsTcd = 1e-6;         // > 0
  double epsMoca = 1e-6;        // > 0
  double epsSolver = 1e-8;      // >= 0
  const double* objectiveWeights = nullptr;  // [K] host memory, or null = all 1
  const double* objectiveScale = nullptr;    // [K] host memory, or null = all 1
  int threads = 0;              // CPU backend: 0 or more than the hardware concurrency = all of it
};

// The T+1 latent states of N samples. Element d of sample i at state j is
//   static_cast<const Elem*>(states[j])[i * sampleStride + d]
// One [N, T+1, D] tensor:   states[j] = base + j*D,  sampleStride = (T+1)*D.
// A list of T+1 [N, D]:     states[j] = list[j],     sampleStride = D.
// `states` itself is a host array of T+1 pointers (host or device memory, as the backend expects).
struct Latents {
  DType dtype = DType::Float32;  // Float32, Float16 or BFloat16
  int64_t N = 0, T = 0, D = 0;   // T steps, T+1 states
  const void* const* states = nullptr;
  int64_t sampleStride = 0;
};

// Row-major [N, K] rewards, Float32 or Float64.
struct Rewards {
  DType dtype = DType::Float32;
  const void* data = nullptr;
  int64_t N = 0, K = 0;
};

// Phase 1 (trajectoryCredit). Any pointer may be null (not requested).
struct TrajectoryOutputs {
  float* similarity = nullptr;       // S    [N, T+1]
  float* deltaS = nullptr;           // dS   [N, T]
  float* rawWeights = nullptr;       // wbar [N, T]
  float* stepWeights = nullptr;      // w    [N, T]
  float* trajectoryScore = nullptr;  // q    [N]
};

// Phase 2 (objectiveCredit). Any pointer may be null (not requested).
struct ObjectiveOutputs {
  float* objectiveAdvantages = nullptr;  // A   [N, K]
  float* exploration = nullptr;          // e   [N]
  float* lambda = nullptr;               // lam [N]
  float* coefficients = nullptr;         // c   [N, K]
  float* fused = nullptr;                // f   [N]
};

struct AllOutputs {
  TrajectoryOutputs trajectory;
  ObjectiveOutputs objective;
  float* advantages = nullptr;  // Adv [N, T]
};

// Errors the binding turns into JS errors of the same kind. Messages follow
// "Expected <what> for <argument> but received <what came>".
struct TypeError : std::runtime_error { using std::runtime_error::runtime_error; };
struct RangeError : std::runtime_error { using std::runtime_error::runtime_error; };
// CUDA failures: message carries the CUDA error name and the operation.
struct DeviceError : std::runtime_error { using std::runtime_error::runtime_error; };

// Throws RangeError/TypeError naming the option.
void check_options(const Options& opt, int64_t K);

// ---------------------------------------------------------------- CPU backend (host memory)
namespace cpu {
// The hardware concurrency: the threads a call with opt.threads == 0 uses, and the most any uses.
int default_threads();

// Phase 1 over host latents. Throws RangeError naming the first non-finite (sample, state).
// Every output is optional.
void trajectory_credit(const Latents& lat, const Options& opt, const TrajectoryOutputs& out);

// Phase 2 over host rewards and q (float32 [N], as phase 1 wrote it).
void objective_credit(const Rewards& rew, const float* trajectoryScore, int64_t groupSize,
                      const Options& opt, const ObjectiveOutputs& out);

// The whole step. Equal, bit for bit, to phase 1 then phase 2 then Adv = float(w) * float(f).
void advantages(const Latents& lat, const Rewards& rew, int64_t groupSize, const Options& opt,
                const AllOutputs& out);

// The benchmark's bandwidth probe: reads `bytes` bytes at `data` with `threads` threads (16-byte
// loads, an xor/add fold the compiler cannot drop) and returns the fold, so that the read
// bandwidth of this machine can be compared with the reduction's on the same bytes.
uint64_t read_probe(const void* data, size_t bytes, int threads);
}  // namespace cpu

// ---------------------------------------------------------------- CUDA backend (device memory)
// Declared always; where the addon was built without CUDA, compiled() is false and everything
// else throws DeviceError("otca was built without CUDA ...").
namespace gpu {
bool compiled();

struct Status {
  bool compiled = false;
  bool usable = false;      // a driver and at least one device answered
  int deviceCount = 0;
  int driverVersion = 0;    // cudaDriverGetVersion, 0 when none
  int runtimeVersion = 0;   // cudaRuntimeGetVersion
  std::string reason;       // why not usable, with the CUDA error name
  std::string architectures;  // the SASS/PTX targets compiled in, e.g. "80-real;90-real;90-virtual"
};
Status status();  // cached after the first call; never throws

struct DeviceProps {
  std::string name;
  int major = 0, minor = 0, multiprocessors = 0;
  size_t totalMemory = 0, l2Bytes = 0;
};
DeviceProps properties(int device);

// Memory (throws DeviceError naming the operation and size).
void* malloc_device(int device, size_t bytes);
void free_device(int device, void* ptr) noexcept;
void* malloc_host_pinned(size_t bytes);
void free_host_pinned(void* ptr) noexcept;
// kind: 0 host->device, 1 device->host, 2 device->device. stream may be null (synchronous).
void copy(int device, void* dst, const void* src, size_t bytes, int kind, void* stream);

// Streams: one per call, created and destroyed by the caller through these.
void* stream_create(int device);
void stream_synchronize(int device, void* stream);  // throws DeviceError on a failed kernel
void stream_destroy(int device, void* stream) noexcept;

// The computations. All data pointers (latent states, rewards, q, outputs) are device pointers
// on `device`; lat.states is a host array of device pointers. Options' arrays are host memory.
// Enqueued on `stream`, then synchronised: the call blocks until the results are written and
// the non-finite flag is read, so a bad input throws RangeError like the CPU backend (the async
// API calls these from a libuv worker thread, so blocking there leaves the event loop free).
void trajectory_credit(int device, const Latents& lat, const Options& opt,
                       const TrajectoryOutputs& out, void* stream);
void objective_credit(int device, const Rewards& rew, const float* trajectoryScore,
                      int64_t groupSize, const Options& opt, const ObjectiveOutputs& out,
                      void* stream);
void advantages(int device, const Latents& lat, const Rewards& rew, int64_t groupSize,
                const Options& opt, const AllOutputs& out, void* stream);
}  // namespace gpu

}  // namespace otca
