// A CPU emulation of the part of CUDA that otca's kernels and gpu_runtime.cu use, so that the very
// kernel lines (csrc/cuda/advantage_step.cuh and the .cuh files it includes) and the host side of
// the CUDA backend (csrc/cuda/gpu_runtime.cu) run on a machine without a GPU, in CI. Found before
// the real <cuda_runtime.h> by the include path CMake gives the emulation targets (CMakeLists.txt).
//
// What it models: a grid runs one block at a time, in an order set by a seed (any block may be the
// last to arrive at a counter, as on a GPU); the threads of a block are fibers (ucontext) on one OS
// thread, switched only at __syncthreads and warp shuffles, in an order set by the same seed (so a
// missing barrier changes the result under some seed: the tests compare seeds bit for bit); each
// schedule is deterministic and there are no data races to model. __syncthreads with the block's live threads (an exited thread no longer
// counts, as on the GPU); a barrier that some live threads never reach is reported as a deadlock.
// __shared__ variables become function statics: one copy, correct because blocks never overlap.
// Device memory is host memory. What it does not model: warps running ahead of each other between
// barriers, the memory model (fences are no-ops), timing, launch failures.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>

// ---------------------------------------------------------------- qualifiers
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __grid_constant__
#define __launch_bounds__(...)

// ---------------------------------------------------------------- vector types and indices
struct uint3 {
  unsigned x = 0, y = 0, z = 0;
};
struct dim3 {
  unsigned x = 1, y = 1, z = 1;
};
struct alignas(16) uint4 {
  unsigned x, y, z, w;
};
inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return uint4{x, y, z, w}; }

namespace otca_emulation {
// Set by the scheduler before it resumes a thread's fiber.
extern uint3 threadIdx, blockIdx;
extern dim3 blockDim, gridDim;

// Runs `kernel` over `grid` blocks of `block` threads (block a multiple of 32, at most 1024). Blocks
// run one after another; `orderSeed` sets the block order and the order in which a block's threads
// run between barriers: 0 both in index order, 1 blocks shuffled, 2 both reversed, more both shuffled.
void launch(unsigned grid, unsigned block, const std::function<void()>& kernel, uint64_t orderSeed);
// Seed of the next launches' block and thread orders (tests vary it).
void set_order_seed(uint64_t seed);
uint64_t order_seed();

void syncthreads();
uint64_t shfl_down_bits(uint64_t bits, int delta);
}  // namespace otca_emulation

using otca_emulation::blockDim;
using otca_emulation::blockIdx;
using otca_emulation::gridDim;
using otca_emulation::threadIdx;

// ---------------------------------------------------------------- intrinsics
inline void __syncthreads() { otca_emulation::syncthreads(); }

template <class T>
T __shfl_down_sync(unsigned /*mask*/, T v, int delta) {
  static_assert(sizeof(T) <= 8, "shuffle of at most 8 bytes");
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  bits = otca_emulation::shfl_down_bits(bits, delta);
  T r;
  std::memcpy(&r, &bits, sizeof(T));
  return r;
}

template <class T> inline T __ldcg(const T* p) { return *p; }
template <class T> inline T __ldcs(const T* p) { return *p; }
template <class T> inline T __ldg(const T* p) { return *p; }

// One OS thread runs every fiber: plain read-modify-writes are atomic here.
inline unsigned atomicAdd(unsigned* p, unsigned v) { const unsigned old = *p; *p = old + v; return old; }
inline unsigned long long atomicMin(unsigned long long* p, unsigned long long v) {
  const unsigned long long old = *p; if (v < old) *p = v; return old;
}
inline unsigned long long atomicMax(unsigned long long* p, unsigned long long v) {
  const unsigned long long old = *p; if (v > old) *p = v; return old;
}
inline unsigned long long atomicExch(unsigned long long* p, unsigned long long v) {
  const unsigned long long old = *p; *p = v; return old;
}
inline void __threadfence() {}
inline void __threadfence_system() {}

inline unsigned __float_as_uint(float f) { unsigned u; std::memcpy(&u, &f, 4); return u; }
inline float __uint_as_float(unsigned u) { float f; std::memcpy(&f, &u, 4); return f; }

using std::isfinite;

// ---------------------------------------------------------------- the runtime API gpu_runtime.cu uses
enum cudaError_t : int {
  cudaSuccess = 0,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInsufficientDriver = 35,
  cudaErrorNoDevice = 100,
  cudaErrorNotReady = 600,
  cudaErrorUnknown = 999,
};
enum cudaMemcpyKind : int {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
};
struct CUstream_emulated;
using cudaStream_t = CUstream_emulated*;
struct CUevent_emulated;
using cudaEvent_t = CUevent_emulated*;
constexpr unsigned cudaHostAllocDefault = 0, cudaHostAllocPortable = 1, cudaHostAllocMapped = 2;
constexpr unsigned cudaStreamNonBlocking = 1;

struct cudaDeviceProp {
  char name[256];
  int major, minor, multiProcessorCount, l2CacheSize;
  size_t totalGlobalMem;
};

const char* cudaGetErrorName(cudaError_t e);
const char* cudaGetErrorString(cudaError_t e);
cudaError_t cudaGetLastError();
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int device);
cudaError_t cudaDriverGetVersion(int* v);
cudaError_t cudaRuntimeGetVersion(int* v);
cudaError_t cudaMalloc(void** p, size_t bytes);
cudaError_t cudaFree(void* p);
cudaError_t cudaHostAlloc(void** p, size_t bytes, unsigned flags);
cudaError_t cudaFreeHost(void* p);
cudaError_t cudaHostGetDevicePointer(void** dev, void* host, unsigned flags);
cudaError_t cudaMemset(void* p, int value, size_t bytes);
cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t s);
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaStreamQuery(cudaStream_t s);
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s);
