// The otca::gpu API of a build without CUDA (binding.gyp's from-source build, or cmake where no CUDA
// compiler was found): compiled() is false, status() says why, and every other entry point throws
// DeviceError. A CUDA build links gpu_runtime.cu and advantage_step.cu instead of this file.
#include "otca.h"

namespace otca {
namespace gpu {
namespace {
constexpr const char* kNoCuda = "otca was built without CUDA support";
[[noreturn]] void no_cuda() { throw DeviceError(kNoCuda); }
}  // namespace

struct Context {};

bool compiled() { return false; }

Status status() {
  Status s;
  s.compiled = false;
  s.usable = false;
  s.reason = kNoCuda;
  return s;
}

DeviceProps properties(int) { no_cuda(); }

void* malloc_device(int, size_t) { no_cuda(); }
void free_device(int, void*) noexcept {}
void copy(int, void*, const void*, size_t, int) { no_cuda(); }

Context* context_create(int) { no_cuda(); }
void context_destroy(Context* c) noexcept { delete c; }
int context_device(const Context&) { return 0; }
void* context_staging(Context&, size_t) { no_cuda(); }
void copy_async(Context&, void*, const void*, size_t, int) { no_cuda(); }
void context_synchronize(Context&) { no_cuda(); }

void trajectory_credit(Context&, const Latents&, const Options&, const TrajectoryOutputs&) { no_cuda(); }
void objective_credit(Context&, const Rewards&, const float*, const Groups&, const Options&, const ObjectiveFactors&,
                      const ObjectiveOutputs&) {
  no_cuda();
}
void advantages(Context&, const Latents&, const Rewards&, const Groups&, const Options&, const ObjectiveFactors&,
                const AllOutputs&) {
  no_cuda();
}

size_t enqueue_workspace_bytes(int, int64_t, int64_t, int64_t, int64_t, int64_t) { no_cuda(); }
void enqueue(int, void*, void*, size_t, void*, int, const Latents*, const void*, const Rewards*, const float*,
             const Groups&, const Options&, const ObjectiveFactors&, const AllOutputs&) {
  no_cuda();
}
void check_status(int, void*, const void*, int, const Latents*, const void*, const Rewards*, const float*) {
  no_cuda();
}

}  // namespace gpu
}  // namespace otca
