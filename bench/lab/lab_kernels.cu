// The lab's launcher on a GPU (the harness's build): every shape and tail of lab_kernels.cuh.
#include <cuda_runtime.h>

#include "lab_call.h"
#include "lab_kernels.cuh"

namespace otca {
namespace lab {
namespace {

template <class Raw, class S>
cudaError_t launch_shape(const gpu::detail::StepArgs& a, cudaStream_t stream, const Config& cfg) {
  const unsigned int blocks = static_cast<unsigned int>(a.N * a.chunks);
  switch (cfg.tail) {
    case kStreamOnly: lab_step<Raw, S, kStreamOnly><<<blocks, S::kThreads, 0, stream>>>(a, cfg.args); break;
    case kLeanHandoff: lab_step<Raw, S, kLeanHandoff><<<blocks, S::kThreads, 0, stream>>>(a, cfg.args); break;
    default: lab_step<Raw, S, kShipped><<<blocks, S::kThreads, 0, stream>>>(a, cfg.args); break;
  }
  return cudaGetLastError();
}

template <class Raw>
cudaError_t launch_raw(const gpu::detail::StepArgs& a, cudaStream_t stream, const Config& cfg) {
  switch (cfg.shape) {
    case 0: return launch_shape<Raw, Shape0>(a, stream, cfg);
    case 1: return launch_shape<Raw, Shape1>(a, stream, cfg);
    case 2: return launch_shape<Raw, Shape2>(a, stream, cfg);
    default: return launch_shape<Raw, Shape3>(a, stream, cfg);
  }
}

}  // namespace

cudaError_t launch_lab(const gpu::detail::StepArgs& a, int dtype, cudaStream_t stream, const Config& cfg) {
  switch (dtype) {
    case 0: return launch_raw<float>(a, stream, cfg);
    case 2: return launch_raw<gpu::detail::F16>(a, stream, cfg);
    default: return launch_raw<gpu::detail::Bf16>(a, stream, cfg);
  }
}

// Calibration: `count` empty launches of the same parameter block.
cudaError_t empty_launches(const gpu::detail::StepArgs& a, int count, cudaStream_t stream) {
  for (int k = 0; k < count; ++k) empty_kernel<<<1, 128, 0, stream>>>(a);
  return cudaGetLastError();
}

}  // namespace lab
}  // namespace otca
