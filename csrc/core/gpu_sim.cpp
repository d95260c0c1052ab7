// A simulated CUDA device for tests on machines without a GPU (CI): the otca::gpu API over host
// memory, computing with the CPU backend. Built only with -DOTCA_SIMULATED_DEVICE (CMake option
// OTCA_SIMULATED_DEVICE, `node scripts/ensure-built.mjs --sim` -> build-sim/), never shipped: it
// lets test/gpu/*.test.mjs run the whole Node device-tensor path (device tensors, outputDevice,
// the async stream pool, lifetimes, borrowed pointers) where no GPU is lent, and times that path's
// host overhead without a kernel in it.
//
// It is stricter than a real device where that finds bugs in the binding: every pointer handed to a
// computation or a copy must lie inside one live allocation of the call's device (else DeviceError
// "cudaErrorIllegalAddress ..."), a free of anything but a live allocation's start aborts, new
// memory holds 0xff bytes (NaN to any float reader, like cudaMalloc's unspecified contents) and
// freed memory is overwritten with them before it is released.
#ifdef OTCA_SIMULATED_DEVICE
#ifdef OTCA_WITH_CUDA
#error "OTCA_SIMULATED_DEVICE and OTCA_WITH_CUDA exclude each other"
#endif

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

#include "internal.h"
#include "otca.h"

namespace otca {
namespace gpu {
namespace {

constexpr int kDevices = 2;  // two, so that the cross-device checks of the binding run too
constexpr size_t kAlign = 256;

struct Block {
  int device;
  size_t bytes;
};

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}
std::map<uintptr_t, Block>& registry() {
  static auto* r = new std::map<uintptr_t, Block>();  // never destroyed: finalizers run at exit
  return *r;
}

std::string where(int device) { return "cuda:" + std::to_string(device) + " (simulated)"; }

void check_device(int device, const char* operation) {
  if (device < 0 || device >= kDevices)
    throw DeviceError(std::string("cudaErrorInvalidDevice while ") + operation + " on cuda:" +
                      std::to_string(device) + " (invalid device ordinal; the simulation has " +
                      std::to_string(kDevices) + ")");
}

// [p, p + bytes) inside one live allocation of `device`, or DeviceError naming `what`.
void check_range(int device, const void* p, size_t bytes, const std::string& what) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  std::lock_guard<std::mutex> lock(registry_mutex());
  auto& r = registry();
  auto it = r.upper_bound(a);
  if (it != r.begin()) {
    --it;
    const uintptr_t lo = it->first, hi = lo + it->second.bytes;
    if (a >= lo && a <= hi && bytes <= hi - a) {
      if (it->second.device == device) return;
      throw DeviceError("cudaErrorIllegalAddress while reading " + what + " on " + where(device) +
                        " (the memory is on cuda:" + std::to_string(it->second.device) + ")");
    }
  }
  throw DeviceError("cudaErrorIllegalAddress while accessing " + what + " on " + where(device) + " (" +
                    std::to_string(bytes) + " bytes at 0x" + [&] {
                      char buf[32];
                      std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(a));
                      return std::string(buf);
                    }() + " are not inside one live device allocation)");
}

template <class P>
void check_opt(int device, const P* p, size_t count, size_t size, const char* what) {
  if (p != nullptr) check_range(device, p, count * size, what);
}

void check_latents(int device, const Latents& lat) {
  const size_t e = dtype_size(lat.dtype);
  if (lat.N == 0) return;
  const size_t span = static_cast<size_t>((lat.N - 1) * lat.sampleStride + lat.D) * e;
  for (int64_t j = 0; j <= lat.T; ++j)
    check_range(device, lat.states[j], span, "latent state " + std::to_string(j));
}

void check_rewards(int device, const Rewards& rew) {
  check_range(device, rew.data, static_cast<size_t>(rew.N * rew.K) * dtype_size(rew.dtype), "rewards");
}

void check_outputs(int device, const TrajectoryOutputs& o, int64_t N, int64_t T) {
  const size_t n = static_cast<size_t>(N), t = static_cast<size_t>(T);
  check_opt(device, o.similarity, n * (t + 1), 4, "outputs.similarity");
  check_opt(device, o.deltaS, n * t, 4, "outputs.deltaS");
  check_opt(device, o.rawWeights, n * t, 4, "outputs.rawWeights");
  check_opt(device, o.stepWeights, n * t, 4, "outputs.stepWeights");
  check_opt(device, o.trajectoryScore, n, 4, "outputs.trajectoryScore");
}

void check_outputs(int device, const ObjectiveOutputs& o, int64_t N, int64_t K) {
  const size_t n = static_cast<size_t>(N), k = static_cast<size_t>(K);
  check_opt(device, o.objectiveAdvantages, n * k, 4, "outputs.objectiveAdvantages");
  check_opt(device, o.exploration, n, 4, "outputs.exploration");
  check_opt(device, o.lambda, n, 4, "outputs.lambda");
  check_opt(device, o.coefficients, n * k, 4, "outputs.coefficients");
  check_opt(device, o.fused, n, 4, "outputs.fused");
}

struct Stream {
  int device;
};

int stream_device(void* stream) { return static_cast<Stream*>(stream)->device; }

