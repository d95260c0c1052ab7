// The CPU emulation behind cuda_runtime.h: the block scheduler (fibers), the runtime API over host
// memory, and otca::gpu::launch (gpu_launch.cuh) running the kernels of advantage_step.cuh on it.
#include "cuda_runtime.h"

#include <setjmp.h>
#include <ucontext.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif

#include <algorithm>
#include <memory>
#include <mutex>
#include <numeric>
#include <random>
#include <set>
#include <vector>

#include "advantage_step.cuh"
#include "enqueue.cuh"
#include "gpu_launch.cuh"
#include "lab_call.h"
#include "lab_kernels.cuh"

namespace otca_emulation {

uint3 threadIdx, blockIdx;
dim3 blockDim, gridDim;

namespace {

// ---------------------------------------------------------------- fibers
// Fibers start with makecontext/setcontext and switch with _setjmp/_longjmp (no signal-mask system
// call per switch, unlike swapcontext): a block of 256 threads switches millions of times per test.
constexpr size_t kStackBytes = size_t{64} << 10;

// AddressSanitizer builds (build.sh --asan) are told of every stack switch, so that they know which
// stack is live (otherwise each _longjmp makes them scan a bogus range, and report falsely).
#if defined(__SANITIZE_ADDRESS__)
void asan_leave(void** fakeStack, const void* toBottom, size_t toSize) {
  __sanitizer_start_switch_fiber(fakeStack, toBottom, toSize);
}
void asan_arrive(void* fakeStack, const void** fromBottom, size_t* fromSize) {
  __sanitizer_finish_switch_fiber(fakeStack, fromBottom, fromSize);
}
#else
void asan_leave(void**, const void*, size_t) {}
void asan_arrive(void*, const void**, size_t*) {}
#endif

struct Barrier {
  unsigned live = 0;     // threads that still count
  unsigned arrived = 0;  // in the current phase
  uint64_t generation = 0;
  // The last arrival (or an exit that leaves only arrived threads) opens the next phase.
  void open_if_complete() {
    if (arrived > 0 && arrived == live) {
      arrived = 0;
      ++generation;
    }
  }
};

struct Fiber {
  ucontext_t start;
  jmp_buf env;
  bool started = false, done = false;
  const Barrier* waitingOn = nullptr;  // skipped by the scheduler until this barrier's phase moves on
  uint64_t waitingGeneration = 0;
  void* fakeStack = nullptr;  // AddressSanitizer's, while the fiber is switched out
};

struct Block {
  unsigned threads = 0;
  std::vector<Fiber> fibers;
  Barrier block;
  std::vector<Barrier> warps;
  std::vector<uint64_t> slots;  // shuffle values, one per thread
  unsigned current = 0;
  const std::function<void()>* kernel = nullptr;
  jmp_buf scheduler;
  uint64_t events = 0;  // arrivals and exits: a round without any means a deadlock
  std::vector<unsigned> threadOrder;  // the order the scheduler resumes threads in, each round
  const void* schedulerStack = nullptr;  // the scheduler's stack, for AddressSanitizer
  size_t schedulerStackBytes = 0;
  void* schedulerFakeStack = nullptr;
};

Block* g_block = nullptr;
std::vector<std::unique_ptr<char[]>> g_stacks;
std::mutex g_launchMutex;  // one grid at a time (__shared__ statics)
uint64_t g_orderSeed = 0, g_launches = 0;

void yield() {
  Block& b = *g_block;
  Fiber& f = b.fibers[b.current];
  if (!_setjmp(f.env)) {
    asan_leave(&f.fakeStack, b.schedulerStack, b.schedulerStackBytes);
    _longjmp(b.scheduler, 1);
  }
  asan_arrive(f.fakeStack, nullptr, nullptr);
}

void wait_at(Barrier& bar) {
  Block& b = *g_block;
  ++b.events;
  const uint64_t gen = bar.generation;
  ++bar.arrived;
  bar.open_if_complete();
  if (bar.generation != gen) return;  // the last to arrive goes on at once
  Fiber& f = b.fibers[b.current];
  f.waitingOn = &bar;
  f.waitingGeneration = gen;
  yield();
  f.waitingOn = nullptr;
}

void fiber_main() {
  Block& b = *g_block;
  asan_arrive(nullptr, &b.schedulerStack, &b.schedulerStackBytes);
  (*b.kernel)();
  Fiber& f = b.fibers[b.current];
  f.done = true;
  ++b.events;
  --b.block.live;
  b.block.open_if_complete();
  Barrier& w = b.warps[b.current / 32];
  --w.live;
  w.open_if_complete();
  asan_leave(nullptr, b.schedulerStack, b.schedulerStackBytes);  // this fiber's stack is done
  _longjmp(b.scheduler, 1);
}

// Runs thread t until it waits or exits. Its own frame: nothing of the caller's is live across the
// _setjmp, so no local can be clobbered by the _longjmp back.
__attribute__((noinline)) void resume(Block& b, unsigned t) {
  Fiber& f = b.fibers[t];
  b.current = t;
  threadIdx = uint3{t, 0, 0};
  if (!_setjmp(b.scheduler)) {
    asan_leave(&b.schedulerFakeStack, g_stacks[t].get(), kStackBytes);
    if (!f.started) {
      f.started = true;
      setcontext(&f.start);
    }
    _longjmp(f.env, 1);
  }
  asan_arrive(b.schedulerFakeStack, nullptr, nullptr);
}

void run_block(Block& b) {
  for (unsigned t = 0; t < b.threads; ++t) {
    Fiber& f = b.fibers[t];
    f = Fiber{};
    getcontext(&f.start);
    f.start.uc_stack.ss_sp = g_stacks[t].get();
    f.start.uc_stack.ss_size = kStackBytes;
    f.start.uc_link = nullptr;
    makecontext(&f.start, fiber_main, 0);
  }
  b.block = Barrier{};
  b.block.live = b.threads;
  for (Barrier& w : b.warps) {
    w = Barrier{};
    w.live = 32;
  }
  for (unsigned finished = 0; finished < b.threads;) {
    const uint64_t before = b.events;
    bool anyRunnable = false;
    finished = 0;
    for (unsigned t : b.threadOrder) {
      Fiber& f = b.fibers[t];
      if (f.done) { ++finished; continue; }
      if (f.waitingOn && f.waitingOn->generation == f.waitingGeneration) continue;
      anyRunnable = true;
      resume(b, t);
      if (f.done) ++finished;
    }
    if (finished < b.threads && !anyRunnable && b.events == before) {
      std::fprintf(stderr,
                   "CUDA emulation: deadlock in block %u: %u of %u live threads wait at __syncthreads, the others "
                   "wait at a warp shuffle or exited (a barrier not every live thread reaches)\n",
                   blockIdx.x, b.block.arrived, b.block.live);
      std::abort();
    }
  }
}

}  // namespace

void syncthreads() { wait_at(g_block->block); }

uint64_t shfl_down_bits(uint64_t bits, int delta) {
  Block& b = *g_block;
  const unsigned t = b.current, lane = t % 32;
  Barrier& w = b.warps[t / 32];
  b.slots[t] = bits;
  wait_at(w);
  const uint64_t r = lane + delta < 32 ? b.slots[t + delta] : bits;
  wait_at(w);
  return r;
}

void set_order_seed(uint64_t seed) { g_orderSeed = seed; }
uint64_t order_seed() { return g_orderSeed; }

void launch(unsigned grid, unsigned block, const std::function<void()>& kernel, uint64_t orderSeed) {
  if (block == 0 || block % 32 != 0 || block > 1024) {
    std::fprintf(stderr, "CUDA emulation: a block of %u threads (a multiple of 32 up to 1024 is modelled)\n", block);
    std::abort();
  }
  std::lock_guard<std::mutex> lock(g_launchMutex);
  while (g_stacks.size() < block) g_stacks.emplace_back(new char[kStackBytes]);
  Block b;
  b.threads = block;
  b.fibers.resize(block);
  b.warps.resize(block / 32);
  b.slots.assign(block, 0);
  b.kernel = &kernel;
  // Block order, and the order threads run between barriers: seed 0 and 1 in index order, 2 in
  // reverse, others shuffled. A missing barrier shows as a different result under some order (a
  // reader running before the writer), which is what the tests compare across seeds.
  std::vector<unsigned> order(grid);
  std::iota(order.begin(), order.end(), 0u);
  b.threadOrder.resize(block);
  std::iota(b.threadOrder.begin(), b.threadOrder.end(), 0u);
  std::mt19937_64 rng(orderSeed * 0x9e3779b97f4a7c15ULL + ++g_launches);
  if (orderSeed == 2) {
    std::reverse(order.begin(), order.end());
    std::reverse(b.threadOrder.begin(), b.threadOrder.end());
  } else if (orderSeed > 2) {
    std::shuffle(order.begin(), order.end(), rng);
    std::shuffle(b.threadOrder.begin(), b.threadOrder.end(), rng);
  } else if (orderSeed == 1) {
    std::shuffle(order.begin(), order.end(), rng);
  }
  gridDim = dim3{grid, 1, 1};
  blockDim = dim3{block, 1, 1};
  g_block = &b;
  for (unsigned x : order) {
    blockIdx = uint3{x, 0, 0};
    run_block(b);
  }
  g_block = nullptr;
}

}  // namespace otca_emulation

