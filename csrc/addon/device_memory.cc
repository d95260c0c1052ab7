#include "device_memory.h"

#include <mutex>
#include <utility>
#include <vector>

#include "otca.h"

namespace otca_addon {
namespace {

// Random, fixed: marks Externals made by this addon (napi_type_tag_object, N-API 8).
constexpr napi_type_tag kViewTag = {0x6f7463615f646576ULL, 0x9c3b5e27a1d84f61ULL};

constexpr size_t kCacheMaxBlock = size_t{4} << 20;
constexpr size_t kCacheMaxBlocksPerDevice = 16;

struct CachedBlock {
  int device;
  void* ptr;
  size_t capacity;
};

std::mutex& CacheMutex() {
  static std::mutex m;
  return m;
}

std::vector<CachedBlock>& Cache() {
  static auto* cache = new std::vector<CachedBlock>();  // never destroyed: exit order
  return *cache;
}

// Small sizes round up to a power of two >= 4 KiB so that blocks are reused across shapes.
size_t SizeClass(size_t bytes) {
  if (bytes > kCacheMaxBlock) return bytes;
  size_t c = 4096;
  while (c < bytes) c <<= 1;
  return c;
}

}  // namespace

void* CachedDeviceMalloc(int device, size_t bytes, size_t* capacity) {
  const size_t c = SizeClass(bytes);
  *capacity = c;
  if (c <= kCacheMaxBlock) {
    std::lock_guard<std::mutex> lock(CacheMutex());
    auto& cache = Cache();
    for (size_t k = cache.size(); k-- > 0;) {
      if (cache[k].device == device && cache[k].capacity == c) {
        void* p = cache[k].ptr;
        cache.erase(cache.begin() + static_cast<std::ptrdiff_t>(k));
        return p;
      }
    }
  }
  return otca::gpu::malloc_device(device, c);
}

void CachedDeviceFree(int device, void* ptr, size_t capacity) noexcept {
  if (ptr == nullptr) return;
  if (capacity <= kCacheMaxBlock) {
    std::lock_guard<std::mutex> lock(CacheMutex());
    auto& cache = Cache();
    size_t same = 0;
    for (const CachedBlock& b : cache) same += b.device == device ? 1 : 0;
    if (same < kCacheMaxBlocksPerDevice) {
      cache.push_back({device, ptr, capacity});
      return;
    }
  }
  otca::gpu::free_device(device, ptr);
}

Allocation::~Allocation() {
  if (!owned || ptr == nullptr) return;
  CachedDeviceFree(device, ptr, capacity);
  // Raw call, status ignored: this may run from a finalizer while the environment shuts down.
  int64_t adjusted = 0;
  if (env != nullptr) napi_adjust_external_memory(env, -static_cast<int64_t>(bytes), &adjusted);
}

std::shared_ptr<Allocation> AllocateDevice(Napi::Env env, int device, size_t bytes) {
  auto a = std::make_shared<Allocation>();
  a->ptr = CachedDeviceMalloc(device, bytes, &a->capacity);
  a->env = env;
  a->device = device;
  a->bytes = bytes;
  a->owned = true;
  Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(bytes));
  return a;
}

std::shared_ptr<Allocation> BorrowDevice(Napi::Env env, int device, void* ptr, size_t bytes) {
  auto a = std::make_shared<Allocation>();
  a->env = env;
  a->device = device;
  a->ptr = ptr;
  a->bytes = bytes;
  a->capacity = bytes;
  a->owned = false;
  return a;
}

Napi::External<DeviceView> NewView(Napi::Env env, std::shared_ptr<Allocation> alloc, size_t offset,
                                   size_t bytes) {
  auto* view = new DeviceView();
  view->device = alloc->device;
  view->offset = offset;
  view->bytes = bytes;
  view->alloc = std::move(alloc);
  Napi::External<DeviceView> ext =
      Napi::External<DeviceView>::New(env, view, [](Napi::Env, DeviceView* v) { delete v; });
  ext.TypeTag(&kViewTag);
  return ext;
}

bool IsView(const Napi::Value& v) {
  return v.IsExternal() && v.As<Napi::External<DeviceView>>().CheckTypeTag(&kViewTag);
}

DeviceView* UnwrapView(Napi::Env env, const Napi::Value& v, const std::string& arg,
                       bool allowReleased) {
  if (!IsView(v)) {
    throw Napi::TypeError::New(env, "Expected a device buffer made by otca for " + arg +
                                        " but received another value");
  }
  DeviceView* view = v.As<Napi::External<DeviceView>>().Data();
  if (!allowReleased && !view->alloc) {
    throw Napi::TypeError::New(env, "Expected a live (not disposed) device tensor for " + arg +
                                        " but received a disposed one");
  }
  return view;
}

}  // namespace otca_addon
