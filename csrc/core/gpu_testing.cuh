// Test and benchmark hooks of the CUDA backend, not part of otca.h: the native harness
// (test/native/gpu_core_test.cu) times the kernel alone with CUDA events recorded right around
// the launch, inside the call (the call's own synchronisation would otherwise be in the time).
#pragma once

namespace otca {
namespace gpu {
namespace testing {
// cudaEvent_t start/stop, or null to stop. Applies to the calling thread's later calls.
void set_timing_events(void* start, void* stop);
}  // namespace testing
}  // namespace gpu
}  // namespace otca