// ---------------------------------------------------------------- the runtime API
namespace {
std::mutex g_memMutex;
std::set<void*>& device_blocks() {
  static auto* s = new std::set<void*>();
  return *s;
}
cudaError_t g_lastError = cudaSuccess;
struct EmulatedStream {};
}  // namespace

struct CUstream_emulated : EmulatedStream {};

const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    default: return "cudaErrorUnknown";
  }
}
const char* cudaGetErrorString(cudaError_t e) { return e == cudaSuccess ? "no error" : "emulated error"; }
cudaError_t cudaGetLastError() {
  const cudaError_t e = g_lastError;
  g_lastError = cudaSuccess;
  return e;
}
cudaError_t cudaGetDevice(int* d) { *d = 0; return cudaSuccess; }
cudaError_t cudaSetDevice(int d) { return d == 0 ? cudaSuccess : cudaErrorNoDevice; }
cudaError_t cudaGetDeviceCount(int* n) { *n = 1; return cudaSuccess; }
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int) {
  std::memset(p, 0, sizeof *p);
  std::snprintf(p->name, sizeof p->name, "CPU emulation of otca's CUDA kernels");
  p->major = 9;
  p->multiProcessorCount = 1;
  p->l2CacheSize = 50 << 20;
  p->totalGlobalMem = size_t{1} << 34;
  return cudaSuccess;
}
cudaError_t cudaDriverGetVersion(int* v) { *v = 13000; return cudaSuccess; }
cudaError_t cudaRuntimeGetVersion(int* v) { *v = 13000; return cudaSuccess; }
cudaError_t cudaMalloc(void** p, size_t bytes) {
  // 256-byte aligned like cudaMalloc, and exactly `bytes` long, so that an AddressSanitizer build
  // (build.sh --asan) reports any access past the end, as compute-sanitizer memcheck would
  const size_t n = std::max<size_t>(bytes, 1);
  if (posix_memalign(p, 256, n) != 0) return cudaErrorMemoryAllocation;
  std::memset(*p, 0xa5, n);  // not zero: nothing may rely on fresh memory being cleared
  std::lock_guard<std::mutex> lock(g_memMutex);
  device_blocks().insert(*p);
  return cudaSuccess;
}
cudaError_t cudaFree(void* p) {
  if (!p) return cudaSuccess;
  {
    std::lock_guard<std::mutex> lock(g_memMutex);
    if (device_blocks().erase(p) != 1) {
      std::fprintf(stderr, "CUDA emulation: cudaFree of %p, which cudaMalloc did not return\n", p);
      std::abort();
    }
  }
  std::free(p);
  return cudaSuccess;
}
cudaError_t cudaHostAlloc(void** p, size_t bytes, unsigned) {
  *p = std::aligned_alloc(256, (std::max<size_t>(bytes, 1) + 255) / 256 * 256);
  return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}
