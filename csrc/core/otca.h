// The C++ contract of the otca core: plain C++17, no N-API, no CUDA headers. Everything the binding
// (csrc/addon) needs from the computation is declared here; the formulas are in otca_math.h and
// docs/algorithm.md, the options in options.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "groups.h"
#include "options.h"

namespace otca {

enum class DType : int32_t { Float32 = 0, Float64 = 1, Float16 = 2, BFloat16 = 3 };
size_t dtype_size(DType dt);
const char* dtype_name(DType dt);

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

// Row-major rewards, Float32 or Float64: [N, K] (T = 0, one per sample), or per step [N, T, K]
// (T >= 1: element (i, t, k) at (i*T + t)*K + k; eq. 2 and the fusion then run per step).
struct Rewards {
  DType dtype = DType::Float32;
  const void* data = nullptr;
  int64_t N = 0, K = 0;
  int64_t T = 0;
};

// The rows of phase 2's per-step outputs: T for per-step rewards, 1 for per-sample ones.
inline int64_t reward_rows(const Rewards& rew) { return rew.T > 0 ? rew.T : 1; }

// Groups from per-sample ids (`groupIds`): groups of any size >= 1 in any order, numbered in
// ascending order of their ids, members ascending. Ids are integers >= 0 (the binding checks them).
// build() returns a view of this object's arrays (offsets, members, groupOf: one vector of
// B + 1 + 2N), valid until the next build(); a kept GroupIndex reuses its memory. build() reads
// its input once (into `ids`), so ids that change meanwhile cannot give an inconsistent index.
struct GroupIndex {
  std::vector<int64_t> arrays;
  std::vector<int32_t> ids;
  std::vector<int32_t> distinct;
  Groups build(const int32_t* given, int64_t N);
};

// Phase 1 (trajectoryCredit). Any pointer may be null (not requested).
struct TrajectoryOutputs {
  float* similarity = nullptr;       // S    [N, T+1]
  float* deltaS = nullptr;           // dS   [N, T]
  float* rawWeights = nullptr;       // wbar [N, T]
  float* stepWeights = nullptr;      // w    [N, T]
  float* trajectoryScore = nullptr;  // q    [N]
};

// Phase 2 (objectiveCredit). Any pointer may be null (not requested). With per-step rewards
// (Rewards::T = T >= 1) A and c are [N, T, K], lam and f [N, T]; e stays [N].
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

// Throws RangeError/TypeError naming the option (K: the number of objectives, for the factors).
void check_options(const Options& opt, const ObjectiveFactors& factors, int64_t K);

// ---------------------------------------------------------------- CPU backend (host memory)
namespace cpu {
// The hardware concurrency: the threads a call with opt.threads == 0 uses, and the most any uses.
int default_threads();

// A CPU call's scratch (the reduction's partial sums, w, q and f where the caller did not ask for
// them). A plan keeps one, so that a repeated call of one shape allocates nothing; a call without
// one allocates its own.
struct Workspace;
Workspace* workspace_create();
void workspace_destroy(Workspace* w) noexcept;

// Phase 1 over host latents. Throws RangeError naming the first non-finite (sample, state).
// Every output is optional.
void trajectory_credit(const Latents& lat, const Options& opt, const TrajectoryOutputs& out,
                       Workspace* w = nullptr);

// Phase 2 over host rewards and q (float32 [N], as phase 1 wrote it).
void objective_credit(const Rewards& rew, const float* trajectoryScore, const Groups& groups,
                      const Options& opt, const ObjectiveFactors& factors, const ObjectiveOutputs& out,
                      Workspace* w = nullptr);

// The whole step. Equal, bit for bit, to phase 1 then phase 2 then Adv = float(w) * float(f).
void advantages(const Latents& lat, const Rewards& rew, const Groups& groups, const Options& opt,
                const ObjectiveFactors& factors, const AllOutputs& out, Workspace* w = nullptr);

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
// kind: 0 host->device, 1 device->host, 2 device->device; synchronous.
void copy(int device, void* dst, const void* src, size_t bytes, int kind);

// What a plan owns on one device: a stream, the device workspace (counters, scratch, flags), a
// pinned mailbox and pinned staging for host inputs and outputs. Grown on demand and kept, so a
// repeated call of one shape allocates nothing. One call at a time per context.
struct Context;
Context* context_create(int device);
void context_destroy(Context* c) noexcept;
int context_device(const Context& c);

// A device block of at least `bytes` for the host inputs and outputs of the context's next call
// (the addon places them in it), the context's own: grown on demand, reused.
void* context_staging(Context& c, size_t bytes);
// A copy on the context's stream (kind as copy()); context_synchronize waits for the stream.
void copy_async(Context& c, void* dst, const void* src, size_t bytes, int kind);
void context_synchronize(Context& c);

// The computations. All data pointers (latent states, rewards, q, outputs, group arrays) are device
// pointers on the context's device; lat.states is a host array of device pointers; the factors are
// host memory. Each call launches on the context's stream and returns when its results are written
// and its non-finite flags are read, so a bad input throws RangeError as on the CPU backend; the
// calling thread's current device is given back.
void trajectory_credit(Context& c, const Latents& lat, const Options& opt, const TrajectoryOutputs& out);
void objective_credit(Context& c, const Rewards& rew, const float* trajectoryScore, const Groups& groups,
                      const Options& opt, const ObjectiveFactors& factors, const ObjectiveOutputs& out);
void advantages(Context& c, const Latents& lat, const Rewards& rew, const Groups& groups, const Options& opt,
                const ObjectiveFactors& factors, const AllOutputs& out);
// ---- enqueue mode (the C ABI's otca_run_cuda): a run on the caller's stream, in the caller's
// workspace, its non-finite flags in the caller's status word; no synchronisation, allocation or
// host memory shared with another run. mode: 0 the whole step, 1 phase 1, 2 phase 2 (RunKind).
// The states come from lat.states (T+1 host pointers) or, where it is null, from latentBase (one
// [N, T+1, D] array, state j at latentBase + j*D elements); a list takes at most 64 states.
constexpr size_t kStatusBytes = 32;
size_t enqueue_workspace_bytes(int mode, int64_t N, int64_t T, int64_t D, int64_t K, int64_t B);
void enqueue(int device, void* stream, void* workspace, size_t workspaceBytes, void* status, int mode,
             const Latents* lat, const void* latentBase, const Rewards* rew, const float* trajectoryScore,
             const Groups& groups, const Options& opt, const ObjectiveFactors& factors, const AllOutputs& out);
// Synchronises `stream`, reads the status word of an enqueued run with these inputs and throws the
// error the synchronous path throws (RangeError), or DeviceError where the run did not finish.
void check_status(int device, void* stream, const void* status, int mode, const Latents* lat,
                  const void* latentBase, const Rewards* rew, const float* trajectoryScore);
}  // namespace gpu

}  // namespace otca
