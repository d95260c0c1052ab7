// The launchers of the advantage step's kernels (advantage_step.cuh), called by gpu_runtime.cu.
#include <cuda_runtime.h>

#include "advantage_step.cuh"
#include "enqueue.cuh"
#include "gpu_launch.cuh"
#include "step_args.cuh"

namespace otca {
namespace gpu {
namespace launch {

using detail::StepArgs;
using detail::StreamShape;

cudaError_t advantage_step(const StepArgs& a, int dtype, cudaStream_t stream) {
  const unsigned int blocks = static_cast<unsigned int>(a.N * a.chunks);
  switch (dtype) {
    case 0: detail::advantage_step<float, StreamShape><<<blocks, StreamShape::kThreads, 0, stream>>>(a); break;
    case 2: detail::advantage_step<detail::F16, StreamShape><<<blocks, StreamShape::kThreads, 0, stream>>>(a); break;
    default: detail::advantage_step<detail::Bf16, StreamShape><<<blocks, StreamShape::kThreads, 0, stream>>>(a); break;
  }
  return cudaGetLastError();
}

cudaError_t objective_step(const StepArgs& a, cudaStream_t stream) {
  detail::objective_step<<<static_cast<unsigned int>(a.groups.count), detail::kThreads, 0, stream>>>(a);
  return cudaGetLastError();
}

cudaError_t first_non_finite(const StepArgs& a, int dtype, int64_t i, unsigned long long* first,
                             cudaStream_t stream) {
  switch (dtype) {
    case 0: detail::first_non_finite<float><<<256, 256, 0, stream>>>(a, i, first); break;
    case 2: detail::first_non_finite<detail::F16><<<256, 256, 0, stream>>>(a, i, first); break;
    default: detail::first_non_finite<detail::Bf16><<<256, 256, 0, stream>>>(a, i, first); break;
  }
  return cudaGetLastError();
}

cudaError_t upload_words(const detail::WordUpload& u, cudaStream_t stream) {
  detail::upload_words<<<1, 256, 0, stream>>>(u);
  return cudaGetLastError();
}

cudaError_t poison_outputs(const detail::Poison& p, cudaStream_t stream) {
  detail::poison_outputs<<<64, 256, 0, stream>>>(p);
  return cudaGetLastError();
}

cudaError_t kernel_image_check() {
  cudaFuncAttributes attr;
  return cudaFuncGetAttributes(&attr, detail::advantage_step<detail::Bf16, StreamShape>);
}

}  // namespace launch
}  // namespace gpu
}  // namespace otca
