// Test and benchmark hooks of the CUDA backend, not part of otca.h: the native harness
// (test/native/gpu_core_test.cu) times the kernel alone with CUDA events recorded right around
// the launch, inside the call (the call's own synchronisation would otherwise be in the time).
#pragma once

namespace otca {
namespace gpu {
namespace testing {
// cudaEvent_t start/stop, or null to stop. Applies to the calling thread's later calls.
void set_timing_events(void* start, void* stop);
// The streaming variant (detail::kVariants) of the calling thread's later calls; -1 = the default.
// False (and nothing changes) where that variant was not compiled in (the addon builds only the
// default; the native harness builds all with -DOTCA_GPU_ALL_VARIANTS).
bool set_variant(int variant);
int variant_count();
int default_variant();
void variant_shape(int variant, int* threads, int* packs, int* round);
// Testing only: the kernel stops after the chunk partials (outputs are not written).
void set_stream_only(bool on);
// How calls wait: 0 cudaStreamSynchronize, 1 spin on the mailbox, 2 spin then synchronize;
// -1 = the default (kDefaultSyncMode in gpu_runtime.cu).
void set_sync_mode(int mode);
int default_sync_mode();
}  // namespace testing
}  // namespace gpu
}  // namespace otca
