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
// Debug timeline (needs the kernels built with -DOTCA_GPU_TIMELINE, as test/native/gpu_build.sh
// does): a device array of detail::kTlSlots unsigned 64-bit stamps that later calls of this
// thread fill (the caller initialises it: ~0 for the min slots, 0 for the others); null to stop.
void set_timeline(void* deviceSlots);
bool timeline_compiled();
// Calibration: enqueue `count` empty launches of the same parameter block on `stream`.
// Returns false on error.
bool empty_launch(void* stream, int count);
// Host-side split of this thread's last call (microseconds of steady_clock): argument checks +
// workspace + copies (prep), the launch call (submit), the wait (wait). Enabled by on = true.
void set_breakdown(bool on);
void last_breakdown(double* prepUs, double* submitUs, double* waitUs);
}  // namespace testing
}  // namespace gpu
}  // namespace otca
