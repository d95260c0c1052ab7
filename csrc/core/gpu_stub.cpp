// The otca::gpu API for a build without CUDA: compiled() is false, status() says why, and every
// other entry point throws DeviceError. A CUDA build defines OTCA_WITH_CUDA and compiles the real
// implementation instead of this file's body, a test build with OTCA_SIMULATED_DEVICE gpu_sim.cpp's.
#if !defined(OTCA_WITH_CUDA) && !defined(OTCA_SIMULATED_DEVICE)

#include "otca.h"

namespace otca {
namespace gpu {
namespace {
constexpr const char* kNoCuda = "otca was built without CUDA support";
[[noreturn]] void no_cuda() { throw DeviceError(kNoCuda); }
}  // namespace

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
void* malloc_host_pinned(size_t) { no_cuda(); }
void free_host_pinned(void*) noexcept {}
void copy(int, void*, const void*, size_t, int, void*) { no_cuda(); }

void* stream_create(int) { no_cuda(); }
void stream_synchronize(int, void*) { no_cuda(); }
void stream_destroy(int, void*) noexcept {}

void trajectory_credit(int, const Latents&, const Options&, const TrajectoryOutputs&, void*) {
  no_cuda();
}
void objective_credit(int, const Rewards&, const float*, int64_t, const Options&,
                      const ObjectiveOutputs&, void*) {
  no_cuda();
}
void advantages(int, const Latents&, const Rewards&, int64_t, const Options&, const AllOutputs&,
                void*) {
  no_cuda();
}

}  // namespace gpu
}  // namespace otca

#endif  // !OTCA_WITH_CUDA && !OTCA_SIMULATED_DEVICE
