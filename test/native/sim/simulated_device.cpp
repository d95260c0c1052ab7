// A simulated CUDA device for tests on machines without a GPU (CI): the otca::gpu API over host
// memory, computing with the CPU backend. Linked instead of the CUDA backend into the test build of
// the addon (CMake target otca_simulated, build/simulated/), never shipped: it lets
// test/gpu/*.test.mjs run the whole Node device-tensor path (device tensors, outputDevice, plans and
// their contexts, lifetimes, borrowed pointers) where no GPU is lent, and times that path's host
// overhead without a kernel in it.
//
// It is stricter than a real device where that finds bugs in the binding: every pointer handed to a
// computation or a copy must lie inside one live allocation of the call's device (else DeviceError
// "cudaErrorIllegalAddress ..."), a free of anything but a live allocation's start aborts, new
// memory holds 0xff bytes (NaN to any float reader, like cudaMalloc's unspecified contents) and
// freed memory is overwritten with them before it is released.
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
  check_range(device, rew.data, static_cast<size_t>(rew.N * reward_rows(rew) * rew.K) * dtype_size(rew.dtype), "rewards");
}

void check_outputs(int device, const TrajectoryOutputs& o, int64_t N, int64_t T) {
  const size_t n = static_cast<size_t>(N), t = static_cast<size_t>(T);
  check_opt(device, o.similarity, n * (t + 1), 4, "outputs.similarity");
  check_opt(device, o.deltaS, n * t, 4, "outputs.deltaS");
  check_opt(device, o.rawWeights, n * t, 4, "outputs.rawWeights");
  check_opt(device, o.stepWeights, n * t, 4, "outputs.stepWeights");
  check_opt(device, o.trajectoryScore, n, 4, "outputs.trajectoryScore");
}

// rows: the steps of per-step rewards (1 for per-sample ones)
void check_outputs(int device, const ObjectiveOutputs& o, int64_t N, int64_t K, int64_t rows) {
  const size_t n = static_cast<size_t>(N), k = static_cast<size_t>(K), r = static_cast<size_t>(rows);
  check_opt(device, o.objectiveAdvantages, n * r * k, 4, "outputs.objectiveAdvantages");
  check_opt(device, o.exploration, n, 4, "outputs.exploration");
  check_opt(device, o.lambda, n * r, 4, "outputs.lambda");
  check_opt(device, o.coefficients, n * r * k, 4, "outputs.coefficients");
  check_opt(device, o.fused, n * r, 4, "outputs.fused");
}

void check_groups(int device, const Groups& g, int64_t N) {
  if (g.size > 0) return;
  check_range(device, g.offsets, static_cast<size_t>(g.count + 1) * 8, "groups.offsets");
  check_range(device, g.members, static_cast<size_t>(N) * 8, "groups.members");
  check_range(device, g.groupOf, static_cast<size_t>(N) * 8, "groups.groupOf");
}

// The device's memory as the host sees it: the simulated device's is host memory already.
Groups host_groups(const Groups& g) { return g; }

}  // namespace

struct Context {
  int device = 0;
  void* staging = nullptr;
  size_t stagingBytes = 0;
  cpu::Workspace* workspace = nullptr;
};

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

void copy(int device, void* dst, const void* src, size_t bytes, int kind) {
  check_device(device, "copying");
  if (bytes == 0) return;
  if (kind == 0 || kind == 2) check_range(device, dst, bytes, "the copy's destination");
  if (kind == 1 || kind == 2) check_range(device, src, bytes, "the copy's source");
  std::memmove(dst, src, bytes);
}

Context* context_create(int device) {
  check_device(device, "creating a stream");
  auto* c = new Context();
  c->device = device;
  c->workspace = cpu::workspace_create();
  return c;
}

void context_destroy(Context* c) noexcept {
  if (c == nullptr) return;
  if (c->staging) free_device(c->device, c->staging);
  cpu::workspace_destroy(c->workspace);
  delete c;
}

int context_device(const Context& c) { return c.device; }

void* context_staging(Context& c, size_t bytes) {
  if (c.stagingBytes >= bytes) return c.staging;
  if (c.staging) free_device(c.device, c.staging);
  c.staging = nullptr;
  c.stagingBytes = 0;
  c.staging = malloc_device(c.device, bytes);
  c.stagingBytes = bytes;
  return c.staging;
}

void copy_async(Context& c, void* dst, const void* src, size_t bytes, int kind) { copy(c.device, dst, src, bytes, kind); }

void context_synchronize(Context&) {}

void trajectory_credit(Context& c, const Latents& lat, const Options& opt, const TrajectoryOutputs& out) {
  check_options(opt, ObjectiveFactors{}, 0);
  detail::check_latents_shape(lat);
  check_latents(c.device, lat);
  check_outputs(c.device, out, lat.N, lat.T);
  cpu::trajectory_credit(lat, opt, out, c.workspace);
}

void objective_credit(Context& c, const Rewards& rew, const float* trajectoryScore, const Groups& groups,
                      const Options& opt, const ObjectiveFactors& factors, const ObjectiveOutputs& out) {
  check_options(opt, factors, rew.K);
  detail::check_rewards_shape(rew);
  detail::check_groups(groups, rew.N);
  check_rewards(c.device, rew);
  check_groups(c.device, groups, rew.N);
  if (trajectoryScore != nullptr) check_range(c.device, trajectoryScore, static_cast<size_t>(rew.N) * 4, "trajectoryScore");
  check_outputs(c.device, out, rew.N, rew.K, reward_rows(rew));
  cpu::objective_credit(rew, trajectoryScore, host_groups(groups), opt, factors, out, c.workspace);
}

void advantages(Context& c, const Latents& lat, const Rewards& rew, const Groups& groups, const Options& opt,
                const ObjectiveFactors& factors, const AllOutputs& out) {
  check_options(opt, factors, rew.K);
  detail::check_latents_shape(lat);
  detail::check_rewards_shape(rew);
  detail::check_groups(groups, rew.N);
  check_latents(c.device, lat);
  check_rewards(c.device, rew);
  check_groups(c.device, groups, rew.N);
  check_outputs(c.device, out.trajectory, lat.N, lat.T);
  check_outputs(c.device, out.objective, rew.N, rew.K, reward_rows(rew));
  check_opt(c.device, out.advantages, static_cast<size_t>(lat.N * lat.T), 4, "outputs.advantages");
  cpu::advantages(lat, rew, host_groups(groups), opt, factors, out, c.workspace);
}

}  // namespace gpu
}  // namespace otca