cudaError_t cudaFreeHost(void* p) { std::free(p); return cudaSuccess; }
cudaError_t cudaHostGetDevicePointer(void** dev, void* host, unsigned) { *dev = host; return cudaSuccess; }
cudaError_t cudaMemset(void* p, int v, size_t n) { std::memset(p, v, n); return cudaSuccess; }
cudaError_t cudaMemsetAsync(void* p, int v, size_t n, cudaStream_t) { std::memset(p, v, n); return cudaSuccess; }
cudaError_t cudaMemcpy(void* d, const void* s, size_t n, cudaMemcpyKind) { std::memmove(d, s, n); return cudaSuccess; }
cudaError_t cudaMemcpyAsync(void* d, const void* s, size_t n, cudaMemcpyKind, cudaStream_t) {
  std::memmove(d, s, n);
  return cudaSuccess;
}
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) { *s = new CUstream_emulated(); return cudaSuccess; }
cudaError_t cudaStreamDestroy(cudaStream_t s) { delete s; return cudaSuccess; }
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaStreamQuery(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaEventRecord(cudaEvent_t, cudaStream_t) { return cudaSuccess; }

// ---------------------------------------------------------------- the launchers (advantage_step.cu's)
namespace otca {
namespace gpu {
namespace launch {

using detail::StepArgs;

namespace {
template <class Raw>
void run_step(const StepArgs& a) {
  const unsigned blocks = static_cast<unsigned>(a.N * a.chunks);
  otca_emulation::launch(blocks, detail::StreamShape::kThreads,
                         [&a] { detail::advantage_step<Raw, detail::StreamShape>(a); }, otca_emulation::order_seed());
}
}  // namespace

cudaError_t advantage_step(const StepArgs& a, int dtype, cudaStream_t) {
  switch (dtype) {
    case 0: run_step<float>(a); break;
    case 2: run_step<detail::F16>(a); break;
    default: run_step<detail::Bf16>(a); break;
  }
  return cudaSuccess;
}

cudaError_t objective_step(const StepArgs& a, cudaStream_t) {
  otca_emulation::launch(static_cast<unsigned>(a.groups.count), detail::kThreads, [&a] { detail::objective_step(a); },
                         otca_emulation::order_seed());
  return cudaSuccess;
}

cudaError_t first_non_finite(const StepArgs& a, int dtype, int64_t i, unsigned long long* first, cudaStream_t) {
  // the real launch's shape (256 x 256) would be 65,536 fibers: the grid-stride loop is the same with 2 x 64
  const auto body = [&](auto raw) {
    using Raw = decltype(raw);
    otca_emulation::launch(2, 64, [&] { detail::first_non_finite<Raw>(a, i, first); }, otca_emulation::order_seed());
  };
  switch (dtype) {
    case 0: body(float{}); break;
    case 2: body(detail::F16{}); break;
    default: body(detail::Bf16{}); break;
  }
  return cudaSuccess;
}

// the enqueue mode's grid-stride kernels, on small grids (every element still covered)
cudaError_t upload_words(const detail::WordUpload& u, cudaStream_t) {
  otca_emulation::launch(1, 32, [&u] { detail::upload_words(u); }, otca_emulation::order_seed());
  return cudaSuccess;
}
cudaError_t poison_outputs(const detail::Poison& p, cudaStream_t) {
  otca_emulation::launch(2, 32, [&p] { detail::poison_outputs(p); }, otca_emulation::order_seed());
  return cudaSuccess;
}

cudaError_t kernel_image_check() { return cudaSuccess; }

}  // namespace launch
}  // namespace gpu

// ---------------------------------------------------------------- the lab's launcher (lab_kernels.cu's)
namespace lab {
namespace {
template <class Raw, class S>
void run_lab(const gpu::detail::StepArgs& a, const Config& cfg) {
  const unsigned blocks = static_cast<unsigned>(a.N * a.chunks);
  const auto go = [&](auto kernel) { otca_emulation::launch(blocks, S::kThreads, kernel, otca_emulation::order_seed()); };
  switch (cfg.tail) {
    case kStreamOnly: go([&] { lab_step<Raw, S, kStreamOnly>(a, cfg.args); }); break;
    case kLeanHandoff: go([&] { lab_step<Raw, S, kLeanHandoff>(a, cfg.args); }); break;
    default: go([&] { lab_step<Raw, S, kShipped>(a, cfg.args); }); break;
  }
}
template <class Raw>
void run_shape(const gpu::detail::StepArgs& a, const Config& cfg) {
  switch (cfg.shape) {
    case 0: run_lab<Raw, Shape0>(a, cfg); break;
    case 1: run_lab<Raw, Shape1>(a, cfg); break;
    case 2: run_lab<Raw, Shape2>(a, cfg); break;
    default: run_lab<Raw, Shape3>(a, cfg); break;
  }
}
}  // namespace

cudaError_t launch_lab(const gpu::detail::StepArgs& a, int dtype, cudaStream_t, const Config& cfg) {
  switch (dtype) {
    case 0: run_shape<float>(a, cfg); break;
    case 2: run_shape<gpu::detail::F16>(a, cfg); break;
    default: run_shape<gpu::detail::Bf16>(a, cfg); break;
  }
  return cudaSuccess;
}

cudaError_t empty_launches(const gpu::detail::StepArgs&, int, cudaStream_t) { return cudaSuccess; }
}  // namespace lab
}  // namespace otca
