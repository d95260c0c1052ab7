// Device memory as JS sees it: a type-tagged External (a "view") over a range of an Allocation.
// An Allocation is one malloc_device (owned: freed when its last view goes, reported to V8 with
// AdjustExternalMemory) or a borrowed range (Tensor.fromDevicePointer: never freed by us).
// Several views may share one allocation (a call's outputs come from one cudaMalloc, so disposing
// them costs one cudaFree). Views and allocations live on the JS thread; a job on a worker thread
// holds shared_ptrs to what it reads and writes, so dispose() during an async call frees nothing
// until the call is done.
#pragma once

#include <napi.h>

#include <cstddef>
#include <memory>
#include <string>

namespace otca_addon {

struct Allocation {
  napi_env env = nullptr;
  int device = 0;
  void* ptr = nullptr;
  size_t bytes = 0;     // what was asked for (and reported to V8)
  size_t capacity = 0;  // what the block holds (a size class of the cache, or bytes)
  bool owned = false;

  Allocation() = default;
  Allocation(const Allocation&) = delete;
  Allocation& operator=(const Allocation&) = delete;
  ~Allocation();  // frees (owned only) and reports -bytes to V8
};

struct DeviceView {
  std::shared_ptr<Allocation> alloc;  // null once released
  int device = 0;
  size_t offset = 0;
  size_t bytes = 0;

  void* ptr() const { return static_cast<char*>(alloc->ptr) + offset; }
};

// Device blocks for otca's own use, through a small cache of small blocks (<= 4 MiB, a few per
// device): cudaFree synchronises the whole device, which a trainer's other streams would feel on
// every call's outputs and staging. A block goes back to the cache only when no work of ours can
// still touch it (every gpu:: call and copy blocks until done). Thread-safe.
void* CachedDeviceMalloc(int device, size_t bytes, size_t* capacity);
void CachedDeviceFree(int device, void* ptr, size_t capacity) noexcept;

// A new owned allocation of `bytes` on `device` (throws otca::DeviceError).
std::shared_ptr<Allocation> AllocateDevice(Napi::Env env, int device, size_t bytes);
// A borrowed range: never freed.
std::shared_ptr<Allocation> BorrowDevice(Napi::Env env, int device, void* ptr, size_t bytes);

// A type-tagged External over [offset, offset + bytes) of `alloc`; its finalizer drops the view.
Napi::External<DeviceView> NewView(Napi::Env env, std::shared_ptr<Allocation> alloc, size_t offset,
                                   size_t bytes);

// Whether `v` is one of our views (an External with our type tag).
bool IsView(const Napi::Value& v);

// The view behind `v`. Throws Napi::TypeError naming `arg` where `v` is no view of ours (a forged
// object never reaches C++), or where it was released and `allowReleased` is false.
DeviceView* UnwrapView(Napi::Env env, const Napi::Value& v, const std::string& arg,
                       bool allowReleased = false);

}  // namespace otca_addon
