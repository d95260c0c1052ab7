// The launchers of the advantage step's kernels (advantage_step.cuh), called by gpu_runtime.cu.
#include <cuda_runtime.h>

#include "advantage_step.cuh"
#include "gpu_launch.cuh"
#include "step_args.cuh"

namespace otca {
namespace gpu {
namespace launch {

using detail::StepArgs;

namespace {
template <int V>
cudaError_t launch_variant(const StepArgs& a, int dtype, cudaStream_t stream) {
  const unsigned int blocks = static_cast<unsigned int>(a.N * a.chunks);
  constexpr int threads = detail::kVariants[V].threads;
  switch (dtype) {
    case 0: detail::advantage_step<float, V><<<blocks, threads, 0, stream>>>(a); break;
    case 2: detail::advantage_step<detail::F16, V><<<blocks, threads, 0, stream>>>(a); break;
    default: detail::advantage_step<detail::Bf16, V><<<blocks, threads, 0, stream>>>(a); break;
  }
  return cudaGetLastError();
}

__global__ void empty_kernel(const __grid_constant__ StepArgs a) {
  if (a.N == -1) a.book->pad = 1;  // never: keeps the parameter block live
}
}  // namespace

bool variant_built(int variant) {
#ifdef OTCA_GPU_ALL_VARIANTS
  return variant >= 0 && variant < detail::kVariantCount;
#else
  return variant == detail::kDefaultVariant;
#endif
}

cudaError_t advantage_step(const StepArgs& a, int dtype, int variant, cudaStream_t stream) {
#ifdef OTCA_GPU_ALL_VARIANTS
  static_assert(detail::kVariantCount == 4, "list every variant below");
  switch (variant) {
    case 0: return launch_variant<0>(a, dtype, stream);
    case 1: return launch_variant<1>(a, dtype, stream);
    case 2: return launch_variant<2>(a, dtype, stream);
    default: return launch_variant<3>(a, dtype, stream);
  }
#else
  (void)variant;
  return launch_variant<detail::kDefaultVariant>(a, dtype, stream);
#endif
}

cudaError_t empty_launch(const StepArgs& a, int count, cudaStream_t stream) {
  for (int k = 0; k < count; ++k) empty_kernel<<<1, detail::kThreads, 0, stream>>>(a);
  return cudaGetLastError();
}

cudaError_t objective_step(const StepArgs& a, cudaStream_t stream) {
  detail::objective_step<<<static_cast<unsigned int>(a.B), detail::kThreads, 0, stream>>>(a);
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

cudaError_t kernel_image_check() {
  cudaFuncAttributes attr;
  return cudaFuncGetAttributes(&attr, detail::advantage_step<detail::Bf16, detail::kDefaultVariant>);
}

}  // namespace launch
}  // namespace gpu
}  // namespace otca
