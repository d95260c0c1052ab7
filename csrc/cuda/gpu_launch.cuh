// The launchers of advantage_step.cu, for the host code of gpu_runtime.cu. Internal.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "step_args.cuh"

namespace otca {
namespace gpu {
namespace launch {
// dtype: 0 float32, 2 float16, 3 bfloat16 (otca::DType values); a.chunks computed with
// detail::chunk_elems<detail::StreamShape>. Return the launch error.
cudaError_t advantage_step(const detail::StepArgs& a, int dtype, cudaStream_t stream);
cudaError_t objective_step(const detail::StepArgs& a, cudaStream_t stream);
cudaError_t first_non_finite(const detail::StepArgs& a, int dtype, int64_t i,
                             unsigned long long* first, cudaStream_t stream);
// The enqueue mode's kernels (enqueue.cuh), grid-stride: any grid covers the work.
cudaError_t upload_words(const detail::WordUpload& u, cudaStream_t stream);
cudaError_t poison_outputs(const detail::Poison& p, cudaStream_t stream);
// cudaSuccess where the kernels have an image for the current device.
cudaError_t kernel_image_check();
}  // namespace launch
}  // namespace gpu
}  // namespace otca