void check_stream(int device, void* stream) {
  if (stream != nullptr && stream_device(stream) != device)
    throw DeviceError("cudaErrorInvalidResourceHandle while using a stream of cuda:" +
                      std::to_string(stream_device(stream)) + " on " + where(device));
}

}  // namespace

bool compiled() { return true; }

Status status() {
  Status s;
  s.compiled = true;
  s.usable = true;
  s.deviceCount = kDevices;
  s.architectures = "simulated";  // one word: callers split the list on ";" and spaces
  return s;
}

DeviceProps properties(int device) {
  check_device(device, "reading the device properties");
  DeviceProps p;
  p.name = "otca simulated device (host memory; a test build, never shipped)";
  p.major = 9;
  p.minor = 0;
  p.multiprocessors = 1;
  p.totalMemory = size_t{1} << 34;
  p.l2Bytes = size_t{50} << 20;
  return p;
}

void* malloc_device(int device, size_t bytes) {
  check_device(device, "allocating device memory");
  const size_t rounded = (bytes > 0 ? bytes + kAlign - 1 : kAlign) / kAlign * kAlign;
  void* p = std::aligned_alloc(kAlign, rounded);
  if (p == nullptr)
    throw DeviceError("cudaErrorMemoryAllocation while allocating " + std::to_string(bytes) +
                      " bytes for a device tensor on " + where(device));
  std::memset(p, 0xff, rounded);
  std::lock_guard<std::mutex> lock(registry_mutex());
  registry()[reinterpret_cast<uintptr_t>(p)] = Block{device, bytes};
  return p;
}

void free_device(int device, void* ptr) noexcept {
  if (ptr == nullptr) return;
  size_t bytes = 0;
  {
    std::lock_guard<std::mutex> lock(registry_mutex());
    auto it = registry().find(reinterpret_cast<uintptr_t>(ptr));
    if (it == registry().end() || it->second.device != device) {
      std::fprintf(stderr, "otca simulated device: free of %p on cuda:%d, which is not a live allocation of it\n",
                   ptr, device);
      std::abort();
    }
    bytes = it->second.bytes;
    registry().erase(it);
  }
  std::memset(ptr, 0xff, bytes);
  std::free(ptr);
}

void* malloc_host_pinned(size_t bytes) {
  void* p = std::malloc(bytes > 0 ? bytes : 1);
  if (p == nullptr) throw DeviceError("cudaErrorMemoryAllocation while allocating pinned host memory");
  return p;
}

void free_host_pinned(void* ptr) noexcept { std::free(ptr); }

void copy(int device, void* dst, const void* src, size_t bytes, int kind, void* stream) {
  check_device(device, "copying");
  check_stream(device, stream);
  if (bytes == 0) return;
  if (kind == 0 || kind == 2) check_range(device, dst, bytes, "the copy's destination");
  if (kind == 1 || kind == 2) check_range(device, src, bytes, "the copy's source");
  std::memmove(dst, src, bytes);
}

void* stream_create(int device) {
  check_device(device, "creating a stream");
  return new Stream{device};
}

void stream_synchronize(int device, void* stream) { check_stream(device, stream); }

void stream_destroy(int, void* stream) noexcept { delete static_cast<Stream*>(stream); }

void trajectory_credit(int device, const Latents& lat, const Options& opt, const TrajectoryOutputs& out,
                       void* stream) {
  check_options(opt, 0);
  detail::check_latents_shape(lat);
  check_device(device, "launching the advantage kernel");
  check_stream(device, stream);
  check_latents(device, lat);
  check_outputs(device, out, lat.N, lat.T);
  cpu::trajectory_credit(lat, opt, out);
}

void objective_credit(int device, const Rewards& rew, const float* trajectoryScore, int64_t groupSize,
                      const Options& opt, const ObjectiveOutputs& out, void* stream) {
  check_options(opt, rew.K);
  detail::check_rewards_shape(rew, groupSize);
  check_device(device, "launching the advantage kernel");
  check_stream(device, stream);
  check_rewards(device, rew);
  if (trajectoryScore != nullptr) check_range(device, trajectoryScore, static_cast<size_t>(rew.N) * 4, "trajectoryScore");
  check_outputs(device, out, rew.N, rew.K);
  cpu::objective_credit(rew, trajectoryScore, groupSize, opt, out);
}

void advantages(int device, const Latents& lat, const Rewards& rew, int64_t groupSize, const Options& opt,
                const AllOutputs& out, void* stream) {
  check_options(opt, rew.K);
  detail::check_latents_shape(lat);
  detail::check_rewards_shape(rew, groupSize);
  check_device(device, "launching the advantage kernel");
  check_stream(device, stream);
  check_latents(device, lat);
  check_rewards(device, rew);
  check_outputs(device, out.trajectory, lat.N, lat.T);
  check_outputs(device, out.objective, rew.N, rew.K);
  check_opt(device, out.advantages, static_cast<size_t>(lat.N * lat.T), 4, "outputs.advantages");
  cpu::advantages(lat, rew, groupSize, opt, out);
}

}  // namespace gpu
}  // namespace otca

#endif  // OTCA_SIMULATED_DEVICE
